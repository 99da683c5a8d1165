"""A small kinematic shank/thigh model with exact truth, for the analysis tests.

It is not the virtual runner (stridecue.sim): it is deliberately simple and fully analytic so that
a metric can be checked against a number computed from the definition itself, with any board
orientation.  Lab frame: x forward, y left, z up.  The segment is turned by its frontal angle
about x, then by its sagittal angle about y; the sensor sits on the long axis.
"""

from __future__ import annotations

import numpy as np
import pytest

from stridecue.analysis.run import block_from_arrays

G = 9.80665


def _rx(a):
    c, s = np.cos(a), np.sin(a)
    one, zero = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([one, zero, zero], -1), np.stack([zero, c, -s], -1), np.stack([zero, s, c], -1)], -2)


def _ry(a):
    c, s = np.cos(a), np.sin(a)
    one, zero = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, zero, s], -1), np.stack([zero, one, zero], -1), np.stack([-s, zero, c], -1)], -2)


def random_rotation(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    w, x, y, z = q
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def _periodic(phase_points, values, phase):
    """Smooth periodic interpolation (cubic through the points, wrapped)."""
    from scipy.interpolate import CubicSpline

    p = np.concatenate([phase_points, [phase_points[0] + 1.0]])
    v = np.concatenate([values, [values[0]]])
    return CubicSpline(p, v, bc_type="periodic")(phase % 1.0)


class SynthRun:
    """Samples and truth of a synthetic run (see module docstring).

    acc (n, 3) g and gyr (n, 3) deg/s in the board frame; truth: list of dicts with ic_t, to_t,
    wobble_deg, wobble_rate_dps, pta_axial_g, kind.  theta: frontal-plane angle trace (deg)."""

    def __init__(self, *, mount="shin", leg="left", rate=416.0, stand_s=3.0, run_s=30.0, stride_s=0.72,
                 duty=0.33, wobble_deg=6.0, rotation=None, seed=0, impact_g=6.0, noise=True, walk_s=0.0):
        rng = np.random.default_rng(seed)
        fine = 8
        dt = 1.0 / (rate * fine)
        total = stand_s + walk_s + run_s + 1.0
        t = np.arange(int(total / dt)) * dt
        phi = np.zeros_like(t)  # sagittal: + = proximal end ahead
        theta = np.zeros_like(t)  # frontal: + = knee end medial
        impact = np.zeros_like(t)
        events = []
        knee = 1.0 if mount == "shin" else -1.0
        start = stand_s
        phases = []
        if walk_s:
            phases.append(("walk", stand_s, stand_s + walk_s, 1.1, 0.62, 0.6))
        phases.append(("run", stand_s + walk_s, stand_s + walk_s + run_s, stride_s, duty, 1.0))
        for kind, t0, t1, T, D, amp in phases:
            k = 0
            ic = t0
            while ic + T <= t1:
                Tk = T * (1 + 0.02 * rng.normal())
                w_k = wobble_deg * amp * (1 + 0.2 * rng.normal()) if kind == "run" else wobble_deg * 0.3
                to = ic + D * Tk
                inside = (t >= ic) & (t < ic + Tk)
                ph = (t[inside] - ic) / Tk
                if mount == "shin":
                    pts = np.array([0.0, D * 0.5, D, *(D + (1 - D) * np.array([0.2, 0.45, 0.72, 0.9]))])
                    vals = np.radians([-8, 12, 42, 70, 40, -20, -14]) * amp
                else:
                    pts = np.array([0.0, D * 0.5, D, *(D + (1 - D) * np.array([0.25, 0.63, 0.9]))])
                    vals = np.radians([-25, -8, 12, -5, -30, -28]) * amp
                phi[inside] = _periodic(pts, vals, ph)
                st = (t[inside] >= ic) & (t[inside] <= to)
                sp = (t[inside][st] - ic) / (to - ic)
                bump = np.sin(np.pi * np.clip(sp / 0.8, 0, 1)) ** 2
                theta_in = np.zeros(inside.sum())
                theta_in[st] = np.radians(w_k) * bump
                theta[inside] = theta_in
                tt = t[inside] - ic
                impact[inside] += impact_g * amp * np.exp(-tt / 0.012) * np.sin(2 * np.pi * 25 * tt) * (tt >= 0)
                events.append({"kind": kind, "ic_t": ic, "to_t": to})
                ic += Tk
                k += 1
        # segment orientation: frontal about x (sign by leg), then sagittal about y
        side = 1.0 if leg == "left" else -1.0  # medial is -y for the left leg
        alpha = side * knee * theta  # knee end medial: tilt the long axis toward medial (shank), away (thigh)
        R = _ry(phi) @ _rx(alpha)
        L = R[:, :, 2]
        # sensor position: on the long axis, the distal end pinned at the ground during stance
        r = 0.20 if mount == "shin" else 0.25
        pos = r * L
        g_lab = np.array([0, 0, 1.0])
        acc_lab = np.gradient(np.gradient(pos, dt, axis=0), dt, axis=0) / G  # g
        spec = acc_lab + g_lab
        acc_body = np.einsum("nji,nj->ni", R, spec)
        acc_body[:, 2] += impact
        dphi = np.gradient(phi, dt)
        dalpha = np.gradient(alpha, dt)
        # body rate: phi' R_x(alpha)^T y + alpha' x
        w_body = np.stack([dalpha, dphi * np.cos(alpha), -dphi * np.sin(alpha)], -1)
        sel = slice(0, None, fine)
        self.rate = rate
        self.t = t[sel]
        M = np.eye(3) if rotation is None else rotation  # board -> segment
        acc_seg = acc_body[sel]
        gyr_seg = np.degrees(w_body[sel])
        self.acc = acc_seg @ M  # v_board = M^T v_seg  ->  rows: v_seg @ M
        self.gyr = gyr_seg @ M
        if noise:
            self.acc = self.acc + rng.normal(0, 0.01, self.acc.shape)
            self.gyr = self.gyr + rng.normal(0, 0.5, self.gyr.shape) + rng.normal(0, 1.0, 3)
        # truth from the definitions
        medial = np.array([0, -side, 0.0])
        theta_f = knee * np.degrees(np.arctan2(L @ medial, L[:, 2]))
        dtheta = np.gradient(theta_f, dt)
        self.truth = []
        for e in events:
            i0 = int(round(e["ic_t"] / dt))
            i1 = int(round(e["to_t"] / dt))
            w = float(theta_f[i0 : i1 + 1].max() - theta_f[i0])
            rate_max = float(dtheta[i0 : i1 + 1].max())
            half = i0 + int(round(0.5 * (i1 - i0)))
            pta = float(acc_body[i0 : half + 1, 2].max())
            self.truth.append(dict(e, wobble_deg=w, wobble_rate_dps=rate_max, pta_axial_g=pta))
        self.theta = theta_f[sel]

    def block(self, accel_g=32, gyro_code=16, sensor=0, gyro=True):
        return block_from_arrays(self.rate, self.acc, self.gyr if gyro else None, accel_g=accel_g,
                                 gyro_code=gyro_code, sensor=sensor)


def test_synthetic_truth_is_consistent():
    run = SynthRun(run_s=10.0, noise=False)
    assert len(run.truth) >= 12
    w = np.array([s["wobble_deg"] for s in run.truth])
    assert np.all((w > 2) & (w < 12))
    # standing: 1 g along the long axis
    assert np.allclose(run.acc[:100].mean(axis=0), [0, 0, 1], atol=1e-6)


@pytest.mark.parametrize("seed", [1, 2])
def test_rotation_is_proper(seed):
    M = random_rotation(seed)
    assert np.allclose(M @ M.T, np.eye(3)) and np.isclose(np.linalg.det(M), 1.0)
