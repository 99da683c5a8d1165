"""A segment's motion in a set, from one IMU at any orientation on it: its sagittal and frontal
angles relative to the set's starting posture.

The starting posture is the stillest second just before "go": there the accelerometer gives the
world's up in the board's frame and the gyro its bias.  From there the gyro is integrated (the
board's orientation relative to that posture); the board-fixed vector that pointed up then is
followed.  The set's main axis of rotation (the gyro's first principal component) is the
segment's flexion axis; made horizontal, it and the up direction span the frontal plane, and the
forward direction completes the frame.  Angles are projections in those planes (a frontal plane
projection angle, as a camera in front sees it; Herrington 2014), sagittal positive in the
direction the reps go, frontal positive towards the knee's inside (valgus).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.signal import butter, sosfiltfilt


@dataclass(frozen=True)
class SegmentAngles:
    """A segment's angles over a set (deg), at times t (s, the sensor's sample clock)."""

    t: np.ndarray
    sagittal: np.ndarray
    frontal: np.ndarray  # valgus positive
    tilt_rate: np.ndarray  # deg/s, how fast the segment's up vector turns (losses of balance)
    up: np.ndarray  # (n, 3) the followed vector in the starting posture's frame


class SetAngles:
    """Angles of one segment over one set (gaitmap style: parameters here, results in `*_`).

    rate_hz: the rate the signals are resampled to (the exercises are slow); still_s: the length of
    the still window found before "go"; lowpass_hz: the angles' smoothing."""

    def __init__(self, rate_hz: float = 104.0, still_s: float = 1.0, lowpass_hz: float = 4.0):
        self.rate_hz = rate_hz
        self.still_s = still_s
        self.lowpass_hz = lowpass_hz

    def estimate(self, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray, go_t: float, leg: str,
                 axis: np.ndarray | None = None) -> "SetAngles":
        """t (s), acc (g), gyr (deg/s) of one sensor from a little before "go" to the set's end;
        axis: the segment's flexion axis in the board's frame (swing_axis() of the session's leg
        swings).  Without it the set's own main axis is taken, which takes in a frontal motion that
        goes with the flexion: the frontal angle is then not a measure (frontal_measured_ False)."""
        t, acc, gyr = _resample(t, acc, gyr, self.rate_hz)
        if len(t) < self.rate_hz * 2:
            raise ValueError("too few samples in the set")
        ref = _stillest(t, gyr, go_t, self.still_s, self.rate_hz)
        up_b = acc[ref].mean(axis=0)
        up_b /= np.linalg.norm(up_b)
        bias = gyr[ref].mean(axis=0)
        w = np.radians(gyr - bias)
        start = int(ref.stop) - 1
        Q = _integrate(w, 1.0 / self.rate_hz, start)
        u = np.einsum("nij,j->ni", Q, up_b)
        m = _principal_axis(w[start:]) if axis is None else np.asarray(axis, float)
        m = m - (m @ up_b) * up_b
        if np.linalg.norm(m) < 0.2:  # no flexion axis (a still hold): any horizontal will do
            m = np.cross(up_b, [1.0, 0.0, 0.0] if abs(up_b[0]) < 0.9 else [0.0, 1.0, 0.0])
        m /= np.linalg.norm(m)
        fwd = np.cross(m, up_b)
        sag = np.degrees(np.arctan2(u @ fwd, u @ up_b))
        if np.max(sag[start:]) < -np.min(sag[start:]):  # the reps go the other way round m
            m, fwd, sag = -m, -fwd, -sag
        frontal = np.degrees(np.arctan2(u @ m, u @ up_b)) * (-1.0 if leg == "left" else 1.0)
        sos = butter(2, self.lowpass_hz, fs=self.rate_hz, output="sos")
        sag, frontal = sosfiltfilt(sos, sag), sosfiltfilt(sos, frontal)
        du = np.gradient(sosfiltfilt(sos, u, axis=0), 1.0 / self.rate_hz, axis=0)
        self.angles_ = SegmentAngles(t, sag, frontal, np.degrees(np.linalg.norm(du, axis=1)), u)
        self.reference_ = (float(t[ref.start]), float(t[ref.stop - 1]))
        self.frontal_measured_ = axis is not None
        return self


