"""Did the cues help?  A drop in wobble after a cue is expected from regression to the mean alone
(a cue comes when wobble is high), so the summary and the report compare each cue with moments of
the same run that start from as high a wobble with no cue, and say "helped" only when the interval
of the difference is below zero.  The virtual runner, coached stride by stride on its planned
strides, either ignores every cue or heeds every cue."""

from __future__ import annotations

import numpy as np
import pytest
from stride_records import make_stride

from stridecue.analysis.stride import Stride

from stridecue.coach.policy import Coach, CoachSettings
from stridecue.review.effect import cue_effect, interval_sign, percentile_interval
from stridecue.review.figures import summarize
from stridecue.review.report import notes
from stridecue.review.summary_text import format_summary
from stridecue.sim import RunnerSettings, VirtualRunner

# a threshold near the runner's typical wobble and a long cool-down: many cues, with cue-free
# stretches between them to compare with
COACH = CoachSettings(threshold="absolute", absolute_deg=7.0, cooldown_s=100.0, repeat_s=0.0)


def coached_run(compliance: float, minutes: float = 30.0, seed: int = 1) -> tuple[list[Stride], list[dict]]:
    """(running strides, cue events) of the virtual runner's left leg: each planned stride goes to
    the coach as it becomes known, and a cue reaches the runner before the later strides are planned."""
    runner = VirtualRunner(RunnerSettings(cue_compliance=compliance, wobble_deg=6.0, wobble_sd_deg=1.5,
                                          wobble_fatigue_deg_per_10min=0.0), seed=seed)
    plan = runner.body.plan
    coach = Coach(COACH)
    strides, cues = [], []
    k = 0
    while plan.ensure_contacts("left", k) and plan.contacts["left"][k].start < minutes * 60:
        c = plan.contacts["left"][k]
        k += 1
        if c.kind != "run":
            continue
        s = make_stride(leg="left", mount="shin", kind="run", ic_t=c.start, to_t=c.end, known_t=c.end + 0.05,
                        wobble_deg=c.wobble_deg, pta_axial_g=c.landing_g, cadence_spm=170.0, contact_time_s=c.end - c.start)
        strides.append(s)
        cue = coach.on_stride(s.known_t, "left", s.wobble_deg, s.pta_axial_g, s.cadence_spm)
        if cue is not None:
            runner.cue(cue.t, cue.kind)
            cues.append({"kind": "cue", "t": cue.t, "cue": cue.kind, "words": cue.words, "reason": cue.reason, "values": cue.values})
    return strides, cues


def summary_of(strides, cues) -> dict:
    return summarize(strides, cues, {}, {"start_time": "2026-05-01T07:00:00+00:00"}, COACH)


def test_a_runner_who_ignores_cues_gets_no_clear_effect_never_helped():
    strides, cues = coached_run(compliance=0.0)
    s = summary_of(strides, cues)
    c = s["cues"]
    # regression to the mean: wobble is lower after the cues than before them although the runner ignored them
    assert c["count"] >= 10 and c["change_deg"] < -0.2
    assert c["matched"] >= 10 and c["expected_change_deg"] < 0
    lo, hi = c["effect_ci95_deg"]
    assert lo < 0 < hi and c["verdict"] == "no clear effect"
    said = " ".join(notes(s, [])) + format_summary_text(s)
    assert "helped" not in said and "no clear effect" in said.lower()


def test_a_runner_who_heeds_cues_gets_a_clear_effect_with_its_interval():
    strides, cues = coached_run(compliance=1.0)
    s = summary_of(strides, cues)
    c = s["cues"]
    lo, hi = c["effect_ci95_deg"]
    assert c["matched"] >= 5 and lo <= c["effect_deg"] <= hi < -0.5 and c["verdict"] == "lower"
    # the runner's cue response halves wobble; the change expected without a cue is taken off
    assert c["change_deg"] < c["effect_deg"] < 0
    said = notes(s, [])
    assert any(n.startswith("The cues helped") and "95% CI" in n for n in said), said
    assert "clear effect" in format_summary_text(s)


def test_too_few_cue_free_moments_give_no_interval_and_no_claim():
    run = [make_stride(ic_t=0.7 * i - 0.3, known_t=0.7 * i, leg="left", wobble_deg=6.0 + (1.0 if i % 50 < 5 else 0.0)) for i in range(300)]
    cues = [{"t": 0.7 * i + 0.1, "values": {"leg": "left"}} for i in range(4, 300, 50)]  # every 35 s: never 120 s without one
    c = cue_effect(cues, run)
    assert c["measured"] >= 3 and c["matched"] == 0 and c["effect_ci95_deg"] is None and c["verdict"] == "not enough cues"


def test_one_interval_rule():
    assert interval_sign([0.1, 0.4]) == 1 and interval_sign([-0.4, -0.1]) == -1 and interval_sign([-0.1, 0.2]) == 0
    assert interval_sign(None) == 0
    lo, hi = percentile_interval(np.arange(1001.0))
    assert (lo, hi) == pytest.approx((25.0, 975.0))


def format_summary_text(s: dict) -> str:
    from pathlib import Path

    return format_summary(Path("run.scrun"), s)


def test_the_interval_is_the_same_in_every_process():
    """Found in the Stride merge: the legs were walked in a set's order, which string hashing
    changes between processes, and the bootstrap interval moved with it about one run in six."""
    import os
    import subprocess
    import sys

    code = ("import json, test_cue_effect as t\n"
            "strides, cues = t.coached_run(compliance=1.0, minutes=10.0)\n"
            "print(json.dumps(t.summary_of(strides, cues)['cues']['effect_ci95_deg']))\n")
    outs = set()
    for hashseed in ("1", "2", "3", "4", "5", "6"):
        env = {**os.environ, "PYTHONHASHSEED": hashseed, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=180,
                              cwd=os.path.dirname(__file__))
        assert done.returncode == 0, done.stderr[-2000:]
        outs.add(done.stdout.strip())
    assert len(outs) == 1, outs
