"""Stride analysis: contract, one algorithm for both drivers, quality flags, bad input, alignment,
metric definitions, two sensors.

The data come from the virtual runner (stridecue.sim).  Accuracy against its truth is in
test_analysis_virtual.py; against the real recordings in test_analysis_real.py.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, replace
from functools import lru_cache

import numpy as np
import pytest

from stridecue.analysis.alignment import medial_sign, knee_end_sign
from stridecue.analysis.combine import asymmetry, knee_frontal_angle, symmetry_index
from stridecue.analysis.metrics import StrideMetrics, StrideWindow, cumulative_rotation, rotate, wobble_variability
from stridecue.analysis.run import analyse_block, analyse_run, block_from_arrays
from stridecue.analysis.streaming import StreamingStrideAnalyzer
from stridecue.analysis.stride import Stride
from stridecue.errors import UserError
from stridecue.link.samples import SampleBlock
from stridecue.sim import RunnerSettings, VirtualRunner
from stride_records import make_stride, same_strides



@lru_cache(maxsize=16)
def virtual(speed=3.3, mount="shin", leg="left", seed=1, seconds=25.0, segments=None, accel_range_g=None, rotation_seed=None):
    """A SampleBlock of the virtual runner's sensor (random board rotation) and the sensor stream."""
    settings = RunnerSettings(speed_mps=speed, **({"segments": segments} if segments else {}))
    stream = VirtualRunner(settings, seed=seed).sensor(leg=leg, mount=mount, rotation="random", accel_range_g=accel_range_g)
    chunk = stream.read(int(seconds * stream.rate))
    return block_from_arrays(stream.rate, chunk.acc, chunk.gyr, accel_g=accel_range_g or 32), stream


@pytest.fixture(scope="module")
def shin_block():
    return virtual()[0]


def chunks(block: SampleBlock, n: int):
    for i in range(0, len(block), n):
        yield SampleBlock(block.index[i : i + n], block.raw[i : i + n], block.rate, block.accel_g, block.gyro_code,
                          sensor=block.sensor)


def stream(block: SampleBlock, n: int, **kw) -> list[Stride]:
    a = StreamingStrideAnalyzer(mount=kw.pop("mount", "shin"), leg=kw.pop("leg", "left"), rate_hz=block.rate, **kw)
    out = []
    for c in chunks(block, n):
        out.extend(a.push(c))
    out.extend(a.finish())
    return out


# -- contract -------------------------------------------------------------------------------


def test_stride_records_follow_the_contract(shin_block):
    strides = analyse_block(shin_block, "shin", "left", sensor=3)
    assert len(strides) > 10
    json.dumps([asdict(s) for s in strides], allow_nan=False)  # JSON-able, no NaN
    prev = None
    for s in strides:
        assert type(s) is Stride
        assert s.sensor == 3 and s.leg == "left" and s.mount == "shin"
        assert s.kind in ("run", "walk")
        assert s.ic_t < s.to_t <= s.known_t
        assert s.contact_time_s == pytest.approx(s.to_t - s.ic_t)
        if s.wobble_note is None:
            assert s.wobble_deg >= 0 and s.wobble_rate_dps >= 0
        else:  # withheld, with its reason
            assert s.wobble_deg is None and s.wobble_rate_dps is None
        assert 0 <= s.alignment_confidence <= 1
        assert isinstance(s.clipped, bool) and isinstance(s.gap, bool) and s.accel_only is False
        if s.stride_time_s is not None:
            assert s.stride_time_s == pytest.approx(s.ic_t - prev.ic_t)
            assert s.cadence_spm == pytest.approx(120.0 / s.stride_time_s)
        prev = s


def test_streaming_and_offline_give_the_same_strides_whatever_the_chunk_size(shin_block):
    offline = analyse_block(shin_block, "shin", "left")
    for n in (1, 12, 97, 5000):
        same_strides(offline, stream(shin_block, n))


