"""The live view renders the run's state; its hooks only store values (drawing is rich's thread)."""

import io

from rich.console import Console

from stridecue.coach.policy import Coach, CoachSettings, Cue
from stridecue.coach.live_view import Dashboard
from stride_records import make_stride


def stride(t, leg="left", wobble=5.0, pta=9.0, cadence=170.0, contact=0.24, kind="run"):
    return make_stride(leg=leg, kind=kind, known_t=t, ic_t=t - 0.3, to_t=t - 0.05, wobble_deg=wobble, pta_axial_g=pta,
                       cadence_spm=cadence, contact_time_s=contact)


def test_renders_wobble_against_threshold_load_cadence_contact_link_and_cues():
    coach = Coach(CoachSettings(threshold="absolute", absolute_deg=8.0))
    dash = Dashboard(coach, console=Console(record=True, width=120, file=io.StringIO()), profile="anna",
                     sensors=[{"slot": 0, "name": "StrideCue-LS"}])
    dash.on_event({"kind": "connected", "sensor": 0, "t": 0.0, "battery_pct": 87})
    for i in range(10):
        dash.on_stride(stride(60 + i * 0.7, wobble=10.0))
    dash.speak(Cue(t=66.0, kind="wobble", words="Squeeze your glutes", reason="r", values={}))
    dash.on_missing(12)
    dash.console.print(dash.render())
    text = dash.console.export_text()
    assert "1:06" in text and "profile anna" in text
    assert "10.0/8.0°" in text  # wobble average against the threshold
    assert "9.0 g" in text and "170 spm" in text and "240 ms" in text
    assert "StrideCue-LS connected, battery 87%" in text and "lost 12 samples" in text
    assert "cues 1" in text and "Squeeze your glutes" in text
    assert "100%" in text  # share of strides over threshold

    dash.on_event({"kind": "disconnect", "sensor": 0, "t": 70.0})
    dash.console.print(dash.render())
    assert "reconnecting" in dash.console.export_text()


def test_threshold_forming_and_two_legs():
    coach = Coach(CoachSettings())  # baseline threshold: not formed after 3 strides
    dash = Dashboard(coach, console=Console(record=True, width=120, file=io.StringIO()))
    dash.console.print(dash.render())
    assert "waiting for running strides" in dash.console.export_text()
    for i in range(3):
        dash.on_stride(stride(i * 0.7, "left", 5.0))
        dash.on_stride(stride(i * 0.7 + 0.35, "right", 7.0))
    dash.console.print(dash.render())
    text = dash.console.export_text()
    assert "forming" in text and "left shin" in text and "right shin" in text


def test_live_refresh_runs_off_the_pipeline_and_stops_cleanly():
    out = io.StringIO()
    dash = Dashboard(Coach(), console=Console(file=out, width=100, force_terminal=True), refresh_per_second=20)
    with dash:
        for i in range(200):
            dash.on_stride(stride(i * 0.35, "left" if i % 2 else "right"))
    assert dash.hook_calls_ == 200
    assert "right shin" in out.getvalue()


def test_a_guided_run_shows_its_segment_instead_of_a_threshold():
    from stridecue.coach.guided import GuidedProtocol

    protocol = GuidedProtocol()
    dash = Dashboard(protocol, console=Console(record=True, width=100, file=io.StringIO()))
    for i in range(5):
        s = stride(i * 0.7)
        dash.on_stride(s)
        protocol.on_stride(s.known_t, "left", s.wobble_deg)
    dash.console.print(dash.render())
    text = dash.console.export_text()
    assert "guided run: warmup" in text and "forming" not in text and "5.0°" in text


def test_at_60_columns_the_cue_names_the_leg_and_no_field_is_cut():
    coach = Coach(CoachSettings(threshold="absolute", absolute_deg=8.0, window=3))
    dash = Dashboard(coach, console=Console(record=True, width=60, file=io.StringIO()), profile="anna",
                     sensors=[{"slot": 0, "name": "StrideCue-LS"}, {"slot": 1, "name": "StrideCue-RS"}])
    for i in range(10):
        for leg, wobble, dt in (("left", 6.0, 0.0), ("right", 11.0, 0.35)):
            s = stride(60 + i * 0.7 + dt, leg=leg, wobble=wobble)
            dash.on_stride(s)
            cue = coach.on_stride(s.known_t, leg, wobble, s.pta_axial_g, s.cadence_spm)
            if cue is not None:
                dash.speak(cue)
    assert dash.cues == 1 and dash.last_cue.words == "Right knee: squeeze your glutes"
    dash.console.print(dash.render())
    lines = dash.console.export_text().splitlines()
    assert any('"Right knee: squeeze your glutes"' in line for line in lines), lines
    assert not any("…" in line for line in lines), lines  # no column cut to an ellipsis
    assert all(len(line) <= 60 for line in lines)
    table = "\n".join(lines)
    assert "11.0/8.0°" in table and "170" in table and "240" in table and "left shin" in table and "right shin" in table
