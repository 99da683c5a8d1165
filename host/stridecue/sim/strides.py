"""Stride planning for the virtual runner: the runner's build, and the plan of steps (the pelvis
from one contact to the next) and contacts (where and when each foot is on the ground).

Strides are planned lazily, one step per next() of the planner, about one stride ahead of what any
sensor has read, so a cue changes the strides that start after it (plus a reaction time).  Each step
and each contact draws its variability (step time, contact time, wobble, landing load) from the
body's random generator in time order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from stridecue.errors import UserError
from stridecue.sim.kinematics import G
from stridecue.sim.scenario import default_cadence, default_contact_time, default_foot_ahead, default_landing_g

LEGS = ("left", "right")
KIND_CODE = {"stand": 0, "start": 1, "run": 2, "walk": 3}
OTHER_LEG = {"left": "right", "right": "left"}

ANKLE_HEIGHT = 0.08  # m, ankle joint centre above the ground with the foot flat
APPROACH_VZ = 0.4  # m/s, the ankle's downward speed just before initial contact
APPROACH_VX = 0.3  # the ankle's forward speed over the ground just before contact, as a fraction of running speed
LANDING_T = 0.012  # s, time constant of the heel pad and shoe at landing


# --------------------------------------------------------------------------------------------
# the build: segment lengths, posture at contact, pelvis height


class Build:
    """Segment lengths from the runner's height, where the foot lands and how high the pelvis is at
    a contact (the posture of settings.body at its own speed)."""

    def __init__(self, settings):
        self.s = settings
        h = settings.height_m
        self.l_shank = 0.246 * h
        self.l_thigh = 0.245 * h
        self.hip_half_width = 0.0485 * h
        self.leg_length = self.l_shank + self.l_thigh

    def stand_level(self) -> float:
        return ANKLE_HEIGHT + self.leg_length * math.cos(math.radians(4.0))

    def level(self, v: float, kind: str) -> float:
        """Pelvis height at contact: running, the body's shank and thigh inclinations at contact
        (the ankle is still settling then: legs.LegTracks.contact_angles); walking, the knee flexed 10 deg."""
        if kind == "run":
            return ANKLE_HEIGHT + APPROACH_VZ * 2 * LANDING_T + self.contact_leg(v)[1]
        reach = self.leg_length * math.cos(math.radians(5.0))
        return ANKLE_HEIGHT + math.sqrt(max(reach**2 - self.foot_ahead(v, kind, None) ** 2, 0.25))

    def contact_leg(self, v: float) -> tuple[float, float]:
        """(forward, vertical) m from the hip to the ankle at a running contact: the body's posture
        at its own speed; at another the shank keeps its angle and the foot lands further ahead the
        faster (default_foot_ahead), which sets the thigh."""
        b, s = self.s.body, self.s
        ts, tt = math.radians(b.shank_ic_deg), math.radians(b.thigh_ic_deg)
        ahead = -(self.l_shank * math.sin(ts) + self.l_thigh * math.sin(tt))
        ahead *= default_foot_ahead(v) / default_foot_ahead(b.posture_speed_mps or s.speed_mps)
        sin_t = min(max(-(ahead + self.l_shank * math.sin(ts)) / self.l_thigh, -0.95), 0.3)
        return ahead, self.l_shank * math.cos(ts) + self.l_thigh * math.sqrt(1.0 - sin_t * sin_t)

    def foot_ahead(self, v: float, kind: str, tc: float | None) -> float:
        if kind == "walk":
            return 0.14 + 0.06 * v
        return self.contact_leg(v)[0] + APPROACH_VX * v * 2 * LANDING_T


# --------------------------------------------------------------------------------------------
# the plan: steps (pelvis) and contacts (feet)


@dataclass
class Contact:
    leg: str
    start: float
    end: float
    kind: str  # run | walk | stand
    ankle: np.ndarray  # where the ankle lands (world)
    speed: float
    wobble_deg: float = 0.0
    frontal_ic_deg: float = -2.0
    landing_g: float = 1.5
    internal_rot_deg: float = 5.0
    roll_m: float = 0.0
    lift_m: float = 0.0
    prev_ic: float | None = None
    knots: tuple | None = None
    impact_amp: float | None = None
    approach_rate: np.ndarray | None = None  # leg angles' rates (rad/s) as the foot arrives


@dataclass
class Step:
    """The pelvis from one contact start to the next."""

    start: float
    kind: str  # run | walk | stand | start
    leg: str | None  # the stance leg (run/walk)
    tc: float = 0.0
    u_in: float = 0.0  # vertical velocity of the pelvis oscillation at the start
    end: float = math.inf
    A: float = 0.0
    B: float = 0.0
    brake: float = 0.0  # m, forward lag of the pelvis at mid-stance (braking then propulsion)
    sway: float = 0.0  # m, lateral sway toward the stance leg
    yaw: float = 0.0  # rad
    drop: float = 0.0  # rad, contralateral pelvic drop
    osc: float = 0.0  # m, walking vertical oscillation
    fidget: float = 0.0


class StridePlan:
    """Steps and contacts in time order, planned lazily (ensure_steps, ensure_contacts)."""

    def __init__(self, settings, rng: np.random.Generator, build: Build, schedule, cues):
        self.s = settings
        self.rng = rng
        self.build = build
        self.schedule = schedule  # scenario.Schedule
        self.cues = cues  # scenario.CueResponses
        self.steps: list[Step] = []
        self.step_starts: list[float] = []
        self.contacts: dict[str, list[Contact]] = {"left": [], "right": []}
        self.contact_starts: dict[str, list[float]] = {"left": [], "right": []}
        self.forever = False  # nothing left to plan: standing for ever
        self._plan = self._planner()

    def ensure_steps(self, t: float) -> None:
        """Plan until the pelvis is defined beyond t."""
        while (not self.steps or self.steps[-1].start <= t) and not self.forever:
            next(self._plan)

    def ensure_contacts(self, leg: str, k: int) -> bool:
        """Plan until contact k of this leg exists; False if it never will."""
        while len(self.contacts[leg]) <= k:
            if self.forever:
                return False
            next(self._plan)
        return True

    # -- the planner: one step per next() ------------------------------------------------------

    def _planner(self):
        """Appends steps and contacts in time order, one step per next(): standing until the first
        walk or run, then bouts of walking and running, each setting off from standing and coming
        back to it; after the last, standing for ever."""
        pi = yield from self._stand_at_start()
        lead = "left"
        while pi is not None:
            pi, lead = yield from self._bout(pi, lead)
        self.forever = True
        while True:
            yield  # standing for ever

    def _stand_at_start(self):
        phases = self.schedule.phases
        first_loco = _next_gait(phases, 0)
        stand_end = phases[first_loco][1] if first_loco is not None else math.inf
        self._add_step(Step(start=-10.0, kind="stand", leg=None, fidget=0.3))
        for leg in LEGS:
            self._add_contact(self._stand_contact(leg, -10.0, stand_end, 0.0, 0.0))
        yield
        return first_loco

    def _bout(self, pi: int, lead: str):
        """From standing, through the walk and run phases that follow each other from phase pi, back
        to standing.  Returns the next bout's first phase (None: none) and its lead leg."""
        kind, T0, _ = self.schedule.phases[pi]
        ic, step, tc = yield from self._set_off(lead, kind, T0)
        pi, T1, leg, next_ic, step, contact, st = yield from self._strides(pi, lead, ic, step, tc)
        return (yield from self._come_to_stand(pi, T1, leg, next_ic, step, contact, st))

    def _set_off(self, lead: str, kind: str, T0: float):
        """From standing: the lead foot lifts at T0 and lands after a first swing; the other foot
        pushes off just before that landing.  Returns the first contact's time and its gait."""
        ic = T0 + (0.40 if kind == "run" else 0.45)
        step, tc = self._gait(ic, kind)
        trail_to = ic - max(step - tc, 0.0) if kind == "run" else ic + 0.1
        self.contacts[lead][-1].end = T0
        self.contacts[OTHER_LEG[lead]][-1].end = max(trail_to, T0 + 0.15)
        self._add_step(Step(start=T0, kind="start", leg=None))
        yield
        return ic, step, tc

    def _strides(self, pi: int, lead: str, ic: float, step: float, tc: float):
        """Contacts of alternate legs, one step per next(), across walk and run phases until the next
        stand or stop.  Returns where the bout ends: its last phase, that phase's end, the last
        stance leg, the time the next foot lands, the last step time, contact and step."""
        phases = self.schedule.phases
        kind, T0, T1 = phases[pi]
        leg = lead
        prev_ic = {"left": None, "right": None}
        u_in = 0.0
        while True:
            contact = self._new_contact(leg, ic, kind, tc, prev_ic[leg])
            self._add_contact(contact)
            prev_ic[leg] = ic
            st = self._gait_step(contact, kind, tc, u_in)
            self._add_step(st)
            yield
            next_ic = ic + step
            if next_ic >= T1:
                nxt = phases[pi + 1] if pi + 1 < len(phases) else None
                if nxt is None or nxt[0] not in ("walk", "run"):
                    return pi, T1, leg, next_ic, step, contact, st
                pi += 1
                kind, T0, T1 = phases[pi]
            step_next, tc_next = self._gait(next_ic, kind)
            self._finish_step(st, next_ic)
            u_in = self._step_exit_velocity(st)
            ic, step, tc = next_ic, step_next, tc_next
            leg = OTHER_LEG[leg]

    def _come_to_stand(self, pi: int, T1: float, leg: str, next_ic: float, step: float, contact: Contact, st: Step):
        """Landing into standing: the next foot lands, the other one beside it.  Returns the next
        walk or run phase (None: none) and the leg that leads off into it."""
        phases = self.schedule.phases
        self._finish_step(st, next_ic)
        u_in = self._step_exit_velocity(st)
        pi += 1
        nxt_loco = _next_gait(phases, pi)
        end_stand = phases[nxt_loco][1] if nxt_loco is not None else math.inf
        x_stop = float(self.schedule.speed.integral(np.array(T1 + 0.45)))
        land_leg = OTHER_LEG[leg]
        land2 = next_ic + 0.55 * step + 0.1
        if end_stand <= land2 + 0.3:
            raise UserError("segments: a stop is too short for the runner to stand still before going on")
        self._add_contact(self._stand_contact(land_leg, next_ic, end_stand, x_stop, 0.0, 0.8 * contact.landing_g))
        self._add_contact(self._stand_contact(leg, land2, end_stand, x_stop, 0.0, 0.5 * contact.landing_g))
        fidget = 1.0 if phases[pi][0] == "stop" else 0.3
        self._add_step(Step(start=next_ic, kind="stand", leg=None, u_in=u_in, fidget=fidget))
        yield
        return nxt_loco, OTHER_LEG[land_leg]

    # -- steps and contacts --------------------------------------------------------------------

    def _add_step(self, step: Step) -> None:
        if self.steps:
            self._finish_step(self.steps[-1], step.start)
        self.steps.append(step)
        self.step_starts.append(step.start)

    def _add_contact(self, c: Contact) -> None:
        self.contacts[c.leg].append(c)
        self.contact_starts[c.leg].append(c.start)

    def _finish_step(self, st: Step, end: float) -> None:
        st.end = end
        if st.kind == "run":
            tc = st.tc
            tf = max(end - st.start - tc, 0.0)
            u_out = G * tf / 2.0
            st.A = math.pi * (u_out - st.u_in + G * tc) / (2 * tc)
            st.B = -2 * math.pi * (st.u_in * tc - G * tc * tc / 2 + st.A * tc * tc / math.pi) / (tc * tc)

    def _step_exit_velocity(self, st: Step) -> float:
        if st.kind == "run":
            tf = max(st.end - st.start - st.tc, 0.0)
            return G * tf / 2.0 - G * tf
        return 0.0

    def _gait_step(self, contact: Contact, kind: str, tc: float, u_in: float) -> Step:
        """The pelvis over a walking or running step on this contact: sway and yaw toward the stance
        leg, a pelvic drop that grows with the stance's wobble, braking (running) or a walking rise."""
        leg = contact.leg
        st = Step(start=contact.start, kind=kind, leg=leg, tc=tc, u_in=u_in)
        side = 1.0 if leg == "left" else -1.0
        v = contact.speed
        if kind == "run":
            st.brake = (0.8 + 1.1 * v) * (tc / (2 * math.pi)) ** 2
            st.sway, st.yaw = side * 0.012, side * math.radians(4.0)
            st.drop = side * math.radians(3.0 + 0.3 * contact.wobble_deg)
        else:
            st.osc = 0.02
            st.sway, st.yaw = side * 0.02, side * math.radians(3.0)
            st.drop = side * math.radians(2.0 + 0.2 * contact.wobble_deg)
        return st

    def _new_contact(self, leg: str, ic: float, kind: str, tc: float, prev_ic) -> Contact:
        s, rng, b = self.s, self.rng, self.build
        v = float(self.schedule.speed(ic))
        wob_fr, load_fr, _ = self.cues.effects(ic)
        hip_y = 0.0  # the lateral sway is zero at every contact
        side = 1.0 if leg == "left" else -1.0
        if kind == "run":
            wobble = s.wobble_deg + s.wobble_fatigue_deg_per_10min * self.schedule.running_time(ic) / 600.0
            wobble = wobble * (1.0 - wob_fr) + rng.normal(0.0, s.wobble_sd_deg)
            base_load = default_landing_g(v)
            if s.landing_g is not None:
                base_load *= s.landing_g / default_landing_g(s.speed_mps)
            landing = base_load * (1.0 - load_fr) * (1.0 + rng.normal(0.0, s.landing_cv))
            half_width, roll, lift = 0.03, 0.05 + 0.025 * v, 0.04 + 0.02 * v
        else:
            wobble = 0.5 * s.wobble_deg * (1.0 - wob_fr) + rng.normal(0.0, 0.5 * s.wobble_sd_deg)
            landing = default_landing_g(v, "walk") * (1.0 - 0.5 * load_fr) * (1.0 + rng.normal(0.0, s.landing_cv))
            half_width, roll, lift = 0.05, 0.12, 0.12
        x_hip = float(self.schedule.speed.integral(np.array(ic)))
        ankle = np.array([x_hip + b.foot_ahead(v, kind, tc), hip_y + side * half_width, ANKLE_HEIGHT])
        # the foot rolls over its forefoot far enough that at toe-off the leg reaches the hip with
        # the knee at ~20 deg: at high speed the contact spans more ground than the leg alone could
        ahead = float(self.schedule.speed.integral(np.array(ic + tc))) - ankle[0]
        height = float(self.schedule.level(np.array(ic + tc))) - (ANKLE_HEIGHT + lift)
        reach = b.leg_length * math.cos(math.radians(10.0))
        span = math.sqrt(max(reach**2 - height**2 - (b.hip_half_width - half_width) ** 2, 0.01))
        roll = max(roll, ahead - span)
        return Contact(leg=leg, start=ic, end=ic + tc, kind=kind, ankle=ankle, speed=v,
                       wobble_deg=max(wobble, 0.0), frontal_ic_deg=s.frontal_ic_deg + rng.normal(0.0, 0.5),
                       landing_g=max(landing, 1.3), internal_rot_deg=5.0 + rng.normal(0.0, 1.0),
                       roll_m=roll, lift_m=lift, prev_ic=prev_ic)

    def _gait(self, t: float, kind: str) -> tuple[float, float]:
        """(step time, contact time) for a step starting at t."""
        s, rng = self.s, self.rng
        v = float(self.schedule.speed(t))
        _, _, cad_fr = self.cues.effects(t)
        if kind == "walk":
            cad = default_cadence(v, "walk")
        else:
            target = s.cadence_spm if s.cadence_spm is not None else default_cadence(s.speed_mps)
            cad = target * default_cadence(v) / default_cadence(s.speed_mps)
        cad *= 1.0 + cad_fr
        step = 60.0 / cad * (1.0 + rng.normal(0.0, s.stride_time_cv))
        if kind == "walk":
            tc = 2 * step * 0.62 * (1.0 + rng.normal(0.0, s.contact_time_cv))
        else:
            tc0 = default_contact_time(v) if s.contact_time_s is None else s.contact_time_s * (max(v, 1.0) / s.speed_mps) ** -0.5
            tc = tc0 * (1.0 + rng.normal(0.0, s.contact_time_cv))
            tc = min(tc, 0.92 * step)
        return step, tc

    def _stand_contact(self, leg: str, start: float, end: float, x: float, y_pelvis: float, landing_g: float = 1.0) -> Contact:
        side = 1.0 if leg == "left" else -1.0
        ankle = np.array([x, y_pelvis + side * (self.build.hip_half_width + 0.01), ANKLE_HEIGHT])
        return Contact(leg=leg, start=start, end=end, kind="stand", ankle=ankle, speed=0.0,
                       frontal_ic_deg=self.s.frontal_ic_deg, landing_g=landing_g, internal_rot_deg=0.0)


def _next_gait(phases: list, start: int) -> int | None:
    """Index of the first walk or run phase from start on (None: none)."""
    return next((i for i in range(start, len(phases)) if phases[i][0] in ("walk", "run")), None)
