"""The virtual exerciser: its signals are physics of its own model (gravity, the gyro turning
the board as the model's segment turns), its sensors are strapped differently, and its truth
follows the plan it was given."""

import numpy as np
import pytest

from stridecue.errors import UserError
from stridecue.sim.exerciser import VirtualExerciser


def test_standing_still_the_accelerometer_reads_one_g_and_the_gyro_nothing():
    ex = VirtualExerciser("single-leg-squat", level=2, seed=3)
    s = ex.sensor("left", "shin")
    acc, gyr = s.ideal(np.linspace(0.5, 3.0, 50))
    assert np.allclose(np.linalg.norm(acc, axis=1), 1.0, atol=1e-3)
    assert np.max(np.abs(gyr)) < 1e-6


def test_the_gyro_turns_the_board_as_the_model_turns_the_segment():
    ex = VirtualExerciser("single-leg-squat", level=3, seed=4)
    s = ex.sensor("right", "thigh")
    plan = ex.go(2.0, "right")
    rep = plan.reps[0]
    t = np.arange(rep.start - 0.2, rep.start + rep.down_s, 0.001)
    _, gyr = s.ideal(t)
    turned = np.sum(np.linalg.norm(gyr, axis=1)) * 0.001  # deg, about one axis mostly
    a0, a1 = ex.angles("right", np.array([t[0], t[-1]]))[:, 3:6]
    assert turned == pytest.approx(np.degrees(np.linalg.norm(a1 - a0)), rel=0.1)


def test_sensors_are_strapped_at_different_orientations_and_bodies_differ():
    ex = VirtualExerciser("step-down", seed=5)
    a, b = ex.sensor("left", "shin"), ex.sensor("right", "shin")
    assert not np.allclose(a.rotation, b.rotation)
    shares = {round(VirtualExerciser("step-down", seed=k).body.ankle_share, 2) for k in range(20)}
    assert len(shares) > 15 and min(shares) < 0.4 and max(shares) > 0.55


def test_truth_follows_the_plan_and_fatigue_shows():
    ex = VirtualExerciser("single-leg-squat", level=3, seed=11)
    ex.sensor("left", "shin").read(416 * 60)
    ex.go(2.0, "left")
    truth = ex.truth()
    assert len(truth) == 10 and all(t.start_t > 2.0 for t in truth)
    assert all(40.0 < t.depth_deg < 100.0 for t in truth)
    assert all(t.down_s > 0 and t.up_s > 0 for t in truth)


def test_a_set_never_starts_before_what_the_sensor_already_sent():
    ex = VirtualExerciser("single-leg-squat", seed=2)
    s = ex.sensor("left", "shin")
    s.read(416 * 10)
    plan = ex.go(1.0, "left")  # heard "late": the sensor is at 10 s
    assert plan.reps[0].start > s.sent_t
    with pytest.raises(UserError):
        ex.go(12.0, "middle")
