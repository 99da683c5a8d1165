"""Issue 14's three causes of wrong wobble on real legs, each on motion built so the truth is known.

- wrong plane: wobble measured about the frame's medio-lateral axis (the swing's hinge) instead of
  across the line of travel lets the stance's forward rotation leak in;
- absurd values: too little data before a contact, or a vertical no leg has, gave 160-190 deg;
- warm-up: wobble reported while the frame rested on one or two stances.
"""

from __future__ import annotations

import numpy as np
import pytest

from stridecue.analysis.metrics import (IMPLAUSIBLE, MAX_WOBBLE_DEG, NO_CYCLE, WARMUP, StrideMetrics,
                                        StrideWindow)
from stridecue.analysis.run import analyse_block, block_from_arrays
from stridecue.analysis.streaming import WARMUP_STRIDES
from stridecue.coach.policy import Coach, CoachSettings

RATE = 416.0
G = 9.80665


def _rz(deg: float) -> np.ndarray:
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def shank_cycle(heading_error_deg: float, *, valgus_deg: float = 0.0, sensor_height_m: float = 0.3,
                speed_mps: float = 3.5, cycle_s: float = 0.7, stance_s: float = 0.25):
    """A shank from one initial contact through the next stance, travelling along world +x.

    The shank rotates forward 40 deg about the planted ankle in stance, swings back in swing; the
    ankle moves a stride forward in swing.  In stance the knee end also tilts medially by
    `valgus_deg` (a right leg: medial is +y, the runner's left).  The window is given in a frame whose medio-lateral
    axis is turned `heading_error_deg` about the long axis from the true one, as a frame found from
    the swing of a real leg is.  Returns (window, true wobble of the second stance)."""
    n = int(round((cycle_s + stance_s) * RATE)) + 1
    t = np.arange(n) / RATE
    u = np.where(t < cycle_s, t, t - cycle_s)
    in_stance = u <= stance_s
    sag = np.where(in_stance, 20.0 - 20.0 * np.cos(np.pi * u / stance_s),
                   20.0 + 20.0 * np.cos(np.pi * (u - stance_s) / (cycle_s - stance_s)))
    front = np.where(in_stance, valgus_deg * np.sin(np.pi * u / stance_s) ** 2, 0.0)
    swing = np.clip((t - stance_s) / (cycle_s - stance_s), 0.0, 1.0)
    ankle_x = speed_mps * cycle_s * (3 * swing ** 2 - 2 * swing ** 3)
    # orientation: forward (sagittal) tilt about world y, then the medial tilt about world x
    phi, psi = np.radians(sag), -np.radians(front)  # about +x, -psi tilts the top to +y
    rot = np.empty((n, 3, 3))
    for k in range(n):
        cy, sy, cx, sx = np.cos(phi[k]), np.sin(phi[k]), np.cos(psi[k]), np.sin(psi[k])
        ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
        rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
        rot[k] = rx @ ry  # segment -> world
    long_axis = rot[:, :, 2]
    pos = np.column_stack([ankle_x, np.zeros(n), np.zeros(n)]) + sensor_height_m * long_axis
    accel = np.gradient(np.gradient(pos, axis=0), axis=0) * RATE ** 2
    # angular rate in the segment frame from the orientation's change
    omega = np.zeros((n, 3))
    for k in range(1, n - 1):
        d = rot[k].T @ (rot[k + 1] - rot[k - 1]) * (RATE / 2.0)
        omega[k] = [d[2, 1], d[0, 2], d[1, 0]]
    omega[0], omega[-1] = omega[1], omega[-2]
    frame = _rz(heading_error_deg)  # the frame the analysis believes: turned about the long axis
    to_frame = frame.T
    specific = np.einsum("nji,nj->ni", rot, accel / G + np.array([0.0, 0.0, 1.0]))
    acc = specific @ to_frame.T
    gyr = np.degrees(omega) @ to_frame.T
    ic, to = int(round(cycle_s * RATE)), n - 1
    window = StrideWindow(acc=acc, gyr=gyr, clipped=np.zeros(n, bool), ic=ic, to=to, cycle_start=0)
    # truth: the long axis projected on the world y-z plane, medial (+y for a right leg) positive
    theta = np.degrees(np.arctan2(long_axis[ic:, 1], long_axis[ic:, 2]))
    return window, float(theta.max() - theta[0])


@pytest.mark.parametrize("heading_error", [-10.0, 10.0])
def test_forward_rotation_of_stance_does_not_read_as_wobble(heading_error):
    """A frame turned 10 deg from the line of travel (as a real shank's swing axis is) with no
    frontal motion at all: measured about the frame's axis this read ~8 deg for one sign."""
    window, truth = shank_cycle(heading_error)
    assert truth == pytest.approx(0.0, abs=1e-6)
    wobble = StrideMetrics("shin", "right", RATE).compute([window])[0]["wobble_deg"]
    assert wobble == pytest.approx(0.0, abs=0.5)


