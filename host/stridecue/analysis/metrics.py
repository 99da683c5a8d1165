"""Per-stride metrics: wobble, landing load and timing, exactly as docs/metrics.md defines them.

Everything here works on a batch of strides at once (the offline driver hands over thousands, the
streaming driver one), so the same arithmetic produces both drivers' numbers.

Frontal-plane angle.  The segment's orientation over the window is the integral of its angular
rate, expressed in the segment frame at initial contact (IC).  The world's vertical at IC comes
from the preceding gait cycle, over which the mean world-frame acceleration is zero (the runner's
velocity repeats), so the mean specific force, rotated into the frame at IC, is gravity.  The
runner's frontal plane is the vertical and the horizontal direction across the line of travel:

- shank: the line of travel is the horizontal direction of the sensor's mean velocity over the
  gait cycle from the previous mid-stance to this one.  Its integration constant comes from the
  foot planted at mid-stance (the sensor then moves with the shank's rotation about the ankle), so
  it works on a treadmill too (the velocity is the one relative to the ground under the foot).
  The shank's swing axis is not used for this: on real legs the knee's hinge in swing is turned
  several degrees from the axis the shank rotates about in stance, and measured about it part of
  the 30-45 deg forward rotation of stance reads as wobble.
- thigh: nothing on it stands still, so its mean velocity is not observable; the line of travel
  is taken as square to the thigh's dominant rotation axis (hip flexion is close to the sagittal
  plane), the segment's y axis made horizontal.

theta_f(t) is the angle of the long axis from vertical projected on the plane (medial, vertical);
positive = the knee end medial.  A stride's wobble is withheld (None, with `wobble_note` saying
why) when it cannot be trusted: no whole gait cycle before the contact, a vertical or an
excursion beyond what a shank or thigh does in running, or a frame still settling (the driver).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stridecue.analysis.alignment import knee_end_sign, medial_sign

_DEG = np.pi / 180.0
_G = 9.80665

# Reasons a stride's wobble is withheld (`wobble_note`).
WARMUP = "frame settling"  # the driver's: the sensor's frame is not yet trustworthy
NO_CYCLE = "no gait cycle before contact"  # the vertical at IC would be a guess
IMPLAUSIBLE = "implausible"  # a vertical or excursion no shank or thigh reaches in running

MIN_CYCLE_S = 0.4  # below this the mean specific force before IC is far from gravity (tens of deg)
# At contact of running the shank is within ~15 deg of vertical and the thigh flexed by ~20-40 deg
# (Novacheck 1998): a long axis further than this from the estimated vertical means a wrong vertical.
MAX_TILT_AT_CONTACT_DEG = 65.0
# Frontal-plane excursions of shank or thigh in running stance are below ~15 deg, even in runners
# with knee pain (e.g. Souza & Powers 2009; Willson & Davis 2008); this leaves room for the worst.
MAX_WOBBLE_DEG = 25.0
# The shank sensor's assumed height above the ankle.  Its velocity at mid-stance is taken as the
# rotation about the planted ankle; an error in the height changes mainly the speed along the
# sagittal motion, hardly the direction of travel.
SHIN_SENSOR_HEIGHT_M = 0.25
MIN_TRAVEL_MPS = 0.5  # slower mean motion over a cycle: no direction of travel; the frame's is used
MAX_TRAVEL_TURN_DEG = 45.0  # a direction of travel this far from the frame's forward is not believed
_BATCH = 256  # strides per batch: bounds memory when the offline driver hands over thousands


@dataclass
class StrideWindow:
    """The samples a stride's metrics need, already in the segment frame.

    acc: (n, 3) g; gyr: (n, 3) deg/s (None for accelerometer-only data); clipped: (n,) bool;
    ic, to: sample positions of IC and toe-off inside the window; cycle_start: position where the
    preceding gait cycle starts (<= ic) for the vertical at IC.
    """

    acc: np.ndarray
    gyr: np.ndarray | None
    clipped: np.ndarray
    ic: int
    to: int
    cycle_start: int
    whole_cycle: bool = True  # the samples before IC are the whole gait cycle since the previous IC
    withhold: str | None = None  # set by the driver: a reason to withhold wobble (e.g. WARMUP)


# -- quaternions (w, x, y, z), batched over the leading axis ------------------------------


def _qmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    aw, ax, ay, az = a[..., 0], a[..., 1], a[..., 2], a[..., 3]
    bw, bx, by, bz = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    return np.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        axis=-1,
    )


# qmul(a, b) == (a[_LEFT_INDEX] * _LEFT_SIGN) @ b: the 4x4 matrix of left multiplication by a
_LEFT_INDEX = np.array([[0, 1, 2, 3], [1, 0, 3, 2], [2, 3, 0, 1], [3, 2, 1, 0]])
_LEFT_SIGN = np.array([[1.0, -1.0, -1.0, -1.0], [1.0, 1.0, -1.0, 1.0], [1.0, 1.0, 1.0, -1.0], [1.0, -1.0, 1.0, 1.0]])


def _increments(gyr_rad: np.ndarray, dt: float) -> np.ndarray:
    """(..., n, 3) body rates -> (..., n, 4) rotation from sample k-1 to k (identity at k = 0).

    The rate over a step is the mean of its two ends (trapezoid), turned into an exact rotation."""
    mid = np.empty_like(gyr_rad)
    mid[..., 0, :] = 0.0
    mid[..., 1:, :] = 0.5 * (gyr_rad[..., 1:, :] + gyr_rad[..., :-1, :])
    angle = np.linalg.norm(mid, axis=-1) * dt
    half = 0.5 * angle
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(angle > 1e-12, np.sin(half) / np.where(angle > 1e-12, angle, 1.0) * dt, 0.5 * dt)
    q = np.empty(mid.shape[:-1] + (4,))
    q[..., 0] = np.cos(half)
    q[..., 1:] = mid * scale[..., None]
    return q


def cumulative_rotation(gyr_rad: np.ndarray, dt: float) -> np.ndarray:
    """(S, n, 3) body rates -> (S, n, 4) orientation of the body at sample k relative to sample 0.

    Prefix product of the step rotations: a log-depth scan for few strides (streaming), a loop over
    time vectorised across strides for many (offline); both compose q_0 * dq_1 * ... * dq_k."""
    dq = _increments(gyr_rad, dt)
    n = dq.shape[1]
    if dq.shape[0] <= 16:
        # q_a * q_b is the matrix of q_a's left multiplication times q_b: a gather, a sign and one
        # matmul per level instead of a few dozen elementwise operations
        q = dq.copy()
        shift = 1
        while shift < n:
            left = q[:, :-shift, _LEFT_INDEX] * _LEFT_SIGN
            q[:, shift:] = np.matmul(left, q[:, shift:, :, None])[..., 0]
            shift *= 2
        return q
    # components as contiguous (n, S) rows: each step is a handful of whole-row operations
    bw, bx, by, bz = (np.ascontiguousarray(dq[:, :, i].T) for i in range(4))
    w, x, y, z = (np.empty_like(bw) for _ in range(4))
    w[0], x[0], y[0], z[0] = bw[0], bx[0], by[0], bz[0]
    for k in range(1, n):
        aw, ax, ay, az = w[k - 1], x[k - 1], y[k - 1], z[k - 1]
        cw, cx, cy, cz = bw[k], bx[k], by[k], bz[k]
        w[k] = aw * cw - ax * cx - ay * cy - az * cz
        x[k] = aw * cx + ax * cw + ay * cz - az * cy
        y[k] = aw * cy - ax * cz + ay * cw + az * cx
        z[k] = aw * cz + ax * cy - ay * cx + az * cw
    return np.stack([w.T, x.T, y.T, z.T], axis=-1)


def _derivative(x: np.ndarray, dt: float) -> np.ndarray:
    """Central differences inside, one-sided at the ends (as numpy.gradient, without its overhead)."""
    n = len(x)
    if n < 2:
        return np.zeros(n)
    d = np.empty(n)
    d[1:-1] = (x[2:] - x[:-2]) / (2.0 * dt)
    d[0] = (x[1] - x[0]) / dt
    d[-1] = (x[-1] - x[-2]) / dt
    return d


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """np.cross over the last axis, without its axis bookkeeping (a few times faster on small arrays)."""
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    return np.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)


def rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors v (..., 3) by unit quaternions q (..., 4): q v q*."""
    w = q[..., :1]
    u = q[..., 1:]
    t = 2.0 * _cross(u, v)
    return v + w * t + _cross(u, t)


