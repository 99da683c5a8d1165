"""The virtual runner (stridecue.sim): its contract, its physics, its statistics against published
ranges and real recordings, its controls and its errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from stridecue.errors import UserError
from stridecue.sim import RunnerSettings, StrideTruth, VirtualRunner
from stridecue.sim.runner import CUE_KINDS

RATE = 416.0
QUIET = dict(noise=0.0, accel_bias_g=0.0, gyro_bias_dps=0.0, gyro_drift_dps_per_min=0.0)
G = 9.80665


def record(stream, seconds: float, step: int | None = None):
    """(t, acc, gyr) of the next `seconds` of a stream, read in `step`-sample chunks (all at once if None)."""
    n = int(round(seconds * stream.rate))
    if step is None:
        c = stream.read(n)
        return c.t, c.acc, c.gyr
    parts = [stream.read(min(step, n - k)) for k in range(0, n, step)]
    return (np.concatenate([p.t for p in parts]), np.concatenate([p.acc for p in parts]),
            np.concatenate([p.gyr for p in parts]))


def running(truth, after: float = 0.0):
    return [s for s in truth if s.kind == "run" and s.ic_t >= after]


# --------------------------------------------------------------------------------------------
# contract


def test_chunks_follow_the_contract():
    runner = VirtualRunner(RunnerSettings(), seed=1)
    stream = runner.sensor(leg="left", mount="shin", rotation="random", rate_hz=RATE)
    assert stream.rate == RATE
    first = stream.read(12)
    assert first.t.shape == (12,) and first.acc.shape == (12, 3) and first.gyr.shape == (12, 3)
    assert first.t[0] == 0.0
    more = stream.read(1000)
    t = np.concatenate([first.t, more.t])
    assert np.allclose(np.diff(t), 1 / RATE)
    assert stream.read(0).acc.shape == (0, 3)
    # standing at the start: gravity only, whatever the board's rotation
    assert np.allclose(np.linalg.norm(first.acc, axis=1), 1.0, atol=0.05)


def test_truth_lists_completed_stances_of_the_leg():
    runner = VirtualRunner(RunnerSettings(speed_mps=3.3), seed=2)
    stream = runner.sensor(leg="right", mount="thigh")
    t, _, _ = record(stream, 20.0, step=12)
    truth = stream.truth
    assert len(truth) > 15 and all(isinstance(s, StrideTruth) for s in truth)
    assert all(s.leg == "right" and s.mount == "thigh" and s.kind == "run" for s in truth)
    assert all(s.to_t <= t[-1] for s in truth)
    ic = np.array([s.ic_t for s in truth])
    assert np.all(np.diff(ic) > 0)
    first, rest = truth[0], truth[1:]
    assert first.stride_time_s is None and first.cadence_spm is None
    for s in rest:
        assert s.contact_time_s == pytest.approx(s.to_t - s.ic_t)
        assert s.cadence_spm == pytest.approx(120.0 / s.stride_time_s)
        assert s.wobble_deg >= 0 and s.pta_resultant_g >= s.pta_axial_g > 0 and s.loading_rate_gps > 0
    stride = np.diff(ic)
    assert np.allclose([s.stride_time_s for s in rest], stride)


def test_rate_may_change_between_reads():
    runner = VirtualRunner(RunnerSettings(), seed=3)
    stream = runner.sensor(rate_hz=104.0)
    a = stream.read(100)
    stream.rate = 416.0
    b = stream.read(100)
    assert np.allclose(np.diff(a.t), 1 / 104.0) and np.allclose(np.diff(b.t), 1 / 416.0)
    assert b.t[0] == pytest.approx(a.t[-1] + 1 / 416.0)


def test_seeded_and_reproducible_however_it_is_read():
    def signals(seed, step):
        runner = VirtualRunner(RunnerSettings(), seed=seed)
        stream = runner.sensor(leg="left", mount="shin", rotation="random", jitter_s=2e-4)
        t, acc, gyr = record(stream, 15.0, step=step)
        return t, acc, gyr, stream.truth

    t1, a1, g1, tr1 = signals(7, 12)
    t2, a2, g2, tr2 = signals(7, None)
    assert np.array_equal(t1, t2) and np.allclose(a1, a2, atol=1e-9) and np.allclose(g1, g2, atol=1e-9)
    assert tr1 == tr2
    _, a3, _, _ = signals(8, None)
    assert not np.allclose(a1, a3)


# --------------------------------------------------------------------------------------------
# physics: one kinematic model, accel and gyro consistent with it


def test_standing_reads_one_g_along_the_segment_and_no_rotation():
    runner = VirtualRunner(RunnerSettings(segments=(("stand", 4.0), ("run", 10.0))), seed=4)
    for mount in ("shin", "thigh"):
        stream = runner.sensor(leg="left", mount=mount, **QUIET)
        _, acc, gyr = record(stream, 2.5)
        assert np.allclose(acc[:, 2], 1.0, atol=0.02)  # board axes = segment axes: z is the long axis
        assert np.abs(acc[:, :2]).max() < 0.2 and np.abs(gyr).max() < 2.0  # knees a little bent


def test_gyro_integrates_to_the_boards_orientation():
    runner = VirtualRunner(RunnerSettings(speed_mps=3.3), seed=5)
    for mount in ("shin", "thigh"):
        stream = runner.sensor(leg="left", mount=mount, rotation="random", rate_hz=1000.0, **QUIET)
        t, _, gyr = record(stream, 12.0)
        window = (t >= 10.0) & (t < 11.0)  # a second of running: stances, swings, impacts
        tw, w = t[window], np.radians(gyr[window])
        R_model, _ = stream.board_pose(tw)
        R = Rotation.from_matrix(R_model[0])
        for k in range(len(tw) - 1):  # midpoint rule on the body-frame rate
            R = R * Rotation.from_rotvec(0.5 * (w[k] + w[k + 1]) * (tw[k + 1] - tw[k]))
        error = (Rotation.from_matrix(R_model[-1]).inv() * R).magnitude()
        assert math.degrees(error) < 1.0, mount


def test_accelerometer_is_the_specific_force_at_the_sensor():
    runner = VirtualRunner(RunnerSettings(speed_mps=4.0), seed=6)
    for mount in ("shin", "thigh"):
        stream = runner.sensor(leg="right", mount=mount, rotation="random", **QUIET)
        t, acc, _ = record(stream, 12.0)
        sel = np.where((t > 10.0) & (t < 11.0))[0]
        # outside the impact transient (which is a vibration of the sensor, not a motion of the
        # segment) the reading is R^T (p'' - g) / g, checked with the test's own differences
        impact = np.zeros(len(t), bool)
        for s in stream.truth:
            impact |= (t >= s.ic_t - 0.01) & (t <= s.ic_t + 0.27)
        sel = sel[~impact[sel]]
        h = 2e-4  # not the model's own step
        R, p0 = stream.board_pose(t[sel])
        _, pm = stream.board_pose(t[sel] - h)
        _, pp = stream.board_pose(t[sel] + h)
        a_world = (pp - 2 * p0 + pm) / h**2 + np.array([0.0, 0.0, G])
        expected = np.einsum("nji,nj->ni", R, a_world) / G
        assert np.abs(acc[sel] - expected).max() < 0.03, mount


def test_board_rotation_rotates_both_signals():
    settings = RunnerSettings(speed_mps=3.0)
    M = Rotation.from_euler("zyx", [30, -50, 110], degrees=True).as_matrix()
    plain = VirtualRunner(settings, seed=9).sensor(leg="left", mount="shin", **QUIET)
    turned = VirtualRunner(settings, seed=9).sensor(leg="left", mount="shin", rotation=M, **QUIET)
    _, a0, g0 = record(plain, 8.0)
    _, a1, g1 = record(turned, 8.0)
    assert np.allclose(a1, a0 @ M, atol=1e-6) and np.allclose(g1, g0 @ M, atol=1e-5)


# --------------------------------------------------------------------------------------------
# statistics in published ranges, both mounts, 2-6 m/s


@pytest.mark.parametrize("speed", [2.0, 3.3, 4.5, 6.0])
def test_running_statistics_fall_in_published_ranges(speed):
    runner = VirtualRunner(RunnerSettings(speed_mps=speed), seed=10)
    shin = runner.sensor(leg="left", mount="shin", rotation="random")
    thigh = runner.sensor(leg="left", mount="thigh", rotation="random")
    ts, _, gs = record(shin, 40.0)
    tt, _, gt = record(thigh, 40.0)
    strides = running(shin.truth, after=6.0)  # after the start from standing
    assert len(strides) > 40
    contact = np.median([s.contact_time_s for s in strides])
    assert 0.18 <= contact <= 0.32
    cadence = [s.cadence_spm for s in strides]
    assert 150 <= np.median(cadence) <= 200 and min(cadence) > 140 and max(cadence) < 210
    # flight: a step (half a stride) lasts longer than the contact
    flight = [b.ic_t - a.ic_t - 2 * a.contact_time_s for a, b in zip(strides[:-1], strides[1:])]
    if speed >= 2.5:
        assert np.mean(np.array(flight) > 0) > 0.95
    pta = [s.pta_axial_g for s in strides]
    assert 3.0 <= np.median(pta) <= 15.0 and np.percentile(pta, 90) < 16.0
    # shank swing angular-rate peaks: per stride, between toe-off and the next contact
    g = np.linalg.norm(gs, axis=1)
    swing = [g[(ts > a.to_t) & (ts < b.ic_t)].max() for a, b in zip(strides[:-1], strides[1:])]
    assert 400 <= np.median(swing) <= 900
    # the thigh: same strides, a softer landing, a slower swing
    thigh_strides = running(thigh.truth, after=6.0)
    assert [s.ic_t for s in thigh_strides] == [s.ic_t for s in strides]
    assert np.median([s.pta_axial_g for s in thigh_strides]) < 0.8 * np.median(pta)
    gth = np.linalg.norm(gt, axis=1)
    thigh_swing = [gth[(tt > a.to_t) & (tt < b.ic_t)].max() for a, b in zip(strides[:-1], strides[1:])]
    assert 150 <= np.median(thigh_swing) < np.median(swing)


def test_landing_load_speed_and_cadence_follow_the_settings():
    def medians(**kw):
        stream = VirtualRunner(RunnerSettings(**kw), seed=11).sensor()
        record(stream, 30.0)
        st = running(stream.truth, after=6.0)
        return (np.median([s.pta_axial_g for s in st]), np.median([s.cadence_spm for s in st]),
                np.median([s.speed_mps for s in st]))

    soft, _, _ = medians(speed_mps=3.3, landing_g=5.0)
    hard, _, _ = medians(speed_mps=3.3, landing_g=11.0)
    assert soft == pytest.approx(5.0, abs=1.0) and hard == pytest.approx(11.0, abs=1.5)
    _, cadence, speed = medians(speed_mps=3.3, cadence_spm=182.0)
    assert cadence == pytest.approx(182.0, abs=3.0) and speed == pytest.approx(3.3)


# --------------------------------------------------------------------------------------------
# segments: standing, walking, stopping


def test_stand_walk_run_stop_segments():
    segments = (("stand", 3.0), ("walk", 12.0), ("run", 15.0), ("stop", 6.0), ("run", 10.0))
    runner = VirtualRunner(RunnerSettings(segments=segments, walk_speed_mps=1.4), seed=12)
    stream = runner.sensor(leg="left", mount="shin", **QUIET)
    t, acc, gyr = record(stream, 50.0, step=12)
    truth = stream.truth
    walks = [s for s in truth if s.kind == "walk"]
    runs = [s for s in truth if s.kind == "run"]
    assert len(walks) >= 8 and len(runs) >= 25
    assert all(3.0 <= s.ic_t < 15.5 for s in walks)
    # walking: no flight (each contact outlasts half the stride), a walking cadence
    for s in walks[1:]:
        assert s.contact_time_s > 0.5 * s.stride_time_s and 90 <= s.cadence_spm <= 130
    # nobody steps while standing or stopped; the first stride after a stop has no stride time
    assert not any(s.ic_t < 3.0 or 31.0 <= s.ic_t < 36.0 for s in truth)
    after_stop = [s for s in runs if s.ic_t >= 36.0]
    assert after_stop[0].stride_time_s is None
    still = (t > 32.5) & (t < 35.0)
    assert np.abs(np.linalg.norm(acc[still], axis=1) - 1.0).max() < 0.05 and np.abs(gyr[still]).max() < 5.0


def test_every_change_of_gait_is_smooth():
    # a position or velocity that jumped would show as a spike of tens of g in a fast-sampled signal
    segments = (("stand", 2.0), ("run", 6.0), ("walk", 6.0), ("run", 6.0), ("stop", 3.0), ("walk", 5.0), ("stand", 3.0))
    for mount in ("shin", "thigh"):
        runner = VirtualRunner(RunnerSettings(segments=segments, speed_mps=4.0), seed=24)
        stream = runner.sensor(leg="left", mount=mount, rate_hz=2000.0, **QUIET)
        _, acc, gyr = record(stream, 30.0)
        assert np.linalg.norm(acc, axis=1).max() < 20.0, mount
        assert np.linalg.norm(gyr, axis=1).max() < 1200.0, mount
        kinds = [s.kind for s in stream.truth]
        assert kinds.count("walk") >= 6 and kinds.count("run") >= 8


# --------------------------------------------------------------------------------------------
# several sensors on one runner


def test_left_and_right_share_the_schedule_half_a_cycle_apart():
    runner = VirtualRunner(RunnerSettings(speed_mps=3.5), seed=13)
    left, right = runner.sensor(leg="left"), runner.sensor(leg="right")
    for _ in range(int(30 * RATE / 12)):
        left.read(12)
        right.read(12)
    li = np.array([s.ic_t for s in running(left.truth, 5.0)])
    ri = np.array([s.ic_t for s in running(right.truth, 5.0)])
    for r in ri:
        k = np.searchsorted(li, r)
        if 0 < k < len(li):
            phase = (r - li[k - 1]) / (li[k] - li[k - 1])
            assert 0.4 < phase < 0.6


def test_thigh_and_shin_of_one_leg_share_a_knee():
    runner = VirtualRunner(RunnerSettings(speed_mps=3.3), seed=14)
    shin = runner.sensor(leg="right", mount="shin", **QUIET)
    thigh = runner.sensor(leg="right", mount="thigh", **QUIET)
    t, _, _ = record(shin, 10.0)
    record(thigh, 10.0)
    assert [s.ic_t for s in shin.truth] == [s.ic_t for s in thigh.truth]
    tq = t[(t > 6) & (t < 9)]
    pose = runner.pose("right", tq)
    R_s, p_s = shin.board_pose(tq)
    R_t, p_t = thigh.board_pose(tq)
    # the shin sensor sits a third of the way up the shank, the thigh sensor half way up the thigh
    shank = pose["knee"] - pose["ankle"]
    thigh_axis = pose["hip"] - pose["knee"]
    assert np.allclose(np.linalg.norm(shank, axis=1), np.linalg.norm(shank, axis=1)[0])
    assert np.allclose(np.linalg.norm(thigh_axis, axis=1), np.linalg.norm(thigh_axis, axis=1)[0])
    assert np.allclose(R_s[:, :, 2], shank / np.linalg.norm(shank, axis=1)[:, None], atol=1e-9)
    assert np.allclose(R_t[:, :, 2], thigh_axis / np.linalg.norm(thigh_axis, axis=1)[:, None], atol=1e-9)
    # during stance the ankle stays (nearly) where it landed: it only rolls over the forefoot
    for s in shin.truth:
        if 6 < s.ic_t and s.to_t < 9:
            stance = runner.pose("right", np.linspace(s.ic_t + 0.04, s.ic_t + 0.4 * s.contact_time_s, 20))["ankle"]
            assert np.ptp(stance[:, 0]) < 0.03 and np.ptp(stance[:, 2]) < 0.01


# --------------------------------------------------------------------------------------------
# wobble, fatigue and the response to cues


def test_wobble_truth_follows_level_and_fatigue():
    runner = VirtualRunner(RunnerSettings(wobble_deg=8.0, wobble_fatigue_deg_per_10min=10.0, wobble_sd_deg=0.5), seed=15)
    stream = runner.sensor(leg="left", mount="shin")
    record(stream, 185.0)
    st = running(stream.truth, after=6.0)
    early = np.mean([s.wobble_deg for s in st if s.ic_t < 30])
    late = np.mean([s.wobble_deg for s in st if s.ic_t > 160])
    assert early == pytest.approx(8.0 + 10.0 * 0.017 * 2, abs=0.8)  # ~20 s of running in
    assert late - early == pytest.approx(10.0 * (170 - 18) / 600, abs=0.8)
    assert all(s.wobble_rate_dps > 0 for s in st)


def _cued(compliance=1.0, kind="wobble", focus=None, cue_at=40.0, seconds=120.0, seed=16):
    settings = RunnerSettings(wobble_deg=8.0, wobble_fatigue_deg_per_10min=0.0, cue_compliance=compliance,
                              focus_response=focus, cue_hold_s=20.0, cue_fade_s=15.0)
    runner = VirtualRunner(settings, seed=seed)
    stream = runner.sensor(leg="left", mount="shin")
    heard = None
    for _ in range(int(seconds * RATE / 12)):
        c = stream.read(12)
        if heard is None and c.t[-1] >= cue_at:
            heard = runner.cue(float(c.t[-1]), kind=kind)
    return stream, heard


def test_a_heeded_cue_lowers_wobble_for_a_while_then_it_drifts_back():
    quiet, _ = _cued(compliance=0.0)
    cued, heard = _cued(compliance=1.0)
    assert heard is True
    q = {round(s.ic_t, 6): s.wobble_deg for s in quiet.truth}
    before = [s for s in cued.truth if s.ic_t < 40.0]
    assert all(q[round(s.ic_t, 6)] == s.wobble_deg for s in before)  # nothing changes before the cue
    first_changed = min(s.ic_t for s in cued.truth if s.ic_t > 40 and abs(q.get(round(s.ic_t, 6), -1) - s.wobble_deg) > 1e-9)
    assert 40.6 <= first_changed < 42.5  # after the reaction time, within about a stride
    during = np.mean([s.wobble_deg for s in cued.truth if 45 < s.ic_t < 60])
    usual = np.mean([s.wobble_deg for s in quiet.truth if 45 < s.ic_t < 60])
    assert during < 0.65 * usual
    later = np.mean([s.wobble_deg for s in cued.truth if s.ic_t > 110])
    assert later == pytest.approx(np.mean([s.wobble_deg for s in quiet.truth if s.ic_t > 110]), abs=0.6)


def test_an_unheeded_cue_changes_nothing():
    quiet, _ = _cued(compliance=0.0, cue_at=1e9)
    ignored, heard = _cued(compliance=0.0)
    assert heard is False
    assert [s.wobble_deg for s in quiet.truth] == [s.wobble_deg for s in ignored.truth]


def test_focus_response_decides_which_instruction_works():
    def drop(focus, kind):
        stream, _ = _cued(compliance=1.0, kind=kind, focus=focus, seconds=65.0)
        st = running(stream.truth)
        return (np.mean([s.wobble_deg for s in st if 30 < s.ic_t < 40])
                - np.mean([s.wobble_deg for s in st if 45 < s.ic_t < 60]))

    assert drop("hip", "hip") > 2.5 * max(drop("hip", "foot"), 0.3)
    assert drop("foot", "foot") > 2.5 * max(drop("foot", "hip"), 0.3)


def test_load_and_cadence_cues():
    def medians(kind):
        stream, _ = _cued(compliance=1.0, kind=kind, seconds=65.0)
        st = running(stream.truth)
        after = [s for s in st if 45 < s.ic_t < 60]
        return np.median([s.pta_axial_g for s in after]), np.median([s.cadence_spm for s in after])

    base_pta, base_cad = medians("wobble")
    load_pta, _ = medians("load")
    _, cad = medians("cadence")
    assert load_pta < 0.9 * base_pta and cad > 1.03 * base_cad


def test_strides_are_planned_only_about_a_stride_ahead():
    # lazily: a contact is planned when the swing before it, or the spline's few knots of look-ahead,
    # is needed; so a cue acts on the strides after it (plus the reaction time), not on a fixed plan
    runner = VirtualRunner(RunnerSettings(speed_mps=3.3), seed=17)
    stream = runner.sensor()
    leads = []
    for _ in range(int(30 * RATE / 12)):
        c = stream.read(12)
        latest = max(ct.start for leg in ("left", "right") for ct in runner.body.contacts[leg])
        if c.t[-1] > 6.0:
            leads.append(latest - c.t[-1])
    stride = np.median([s.stride_time_s for s in running(stream.truth, 6.0)])
    assert np.mean(leads) < 1.6 * stride and max(leads) < 2.5 * stride


# --------------------------------------------------------------------------------------------
# the sensor's imperfections


def test_noise_bias_drift_clipping_and_timing():
    runner = VirtualRunner(RunnerSettings(speed_mps=5.0, landing_g=13.0), seed=18)
    clean = runner.sensor(leg="left", mount="shin", **QUIET)
    noisy = VirtualRunner(RunnerSettings(speed_mps=5.0, landing_g=13.0), seed=18).sensor(
        leg="left", mount="shin", noise=3.0, accel_bias_g=(0.02, -0.01, 0.03), gyro_bias_dps=(1.0, -2.0, 0.5),
        gyro_drift_dps_per_min=0.0)
    _, a0, g0 = record(clean, 2.5)
    _, a1, g1 = record(noisy, 2.5)  # standing
    assert np.std(a1[:, 0] - a0[:, 0]) == pytest.approx(3 * 0.0016, rel=0.15)
    assert np.mean(a1 - a0, axis=0) == pytest.approx([0.02, -0.01, 0.03], abs=0.002)
    assert np.mean(g1 - g0, axis=0) == pytest.approx([1.0, -2.0, 0.5], abs=0.05)

    drifting = VirtualRunner(RunnerSettings(segments=(("stand", 700.0),)), seed=19).sensor(
        noise=0.0, gyro_bias_dps=0.0, gyro_drift_dps_per_min=0.2)
    _, _, g = record(drifting, 600.0)
    assert 0.05 < np.abs(g[-1000:].mean(axis=0)).max() < 3.0  # a random walk of ~0.2 dps/min

    clipped = VirtualRunner(RunnerSettings(speed_mps=5.0, landing_g=13.0), seed=18).sensor(accel_range_g=8, **QUIET)
    _, ac, _ = record(clipped, 20.0)
    assert np.abs(ac).max() <= 8.0 and np.sum(np.isclose(np.abs(ac), 8.0)) > 10
    assert max(s.pta_axial_g for s in clipped.truth) > 8.5  # the truth is what hit the leg

    late = VirtualRunner(RunnerSettings(), seed=20).sensor(jitter_s=3e-4, clock_ppm=500.0)
    t, _, _ = record(late, 10.0)
    nominal = np.arange(len(t)) / RATE
    assert np.std(t - nominal * (1 + 500e-6)) == pytest.approx(3e-4, rel=0.1)
    assert (t[-1] - nominal[-1]) == pytest.approx(nominal[-1] * 500e-6, abs=1e-3)


# --------------------------------------------------------------------------------------------
# bad input: one clear line


@pytest.mark.parametrize("make, words", [
    (lambda: RunnerSettings(speed_mps=9.0), "speed"),
    (lambda: RunnerSettings(cadence_spm=120.0), "cadence"),
    (lambda: RunnerSettings(cue_compliance=1.5), "compliance"),
    (lambda: RunnerSettings(focus_response="knee"), "focus_response"),
    (lambda: RunnerSettings(segments=(("jog", 10.0),)), "segments"),
    (lambda: RunnerSettings(segments=(("run", math.inf), ("stand", 3.0))), "last"),
    (lambda: RunnerSettings(segments=(("run", 10.0), ("stop", 0.5), ("run", 10.0))), "stop"),
    (lambda: VirtualRunner().sensor(leg="middle"), "leg"),
    (lambda: VirtualRunner().sensor(mount="foot"), "mount"),
    (lambda: VirtualRunner().sensor(accel_range_g=7), "range"),
    (lambda: VirtualRunner().sensor(rotation=np.eye(3) * 2), "rotation"),
    (lambda: VirtualRunner().sensor(rotation="sideways"), "rotation"),
    (lambda: VirtualRunner().sensor(rate_hz=-5), "rate"),
    (lambda: VirtualRunner().cue(3.0, kind="sing"), "cue kind"),
    (lambda: VirtualRunner().sensor().read(-1), "read"),
    (lambda: VirtualRunner().cue(float("nan")), "cue time"),
    (lambda: VirtualRunner(seed=-1), "seed"),
    (lambda: VirtualRunner().sensor(seed="x"), "seed"),
    (lambda: VirtualRunner().sensor(site=0.99), "site"),
    (lambda: RunnerSettings(speed_mps=True), "speed"),
])
def test_bad_input_is_a_one_line_user_error(make, words):
    with pytest.raises(UserError) as err:
        make()
    message = str(err.value)
    assert words in message and "\n" not in message


def test_cue_kinds_are_the_coachs():
    assert set(CUE_KINDS) == {"wobble", "hip", "foot", "load", "cadence"}


# --------------------------------------------------------------------------------------------
# against real shank recordings (../shared/data, see its README; cite the sources with the figures)


def _load(loader):
    try:
        return loader()
    except UserError as e:  # the recordings live beside the repository, not in it
        pytest.skip(f"real recordings not available: {e}")


def _log_psd(x, fs, band=(0.8, 40.0)):
    from scipy.signal import welch

    f, p = welch(x - x.mean(), fs=fs, nperseg=512)
    keep = (f >= band[0]) & (f <= band[1])
    return np.log(p[keep])


def test_shank_acceleration_resembles_bach2022():
    """Bach, Dominici, Daffertshofer (2022): shank accelerometer (+-8 g) at 1000/7 Hz on a treadmill
    at 8-8.5 km/h, contacts from the force plate of the same leg."""
    from stridecue.lab.datasets import load_bach2022

    trials = [b for b in _load(load_bach2022) if b.running]
    fs = trials[0].rate_hz
    contact = np.concatenate([b.to_t - b.ic_t for b in trials])
    stride = np.concatenate([np.diff(b.ic_t) for b in trials])
    peaks = np.concatenate([[np.linalg.norm(b.acc, axis=1)[(b.t >= ic) & (b.t <= ic + 0.06)].max() for ic in b.ic_t]
                            for b in trials])
    speed = float(np.mean([b.speed_kmh for b in trials])) / 3.6
    # the virtual runner at the same speed, sampled and clipped as that sensor was
    runner = VirtualRunner(RunnerSettings(speed_mps=speed), seed=21)
    stream = runner.sensor(leg="left", mount="shin", rotation="random", rate_hz=fs, accel_range_g=8)
    t, acc, _ = record(stream, 90.0)
    strides = running(stream.truth, after=8.0)
    a = np.linalg.norm(acc, axis=1)
    v_peaks = [a[(t >= s.ic_t) & (t <= s.ic_t + 0.06)].max() for s in strides]
    v_contact = np.median([s.contact_time_s for s in strides])
    v_stride = np.median([s.stride_time_s for s in strides])
    real_psd = np.mean([_log_psd(np.linalg.norm(b.acc, axis=1), fs) for b in trials if b.duration_s > 8], axis=0)
    shape = np.corrcoef(real_psd, _log_psd(a[t > 8.0], fs))[0, 1]
    print(f"bach2022 at {speed:.2f} m/s: contact {np.median(contact):.3f} s (virtual {v_contact:.3f}), stride "
          f"{np.median(stride):.3f} s ({v_stride:.3f}), peak |a| after contact {np.median(peaks):.1f} g "
          f"({np.median(v_peaks):.1f}), log-spectrum correlation {shape:.2f}")
    assert np.percentile(stride, 5) <= v_stride <= np.percentile(stride, 95)
    assert np.percentile(contact, 5) - 0.02 <= v_contact <= np.percentile(contact, 95) + 0.02
    # the same order of landing shock (these treadmill runners land harder than the default runner)
    assert np.percentile(peaks, 5) * 0.6 <= np.median(v_peaks) <= np.percentile(peaks, 95)
    # the shape of the signal: where its power lies across 0.8-40 Hz
    assert shape > 0.5
    # between landings (toe-off + 50 ms to the next contact - 50 ms) the virtual shank is still
    # busier than these sensors: per-stride mean |a| 2.6 g against 1.55 g (the model before: 3.1 g);
    # and the recordings read ~2.5 g through stance where a rigid shank reads ~1.5 g, so the mean
    # time-normalised |a| profiles do not correlate (r ~ 0; see docs/virtual-runner.md)
    real_swing = np.concatenate([[np.linalg.norm(b.acc, axis=1)[(b.t > to + 0.05) & (b.t < ic - 0.05)].mean()
                                  for to, ic in zip(b.to_t[:-1], b.ic_t[1:])] for b in trials])
    virt_swing = [a[(t > s.to_t + 0.05) & (t < n.ic_t - 0.05)].mean() for s, n in zip(strides[:-1], strides[1:])]
    profile_r = np.corrcoef(_stride_profile(trials, fs), _stride_profile([(t, a, [s.ic_t for s in strides])], fs))[0, 1]
    print(f"  between landings mean |a| {np.median(real_swing):.2f} g (virtual {np.median(virt_swing):.2f}); "
          f"mean time-normalised |a| profile correlation {profile_r:.2f}")
    assert np.median(virt_swing) < 1.85 * np.median(real_swing)


def _stride_profile(trials, fs, points=50):
    """Mean |a| over strides resampled from one initial contact to the next (bach trials, or
    (t, |a|, ICs) tuples)."""
    out = []
    for trial in trials:
        t, a, ics = (trial.t, np.linalg.norm(trial.acc, axis=1), trial.ic_t) if hasattr(trial, "acc") else trial
        for i0, i1 in zip(ics[:-1], ics[1:]):
            if i1 - i0 < 1.2:
                out.append(np.interp(np.linspace(i0, i1, points, endpoint=False), t, a))
    return np.mean(out, axis=0)


def test_shank_angular_rate_and_acceleration_resemble_grouvel2023():
    """Grouvel et al. (2023): shank IMUs (g, deg/s) at 100 Hz, over-ground running at 2.2-3.3 m/s.
    The passes are short and the IMU clock is not aligned with the markers, so the comparison is
    over the distribution of the signals while the leg moves, not stride by stride."""
    from stridecue.lab.datasets import load_grouvel2023

    trials = _load(load_grouvel2023)
    gyr, acc, peaks, speeds = [], [], [], []
    for trial in trials:
        hips = (trial.joint_centres["LHJC"] + trial.joint_centres["RHJC"]) / 2
        speeds.append(np.abs(np.gradient(hips[:, 0], trial.t)).mean() / 1000.0)
        for leg in ("left", "right"):
            imu = trial.imu_for(leg, "shin")
            g = np.linalg.norm(imu.gyr, axis=1)
            moving = g > 30.0
            gyr.append(g[moving])
            acc.append(np.linalg.norm(imu.acc, axis=1)[moving])
            peaks.append(g.max())
    gyr, acc = np.concatenate(gyr), np.concatenate(acc)
    speed = float(np.mean(speeds))
    runner = VirtualRunner(RunnerSettings(speed_mps=speed), seed=22)
    stream = runner.sensor(leg="left", mount="shin", rotation="random", rate_hz=100.0)
    t, v_acc, v_gyr = record(stream, 60.0)
    g = np.linalg.norm(v_gyr, axis=1)[t > 8.0]
    a = np.linalg.norm(v_acc, axis=1)[t > 8.0]
    moving = g > 30.0
    q = (50, 90, 99)
    real_g, virt_g = np.percentile(gyr, q), np.percentile(g[moving], q)
    real_a, virt_a = np.percentile(acc, q), np.percentile(a[moving], q)
    strides = running(stream.truth, after=8.0)
    tt = t[t > 8.0]
    swing = [g[(tt > s.to_t) & (tt < n.ic_t)].max() for s, n in zip(strides[:-1], strides[1:])]
    print(f"grouvel2023 at {speed:.2f} m/s: |gyro| percentiles 50/90/99 {real_g.round()} dps (virtual "
          f"{virt_g.round()}), |acc| {real_a.round(1)} g ({virt_a.round(1)}), peak swing rate per pass "
          f"{np.percentile(peaks, 10):.0f}-{np.percentile(peaks, 90):.0f} dps (virtual per stride {np.median(swing):.0f})")
    assert np.all(np.abs(virt_g / real_g - 1) < 0.3)
    assert abs(virt_a[-1] / real_a[-1] - 1) < 0.3  # the landing peaks
    # the virtual swing is busier than these sensors show (see docs/virtual-runner.md): within x1.8
    assert np.all(virt_a[:2] / real_a[:2] < 1.8) and np.all(virt_a[:2] / real_a[:2] > 0.8)
    assert np.percentile(peaks, 10) * 0.8 <= np.median(swing) <= np.percentile(peaks, 90)


def test_thigh_signals_resemble_grouvel2023():
    """The thigh IMUs of grouvel2023 where present (not every pass has both), as above."""
    from stridecue.lab.datasets import load_grouvel2023

    trials = _load(load_grouvel2023)
    gyr, acc, speeds = [], [], []
    for trial in trials:
        hips = (trial.joint_centres["LHJC"] + trial.joint_centres["RHJC"]) / 2
        for leg in ("left", "right"):
            try:
                imu = trial.imu_for(leg, "thigh")
            except KeyError:
                continue
            speeds.append(np.abs(np.gradient(hips[:, 0], trial.t)).mean() / 1000.0)
            g = np.linalg.norm(imu.gyr, axis=1)
            gyr.append(g[g > 30.0])
            acc.append(np.linalg.norm(imu.acc, axis=1)[g > 30.0])
    assert len(gyr) >= 10
    gyr, acc = np.concatenate(gyr), np.concatenate(acc)
    stream = VirtualRunner(RunnerSettings(speed_mps=float(np.mean(speeds))), seed=23).sensor(
        leg="right", mount="thigh", rotation="random", rate_hz=100.0)
    t, v_acc, v_gyr = record(stream, 60.0)
    g = np.linalg.norm(v_gyr, axis=1)[t > 8.0]
    a = np.linalg.norm(v_acc, axis=1)[t > 8.0]
    q = (50, 90, 99)
    real_g, virt_g = np.percentile(gyr, q), np.percentile(g[g > 30.0], q)
    real_a, virt_a = np.percentile(acc, q), np.percentile(a[g > 30.0], q)
    print(f"grouvel2023 thighs: |gyro| 50/90/99 {real_g.round()} dps (virtual {virt_g.round()}), "
          f"|acc| {real_a.round(1)} g ({virt_a.round(1)})")
    assert np.all(np.abs(virt_g / real_g - 1) < 0.3)
    assert abs(virt_a[0] / real_a[0] - 1) < 0.3
    # the real thighs' landing peaks are still a little higher than the model's (the thigh's soft
    # tissue swings more than the analysis is tested with): within x1.4 (was x1.7: 4.1 g vs 5.8)
    assert 1 / 1.4 < virt_a[-1] / real_a[-1] < 1.3


# --------------------------------------------------------------------------------------------
# shape over the stride against the recordings (time-normalised or around initial contact), and
# no artefacts: no steps in acceleration, no kinks in angular rate, no swings before contact


def _imu_cycles(gyr_norm, acc_norm, points=50):
    """Strides of an IMU record found from the IMU alone: the period of |gyro| (autocorrelation),
    its swing peaks, and after each the largest |acc| within 0.4 of a period (the landing: initial
    contact as an IMU sees it).  Returns |gyro| and |acc| resampled from one landing to the next
    (`points` per stride), and the period in samples.  The same code reads the recordings and the
    virtual runner."""
    from scipy.signal import find_peaks

    g, a = np.asarray(gyr_norm, float), np.asarray(acc_norm, float)
    moving = np.flatnonzero(g > 30.0)
    if len(moving) < 20:
        return [], [], None
    x = g[moving[0]:moving[-1]] - g[moving[0]:moving[-1]].mean()
    ac = np.correlate(x, x, "full")[len(x) - 1:]
    ac = ac / ac[0]
    period = 6 + int(np.argmax(ac[6:min(60, len(ac) // 2)]))
    if ac[period] < 0.4:
        return [], [], None
    peaks, _ = find_peaks(g, distance=max(int(0.6 * period), 1), height=0.5 * g.max())
    landings = [p + int(np.argmax(a[p:p + max(round(0.4 * period), 2)])) for p in peaks if p + 2 <= len(a)]
    gs, accs = [], []
    for l0, l1 in zip(landings[:-1], landings[1:]):
        if 0.8 * period <= l1 - l0 <= 1.25 * period:
            s = np.linspace(l0, l1, points, endpoint=False)
            gs.append(np.interp(s, np.arange(len(g)), g))
            accs.append(np.interp(s, np.arange(len(a)), a))
    return gs, accs, period


def test_shank_stride_profiles_resemble_grouvel2023():
    """Grouvel et al. (2023), shank IMUs: their columns are not on the capture's clock (each IMU
    record runs 3.6-7 times too fast), so the strides are found from each IMU's own gyro and
    compared time-normalised, aligned at the landing; the virtual runner is read at the same
    number of samples per stride and goes through the same code."""
    from stridecue.lab.datasets import load_grouvel2023

    trials = _load(load_grouvel2023)
    real_g, real_a, periods, speeds = [], [], [], []
    for trial in trials:
        hips = (trial.joint_centres["LHJC"] + trial.joint_centres["RHJC"]) / 2
        for leg in ("left", "right"):
            imu = trial.imu_for(leg, "shin")
            gs, accs, period = _imu_cycles(np.linalg.norm(imu.gyr, axis=1), np.linalg.norm(imu.acc, axis=1))
            if gs:
                real_g += gs
                real_a += accs
                periods.append(period)
                speeds.append(np.abs(np.gradient(hips[:, 0], trial.t)).mean() / 1000.0)
    assert len(real_g) >= 40
    runner = VirtualRunner(RunnerSettings(speed_mps=float(np.mean(speeds))), seed=22)
    stream = runner.sensor(leg="left", mount="shin", rotation="random", rate_hz=100.0)
    record(stream, 8.0)
    stride_s = np.median([s.stride_time_s for s in running(stream.truth, 5.0)])
    stream.rate = float(np.median(periods)) / stride_s  # as many samples per stride as the recordings
    _, acc, gyr = record(stream, 50.0)
    virt_g, virt_a, _ = _imu_cycles(np.linalg.norm(gyr, axis=1), np.linalg.norm(acc, axis=1))
    r_g = np.corrcoef(np.mean(real_g, axis=0), np.mean(virt_g, axis=0))[0, 1]
    r_a = np.corrcoef(np.mean(real_a, axis=0), np.mean(virt_a, axis=0))[0, 1]
    print(f"grouvel2023 shank IMUs, {len(real_g)} strides at {np.mean(speeds):.2f} m/s ({np.median(periods):.0f} samples "
          f"a stride): "
          f"mean stride profile correlation |gyro| {r_g:.2f}, |acc| {r_a:.2f}")
    # measured 0.52 and 0.48 (the model before this comparison existed: 0.29 and 0.29)
    assert r_g >= 0.45 and r_a >= 0.4


def _mocap_shank_rate(t, ankle, knee, ics, window, rate_hz):
    """Sagittal angular rate (deg/s) of the ankle->knee line, low-passed at 12 Hz, around each
    initial contact (times `window` relative to it)."""
    from scipy.signal import butter, filtfilt

    b, a = butter(2, 12.0 / (rate_hz / 2))
    L = filtfilt(b, a, knee - ankle, axis=0)
    rate = np.gradient(np.degrees(np.arctan2(L[:, 0], L[:, 2])), t)
    return [np.interp(ic + window, t, rate) for ic in ics if ic + window[0] >= t[0] + 0.05 and ic + window[-1] <= t[-1] - 0.05]


def test_shank_angular_rate_around_contact_follows_motion_capture():
    """Grouvel et al. (2023): the ankle and knee joint centres from motion capture (on its own,
    correct clock) give the shank's sagittal angular rate through late swing, stance and early
    swing; the virtual runner's shank, measured the same way on its joint centres, at the same
    speed, must have the same course: when the forward swing peaks and ends, how fast the shank
    turns over the foot, when the backward swing of early swing starts."""
    from stridecue.lab.datasets import load_grouvel2023

    trials = _load(load_grouvel2023)
    window = np.arange(-0.30, 0.46, 0.04)
    real, speeds = [], []
    for trial in trials:
        hips = (trial.joint_centres["LHJC"] + trial.joint_centres["RHJC"]) / 2
        speeds.append(np.abs(np.gradient(hips[:, 0], trial.t)).mean() / 1000.0)
        forward = np.array([trial.direction, trial.direction, 1.0]) / 1000.0
        for leg, code in (("left", "L"), ("right", "R")):
            real += _mocap_shank_rate(trial.t, trial.joint_centres[code + "AJC"] * forward,
                                      trial.joint_centres[code + "KJC"] * forward, trial.legs[leg].ic_t, window, trial.rate_hz)
    assert len(real) >= 15
    runner = VirtualRunner(RunnerSettings(speed_mps=float(np.mean(speeds))), seed=22)
    stream = runner.sensor(**QUIET)
    record(stream, 30.0)
    t = np.arange(8.0, 29.0, 0.01)
    pose = runner.pose("left", t)
    virt = _mocap_shank_rate(t, pose["ankle"], pose["knee"], [s.ic_t for s in running(stream.truth, 8.0)], window, 100.0)
    real_mean, virt_mean = np.mean(real, axis=0), np.mean(virt, axis=0)
    r = np.corrcoef(real_mean, virt_mean)[0, 1]
    print(f"grouvel2023 motion capture, {len(real)} contacts: shank sagittal rate around contact, correlation {r:.2f}; "
          f"forward-swing peak {real_mean.min():.0f} deg/s at {window[np.argmin(real_mean)]:+.2f} s "
          f"(virtual {virt_mean.min():.0f} at {window[np.argmin(virt_mean)]:+.2f} s)")
    assert r >= 0.85  # measured 0.93 (the model before: 0.75, its forward swing 120 ms early)
    assert abs(window[np.argmin(virt_mean)] - window[np.argmin(real_mean)]) <= 0.1  # measured 0.08 s early
    assert 0.7 <= virt_mean.min() / real_mean.min() <= 1.4


@pytest.mark.parametrize("speed", [2.3, 4.5, 6.0])
def test_acceleration_has_no_steps_and_angular_rate_no_kinks(speed):
    # a physically consistent model moves smoothly: sampled fast (5 kHz), a smooth signal changes
    # little from one sample to the next, a step does not shrink.  Outside the landing's transient
    # the acceleration changes by < 0.15 g a sample (a position or velocity that jumped, or pieces
    # of motion joined badly, gave 0.2-0.7 g) and the angular rate has no corner (second difference
    # < 0.15 deg/s); inside it, the change is bounded by the landing's own size
    for mount in ("shin", "thigh"):
        stream = VirtualRunner(RunnerSettings(speed_mps=speed), seed=30).sensor(mount=mount, rate_hz=5000.0, **QUIET)
        t, acc, gyr = record(stream, 14.0)
        landing = np.zeros(len(t), bool)
        for s in stream.truth:
            landing |= (t >= s.ic_t) & (t <= s.ic_t + 0.25)
        step = np.linalg.norm(np.diff(acc, axis=0), axis=1)
        corner = np.linalg.norm(np.diff(gyr, 2, axis=0), axis=1)
        after = t[1:] > 6.0
        calm = after & ~landing[1:]
        assert step[calm].max() < 0.15, mount
        assert corner[calm[1:]].max() < 0.15, mount
        pta = max(s.pta_axial_g for s in stream.truth)
        assert step[after & landing[1:]].max() < 0.06 * pta, mount


def test_no_acceleration_swings_before_contact():
    """The last 60 ms before contact (the leg is extended and the foot comes down): the recordings
    read little more than gravity there (bach2022 at 2.34 m/s: median peak |a| 1.7 g); the model
    once swung by +-8 g at speed as its swing and landing were pieced together."""
    for speed, bound in ((2.34, 2.5), (4.5, 5.0), (6.0, 6.5)):
        stream = VirtualRunner(RunnerSettings(speed_mps=speed), seed=21).sensor(rotation="random")
        t, acc, _ = record(stream, 30.0)
        a = np.linalg.norm(acc, axis=1)
        before = [a[(t > s.ic_t - 0.06) & (t < s.ic_t - 0.007)].max() for s in running(stream.truth, 8.0)]
        assert np.median(before) < bound, speed


def test_memory_stays_bounded_and_forgetting_changes_nothing():
    runner = VirtualRunner(RunnerSettings(speed_mps=3.3), seed=31)
    runner.FORGET_AT_KNOTS = 1500  # forget early and often here (default: ~2.5 min of running)
    shin, thigh = runner.sensor(rotation="random"), runner.sensor(mount="thigh")
    keeping = VirtualRunner(RunnerSettings(speed_mps=3.3), seed=31)
    keeping.FORGET_AT_KNOTS = 10**9
    shin_all = keeping.sensor(rotation="random")
    kept = []
    for _ in range(8):  # 4 minutes, in 30 s reads, the thigh read in smaller pieces
        a = shin.read(int(30 * RATE))
        for _ in range(10):
            thigh.read(int(3 * RATE))
        b = shin_all.read(int(30 * RATE))
        assert np.array_equal(a.acc, b.acc) and np.array_equal(a.gyr, b.gyr)
        kept.append(max(track.n for track in runner.body.knots.values()))
    assert runner.body.knots["left"].forgotten > 3000
    assert max(kept) < 1500 + 2 * 40 * 30  # the threshold plus what one read adds (~40 knots a second)
    assert [s.ic_t for s in shin.truth] == [s.ic_t for s in shin_all.truth] == [s.ic_t for s in thigh.truth]
    assert [s.pta_axial_g for s in shin.truth] == [s.pta_axial_g for s in shin_all.truth]