def test_accelerometer_only_streaming_matches_offline():
    block, _ = virtual(seconds=15.0, seed=7)
    accel = SampleBlock(block.index, block.raw.copy(), block.rate, block.accel_g, 0)
    offline = analyse_block(accel, "shin", "left")
    assert len(offline) > 10 and all(s.accel_only and s.wobble_deg is None for s in offline)
    same_strides(offline, stream(accel, 12))


def test_a_recording_that_starts_at_a_contact_finds_that_contact():
    block, sensor = virtual(seconds=15.0, seed=7)
    accel = SampleBlock(block.index, block.raw.copy(), block.rate, block.accel_g, 0)
    truth = [t for t in sensor.truth if t.ic_t > 6.0]
    first = int(round((truth[0].ic_t - 0.010) * block.rate))  # the recording begins 10 ms before a contact
    cut = SampleBlock(accel.index[first:], accel.raw[first:], accel.rate, accel.accel_g, 0)
    offline = analyse_block(cut, "shin", "left")
    assert abs(offline[0].ic_t - truth[0].ic_t) < 0.030
    assert abs(offline[1].ic_t - truth[1].ic_t) < 0.030  # and the next one too: nothing swallowed
    for n in (1, 12):
        same_strides(offline, stream(cut, n))


def test_thigh_streaming_matches_offline():
    block, _ = virtual(mount="thigh", seconds=15.0, seed=3)
    offline = analyse_block(block, "thigh", "left")
    assert len(offline) > 10
    same_strides(offline, stream(block, 12, mount="thigh"))


def test_known_time_is_at_most_60_ms_after_toe_off_once_aligned(shin_block):
    strides = stream(shin_block, 12)
    late = [s for s in strides if s.known_t - s.to_t > 0.060 + 1e-9]
    # late: the strides from before the frame was known (the first seconds of movement), and a
    # stride whose toe-off shows no clear fall, taken as the steepest change before the next swing
    # once that swing is seen (docs/metrics.md); the default body has one such in 25 s
    aligned_late = [s for s in late if s.ic_t >= 3.0 + 3.0]
    assert len(aligned_late) <= 0.05 * len(strides)
    assert all(s.known_t - s.to_t < 0.35 for s in aligned_late)  # by the next swing
    assert len(late) < len(strides) / 4


def test_push_returns_strides_as_soon_as_they_are_known(shin_block):
    a = StreamingStrideAnalyzer("shin", "left", shin_block.rate)
    for c in chunks(shin_block, 12):
        for s in a.push(c):
            assert s.known_t <= c.index[-1] / c.rate + 1e-9


@pytest.mark.parametrize("n", [12, 416, 5000])
def test_every_known_stride_is_returned_by_the_push_that_completes_it(shin_block, n):
    """However large the pushes (a backlog after a reconnect, a replay), nothing is held back for a
    later push: every stride decidable from the samples so far has been returned."""
    offline = analyse_block(shin_block, "shin", "left")
    a = StreamingStrideAnalyzer("shin", "left", shin_block.rate)
    got = []
    for c in chunks(shin_block, n):
        got += [s.ic_t for s in a.push(c)]
        now = c.index[-1] / c.rate
        due = [s.ic_t for s in offline if s.known_t <= now - 0.01]
        assert got[: len(due)] == pytest.approx(due)


NO_CLEAR_TOE_OFF = pytest.mark.xfail(strict=True, reason=(
    "at 6 m/s the default body's shank falls 74 dps into early swing where the toe-off rule asks for "
    "80: the fallback toe-off waits for the next swing (200-270 ms); the rule is not re-tuned on it"))


