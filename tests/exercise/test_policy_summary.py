"""The knee-out cue (own baseline, which leg, cooldown) and the session summary (asymmetry,
detectable changes, a session without reps)."""

from stridecue.coach.knee_out import ABSOLUTE_DEG, KneeOutPolicy
from stridecue.exercise.rep import REP_FIELDS, Hold, Rep, from_row
from stridecue.exercise.summary import SMALLEST_CHANGE, asymmetry, format_session, session_summary


def _rep(leg, knee, t=0.0, depth=60.0, mount="shin"):
    return Rep(leg, mount, 0, 0, t, t + 1.0, t + 2.0, depth, knee, 1.0, 1.0)


def test_cue_names_the_leg_and_uses_the_runner_s_baseline():
    policy = KneeOutPolicy(baselines={"right": 4.0}, margin_deg=3.0)
    assert policy.on_rep(_rep("right", 6.5)) is None  # under 4 + 3
    cue = policy.on_rep(_rep("right", 7.5, t=3))
    assert cue.words == "right knee out" and cue.kind == "knee" and cue.values["threshold_deg"] == 7.0
    assert policy.on_rep(_rep("left", ABSOLUTE_DEG - 0.5)) is None  # no baseline for the left: 10 deg
    assert policy.on_rep(_rep("left", ABSOLUTE_DEG + 0.5)).words == "left knee out"


def test_no_cue_on_the_rep_after_a_cue_nor_without_a_knee_measure():
    policy = KneeOutPolicy()
    assert policy.on_rep(_rep("left", 20, 0)) is not None
    assert policy.on_rep(_rep("left", 20, 3)) is None  # cooldown of one rep
    assert policy.on_rep(_rep("left", 20, 6)) is not None
    assert policy.on_rep(_rep("left", None, 9)) is None


def test_rep_and_hold_rows_round_trip():
    rep, hold = _rep("left", 4.25), Hold("right", "thigh", 1, 2, 3.0, 33.0, 1.5, None, 30.0)
    assert from_row(rep.as_row()) == rep and from_row(hold.as_row()) == hold
    assert len(rep.as_row()) == len(REP_FIELDS)


def test_asymmetry_and_what_the_measurement_can_detect():
    assert asymmetry(10.0, 5.0) == 66.7
    assert asymmetry(None, 5.0) is None
    small = SMALLEST_CHANGE["knee_motion_deg"]["shin"]
    reps = [_rep("left", 12.0)] * 4 + [_rep("right", 12.0 - small / 2)] * 4
    s = session_summary(reps, "single-leg-squat", 2)
    assert s["legs"]["left"]["reps"] == 4 and s["left_vs_right"]["knee_motion_deg"]["detectable"] is False
    text = format_session(s, "single-leg squat")
    assert "smaller than the measurement can detect" in text
    later = session_summary([_rep("left", 12.0 + 2 * small)] * 4, "single-leg-squat", 2, previous=s)
    assert later["change"]["left"]["knee_motion_deg"]["detectable"] is True
    assert "a real change" in format_session(later, "x")


def test_a_session_without_reps_says_so():
    assert "no reps found" in format_session(session_summary([], "step-down", 1), "step-down")
