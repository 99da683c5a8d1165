"""The virtual runner's body in motion: one object that holds the schedule (scenario.py), the stride
plan (strides.py), the pelvis (pelvis.py) and the legs (legs.py), and answers what a sensor on a
segment sees.

A sensor is a point on a segment: its gyro is the segment's angular velocity and its accelerometer
the specific force R^T (p'' - g) at that point, both in the segment's frame (central differences of
the model's pose); the impact transient at initial contact is added by the sensor (sensor.py).
"""

from __future__ import annotations

import numpy as np

from stridecue.sim.kinematics import G, long_axis, segment_rotation
from stridecue.sim.legs import LegTracks
from stridecue.sim.pelvis import Pelvis
from stridecue.sim.scenario import CueResponses, Schedule
from stridecue.sim.strides import Build, StridePlan

_H = 5e-4  # s, step of the central differences that give velocities and accelerations


def sensor_site(leg: str, mount: str) -> tuple[float, np.ndarray]:
    """Where the sensor sits: fraction of the segment from its distal end, offset in the segment frame."""
    side = 1.0 if leg == "left" else -1.0
    if mount == "shin":  # lower third of the tibia, on its (antero)medial surface
        return 1.0 / 3.0, np.array([0.015, -side * 0.03, 0.0])
    return 0.5, np.array([0.0, side * 0.075, 0.0])  # lateral mid-thigh


class RunnerBody:
    """The runner's body over time: plans steps lazily and answers kinematic questions.

    Its parts keep their state; the body hands on what the sensors, the runner and the checks use:
    contacts and contact_starts per leg, steps, knots per leg, pelvis(t), hip(leg, pel)."""

    def __init__(self, settings, seed: int):
        self.s = settings
        self.rng = np.random.default_rng([seed, 11])
        self.build = Build(settings)
        self.schedule = Schedule(settings, self.build.level, self.build.stand_level())
        self.cues = CueResponses(settings)
        self.plan = StridePlan(settings, self.rng, self.build, self.schedule, self.cues)
        self.pelvis = Pelvis(self.plan, self.schedule, self.build, sway_phase=self.rng.uniform(0, 2 * np.pi, 4))
        self.legs = LegTracks(settings, self.build, self.plan, self.pelvis)
        self.l_shank, self.l_thigh = self.build.l_shank, self.build.l_thigh
        self.contacts = self.plan.contacts
        self.contact_starts = self.plan.contact_starts
        self.steps = self.plan.steps
        self.knots = self.legs.knots
        self.hip = self.pelvis.hip

    def ensure_steps(self, t: float) -> None:
        """Plan until the pelvis is defined beyond t."""
        self.plan.ensure_steps(t)

    def ensure_knots(self, leg: str, t: float) -> None:
        """Plan until the leg's track is settled beyond t."""
        self.legs.ensure_knots(leg, t)

    def respond(self, t: float, wobble: float, load: float, cadence: float) -> None:
        """A heeded cue at t: fractions of wobble, landing load and cadence (scenario.cue_fractions)."""
        self.cues.respond(t, wobble, load, cadence)

    # -- what a sensor sees ---------------------------------------------------------------------

    def segment_state(self, leg: str, mount: str, t: np.ndarray, offset: np.ndarray, along: float):
        """R (n,3,3) segment->world, sensor position p (n,3), long axis L (n,3) at times t."""
        ang = self.knots[leg](t)
        pel = self.pelvis(t)
        hip = self.hip(leg, pel)
        Lt = long_axis(ang[:, 0], ang[:, 1])
        knee = hip - self.l_thigh * Lt
        if mount == "thigh":
            R = segment_rotation(ang[:, 0], ang[:, 1], ang[:, 2])
            p = knee + along * self.l_thigh * Lt + R @ offset
            return R, p, Lt
        Ls = long_axis(ang[:, 3], ang[:, 4])
        ankle = knee - self.l_shank * Ls
        R = segment_rotation(ang[:, 3], ang[:, 4], ang[:, 5])
        p = ankle + along * self.l_shank * Ls + R @ offset
        return R, p, Ls

    def kinematic_signals(self, leg: str, mount: str, t: np.ndarray, along: float | None = None, offset=None):
        """Specific force (g) and angular velocity (dps) of the standard sensor site on a segment, in
        the segment frame, without the impact transient; and the long axis L (world)."""
        n = len(t)
        t_hi = float(t.max()) + 2 * _H
        self.ensure_steps(t_hi + 0.05)
        self.ensure_knots(leg, t_hi + 0.05)
        self.ensure_steps(t_hi + 0.05)
        site_along, site_offset = sensor_site(leg, mount)
        along = site_along if along is None else along
        offset = site_offset if offset is None else offset
        tt = np.concatenate([t - _H, t, t + _H])
        R, p, L = self.segment_state(leg, mount, tt, offset, along)
        Rm, R0, Rp = R[:n], R[n:2 * n], R[2 * n:]
        acc_w = (p[2 * n:] - 2 * p[n:2 * n] + p[:n]) / (_H * _H)
        acc_w[:, 2] += G
        R0T = np.transpose(R0, (0, 2, 1))
        f_seg = np.einsum("nij,nj->ni", R0T, acc_w) / G
        Om = np.einsum("nij,njk->nik", R0T, (Rp - Rm) / (2 * _H))
        w = 0.5 * np.stack([Om[:, 2, 1] - Om[:, 1, 2], Om[:, 0, 2] - Om[:, 2, 0], Om[:, 1, 0] - Om[:, 0, 1]], axis=1)
        return f_seg, np.degrees(w), L[n:2 * n]

    def size_impacts(self, contacts: list, shin_axial_at_peak: np.ndarray) -> None:
        """Size (g) of each contact's impact transient at the shin so that the axial peak comes to
        c.landing_g, given the kinematic axial acceleration where the transient peaks."""
        for c, a in zip(contacts, shin_axial_at_peak):
            c.impact_amp = max(c.landing_g - float(a), 0.3)
