"""Reps and holds in one set, from the set's segment angles (angles.py).

RepDetector: a rep is a peak of the sagittal angle that rises well above the set's rest posture
(prominence at least min_prominence_deg and a fraction of the set's typical rep); depth is the
knee flexion it implies (thigh + shank inclination with both sensors; one segment's inclination
over its share of knee flexion with one: SHARE, a population figure, so one sensor's depth is a
proxy); knee motion the frontal angle's change from the rep's start to its bottom; tempo the time
between 5 % and 95 % of the rep's excursion, down and up.

HoldDetector: a loss of balance is the segment turning faster than loss_rate_dps after the hold
has settled; sway the RMS angle of the segment from its mean direction until then.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import find_peaks

from stridecue.exercise.angles import SegmentAngles
from stridecue.exercise.rep import Hold, Rep

# Fraction of the knee's flexion taken by each segment's inclination in a squat (a population
# figure, not this runner's: one sensor's depth is a proxy).  Lying (the bridge), the thigh's own
# rotation is the measure.
SHARE = {"shin": 0.45, "thigh": 0.55}


class RepDetector:
    def __init__(self, min_prominence_deg: float = 5.0, relative_prominence: float = 0.4, min_gap_s: float = 0.8,
                 lying: bool = False):
        self.min_prominence_deg = min_prominence_deg
        self.relative_prominence = relative_prominence
        self.min_gap_s = min_gap_s
        self.lying = lying

    def detect(self, angles: dict[str, SegmentAngles], leg: str, sensor: int, set_index: int, go_t: float) -> "RepDetector":
        """angles: mount -> SegmentAngles of this leg's sensors over the set (shin, thigh or both)."""
        mount = "thigh+shin" if len(angles) > 1 else next(iter(angles))
        main = angles["thigh"] if ("thigh" in angles and (self.lying or len(angles) == 1)) else angles.get("shin", angles.get("thigh"))
        t = main.t
        sag = self._knee(angles, t)
        frontal = sum(np.interp(t, a.t, a.frontal) for a in angles.values()) if not self.lying else \
            np.interp(t, angles["thigh"].t, angles["thigh"].frontal)
        after = t >= go_t
        rate = 1.0 / float(np.median(np.diff(t)))
        peaks, props = find_peaks(np.where(after, sag, np.min(sag)), prominence=self.min_prominence_deg,
                                  distance=max(int(self.min_gap_s * rate), 1))
        if len(peaks):
            keep = props["prominences"] >= self.relative_prominence * float(np.median(props["prominences"]))
            peaks = peaks[keep]
        reps = []
        for i, p in enumerate(peaks):
            lo = peaks[i - 1] if i else int(np.searchsorted(t, go_t))
            hi = peaks[i + 1] if i + 1 < len(peaks) else len(t) - 1
            reps.append(self._rep(t, sag, frontal, lo, p, hi, leg, mount, sensor, set_index))
        self.reps_ = [r for r in reps if r is not None]
        self.knee_flexion_ = (t, sag)
        return self

    def _knee(self, angles: dict[str, SegmentAngles], t: np.ndarray) -> np.ndarray:
        """The knee's flexion (deg) over the set, or its proxy from one segment."""
        if self.lying:
            return np.interp(t, angles["thigh"].t, angles["thigh"].sagittal)
        if len(angles) > 1:
            return sum(np.interp(t, a.t, a.sagittal) for a in angles.values())
        mount, a = next(iter(angles.items()))
        return a.sagittal / SHARE[mount]

    @staticmethod
    def _rep(t, sag, frontal, lo, p, hi, leg, mount, sensor, set_index) -> Rep | None:
        lo = lo + int(np.argmin(sag[lo:p + 1]))  # from the rest before the rep to the rest after it
        hi = p + int(np.argmin(sag[p:hi + 1]))
        before, after = sag[lo:p + 1], sag[p:hi + 1]
        base_in, base_out = float(before[0]), float(after[-1])
        top = float(sag[p])
        down = _span(t[lo:p + 1], before, base_in, top)
        up = _span(t[p:hi + 1][::-1], after[::-1], base_out, top)
        if down is None or up is None:
            return None
        start_i = lo + int(np.searchsorted(t[lo:p + 1], down[0]))
        return Rep(leg=leg, mount=mount, sensor=sensor, set_index=set_index, start_t=down[0], bottom_t=float(t[p]),
                   end_t=up[0], depth_deg=top - base_in, knee_motion_deg=float(frontal[p] - frontal[start_i]),
                   down_s=down[1] - down[0], up_s=up[0] - up[1])


def _span(t, y, base, top) -> tuple[float, float] | None:
    """(time of 5 %, time of 95 %) of the way from base to top, t running towards the peak; the
    last crossing of 5 % before the first of 95 %."""
    rise = top - base
    if rise <= 0 or len(y) < 3:
        return None
    i95 = int(np.argmax(y >= base + 0.95 * rise))
    below = np.nonzero(y[: i95 + 1] <= base + 0.05 * rise)[0]
    if not len(below):
        return None
    i5 = int(below[-1])
    return _cross(t, y, i5, base + 0.05 * rise), _cross(t, y, i95 - 1, base + 0.95 * rise) if i95 else float(t[0])


def _cross(t, y, i, level) -> float:
    """The time y passes `level` between samples i and i + 1 (linear)."""
    if i + 1 >= len(y) or y[i + 1] == y[i]:
        return float(t[i])
    f = (level - y[i]) / (y[i + 1] - y[i])
    return float(t[i] + min(max(f, 0.0), 1.0) * (t[i + 1] - t[i]))


class HoldDetector:
    def __init__(self, settle_s: float = 2.2, loss_rate_dps: float = 55.0):
        self.settle_s = settle_s
        self.loss_rate_dps = loss_rate_dps

    def detect(self, angles: SegmentAngles, leg: str, mount: str, sensor: int, set_index: int, go_t: float,
               end_t: float) -> "HoldDetector":
        t = angles.t
        inside = (t >= go_t + self.settle_s) & (t <= end_t)
        fast = np.nonzero(inside & (angles.tilt_rate > self.loss_rate_dps))[0]
        loss_t = float(t[fast[0]]) if len(fast) else None
        until = (loss_t - 0.1) if loss_t is not None else end_t
        window = inside & (t <= until)
        sway = math.nan
        if window.sum() >= 10:
            u = angles.up[window]
            u = u / np.linalg.norm(u, axis=1)[:, None]
            mean = u.mean(axis=0)
            mean /= np.linalg.norm(mean)
            sway = math.degrees(float(np.sqrt(np.mean(np.arccos(np.clip(u @ mean, -1.0, 1.0)) ** 2))))
        loss_s = None if loss_t is None else loss_t - go_t
        self.hold_ = Hold(leg=leg, mount=mount, sensor=sensor, set_index=set_index, start_t=go_t, end_t=end_t,
                          sway_deg=sway, loss_s=loss_s, held_s=(loss_t if loss_t is not None else end_t) - go_t)
        return self
