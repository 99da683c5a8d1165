"""The offline driver: strides of a whole recording, by the same algorithm as the live run.

    analyse_run(reader) -> list[Stride]                       # every sensor of a run file, by ic_t
    analyse_block(block, mount, leg, sensor=0) -> list[Stride]

Both feed the streaming analyser (streaming.py) with all the samples at once, so a re-analysis
gives exactly the strides the live run produced.
"""

from __future__ import annotations

import numpy as np

from stridecue.errors import UserError
from stridecue.link.samples import SampleBlock
from stridecue.analysis.segmentation import SegmentationSettings
from stridecue.analysis.streaming import StreamingStrideAnalyzer
from stridecue.analysis.stride import Stride


def analyse_block(block: SampleBlock, mount: str, leg: str, sensor: int = 0, *,
                  accel_only: bool | None = None, settings: SegmentationSettings | None = None) -> list[Stride]:
    """Strides of one sensor's samples (one block; jumps of its sample counter are gaps)."""
    analyzer = StreamingStrideAnalyzer(mount=mount, leg=leg, rate_hz=block.rate or 416.0, sensor=sensor,
                                       accel_only=accel_only, settings=settings, deferred=True)
    strides = analyzer.push(block)
    strides.extend(analyzer.finish())
    return strides


def analyse_run(reader) -> list[Stride]:
    """Strides of every sensor of a run (stridecue.record.runreader.RunReader), sorted by initial contact.

    Mount and leg of each sensor come from the run's metadata (shin / left when it does not say)."""
    setups = {}
    for s in reader.metadata.get("sensors", []) or []:
        if isinstance(s, dict) and "slot" in s:
            setups[int(s["slot"])] = (s.get("mount") or "shin", s.get("leg") or "left")
    strides: list[Stride] = []
    for sensor in reader.sensors:
        block = reader.samples(sensor)
        if len(block) == 0:
            continue
        mount, leg = setups.get(sensor, ("shin", "left"))
        if mount not in ("shin", "thigh") or leg not in ("left", "right"):
            raise UserError(f"{reader.path}: sensor {sensor} has mount {mount!r} and leg {leg!r}; expected shin/thigh and left/right")
        strides.extend(analyse_block(block, mount, leg, sensor))
    strides.sort(key=lambda s: (s.ic_t, s.sensor))
    return strides


def block_from_arrays(t_or_rate, acc_g: np.ndarray, gyr_dps: np.ndarray | None = None, *,
                      accel_g: int = 32, gyro_code: int = 16, sensor: int = 0, first_index: int = 0) -> SampleBlock:
    """A SampleBlock from float arrays (g, deg/s), quantised like the sensor's int16 counts.

    t_or_rate: the sample rate in Hz.  Without a gyro the block has gyro_code 0 (accelerometer only).
    Values beyond the range clip at full scale, as a real accelerometer does."""
    rate = float(t_or_rate)
    acc = np.asarray(acc_g, float)
    n = len(acc)
    raw = np.zeros((n, 6), np.int16)
    raw[:, :3] = np.clip(np.round(acc / (accel_g / 32768.0)), -32768, 32767)
    if gyr_dps is not None:
        raw[:, 3:] = np.clip(np.round(np.asarray(gyr_dps, float) / (gyro_code * 125 / 32768.0)), -32768, 32767)
    else:
        gyro_code = 0
    return SampleBlock(index=np.arange(first_index, first_index + n, dtype=np.int64), raw=raw, rate=rate,
                       accel_g=accel_g, gyro_code=gyro_code, sensor=sensor)