def _rotated_z(q: np.ndarray) -> np.ndarray:
    """rotate(q, (0, 0, 1)) written out: the third column of q's rotation matrix."""
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    out = np.empty(q.shape[:-1] + (3,))
    out[..., 0] = 2.0 * (x * z + w * y)
    out[..., 1] = 2.0 * (y * z - w * x)
    out[..., 2] = 1.0 - 2.0 * (x * x + y * y)
    return out


# -- the metrics ----------------------------------------------------------------------


class StrideMetrics:
    """Computes the per-stride metrics of a batch of StrideWindows.

    Parameters: mount ("shin"/"thigh"), leg ("left"/"right"), rate_hz, load_window (fraction of the
    contact after IC searched for the peak tibial acceleration: 0.5 by the shared definition).
    `compute(windows)` returns one dict per window and keeps the frontal-plane angle traces in
    `frontal_angle_` (list of arrays, degrees, from IC to toe-off) for the two-sensor knee angle.
    """

    def __init__(self, mount: str, leg: str, rate_hz: float, load_window: float = 0.5):
        self.mount = mount
        self.leg = leg
        self.rate_hz = float(rate_hz)
        self.load_window = load_window
        self._sign = knee_end_sign(mount) * medial_sign(leg)
        self.frontal_angle_: list[np.ndarray] = []

    def compute(self, windows: list[StrideWindow]) -> list[dict]:
        self.frontal_angle_ = []
        if not windows:
            return []
        out = [self._load_and_timing(w) for w in windows]
        notes: list[str | None] = [None if w.gyr is not None else "" for w in windows]
        min_cycle = int(round(MIN_CYCLE_S * self.rate_hz))
        for i, w in enumerate(windows):
            if notes[i] is None and w.withhold:
                notes[i] = w.withhold
            elif notes[i] is None and (not w.whole_cycle or w.ic - w.cycle_start < min_cycle):
                notes[i] = NO_CYCLE
        measured = [i for i, note in enumerate(notes) if note is None]
        traces: dict[int, np.ndarray] = {}
        for k in range(0, len(measured), _BATCH):
            chunk = measured[k : k + _BATCH]
            for i, theta in zip(chunk, self._frontal_angles([windows[i] for i in chunk])):
                if theta is None:
                    notes[i] = IMPLAUSIBLE
                else:
                    traces[i] = theta
        dt = 1.0 / self.rate_hz
        for i, w in enumerate(windows):
            theta = traces.get(i)
            wobble = float(max(0.0, np.max(theta) - theta[0])) if theta is not None else None
            if wobble is not None and wobble > MAX_WOBBLE_DEG:
                theta, wobble, notes[i] = None, None, IMPLAUSIBLE
            out[i]["wobble_note"] = notes[i] or None
            if theta is None:
                out[i]["wobble_deg"] = None
                out[i]["wobble_rate_dps"] = None
                self.frontal_angle_.append(np.zeros(0))
                continue
            self.frontal_angle_.append(theta)
            out[i]["wobble_deg"] = wobble
            rate = _derivative(theta, dt)
            out[i]["wobble_rate_dps"] = float(max(0.0, np.max(rate)))
        return out

    def _load_and_timing(self, w: StrideWindow) -> dict:
        contact = (w.to - w.ic) / self.rate_hz
        end = w.ic + max(1, int(round(self.load_window * (w.to - w.ic))))
        axial = w.acc[w.ic : end + 1, 2]
        resultant = np.linalg.norm(w.acc[w.ic : end + 1], axis=1)
        k = int(np.argmax(axial))
        rise_time = max(k, 1) / self.rate_hz
        return {
            "contact_time_s": contact,
            "pta_axial_g": float(axial[k]),
            "pta_resultant_g": float(np.max(resultant)),
            "loading_rate_gps": float((axial[k] - axial[0]) / rise_time),
            "clipped": bool(np.any(w.clipped[w.ic : w.to + 1])),
        }

    def _frontal_angles(self, windows: list[StrideWindow]) -> list[np.ndarray | None]:
        """theta_f (degrees) from IC to toe-off for each window (None: an implausible vertical).

        One rotation integral per window from its cycle start to toe-off, expressed in the frame at
        IC: the specific force before IC gives the vertical, the long axis after IC the angle.
        Vectorised across the windows (the offline driver hands over hundreds at a time)."""
        dt = 1.0 / self.rate_hz
        count = len(windows)
        rows = np.arange(count)
        lengths = np.array([w.to - w.cycle_start + 1 for w in windows])
        ic = np.array([w.ic - w.cycle_start for w in windows])
        n = int(lengths.max())
        gyr = np.zeros((count, n, 3))
        acc = np.zeros((count, n, 3))
        for j, w in enumerate(windows):
            gyr[j, : lengths[j]] = w.gyr[w.cycle_start : w.to + 1] * _DEG
            acc[j, : lengths[j]] = w.acc[w.cycle_start : w.to + 1]
        q = cumulative_rotation(gyr, dt)  # relative to each window's cycle start
        to_ic = _conjugate(q[rows, ic])[:, None, :]
        q_ic = _qmul(np.broadcast_to(to_ic, q.shape), q)  # each sample's orientation in the IC frame
        f = rotate(q_ic, acc)
        f_sum = np.cumsum(f, axis=1)
        up = f_sum[rows, ic] / (ic + 1)[:, None]
        norm = np.linalg.norm(up, axis=1)
        valid = np.isfinite(norm) & (norm > 1e-6)
        up = up / np.where(valid, norm, 1.0)[:, None]
        valid &= np.degrees(np.arccos(np.clip(up[:, 2], -1.0, 1.0))) <= MAX_TILT_AT_CONTACT_DEG
        left = self._across_travel(windows, q_ic, f, f_sum, gyr, ic, up)
        long_axis = _rotated_z(q_ic)
        theta = np.arctan2(np.einsum("snk,sk->sn", long_axis, left), np.einsum("snk,sk->sn", long_axis, up))
        theta = self._sign * np.degrees(np.unwrap(theta, axis=1))  # continuous: no jump of 360 deg
        return [theta[j, ic[j] : lengths[j]] if valid[j] else None for j in range(count)]

    def _across_travel(self, windows: list[StrideWindow], q_ic: np.ndarray, f: np.ndarray, f_sum: np.ndarray, gyr_rad: np.ndarray,
                       ic: np.ndarray, up: np.ndarray) -> np.ndarray:
        """(S, 3) horizontal unit vectors to the runner's left, across the line of travel (IC frame)."""
        ey = np.array([0.0, 1.0, 0.0])
        left = ey - (up @ ey)[:, None] * up
        left /= np.maximum(np.linalg.norm(left, axis=1, keepdims=True), 1e-9)
        if self.mount == "thigh":
            return left
        half = np.array([(w.to - w.ic) // 2 for w in windows])
        a, b = half, ic + half  # mid-stance of the previous contact and of this one
        use = np.array([w.whole_cycle for w in windows]) & (b - a >= 4)
        if not np.any(use):
            return left
        rows = np.arange(len(windows))
        # Mean velocity over one whole cycle [a, b) relative to the velocity at a, with the cycle's
        # mean acceleration removed (the velocity repeats):
        #   mean_k sum_{i=a..k} (f_i - m) / rate = (b S0 - S1 - S0 (L + 1) / 2) / (L rate)
        # with S0 = sum f_i, S1 = sum i f_i over [a, b), L = b - a.
        index = np.arange(f_sum.shape[1])[None, :, None]
        fi_sum = np.cumsum(f * index, axis=1)
        last = np.maximum(b - 1, 0)
        before = np.maximum(a - 1, 0)
        s0 = f_sum[rows, last] - np.where((a > 0)[:, None], f_sum[rows, before], 0.0)
        s1 = fi_sum[rows, last] - np.where((a > 0)[:, None], fi_sum[rows, before], 0.0)
        length = np.maximum(b - a, 1)[:, None]
        relative = (b[:, None] * s0 - s1 - s0 * (length + 1) / 2.0) / (length * self.rate_hz) * _G
        # anchored at the previous mid-stance, where the foot is planted: the sensor moves with the
        # shank's rotation about the ankle
        at_a = q_ic[rows, a]
        anchor = _cross(rotate(at_a, gyr_rad[rows, a]), SHIN_SENSOR_HEIGHT_M * _rotated_z(at_a))
        travel = anchor + relative
        travel -= np.einsum("sk,sk->s", travel, up)[:, None] * up
        speed = np.linalg.norm(travel, axis=1)
        forward = travel / np.maximum(speed, 1e-9)[:, None]
        across = _cross(up, forward)
        across /= np.maximum(np.linalg.norm(across, axis=1, keepdims=True), 1e-9)
        agree = np.einsum("sk,sk->s", across, left) >= np.cos(np.radians(MAX_TRAVEL_TURN_DEG))
        use &= np.isfinite(speed) & (speed >= MIN_TRAVEL_MPS) & agree
        return np.where(use[:, None], across, left)


def _conjugate(q: np.ndarray) -> np.ndarray:
    return q * np.array([1.0, -1.0, -1.0, -1.0])


def wobble_variability(wobble_deg: list[float | None], window: int = 10) -> dict:
    """Stride-to-stride variability of wobble: SD and coefficient of variation over the last
    `window` strides (running), and over all strides."""
    values = np.array([v for v in wobble_deg if v is not None and np.isfinite(v)], float)
    if len(values) < 2:
        return {"sd_deg": None, "cv_pct": None, "recent_sd_deg": None, "strides": int(len(values))}
    recent = values[-window:]
    mean = float(values.mean())
    return {
        "sd_deg": float(values.std(ddof=1)),
        "cv_pct": float(100.0 * values.std(ddof=1) / mean) if mean > 0 else None,
        "recent_sd_deg": float(recent.std(ddof=1)) if len(recent) >= 2 else None,
        "strides": int(len(values)),
    }
