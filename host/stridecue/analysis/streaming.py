"""The stride analysis driver: samples in, finished strides out, for live runs and recordings alike.

    a = StreamingStrideAnalyzer(mount="shin", leg="left", rate_hz=416.0, sensor=0)
    strides = a.push(block)    # SampleBlock -> strides completed by these samples (dicts)
    a.gap(first_index, count)  # samples that will never arrive
    strides = a.finish()       # end of the stream

The offline driver (run.py) is this same object fed with whole recordings, so a live run and its
re-analysis agree stride for stride: every decision depends on the samples around an event, never
on how the samples were chunked (see segmentation.py), and `known_t` is the time of the last sample
a stride's decision needed, not the time the chunk holding it arrived.

Stages, each in its own module: alignment (board -> segment frame), segmentation (IC, TO),
metrics (wobble, landing load, timing).  Before the swing axis is known (the first BOOTSTRAP_S to
BOOTSTRAP_MAX_S seconds of movement) the driver keeps every sample since the movement began;
once it is, it segments from there, so the first strides of a run are reported too, later than
the usual bound of 60 ms after toe-off.
"""

from __future__ import annotations

import numpy as np

from stridecue.errors import UserError
from stridecue.link.samples import SampleBlock
from stridecue.analysis.guards import RepeatCounter, check_rate, judge_repeats
from stridecue.analysis.alignment import Alignment, AlignmentEstimator, cycle_vertical, gravity_only_alignment, knee_end_sign, medial_sign, swing_votes
from stridecue.analysis.metrics import WARMUP, StrideMetrics, StrideWindow
from stridecue.analysis.segmentation import NEED_MORE, Segmenter, SegmentationSettings, Signals, Stance, smooth_exact

BLOCK_S = 0.25  # alignment statistics are taken over fixed blocks of the sample counter
BOOTSTRAP_S = 2.0  # seconds of movement before the swing axis is trusted ...
BOOTSTRAP_MAX_S = 3.0  # ... or this many when the direction of the swing is not clear sooner
INTERPOLATE_GAP_S = 0.05  # shorter gaps are bridged by interpolation; longer ones break the stride chain
STILL_GYRO_DPS = 8.0  # a block is standstill when the gyro varies less than this (rms) ...
STILL_ACC_G = 0.03  # ... and the acceleration magnitude less than this (std), near 1 g
MOVING_GYRO_DPS = 60.0  # a block is movement above this rms angular rate
MOVING_ACC_G = 0.25  # (accelerometer only) ... or this std of the acceleration magnitude
MAX_ALIGNMENT_CYCLES = 300  # after this many strides the frame stops changing
SETTLING_CYCLES = 20  # the frame is re-estimated after each of the first strides, then every 10th
# Wobble is withheld (strides still counted, no cue) for the first strides of a recording, while the
# frame rests on few gait cycles, and whenever it is trusted less than this: on one stance its long
# axis is off by 17 deg (median) on real legs and the thigh's medio-lateral axis can point the wrong
# way (issue 14, real running motion from markers).
WARMUP_STRIDES = 5
MIN_FRAME_CONFIDENCE = 0.5
HORIZON_S = 1.2  # how far ahead of the cursor a search looks at first


