"""Block statistics of the sample counter: standstill and movement, and the swing axis they bootstrap.

The samples are cut into fixed blocks of the sample counter (BLOCK_S long), so every statistic is
the same however the samples arrived.  A block is standstill (its summed acceleration tells the
frame where gravity is), movement (its gyro samples stand in for gait cycles until strides are
known), or neither.  The standstill before the run marks where the stride search may start; after
BOOTSTRAP_S to BOOTSTRAP_MAX_S seconds of movement the board-frame swing axis the segmentation
needs is taken from the movement blocks (`bootstrap`).

    blocks = BlockStatistics("shin", 416.0, accel_only=False, first_index=0)
    blocks.update(buf, collect_motion=True)   # after new samples (buffer.SampleBuffer)
    blocks.swing_axis_, blocks.known_         # once bootstrapped
    for kind, acc_sum, count, gyr in blocks.take(upto): ...   # the alignment's share, in order
"""

from __future__ import annotations

import numpy as np

from stridecue.analysis.alignment import AlignmentEstimator, swing_votes
from stridecue.analysis.buffer import SampleBuffer

BLOCK_S = 0.25  # alignment statistics are taken over fixed blocks of the sample counter
BOOTSTRAP_S = 2.0  # seconds of movement before the swing axis is trusted ...
BOOTSTRAP_MAX_S = 3.0  # ... or this many when the direction of the swing is not clear sooner
STILL_GYRO_DPS = 8.0  # a block is standstill when the gyro varies less than this (rms) ...
STILL_ACC_G = 0.03  # ... and the acceleration magnitude less than this (std), near 1 g
MOVING_GYRO_DPS = 60.0  # a block is movement above this rms angular rate
MOVING_ACC_G = 0.25  # (accelerometer only) ... or this std of the acceleration magnitude


class BlockStatistics:
    """Standstill and movement blocks of one sensor's stream, and the bootstrap of its swing axis.

    Parameters: mount ("shin" or "thigh"), rate_hz, accel_only, first_index (the stream's first
    sample index: the blocks are whole blocks of the counter from there on).
    Results: `stats_` ((end, kind, acc sum of a standstill, samples, gyro samples of movement
    before any stride) per block not yet taken by `take` and trimmed), `quiet_until_` (end of the
    standstill before the run), `moving_s_` (seconds of movement so far), `swing_axis_` (board-frame
    "right" from the bootstrap, None until then), `known_` (the last sample the bootstrap used).
    """

    def __init__(self, mount: str, rate_hz: float, accel_only: bool, first_index: int):
        self.mount = mount
        self.rate = rate_hz
        self.accel_only = accel_only
        self.block_len = max(8, int(round(BLOCK_S * rate_hz)))
        self._block_next = (first_index // self.block_len + 1) * self.block_len  # first whole block
        self.stats_: list[tuple] = []
        self._used = 0  # stats consumed by take()
        self.moving_s_ = 0.0
        self.swing_axis_: np.ndarray | None = None
        self.known_: int | None = None
        self._quiet = True  # no block but standstill so far
        self.quiet_until_ = first_index

    def update(self, buf: SampleBuffer, collect_motion: bool) -> None:
        """Statistics of each whole block of the sample counter that has arrived since last time
        (all at once: the blocks are fixed by the counter, not by how the samples arrived).
        collect_motion: keep the movement blocks' gyro samples (no gait cycle is known yet)."""
        L = self.block_len
        first = max(self._block_next - L, buf.start)
        first += (-(first - (self._block_next - L))) % L  # stay on block boundaries
        count = (buf.end - first) // L
        if count <= 0:
            return
        a = first - buf.start
        acc = buf.acc[a : a + count * L].reshape(count, L, 3)
        gyr = buf.gyr[a : a + count * L].reshape(count, L, 3)
        filled = buf.filled[a : a + count * L].reshape(count, L).any(axis=1)
        still, moving = self._classify(acc, gyr)
        self._block_next = first + (count + 1) * L
        if self._quiet:  # the standstill before the run: nothing there to segment
            calm = still & ~filled
            k = int(np.argmin(calm)) if not calm.all() else count
            self.quiet_until_ = first + k * L
            self._quiet = k == count
        keep_motion = collect_motion and not self.accel_only and self.swing_axis_ is None
        for i in np.flatnonzero((still | moving) & ~filled):
            b = first + (int(i) + 1) * L
            if still[i]:
                self.stats_.append((b, "still", acc[i].sum(axis=0), L, None))
                continue
            self.moving_s_ += L / self.rate
            if keep_motion:
                self.stats_.append((b, "move", None, L, gyr[i].copy()))
                if self.moving_s_ >= BOOTSTRAP_S and self.bootstrap(b, final=self.moving_s_ >= BOOTSTRAP_MAX_S):
                    keep_motion = False

    def _classify(self, acc: np.ndarray, gyr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(still, moving) of blocks of samples: acc (blocks, L, 3) g, gyr (blocks, L, 3) deg/s."""
        anorm = np.linalg.norm(acc, axis=2)
        a_std = anorm.std(axis=1)
        a_mean = anorm.mean(axis=1)
        g_abs = np.sqrt(np.mean(np.sum(gyr ** 2, axis=2), axis=1))
        if self.accel_only:
            still = (a_std < STILL_ACC_G) & (np.abs(a_mean - 1.0) < 0.1)
            moving = a_std > MOVING_ACC_G
        else:
            g_rms = np.sqrt(np.mean(np.sum((gyr - gyr.mean(axis=1, keepdims=True)) ** 2, axis=2), axis=1))
            still = (g_rms < STILL_GYRO_DPS) & (a_std < STILL_ACC_G) & (np.abs(a_mean - 1.0) < 0.1)
            moving = g_abs > MOVING_GYRO_DPS
        return still, moving

    def bootstrap(self, end: int, final: bool = True) -> bool:
        """The swing axis for segmentation from the movement so far.  Unless `final`, only when the
        direction of the swing is clear (alignment.swing_votes unanimous); else wait for more."""
        moving = [(b, g) for (b, kind, _, _, g) in self.stats_ if kind == "move" and b <= end]
        gyr = np.concatenate([g for _, g in moving])
        est = AlignmentEstimator(self.mount)
        est.add_motion(gyr)
        axis, _ = est.swing_axis()
        if not final and abs(swing_votes(gyr @ axis)) < 3:
            return False
        if self.mount != "thigh":  # refine on the swing alone (AlignmentEstimator._add_swing)
            est.right_hint = axis
            for _, g in moving:
                est._add_swing(g, axis)
            axis, _ = est.swing_axis()
        self.swing_axis_ = axis  # board-frame right
        self.known_ = end - 1  # the last sample the bootstrap used (end is one past it)
        return True

    def has_motion(self) -> bool:
        """Whether any movement block is kept (what a bootstrap needs)."""
        return any(kind == "move" for (_, kind, _, _, _) in self.stats_)

    def take(self, upto: int):
        """The blocks not taken yet that end by sample `upto`, in order: (kind, acc sum, samples, gyro)."""
        while self._used < len(self.stats_) and self.stats_[self._used][0] <= upto:
            _, kind, acc_sum, count, gyr = self.stats_[self._used]
            self._used += 1
            yield kind, acc_sum, count, gyr

    def trim(self) -> None:
        """Forget the blocks already taken."""
        self.stats_ = self.stats_[self._used :]
        self._used = 0
