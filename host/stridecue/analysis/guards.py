"""Guards on what the stride analysis accepts: rates it can work at, and the rate a recording
really has (not only the one it declares).

    check_rate(rate_hz, has_gyro, where)            -> raises UserError below the minimum
    effective_rate(values, rate_hz)                 -> (effective Hz, mean repeats per value) or None
    RepeatCounter                                   the same, fed in chunks (the streaming analysis)
    check_effective_rate(values, rate_hz, has_gyro, where) -> raises or returns a warning (str | None)
    gyro_band_hz(gyr_dps, rate_hz)                  -> frequency below which 95 % of the swing's power lies

Gyro-based segmentation finds the swing peak, its steepest fall and toe-off inside ~30-60 ms;
below 100 Hz it has 3-6 samples for that, so it is refused rather than run on too few samples.
The accelerometer-only path was checked at 100 Hz (adept) and 143 Hz (bach2022); below 50 Hz a
landing impact (10-20 ms) falls between samples, so it is refused too.

A recording can declare a rate and hold fewer distinct values: a logger that repeats the last
value until a new one arrives (stair steps) has an effective rate of the declared rate divided by
the mean run length.  `effective_rate` finds that from the samples themselves; the guards then
judge the effective rate, and name it.
"""

from __future__ import annotations

import numpy as np

from stridecue.errors import UserError

MIN_GYRO_RATE_HZ = 100.0  # gyro-based stride analysis (swing peak, toe-off) needs this many samples/s
MIN_ACCEL_RATE_HZ = 50.0  # accelerometer-only analysis (impact detection) needs this many
MAX_RATE_HZ = 10000.0  # above this no body-worn IMU samples: a unit mistake (ms for s, ...)
REPEAT_WARN = 1.2  # mean samples per distinct value above this: stair steps, named in a warning
GYRO_BAND_MAX_HZ = 15.0  # 95 % of a running leg's angular-rate power lies below this (virtual
#                          runner 3-4 Hz; the grouvel2023 IMU columns read at 100 Hz: 21-47 Hz)
GYRO_BAND_MOVING_DPS = 50.0  # the band is judged only when the leg moves (rms angular rate above this)


def check_rate(rate_hz: float, has_gyro: bool, where: str = "") -> None:
    """Refuse rates the analysis cannot work at (one-line UserError naming the rate and the minimum)."""
    prefix = f"{where}: " if where else ""
    if not (rate_hz is not None and np.isfinite(rate_hz) and 0 < rate_hz <= MAX_RATE_HZ):
        raise UserError(f"{prefix}sample rate {rate_hz!r} Hz is not plausible for a body-worn IMU (0..{MAX_RATE_HZ:g} Hz)")
    if has_gyro and rate_hz < MIN_GYRO_RATE_HZ:
        raise UserError(f"{prefix}{rate_hz:.4g} Hz is too slow for gyro-based stride analysis (needs at least "
                        f"{MIN_GYRO_RATE_HZ:g} Hz to place toe-off and the swing peak)")
    if not has_gyro and rate_hz < MIN_ACCEL_RATE_HZ:
        raise UserError(f"{prefix}{rate_hz:.4g} Hz is too slow for stride analysis from the accelerometer (needs at "
                        f"least {MIN_ACCEL_RATE_HZ:g} Hz to catch the landing impact)")


