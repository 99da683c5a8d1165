"""The sample stream: what every later stage (recorder, segmentation, metrics) consumes.

A SampleBlock is a run of consecutive raw samples from one sensor, exactly as the sensor sent
them (int16 counts), with the sample counter that places each one in time.  Physical units are
derived on demand so that recording stays lossless.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import stridewire


@dataclass(frozen=True)
class SampleBlock:
    """Consecutive samples of one sensor.

    index: (n,) int64 sample counter (time = index / rate)
    raw: (n, 6) int16 ax ay az gx gy gz counts
    quat_index: (m,) int64 sample counters of the device's orientation estimates
    quat_raw: (m, 4) int16 w x y z in Q14
    """

    index: np.ndarray
    raw: np.ndarray
    rate: float
    accel_g: int
    gyro_code: int
    quat_index: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    quat_raw: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.int16))
    stream_id: int = 0
    sensor: int = 0  # slot of the sensor in the run (0, 1 for two sensors)

    def __len__(self) -> int:
        return len(self.index)

    @property
    def t(self) -> np.ndarray:
        """Seconds since the stream's first sample counter 0."""
        return self.index / self.rate

    @property
    def acc(self) -> np.ndarray:
        """(n, 3) acceleration in g, sensor frame, gravity included."""
        return self.raw[:, :3] * stridewire.accel_scale(self.accel_g)

    @property
    def gyr(self) -> np.ndarray:
        """(n, 3) angular rate in degrees per second, sensor frame."""
        return self.raw[:, 3:] * stridewire.gyro_scale(self.gyro_code)

    @property
    def quat(self) -> np.ndarray:
        """(m, 4) unit quaternions w x y z (sensor to world) at quat_index."""
        return self.quat_raw / float(stridewire.QUAT_ONE)

    @property
    def clipped(self) -> np.ndarray:
        """(n,) bool: an accelerometer axis is at its full scale."""
        a = self.raw[:, :3]
        return np.any((a >= 32767) | (a <= -32768), axis=1)

    @staticmethod
    def concat(blocks: list["SampleBlock"]) -> "SampleBlock":
        """One block from consecutive blocks of the same sensor and settings."""
        if not blocks:
            raise ValueError("no blocks to join")
        first = blocks[0]
        return SampleBlock(
            index=np.concatenate([b.index for b in blocks]),
            raw=np.concatenate([b.raw for b in blocks]),
            rate=first.rate,
            accel_g=first.accel_g,
            gyro_code=first.gyro_code,
            quat_index=np.concatenate([b.quat_index for b in blocks]),
            quat_raw=np.concatenate([b.quat_raw for b in blocks]),
            stream_id=first.stream_id,
            sensor=first.sensor,
        )
