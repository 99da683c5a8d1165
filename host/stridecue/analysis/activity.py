"""When a hands-free run starts and ends: moving, standing still, and a double tap on the sensor.

A pocket host has no keyboard.  A run starts when the runner has moved (walked or run) for a few
seconds, and ends when the runner has stood for a set time, or at once on a double tap on the
sensor's case.  ActivityDetector reads the same SampleBlocks as the stride analysis, in any
notification size, and says so as ActivityEvents.

The signal is looked at in windows of WINDOW_S:
- a window is "moving" when the angular rate's RMS (about its window mean, so a gyro bias does
  not count) is at least `moving_dps`: a leg that steps turns through a few hundred deg/s in swing,
  one that sways while standing through a few;
- a window is "quiet" when that RMS is below `quiet_dps` and the acceleration magnitude barely
  changes (`quiet_g`): standing, fidgeting included, but no steps;
- a tap is a short spike of the acceleration, at least `tap_g` away from the window's median
  (as a vector), in a window whose angular rate is as low as a quiet one's, after another such window;
  two taps `tap_gap_s` apart make a double tap.  A foot strike makes such spikes too, but with the
  leg turning, where no tap is looked for.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from stridecue.link.samples import SampleBlock

WINDOW_S = 0.25
MOVING = "moving"
STILL = "still"
DOUBLE_TAP = "double tap"


@dataclass(frozen=True)
class ActivityEvent:
    """kind: MOVING (a run may start: moved for start_after_s), STILL (stood for stop_after_s) or
    DOUBLE_TAP; t: seconds on the sensor's sample clock when it began (moving, still) or happened
    (the second tap)."""

    kind: str
    t: float


@dataclass(frozen=True)
class ActivityRules:
    """start_after_s: moving this long starts a run; stop_after_s: quiet this long ends it;
    moving_dps, quiet_dps: the angular-rate RMS of a moving and of a quiet window; quiet_g: the
    acceleration magnitude's SD of a quiet window; tap_g: a tap's distance from the window's
    median; tap_gap_s: the second tap this long after the first; tap_width_s: a spike longer than
    this is a movement, not a tap."""

    start_after_s: float = 3.0
    stop_after_s: float = 20.0
    moving_dps: float = 60.0
    quiet_dps: float = 25.0
    quiet_g: float = 0.08
    tap_g: float = 1.0
    tap_gap_s: tuple[float, float] = (0.12, 0.7)
    tap_width_s: float = 0.04


class ActivityDetector:
    """Moving, standing still and double taps of one sensor's stream.

    Parameters: rate_hz, rules (ActivityRules; keywords of ActivityRules may be given instead).
    Results: `active_` (between a MOVING and the next STILL or DOUBLE_TAP), `events_` (all so far),
    `still_for_s` (how long the sensor has been quiet).
    """

    def __init__(self, rate_hz: float, rules: ActivityRules | None = None, **overrides):
        self.rate_hz = float(rate_hz)
        self.rules = replace(rules or ActivityRules(), **overrides)
        self._n = max(8, int(round(WINDOW_S * self.rate_hz)))
        self._acc = np.zeros((0, 3))
        self._gyr = np.zeros((0, 3))
        self._t0: float | None = None  # time of the first sample not yet in a window
        self._run_since: float | None = None  # the start of the current stretch of moving windows
        self._quiet_since: float | None = None
        self._last_tap: float | None = None
        self._previous_rms = float("inf")
        self.active_ = False
        self.events_: list[ActivityEvent] = []

    def push(self, block: SampleBlock) -> list[ActivityEvent]:
        """Take the next samples; the events they decide."""
        if len(block) == 0:
            return []
        if self._t0 is None:
            self._t0 = float(block.index[0]) / block.rate
        self._acc = np.concatenate([self._acc, block.acc])
        self._gyr = np.concatenate([self._gyr, block.gyr])
        out: list[ActivityEvent] = []
        n = self._n
        while len(self._acc) >= n:
            out += self._window(self._acc[:n], self._gyr[:n], self._t0)
            self._acc, self._gyr = self._acc[n:], self._gyr[n:]
            self._t0 += n / self.rate_hz
        self.events_ += out
        return out

    @property
    def still_for_s(self) -> float:
        """Seconds the sensor has been quiet up to the last window looked at (0: it is not): the
        standstill the stride analysis frames the sensor from, before a run."""
        if self._quiet_since is None or self._t0 is None:
            return 0.0
        return self._t0 - self._quiet_since

    def _window(self, acc: np.ndarray, gyr: np.ndarray, t0: float) -> list[ActivityEvent]:
        rate_rms = float(np.sqrt(np.mean(np.sum((gyr - gyr.mean(axis=0)) ** 2, axis=1))))
        mag = np.linalg.norm(acc, axis=1)
        moving = rate_rms >= self.rules.moving_dps
        # taps only while the leg is still and was still before: the last steps of a stop also
        # make short spikes, with the leg turning
        steady = rate_rms < self.rules.quiet_dps and self._previous_rms < self.rules.quiet_dps
        self._previous_rms = rate_rms
        taps = self._taps(acc, t0) if steady else []
        quiet = rate_rms < self.rules.quiet_dps and not taps and float(np.std(mag)) < self.rules.quiet_g
        out = self._double_taps(taps)
        if moving:
            self._quiet_since = None
            self._run_since = t0 if self._run_since is None else self._run_since
            if not self.active_ and t0 + WINDOW_S - self._run_since >= self.rules.start_after_s:
                self.active_ = True
                out.append(ActivityEvent(MOVING, self._run_since))
        else:
            self._run_since = None
            if quiet:
                self._quiet_since = t0 if self._quiet_since is None else self._quiet_since
            else:
                self._quiet_since = None
            if self.active_ and self._quiet_since is not None and t0 + WINDOW_S - self._quiet_since >= self.rules.stop_after_s:
                self.active_ = False
                out.append(ActivityEvent(STILL, self._quiet_since))
        return out

    def _taps(self, acc: np.ndarray, t0: float) -> list[float]:
        """Times of the spikes in this window: short runs of samples whose acceleration is far from
        the window's median (as a vector: a knock across gravity barely changes the magnitude)."""
        far = np.linalg.norm(acc - np.median(acc, axis=0), axis=1) >= self.rules.tap_g
        if not np.any(far):
            return []
        k = np.flatnonzero(far)
        joined = int(round(0.03 * self.rate_hz))  # a ring's swings belong to one tap
        starts = [k[0]] + [b for a, b in zip(k[:-1], k[1:]) if b - a > joined]
        ends = [a for a, b in zip(k[:-1], k[1:]) if b - a > joined] + [k[-1]]
        widest = self.rules.tap_width_s * self.rate_hz
        return [t0 + s / self.rate_hz for s, e in zip(starts, ends) if e - s <= widest]

    def _double_taps(self, taps: list[float]) -> list[ActivityEvent]:
        out = []
        lo, hi = self.rules.tap_gap_s
        for t in taps:
            last = self._last_tap
            if last is not None and lo <= t - last <= hi:
                out.append(ActivityEvent(DOUBLE_TAP, t))
                self.active_ = False
                self._last_tap = None
                continue
            self._last_tap = t
        return out
