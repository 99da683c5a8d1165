"""The guided hip-or-foot protocol: what it says when, its A-B-A analysis with bootstrap
intervals on strides with known effects, and (once the virtual runner is there) a simulated
guided run whose summary names the focus the runner responds to."""

from __future__ import annotations

import json

import numpy as np
import pytest

from stridecue.coach.guided import FOOT_WORDS, HIP_WORDS, GuidedProtocol, GuidedSettings
from stridecue.review.guided import EXERCISES, GuidedAnalysis, analyse_guided
from stride_records import make_stride

SHORT = GuidedSettings(warmup_s=20, baseline_s=60, focus_s=60, normal_s=60, reminder_s=20, settle_s=5)


def drive(protocol, duration_s, stride_s=0.7, start=3.0):
    """Feed one leg's strides; the cues as the run file records them."""
    cues = []
    t = start
    while t < start + duration_s:
        cue = protocol.on_stride(t, "left", 6.0, 8.0, 170.0)
        if cue is not None:
            cues.append({"kind": "cue", "t": cue.t, "cue": cue.kind, "words": cue.words, "reason": cue.reason, "values": cue.values})
        t += stride_s
    return cues


def test_protocol_script_and_timing():
    p = GuidedProtocol(SHORT)
    cues = drive(p, SHORT.duration_s + 10)
    segments = [(c["values"]["segment"], c["values"]["reminder"]) for c in cues]
    opening = [s for s, reminder in segments if not reminder]
    assert opening == ["warmup", "baseline", "hip", "normal", "foot", "recheck", "done"]
    hip = [c for c in cues if c["cue"] == "hip"]
    foot = [c for c in cues if c["cue"] == "foot"]
    assert hip[0]["words"] == HIP_WORDS and foot[0]["words"] == FOOT_WORDS
    assert len(hip) == 3 and len(foot) == 3  # the instruction and two reminders in 60 s with a 20-s reminder
    assert all(c["cue"] == "guide" for c in cues if c["values"]["segment"] in ("warmup", "baseline", "normal", "recheck", "done"))
    # segment boundaries on the run clock, anchored at the first running stride (t = 3 s)
    hip_open = hip[0]["values"]
    assert (hip_open["start_t"], hip_open["end_t"]) == (3.0 + 80, 3.0 + 140)
    assert abs(hip[0]["t"] - hip_open["start_t"]) < 0.7
    assert p.segment_ == "done" and p.cues_[-1].words.startswith("Guided run done")
    assert p.on_stride(10_000.0, "left", 6.0) is None
    json.dumps(cues)  # JSON-able for the run file


def test_order_is_a_setting_and_bad_settings_are_refused():
    p = GuidedProtocol(GuidedSettings(order=("foot", "hip"), warmup_s=0, baseline_s=10, focus_s=10, normal_s=10))
    kinds = [c["cue"] for c in drive(p, 60) if not c["values"]["reminder"]]
    assert kinds.index("foot") < kinds.index("hip")
    with pytest.raises(ValueError):
        GuidedSettings(order=("hip", "hip"))
    with pytest.raises(ValueError):
        GuidedSettings(reminder_s=0)


def test_phrases_cover_everything_it_says():
    spoken = {(c["cue"], c["words"]) for c in drive(GuidedProtocol(SHORT), SHORT.duration_s + 5)}
    phrases = GuidedProtocol.phrases()
    assert all(words in phrases[kind] for kind, words in spoken)


def synthetic_strides(cues, effect: dict, drift_per_min=0.0, seed=0, noise=0.6):
    """Strides at 0.35 s (two legs) whose wobble/load drop by effect[segment] inside a segment."""
    rng = np.random.default_rng(seed)
    segs = [(c["values"]["segment"], c["values"]["start_t"], c["values"]["end_t"]) for c in cues
            if not c["values"]["reminder"] and c["values"]["segment"] != "done"]
    out = []
    for i, t in enumerate(np.arange(3.0, segs[-1][2], 0.35)):
        seg = next((name for name, lo, hi in segs if lo <= t < hi), None)
        drop_w, drop_p = effect.get(seg, (0.0, 0.0))
        w = 6.0 + drift_per_min * t / 60 - drop_w + rng.normal(0, noise)
        p = 9.0 - drop_p + rng.normal(0, noise)
        out.append(make_stride(leg="left" if i % 2 else "right", ic_t=float(t), known_t=float(t) + 0.3, wobble_deg=w, pta_axial_g=p))
    return out


@pytest.mark.parametrize("focus", ["hip", "foot"])
def test_analysis_names_the_focus_that_lowers_wobble(focus):
    cues = drive(GuidedProtocol(SHORT), SHORT.duration_s + 5)
    strides = synthetic_strides(cues, {focus: (1.5, 1.0)}, seed=1)
    g = analyse_guided(strides, cues)
    assert g["complete"] and g["focus"] == focus
    w = g["metrics"]["wobble"]
    assert w[focus]["reduction"] == pytest.approx(1.5, abs=0.3)
    assert w[focus]["reduction_ci"][0] > 0
    other = "foot" if focus == "hip" else "hip"
    assert w[other]["reduction_ci"][0] < 0 < w[other]["reduction_ci"][1]
    lo, hi = w["hip_minus_foot_ci"]
    assert (lo > 0) if focus == "hip" else (hi < 0)
    assert g["metrics"]["landing_load"]["better"] == focus
    assert g["exercises"] == EXERCISES[focus]