@pytest.mark.parametrize("speed,mount", [pytest.param(6.0, "shin", marks=NO_CLEAR_TOE_OFF), (6.0, "thigh"), (2.0, "shin")])
def test_live_delay_is_within_60_ms_at_any_pace(speed, mount):
    """Short contacts of fast running too: every step of the decision (swing peak, landing, impact,
    toe-off) is done by TO + 60 ms, and the live run has the stride then (known_t is honest)."""
    block, _ = virtual(speed=speed, mount=mount, seconds=16.0, seed=11)
    a = StreamingStrideAnalyzer(mount, "left", block.rate)
    first_release, lags = None, []
    for c in chunks(block, 12):
        now = c.index[-1] / c.rate
        for s in a.push(c):
            first_release = first_release if first_release is not None else s.known_t
            assert s.known_t <= now + 1e-9 and now - s.known_t < 12 / c.rate
            if s.known_t != first_release:
                lags.append(s.known_t - s.to_t)
    assert len(lags) > 10 and max(lags) <= 0.060


# -- standing, walking, gaps, clipping -----------------------------------------------------


def test_standing_gives_no_strides():
    block, _ = virtual(seconds=20.0, segments=(("stand", math.inf),))
    assert analyse_block(block, "shin", "left") == []


def test_walking_strides_are_kind_walk_and_stopping_ends_strides():
    segments = (("stand", 3.0), ("walk", 15.0), ("run", 12.0), ("stop", 6.0), ("run", math.inf))
    block, sensor = virtual(seconds=45.0, segments=segments, seed=4)
    strides = analyse_block(block, "shin", "left")
    truth = sensor.truth
    walk_truth = [t for t in truth if t.kind == "walk"]
    walk_end = max(t.to_t for t in walk_truth)
    walking = [s for s in strides if s.ic_t < walk_end]
    assert len(walking) >= 0.9 * len(walk_truth)
    assert sum(s.kind == "walk" for s in walking) >= 0.9 * len(walking)
    running = [s for s in strides if walk_end + 1.5 < s.ic_t < 30.0]
    assert running and all(s.kind == "run" for s in running)
    # the stop (30-36 s): no strides, and the first stride after it has no stride time
    assert not any(30.5 < s.ic_t < 35.5 for s in strides)
    after = [s for s in strides if s.ic_t > 35.5]
    assert after and after[0].stride_time_s is None


@pytest.mark.parametrize("speed,seed", [(3.0, 900), (2.5, 902)])
def test_the_first_walking_steps_after_running_are_not_running(speed, seed):
    """Slowing from a run into a walk: the first walking stance has a running-like stride time and,
    on the shank, a mid-stance dip that passes for a toe-off; the shank has turned too little by
    then for a running stance."""
    segments = (("stand", 3.0), ("run", 15.0), ("walk", 10.0))
    block, sensor = virtual(speed=speed, seconds=28.0, segments=segments, seed=seed)
    strides = analyse_block(block, "shin", "left")
    walks = [t for t in sensor.truth if t.kind == "walk"]
    runs = [t for t in sensor.truth if t.kind == "run"]
    assert len(walks) >= 5
    for s in strides:
        nearest = min(walks + runs, key=lambda t: abs(t.ic_t - s.ic_t))
        if nearest.kind == "walk" and abs(nearest.ic_t - s.ic_t) < 0.1:
            assert s.kind == "walk", s.ic_t
    steady = [s for s in strides if 6.0 < s.ic_t < 16.0]
    assert steady and all(s.kind == "run" for s in steady)


def test_a_short_gap_is_bridged_and_flagged(shin_block):
    keep = np.ones(len(shin_block), bool)
    cut = int(10.3 * shin_block.rate)
    keep[cut : cut + 10] = False
    holed = SampleBlock(shin_block.index[keep], shin_block.raw[keep], shin_block.rate, shin_block.accel_g, shin_block.gyro_code)
    a = StreamingStrideAnalyzer("shin", "left", holed.rate)
    out = []
    for c in chunks(holed, 12):
        if c.index[0] == shin_block.index[cut + 10]:
            a.gap(int(shin_block.index[cut]), 10)
        out.extend(a.push(c))
    out.extend(a.finish())
    full = analyse_block(shin_block, "shin", "left")
    assert abs(len(out) - len(full)) <= 1
    flagged = [s for s in out if s.gap]
    assert 1 <= len(flagged) <= 3
    assert all(abs(s.ic_t - 10.3) < 1.6 for s in flagged)
    assert sum(1 for s in out if not s.gap) >= len(full) - 4


