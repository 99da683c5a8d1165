"""Per-stride metrics: wobble, landing load and timing, exactly as docs/metrics.md defines them.

Everything here works on a batch of strides at once (the offline driver hands over thousands, the
streaming driver one), so the same arithmetic produces both drivers' numbers.

Frontal-plane angle.  The segment's orientation during stance is the integral of its angular rate
from initial contact (IC); the world's vertical at IC comes from the preceding gait cycle, over
which the mean world-frame acceleration is zero (the runner's velocity repeats), so the mean
specific force, rotated into the segment frame at IC, is gravity.  The runner's medial direction
is the segment's medio-lateral axis at IC, made horizontal.  theta_f(t) is the angle of the long
axis from vertical projected on the plane (medial, vertical); positive = the knee end medial.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .alignment import knee_end_sign, medial_sign

_DEG = np.pi / 180.0


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


def rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors v (..., 3) by unit quaternions q (..., 4): q v q*."""
    w = q[..., :1]
    u = q[..., 1:]
    t = 2.0 * np.cross(u, v)
    return v + w * t + np.cross(u, t)


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
        with_gyro = [i for i, w in enumerate(windows) if w.gyr is not None]
        traces: dict[int, np.ndarray] = {}
        if with_gyro:
            # Batch the strides that share a stance length-class by padding to the longest.
            for i, theta in zip(with_gyro, self._frontal_angles([windows[i] for i in with_gyro])):
                traces[i] = theta
        dt = 1.0 / self.rate_hz
        for i, w in enumerate(windows):
            theta = traces.get(i)
            if theta is None:
                out[i]["wobble_deg"] = None
                out[i]["wobble_rate_dps"] = None
                self.frontal_angle_.append(np.zeros(0))
                continue
            self.frontal_angle_.append(theta)
            out[i]["wobble_deg"] = float(max(0.0, np.max(theta) - theta[0]))
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

    def _frontal_angles(self, windows: list[StrideWindow]) -> list[np.ndarray]:
        """theta_f (degrees) from IC to toe-off for each window."""
        dt = 1.0 / self.rate_hz
        up = np.stack([self._vertical_at_ic(w) for w in windows])
        lengths = [w.to - w.ic + 1 for w in windows]
        n = max(lengths)
        gyr = np.zeros((len(windows), n, 3))
        for j, w in enumerate(windows):
            gyr[j, : lengths[j]] = w.gyr[w.ic : w.to + 1] * _DEG
        q = cumulative_rotation(gyr, dt)
        long_axis = _rotated_z(q)  # (S, n, 3) in the IC frame
        # Medial direction: the segment's y axis at IC made horizontal, signed for leg and mount.
        ey = np.array([0.0, 1.0, 0.0])
        lateral = ey - (up @ ey)[:, None] * up
        lateral /= np.linalg.norm(lateral, axis=1, keepdims=True)
        along_up = np.einsum("snk,sk->sn", long_axis, up)
        along_lat = np.einsum("snk,sk->sn", long_axis, lateral)
        theta = self._sign * np.degrees(np.arctan2(along_lat, along_up))
        return [theta[j, : lengths[j]] for j in range(len(windows))]

    def _vertical_at_ic(self, w: StrideWindow) -> np.ndarray:
        """Unit vertical in the segment frame at IC, from the preceding cycle's mean specific force.

        The rotation from each sample of the cycle to IC is taken about the medio-lateral axis only
        (the dominant one); an error in the vertical changes the wobble only to second order."""
        acc = w.acc[w.cycle_start : w.ic + 1]
        if w.gyr is None or len(acc) < 2:
            m = acc.mean(axis=0) if len(acc) else np.array([0.0, 0.0, 1.0])
        else:
            rate = w.gyr[w.cycle_start : w.ic + 1, 1] * _DEG
            # angle of each sample's frame relative to IC about +y
            step = 0.5 * (rate[1:] + rate[:-1]) / self.rate_hz
            angle = np.concatenate([[0.0], np.cumsum(step)])
            angle = angle - angle[-1]
            ax, ay, az = acc[:, 0], acc[:, 1], acc[:, 2]
            c, s = np.cos(angle), np.sin(angle)
            # v_IC = R_y(angle) v_k  (R_y: x' = c x + s z, z' = -s x + c z)
            n = len(angle)
            m = np.array([(c @ ax + s @ az) / n, ay.sum() / n, (c @ az - s @ ax) / n])
        norm = float(np.linalg.norm(m))
        if not np.isfinite(norm) or norm < 1e-6:
            return np.array([0.0, 0.0, 1.0])
        return m / norm


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
