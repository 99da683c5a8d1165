"""Progression rules: up after two good sessions with pain known and low, back on pain or poor form."""

from stridecue.exercise.catalogue import exercise
from stridecue.exercise.progression import SessionResult, form_ok, next_level, pain_ok
from stridecue.exercise.rep import Hold, Rep

GOOD = SessionResult(level=2, form_ok=True, pain_during=2.0, pain_next_morning_settled=True)


def test_two_good_sessions_at_the_level_move_up():
    assert next_level(2, [GOOD, GOOD]).level == 3
    assert next_level(4, [SessionResult(4, True, 1.0, True)] * 2).level == 4  # no level 5


def test_one_session_is_not_enough_and_an_earlier_level_does_not_count():
    assert next_level(2, [GOOD]).level == 2
    assert next_level(2, [SessionResult(1, True, 0.0, True), GOOD]).level == 2


def test_pain_above_3_or_not_settled_steps_back():
    assert next_level(2, [GOOD, SessionResult(2, True, 4.0, True)]).level == 1
    assert next_level(2, [GOOD, SessionResult(2, True, 1.0, False)]).level == 1
    assert next_level(1, [SessionResult(1, True, 6.0, True)]).level == 1  # no level 0


def test_three_out_of_ten_meets_the_pain_rule_and_unknown_pain_never_raises_a_level():
    assert pain_ok(SessionResult(2, True, 3.0, True)) is True
    assert pain_ok(SessionResult(2, True, None, None)) is None
    s = next_level(2, [SessionResult(2, True), SessionResult(2, True)])
    assert s.level == 2 and "pain not logged" in s.why


def test_two_sessions_of_poor_form_step_back():
    bad = SessionResult(3, False, 1.0, True)
    assert next_level(3, [bad, bad]).level == 2
    assert next_level(3, [GOOD, bad]).level == 3


def _rep(leg, depth, knee):
    return Rep(leg, "shin", 0, 0, 0.0, 1.0, 2.0, depth, knee, 1.0, 1.0)


def test_form_rule_wants_depth_and_a_quiet_knee_on_each_leg():
    lv = exercise("single-leg-squat").level(2)  # 60 deg aimed
    good = [_rep("left", 58, 5), _rep("right", 55, 6)] * 5
    assert form_ok(good, lv, knee_limit_deg=15)
    assert not form_ok(good + [_rep("right", 30, 5)] * 5, lv, knee_limit_deg=15)  # shallow on the right
    assert not form_ok([_rep("left", 60, 20)] * 5, lv, knee_limit_deg=15)
    assert not form_ok([], lv, knee_limit_deg=15)
    assert form_ok(good + [_rep("right", 30, 5)] * 5, lv, knee_limit_deg=15, depth_measured=False)  # a proxy is not judged
    hold = exercise("single-leg-balance").level(2)  # 30 s
    assert form_ok([Hold("left", "shin", 0, 0, 0.0, 30.0, 1.0, None, 30.0)], hold, 15)
    assert not form_ok([Hold("left", "shin", 0, 0, 0.0, 30.0, 1.0, 5.0, 5.0)], hold, 15)
