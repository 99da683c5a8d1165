"""The programme's outcome (review/programme.py): a retention run's wobble and landing load against
the first session's no-cue baseline, with the interval of the difference; and `stridecue programme`
from the command line (start, status, a simulated session, stop, bad input).

The runs of the outcome tests are the virtual runner's planned strides (its own model's wobble and
landing load, as tests/review/test_cue_effect.py takes them): a runner whose wobble is lower after
retraining is a runner set up with a lower wobble for the retention run."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from stride_records import make_stride

from stridecue.cli import main
from stridecue.coach import programme as pg
from stridecue.coach.settings import DEFAULT_FADING
from stridecue.review.programme import compare, outcome, status_lines
from stridecue.sim import RunnerSettings, VirtualRunner

T0 = dt.datetime(2026, 5, 1, 7, 0, tzinfo=dt.timezone.utc)


def planned_strides(seed: int, wobble: float = 7.0, landing: float = 10.0, n: int = 60) -> list:
    """The first n running strides of each leg of a virtual runner, from its own plan."""
    runner = VirtualRunner(RunnerSettings(wobble_deg=wobble, wobble_sd_deg=1.0, landing_g=landing, cue_compliance=0.0), seed=seed)
    plan = runner.body.plan
    out = []
    for leg in ("left", "right"):
        k = 0
        while plan.ensure_contacts(leg, k) and sum(1 for s in out if s.leg == leg) < n:
            c = plan.contacts[leg][k]
            k += 1
            if c.kind == "run":
                out.append(make_stride(leg=leg, ic_t=c.start, to_t=c.end, known_t=c.end + 0.05, wobble_deg=c.wobble_deg,
                                       pta_axial_g=c.landing_g))
    return out


def _verdicts(first, later, metric="wobble_deg"):
    base = pg.baseline_window(first, metric, 10, 30)
    after = pg.baseline_window(later, metric, 10, 30)
    return {seg: compare(metric, seg, base[seg], after[seg]) for seg in base}


def test_a_runner_whose_wobble_fell_after_retraining_comes_out_lower_with_the_interval_below_zero():
    for c in _verdicts(planned_strides(1, wobble=7.0), planned_strides(2, wobble=5.0)).values():
        assert c.verdict == "lower" and c.ci95[1] < 0 and c.baseline_n == c.retention_n == 30
        assert c.ci95[0] < -2.0 < c.ci95[1]  # the runner's own change: its wobble set 2 deg lower


def test_a_runner_who_did_not_change_is_not_called_lower():
    results = [c for seed in range(10) for c in _verdicts(planned_strides(seed), planned_strides(100 + seed)).values()]
    lower = [c for c in results if c.verdict == "lower"]
    assert len(results) == 20 and len(lower) <= 2, [(c.difference, c.ci95) for c in lower]
    assert sum(c.ci95[0] < 0 < c.ci95[1] for c in results) >= 16


@pytest.mark.parametrize("landing_after, met", [(5.0, True), (8.0, False)])
def test_landing_load_is_lower_and_the_30_percent_target_met_only_when_the_whole_interval_is_there(landing_after, met):
    for c in _verdicts(planned_strides(3, landing=10.0), planned_strides(4, landing=landing_after), "pta_axial_g").values():
        assert c.verdict == "lower" and c.target_met is met


class _Store:
    """The store's reads the outcome uses, over runs made here."""

    def __init__(self, runs: dict):
        self.data = runs

    def strides(self, run_id):
        return self.data[run_id]["strides"]

    def cues(self, run_id):
        return self.data[run_id]["cues"]


def _run(run_id, kind, number, day, programme):
    planned = (pg.planned_minutes(number) if kind == "session" else pg.RETENTION_MIN) * 60.0
    return {"id": run_id, "name": f"{kind}{number}", "start_time": (T0 + dt.timedelta(days=day)).isoformat(), "running_strides": 900,
            "duration_s": planned, "metadata": {"settings": {
                "programme": {"started": programme.key, "kind": kind, "number": number, "planned_s": planned},
                "coach": {"warmup_strides": 10, "baseline_strides": 30}}}}


