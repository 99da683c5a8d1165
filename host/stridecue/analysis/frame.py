"""The segment frame while a stream runs: which statistics the alignment takes in, and when it is
estimated again.

alignment.py estimates the frame from standstills and gait cycles; this module decides what it is
fed and when: after each stride the standstills before its toe-off (blocks.py), the stride's cycle,
and a re-estimate while the frame is settling (the first SETTLING_CYCLES strides), then every 10th,
then never (after MAX_ALIGNMENT_CYCLES).  The schedule is fixed by the stride count, so the live
and the offline driver use the same frame for every stride.

    frame = FrameSchedule("shin", 416.0, accel_only=False, on_axis_flip=...)
    frame.set_swing_axis(axis)                          # from the bootstrap (blocks.py)
    frame.reestimates_next()                            # does the next stride re-estimate?
    frame.after_stride(st, cycle_start, buf, blocks, chained=True) -> Alignment
    frame.defer(st, cycle_start); frame.catch_up(buf, blocks, chained=True)   # later, in order
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from stridecue.analysis.alignment import Alignment, AlignmentEstimator, cycle_vertical, gravity_only_alignment
from stridecue.analysis.blocks import BlockStatistics
from stridecue.analysis.buffer import SampleBuffer
from stridecue.analysis.segmentation import Stance

MAX_ALIGNMENT_CYCLES = 300  # after this many strides the frame stops changing
SETTLING_CYCLES = 20  # the frame is re-estimated after each of the first strides, then every 10th


class FrameSchedule:
    """The frame (alignment.Alignment) of one sensor, updated stride by stride on a fixed schedule.

    Parameters: mount, rate_hz, accel_only, alignment (the frame to start from: a restart of the
    stream at another rate keeps the last one until a new one is estimated), on_axis_flip (called
    when more cycles reverse the bootstrap's swing axis: the segmentation must start again with the
    corrected one).
    Results: `alignment_` (the frame in use), `swing_axis_` (board-frame "right" the segmentation
    uses), `cycles_` (gait cycles taken in), `pending_` (strides whose cycles are not taken in yet).
    """

    def __init__(self, mount: str, rate_hz: float, accel_only: bool, alignment: Alignment | None = None,
                 on_axis_flip: Callable[[], None] | None = None):
        self.mount = mount
        self.rate = rate_hz
        self.accel_only = accel_only
        self.on_axis_flip = on_axis_flip
        self.estimator = AlignmentEstimator(mount)
        self.alignment_ = alignment
        self.swing_axis_: np.ndarray | None = None
        self.cycles_ = 0
        self.pending_: list[tuple[Stance, int]] = []
        self._midstance_added = 0
        self._estimated_at = -1

    def set_swing_axis(self, axis: np.ndarray) -> None:
        self.swing_axis_ = axis
        self.estimator.right_hint = axis

    def reestimates_next(self) -> bool:
        """Whether the next stride's cycle is one the frame is re-estimated with."""
        n_next = self.cycles_ + len(self.pending_) + 1
        return n_next <= SETTLING_CYCLES or (n_next % 10 == 0 and n_next <= MAX_ALIGNMENT_CYCLES)

    def defer(self, st: Stance, cycle_start: int) -> None:
        """This stride's cycle joins the statistics at the next catch_up, in order."""
        self.pending_.append((st, cycle_start))

    def catch_up(self, buf: SampleBuffer, blocks: BlockStatistics, chained: bool) -> None:
        """Take in the deferred strides' cycles."""
        for st, cycle_start in self.pending_:
            self.after_stride(st, cycle_start, buf, blocks, chained)
        self.pending_ = []

    def after_stride(self, st: Stance, cycle_start: int, buf: SampleBuffer, blocks: BlockStatistics,
                     chained: bool) -> Alignment:
        """The frame after this stride: standstills before its toe-off, the swing of the cycles so far.
        chained: a stride came before this one (its cycle starts at cycle_start)."""
        est = self.estimator
        for kind, acc_sum, count, gyr in blocks.take(st.to):
            if kind == "still":
                est.add_standstill_sum(acc_sum, count)
            elif kind == "move" and self.cycles_ == 0 and not self.accel_only:
                est.add_motion(gyr)  # until strides are known, the moving blocks stand in for cycles
        settled = self.cycles_ >= MAX_ALIGNMENT_CYCLES or self._midstance_added >= MAX_ALIGNMENT_CYCLES
        if settled:
            pass
        elif self.accel_only or not chained or cycle_start >= st.ic:
            self._midstance_added += 1
            mid = st.ic + (st.to - st.ic) // 2
            half = max(1, (st.to - st.ic) // 10)
            est.add_midstance(buf.view(mid - half, mid + half + 1, "acc"))
        else:  # the vertical at contact from the whole cycle before it (alignment.cycle_vertical)
            est.add_contact_vertical(cycle_vertical(buf.view(cycle_start, st.ic + 1, "acc"),
                                                    buf.view(cycle_start, st.ic + 1, "gyr"), -self.swing_axis_, self.rate))
        if self.accel_only:
            if not settled or self.alignment_ is None:
                self.alignment_ = gravity_only_alignment(est.gravity_hint(), self.mount)
            return self.alignment_
        if self.cycles_ < MAX_ALIGNMENT_CYCLES and chained and cycle_start < st.ic:
            est.add_motion(buf.view(cycle_start, st.ic, "gyr"))
            self.cycles_ += 1
        return self._estimate()

    def _estimate(self) -> Alignment:
        """Re-estimate while the frame is still settling, then every 10 strides, then never: the
        schedule is fixed by the stride count, so both drivers use the same frame for a stride."""
        est = self.estimator
        n = self.cycles_
        if self.alignment_ is None or (n != self._estimated_at and (n <= SETTLING_CYCLES or n % 10 == 0)):
            if n >= 6 and not est.sign_agrees():
                # the first seconds of movement chose the wrong direction of the swing axis: more
                # cycles say otherwise; segment with the corrected axis from the next stride on
                est.flip_hint()
                self.swing_axis_ = -self.swing_axis_
                if self.on_axis_flip is not None:
                    self.on_axis_flip()
            alignment = est.estimate()
            self._estimated_at = n
        else:
            alignment = self.alignment_
        if alignment is None:
            alignment = self.alignment_ or gravity_only_alignment(np.array([0.0, 0.0, 1.0]), self.mount)
        self.alignment_ = alignment
        return alignment
