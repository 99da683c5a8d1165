"""RunPipeline's bookkeeping: where a run begins on the sensor's clock (the cue track's 0)."""

from __future__ import annotations

import numpy as np

from stridecue.coach.policy import Coach, CoachSettings
from stridecue.link.samples import SampleBlock
from stridecue.link.stream import Missing
from stridecue.live.pipeline import RunPipeline, SensorSetup
from stridecue.live.recording import make_source


def _block(first: int, n: int = 12) -> SampleBlock:
    raw = np.zeros((n, 6), np.int16)
    raw[:, 2] = 1024  # 1 g at +-32 g
    return SampleBlock(index=np.arange(first, first + n, dtype=np.int64), raw=raw, rate=416.0, accel_g=32, gyro_code=16)


def test_a_run_on_a_sensor_that_was_already_on_begins_at_its_first_sample():
    pipeline = RunPipeline([SensorSetup(0, "shin", "left")], make_source, Coach(CoachSettings()))
    pipeline.feed([Missing(sensor=0, first=416_000, count=12)])  # a gap is not a sample
    assert pipeline.stats.first_t is None
    pipeline.feed([_block(416_012), _block(416_024)])
    assert pipeline.stats.first_t == 416_012 / 416.0