def test_the_outcome_compares_each_retention_run_with_session_1_before_its_first_cue():
    programme = pg.Programme("anna", T0, load=True)
    runs = [_run(k, "session", k, 2 * (k - 1), programme) for k in range(1, 9)] + [_run(9, "retention", 1, 21, programme)]
    first = planned_strides(5, wobble=7.0)
    # a cue at the left leg's 25th stride: later strides are not the no-cue baseline
    first_cue = sorted(s.known_t for s in first if s.leg == "left")[24]
    store = _Store({k: {"strides": [], "cues": []} for k in range(2, 9)}
                   | {1: {"strides": first, "cues": [{"t": first_cue}]}, 9: {"strides": planned_strides(6, wobble=4.0), "cues": []}})
    done = pg.progress(programme, runs, T0 + dt.timedelta(days=25), DEFAULT_FADING)
    results = outcome(store, programme, done)
    assert [r.number for r in results] == [1]
    by = {(c.metric, c.segment): c for c in results[0].comparisons}
    assert set(by) == {(m, f"{leg} shin") for m in ("wobble_deg", "pta_axial_g") for leg in ("left", "right")}
    assert by[("wobble_deg", "left shin")].baseline_n < 15 and by[("wobble_deg", "left shin")].verdict == "lower"
    text = "\n".join(status_lines({"profile": "anna", "started": programme.key, "load": True, "minute_s": 60.0,
                                   "sessions_done": 8, "sessions": [{"date": "2026-05-15"}], "not_counted": 0,
                                   "next": {"kind": "free", "label": done.next.label, "planned_min": None, "from": "2026-06-14"},
                                   "retention_due": {"1 week": "2026-05-22"}, "retention_done": {"1 week": "retention1"},
                                   "outcome": [r.__dict__ | {"comparisons": [c.__dict__ for c in r.comparisons]} for r in results],
                                   "detectable_change_deg": None}))
    assert "left shin wobble" in text and ": lower" in text and "95% CI" in text and "is not known" in text


def _cli(data, *argv):
    return main(["--data-dir", str(data), *argv])


def test_start_a_session_status_and_stop_from_the_command_line(tmp_path, capsys):
    assert _cli(tmp_path, "programme", "start", "--minute-s", "3") == 0
    assert _cli(tmp_path, "run", "--simulate", "--speed", "max", "--quiet", "--audio", "none", "--no-cue-track") == 0
    capsys.readouterr()
    assert _cli(tmp_path, "programme", "--json") == 0
    status = json.loads(capsys.readouterr().out)
    assert status["sessions_done"] == 1 and status["next"]["number"] == 2 and status["next"]["planned_min"] == 17
    from stridecue.record.store import RunStore

    with RunStore.open(tmp_path) as store:
        (run,) = store.runs("default")
    tag = run["metadata"]["settings"]["programme"]
    assert (tag["kind"], tag["number"], tag["planned_s"], tag["feedback_share"]) == ("session", 1, 45.0, 1.0)
    assert run["duration_s"] == pytest.approx(45.0, abs=4.0)  # the planned length: 15 planned minutes of 3 s
    assert _cli(tmp_path, "programme") == 0
    assert "sessions: 1 of 8 done" in capsys.readouterr().out
    assert _cli(tmp_path, "summary") == 0
    assert "programme      session 1 of 8, 100% of cues spoken" in capsys.readouterr().out
    assert _cli(tmp_path, "programme", "stop") == 0
    assert json.loads((tmp_path / "programme.json").read_text())["programmes"] == {}
    assert _cli(tmp_path, "programme") == 1


@pytest.mark.parametrize("argv, words", [
    (["programme", "--profile", "bob", "start"], "no profile 'bob'"),
    (["programme", "start", "--profile", "bob", "--load"], "no profile 'bob'"),
    (["programme", "stop", "--profile", "anna"], "no programme to stop"),
    (["programme", "start", "--minute-s", "0"], "--minute-s 0"),
    (["programme", "stop"], "no programme to stop"),
    (["programme", "--profile", "anna"], "has no programme"),
])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, argv, words):
    (tmp_path / "settings.toml").write_text("[profile.anna]\nk = 2.0\n")
    assert _cli(tmp_path, *argv) == 1
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["settings.toml"]


def test_a_second_start_and_a_damaged_file_are_one_line_errors_that_change_nothing(tmp_path, capsys):
    assert _cli(tmp_path, "programme", "start") == 0
    before = (tmp_path / "programme.json").read_text()
    assert _cli(tmp_path, "programme", "start", "--load") == 1
    assert "already has a programme" in capsys.readouterr().err and (tmp_path / "programme.json").read_text() == before
    (tmp_path / "programme.json").write_text('{"version": 1, "programmes": {"default": ')
    for argv in (["programme"], ["programme", "stop"], ["run", "--simulate", "--speed", "max", "--quiet", "--duration", "5"]):
        assert _cli(tmp_path, *argv) == 1
        err = capsys.readouterr().err
        assert "programme.json: not a readable programme file" in err and len(err.strip().splitlines()) == 1
    assert (tmp_path / "programme.json").read_text() == '{"version": 1, "programmes": {"default": '
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").rglob("*.scrun"))
