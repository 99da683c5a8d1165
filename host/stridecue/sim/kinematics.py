"""Geometry for the virtual runner: smooth time tracks, segment rotations, the leg's inverse kinematics.

World frame: x forward (direction of travel), y to the runner's left, z up.  Segment frame (for the
thigh and the shank alike, either leg): x anterior, y to the runner's left, z the long axis L
(distal -> proximal).  A segment's orientation is R = Rx(phi) @ Ry(theta) @ Rz(psi):
theta sagittal (positive: the proximal end ahead of the distal end), phi frontal, psi the twist
about the segment's own long axis.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import solve_banded

G = 9.80665  # m/s^2 per g


def _unit(u):
    return np.minimum(np.maximum(u, 0.0), 1.0)


def clip(x, lo, hi):
    """x limited to [lo, hi] (np.minimum of np.maximum: scalars stay numpy scalars)."""
    return np.minimum(np.maximum(x, lo), hi)


def smootherstep(u):
    """0 -> 1 with zero first and second derivatives at both ends (C2)."""
    u = _unit(u)
    return u * u * u * (u * (6.0 * u - 15.0) + 10.0)


def smootherstep_integral(u):
    """Integral of smootherstep from 0 to u (u may exceed 1)."""
    uc = _unit(u)
    inside = uc**4 * (uc * (uc - 3.0) + 2.5)
    return inside + np.maximum(np.asarray(u, float) - 1.0, 0.0)


class Ramp:
    """A C2 function of time through breakpoints (t_i, y_i), smootherstep between them, constant outside."""

    def __init__(self, points: list[tuple[float, float]]):
        pts = sorted(points)
        if len(pts) == 1:
            pts = [pts[0], (pts[0][0] + 1.0, pts[0][1])]
        self.t = np.array([p[0] for p in pts], float)
        self.y = np.array([p[1] for p in pts], float)
        # integral from t[0] up to each breakpoint (smootherstep is antisymmetric about its middle)
        seg = np.diff(self.t) * (self.y[:-1] + self.y[1:]) / 2.0
        self._cum = np.concatenate([[0.0], np.cumsum(seg)])
        self._zero = float(self._integral_from_t0(np.array([0.0]))[0])

    def __call__(self, t):
        t = np.asarray(t, float)
        if t.size and t.min() >= self.t[-1]:
            return np.full(t.shape, self.y[-1])
        i = np.minimum(np.maximum(np.searchsorted(self.t, t, side="right") - 1, 0), len(self.t) - 2)
        t0, t1 = self.t[i], self.t[i + 1]
        out = self.y[i] + (self.y[i + 1] - self.y[i]) * smootherstep((t - t0) / (t1 - t0))
        return np.where(t < self.t[0], self.y[0], out)

    def integral(self, t):
        """Integral from t = 0 (the value at t < t[0] is y[0])."""
        return self._integral_from_t0(np.asarray(t, float)) - self._zero

    def _integral_from_t0(self, t):
        if t.size and t.min() >= self.t[-1]:
            return self._cum[-1] + self.y[-1] * (t - self.t[-1])
        i = np.minimum(np.maximum(np.searchsorted(self.t, t, side="right") - 1, 0), len(self.t) - 2)
        t0, t1 = self.t[i], self.t[i + 1]
        h = t1 - t0
        u = _unit((t - t0) / h)
        within = self._cum[i] + h * (self.y[i] * u + (self.y[i + 1] - self.y[i]) * smootherstep_integral(u))
        before = self.y[0] * (t - self.t[0])
        after = self._cum[-1] + self.y[-1] * (t - self.t[-1])
        return np.where(t < self.t[0], before, np.where(t >= self.t[-1], after, within))


class KnotTrack:
    """Values at increasing knot times joined by an interpolating cubic spline (C2, least curvature).

    A cubic spline is global, but a knot's influence decays by a factor of about 3.7 per knot
    (3.7^-6 ~ 4e-4).  The polynomials of each BATCH of intervals are therefore computed once, from
    the spline through those knots and MARGIN more on either side, as soon as those knots exist, and
    kept: every evaluation of a time (any sensor, any block, however the reads were split) gets the
    same number, and neighbouring batches join to ~1e-3 of the signal.
    """

    MARGIN = 6
    BATCH = 16
    FORGET_CHUNK = 2048  # knots: forgetting moves the arrays, so it is done in large steps

    def __init__(self, ncols: int, capacity: int = 4096):
        self.ncols = ncols
        self._t = np.empty(capacity)
        self._y = np.empty((capacity, ncols))
        self._c = np.empty((capacity, 4, ncols))  # per interval: c0*dt^3 + c1*dt^2 + c2*dt + c3
        self.n = 0
        self.n_settled = 0  # intervals with coefficients
        self.forgotten = 0  # knots dropped from the front (forget_before)

    @property
    def t(self) -> np.ndarray:
        return self._t[: self.n]

    @property
    def y(self) -> np.ndarray:
        return self._y[: self.n]

    @property
    def last_t(self) -> float:
        return self._t[self.n - 1] if self.n else -np.inf

    @property
    def settled_until(self) -> float:
        """Times below this can be evaluated."""
        self._settle()
        return self._t[self.n_settled] if self.n_settled else -np.inf

    def append(self, t, y) -> None:
        t = np.atleast_1d(np.asarray(t, float))
        y = np.asarray(y, float).reshape(len(t), self.ncols)
        if not len(t):
            return
        keep = t > self.last_t + 1e-9
        keep &= np.concatenate([[True], np.diff(t) > 1e-9])
        t, y = t[keep], y[keep]
        need = self.n + len(t)
        if need > len(self._t):
            cap = max(need, 2 * len(self._t))
            self._t = np.resize(self._t, cap)
            for name, shape in (("_y", (cap, self.ncols)), ("_c", (cap, 4, self.ncols))):
                old = getattr(self, name)
                new = np.empty(shape)
                new[: len(old)] = old
                setattr(self, name, new)
        self._t[self.n : need] = t
        self._y[self.n : need] = y
        self.n = need

    def _settle(self) -> None:
        # fixed batches of intervals, each from the same window of knots, so that the numbers do
        # not depend on how (or by whom) the track was read
        while self.n_settled + self.BATCH + self.MARGIN < self.n:
            a = self.n_settled
            b = a + self.BATCH
            lo = max(a - self.MARGIN, 0)
            hi = b + self.MARGIN + 1
            self._c[a:b] = _natural_spline(self._t[lo:hi], self._y[lo:hi])[a - lo : b - lo]
            self.n_settled = b

    def forget_before(self, t: float) -> int:
        """Drop the knots (and their polynomials) wholly before time t, in steps of at least
        FORGET_CHUNK knots, keeping the MARGIN knots that later batches are solved with: the values
        at and after t do not change.  Returns how many knots were dropped."""
        self._settle()
        i = int(np.searchsorted(self._t[: self.n_settled], t, side="right")) - 1
        d = min(i - self.MARGIN - 1, self.n_settled - self.MARGIN - 1)
        if d < self.FORGET_CHUNK:
            return 0
        keep = self.n - d
        self._t[:keep] = self._t[d : self.n]
        self._y[:keep] = self._y[d : self.n]
        self._c[: self.n_settled - d] = self._c[d : self.n_settled]
        self.n = keep
        self.n_settled -= d
        self.forgotten += d
        return d

    def __call__(self, tq: np.ndarray) -> np.ndarray:
        tq = np.asarray(tq, float)
        if not tq.size:
            return np.zeros((0, self.ncols))
        self._settle()
        if self.n_settled == 0 or tq.max() >= self.settled_until or tq.min() < self._t[0]:
            raise RuntimeError("knot track evaluated outside its settled range")
        i = np.searchsorted(self._t[: self.n_settled + 1], tq, side="right") - 1
        dt = (tq - self._t[i])[:, None]
        c = self._c[i]
        return ((c[:, 0] * dt + c[:, 1]) * dt + c[:, 2]) * dt + c[:, 3]


def _natural_spline(T: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """(n-1, 4, c) polynomial coefficients (highest power first, in t - T[i]) of the natural cubic
    spline through (T, Y), all columns at once."""
    n = len(T)
    h = np.diff(T)
    slope = np.diff(Y, axis=0) / h[:, None]
    M = np.zeros_like(Y)
    if n > 2:
        ab = np.zeros((3, n - 2))
        ab[0, 1:] = h[1:-1]
        ab[1] = 2.0 * (h[:-1] + h[1:])
        ab[2, :-1] = h[1:-1]
        M[1:-1] = solve_banded((1, 1), ab, 6.0 * (slope[1:] - slope[:-1]), check_finite=False)
    h = h[:, None]
    c = np.empty((n - 1, 4, Y.shape[1]))
    c[:, 0] = (M[1:] - M[:-1]) / (6.0 * h)
    c[:, 1] = M[:-1] / 2.0
    c[:, 2] = slope - h * (2.0 * M[:-1] + M[1:]) / 6.0
    c[:, 3] = Y[:-1]
    return c


def segment_rotation(theta, phi, psi) -> np.ndarray:
    """(n, 3, 3) R = Rx(phi) @ Ry(theta) @ Rz(psi): segment frame -> world frame."""
    ct, st = np.cos(theta), np.sin(theta)
    cf, sf = np.cos(phi), np.sin(phi)
    cp, sp = np.cos(psi), np.sin(psi)
    R = np.empty(np.shape(theta) + (3, 3))
    # Ry(theta) @ Rz(psi)
    a00, a01, a02 = ct * cp, -ct * sp, st
    a10, a11, a12 = sp, cp, 0.0
    a20, a21, a22 = -st * cp, st * sp, ct
    R[..., 0, 0], R[..., 0, 1], R[..., 0, 2] = a00, a01, a02
    R[..., 1, 0] = cf * a10 - sf * a20
    R[..., 1, 1] = cf * a11 - sf * a21
    R[..., 1, 2] = cf * a12 - sf * a22
    R[..., 2, 0] = sf * a10 + cf * a20
    R[..., 2, 1] = sf * a11 + cf * a21
    R[..., 2, 2] = sf * a12 + cf * a22
    return R


def long_axis(theta, phi) -> np.ndarray:
    """(n, 3) the segment's long axis L in the world for sagittal theta and frontal phi."""
    ct = np.cos(theta)
    return np.stack([np.sin(theta), -ct * np.sin(phi), ct * np.cos(phi)], axis=-1)


