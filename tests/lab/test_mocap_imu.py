"""The motion-capture-driven virtual IMU (stridecue.lab.mocap_imu) is faithful to the motion it is fed:
known synthetic marker motion gives its known rate and specific force back, the board rotation is
applied as a rotation, the gyro integrates to the markers' orientation change, and the 416 Hz
output is smooth and as long as the capture."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from stridecue.lab import datasets
from stridecue.lab.datasets import GrouvelTrial, LegTruth
from stridecue.lab import mocap_imu as mocap

HAVE_DATA = datasets.shared_data_dir().is_dir()
RATE = 100.0


def _synthetic_trial(rate_dps: float = 200.0, twist_dps: float = 0.0, seconds: float = 1.5, direction: int = 1,
                     knee_mm=None) -> GrouvelTrial:
    """A left shank pivoting about its ankle (fixed at 1 m height) in the sagittal plane at a
    constant rate, optionally twisting about its own long axis; the thigh is carried rigidly on top."""
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    theta = np.radians(rate_dps) * t - 0.3  # proximal end ahead for theta > 0
    psi = np.radians(twist_dps) * t
    heading = mocap.heading_frame(direction)
    seg_to_lab = np.einsum("ij,njk->nik", heading,
                           Rotation.from_euler("YZ", np.column_stack([theta, psi])).as_matrix())
    ankle = np.tile([0.0, 0.0, 1000.0], (n, 1))
    length = 400.0
    knee = ankle + length * seg_to_lab[:, :, 2] if knee_mm is None else knee_mm
    hip = knee + length * seg_to_lab[:, :, 2]
    cluster = np.array([[40.0, 30.0, 150.0], [-20.0, 50.0, 200.0], [10.0, 60.0, 260.0], [35.0, 45.0, 220.0]])
    markers = {}
    for side in "LR":
        for k, c in enumerate(cluster, start=1):
            markers[f"{side}S{k}"] = ankle + np.einsum("nij,j->ni", seg_to_lab, c)
            markers[f"{side}T{k}"] = knee + np.einsum("nij,j->ni", seg_to_lab, c)
    jc = {"LAJC": ankle, "LKJC": knee, "LHJC": hip, "RAJC": ankle, "RKJC": knee, "RHJC": hip}
    leg = LegTruth(leg="left", shank_angle_deg=np.zeros(n), thigh_angle_deg=np.zeros(n), ic_t=np.zeros(0), to_t=np.zeros(0))
    return GrouvelTrial(participant="P00", session="S00", trial=1, name="synthetic", rate_hz=RATE, direction=direction,
                        imus={}, joint_centres=jc, markers=markers, legs={"left": leg, "right": leg})


def _identity_mounting(fraction=0.5, offset=(0.0, 0.0, 0.0), rotation=None) -> mocap.Mounting:
    return mocap.Mounting(name="test", place="test", fraction=fraction, offset_m=offset,
                          rotation=np.eye(3) if rotation is None else rotation)


def _interior(rec, margin_s=0.2):
    return (rec.t > rec.t[0] + margin_s) & (rec.t < rec.t[-1] - margin_s)


@pytest.mark.parametrize("direction", [1, -1])
def test_a_segment_turning_at_a_known_rate_gives_that_rate_and_its_centripetal_force(direction):
    trial = _synthetic_trial(rate_dps=200.0, direction=direction)
    rec = mocap.MocapImu().simulate(trial, "left", "shin", _identity_mounting(fraction=0.5)).recording_
    inside = _interior(rec)
    # about the segment's own y (the runner's left): a forward pitch of the proximal end is +y
    np.testing.assert_allclose(rec.gyr_dps[inside], np.tile([0.0, 200.0, 0.0], (inside.sum(), 1)), atol=0.5)
    # the point 0.2 m up the shank moves on a circle about the fixed ankle: a = -w^2 r, along -z;
    # gravity (lab +z in specific force) seen in the segment frame
    w = math.radians(200.0)
    z_lab = rec.rotation[inside][:, 2, :]  # lab z in segment coordinates (rows of R^T)
    expected = z_lab + np.array([0.0, 0.0, -w * w * 0.2 / mocap.G])
    np.testing.assert_allclose(rec.acc_g[inside], expected, atol=0.005)


def test_twist_about_the_long_axis_comes_from_the_cluster():
    trial = _synthetic_trial(rate_dps=0.0, twist_dps=90.0)
    rec = mocap.MocapImu().simulate(trial, "left", "shin", _identity_mounting()).recording_
    inside = _interior(rec)
    np.testing.assert_allclose(rec.gyr_dps[inside], np.tile([0.0, 0.0, 90.0], (inside.sum(), 1)), atol=0.5)


def test_rotating_the_board_rotates_the_readings_by_exactly_that_rotation():
    trial = _synthetic_trial(rate_dps=150.0, twist_dps=40.0)
    imu = mocap.MocapImu()
    plain = imu.simulate(trial, "left", "shin", _identity_mounting(offset=(0.02, 0.04, 0.0))).recording_
    turned = Rotation.from_euler("zyx", [33.0, -4.0, 180.0], degrees=True).as_matrix()  # upside down, turned, tilted
    board = imu.simulate(trial, "left", "shin", _identity_mounting(offset=(0.02, 0.04, 0.0), rotation=turned)).recording_
    # v_board = M^T v_segment
    np.testing.assert_allclose(board.gyr_dps, plain.gyr_dps @ turned, atol=1e-9)
    np.testing.assert_allclose(board.acc_g, plain.acc_g @ turned, atol=1e-9)
    np.testing.assert_allclose(board.acc_segment, plain.acc_g, atol=1e-9)
    # an upside-down board reads the rotation about the segment's y with the opposite sign on its own y
    pitching = _synthetic_trial(rate_dps=150.0)
    flipped = imu.simulate(pitching, "left", "shin", _identity_mounting(rotation=mocap.axis_rotation("x", 180.0))).recording_
    inside = _interior(flipped)
    np.testing.assert_allclose(flipped.gyr_dps[inside], np.tile([0.0, -150.0, 0.0], (inside.sum(), 1)), atol=0.5)


def test_standstill_reads_one_g_along_the_true_vertical_and_no_rotation():
    trial = _synthetic_trial(rate_dps=100.0)
    rec = mocap.MocapImu(standstill_s=3.0, blend_s=1.0).simulate(trial, "left", "shin", _identity_mounting()).recording_
    assert rec.t[0] == pytest.approx(-4.0)
    still = rec.t < -1.05  # before the ramp into the pass
    assert still.sum() == int(2.95 * 416) + 1
    # (within 0.1 mg / 0.001 deg/s, far under one count of the sensor: the spline through the
    # ramp's frames rings on a little into the standstill)
    np.testing.assert_allclose(np.linalg.norm(rec.acc_g[still], axis=1), 1.0, atol=1e-4)
    np.testing.assert_allclose(rec.gyr_dps[still], 0.0, atol=1e-3)
    # in the lab the specific force is straight up, and the long axis leans by the standing inclination
    lab = np.einsum("nij,nj->ni", rec.rotation[still], rec.acc_g[still])
    np.testing.assert_allclose(lab, np.tile([0.0, 0.0, 1.0], (still.sum(), 1)), atol=1e-4)
    lean = math.radians(mocap.STANDING_INCLINATION_DEG["shin"])
    np.testing.assert_allclose(rec.acc_g[still][:, 2], math.cos(lean), atol=1e-4)
    np.testing.assert_allclose(rec.acc_g[still][:, 0], -math.sin(lean), atol=1e-4)  # knee ahead: gravity tilts back
    # the recording then joins the pass: at t >= 0 it is the pass without the standstill
    plain = mocap.MocapImu().simulate(trial, "left", "shin", _identity_mounting()).recording_
    k = rec.index_at(0.0)
    assert abs(rec.t[k]) < 1e-9
    inside = _interior(plain, 0.3)
    np.testing.assert_allclose(rec.gyr_dps[k:][inside[: len(rec.t) - k]], plain.gyr_dps[inside], atol=1.0)


def test_the_416_hz_output_is_as_long_as_the_capture_and_smooth():
    trial = _synthetic_trial(rate_dps=200.0, seconds=1.55)
    rec = mocap.MocapImu(rate_hz=416.0).simulate(trial, "left", "shin", _identity_mounting()).recording_
    assert len(rec.t) == int(math.floor(1.54 * 416 + 1e-9)) + 1
    np.testing.assert_allclose(np.diff(rec.t), 1 / 416.0, atol=1e-12)


@pytest.mark.skipif(not HAVE_DATA, reason="shared data not present")
def test_real_passes_give_smooth_signals_of_plausible_size():
    trial = datasets.load_grouvel2023(participants=["P02"])[0]
    for seg in ("shin", "thigh"):
        rec = mocap.simulate_pass(trial, "left", seg, mocap.plausible_mountings(seg, "left", 1, 0))[0]
        assert len(rec.t) == int(math.floor((trial.n - 1) / trial.rate_hz * 416 + 1e-9)) + 1
        for x in (rec.gyr_dps, rec.acc_g):
            # nothing the 100 frames/s (low-passed at 12 Hz) could not carry: no steps, kinks or ringing
            power = np.abs(np.fft.rfft((x - x.mean(axis=0)) * np.hanning(len(x))[:, None], axis=0)) ** 2
            freq = np.fft.rfftfreq(len(x), 1 / 416.0)
            assert power[freq > 30.0].sum() < 1e-4 * power.sum()
        assert 200 < np.abs(rec.gyr_dps).max() < 1500  # deg/s: a running leg's swing
        assert 1.5 < np.linalg.norm(rec.acc_g, axis=1).max() < 8.0  # g: without the impact peak


@pytest.mark.skipif(not HAVE_DATA, reason="shared data not present")
def test_the_gyro_integrates_to_the_markers_orientation_change_over_each_stance():
    worst = 0.0
    for trial in datasets.load_grouvel2023(participants=["P01", "P04"]):
        for leg in ("left", "right"):
            truth = trial.legs[leg]
            for seg in ("shin", "thigh"):
                motion = mocap.SegmentKinematics().fit(trial, leg, seg).motion_
                mounting = mocap.plausible_mountings(seg, leg, 1, 5)[0]
                rec = mocap.MocapImu().simulate_motion(motion, mounting, trial.rate_hz).recording_
                # the orientation passes through the markers' at every capture frame that falls on a
                # sample (every 25th: 0.25 s is 104 samples at 416 Hz) ...
                for a in range(0, trial.n, 25):
                    k = rec.index_at(a / trial.rate_hz)
                    np.testing.assert_allclose(rec.rotation[k], motion.rotation[a], atol=1e-6)
                # ... and the gyro integrates to its change over each stance
                for ic, to in zip(truth.ic_t, truth.to_t):
                    i, j = rec.index_at(ic), rec.index_at(to)
                    w = np.radians(rec.gyr_dps[i:j + 1])
                    steps = Rotation.from_rotvec(0.5 * (w[1:] + w[:-1]) / rec.rate_hz)
                    board = Rotation.identity()
                    for s in steps:
                        board = board * s
                    m = Rotation.from_matrix(mounting.rotation)
                    integrated = m * board * m.inv()  # the same change in the segment frame
                    markers = Rotation.from_matrix(rec.rotation[i].T @ rec.rotation[j])
                    turned = np.degrees(markers.magnitude())
                    assert turned > 5.0  # a stance turns the segment: the check is not of a still segment
                    worst = max(worst, np.degrees((integrated.inv() * markers).magnitude()))
    assert worst < 0.1  # degrees, over stances turning the segment by 10-50 deg


@pytest.mark.skipif(not HAVE_DATA, reason="shared data not present")
def test_the_virtual_segment_keeps_the_markers_frontal_plane_excursion():
    """The 12 Hz low-pass barely changes the truth the suite scores against."""
    diffs = []
    for trial in datasets.load_grouvel2023(participants=["P02", "P06"]):
        for leg in ("left", "right"):
            truth = trial.legs[leg]
            left_y = 1.0 if trial.direction > 0 else -1.0
            medial_y = -left_y if leg == "left" else left_y
            for seg, sign in (("shin", 1.0), ("thigh", -1.0)):
                rec = mocap.simulate_pass(trial, leg, seg, mocap.plausible_mountings(seg, leg, 1, 2))[0]
                z = rec.rotation[:, :, 2]
                theta = sign * np.degrees(np.arctan2(medial_y * z[:, 1], z[:, 2]))
                for k, (ic, to) in enumerate(zip(truth.ic_t, truth.to_t)):
                    inside = (rec.t >= ic) & (rec.t <= to)
                    ex = max(0.0, theta[inside].max() - np.interp(ic, rec.t, theta))
                    diffs.append(ex - truth.excursions(seg, trial.rate_hz)[k])
    assert len(diffs) >= 20
    assert np.mean(np.abs(diffs)) < 0.3 and np.max(np.abs(diffs)) < 1.0


def test_mountings_are_seeded_proper_rotations_on_named_places():
    a = mocap.plausible_mountings("shin", "left", 4, seed=3)
    b = mocap.plausible_mountings("shin", "left", 4, seed=3)
    c = mocap.plausible_mountings("shin", "left", 4, seed=4)
    assert [m.name for m in a] == [m.name for m in b]
    assert any(not np.allclose(x.rotation, y.rotation) for x, y in zip(a, c))
    assert {m.place for m in a} == set(mocap.PLACES["shin"])
    for m in a + mocap.plausible_mountings("thigh", "right", 3, seed=3):
        np.testing.assert_allclose(m.rotation @ m.rotation.T, np.eye(3), atol=1e-12)
        assert np.linalg.det(m.rotation) == pytest.approx(1.0)
    # lateral is the runner's left on the left leg, right on the right leg
    left = mocap.plausible_mountings("thigh", "left", 1, seed=0)[0]
    right = mocap.plausible_mountings("thigh", "right", 1, seed=0)[0]
    assert left.offset_m[1] > 0 > right.offset_m[1]
