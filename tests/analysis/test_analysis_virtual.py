"""Accuracy of the stride analysis against the virtual runner's truth (stridecue.sim).

The targets of the issue are F1 >= 0.99, IC MAE <= 10 ms, wobble error <= 1 deg, PTA error <= 5 %
(`stridecue validate` measures them over many more runs).  These tests check a spread of cases
with the same targets where the analysis meets them with margin, and say so where the margin is
thin.
"""

from __future__ import annotations

import numpy as np
import pytest

from stridecue.analysis.run import analyse_block, block_from_arrays
from stridecue.analysis.streaming import WARMUP_STRIDES
from stridecue.sim import RunnerSettings, VirtualRunner


def simulate(speed, mount, leg, seed, seconds=40.0, accel_range_g=None, noise=1.0, wobble=6.0):
    runner = VirtualRunner(RunnerSettings(speed_mps=speed, wobble_deg=wobble), seed=seed)
    sensor = runner.sensor(leg=leg, mount=mount, rotation="random", accel_range_g=accel_range_g, noise=noise)
    chunk = sensor.read(int(seconds * sensor.rate))
    block = block_from_arrays(sensor.rate, chunk.acc, chunk.gyr, accel_g=accel_range_g or 32)
    truth = [t for t in sensor.truth if t.kind == "run" and t.to_t <= chunk.t[-1]]
    return block, truth


def score(strides, truth, tolerance=0.1):
    """Greedy one-to-one matching of ICs; errors of the matched pairs."""
    run = [s for s in strides if s.kind == "run"]
    ic = np.array([s.ic_t for s in run])
    used = set()
    pairs = []
    for t in truth:
        if not len(ic):
            break
        j = int(np.argmin(np.abs(ic - t.ic_t)))
        if abs(ic[j] - t.ic_t) <= tolerance and j not in used:
            used.add(j)
            pairs.append((run[j], t))
    tp = len(pairs)
    f1 = 2 * tp / (len(run) + len(truth)) if (run or truth) else 1.0
    ic_err = [s.ic_t - t.ic_t for s, t in pairs]
    # wobble is withheld for the first strides while the frame settles (counted, see the tests)
    held = [s for s, _ in pairs if s.wobble_deg is None]
    assert len(held) <= WARMUP_STRIDES + 1, f"{len(held)} strides without wobble"
    wob = [s.wobble_deg - t.wobble_deg for s, t in pairs if not s.clipped and s.wobble_deg is not None]
    pta = [s.pta_axial_g / t.pta_axial_g - 1 for s, t in pairs if not s.clipped]
    return f1, np.abs(ic_err), np.abs(wob), np.abs(pta)


# The virtual shank turns about its long axis in stance (sim/bodies.py: the default body's 6-deg
# stance twist), so its stance rotation axis is not its swing axis.  Measured about the swing axis
# these shin cases read 3.7-6.7 deg of wobble error; across the line of travel (analysis/metrics.py)
# they are back under 1 deg.  The thigh keeps the frame's rotation axis (nothing on a thigh stands
# still, so its line of travel cannot be observed): at 6 m/s the default body's hip flexion plane
# is about 1.5 deg from the line of travel and reads as -1.0 deg of wobble (a rotation of the frame's
# lateral axis by -1.5 deg about the vertical removes it), just over the 1-deg target.
THIGH_PLANE = pytest.mark.xfail(strict=True, reason="thigh: frontal plane from its rotation axis; at 6 m/s "
                                "the hip flexion plane is ~1.5 deg from the line of travel (docs/metrics.md)")

CASES = [
    # speed, mount, leg, seed
    (2.0, "shin", "left", 101),
    (3.3, "shin", "right", 102),
    (5.0, "shin", "left", 103),
    (6.0, "shin", "right", 104),
    (2.5, "thigh", "left", 105),
    (4.0, "thigh", "right", 106),
    pytest.param(6.0, "thigh", "left", 107, marks=THIGH_PLANE),
]