def test_a_long_gap_breaks_the_stride_chain(shin_block):
    keep = np.ones(len(shin_block), bool)
    cut = int(10.0 * shin_block.rate)
    keep[cut : cut + int(3 * shin_block.rate)] = False
    holed = SampleBlock(shin_block.index[keep], shin_block.raw[keep], shin_block.rate, shin_block.accel_g, shin_block.gyro_code)
    strides = analyse_block(holed, "shin", "left")
    assert not any(10.0 - 0.3 < s.ic_t < 13.0 for s in strides)
    after = [s for s in strides if s.ic_t >= 13.0]
    assert after and after[0].stride_time_s is None  # no stride time across the gap
    assert any(s.ic_t < 10.0 for s in strides)


def test_clipping_is_flagged_and_pta_is_a_lower_bound():
    full, _ = virtual(speed=5.5, seconds=15.0, seed=8)
    clipped_block, _ = virtual(speed=5.5, seconds=15.0, seed=8, accel_range_g=8)
    full_s = analyse_block(full, "shin", "left")
    clipped = analyse_block(clipped_block, "shin", "left")
    assert not any(s.clipped for s in full_s)
    assert sum(s.clipped for s in clipped) >= 0.8 * len(clipped)
    by_ic = {round(s.ic_t, 2): s for s in full_s}
    for s in clipped:
        f = by_ic.get(round(s.ic_t, 2))
        if f is not None and s.clipped:  # what clipped is a lower bound of the true peak
            assert s.pta_resultant_g <= f.pta_resultant_g + 0.05


def test_duplicate_and_late_samples_are_ignored(shin_block):
    a = StreamingStrideAnalyzer("shin", "left", shin_block.rate)
    out = []
    parts = list(chunks(shin_block, 50))
    for i, c in enumerate(parts):
        out.extend(a.push(c))
        if i % 7 == 3:
            out.extend(a.push(parts[i - 1]))  # a resent copy of samples already seen
    out.extend(a.finish())
    same_strides(analyse_block(shin_block, "shin", "left"), out)


# -- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize("kw", [dict(mount="knee"), dict(leg="middle"), dict(rate_hz=0.0), dict(rate_hz=float("nan"))])
def test_bad_settings_are_one_line_user_errors(kw):
    args = dict(mount="shin", leg="left", rate_hz=416.0)
    args.update(kw)
    with pytest.raises(UserError) as e:
        StreamingStrideAnalyzer(**args)
    assert "\n" not in str(e.value)


def test_empty_and_tiny_input_give_no_strides():
    a = StreamingStrideAnalyzer("shin", "left", 416.0)
    empty = SampleBlock(np.zeros(0, np.int64), np.zeros((0, 6), np.int16), 416.0, 16, 16)
    assert a.push(empty) == [] and a.finish() == []
    tiny = block_from_arrays(416.0, np.tile([0, 0, 1.0], (5, 1)), np.zeros((5, 3)))
    assert analyse_block(tiny, "shin", "left") == []


# -- alignment -------------------------------------------------------------------------------


@pytest.mark.parametrize("mount,seed", [("shin", 11), ("shin", 12), ("thigh", 13), ("thigh", 14)])
def test_alignment_recovers_the_segment_frame_for_any_orientation(mount, seed):
    block, sensor = virtual(mount=mount, seed=seed, seconds=20.0)
    a = StreamingStrideAnalyzer(mount, "left", block.rate, deferred=True)
    a.push(block)
    a.finish()
    R, M = a.alignment_.rotation, sensor.rotation  # estimated and true board -> segment
    angle = [np.degrees(np.arccos(np.clip(R[i] @ M[i], -1, 1))) for i in range(3)]
    assert angle[1] < 2.0  # the medio-lateral axis, from the swing
    assert angle[2] < 12.0  # the long axis: gravity while standing, plus a standing-posture prior
    assert a.alignment_.method.startswith("standstill") and a.alignment_.confidence > 0.7