@pytest.mark.parametrize("heading_error,height", [(10.0, 0.3), (-8.0, 0.15), (5.0, 0.4)])
def test_wobble_across_the_line_of_travel_whatever_the_frame(heading_error, height):
    window, truth = shank_cycle(heading_error, valgus_deg=6.0, sensor_height_m=height)
    assert truth == pytest.approx(6.0, abs=0.5)
    wobble = StrideMetrics("shin", "right", RATE).compute([window])[0]["wobble_deg"]
    assert wobble == pytest.approx(truth, abs=0.6)


def test_a_contact_without_a_gait_cycle_before_it_gets_no_wobble():
    window, _ = shank_cycle(0.0, valgus_deg=6.0)
    short = StrideWindow(acc=window.acc, gyr=window.gyr, clipped=window.clipped, ic=window.ic, to=window.to,
                         cycle_start=window.ic - int(0.2 * RATE))
    broken = StrideWindow(acc=window.acc, gyr=window.gyr, clipped=window.clipped, ic=window.ic, to=window.to,
                          cycle_start=0, whole_cycle=False)
    out = StrideMetrics("shin", "right", RATE).compute([short, broken, window])
    assert [o["wobble_note"] for o in out] == [NO_CYCLE, NO_CYCLE, None]
    assert out[0]["wobble_deg"] is None and out[0]["wobble_rate_dps"] is None
    assert out[2]["wobble_deg"] == pytest.approx(6.0, abs=0.6)
    assert out[0]["pta_axial_g"] is not None  # the rest of the stride is still measured


def test_a_vertical_no_leg_has_is_refused_not_reported():
    """Specific force before IC pointing along the shank's anterior axis: a 'vertical' 90 deg from
    the long axis, which gave wobble of 160-190 deg; now withheld as implausible."""
    window, _ = shank_cycle(0.0)
    acc = window.acc.copy()
    acc[: window.ic] = [1.0, 0.0, 0.05]
    bad = StrideWindow(acc=acc, gyr=window.gyr, clipped=window.clipped, ic=window.ic, to=window.to, cycle_start=0)
    out = StrideMetrics("shin", "right", RATE).compute([bad])[0]
    assert out["wobble_deg"] is None and out["wobble_note"] == IMPLAUSIBLE


def test_an_excursion_beyond_any_running_leg_is_refused():
    window, truth = shank_cycle(0.0, valgus_deg=MAX_WOBBLE_DEG + 10.0)
    assert truth > MAX_WOBBLE_DEG
    out = StrideMetrics("shin", "right", RATE).compute([window])[0]
    assert out["wobble_deg"] is None and out["wobble_note"] == IMPLAUSIBLE


def test_the_driver_can_withhold_a_stride():
    window, _ = shank_cycle(0.0, valgus_deg=6.0)
    held = StrideWindow(acc=window.acc, gyr=window.gyr, clipped=window.clipped, ic=window.ic, to=window.to,
                        cycle_start=0, withhold=WARMUP)
    out = StrideMetrics("shin", "right", RATE).compute([held])[0]
    assert out["wobble_deg"] is None and out["wobble_note"] == WARMUP


def _run_without_standstill(seconds=25.0, seed=3):
    from stridecue.sim import RunnerSettings, VirtualRunner

    runner = VirtualRunner(RunnerSettings(segments=(("run", seconds),)), seed=seed)
    sensor = runner.sensor(leg="left", mount="shin", rotation="random")
    chunk = sensor.read(int(seconds * sensor.rate))
    return block_from_arrays(sensor.rate, chunk.acc, chunk.gyr)


def test_wobble_is_withheld_while_the_frame_settles_and_no_cue_is_given():
    strides = [s for s in analyse_block(_run_without_standstill(), "shin", "left") if s.kind == "run"]
    assert len(strides) > 20
    first = strides[:WARMUP_STRIDES]
    assert all(s.wobble_deg is None and s.wobble_note in (WARMUP, NO_CYCLE) for s in first)
    later = strides[WARMUP_STRIDES:]
    assert all(s.wobble_deg is not None and s.wobble_note is None for s in later)
    assert all(s.wobble_deg is None or 0.0 <= s.wobble_deg <= MAX_WOBBLE_DEG for s in strides)
    # a coach with a saved threshold of 0 deg would cue at once: not on a withheld stride
    coach = Coach(CoachSettings(baseline_deg=0.0, baseline_spread_deg=0.1, window=1, cooldown_s=0.0))
    cues = [coach.on_stride(s.known_t, s.leg, s.wobble_deg) for s in first]
    assert cues == [None] * len(first)


def test_the_summary_says_how_many_strides_had_wobble_withheld():
    from pathlib import Path

    from stridecue.review.figures import summarize
    from stridecue.review.summary_text import format_summary

    strides = analyse_block(_run_without_standstill(), "shin", "left")
    held = sum(1 for s in strides if s.kind == "run" and s.wobble_note)
    assert held >= WARMUP_STRIDES
    s = summarize(strides, [], {}, {}, CoachSettings(), duration_s=25.0)
    assert sum(s["data_quality"]["wobble_withheld"].values()) == held
    assert s["data_quality"]["wobble_withheld"][WARMUP] == WARMUP_STRIDES
    text = format_summary(Path("run.scrun"), s)
    assert f"withheld for {held} strides" in text and "warm-up" in text
