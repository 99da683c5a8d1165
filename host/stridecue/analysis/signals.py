"""The signals a stride search looks at, and the searches on them that need no state.

`Signals` holds, over a stretch of one sensor's samples, the smoothed sagittal rate and its
derivative and the jerk of the acceleration (derived the same way at every position, so the live
and the offline drivers see the same numbers); `moving_average`, `smooth_exact` smooth with exact
edges; `first_peak` finds the first peak that is the largest of its neighbourhood.  The stride
decisions themselves are in segmentation.py.
"""

from __future__ import annotations

import numpy as np

NEED_MORE = "need more samples"


def moving_average(x: np.ndarray, half: int) -> np.ndarray:
    """Centered moving average of width 2*half+1; the first and last `half` values are NaN."""
    out = np.full(len(x), np.nan)
    if half <= 0:
        out[:] = x
        return out
    w = 2 * half + 1
    if len(x) < w:
        return out
    c = np.concatenate([[0.0], np.cumsum(x, dtype=float)])
    out[half : len(x) - half] = (c[w:] - c[:-w]) / w
    return out


def smooth_exact(x: np.ndarray, half: int) -> np.ndarray:
    """Centered moving average of width 2*half+1 summed the same way at every position (so a value
    does not depend on where the stretch it was computed in began); NaN at the `half` edge samples."""
    out = np.full(len(x), np.nan)
    w = 2 * half + 1
    if half <= 0:
        out[:] = x
    elif len(x) >= w:
        out[half : len(x) - half] = np.convolve(x, np.full(w, 1.0 / w), mode="valid")
    return out


def first_peak(x: np.ndarray, a: int, b: int, threshold: float, back: int, ahead: int, final: bool = False,
               edge: int = 0):
    """First i in [a, b) with x[i] >= threshold and x[i] the largest of x[i-back .. i+ahead]
    (strictly larger than the samples before it, so a flat top counts once).

    Positions are indices of x; the caller guarantees x[i + ahead] exists for i < b.  In the first
    max(back, edge) samples of x (the caller searches there only at the beginning of a stream) what
    came before i is not known well, so x[i] must be the largest of what there is before it and of
    a whole window after it, x[0 .. i + back + ahead] (a swing's bump just before the first landing
    is not a peak);
    NEED_MORE until that has arrived (unless `final`: the stream has ended).
    Returns None when there is none."""
    a = max(a, 1)
    if b <= a:
        return None
    seg = x[a:b]
    with np.errstate(invalid="ignore"):
        # (a neighbour not known yet, NaN at the start of the stream, does not rule a sample out)
        cand = np.flatnonzero((seg >= threshold) & ~(x[a - 1 : b - 1] > seg) & (seg >= x[a + 1 : b + 1]))
    for k in cand:
        i = a + int(k)
        v = x[i]
        if i < max(back, edge):  # the start of the stream
            before = x[:i]
            before = before[np.isfinite(before)]
            stop = i + back + ahead + 1
            after = x[i + 1 : stop]
            if not final and (stop > len(x) or not np.all(np.isfinite(after))):
                return NEED_MORE
        else:
            before = x[i - back : i]
            after = x[i + 1 : i + ahead + 1]
        after = after[np.isfinite(after)]  # the end of a finished stream
        with np.errstate(invalid="ignore"):
            if np.all(before < v) and np.all(after <= v):
                return i
    return None


class Signals:
    """Derived signals over a stretch [start, start + n) of one sensor's samples.

    w: sagittal angular rate (deg/s, None without a gyro); acc: (n, 3) g.  Everything is indexed
    from `start`, so sample p is element p - start of every array."""

    def __init__(self, start: int, acc: np.ndarray, w: np.ndarray | None, rate: float, smooth_half: int):
        self.start = start
        self.rate = rate
        n = len(acc)
        # jerk magnitude in g/s, at the later sample of each difference
        jerk = np.zeros(n)
        if n > 1:
            jerk[1:] = np.linalg.norm(np.diff(acc, axis=0), axis=1) * rate
        self.jerk = jerk

        if w is not None:
            self.ws = moving_average(w, smooth_half)
            d = np.full(n, np.nan)
            if n > 2:
                d[1:-1] = (self.ws[2:] - self.ws[:-2]) * (0.5 * rate)
            self.dws = d
        else:
            self.ws = self.dws = None
            anorm = np.linalg.norm(acc, axis=1)
            hw = max(1, int(round(0.05 * rate)))
            baseline = moving_average(anorm, hw)
            # at the start of a stretch the baseline is the mean of what there is: an impact in the
            # first samples of a stream can be found (later stretches are never searched there)
            head = min(hw, n)
            if head:
                c = np.cumsum(anorm[: min(n, 2 * hw + 1)])
                counts = np.arange(hw + 1, hw + 1 + head)
                usable = np.minimum(counts, len(c))
                baseline[:head] = np.where(counts <= len(c), c[usable - 1] / counts, np.nan)
            self.hp = anorm - baseline
            self.hp_delay = hw
            sh = max(1, int(round(0.015 * rate)))
            self.anorm_s = moving_average(anorm, sh)
            self.smooth_a_delay = sh

    @classmethod
    def from_derived(cls, start: int, acc: np.ndarray, jerk: np.ndarray, ws: np.ndarray, dws: np.ndarray,
                     rate: float) -> "Signals":
        """Signals whose derived arrays were computed already (the streaming driver keeps them)."""
        sig = cls.__new__(cls)
        sig.start, sig.rate, sig.acc = start, rate, acc
        sig.jerk, sig.ws, sig.dws = jerk, ws, dws
        return sig

    def jerk_sustained(self, n: int, a: int = 0, b: int | None = None) -> np.ndarray:
        """Mean jerk over each sample and the n - 1 after it, at positions [a, b) (NaN elsewhere and
        where those samples have not all arrived); summed the same way at every position."""
        if n <= 1:
            return self.jerk
        m = len(self.jerk)
        b = m if b is None else min(b, m)
        out = np.full(m, np.nan)
        stop = min(b, m - n + 1)
        if stop > a:
            out[a:stop] = np.convolve(self.jerk[a : stop + n - 1], np.full(n, 1.0 / n), mode="valid")
        return out