def test_alignment_without_a_standstill_is_less_confident():
    block, sensor = virtual(seconds=20.0, seed=21, segments=(("run", math.inf),))
    a = StreamingStrideAnalyzer("shin", "left", block.rate, deferred=True)
    strides = a.push(block) + a.finish()
    assert len(strides) > 20
    assert a.alignment_.method == "contact+swing"
    assert 0.3 < a.alignment_.confidence < 0.8
    R, M = a.alignment_.rotation, sensor.rotation
    assert np.degrees(np.arccos(np.clip(R[1] @ M[1], -1, 1))) < 2.0
    assert np.degrees(np.arccos(np.clip(R[2] @ M[2], -1, 1))) < 8.0


def test_sign_convention_helpers():
    assert medial_sign("right") == 1.0 and medial_sign("left") == -1.0
    assert knee_end_sign("shin") == 1.0 and knee_end_sign("thigh") == -1.0
    with pytest.raises(ValueError):
        medial_sign("both")


# -- metrics ---------------------------------------------------------------------------------


def test_quaternion_integration_matches_a_constant_rotation():
    rate = 416.0
    w = np.array([0.3, -1.2, 2.0])  # rad/s
    n = 200
    gyr = np.tile(w, (1, n, 1))
    for batch in (gyr, np.repeat(gyr, 20, axis=0)):  # the scan (few) and the loop (many) agree
        q = cumulative_rotation(batch, 1.0 / rate)
        angle = np.linalg.norm(w) * (n - 1) / rate
        axis = w / np.linalg.norm(w)
        v = np.array([1.0, 0.0, 0.0])
        expect = v * np.cos(angle) + np.cross(axis, v) * np.sin(angle) + axis * (axis @ v) * (1 - np.cos(angle))
        assert np.allclose(rotate(q[0, -1], v), expect, atol=1e-9)


def test_metrics_follow_the_definitions_on_a_constructed_stance():
    rate = 400.0
    n = 101  # IC at 0, TO at 100 (0.25 s)
    t = np.arange(n) / rate
    # frontal rotation about the anterior axis only, for a right-leg shank: medial = +y, and a
    # rotation about +x tilts the top (z) toward -y, so valgus is a negative rate about x.
    theta = np.radians(5.0) * np.sin(np.pi * t / t[-1]) ** 2  # peak 5 deg at mid-stance
    dtheta = np.gradient(theta, t)
    gyr = np.zeros((n, 3))
    gyr[:, 0] = -np.degrees(dtheta)
    acc = np.zeros((n, 3))
    acc[:, 2] = 1.0 + 4.0 * np.exp(-((t - 0.02) / 0.006) ** 2)
    # half a second of standing still before IC: the vertical at IC needs samples before it
    still = 200
    gyr = np.vstack([np.zeros((still, 3)), gyr])
    acc = np.vstack([np.tile([0.0, 0.0, 1.0], (still, 1)), acc])
    clipped = np.zeros(still + n, bool)
    w = StrideWindow(acc=acc, gyr=gyr, clipped=clipped, ic=still, to=still + n - 1, cycle_start=0)
    m = StrideMetrics("shin", "right", rate).compute([w])[0]
    assert m["wobble_deg"] == pytest.approx(5.0, abs=0.02)
    assert m["wobble_rate_dps"] == pytest.approx(np.degrees(dtheta.max()), rel=0.02)
    assert m["pta_axial_g"] == pytest.approx(5.0, abs=0.01)
    assert m["loading_rate_gps"] == pytest.approx((acc[still + 8, 2] - acc[still, 2]) / (8 / rate), rel=1e-6)
    assert m["contact_time_s"] == pytest.approx(0.25)
    # the same motion on the left leg is varus: no wobble
    assert StrideMetrics("shin", "left", rate).compute([w])[0]["wobble_deg"] == pytest.approx(0.0, abs=0.02)
    # on the thigh the knee is the distal end: the sign flips too
    assert StrideMetrics("thigh", "left", rate).compute([w])[0]["wobble_deg"] == pytest.approx(5.0, abs=0.02)