@pytest.mark.parametrize("speed,mount,leg,seed", CASES)
def test_accuracy_against_the_virtual_runner(speed, mount, leg, seed):
    block, truth = simulate(speed, mount, leg, seed)
    f1, ic, wob, pta = score(analyse_block(block, mount, leg), truth)
    assert len(truth) > 40
    assert f1 >= 0.98  # the target 0.99 is met over validate's 30 runs; one stride of 50 here is 0.98
    assert ic.mean() <= 0.010
    assert wob.mean() <= 1.0
    assert pta.mean() <= 0.05


# with the stance twist, measured about the swing axis: wobble 0.29 -> 5.12 deg (F1 1.0, IC 4.2 ms unchanged)
def test_accuracy_holds_with_a_clipping_accelerometer_and_double_noise():
    block, truth = simulate(5.5, "shin", "left", 108, accel_range_g=8, noise=2.0)
    strides = analyse_block(block, "shin", "left")
    f1, ic, wob, pta = score(strides, truth)
    assert f1 >= 0.98 and ic.mean() <= 0.010 and wob.mean() <= 1.0
    assert sum(s.clipped for s in strides) > 0.3 * len(strides)  # (about half clip at +-8 g and 5.5 m/s)


# with the stance twist, measured about the swing axis: measured difference 5.53 -> 4.44 deg for a true 5.67
def test_wobble_follows_the_runner_not_the_sensor():
    """A runner with more wobble measures more wobble, whatever the board orientation."""
    low = simulate(3.3, "shin", "left", 110, wobble=3.0)
    high = simulate(3.3, "shin", "left", 111, wobble=9.0)
    w_low = np.median([s.wobble_deg for s in analyse_block(low[0], "shin", "left") if s.kind == "run" and s.wobble_note is None])
    w_high = np.median([s.wobble_deg for s in analyse_block(high[0], "shin", "left") if s.kind == "run" and s.wobble_note is None])
    assert w_high - w_low == pytest.approx(np.median([t.wobble_deg for t in high[1]]) - np.median([t.wobble_deg for t in low[1]]), abs=1.0)


# with the stance twist, measured about the swing axis: knee excursion 11.9 -> 16.2 deg for a true 12.7 (the shank's part)
def test_knee_frontal_angle_from_thigh_and_shank_of_one_leg():
    """Both segment angles are positive when the knee is medial, so the knee's excursion is close to
    the sum of the two segments' excursions (exactly so when they peak together)."""
    from stridecue.analysis.combine import knee_from_blocks

    runner = VirtualRunner(RunnerSettings(wobble_deg=6.0), seed=5)
    thigh = runner.sensor(leg="left", mount="thigh", rotation="random")
    shank = runner.sensor(leg="left", mount="shin", rotation="random")
    ct, cs = thigh.read(416 * 30), shank.read(416 * 30)
    knee = knee_from_blocks(block_from_arrays(416.0, ct.acc, ct.gyr, sensor=1), block_from_arrays(416.0, cs.acc, cs.gyr),
                            "left")
    assert len(knee) >= 0.9 * (len(shank.truth) - WARMUP_STRIDES)  # no knee angle while a frame settles
    expected = np.median([t.wobble_deg for t in shank.truth]) + np.median([t.wobble_deg for t in thigh.truth])
    assert np.median([k.knee_excursion_deg for k in knee]) == pytest.approx(expected, abs=1.5)
    assert all(k.knee_excursion_deg >= 0 and k.leg == "left" for k in knee)