class RepeatCounter:
    """Stair steps, counted the same way on a whole file (import) and on a stream (analysis).

    Feed rows (raw counts or values, one row per sample: accelerometer first, in g when acc_scale
    is 1) in any chunks.  They are judged in whole windows of WINDOW_S seconds, and only windows
    where the leg moves (|a| varies by more than MOVING_STD_G): at rest a coarse sensor may repeat
    a reading, and a constant signal says nothing about its rate.  A row equal to the one before
    in every column is a repeat: while moving, a real IMU changes at least one reading from one
    sample to the next.  `result()` is (effective Hz, mean samples per distinct value) once
    JUDGE_S seconds of movement were seen, else None."""

    WINDOW_S = 1.0
    MOVING_STD_G = 0.1
    JUDGE_S = 2.0

    def __init__(self, rate_hz: float, acc_scale: float = 1.0):
        self.rate = float(rate_hz)
        self.acc_scale = float(acc_scale)
        self.window = max(8, int(round(self.WINDOW_S * self.rate)))
        self._pending: list[np.ndarray] = []
        self._held = 0
        self._last = None
        self.rows = 0  # rows judged (in moving windows)
        self.repeats = 0

    @property
    def judged(self) -> bool:
        return self.rows >= self.JUDGE_S * self.rate

    def feed(self, rows: np.ndarray) -> None:
        rows = np.asarray(rows)
        if self.judged or len(rows) == 0:
            return
        self._pending.append(rows)
        self._held += len(rows)
        if self._held < self.window:
            return
        data = np.concatenate(self._pending)
        whole = (len(data) // self.window) * self.window
        rest = data[whole:]
        self._pending, self._held = ([rest], len(rest)) if len(rest) else ([], 0)
        for w in range(0, whole, self.window):
            chunk = data[w:w + self.window]
            prev = self._last
            self._last = chunk[-1].copy()
            mag = np.linalg.norm(chunk[:, :3] * self.acc_scale, axis=1)
            if float(np.std(mag)) <= self.MOVING_STD_G:
                continue
            rows_ = chunk if prev is None else np.vstack([prev[None, :], chunk])
            self.repeats += int(np.count_nonzero(np.all(rows_[1:] == rows_[:-1], axis=1)))
            self.rows += len(rows_) - 1
            if self.judged:
                return

    def result(self) -> tuple[float, float] | None:
        if not self.judged:
            return None
        runs = self.rows / max(self.rows - self.repeats, 1)
        return self.rate / runs, runs


def effective_rate(values: np.ndarray, rate_hz: float) -> tuple[float, float] | None:
    """(effective rate in Hz, mean samples per distinct value) of rows of values (acc in g first)
    sampled at rate_hz, judged on the moving parts; None with under JUDGE_S s of movement."""
    v = np.asarray(values)
    if v.ndim == 1:
        v = v[:, None]
    counter = RepeatCounter(rate_hz)
    counter.feed(v)
    return counter.result()


def judge_repeats(eff: float, runs: float, rate_hz: float, has_gyro: bool, where: str = "") -> str | None:
    """UserError when the effective rate is below what the analysis needs; a warning (str) when
    values repeat but it suffices; None when they do not repeat."""
    if runs <= REPEAT_WARN:
        return None
    prefix = f"{where}: " if where else ""
    what = (f"while moving, each value repeats {runs:.1f} times on average, so the {rate_hz:g} Hz samples carry "
            f"an effective rate of {eff:.1f} Hz")
    need = MIN_GYRO_RATE_HZ if has_gyro else MIN_ACCEL_RATE_HZ
    if eff < need:
        kind = "gyro-based" if has_gyro else "accelerometer-only"
        raise UserError(f"{prefix}{what}: too slow for {kind} stride analysis (needs at least {need:g} Hz)")
    return f"{prefix}{what} (stair steps: timing is only as fine as {1000.0 / eff:.0f} ms)"


def gyro_band_hz(gyr_dps: np.ndarray, rate_hz: float) -> float | None:
    """The frequency (Hz, at rate_hz) below which 95 % of the angular rate's power lies, or None
    when the leg barely moves (then the gyro is noise and its band says nothing about the rate)."""
    g = np.asarray(gyr_dps, float)
    if len(g) < 64:
        return None
    g = g - g.mean(axis=0)
    if float(np.sqrt(np.mean(np.sum(g ** 2, axis=1)))) < GYRO_BAND_MOVING_DPS:
        return None
    power = np.sum(np.abs(np.fft.rfft(g, axis=0)) ** 2, axis=1)
    cum = np.cumsum(power) / power.sum()
    return float(np.fft.rfftfreq(len(g), 1.0 / rate_hz)[int(np.searchsorted(cum, 0.95))])


def check_effective_rate(values: np.ndarray, rate_hz: float, has_gyro: bool, where: str = "") -> str | None:
    """Judge the rate the samples really have (see judge_repeats)."""
    found = effective_rate(values, rate_hz)
    return None if found is None else judge_repeats(*found, rate_hz, has_gyro, where)