def test_wobble_variability():
    v = wobble_variability([4.0, 5.0, 6.0, None, 5.0])
    assert v["strides"] == 4 and v["sd_deg"] == pytest.approx(np.std([4, 5, 6, 5], ddof=1))
    assert wobble_variability([3.0])["sd_deg"] is None


# -- two sensors --------------------------------------------------------------------------------


def test_symmetry_index():
    assert symmetry_index(6.0, 4.0) == pytest.approx(40.0)
    assert symmetry_index(None, 4.0) is None and symmetry_index(0.0, 0.0) is None


def test_asymmetry_compares_like_with_like():
    def s(leg, mount, w):
        return make_stride(leg=leg, mount=mount, wobble_deg=w, pta_axial_g=5.0)
    strides = [s("left", "shin", 6.0)] * 6 + [s("right", "shin", 4.0)] * 6 + [s("right", "thigh", 1.0)] * 6
    out = asymmetry(strides, metrics=("wobble_deg", "pta_axial_g"))
    assert out["mount"] == "shin"
    assert out["metrics"]["wobble_deg"]["symmetry_index_pct"] == pytest.approx(40.0)
    assert out["metrics"]["pta_axial_g"]["symmetry_index_pct"] == pytest.approx(0.0)


def test_knee_angle_is_the_sum_of_the_segment_angles():
    shank = ([make_stride(ic_t=1.0, wobble_deg=3.0, alignment_confidence=0.9)], [np.array([1.0, 2.0, 4.0, 3.0])])
    thigh = ([make_stride(ic_t=1.01, mount="thigh", wobble_deg=2.0, alignment_confidence=0.8)],
             [np.array([0.5, 1.5, 2.5, 2.0, 1.0])])
    k = knee_frontal_angle(thigh, shank, 416.0)
    assert len(k) == 1
    assert k[0].knee_angle_ic_deg == pytest.approx(1.5)
    assert k[0].knee_excursion_deg == pytest.approx(6.5 - 1.5)
    assert k[0].alignment_confidence == pytest.approx(0.8)
    thigh[0][0] = replace(thigh[0][0], ic_t=1.2)  # not the same stance
    assert knee_frontal_angle(thigh, shank, 416.0) == []


# -- run files --------------------------------------------------------------------------------


def test_analyse_run_reads_every_sensor_with_its_mount_and_leg(tmp_path, shin_block):
    from stridecue.record.runfile import RunWriter
    from stridecue.record.runreader import RunReader

    block, _ = virtual(leg="right", seed=9, seconds=20.0)
    right = SampleBlock(block.index, block.raw, block.rate, block.accel_g, block.gyro_code, sensor=1)
    meta = {"sensors": [{"slot": 0, "mount": "shin", "leg": "left"}, {"slot": 1, "mount": "shin", "leg": "right"}]}
    path = tmp_path / "run.scrun"
    with RunWriter(path, meta) as w:
        for c in chunks(shin_block, 400):
            w.write_samples(c)
        for c in chunks(right, 400):
            w.write_samples(c)
        w.close(summary={})
    strides = analyse_run(RunReader(path))
    assert {s.sensor for s in strides} == {0, 1}
    assert all(s.leg == ("left" if s.sensor == 0 else "right") for s in strides)
    assert [s.ic_t for s in strides] == sorted(s.ic_t for s in strides)
    same_strides([s for s in strides if s.sensor == 0], analyse_block(shin_block, "shin", "left"))