def test_left_right_asymmetry_of_a_symmetric_runner_is_small():
    from stridecue.analysis.combine import asymmetry

    runner = VirtualRunner(RunnerSettings(), seed=6)
    strides = []
    for slot, leg in enumerate(("left", "right")):
        sensor = runner.sensor(leg=leg, mount="shin", rotation="random")
        c = sensor.read(416 * 30)
        strides += analyse_block(block_from_arrays(416.0, c.acc, c.gyr, sensor=slot), "shin", leg, sensor=slot)
    out = asymmetry(strides)
    assert out["mount"] == "shin" and min(out["strides"].values()) > 20
    assert abs(out["metrics"]["contact_time_s"]["symmetry_index_pct"]) < 5
    assert abs(out["metrics"]["cadence_spm"]["symmetry_index_pct"]) < 2


def test_validate_reports_the_live_delay_once_aligned_apart_from_the_start_up():
    """The 60-ms bound holds for strides decided once the segment frame is known; those held while
    it is first found are their own figure."""
    from stridecue.lab.validation_virtual import VirtualCase, streaming_figures

    case = VirtualCase(seed=1, speed_mps=3.0, mount="shin", leg="left", wobble_deg=5.0, clipping=False)
    figs = {f.name: f for f in streaming_figures([case], 20.0)}
    steady = figs["live delay after toe-off, frame known (max)"]
    startup = figs["live delay after toe-off, start-up (max)"]
    assert steady.met is True and 0 < steady.value <= 60.0
    assert startup.value > 60.0  # the first strides wait for the frame
    assert figs["live = offline strides"].value == 100.0


@pytest.mark.parametrize("speed,mount,seed", [(3.3, "shin", 121), (5.0, "shin", 122), (4.0, "thigh", 123)])
def test_accelerometer_only_running_is_found_from_the_start(speed, mount, seed):
    """Without a gyroscope (impacts only): the running strides are found and counted as running from
    the first seconds on, not held back as walking by the walking checks."""
    block, truth = simulate(speed, mount, "left", seed, seconds=30.0)
    from stridecue.link.samples import SampleBlock

    accel = SampleBlock(block.index, block.raw.copy(), block.rate, block.accel_g, 0)
    run = [s for s in analyse_block(accel, mount, "left") if s.kind == "run"]
    ic = np.array([s.ic_t for s in run])
    errors = [np.min(np.abs(ic - t.ic_t)) for t in truth]
    tp = sum(e <= 0.1 for e in errors)
    assert 2 * tp / (len(run) + len(truth)) >= 0.95
    assert np.mean([e for e in errors if e <= 0.1]) <= 0.030
    assert all(s.accel_only for s in run)


@pytest.mark.parametrize("speed,mount", [(3.3, "shin"), (6.0, "shin"), (6.0, "thigh")])
def test_the_virtual_runners_specific_force_averages_to_gravity_over_a_stride(speed, mount):
    """The contract the segment frame rests on (docs/metrics.md, alignment.cycle_vertical): a sensor's
    position repeats from stride to stride, so the world-frame specific force averages to +1 g
    vertical over whole strides.  The analysis cannot be more right than test data that keep it:
    a transient that is zero-mean in the turning segment frame is not zero-mean in the world, and
    tilts the vertical found at contact (at 6 m/s on the shin by about 10 deg, which over-reads
    pta_axial_g by 5-10 %)."""
    runner = VirtualRunner(RunnerSettings(speed_mps=speed), seed=3)
    sensor = runner.sensor(leg="left", mount=mount, rotation="random", noise=0.0)
    sensor.read(int(14 * sensor.rate))
    truth = [t for t in sensor.truth if t.kind == "run"][-6:]
    t = np.arange(truth[0].ic_t, truth[-1].ic_t, 1 / 2000.0)  # five whole strides
    board_to_world, _ = sensor.board_pose(t)
    acc, _ = sensor.ideal(t)
    mean_specific_force = np.einsum("nij,nj->ni", board_to_world, acc).mean(axis=0)
    np.testing.assert_allclose(mean_specific_force, [0.0, 0.0, 1.0], atol=0.03)  # 0.03 g: a 1.7 deg tilt
