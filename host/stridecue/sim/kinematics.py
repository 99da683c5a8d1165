"""Geometry for the virtual runner: smooth time tracks, segment rotations, the leg's inverse kinematics.

World frame: x forward (direction of travel), y to the runner's left, z up.  Segment frame (for the
thigh and the shank alike, either leg): x anterior, y to the runner's left, z the long axis L
(distal -> proximal).  A segment's orientation is R = Rx(phi) @ Ry(theta) @ Rz(psi):
theta sagittal (positive: the proximal end ahead of the distal end), phi frontal, psi the twist
about the segment's own long axis.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import CubicSpline

G = 9.80665  # m/s^2 per g


def smootherstep(u):
    """0 -> 1 with zero first and second derivatives at both ends (C2)."""
    u = np.clip(u, 0.0, 1.0)
    return u * u * u * (u * (6.0 * u - 15.0) + 10.0)


def smootherstep_integral(u):
    """Integral of smootherstep from 0 to u (u may exceed 1)."""
    uc = np.clip(u, 0.0, 1.0)
    inside = uc**4 * (uc * (uc - 3.0) + 2.5)
    return inside + np.maximum(np.asarray(u, float) - 1.0, 0.0)


def sin2(u):
    """sin^2(pi/2 u) clipped: 0 -> 1 with zero slope at both ends (C1)."""
    u = np.clip(u, 0.0, 1.0)
    return np.sin(0.5 * np.pi * u) ** 2


class Ramp:
    """A C2 function of time through breakpoints (t_i, y_i), smootherstep between them, constant outside."""

    def __init__(self, points: list[tuple[float, float]]):
        pts = sorted(points)
        self.t = np.array([p[0] for p in pts], float)
        self.y = np.array([p[1] for p in pts], float)
        # integral from t[0] up to each breakpoint
        seg = np.diff(self.t) * (self.y[:-1] + self.y[1:]) / 2.0  # smootherstep is antisymmetric about its middle
        self._cum = np.concatenate([[0.0], np.cumsum(seg)])

    def __call__(self, t):
        t = np.asarray(t, float)
        i = np.clip(np.searchsorted(self.t, t, side="right") - 1, 0, len(self.t) - 2) if len(self.t) > 1 else None
        if i is None:
            return np.full_like(t, self.y[0])
        t0, t1 = self.t[i], self.t[i + 1]
        u = (t - t0) / (t1 - t0)
        out = self.y[i] + (self.y[i + 1] - self.y[i]) * smootherstep(u)
        out = np.where(t < self.t[0], self.y[0], out)
        return np.where(t >= self.t[-1], self.y[-1], out)

    def integral(self, t):
        """Integral from t = 0 (the value at t < t[0] is y[0])."""
        return self._integral_from_t0(t) - self._integral_from_t0(np.asarray(0.0))

    def _integral_from_t0(self, t):
        t = np.asarray(t, float)
        if len(self.t) == 1:
            return self.y[0] * (t - self.t[0])
        i = np.clip(np.searchsorted(self.t, t, side="right") - 1, 0, len(self.t) - 2)
        t0, t1 = self.t[i], self.t[i + 1]
        h = t1 - t0
        u = (t - t0) / h
        within = self._cum[i] + h * (self.y[i] * np.clip(u, 0, 1) + (self.y[i + 1] - self.y[i]) * smootherstep_integral(np.clip(u, 0, 1)))
        before = self.y[0] * (t - self.t[0])
        after = self._cum[-1] + self.y[-1] * (t - self.t[-1])
        return np.where(t < self.t[0], before, np.where(t >= self.t[-1], after, within))


class KnotTrack:
    """Values at increasing knot times joined by the interpolating cubic spline (C2, least curvature).

    A cubic spline is global, but a knot's influence decays by a factor of about 3.7 per knot, so
    the spline through the MARGIN knots on either side of the times asked for equals the spline
    through all knots to ~1e-5 of the signal: evaluations of neighbouring blocks, or by two sensors,
    join without a visible step.
    """

    MARGIN = 8

    def __init__(self, ncols: int, capacity: int = 4096):
        self.ncols = ncols
        self._t = np.empty(capacity)
        self._y = np.empty((capacity, ncols))
        self.n = 0

    @property
    def t(self) -> np.ndarray:
        return self._t[: self.n]

    @property
    def y(self) -> np.ndarray:
        return self._y[: self.n]

    @property
    def last_t(self) -> float:
        return self._t[self.n - 1] if self.n else -np.inf

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
            y_new = np.empty((cap, self.ncols))
            y_new[: self.n] = self._y[: self.n]
            self._y = y_new
        self._t[self.n : need] = t
        self._y[self.n : need] = y
        self.n = need

    def __call__(self, tq: np.ndarray) -> np.ndarray:
        tq = np.asarray(tq, float)
        T = self.t
        if self.n < 4:
            raise RuntimeError("too few knots")
        i0 = int(np.searchsorted(T, tq.min(), side="right")) - 1
        i1 = int(np.searchsorted(T, tq.max(), side="right"))
        lo = max(i0 - self.MARGIN, 0)
        hi = min(i1 + self.MARGIN + 1, self.n)
        return CubicSpline(T[lo:hi], self.y[lo:hi], axis=0, bc_type="not-a-knot")(tq)

    def forget_before(self, t: float) -> None:
        """Drop knots no evaluation will need again (keeps memory flat on long runs)."""
        k = int(np.searchsorted(self.t, t)) - 4
        if k > 0:
            self._t[: self.n - k] = self._t[k : self.n].copy()
            self._y[: self.n - k] = self._y[k : self.n].copy()
            self.n -= k


def _parabola_derivatives(T: np.ndarray, Y: np.ndarray):
    n = len(T)
    d1 = np.empty_like(Y)
    d2 = np.empty_like(Y)
    h = np.diff(T)[:, None]
    dy = np.diff(Y, axis=0)
    slope = dy / h
    if n >= 3:
        hl, hr = h[:-1], h[1:]
        d1[1:-1] = (hl * slope[1:] + hr * slope[:-1]) / (hl + hr)
        d2[1:-1] = 2.0 * (slope[1:] - slope[:-1]) / (hl + hr)
        d2[0], d2[-1] = d2[1], d2[-2]
        d1[0] = slope[0] - 0.5 * d2[0] * h[0]
        d1[-1] = slope[-1] + 0.5 * d2[-1] * h[-1]
    else:
        d1[:] = slope[0]
        d2[:] = 0.0
    return d1, d2


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
            medial_y: float, reach: float = 0.995):
    """Knee position joining hip and ankle with the shank at frontal angle theta_f (shared definition).

    The knee lies on the circle where the spheres of radius l_shank about the ankle and l_thigh
    about the hip meet; of that circle it takes the point, ahead of the leg, whose shank has the
    wanted frontal angle (closed form).  An ankle out of reach is drawn toward the hip (the heel
    lifting off), so the returned ankle may differ from the one given.
    """
    d = hip - ankle
    D = np.linalg.norm(d, axis=-1, keepdims=True)
    dh = d / D
    # soft limit: beyond 88 % of the reach the ankle is drawn smoothly toward the hip (no kink)
    Dmax = reach * (l_shank + l_thigh)
    D0 = 0.88 * Dmax
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
