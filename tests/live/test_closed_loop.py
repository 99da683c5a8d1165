"""Closed loop: the coach's cues, heard by the virtual runner, cut the time spent above threshold.

The same seed is run twice through the real pipeline (RunPipeline with the streaming stride
analyser and the Coach): once with the runner hearing the cues (session.VirtualRunnerEar), once
not.  Time above threshold is measured on the runner's own truth (its stance-by-stance wobble),
against the threshold the coach formed, from the moment it was formed.
"""


import numpy as np
import pytest

import stridewire


RATE = 416.0
ACCEL_G = 32
GYRO_CODE = 16  # 2000 dps


def to_block(chunk, first: int, rate: float):
    """The runner's samples as the sensor would send them (int16 counts at +-32 g / +-2000 dps)."""
    from stridecue.link.samples import SampleBlock

    acc = np.asarray(chunk.acc, float) / stridewire.accel_scale(ACCEL_G)
    gyr = np.asarray(chunk.gyr, float) / stridewire.gyro_scale(GYRO_CODE)
    raw = np.clip(np.rint(np.hstack([acc, gyr])), -32768, 32767).astype(np.int16)
    return SampleBlock(index=np.arange(first, first + len(raw), dtype=np.int64), raw=raw, rate=rate, accel_g=ACCEL_G,
                       gyro_code=GYRO_CODE)


def closed_loop(seed: int, hear: bool, minutes: float, **runner_kw):
    from stridecue.coach.policy import Coach, CoachSettings
    from stridecue.live.pipeline import RunPipeline, SensorSetup
    from stridecue.live.session import _make_source
    from stridecue.live.simulated import VirtualRunnerEar
    from stridecue.sim import RunnerSettings, VirtualRunner

    runner = VirtualRunner(RunnerSettings(**runner_kw), seed=seed)
    stream = runner.sensor(leg="left", mount="shin", rotation="random", rate_hz=RATE)
    coach = Coach(CoachSettings())
    sinks = [VirtualRunnerEar(runner)] if hear else []
    pipeline = RunPipeline([SensorSetup(0, "shin", "left")], _make_source, coach, cue_sinks=sinks)
    total = int(minutes * 60 * RATE)
    step = 12  # a notification's worth: the runner hears a cue as soon as the coach decides it
    got = 0
    while got < total:
        chunk = stream.read(step)
        pipeline.feed([to_block(chunk, got, stream.rate)])
        got += len(chunk.t)
    pipeline.finish()
    return runner, stream, coach, pipeline


def time_above(truth, threshold: float, since: float) -> tuple[float, float]:
    """(seconds of running spent in strides over threshold, seconds of running) after `since`."""
    run = [s for s in truth if s.kind == "run" and s.ic_t >= since and s.stride_time_s]
    over = sum(s.stride_time_s for s in run if s.wobble_deg > threshold)
    return over, sum(s.stride_time_s for s in run)


def test_cues_cut_time_above_threshold_by_a_third_without_nagging():
    # the drift must carry the uncued runner over its threshold (baseline + 2 spreads: the default
    # body varies by ~0.7 deg stride to stride, so the threshold is ~2.7 deg over the start)
    kw = dict(wobble_deg=6.0, wobble_fatigue_deg_per_10min=6.0, cue_compliance=0.8)
    minutes = 8.0
    _, quiet_stream, quiet_coach, quiet_pipe = closed_loop(seed=11, hear=False, minutes=minutes, **kw)
    _, cued_stream, cued_coach, cued_pipe = closed_loop(seed=11, hear=True, minutes=minutes, **kw)

    threshold = quiet_coach.threshold("left")
    assert threshold is not None and cued_coach.threshold("left") == pytest.approx(threshold, abs=0.05)
    # From when the threshold existed: the running stride that completed the baseline (the coach
    # counts only strides with a wobble: none while the frame settles)
    running_strides = [st for st in quiet_pipe.strides if st.kind == "run" and st.wobble_deg is not None]
    formed_at = running_strides[quiet_coach.settings.warmup_strides + quiet_coach.settings.baseline_strides - 1].known_t
    over_quiet, running = time_above(quiet_stream.truth, threshold, formed_at)
    over_cued, _ = time_above(cued_stream.truth, threshold, formed_at)
    print(f"threshold {threshold:.2f} deg, formed at {formed_at:.1f} s; uncued above {over_quiet:.0f} of {running:.0f} s")
    assert over_quiet > 0.2 * running, "the uncued runner must drift over threshold for the test to mean anything"
    cut = 1.0 - over_cued / over_quiet
    cues = cued_coach.cues_
    per_minute = len(cues) / (running / 60.0)
    print(f"threshold {threshold:.2f} deg; above: {over_quiet:.0f} s uncued, {over_cued:.0f} s cued ({cut:.0%} less);"
          f" {len(cues)} cues, {per_minute:.2f}/min")
    assert cut >= 0.30
    assert len(cues) >= 1 and per_minute <= 3.0
    times = np.array([c.t for c in cues])
    for t in times:  # never more than 3 in any minute either
        assert np.sum((times > t - 60) & (times <= t)) <= 3
    assert all(c.kind == "wobble" and "over threshold" in c.reason for c in cues)

