"""The recent samples of one sensor, by absolute sample index: what the stride analyser reads.

    buf = SampleBuffer(first_index, rate_hz)
    buf.take(index, acc, gyr, clipped)  # physical units; jumps of the counter are gaps
    buf.view(a, b, "acc")               # samples [a, b) of one signal (a view: the derived ones are written through it)
    buf.drop_before(index)              # forget what no decision needs any more

A short gap (under INTERPOLATE_GAP_S) is bridged by interpolation and its samples are marked
`filled`; a longer one is bridged the same way but also listed in `breaks_`, where the stride chain
is broken (streaming.py).
"""

from __future__ import annotations

import numpy as np

INTERPOLATE_GAP_S = 0.05  # shorter gaps are bridged by interpolation; longer ones break the stride chain


class SampleBuffer:
    """The recent samples of one sensor in physical units, with gap marks, by absolute sample index.

    Parameters: first_index (the stream's first sample index), rate_hz.
    Results: `next_` (the index the next sample should have: duplicates and late samples below it
    are the caller's to drop), `breaks_` ([first, end) of gaps too long to bridge).
    The signals: acc (g), gyr (deg/s), clipped, filled (interpolated over a gap), and, once the swing
    axis is known, jerk, ws, dws (written by the analyser, see StreamingStrideAnalyzer._derive).
    """

    NAMES = ("acc", "gyr", "clipped", "filled", "jerk", "ws", "dws")

    def __init__(self, first_index: int = 0, rate_hz: float = 416.0):
        self.start = first_index  # absolute index of element 0
        self.n = 0
        self.rate = rate_hz
        self.next_ = first_index
        self.breaks_: list[tuple[int, int]] = []
        cap = 4096
        self.acc = np.zeros((cap, 3))
        self.gyr = np.zeros((cap, 3))
        self.clipped = np.zeros(cap, bool)
        self.filled = np.zeros(cap, bool)
        # derived, once the swing axis is known (see StreamingStrideAnalyzer._derive)
        self.jerk = np.zeros(cap)
        self.ws = np.zeros(cap)
        self.dws = np.zeros(cap)

    @property
    def end(self) -> int:
        return self.start + self.n

    def _reserve(self, extra: int) -> None:
        need = self.n + extra
        if need <= len(self.acc):
            return
        cap = max(need, 2 * len(self.acc))
        for name in SampleBuffer.NAMES:
            old = getattr(self, name)
            new = np.zeros((cap,) + old.shape[1:], old.dtype)
            new[: self.n] = old[: self.n]
            setattr(self, name, new)

    def append(self, acc, gyr, clipped, filled) -> None:
        k = len(acc)
        self._reserve(k)
        sl = slice(self.n, self.n + k)
        self.acc[sl] = acc
        self.gyr[sl] = gyr
        self.clipped[sl] = clipped
        self.filled[sl] = filled
        self.n += k

    def take(self, index: np.ndarray, acc: np.ndarray, gyr: np.ndarray, clipped: np.ndarray) -> None:
        """Samples at these indices (none below `next_`), split at the jumps of the counter; a jump
        is a gap, bridged (see fill)."""
        jumps = np.flatnonzero(np.diff(index) != 1) + 1
        bounds = [0, *jumps.tolist(), len(index)]
        for a, b in zip(bounds[:-1], bounds[1:]):
            if b <= a:
                continue
            first = int(index[a])
            if first < self.next_:  # out of order inside a block: drop the stale part
                skip = self.next_ - first
                a += skip
                if a >= b:
                    continue
                first = int(index[a])
            if first > self.next_:
                self.fill(first, acc[a], gyr[a])
            self.append(acc[a:b], gyr[a:b], clipped[a:b], np.zeros(b - a, bool))
            self.next_ = first + (b - a)

    def fill(self, first: int, acc_next: np.ndarray, gyr_next: np.ndarray) -> None:
        """Samples [next_, first) are missing: bridge a short gap, mark a long one as a break."""
        count = first - self.next_
        if self.n:
            acc_prev = self.acc[self.n - 1]
            gyr_prev = self.gyr[self.n - 1]
        else:
            acc_prev, gyr_prev = acc_next, gyr_next
        frac = (np.arange(1, count + 1) / (count + 1))[:, None]
        acc = acc_prev + (acc_next - acc_prev) * frac
        gyr = gyr_prev + (gyr_next - gyr_prev) * frac
        self.append(acc, gyr, np.zeros(count, bool), np.ones(count, bool))
        if count > INTERPOLATE_GAP_S * self.rate:
            self.breaks_.append((self.next_, first))
        self.next_ = first

    def broken_between(self, a: int, b: int) -> bool:
        """Whether a gap too long to bridge lies in [a, b)."""
        return any(first < b and end > a for first, end in self.breaks_)

    def drop_before(self, index: int) -> None:
        k = min(max(0, index - self.start), self.n)
        if k == 0:
            return
        for name in SampleBuffer.NAMES:
            arr = getattr(self, name)
            arr[: self.n - k] = arr[k : self.n]
        self.n -= k
        self.start += k

    def forget_breaks(self) -> None:
        """Drop the breaks wholly before the buffer's first sample."""
        self.breaks_ = [(a, b) for a, b in self.breaks_ if b > self.start]

    def view(self, a: int, b: int, name: str) -> np.ndarray:
        return getattr(self, name)[a - self.start : b - self.start]
