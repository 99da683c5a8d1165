"""The stride analysis driver: samples in, finished strides out, for live runs and recordings alike.

    a = StreamingStrideAnalyzer(mount="shin", leg="left", rate_hz=416.0, sensor=0)
    strides = a.push(block)    # SampleBlock -> strides completed by these samples (Stride records)
    a.gap(first_index, count)  # samples that will never arrive
    strides = a.finish()       # end of the stream

The offline driver (run.py) is this same object fed with whole recordings, so a live run and its
re-analysis agree stride for stride: every decision depends on the samples around an event, never
on how the samples were chunked (see segmentation.py), and `known_t` is the time of the last sample
a stride's decision needed, not the time the chunk holding it arrived.

Stages, each in its own module: buffer (the recent samples, gaps), blocks (standstill and
movement blocks, the bootstrap of the swing axis), frame (when the alignment takes in what, and
re-estimates), alignment (board -> segment frame), segmentation (IC, TO), metrics (wobble, landing
load, timing).  This module is the stride loop: it searches the next stance, decides whether it is
a stride and of which kind, and hands its window to the metrics.  Before the swing axis is known
(the first BOOTSTRAP_S to BOOTSTRAP_MAX_S seconds of movement, blocks.py) the driver keeps every
sample since the movement began; once it is, it segments from there, so the first strides of a run
are reported too, later than the usual bound of 60 ms after toe-off.
"""

from __future__ import annotations

import numpy as np

from stridecue.errors import UserError
from stridecue.link.samples import SampleBlock
from stridecue.analysis.guards import RepeatCounter, check_rate, judge_repeats
from stridecue.analysis.alignment import Alignment, knee_end_sign, medial_sign
from stridecue.analysis.blocks import BlockStatistics
from stridecue.analysis.buffer import SampleBuffer
from stridecue.analysis.frame import FrameSchedule
from stridecue.analysis.metrics import WARMUP, StrideMetrics, StrideWindow
from stridecue.analysis.segmentation import Segmenter, SegmentationSettings, Stance
from stridecue.analysis.signals import NEED_MORE, Signals, smooth_exact
from stridecue.analysis.stride import Stride

# Wobble is withheld (strides still counted, no cue) for the first strides of a recording, while the
# frame rests on few gait cycles, and whenever it is trusted less than this: on one stance its long
# axis is off by 17 deg (median) on real legs and the thigh's medio-lateral axis can point the wrong
# way (issue 14, real running motion from markers).
WARMUP_STRIDES = 5
MIN_FRAME_CONFIDENCE = 0.5
HORIZON_S = 1.2  # how far ahead of the cursor a search looks at first