def axis_angles(L: np.ndarray):
    """theta, phi of a unit long axis (inverse of long_axis)."""
    theta = np.arcsin(np.clip(L[..., 0], -1.0, 1.0))
    phi = np.arctan2(-L[..., 1], L[..., 2])
    return theta, phi


def frontal_angle(L: np.ndarray, medial_y: float, proximal_up: bool) -> np.ndarray:
    """The shared definition theta_f (radians): the long axis projected on the frontal (y-z) plane,
    positive when the knee end is medial.  medial_y: +1 (right leg) or -1 (left leg); the shank's
    knee end is proximal (proximal_up=True), the thigh's is distal."""
    sign = 1.0 if proximal_up else -1.0
    return np.arctan2(sign * medial_y * L[..., 1], L[..., 2])


def knee_ik(hip: np.ndarray, ankle: np.ndarray, l_shank: float, l_thigh: float, theta_f: np.ndarray,
            medial_y: float, min_knee_deg: float = 6.0, soft_knee_deg: float = 14.0):
    """Knee position joining hip and ankle with the shank at frontal angle theta_f (shared definition).

    The knee lies on the circle where the spheres of radius l_shank about the ankle and l_thigh
    about the hip meet; of that circle it takes the point, ahead of the leg, whose shank has the
    wanted frontal angle (closed form).  An ankle beyond the reach of a leg straightened to
    soft_knee_deg is drawn smoothly toward the hip (the heel lifting), never past min_knee_deg, so
    the returned ankle may differ from the one given.
    """
    d = hip - ankle
    D = np.linalg.norm(d, axis=-1, keepdims=True)
    dh = d / D
    L = l_shank + l_thigh
    Dmax = L * math.cos(math.radians(min_knee_deg / 2))
    D0 = L * math.cos(math.radians(soft_knee_deg / 2))
    D_eff = np.where(D > D0, D0 + (Dmax - D0) * np.tanh((D - D0) / (Dmax - D0)), D)
    ankle = hip - dh * D_eff
    D = D_eff
    a = (l_shank**2 - l_thigh**2 + D**2) / (2 * D)
    r = np.sqrt(np.maximum(l_shank**2 - a**2, 1e-12))
    ex = np.array([1.0, 0.0, 0.0])
    u = ex - (dh @ ex)[..., None] * dh
    u /= np.linalg.norm(u, axis=-1, keepdims=True)
    w = np.cross(dh, u)
    tan_f = np.tan(theta_f)[..., None]
    m = np.array([0.0, medial_y, 0.0])
    P = a * dh
    C = (P @ m)[..., None] - tan_f * P[..., 2:3]
    A = r * ((u @ m)[..., None] - tan_f * u[..., 2:3])
    B = r * ((w @ m)[..., None] - tan_f * w[..., 2:3])
    R0 = np.hypot(A, B)
    delta = np.arctan2(B, A)
    c = np.clip(-C / np.maximum(R0, 1e-12), -1.0, 1.0)
    chi1 = delta + np.arccos(c)
    chi2 = delta - np.arccos(c)
    chi = np.where(np.cos(chi1) >= np.cos(chi2), chi1, chi2)
    knee = ankle + P + r * (np.cos(chi) * u + np.sin(chi) * w)
    return knee, ankle
