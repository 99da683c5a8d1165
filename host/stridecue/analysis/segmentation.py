"""Stride segmentation: initial contact (IC) and toe-off (TO) of every stance of one leg.

One sensor sees one leg.  Every decision is *local*: it looks at a bounded stretch of samples around
the event (never at the chunk the samples arrived in), so the streaming driver, which sees the data
a notification at a time, and the offline driver, which sees it all at once, take the same
decisions.  A search answers NEED_MORE when the samples that decide it have not arrived yet.

With a gyroscope (shank or thigh), on the sagittal angular rate w (positive = the segment swinging
forward, see alignment.py):

- swing: the largest value of w within 0.35 s either side, above an adaptive threshold (a fraction
  of the recent swing peaks, never below `swing_floor_dps`): the mid-swing peak of every cycle;
- IC: after the swing peak w falls through zero as the segment is retracted for landing; contact
  is the sample before the sharpest sustained change of acceleration (the impact) near that
  crossing, or, on a landing too soft to show one, the first local minimum of w after it;
- TO, shank: the start of the fast backward rotation of early swing (knee flexion once the foot is
  free): a steep fall of w that keeps falling; thigh: where w turns from extension to flexion.
  Either lies before the next swing; without a clear one, the steepest change before the swing.

Accelerometer only (bach2022, adept, imported data): IC from the impact (the largest sharp peak of
the high-passed acceleration magnitude within 0.35 s), TO at the quietest moment after it.
Degraded, and flagged `accel_only` on every stride.

Physiological constraints (SegmentationSettings) reject what cannot be a stance: contacts shorter
or longer than people make them, strides faster than any cadence.  Walking strides (double
support, or a cadence under 133 steps/min) are kept with kind "walk"; standing produces no swing
and stopping ends the strides.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stridecue.analysis.signals import NEED_MORE, Signals, first_peak



@dataclass
class SegmentationSettings:
    """Physiological limits and detector constants (seconds, deg/s, g)."""

    min_contact_s: float = 0.13  # the shortest running contacts (6 m/s and faster) are about 0.15 s
    max_contact_run_s: float = 0.45
    run_min_shank_turn_deg: float = 22.0  # the shank's sagittal rotation over a running contact is 30-50 deg
    max_contact_s: float = 1.10  # slow walking
    min_stride_s: float = 0.45  # 267 steps/min
    min_stride_share: float = 0.65  # ... nor shorter than this share of the runner's recent strides
    max_stride_s: float = 2.0  # 60 steps/min: longer is a pause, not a stride
    swing_floor_dps: float = 100.0
    swing_fraction: float = 0.35  # of the median recent swing peak
    swing_halfwidth_s: float = 0.35  # a swing peak is the largest within this on either side
    landing_search_s: float = 0.45  # swing peak -> the zero crossing before contact
    impact_before_s: float = 0.08  # impact searched this long before ...
    impact_after_s: float = 0.20  # ... and after the zero crossing
    impact_min_gps: float = 60.0  # jerk (g/s) that counts as an impact ...
    impact_sustain_s: float = 0.005  # ... averaged over this long (an impact rings; a glitch does not)
    impact_onset_gyro: float = 1.0  # IC: the sample before the jerk first reaches this share of its peak
    impact_onset_accel: float = 0.1  # (accelerometer only: events are coarser at low sample rates)
    to_confirm_s: float = 0.028  # TO is confirmed by up to this much of what follows it ...
    to_confirm_min_s: float = 0.012  # ... and at least this much
    latency_s: float = 0.058  # a stance is decided at most this long after its toe-off
    to_min_dps2: float = 1500.0  # shank: the early-swing fall of w is at least this steep (deg/s^2) ...
    to_rebound_dps: float = 2.0  # ... keeps falling (never rising more than this per sample) ...
    to_min_fall_dps: float = 80.0  # ... and by at least this much
    smooth_s: float = 0.012  # moving-average half-width of the angular rate
    impact_floor_g: float = 0.8  # accelerometer only: smallest impact (high-passed magnitude)
    impact_fraction: float = 0.35
    impact_halfwidth_s: float = 0.35  # accelerometer only: an impact is the largest peak this far either side
    to_accel_window_s: tuple = (0.15, 0.45)  # ... and toe-off the quietest moment this long after it
    run_duty_factor: float = 0.5  # contact/stride above this is walking (double support)
    run_first_contact_s: float = 0.40  # the first stride (no stride time yet): running below this
    run_max_stride_s: float = 0.90  # a longer stride (under 133 steps/min) is walking; accelerometer only
    run_first_impact_g: float = 3.0  # (contact too rough for a duty factor): first stride: a harder impact
    accel_walk_checks: bool = True  # accelerometer only, inside an established walk: a running stride needs a
    # running-paced one before it and no sudden drop below min_stride_share of the recent strides


class Segmenter:
    """Finds the next stance after a cursor on a stretch of derived signals.

    Parameters: rate_hz, accel_only, settings.  State: recent swing or impact peaks (the adaptive
    threshold).  `next_stance(sig, cursor, available)` returns a Stance, a ("skip", position) pair
    when nothing before `position` can start a stance, or NEED_MORE.
    """

    def __init__(self, rate_hz: float, accel_only: bool = False, settings: SegmentationSettings | None = None,
                 mount: str = "shin"):
        self.rate = float(rate_hz)
        self.mount = mount
        self.accel_only = accel_only
        self.s = settings or SegmentationSettings()
        self._peaks: list[float] = []
        self._threshold: float | None = None
        s = self.s
        self.smooth_half = self.n(s.smooth_s)
        # the longest look back any search needs from its cursor
        self.lookback = self.n(max(s.swing_halfwidth_s, s.impact_halfwidth_s)) + 4 * self.smooth_half + 4

    def n(self, seconds: float) -> int:
        return max(1, int(round(seconds * self.rate)))

    # -- adaptive threshold -------------------------------------------------------------

    def threshold(self) -> float:
        if self._threshold is None:
            s = self.s
            recent = sorted(self._peaks[-7:])
            n = len(recent)
            base = (recent[n // 2] if n % 2 else 0.5 * (recent[n // 2 - 1] + recent[n // 2])) if n else 0.0
            if self.accel_only:
                self._threshold = max(s.impact_floor_g, s.impact_fraction * base)
            else:
                self._threshold = max(s.swing_floor_dps, s.swing_fraction * base)
        return self._threshold

    def note_peak(self, value: float) -> None:
        self._peaks.append(float(value))
        del self._peaks[:-15]
        self._threshold = None

    def forget(self) -> None:
        """After a long gap or a stop the runner may come back at another pace."""
        self._peaks.clear()
        self._threshold = None

    # -- the search ---------------------------------------------------------------------

    def next_stance(self, sig: "Signals", cursor: int, available: int, final: bool = False):
        """final: the stream has ended at `available` (the accelerometer-only search then decides a
        last contact on what there is)."""
        if self.accel_only:
            return self._next_stance_accel(sig, cursor, available, final)
        return self._next_stance_gyro(sig, cursor, available)

    def _next_stance_gyro(self, sig: "Signals", cursor: int, available: int):
        """Four steps, each decided as soon as its samples have arrived: the mid-swing peak, the
        zero crossing of the landing, IC, TO.  Each step answers NEED_MORE, a skip, or its result."""
        half = self.n(self.s.swing_halfwidth_s)
        h = self.smooth_half
        peak = self._swing_peak(sig, cursor, available, half)
        if peak is NEED_MORE or isinstance(peak, tuple):
            return peak
        zc = self._landing_crossing(sig, peak, available)
        if zc is NEED_MORE or isinstance(zc, tuple):
            return zc
        contact = self._initial_contact(sig, peak, zc, available)
        if contact is NEED_MORE:
            return NEED_MORE
        ic, hi = contact
        needed = [peak + half + h + 1, zc + h, hi + h + 2]  # what steps 1-3 waited for
        found = self._toe_off(sig, ic, available)
        if found is NEED_MORE:
            return NEED_MORE
        self.note_peak(sig.ws[peak])
        if found is None:
            return ("skip", sig.start + zc + 1)
        onset, last_used, to_needed = found
        # known: the last sample any step of this decision waited for, so a live run has the stance
        # as soon as that sample arrives, whatever the notifications (never later)
        known = max([last_used] + needed + to_needed)
        return Stance(ic=sig.start + ic, to=sig.start + onset, known=sig.start + known, anchor=sig.start + peak)

    def _swing_peak(self, sig: "Signals", cursor: int, available: int, half: int):
        """Step 1: the mid-swing peak (decidable once `half` samples after it have arrived, plus
        smoothing): its index in sig, a ("skip", position), or NEED_MORE."""
        last = available - half - self.smooth_half - 1
        peak = first_peak(sig.ws, cursor - sig.start, last - sig.start, self.threshold(), half, half,
                          edge=self.lookback)
        if peak is None:
            return ("skip", max(cursor, last))
        return peak

    def _landing_crossing(self, sig: "Signals", peak: int, available: int):
        """Step 2: the zero crossing of the landing after the swing peak (decided as soon as it has
        arrived): its index in sig, a ("skip", position) when there is none, or NEED_MORE."""
        ws = sig.ws
        end = peak + self.n(self.s.landing_search_s)
        seen = min(end, available - sig.start - self.smooth_half)  # w is final before this
        below = np.flatnonzero(ws[peak:seen] <= 0.0)
        if len(below) == 0:
            if seen < end:
                return NEED_MORE
            self.note_peak(ws[peak])
            return ("skip", sig.start + peak + 1)
        return peak + int(below[0])

    def _initial_contact(self, sig: "Signals", peak: int, zc: int, available: int):
        """Step 3: IC, the start of the impact near the crossing, else the first minimum of w after
        it: (ic, end of the search) as indices in sig, or NEED_MORE."""
        s = self.s
        ws = sig.ws
        lo = max(peak + 1, zc - self.n(s.impact_before_s))
        hi = zc + self.n(s.impact_after_s)
        if sig.start + hi + self.smooth_half + 2 >= available:
            return NEED_MORE
        jerk = sig.jerk_sustained(self.n(s.impact_sustain_s), lo, hi)
        k = lo + int(np.argmax(jerk[lo:hi]))
        if jerk[k] >= s.impact_min_gps:
            ic = self._impact_onset(jerk, k, s.impact_onset_gyro)
        else:
            ic = zc
            stop = min(hi, len(ws) - 1)
            while ic + 1 < stop and ws[ic + 1] < ws[ic]:
                ic += 1
        return ic, hi

    def _toe_off(self, sig: "Signals", ic: int, available: int):
        """Step 4: TO; each candidate is decided once the samples that confirm it have arrived.
        Returns (onset, last sample used, the samples the decision waited for), None (no toe-off:
        skip this swing), or NEED_MORE."""
        s = self.s
        ws = sig.ws
        first = ic + self.n(s.min_contact_s)
        limit = ic + self.n(s.max_contact_s) + 1
        avail = available - sig.start
        h = self.smooth_half
        find = self._toe_off_thigh if self.mount == "thigh" else self._toe_off_shank
        # toe-off lies before the next swing: candidates are looked at up to the swing once it is
        # known, else as far as the samples go (whether the swing began before a candidate is then
        # checked from the samples up to the candidate, see _swing_by)
        swing, scanned = self._swing_start(sig, first, limit, avail)
        found = find(sig, first, swing if swing is not None else limit, avail)
        if found is NEED_MORE:
            return NEED_MORE
        needed = []
        if found is not None:
            c = found[2]
            if swing is None and self._swing_by(sig, first, c, avail) is not False:
                return NEED_MORE  # (not yet known; or the swing came first: _swing_start finds it)
            needed.append(c + (h + 2 if self.mount != "thigh" else h + 1))  # the candidate's scan
            needed.append((c if ws[c] < self.threshold() else c + self.n(0.05)) + h)  # _swing_by
        if found is None:
            if swing is not None:
                found = self._steepest_fall(sig, first, swing)  # no clear toe-off: the steepest change before the swing
                needed.append(swing + self.n(0.05) + h + 1)
            elif scanned < limit:
                return NEED_MORE
        if found is None:
            return None
        return found[0], found[1], needed

    def _swing_by(self, sig: "Signals", first: int, c: int, avail: int):
        """Whether the next swing (w above the threshold for 50 ms, see _swing_start) begins in
        [first, c]: True, False, or NEED_MORE.  With w below the threshold at c no such run can
        contain c, so the samples up to c decide it."""
        ws = sig.ws
        hold = self.n(0.05)
        thr = self.threshold()
        stop = c if ws[c] < thr else c + hold
        if stop + self.smooth_half + 1 > avail:
            return NEED_MORE
        if stop - first < hold:
            return False
        with np.errstate(invalid="ignore"):
            above = ws[first:stop] >= thr
        run = np.convolve(above.astype(int), np.ones(hold, int), mode="valid")
        return bool(np.any(run == hold))

    def _toe_off_shank(self, sig: "Signals", first: int, limit: int, avail: int):
        """The start of the shank's fast backward rotation of early swing (knee flexion once the foot
        has left): a steep fall of w that keeps falling (it is not a dip inside stance) by at least
        `to_min_fall_dps`.  The confirmation looks at most as far as the latency budget allows.
        Returns (onset, last sample used), None (no toe-off before `limit`), or NEED_MORE."""
        s = self.s
        ws, dws = sig.ws, sig.dws
        h = self.smooth_half
        scan_end = min(limit, avail - h - 2)  # dws[c + 1] needs w up to c + 2 + h
        confirm_max = self.n(s.to_confirm_s)
        confirm_min = self.n(s.to_confirm_min_s)
        budget = self.n(s.latency_s)
        if scan_end > first:
            seg = dws[first:scan_end]
            with np.errstate(invalid="ignore"):
                cand = np.flatnonzero((seg <= -s.to_min_dps2) & (seg <= dws[first - 1 : scan_end - 1])
                                      & (seg <= dws[first + 1 : scan_end + 1]))
            for k in cand:
                c = first + int(k)
                onset = c
                level = 0.3 * dws[c]
                earliest = max(first, c + confirm_min + h + 1 - budget)  # keeps the latency bound
                while onset > earliest and dws[onset - 1] <= level:
                    onset -= 1
                end = max(c + confirm_min, min(c + confirm_max, onset + budget - h - 1))
                if end + h + 1 > avail:
                    return NEED_MORE
                after = ws[c : end + 1]
                if np.any(np.diff(after) > s.to_rebound_dps):
                    continue  # it turns back up: a dip inside stance, not the swing
                if ws[onset] - after[-1] < s.to_min_fall_dps:
                    continue
                return onset, end + h, c
        if scan_end < limit:
            return NEED_MORE
        return None

    def _steepest_fall(self, sig: "Signals", first: int, swing: int):
        """Fallback toe-off: the start of the steepest fall of w (shank) or rise (thigh) in [first, swing)."""
        d = sig.dws[first:swing]
        if len(d) == 0 or not np.any(np.isfinite(d)):
            return None
        sign = -1.0 if self.mount == "thigh" else 1.0
        c = first + int(np.nanargmin(sign * d))
        onset = c
        while onset > first and sign * sig.dws[onset - 1] <= 0.3 * sign * sig.dws[c]:
            onset -= 1
        return onset, swing + self.smooth_half, c

    def _swing_start(self, sig: "Signals", first: int, limit: int, avail: int):
        """Where w next rises above the swing threshold for 50 ms (the next swing), or None, and how far
        the samples so far let that be decided."""
        ws = sig.ws
        hold = self.n(0.05)  # a swing, not a brief spike
        end = min(limit, avail - self.smooth_half - 1 - hold)
        if end > first:
            with np.errstate(invalid="ignore"):
                above = ws[first : end + hold] >= self.threshold()
            run = np.convolve(above.astype(int), np.ones(hold, int), mode="valid")  # run[i]: above[i:i+hold]
            full = np.flatnonzero(run[: end - first] == hold)
            if len(full):
                return first + int(full[0]), end
        return None, max(first, end)

    def _toe_off_thigh(self, sig: "Signals", first: int, limit: int, avail: int):
        """The thigh turns from extension (stance) to flexion (swing) as the foot leaves: the first
        upward zero crossing of w that stays positive for `to_confirm_min_s`; toe-off is where that
        rise began."""
        s = self.s
        ws = sig.ws
        h = self.smooth_half
        confirm = self.n(s.to_confirm_min_s)
        scan_end = min(limit, avail - h - 1)
        if scan_end > first:
            seg = ws[first - 1 : scan_end]
            with np.errstate(invalid="ignore"):
                up = np.flatnonzero((seg[:-1] < 0) & (seg[1:] >= 0))
            for k in up:
                c = first + int(k)
                if c + confirm + h + 1 > avail:
                    return NEED_MORE
                if np.all(ws[c : c + confirm + 1] >= 0):
                    # the rise started before the crossing: back to where it was still slow
                    dws = sig.dws
                    lo = max(first, c - self.n(0.05))
                    steep = np.nanmax(dws[lo : c + 1])
                    onset = c
                    earliest = max(lo, c + confirm + h + 1 - self.n(s.latency_s))
                    while onset > earliest and dws[onset - 1] >= 0.3 * steep:
                        onset -= 1
                    return onset, c + confirm + h, c
        return NEED_MORE if scan_end < limit else None

    def _impact_onset(self, jerk: np.ndarray, k: int, level: float) -> int:
        """The last sample before an impact whose jerk peaks at k: going back from the peak (at most
        40 ms) while the jerk stays above `level` times the peak, the sample before that run."""
        stop = max(1, k - self.n(0.04))
        i = k
        floor = level * jerk[k]
        while i > stop and jerk[i - 1] >= floor:
            i -= 1
        return i - 1

    def _next_stance_accel(self, sig: "Signals", cursor: int, available: int, final: bool = False):
        """Accelerometer only: IC at the impact, the largest sharp peak of the high-passed acceleration
        magnitude within `impact_halfwidth_s` either side; TO at the lowest acceleration magnitude
        of the window `to_accel_window_s` after IC, where the foot has left and the leg is unloaded.
        Both look further ahead than the gyro path (the delay bound is for live sensors, which have a
        gyroscope)."""
        s = self.s
        half = self.n(s.impact_halfwidth_s)
        hp = sig.hp
        last = available - (0 if final else half) - sig.hp_delay - 1
        k = first_peak(hp, cursor - sig.start, last - sig.start, self.threshold(), half, half, final, edge=self.lookback)
        if k is NEED_MORE:
            return NEED_MORE
        if k is None:
            return ("skip", max(cursor, last))
        ic = self._impact_onset(sig.jerk, k, s.impact_onset_accel)
        first = ic + self.n(s.to_accel_window_s[0])
        limit = ic + self.n(s.to_accel_window_s[1]) + 1
        if final:
            limit = min(limit, available - sig.start - sig.smooth_a_delay - 1)
            if limit <= first:
                return NEED_MORE
        if sig.start + limit + sig.smooth_a_delay + 1 > available:
            return NEED_MORE
        to = first + int(np.nanargmin(sig.anorm_s[first:limit]))
        self.note_peak(hp[k])
        known = max(sig.start + limit + sig.smooth_a_delay, sig.start + k + half + sig.hp_delay)
        return Stance(ic=sig.start + ic, to=sig.start + to, known=known, anchor=sig.start + k, impact_g=float(hp[k]))


@dataclass
class Stance:
    ic: int  # absolute sample positions
    to: int
    known: int  # the last sample the decision looked at
    anchor: int  # swing peak or impact that started the search
    impact_g: float | None = None  # accelerometer only: the impact's high-passed peak
