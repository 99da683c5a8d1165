"""The samples of an imported sensor as the sensor would store them: int16 counts at the narrowest
full scale that holds the data, readings where the source sensor saturated at full scale.
(importer.py turns them into a run file.)

numpy is imported inside the functions that use it (`stridecue --help` imports importer.py).
"""

from __future__ import annotations

from dataclasses import dataclass

ACCEL_RANGES_G = (2, 4, 8, 16, 32)
GYRO_RANGE_CODES = (1, 2, 4, 8, 16)  # x 125 dps
_FULL = 32767


def _pick_range(peak: float, ranges: tuple[int, ...], unit_per_range: float) -> int:
    for r in ranges:
        if peak <= r * unit_per_range:
            return r
    return ranges[-1]


def _counts(values: np.ndarray, full_scale: float) -> tuple[np.ndarray, int]:
    import numpy as np
    counts = np.rint(values * (32768.0 / full_scale))
    clipped = int(np.count_nonzero((counts > _FULL) | (counts < -32768)))
    return np.clip(counts, -32768, _FULL).astype(np.int16), clipped


STANDARD_RANGES_G = (2, 4, 6, 8, 12, 16, 24, 32, 64, 100, 200, 400)


def saturated_samples(acc_g: np.ndarray, sensor_range_g: float | None = None) -> np.ndarray:
    """(n, 3) bool: readings where the recording sensor was at its full scale.

    With sensor_range_g: readings within 0.5 % of it.  Without: the largest magnitude in the
    recording counts as a full scale only when it lies within 1 % below a standard range (2, 4, 8,
    16 g, ...) and repeats in consecutive samples on one axis, which a sensor pinned at its limit
    does and a free peak does not (an 8-g sensor of 1/64 g resolution stops at 7.97 g).
    """
    import numpy as np
    mag = np.abs(acc_g)
    if sensor_range_g is not None:
        return mag >= 0.995 * sensor_range_g
    if mag.size == 0:
        return np.zeros_like(mag, bool)
    peak = float(mag.max())
    if not any(0.99 * r <= peak <= r for r in STANDARD_RANGES_G):
        return np.zeros_like(mag, bool)
    at_peak = mag >= peak - 1e-9
    if not np.any(at_peak[1:] & at_peak[:-1]):
        return np.zeros_like(mag, bool)
    return at_peak


@dataclass(frozen=True)
class Counts:
    """The samples as the sensor would store them: int16 raw (n, 6) at the chosen ranges."""

    raw: np.ndarray
    accel_g: int
    gyro_code: int  # x 125 dps; 0 marks an accelerometer-only sensor
    has_gyro: bool
    clipped_acc: int  # values beyond the widest accelerometer range
    clipped_gyr: int
    saturated_values: int  # values where the source sensor was at its full scale
    at_full_scale: int  # samples with an accelerometer axis at full scale here


def to_counts(acc: np.ndarray, gyr: np.ndarray | None, sensor_range_g: float | None) -> Counts:
    import numpy as np

    has_gyro = gyr is not None
    saturated = saturated_samples(acc, sensor_range_g)
    accel_g = _pick_range(float(np.abs(acc).max()), ACCEL_RANGES_G, 1.0)
    # gyro code 0 marks an accelerometer-only sensor (the analysis then segments from accel alone)
    gyro_code = _pick_range(float(np.abs(gyr).max()), GYRO_RANGE_CODES, 125.0) if has_gyro else 0
    raw = np.zeros((len(acc), 6), np.int16)
    raw[:, :3], clipped_acc = _counts(acc, accel_g)
    # readings where the source sensor saturated sit at full scale here, so they are flagged clipped
    raw[:, :3][saturated & (acc > 0)] = _FULL
    raw[:, :3][saturated & (acc < 0)] = -32768
    clipped_gyr = 0
    if has_gyro:
        raw[:, 3:], clipped_gyr = _counts(gyr, gyro_code * 125.0)
    at_full_scale = int(np.count_nonzero(np.any((raw[:, :3] >= _FULL) | (raw[:, :3] <= -32768), axis=1)))
    return Counts(raw, accel_g, gyro_code, has_gyro, clipped_acc, clipped_gyr, int(saturated.sum()), at_full_scale)