def _resample(t, acc, gyr, rate):
    """Block means down to about `rate` (the sensor's 416 Hz is far more than a squat needs)."""
    k = max(int(round(len(t) / max(t[-1] - t[0], 1e-9) / rate)), 1) if len(t) > 1 else 1
    n = len(t) // k * k
    shape = (n // k, k)
    return (t[:n].reshape(shape).mean(axis=1), acc[:n].reshape(shape + (3,)).mean(axis=1),
            gyr[:n].reshape(shape + (3,)).mean(axis=1))


def _stillest(t, gyr, go_t, still_s, rate) -> slice:
    """The stillest `still_s` window in the 3 s before "go" (and the first half second after)."""
    width = max(int(still_s * rate), 2)
    lo = int(np.searchsorted(t, go_t - 3.0))
    hi = max(int(np.searchsorted(t, go_t + 0.5)), lo + width + 1)
    hi = min(hi, len(t))
    energy = np.linalg.norm(gyr - np.median(gyr[lo:hi], axis=0), axis=1)
    cs = np.concatenate([[0.0], np.cumsum(energy)])
    starts = np.arange(lo, max(hi - width, lo + 1))
    best = int(starts[np.argmin(cs[starts + width] - cs[starts])]) if len(starts) else 0
    return slice(best, best + width)


def _integrate(w: np.ndarray, dt: float, start: int) -> np.ndarray:
    """(n, 3, 3) the board's orientation at each sample relative to sample `start` (board -> start's
    board frame), from the angular rate w (rad/s) by the exact rotation of each step."""
    n = len(w)
    steps = _step_rotations(w * dt)
    Q = np.empty((n, 3, 3))
    Q[start] = np.eye(3)
    for i in range(start + 1, n):
        Q[i] = Q[i - 1] @ steps[i]
    for i in range(start - 1, -1, -1):
        Q[i] = Q[i + 1] @ steps[i + 1].T
    return Q


def _step_rotations(phi: np.ndarray) -> np.ndarray:
    """Rodrigues: the rotation matrices of rotation vectors phi (n, 3)."""
    angle = np.linalg.norm(phi, axis=1)
    k = phi / np.where(angle > 1e-12, angle, 1.0)[:, None]
    K = np.zeros((len(phi), 3, 3))
    K[:, 0, 1], K[:, 0, 2], K[:, 1, 2] = -k[:, 2], k[:, 1], -k[:, 0]
    K[:, 1, 0], K[:, 2, 0], K[:, 2, 1] = k[:, 2], -k[:, 1], k[:, 0]
    s, c = np.sin(angle)[:, None, None], np.cos(angle)[:, None, None]
    return np.eye(3) + s * K + (1.0 - c) * (K @ K)


def swing_axis(gyr: np.ndarray) -> np.ndarray | None:
    """The flexion axis in the board's frame from leg swings (gyr deg/s over the swings): the
    main axis of rotation, when the swings turn the segment enough (None otherwise)."""
    if len(gyr) < 20:
        return None
    w = gyr - np.median(gyr, axis=0)
    if float(np.sqrt(np.mean(np.sum(w * w, axis=1)))) < 15.0:
        return None
    return _principal_axis(w)


def _principal_axis(w: np.ndarray) -> np.ndarray:
    """The gyro's main axis of rotation over the set (unit, sign arbitrary)."""
    if len(w) < 3:
        return np.array([0.0, 1.0, 0.0])
    _, _, vt = np.linalg.svd(w, full_matrices=False)
    return vt[0] / math.sqrt(float(vt[0] @ vt[0]))