class _Buffer:
    """The recent samples of one sensor in physical units, with gap marks, by absolute sample index."""

    NAMES = ("acc", "gyr", "clipped", "filled", "jerk", "ws", "dws")

    def __init__(self):
        self.start = 0  # absolute index of element 0
        self.n = 0
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
        for name in _Buffer.NAMES:
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

    def drop_before(self, index: int) -> None:
        k = min(max(0, index - self.start), self.n)
        if k == 0:
            return
        for name in _Buffer.NAMES:
            arr = getattr(self, name)
            arr[: self.n - k] = arr[k : self.n]
        self.n -= k
        self.start += k

    def view(self, a: int, b: int, name: str) -> np.ndarray:
        return getattr(self, name)[a - self.start : b - self.start]


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
        self.alignment_: Alignment | None = None
        self.strides_ = 0
        self._started = False

    # -- public API -----------------------------------------------------------------

    def push(self, block: SampleBlock) -> list[dict]:
        if len(block) == 0:
            return []
        out: list[dict] = []
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

    def finish(self) -> list[dict]:
        if not self._started:
            return []
        out = self._advance(final=True)
        out.extend(self._flush())
        self._update_frame()
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
        self._buf = _Buffer()
        self._buf.start = int(block.index[0])
        self._stream_start = self._buf.start
        self._next = int(block.index[0])
        self._segmenter = Segmenter(self.rate, accel_only=self.accel_only, settings=self.settings, mount=self.mount)
        self._estimator = AlignmentEstimator(self.mount)
        self._metrics = StrideMetrics(self.mount, self.leg, self.rate)
        self._block_len = max(8, int(round(BLOCK_S * self.rate)))
        self._block_next = (self._buf.start // self._block_len + 1) * self._block_len  # first whole block
        # (end, kind, acc sum of a standstill, samples, gyro samples of movement before any stride)
        self._block_stats: list[tuple] = []
        self._block_used = 0  # block stats consumed by the alignment estimator
        self._moving_s = 0.0
        self._boot_axis: np.ndarray | None = None  # board-frame "right" for segmentation
        self._boot_known = None
        self._cursor = self._buf.start
        self._prev_ic: int | None = None
        self._recent_strides: list[float] = []
        self._running_paced = True  # (accelerometer only) the stride before was at a running pace, or none
        self._breaks: list[tuple[int, int]] = []  # [first, end) of gaps too long to bridge
        self._cycles_added = 0
        self._der_end = self._buf.start  # derived signals are final before this sample
        self._quiet = True  # no block but standstill so far
        self._quiet_until = self._buf.start
        self._midstance_added = 0
        self._estimated_at = -1
        self._pending: list[tuple[dict, StrideWindow]] = []
        self._frame_updates: list[tuple[Stance, int]] = []  # strides whose cycles the frame has not taken in yet

    # -- samples in ---------------------------------------------------------------------

    def _append(self, block: SampleBlock) -> None:
        index = np.asarray(block.index, np.int64)
        keep = index >= self._next
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
        # split at jumps of the counter
        jumps = np.flatnonzero(np.diff(index) != 1) + 1
        bounds = [0, *jumps.tolist(), len(index)]
        for a, b in zip(bounds[:-1], bounds[1:]):
            if b <= a:
                continue
            first = int(index[a])
            if first < self._next:  # out of order inside a block: drop the stale part
                skip = self._next - first
                a += skip
                if a >= b:
                    continue
                first = int(index[a])
            if first > self._next:
                self._fill(first, acc[a], gyr[a])
            self._buf.append(acc[a:b], gyr[a:b], clipped[a:b], np.zeros(b - a, bool))
            self._next = first + (b - a)
        self._update_blocks()

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

    def _fill(self, first: int, acc_next: np.ndarray, gyr_next: np.ndarray) -> None:
        """Samples [self._next, first) are missing: bridge a short gap, mark a long one as a break."""
        count = first - self._next
        if self._buf.n:
            acc_prev = self._buf.acc[self._buf.n - 1]
            gyr_prev = self._buf.gyr[self._buf.n - 1]
        else:
            acc_prev, gyr_prev = acc_next, gyr_next
        frac = (np.arange(1, count + 1) / (count + 1))[:, None]
        acc = acc_prev + (acc_next - acc_prev) * frac
        gyr = gyr_prev + (gyr_next - gyr_prev) * frac
        self._buf.append(acc, gyr, np.zeros(count, bool), np.ones(count, bool))
        if count > INTERPOLATE_GAP_S * self.rate:
            self._breaks.append((self._next, first))
        self._next = first

    def _update_blocks(self) -> None:
        """Statistics of each whole block of the sample counter that has arrived since last time
        (all at once: the blocks are fixed by the counter, not by how the samples arrived)."""
        L = self._block_len
        first = max(self._block_next - L, self._buf.start)
        first += (-(first - (self._block_next - L))) % L  # stay on block boundaries
        count = (self._buf.end - first) // L
        if count <= 0:
            return
        a = first - self._buf.start
        acc = self._buf.acc[a : a + count * L].reshape(count, L, 3)
        gyr = self._buf.gyr[a : a + count * L].reshape(count, L, 3)
        filled = self._buf.filled[a : a + count * L].reshape(count, L).any(axis=1)
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
        self._block_next = first + (count + 1) * L
        if self._quiet:  # the standstill before the run: nothing there to segment
            calm = still & ~filled
            k = int(np.argmin(calm)) if not calm.all() else count
            self._quiet_until = first + k * L
            self._quiet = k == count
        keep_motion = self._cycles_added == 0 and not self.accel_only and self._boot_axis is None
        for i in np.flatnonzero((still | moving) & ~filled):
            b = first + (int(i) + 1) * L
            if still[i]:
                self._block_stats.append((b, "still", acc[i].sum(axis=0), L, None))
                continue
            self._moving_s += L / self.rate
            if keep_motion:
                self._block_stats.append((b, "move", None, L, gyr[i].copy()))
                if self._moving_s >= BOOTSTRAP_S and self._bootstrap(b, final=self._moving_s >= BOOTSTRAP_MAX_S):
                    keep_motion = False

    def _bootstrap(self, end: int, final: bool = True) -> bool:
        """The swing axis for segmentation from the movement so far.  Unless `final`, only when the
        direction of the swing is clear (alignment.swing_votes unanimous); else wait for more."""
        moving = [(b, g) for (b, kind, _, _, g) in self._block_stats if kind == "move" and b <= end]
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
        self._boot_axis = axis  # board-frame right
        self._estimator.right_hint = axis
        self._boot_known = end - 1  # the last sample the bootstrap used (end is one past it)
        return True

    # -- the stride loop ----------------------------------------------------------------

    def _advance(self, final: bool) -> list[dict]:
        out: list[dict] = []
        quiet_end = self._quiet_until - int(round(1.0 * self.rate))  # the standstill before the run
        if self.strides_ == 0 and self._cursor < quiet_end:
            self._cursor = quiet_end  # (same place however the samples arrive: fixed by the blocks)
        if not self.accel_only and self._boot_axis is None:
            if not final or not self._block_stats:
                self._trim()
                return out
            # a recording shorter than the bootstrap: use what movement there is
            moving = [g for (_, kind, _, _, g) in self._block_stats if kind == "move"]
            if not moving:
                return out
            self._bootstrap(self._buf.end)
        self._update_frame()  # the cycles of the last push's strides (see _stride)
        available = self._buf.end
        seg = self._segmenter
        base_horizon = int(round(HORIZON_S * self.rate))
        horizon = base_horizon
        while True:
            # Look at a bounded stretch ahead of the cursor (a whole recording at once would make the
            # offline driver quadratic); a search that needs more looks further.  Decisions never
            # depend on the stretch: it is just where the samples "so far" end.
            lo = max(self._buf.start, self._cursor - seg.lookback)
            hi = min(available, max(self._cursor, lo) + horizon)
            if hi - lo < 4:
                break
            sig = self._signals(lo, hi)
            # (a search looks back `lookback` samples, except from the first sample of the stream)
            first = lo if lo == self._stream_start else lo + seg.lookback
            result = seg.next_stance(sig, max(self._cursor, first), hi, final=final and hi == available)
            if result is NEED_MORE:
                if hi < available:
                    horizon *= 2
                    continue
                break
            if isinstance(result, tuple):
                _, position = result
                if position <= self._cursor:
                    if hi < available:
                        horizon *= 2
                        continue
                    break
                self._cursor = position
                horizon = base_horizon
                continue
            horizon = base_horizon
            stance: Stance = result
            self._cursor = stance.to + 1
            stride = self._stride(stance)
            if stride is not None:
                out.append(stride)
        out.extend(self._flush() if not self.deferred or final else [])
        self._trim()
        return out

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
        ws = smooth_exact(buf.view(ctx, end, "gyr") @ self._boot_axis, h)
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

    def _axis_changed(self) -> None:
        """The sagittal rate is to be derived again from the search's look-back on."""
        h = self._segmenter.smooth_half
        self._der_end = max(self._buf.start, self._cursor - self._segmenter.lookback - (h + 2))

    def _broken_between(self, a: int, b: int) -> bool:
        return any(first < b and end > a for first, end in self._breaks)

    def _stride(self, st: Stance) -> dict | None:
        s = self.settings
        rate = self.rate
        contact = (st.to - st.ic) / rate
        if not (s.min_contact_s <= contact <= s.max_contact_s):
            return None
        if self._broken_between(st.ic, st.to + 1):
            return None
        prev = self._prev_ic
        stride_time = None
        typical = 0.0
        recent: list[float] = []
        if prev is not None and not self._broken_between(prev, st.ic + 1):
            dt = (st.ic - prev) / rate
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
        self._prev_ic = st.ic
        if self.accel_only:
            if stride_time is not None:
                kind = "run" if stride_time <= s.run_max_stride_s else "walk"
                walking = s.accel_walk_checks and len(recent) >= 3 and typical > s.run_max_stride_s
                if kind == "run" and walking and not (self._running_paced and stride_time >= s.min_stride_share * typical):
                    # In a walk a swing's bump can pass for an impact; the strides it makes are
                    # short where the steps around them are not.  Running from a walk starts
                    # with a running-paced stride, and cadence does not halve from one to the next.
                    kind = "walk"
                self._running_paced = stride_time <= s.run_max_stride_s
            else:
                kind = "run" if (st.impact_g or 0.0) >= s.run_first_impact_g else "walk"
                self._running_paced = True  # (the pace of a new bout is not known yet)
        else:
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
                turned = -float(np.sum(self._buf.view(st.ic, st.to + 1, "ws"))) / rate
                if turned < s.run_min_shank_turn_deg:
                    kind = "walk"
        cycle_start = prev if (stride_time is not None) else max(self._buf.start, st.ic - int(round(0.7 * rate)))
        cycle_start = max(cycle_start, self._buf.start)
        known = st.known if self._boot_known is None else max(st.known, self._boot_known)
        gap = bool(np.any(self._buf.view(cycle_start, st.to + 1, "filled")))
        n_next = self._cycles_added + len(self._frame_updates) + 1  # the frame is re-estimated with this cycle when ...
        reestimate = n_next <= SETTLING_CYCLES or (n_next % 10 == 0 and n_next <= MAX_ALIGNMENT_CYCLES)
        if self.accel_only or self.alignment_ is None or reestimate:
            self._update_frame()
            alignment = self._alignment_for(st, cycle_start)
        else:
            # The frame stays as it is (and so does the swing axis the search uses): this stride's
            # cycle joins its statistics at the start of the next push, in order, before any
            # re-estimate, so the push that emits a stride does not also do that; the numbers are
            # those of taking it in at once.
            alignment = self.alignment_
            self._frame_updates.append((st, cycle_start))
        acc = alignment.to_segment(self._buf.view(cycle_start, st.to + 1, "acc"))
        gyr = None if self.accel_only else alignment.to_segment(self._buf.view(cycle_start, st.to + 1, "gyr"))
        settling = self.strides_ < WARMUP_STRIDES or alignment.confidence < MIN_FRAME_CONFIDENCE
        window = StrideWindow(acc=acc, gyr=gyr, clipped=self._buf.view(cycle_start, st.to + 1, "clipped").copy(),
                              ic=st.ic - cycle_start, to=st.to - cycle_start, cycle_start=0,
                              whole_cycle=stride_time is not None and not gap,
                              withhold=WARMUP if settling and not self.accel_only else None)
        record = {
            "sensor": self.sensor,
            "leg": self.leg,
            "mount": self.mount,
            "kind": kind,
            "ic_t": st.ic / rate,
            "to_t": st.to / rate,
            "known_t": known / rate,
            "contact_time_s": contact,
            "stride_time_s": stride_time,
            "cadence_spm": (120.0 / stride_time) if stride_time else None,
            "gap": gap,
            "accel_only": bool(self.accel_only),
            "alignment_confidence": float(alignment.confidence),
        }
        self._pending.append((record, window))
        self.strides_ += 1
        return None

    def _flush(self) -> list[dict]:
        if not self._pending:
            return []
        records = [r for r, _ in self._pending]
        values = self._metrics.compute([w for _, w in self._pending])
        if self.keep_traces:
            self.traces_.extend(self._metrics.frontal_angle_)
        self._pending = []
        out = []
        for r, v in zip(records, values):
            clipped = v.pop("clipped")
            r.update(v)
            r["clipped"] = clipped
            out.append(_ordered(r))
        return out

    def _update_frame(self) -> None:
        for st, cycle_start in self._frame_updates:
            self._alignment_for(st, cycle_start)
        self._frame_updates = []

    def _alignment_for(self, st: Stance, cycle_start: int) -> Alignment:
        """The frame after this stride: standstills before its toe-off, the swing of the cycles so far."""
        est = self._estimator
        while self._block_used < len(self._block_stats) and self._block_stats[self._block_used][0] <= st.to:
            _, kind, acc_sum, count, gyr = self._block_stats[self._block_used]
            if kind == "still":
                est.add_standstill_sum(acc_sum, count)
            elif kind == "move" and self._cycles_added == 0 and not self.accel_only:
                est.add_motion(gyr)  # until strides are known, the moving blocks stand in for cycles
            self._block_used += 1
        settled = self._cycles_added >= MAX_ALIGNMENT_CYCLES or self._midstance_added >= MAX_ALIGNMENT_CYCLES
        if settled:
            pass
        elif self.accel_only or self._prev_ic is None or cycle_start >= st.ic:
            self._midstance_added += 1
            mid = st.ic + (st.to - st.ic) // 2
            half = max(1, (st.to - st.ic) // 10)
            est.add_midstance(self._buf.view(mid - half, mid + half + 1, "acc"))
        else:  # the vertical at contact from the whole cycle before it (alignment.cycle_vertical)
            est.add_contact_vertical(cycle_vertical(self._buf.view(cycle_start, st.ic + 1, "acc"),
                                                    self._buf.view(cycle_start, st.ic + 1, "gyr"), -self._boot_axis, self.rate))
        if self.accel_only:
            if not settled or self.alignment_ is None:
                self.alignment_ = gravity_only_alignment(est.gravity_hint(), self.mount)
            return self.alignment_
        if self._cycles_added < MAX_ALIGNMENT_CYCLES and self._prev_ic is not None and cycle_start < st.ic:
            est.add_motion(self._buf.view(cycle_start, st.ic, "gyr"))
            self._cycles_added += 1
        # Re-estimate while the frame is still settling, then every 10 strides, then never: the
        # schedule is fixed by the stride count, so both drivers use the same frame for a stride.
        n = self._cycles_added
        if self.alignment_ is None or (n != self._estimated_at and (n <= SETTLING_CYCLES or n % 10 == 0)):
            if n >= 6 and not est.sign_agrees():
                # the first seconds of movement chose the wrong direction of the swing axis: more
                # cycles say otherwise; segment with the corrected axis from the next stride on
                est.flip_hint()
                self._boot_axis = -self._boot_axis
                self._segmenter.forget()
                self._axis_changed()
            alignment = est.estimate()
            self._estimated_at = n
        else:
            alignment = self.alignment_
        if alignment is None:
            alignment = self.alignment_ or gravity_only_alignment(np.array([0.0, 0.0, 1.0]), self.mount)
        self.alignment_ = alignment
        return alignment

    def _trim(self) -> None:
        keep = self._cursor - self._segmenter.lookback - int(round(2.5 * self.rate))
        if self._prev_ic is not None:
            keep = min(keep, self._prev_ic - 2)
        if self._frame_updates:
            keep = min(keep, self._frame_updates[0][1])
        if self._boot_axis is None and not self.accel_only:
            # until the frame is known keep everything since the movement began (_advance moved the
            # cursor past the standstill before it)
            keep = self._cursor - self._segmenter.lookback - int(round(2.5 * self.rate))
        if keep - self._buf.start > 8 * 4096:
            self._buf.drop_before(keep)
        self._block_stats = self._block_stats[self._block_used :]
        self._block_used = 0
        self._breaks = [(a, b) for a, b in self._breaks if b > self._buf.start]


_ORDER = ("sensor", "leg", "mount", "kind", "ic_t", "to_t", "known_t", "contact_time_s", "stride_time_s",
          "cadence_spm", "wobble_deg", "wobble_note", "wobble_rate_dps", "pta_axial_g", "pta_resultant_g", "loading_rate_gps",
          "clipped", "gap", "accel_only", "alignment_confidence")


def _ordered(r: dict) -> dict:
    return {k: r[k] for k in _ORDER}