def test_no_effect_gives_no_winner_and_fatigue_drift_does_not_pick_one():
    cues = drive(GuidedProtocol(SHORT), SHORT.duration_s + 5)
    # wobble rising 1 deg per minute: without the A-B-A reference the earlier (hip) segment would look better
    for seed in range(3):
        g = analyse_guided(synthetic_strides(cues, {}, drift_per_min=1.0, seed=seed), cues)
        assert g["focus"] is None, g["verdict"]
        assert "No clear winner" in g["verdict"]
        assert abs(g["metrics"]["wobble"]["hip_minus_foot"]) < 0.35
        assert "exercises" not in g


def test_both_focuses_help_equally_is_reported_as_such():
    cues = drive(GuidedProtocol(SHORT), SHORT.duration_s + 5)
    g = analyse_guided(synthetic_strides(cues, {"hip": (1.5, 0.0), "foot": (1.5, 0.0)}, seed=2), cues)
    assert g["metrics"]["wobble"]["better"] == "both" and g["focus"] is None


def test_wobble_decides_when_wobble_and_load_disagree():
    cues = drive(GuidedProtocol(SHORT), SHORT.duration_s + 5)
    g = analyse_guided(synthetic_strides(cues, {"hip": (1.5, 0.0), "foot": (0.0, 1.5)}, seed=3), cues)
    assert g["metrics"]["wobble"]["better"] == "hip" and g["metrics"]["landing_load"]["better"] == "foot"
    assert g["focus"] == "hip" and "landing load fell more with the foot focus" in g["verdict"]


def test_incomplete_protocol_and_runs_without_it():
    cues = drive(GuidedProtocol(SHORT), 130)  # stopped during the hip segment
    g = analyse_guided(synthetic_strides(cues, {}), cues)
    assert not g["complete"] and "foot segment was not reached" in g["problem"]
    assert analyse_guided([], [{"kind": "cue", "t": 1.0, "cue": "wobble", "values": {"leg": "left"}}]) is None


def test_bootstrap_interval_narrows_with_more_strides():
    cues = drive(GuidedProtocol(SHORT), SHORT.duration_s + 5)
    strides = synthetic_strides(cues, {"hip": (1.0, 0.0)}, seed=4)
    wide = GuidedAnalysis(seed=1).analyse(strides[::3], cues).result_["metrics"]["wobble"]["hip_minus_foot_ci"]
    narrow = GuidedAnalysis(seed=1).analyse(strides, cues).result_["metrics"]["wobble"]["hip_minus_foot_ci"]
    assert (narrow[1] - narrow[0]) < (wide[1] - wide[0])




# foot: tests/live/test_simulated_run.py runs the same protocol from the command line with a runner
# who responds to the foot focus (each of these simulations costs ~12 s of the suite's 15 minutes)
@pytest.mark.parametrize("focus", ["hip"])
def test_simulated_guided_run_report_names_the_focus_the_runner_responds_to(focus, tmp_path):
    """`stridecue run --simulate --guided` (virtual runner, firmware, Bluetooth, pipeline) with the
    runner set to respond to one focus; the summary and the HTML report (in Chromium) name it."""
    from test_report import CHROMIUM, _Page, chromium
    from test_summary_support import simulate_guided

    from stridecue.review.report import write_report
    from stridecue.record.store import RunStore

    s = simulate_guided(tmp_path, focus, SHORT)
    g = s["guided"]
    assert g["complete"], g
    assert g["focus"] == focus, g["verdict"]
    assert g["metrics"]["wobble"][focus]["reduction_ci"][0] > 0
    assert g["exercises"] == EXERCISES[focus]
    with RunStore.open(tmp_path) as store:
        run = store.latest()
        report = write_report(store, run, s, tmp_path / "report.html")
    html = report.read_text()
    if CHROMIUM:
        page = _Page()
        page.feed(chromium(["--dump-dom", report.as_uri()], tmp_path).stdout)
        html = " ".join(" ".join(page.text).split())
    name = {"hip": "hip focus (glutes and core)", "foot": "foot focus (toes into the ground)"}[focus]
    assert f"Wobble fell more with the {name}" in html
    assert EXERCISES[focus]["title"] in html


def test_the_report_says_a_rise_as_a_rise():
    """Issue 16 item 11, in the HTML report too: "fell by -0.35" read as a fall."""
    from stridecue.review.report import _guided_section

    cues = drive(GuidedProtocol(SHORT), SHORT.duration_s + 5)
    g = analyse_guided(synthetic_strides(cues, {"hip": (1.5, 0.0), "foot": (-1.2, 0.0)}, seed=4), cues)
    assert g["metrics"]["wobble"]["foot"]["reduction"] < -0.5
    html = _guided_section(g)
    effect = html[html.index('class="effect wobble"'):]
    effect = effect[: effect.index("</p>")]
    assert "fell by -" not in effect and "fell by −" not in effect and "fell -" not in effect
    assert "rose" in effect and "fell" in effect
