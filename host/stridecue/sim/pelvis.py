"""The pelvis of the virtual runner over time, from the planned steps: forward travel, spring-mass
vertical motion while running, inverted-pendulum rise while walking, lateral sway, pelvic rotation
(yaw) and drop, the settling of a landing into standing, and a standing runner's fidget; and the
hip joint centres on it."""

from __future__ import annotations

import bisect
import math

import numpy as np

from stridecue.sim.kinematics import G, clip, smootherstep
from stridecue.sim.strides import KIND_CODE


def _bump(s):
    """0 -> 1 (at s = 1/2) -> 0 over s in [0, 1], with zero first and second derivatives at both ends:
    per-step pelvis motions built from it join without a step in acceleration whatever their sizes."""
    s = clip(s, 0.0, 1.0)
    return 64.0 * (s * (1.0 - s)) ** 3


class Pelvis:
    """pelvis(t): (n, 5) x, y, z (m), yaw, drop (rad) of the pelvis centre; hip(leg, pel)."""

    def __init__(self, plan, schedule, build, sway_phase: np.ndarray):
        self.plan = plan  # strides.StridePlan
        self.schedule = schedule  # scenario.Schedule
        self.hip_half_width = build.hip_half_width
        self._sway_phase = sway_phase

    def __call__(self, t: np.ndarray) -> np.ndarray:
        """(n, 5) x, y, z (m), yaw, drop (rad) of the pelvis centre at times t (planned already)."""
        t = np.asarray(t, float)
        out = np.zeros((len(t), 5))
        out[:, 0] = self.schedule.speed.integral(t)
        out[:, 2] = self.schedule.level(t)
        step_starts = self.plan.step_starts
        lo = max(bisect.bisect_right(step_starts, float(t.min())) - 1, 0)
        hi = max(bisect.bisect_right(step_starts, float(t.max())), lo + 1)
        steps = self.plan.steps[lo:hi]
        j = np.maximum(np.searchsorted(np.asarray(step_starts[lo:hi]), t, side="right") - 1, 0)
        P = np.array([[st.start, st.end, KIND_CODE[st.kind], st.tc if st.tc > 0 else 1.0, st.u_in, st.A, st.B, st.brake,
                       st.sway, st.yaw, st.drop, st.osc, st.fidget] for st in steps])[j]
        start, end, kind, tc, u_in, A, B, brake, sway, yaw, drop, osc, fidget = P.T
        tau = t - start
        run = kind == 2
        walk = kind == 3
        stand = kind == 0
        gait = run | walk
        if gait.any():
            dur = np.where(np.isfinite(end), end - start, 1.0)
            bump = _bump(tau / dur)
            out[:, 1] = np.where(gait, sway * bump, 0.0)
            out[:, 3] = np.where(gait, yaw * bump, 0.0)
            out[:, 2] += np.where(walk, osc * bump, 0.0)
            out[:, 4] = np.where(walk, drop * bump, 0.0)
        if run.any():
            # spring-mass stance (two sine force terms), ballistic flight
            ts = np.minimum(tau, tc)
            c1 = tc / math.pi
            c2 = 0.5 * c1
            z_st = u_in * ts - 0.5 * G * ts * ts + A * c1 * (ts - c1 * np.sin(ts / c1)) + B * c2 * (ts - c2 * np.sin(ts / c2))
            tf = np.maximum(tau - tc, 0.0)
            u_to = u_in - G * tc + 2 * A * c1
            s = clip(tau / tc, 0.0, 1.0)
            out[:, 2] += np.where(run, z_st + u_to * tf - 0.5 * G * tf * tf, 0.0)
            out[:, 0] += np.where(run, -2.0 * brake * _bump(s), 0.0)
            out[:, 4] += np.where(run, drop * _bump(s), 0.0)
        settling = (stand | walk) & (u_in != 0.0)
        if settling.any():
            # landing from a flight into standing or walking: the downward speed dies away smoothly
            # (gone within 0.3 s: shorter than any walking step, so the next step starts level); it
            # starts with the flight's velocity and its -g, so the acceleration has no step at contact
            tau_p = np.maximum(tau, 0.0)
            landing = ((u_in * tau_p + (u_in / 0.05 - 0.5 * G) * tau_p * tau_p) * np.exp(-tau_p / 0.05)
                       * (1.0 - smootherstep((tau - 0.12) / 0.18)))
            out[:, 2] += np.where(settling, landing, 0.0)
        if stand.any():
            if np.any(fidget[stand] > 0):
                win = smootherstep((tau - 0.6) / 1.0) * (1.0 - smootherstep((t - (end - 1.6)) / 1.0)) * fidget * stand
                ph = self._sway_phase
                out[:, 0] += win * 0.006 * np.sin(2 * np.pi * 0.23 * t + ph[0])
                out[:, 1] += win * 0.009 * np.sin(2 * np.pi * 0.31 * t + ph[1])
        return out

    def hip(self, leg: str, pel: np.ndarray) -> np.ndarray:
        """(n, 3) the hip joint centre of a leg on the pelvis pel (world)."""
        side = 1.0 if leg == "left" else -1.0
        w = self.hip_half_width * side
        yaw, drop = pel[:, 3], pel[:, 4]
        # Rz(yaw) @ Rx(drop) applied to (0, w, 0)
        y_r = w * np.cos(drop)
        z_r = w * np.sin(drop)
        return np.stack([pel[:, 0] - np.sin(yaw) * y_r, pel[:, 1] + np.cos(yaw) * y_r, pel[:, 2] + z_r], axis=1)