class StreamingStrideAnalyzer:
    """Streaming stride analysis of one sensor (one leg, one segment).

    Parameters: mount ("shin" or "thigh"), leg ("left" or "right"), rate_hz (the sensor's sample
    rate; a block's own rate wins), sensor (slot in the run), accel_only (None: decide from the data:
    a block without a gyroscope range), settings (SegmentationSettings), deferred (compute metrics
    in batches at the end of each push: what the offline driver asks for; same numbers), keep_traces
    (keep each stride's frontal-plane angle trace in `traces_`, for the two-sensor knee angle).
    Results: `alignment_` (the frame in use), `strides_` (count emitted), `traces_`.
    """

    def __init__(self, mount: str = "shin", leg: str = "left", rate_hz: float = 416.0, sensor: int = 0,
                 accel_only: bool | None = None, settings: SegmentationSettings | None = None,
                 deferred: bool = False, keep_traces: bool = False):
        try:
            knee_end_sign(mount)
            medial_sign(leg)
        except ValueError as e:
            raise UserError(str(e)) from None
        if not (rate_hz and np.isfinite(rate_hz) and rate_hz > 0):
            raise UserError(f"sample rate must be a positive number of Hz, not {rate_hz!r}")
        self.mount = mount
        self.leg = leg
        self.rate = float(rate_hz)
        self.sensor = sensor
        self.accel_only = accel_only
        self.settings = settings or SegmentationSettings()
        self.deferred = deferred
        self.keep_traces = keep_traces
        self.traces_: list[np.ndarray] = []  # with keep_traces: frontal-plane angle (deg) IC -> TO per stride
        self.strides_ = 0
        self._frame: FrameSchedule | None = None
        self._started = False

    @property
    def alignment_(self) -> Alignment | None:
        """The frame in use (kept across a restart at another rate until a new one is estimated)."""
        return self._frame.alignment_ if self._frame is not None else None

    # -- public API -----------------------------------------------------------------

    def push(self, block: SampleBlock) -> list[Stride]:
        if len(block) == 0:
            return []
        out: list[Stride] = []
        if self._started and block.rate > 0 and block.rate != self.rate:
            # The sensor was set to another rate mid-run: what came before is finished, and the
            # analysis starts again on the new clock (the frame is found again too).
            out = self.finish()
            self._started = False
        if not self._started:
            self._start(block)
        self._append(block)
        return out + self._advance(final=False)

    def gap(self, first_index: int, count: int) -> None:
        """Samples [first_index, first_index + count) will never arrive.  Nothing to do here: the next
        block's sample counter shows the jump, and the gap is bridged or breaks the stride chain when
        the samples after it arrive (the pipeline calls this for sources that need to know earlier)."""

    def finish(self) -> list[Stride]:
        if not self._started:
            return []
        out = self._advance(final=True)
        out.extend(self._flush())
        self._catch_up_frame()
        return out

    # -- setup ------------------------------------------------------------------------

    def _start(self, block: SampleBlock) -> None:
        self._started = True
        if block.rate and block.rate > 0:
            self.rate = float(block.rate)
        if self.accel_only is None:
            self.accel_only = block.gyro_code == 0
        # one path for live, replay and imported runs: a rate the analysis cannot use is refused
        check_rate(self.rate, not self.accel_only, f"sensor {self.sensor}")
        self._repeat_check = True  # until enough movement was seen to judge stair steps
        self._repeat_counter = None
        first = int(block.index[0])
        self._buf = SampleBuffer(first, self.rate)
        self._stream_start = first
        self._segmenter = Segmenter(self.rate, accel_only=self.accel_only, settings=self.settings, mount=self.mount)
        self._blocks = BlockStatistics(self.mount, self.rate, self.accel_only, first)
        self._frame = FrameSchedule(self.mount, self.rate, self.accel_only, alignment=self.alignment_,
                                    on_axis_flip=self._axis_flipped)
        self._metrics = StrideMetrics(self.mount, self.leg, self.rate)
        self._cursor = first
        self._prev_ic: int | None = None
        self._recent_strides: list[float] = []
        self._running_paced = True  # (accelerometer only) the stride before was at a running pace, or none
        self._der_end = first  # derived signals are final before this sample
        self._pending: list[tuple[dict, StrideWindow]] = []  # (a Stride's fields but the metrics', window)

    # -- samples in ---------------------------------------------------------------------

    def _append(self, block: SampleBlock) -> None:
        index = np.asarray(block.index, np.int64)
        keep = index >= self._buf.next_
        if not np.all(keep):  # duplicates or late samples: the first copy wins
            index = index[keep]
            if len(index) == 0:
                return
            raw = block.raw[keep]
            clipped = block.clipped[keep]
        else:
            raw = block.raw
            clipped = block.clipped
        if self._repeat_check:
            self._count_repeats(raw, block.accel_g)
        acc = raw[:, :3] * (block.accel_g / 32768.0)
        gyr = raw[:, 3:] * (block.gyro_code * 125 / 32768.0)
        self._buf.take(index, acc, gyr, clipped)
        self._blocks.update(self._buf, collect_motion=self._frame.cycles_ == 0)
        self._take_swing_axis()

    def _count_repeats(self, raw: np.ndarray, accel_g: float) -> None:
        """Stair steps (guards.RepeatCounter): a recording whose values repeat while the leg moves
        (a slow sensor written out at a higher rate) is judged by its effective rate, and refused
        below what the analysis needs."""
        if self._repeat_counter is None:
            self._repeat_counter = RepeatCounter(self.rate, acc_scale=accel_g / 32768.0)
        self._repeat_counter.feed(raw)
        found = self._repeat_counter.result()
        if found is not None:
            self._repeat_check = False
            judge_repeats(*found, self.rate, not self.accel_only, f"sensor {self.sensor}")

    def _take_swing_axis(self) -> None:
        """The bootstrap's swing axis (blocks.py), once found, is the frame's and the search's."""
        if self._frame.swing_axis_ is None and self._blocks.swing_axis_ is not None:
            self._frame.set_swing_axis(self._blocks.swing_axis_)

    # -- the stride loop ----------------------------------------------------------------

    def _advance(self, final: bool) -> list[Stride]:
        """Every stance the samples so far decide, as strides (emitted now, or at the end of the
        push when deferred)."""
        out: list[Stride] = []
        quiet_end = self._blocks.quiet_until_ - int(round(1.0 * self.rate))  # the standstill before the run
        if self.strides_ == 0 and self._cursor < quiet_end:
            self._cursor = quiet_end  # (same place however the samples arrive: fixed by the blocks)
        if not self.accel_only and self._frame.swing_axis_ is None:
            if not final or not self._blocks.stats_:
                self._trim()
                return out
            # a recording shorter than the bootstrap: use what movement there is
            if not self._blocks.has_motion():
                return out
            self._blocks.bootstrap(self._buf.end)
            self._take_swing_axis()
        self._catch_up_frame()  # the cycles of the last push's strides (see _stride)
        while True:
            stance = self._next_stance(final)
            if stance is None:
                break
            self._cursor = stance.to + 1
            self._stride(stance)
        out.extend(self._flush() if not self.deferred or final else [])
        self._trim()
        return out

    def _next_stance(self, final: bool) -> Stance | None:
        """The next stance after the cursor, or None when the samples so far do not decide one.

        Looks at a bounded stretch ahead of the cursor (a whole recording at once would make the
        offline driver quadratic); a search that needs more looks further.  Decisions never depend
        on the stretch: it is just where the samples "so far" end."""
        available = self._buf.end
        seg = self._segmenter
        base_horizon = int(round(HORIZON_S * self.rate))
        horizon = base_horizon
        while True:
            lo = max(self._buf.start, self._cursor - seg.lookback)
            hi = min(available, max(self._cursor, lo) + horizon)
            if hi - lo < 4:
                return None
            sig = self._signals(lo, hi)
            # (a search looks back `lookback` samples, except from the first sample of the stream)
            first = lo if lo == self._stream_start else lo + seg.lookback
            result = seg.next_stance(sig, max(self._cursor, first), hi, final=final and hi == available)
            if result is NEED_MORE or (isinstance(result, tuple) and result[1] <= self._cursor):
                if hi < available:
                    horizon *= 2
                    continue
                return None
            if isinstance(result, tuple):  # ("skip", position): nothing to find before there
                self._cursor = result[1]
                horizon = base_horizon
                continue
            return result

    def _signals(self, a: int, b: int) -> Signals:
        acc = self._buf.view(a, b, "acc")
        if self.accel_only:
            return Signals(a, acc, None, self.rate, self._segmenter.smooth_half)
        self._derive(b)
        v = self._buf.view
        return Signals.from_derived(a, acc, v(a, b, "jerk"), v(a, b, "ws"), v(a, b, "dws"), self.rate)

    def _derive(self, upto: int) -> None:
        """Jerk, smoothed sagittal rate and its derivative up to sample `upto`, from where they were
        last left (and the few samples before whose smoothing the new ones complete).  Each value
        depends on its neighbours only and is computed the same way at every position: the same
        however the samples arrive and however far ahead a search looks."""
        buf = self._buf
        h = self._segmenter.smooth_half
        end = min(buf.end, upto + h + 3)
        a = max(buf.start, self._der_end - (h + 2))
        if end <= a:
            return
        ctx = max(buf.start, a - (h + 2))
        acc = buf.view(ctx, end, "acc")
        jerk = np.zeros(end - ctx)
        if end - ctx > 1:
            jerk[1:] = np.linalg.norm(np.diff(acc, axis=0), axis=1) * self.rate
        ws = smooth_exact(buf.view(ctx, end, "gyr") @ self._frame.swing_axis_, h)
        dws = np.full(end - ctx, np.nan)
        if end - ctx > 2:
            dws[1:-1] = (ws[2:] - ws[:-2]) * (0.5 * self.rate)
        k = a - ctx
        buf.view(a, end, "jerk")[:] = jerk[k:]
        buf.view(a, end, "ws")[:] = ws[k:]
        buf.view(a, end, "dws")[:] = dws[k:]
        if ctx == buf.start and a == buf.start:
            buf.view(a, a + 1, "jerk")[:] = 0.0
        self._der_end = max(a, end - (h + 2))

    def _axis_flipped(self) -> None:
        """The frame reversed the swing axis: the search starts afresh, and the sagittal rate is
        derived again from the search's look-back on."""
        self._segmenter.forget()
        h = self._segmenter.smooth_half
        self._der_end = max(self._buf.start, self._cursor - self._segmenter.lookback - (h + 2))

    # -- one stride -------------------------------------------------------------------

    def _stride(self, st: Stance) -> None:
        """A stance found by the search becomes a stride (queued for the metrics, see _flush), unless
        its contact time is implausible, a long gap lies inside it, or it is a second contact
        inside one stride."""
        s = self.settings
        contact = (st.to - st.ic) / self.rate
        if not (s.min_contact_s <= contact <= s.max_contact_s):
            return
        if self._buf.broken_between(st.ic, st.to + 1):
            return
        prev = self._prev_ic
        timing = self._stride_time(st)
        if timing is None:
            return
        stride_time, typical, recent = timing
        self._prev_ic = st.ic
        if self.accel_only:
            kind = self._kind_accel(st, stride_time, typical, recent)
        else:
            kind = self._kind_gyro(st, contact, stride_time)
        cycle_start = prev if (stride_time is not None) else max(self._buf.start, st.ic - int(round(0.7 * self.rate)))
        cycle_start = max(cycle_start, self._buf.start)
        self._queue(st, kind, stride_time, cycle_start)

    def _stride_time(self, st: Stance) -> tuple[float | None, float, list[float]] | None:
        """(stride time or None when the chain is broken, the typical stride time of the last few,
        those sorted), or None for a second contact inside one stride.  Keeps the recent strides."""
        s = self.settings
        prev = self._prev_ic
        stride_time = None
        typical = 0.0
        recent: list[float] = []
        if prev is not None and not self._buf.broken_between(prev, st.ic + 1):
            dt = (st.ic - prev) / self.rate
            recent = sorted(self._recent_strides)
            typical = recent[len(recent) // 2] if recent else 0.0
            if dt < s.min_stride_s or (not self.accel_only and dt < s.min_stride_share * typical):
                # a second contact inside one stride (a bump of the walking thigh can pass for a
                # swing): cadence does not halve from one stride to the next.  Not without a
                # gyroscope: there a missed impact is more likely than a double one, and the check
                # would then reject the real strides that follow.
                return None
            if dt <= s.max_stride_s:
                stride_time = dt
        if stride_time is None:
            self._recent_strides.clear()  # a new bout: its pace is not known yet
        else:
            # a stride after a missed one is long: it must not make the next real ones look too short
            self._recent_strides.append(min(stride_time, 1.5 * typical) if self._recent_strides else stride_time)
            del self._recent_strides[:-5]
        return stride_time, typical, recent

    def _kind_accel(self, st: Stance, stride_time: float | None, typical: float, recent: list[float]) -> str:
        """Run or walk, from the accelerometer alone: the pace, and the impact of a bout's first stride."""
        s = self.settings
        if stride_time is None:
            self._running_paced = True  # (the pace of a new bout is not known yet)
            return "run" if (st.impact_g or 0.0) >= s.run_first_impact_g else "walk"
        kind = "run" if stride_time <= s.run_max_stride_s else "walk"
        walking = s.accel_walk_checks and len(recent) >= 3 and typical > s.run_max_stride_s
        if kind == "run" and walking and not (self._running_paced and stride_time >= s.min_stride_share * typical):
            # In a walk a swing's bump can pass for an impact; the strides it makes are
            # short where the steps around them are not.  Running from a walk starts
            # with a running-paced stride, and cadence does not halve from one to the next.
            kind = "walk"
        self._running_paced = stride_time <= s.run_max_stride_s
        return kind

    def _kind_gyro(self, st: Stance, contact: float, stride_time: float | None) -> str:
        """Run or walk, with a gyroscope: duty factor and cadence, contact time, the shank's turn."""
        s = self.settings
        if stride_time is not None:
            # running has a flight phase (duty factor below one half) and a quick cadence
            running = contact / stride_time <= s.run_duty_factor and stride_time <= s.run_max_stride_s
            kind = "run" if running else "walk"
        else:
            kind = "run" if contact <= s.run_first_contact_s else "walk"
        if kind == "run" and contact > s.max_contact_run_s:
            kind = "walk"
        if kind == "run" and self.mount != "thigh":
            # From contact to toe-off a running shank turns through 30-50 deg; a "toe-off"
            # found after much less is a walking stance's mid-stance (its contact time is then
            # too short for the duty factor to tell)
            turned = -float(np.sum(self._buf.view(st.ic, st.to + 1, "ws"))) / self.rate
            if turned < s.run_min_shank_turn_deg:
                kind = "walk"
        return kind

    def _queue(self, st: Stance, kind: str, stride_time: float | None, cycle_start: int) -> None:
        """The stride's timing and setup (the fields of its Stride the metrics do not give) and its
        window in the segment frame, for the metrics (_flush)."""
        rate = self.rate
        known = st.known if self._blocks.known_ is None else max(st.known, self._blocks.known_)
        gap = bool(np.any(self._buf.view(cycle_start, st.to + 1, "filled")))
        alignment = self._frame_for(st, cycle_start)
        acc = alignment.to_segment(self._buf.view(cycle_start, st.to + 1, "acc"))
        gyr = None if self.accel_only else alignment.to_segment(self._buf.view(cycle_start, st.to + 1, "gyr"))
        settling = self.strides_ < WARMUP_STRIDES or alignment.confidence < MIN_FRAME_CONFIDENCE
        window = StrideWindow(acc=acc, gyr=gyr, clipped=self._buf.view(cycle_start, st.to + 1, "clipped").copy(),
                              ic=st.ic - cycle_start, to=st.to - cycle_start, cycle_start=0,
                              whole_cycle=stride_time is not None and not gap,
                              withhold=WARMUP if settling and not self.accel_only else None)
        timing = {
            "sensor": self.sensor,
            "leg": self.leg,
            "mount": self.mount,
            "kind": kind,
            "ic_t": st.ic / rate,
            "to_t": st.to / rate,
            "known_t": known / rate,
            "stride_time_s": stride_time,
            "cadence_spm": (120.0 / stride_time) if stride_time else None,
            "gap": gap,
            "accel_only": bool(self.accel_only),
            "alignment_confidence": float(alignment.confidence),
        }
        self._pending.append((timing, window))
        self.strides_ += 1

    def _frame_for(self, st: Stance, cycle_start: int) -> Alignment:
        """The frame this stride is measured in (frame.FrameSchedule)."""
        if self.accel_only or self.alignment_ is None or self._frame.reestimates_next():
            self._catch_up_frame()
            return self._frame.after_stride(st, cycle_start, self._buf, self._blocks, self._prev_ic is not None)
        # The frame stays as it is (and so does the swing axis the search uses): this stride's
        # cycle joins its statistics at the start of the next push, in order, before any
        # re-estimate, so the push that emits a stride does not also do that; the numbers are
        # those of taking it in at once.
        self._frame.defer(st, cycle_start)
        return self.alignment_

    def _catch_up_frame(self) -> None:
        self._frame.catch_up(self._buf, self._blocks, self._prev_ic is not None)

    # -- strides out ------------------------------------------------------------------

    def _flush(self) -> list[Stride]:
        if not self._pending:
            return []
        timings = [t for t, _ in self._pending]
        values = self._metrics.compute([w for _, w in self._pending])
        if self.keep_traces:
            self.traces_.extend(self._metrics.frontal_angle_)
        self._pending = []
        # keywords: a field missing from both parts, or given by both, fails here, not downstream
        return [Stride(**t, **v) for t, v in zip(timings, values)]

    def _trim(self) -> None:
        keep = self._cursor - self._segmenter.lookback - int(round(2.5 * self.rate))
        if self._prev_ic is not None:
            keep = min(keep, self._prev_ic - 2)
        if self._frame.pending_:
            keep = min(keep, self._frame.pending_[0][1])
        if self._frame.swing_axis_ is None and not self.accel_only:
            # until the frame is known keep everything since the movement began (_advance moved the
            # cursor past the standstill before it)
            keep = self._cursor - self._segmenter.lookback - int(round(2.5 * self.rate))
        if keep - self._buf.start > 8 * 4096:
            self._buf.drop_before(keep)
        self._blocks.trim()
        self._buf.forget_breaks()
