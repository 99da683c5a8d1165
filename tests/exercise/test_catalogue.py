"""The exercise catalogue: names, levels, set-ups, the sensor each needs, and the progression's source."""

import pytest

from stridecue.errors import UserError
from stridecue.exercise.catalogue import EXERCISES, PROGRESSION_SOURCE, check_mount, describe_catalogue, exercise


def test_the_issue_s_exercises_are_there_with_four_graded_levels():
    assert {"single-leg-squat", "step-down", "single-leg-balance", "bridge"} <= set(EXERCISES)
    for ex in EXERCISES.values():
        assert [lv.number for lv in ex.levels] == [1, 2, 3, 4]
        assert "{leg}" in ex.setup  # the set-up names the leg
        if ex.kind == "rep":  # graded: deeper or slower from level 1 to 4
            assert ex.levels[-1].depth_deg > ex.levels[0].depth_deg
            assert ex.levels[-1].down_s > ex.levels[0].down_s


def test_the_glute_exercise_is_counted_by_the_thigh_only():
    check_mount(exercise("bridge"), "thigh")
    with pytest.raises(UserError, match="thigh"):
        check_mount(exercise("bridge"), "shin")


def test_unknown_names_and_levels_are_one_line_errors():
    with pytest.raises(UserError, match="unknown exercise 'lunge'.*single-leg-squat"):
        exercise("lunge")
    with pytest.raises(UserError, match="levels 1-4, not 0"):
        exercise("step-down").level(0)
    assert exercise(" Step-Down ").name == "step-down"


def test_the_list_names_every_level_and_the_source():
    text = describe_catalogue()
    assert text.count("level 4:") == len(EXERCISES)
    assert "ACSM 2009" in PROGRESSION_SOURCE and "Silbernagel" in PROGRESSION_SOURCE and PROGRESSION_SOURCE in text
