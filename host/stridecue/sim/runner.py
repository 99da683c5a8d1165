"""The virtual runner: IMU signals of a shin or thigh from one kinematic model of the legs.

One body per runner: a pelvis path (forward speed, spring-mass vertical motion while running,
inverted-pendulum motion while walking, lateral sway, pelvic rotation and drop) and, per leg, the
thigh and shank orientations over the gait cycle.  During a foot contact the ankle stays where it
landed (rolling forward and lifting at push-off) and the knee is solved from hip and ankle with the
shank's frontal-plane angle following the stance's wobble; in swing the thigh and knee follow
published-shape templates.  A sensor is a point on a segment: its gyro is the segment's angular
velocity and its accelerometer the specific force R^T (p'' - g) at that point, both in the board's
frame, plus an impact transient at initial contact.  Ground truth per stance is computed from the
same model with the shared definitions (docs/virtual-runner.md).

Strides are planned lazily, about one stride ahead of what any sensor has read, so a cue changes the
strides that start after it (plus a reaction time).
"""

from __future__ import annotations

import bisect
import math
import numbers
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from stridecue.errors import UserError
from stridecue.sim.bodies import DEFAULT_BODY, Body
from stridecue.sim.impact import IMPACT_SPAN, impact_shape, pulse, vibration
from stridecue.sim.kinematics import (G, KnotTrack, Ramp, axis_angles, frontal_angle, knee_ik, long_axis,
                         segment_rotation, smootherstep)

LEGS = ("left", "right")
_KIND_CODE = {"stand": 0, "start": 1, "run": 2, "walk": 3}
MOUNTS = ("shin", "thigh")
CUE_KINDS = ("wobble", "hip", "foot", "load", "cadence")
PHASE_KINDS = ("stand", "walk", "run", "stop")

# Stance knots (fractions of contact time) and swing knots (fractions of swing time).
_STANCE_S = np.array([0.0, 0.06, 0.14, 0.24, 0.35, 0.47, 0.59, 0.70, 0.80, 0.90, 1.0])
_SWING_KNOT_S = 0.03  # s, about the spacing of the stance knots (even spacing keeps the spline calm)
_STAND_KNOT_S = 0.1
_APPROACH_T = np.array([0.01, 0.02])  # s before initial contact: knots on the leg's approach
_APPROACH_VZ = 0.4  # m/s, the ankle's downward speed just before initial contact
_APPROACH_VX = 0.3  # the ankle's forward speed over the ground just before contact, as a fraction of running speed
_LANDING_T = 0.012  # s, time constant of the heel pad and shoe at landing
_LANDING_KNOTS_S = np.array([0.006, 0.012, 0.018, 0.026, 0.036])  # s after contact: knots that resolve the landing
_KNEE_PEAK_U = 0.49  # fraction of swing at peak knee flexion
_HIP_PEAK_U = 0.62  # fraction of swing at peak thigh flexion
_HIP_FLEX_DEG = (28.0, 6.0)  # peak thigh flexion in a running swing: a + b x speed (deg)
_KNEE_FLEX_DEG = (62.0, 6.0)  # peak knee flexion in a running swing: a + b x speed (deg)
_RATE_HANDOVER_S = (0.10, 0.15)  # s over which the swing takes over toe-off's rates and hands over to the landing's
_ANKLE_HEIGHT = 0.08  # m, ankle joint centre above the ground with the foot flat
_TWIST_U = 0.15  # fraction of swing over which the shank's stance twist goes and returns
_H = 5e-4  # s, step of the central differences that give velocities and accelerations


# --------------------------------------------------------------------------------------------
# settings


@dataclass
class RunnerSettings:
    """Who runs, how, and for how long.  Every field has a default; see docs/virtual-runner.md."""

    speed_mps: float = 3.3  # running speed, 2-6 m/s
    cadence_spm: float | None = None  # steps per minute (both legs), 150-200; None: from speed
    wobble_deg: float = 6.0  # mean frontal-plane excursion of the shank during stance
    wobble_fatigue_deg_per_10min: float = 1.5  # wobble grows by this per 10 minutes of running
    cue_compliance: float = 0.8  # probability that the runner heeds a cue
    landing_g: float | None = None  # mean peak tibial acceleration at the shin while running; None: from speed
    walk_speed_mps: float = 1.4  # speed of "walk" segments, 1.0-2.0 m/s
    segments: tuple = (("stand", 3.0), ("run", math.inf))  # (kind, seconds): stand|walk|run|stop
    focus_response: str | None = None  # "hip", "foot" or None: which guided instruction works best
    stride_time_cv: float = 0.02  # stride-to-stride variability of step time (coefficient of variation)
    contact_time_cv: float = 0.03
    wobble_sd_deg: float = 0.8  # stride-to-stride SD of wobble
    landing_cv: float = 0.12  # stride-to-stride coefficient of variation of peak tibial acceleration
    frontal_ic_deg: float = -2.0  # shank frontal angle at initial contact (negative: varus)
    cue_wobble_reduction: float = 0.5  # fraction of wobble a heeded wobble cue removes
    cue_load_reduction: float = 0.2  # fraction of landing load a heeded load cue removes
    cue_cadence_increase: float = 0.05  # fraction a heeded cadence cue adds to cadence
    cue_reaction_s: float = 0.6  # from hearing a cue to the first changed stride
    cue_hold_s: float = 30.0  # the change holds this long ...
    cue_fade_s: float = 45.0  # ... then fades back with this time constant
    height_m: float = 1.75
    contact_time_s: float | None = None  # ground contact time at speed_mps; None: from speed
    body: Body | None = None  # posture, stance twist, strike, soft tissue (sim/bodies.py); None: DEFAULT_BODY

    def __post_init__(self):
        def need(ok: bool, message: str):
            if not ok:
                raise UserError(message)

        need(_finite(self.speed_mps) and 2.0 <= self.speed_mps <= 6.0,
             f"runner speed {self.speed_mps} m/s is outside the virtual runner's 2-6 m/s")
        need(self.cadence_spm is None or (_finite(self.cadence_spm) and 150.0 <= self.cadence_spm <= 200.0),
             f"runner cadence {self.cadence_spm} steps/min is outside 150-200")
        need(_finite(self.wobble_deg) and 0.0 <= self.wobble_deg <= 20.0, f"wobble {self.wobble_deg} deg is outside 0-20")
        need(_finite(self.wobble_fatigue_deg_per_10min) and -5 <= self.wobble_fatigue_deg_per_10min <= 10,
             f"wobble fatigue {self.wobble_fatigue_deg_per_10min} deg/10 min is outside -5..10")
        need(_finite(self.cue_compliance) and 0.0 <= self.cue_compliance <= 1.0,
             f"cue compliance {self.cue_compliance} is not a probability (0-1)")
        need(self.landing_g is None or (_finite(self.landing_g) and 2.0 <= self.landing_g <= 20.0),
             f"landing load {self.landing_g} g is outside 2-20 g")
        need(_finite(self.walk_speed_mps) and 1.0 <= self.walk_speed_mps <= 2.0,
             f"walking speed {self.walk_speed_mps} m/s is outside 1-2 m/s")
        need(self.focus_response in (None, "hip", "foot"), f"focus_response {self.focus_response!r} is not 'hip', 'foot' or None")
        for name in ("stride_time_cv", "contact_time_cv", "landing_cv"):
            v = getattr(self, name)
            need(_finite(v) and 0.0 <= v <= 0.3, f"{name} {v} is outside 0-0.3")
        need(_finite(self.wobble_sd_deg) and 0 <= self.wobble_sd_deg <= 5, f"wobble_sd_deg {self.wobble_sd_deg} is outside 0-5")
        need(_finite(self.height_m) and 1.4 <= self.height_m <= 2.1, f"runner height {self.height_m} m is outside 1.4-2.1 m")
        need(self.contact_time_s is None or (_finite(self.contact_time_s) and 0.12 <= self.contact_time_s <= 0.45),
             f"contact time {self.contact_time_s} s is outside 0.12-0.45 s")
        self.body = DEFAULT_BODY if self.body is None else self.body
        need(isinstance(self.body, Body), f"body {self.body!r} is not a stridecue.sim.bodies.Body")
        for name in ("cue_wobble_reduction", "cue_load_reduction", "cue_cadence_increase"):
            v = getattr(self, name)
            need(_finite(v) and 0.0 <= v <= 0.9, f"{name} {v} is outside 0-0.9")
        for name in ("cue_reaction_s", "cue_hold_s", "cue_fade_s"):
            v = getattr(self, name)
            need(_finite(v) and 0.0 <= v <= 3600, f"{name} {v} s is outside 0-3600 s")
        segs = tuple(tuple(s) for s in self.segments)
        need(len(segs) > 0, "segments: the schedule is empty")
        for i, seg in enumerate(segs):
            need(len(seg) == 2 and seg[0] in PHASE_KINDS,
                 f"segments[{i}] {seg!r}: expected (kind, seconds) with kind one of {', '.join(PHASE_KINDS)}")
            kind, secs = seg
            need(isinstance(secs, (int, float)) and secs > 0 and not math.isnan(secs),
                 f"segments[{i}]: duration {secs!r} is not a positive number of seconds")
            need(math.isfinite(secs) or i == len(segs) - 1, f"segments[{i}]: only the last segment may last forever")
            low = 1.5 if kind in ("stand", "stop") else 3.0
            need(secs >= low or (i == 0 and kind in ("stand", "stop")),
                 f"segments[{i}]: a {kind} segment must last at least {low:g} s")
        self.segments = segs


def _clip(x, lo, hi):
    return np.minimum(np.maximum(x, lo), hi)


def _finite(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


# --------------------------------------------------------------------------------------------
# published-range relations (docs/virtual-runner.md gives the sources)


def default_cadence(speed: float, kind: str = "run") -> float:
    if kind == "walk":
        return float(_clip(90.0 + 15.0 * speed, 95.0, 125.0))
    return float(_clip(155.0 + 9.0 * (speed - 2.0), 150.0, 200.0))


def default_contact_time(speed: float) -> float:
    return 0.245 * (max(speed, 1.0) / 3.3) ** -0.5


def default_foot_ahead(speed: float, contact_time: float | None = None) -> float:
    """m the ankle lands ahead of the hip when running (grows with the ground the pelvis covers in stance)."""
    return 0.05 + 0.21 * speed * (default_contact_time(speed) if contact_time is None else contact_time)


def default_landing_g(speed: float, kind: str = "run") -> float:
    if kind == "walk":
        return 2.0
    return 3.0 + 1.3 * speed


# --------------------------------------------------------------------------------------------
# ground truth


@dataclass(frozen=True)
class StrideTruth:
    """One completed stance of one leg, measured on the model with the shared definitions."""

    kind: str  # "run" | "walk"
    leg: str
    mount: str
    ic_t: float
    to_t: float
    contact_time_s: float
    stride_time_s: float | None  # this IC - previous IC of the same leg (None for the first of a bout)
    cadence_spm: float | None
    speed_mps: float
    wobble_deg: float
    wobble_rate_dps: float
    pta_axial_g: float
    pta_resultant_g: float
    loading_rate_gps: float


class SensorChunk(NamedTuple):
    """The next samples of a virtual sensor: t (n,) s, acc (n, 3) g, gyr (n, 3) deg/s, board frame."""

    t: np.ndarray
    acc: np.ndarray
    gyr: np.ndarray


# --------------------------------------------------------------------------------------------
# the plan: phases, steps (pelvis) and contacts (feet)


@dataclass
class _Contact:
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


def _bump(s):
    """0 -> 1 (at s = 1/2) -> 0 over s in [0, 1], with zero first and second derivatives at both ends:
    per-step pelvis motions built from it join without a step in acceleration whatever their sizes."""
    s = _clip(s, 0.0, 1.0)
    return 64.0 * (s * (1.0 - s)) ** 3


def _softplus(x, width):
    return width * np.logaddexp(0.0, x / width)


def _swing_path(u, p0, m0, p1, m1, peak, u_peak, w0, w1):
    """An angle over the swing (u in [0, 1]): a smooth blend from p0 to p1, the end rates m0 and m1
    (per unit u) carried only over the first w0 and the last w1 of the swing, and a smooth bump
    u^a (1 - u)^c (a, c >= 2) that brings the angle to `peak` near u_peak.  One smooth motion
    without pieces joined at the peak (no concentrated angular acceleration)."""
    def patch(x, w):  # slope 1 at x = 0; value, slope and curvature 0 from x = w on
        x = _clip(x, 0.0, w)
        return x * (1.0 - x / w) ** 3

    def shape(x):
        return p0 + (p1 - p0) * smootherstep(x) + m0 * patch(x, w0) - m1 * patch(1.0 - x, w1)

    u = _clip(u, 0.0, 1.0)
    bump = np.sin(np.pi * u ** (math.log(0.5) / math.log(u_peak))) ** 2
    lift = max(peak - float(shape(np.array(u_peak))), 0.0)
    return shape(u) + lift * bump


def _hermite(s, p0, m0, p1, m1):
    """Cubic Hermite on s in [0, 1] from value p0 (slope m0) to p1 (slope m1)."""
    s = _clip(s, 0.0, 1.0)
    s2, s3 = s * s, s * s * s
    return (2 * s3 - 3 * s2 + 1) * p0 + (s3 - 2 * s2 + s) * m0 + (-2 * s3 + 3 * s2) * p1 + (s3 - s2) * m1


@dataclass
class _Step:
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


class _Body:
    """The runner's body over time: plans steps lazily and answers kinematic questions."""

    def __init__(self, settings: RunnerSettings, seed: int):
        self.s = settings
        self.rng = np.random.default_rng([seed, 11])
        h = settings.height_m
        self.l_shank = 0.246 * h
        self.l_thigh = 0.245 * h
        self.hip_half_width = 0.0485 * h
        self.leg_length = self.l_shank + self.l_thigh
        self.steps: list[_Step] = []
        self.step_starts: list[float] = []
        self.contacts: dict[str, list[_Contact]] = {"left": [], "right": []}
        self.contact_starts: dict[str, list[float]] = {"left": [], "right": []}
        self.knots = {leg: KnotTrack(6) for leg in LEGS}  # theta_t, phi_t, psi_t, theta_s, phi_s, psi_s
        self._knot_gen = {leg: self._leg_knots(leg) for leg in LEGS}
        self._build_phases()
        self._forever = False
        self._plan = self._planner()
        self._responses: list[tuple[float, float, float, float]] = []  # (start, wobble, load, cadence) fractions
        self._sway_phase = self.rng.uniform(0, 2 * np.pi, 4)

    # -- phases, speed and pelvis height as smooth functions of time -------------------------

    def _build_phases(self) -> None:
        s = self.s
        phases = []
        t = 0.0
        for kind, secs in s.segments:
            phases.append((kind, t, t + secs))
            t += secs
        if math.isfinite(t):
            phases.append(("stand", t, math.inf))
        self.phases = phases
        v_pts, z_pts = [(-10.0, 0.0)], [(-10.0, self._stand_level())]
        prev_v = 0.0
        prev_loco = False
        for i, (kind, t0, t1) in enumerate(phases):
            if kind in ("stand", "stop"):
                prev_loco = False
                prev_v = 0.0
                continue
            v = s.speed_mps if kind == "run" else s.walk_speed_mps
            if not prev_loco:
                v_pts += [(t0, 0.0), (t0 + 0.4, 0.5 * v), (t0 + 2.0, v)]
                z_pts += [(t0, self._stand_level()), (t0 + 0.4, self._level(0.5 * v, kind)), (t0 + 2.0, self._level(v, kind))]
            else:
                # a change of pace: slowing down happens before the new gait starts (nobody walks at
                # running speed), speeding up after it
                ta = t0 - 2.0 if v < prev_v else t0
                v_pts += [(ta, prev_v), (ta + 2.0, v)]
                z_pts += [(ta, self._level(prev_v, phases[i - 1][0])), (ta + 2.0, self._level(v, kind))]
            nxt = phases[i + 1][0] if i + 1 < len(phases) else None
            if nxt in ("stand", "stop"):
                v_pts += [(t1 - 1.0, v), (t1, 0.5 * v), (t1 + 0.4, 0.0)]
                z_pts += [(t1 - 1.0, self._level(v, kind)), (t1, self._level(0.5 * v, kind)), (t1 + 0.6, self._stand_level())]
            prev_v, prev_loco = v, True
        self.speed = Ramp(_increasing(v_pts))
        self.level = Ramp(_increasing(z_pts))
        # time spent running before t (fatigue clock)
        self._run_intervals = [(t0, t1) for kind, t0, t1 in phases if kind == "run"]

    def _stand_level(self) -> float:
        return _ANKLE_HEIGHT + self.leg_length * math.cos(math.radians(4.0))

    def _level(self, v: float, kind: str) -> float:
        """Pelvis height at contact: running, the body's shank and thigh inclinations at contact
        (the ankle is still settling then: _contact_angles); walking, the knee flexed 10 deg."""
        if kind == "run":
            return _ANKLE_HEIGHT + _APPROACH_VZ * 2 * _LANDING_T + self._contact_leg(v)[1]
        reach = self.leg_length * math.cos(math.radians(5.0))
        return _ANKLE_HEIGHT + math.sqrt(max(reach**2 - self._foot_ahead(v, kind, None) ** 2, 0.25))

    def _contact_leg(self, v: float) -> tuple[float, float]:
        """(forward, vertical) m from the hip to the ankle at a running contact: the body's posture
        at its own speed; at another the shank keeps its angle and the foot lands further ahead the
        faster (default_foot_ahead), which sets the thigh."""
        b, s = self.s.body, self.s
        ts, tt = math.radians(b.shank_ic_deg), math.radians(b.thigh_ic_deg)
        ahead = -(self.l_shank * math.sin(ts) + self.l_thigh * math.sin(tt))
        ahead *= default_foot_ahead(v) / default_foot_ahead(b.posture_speed_mps or s.speed_mps)
        sin_t = min(max(-(ahead + self.l_shank * math.sin(ts)) / self.l_thigh, -0.95), 0.3)
        return ahead, self.l_shank * math.cos(ts) + self.l_thigh * math.sqrt(1.0 - sin_t * sin_t)

    def _foot_ahead(self, v: float, kind: str, tc: float | None) -> float:
        if kind == "walk":
            return 0.14 + 0.06 * v
        return self._contact_leg(v)[0] + _APPROACH_VX * v * 2 * _LANDING_T

    def running_time(self, t: float) -> float:
        return sum(max(0.0, min(t, t1) - t0) for t0, t1 in self._run_intervals if t > t0)

    # -- cues ---------------------------------------------------------------------------------

    def respond(self, t: float, wobble: float, load: float, cadence: float) -> None:
        self._responses.append((t + self.s.cue_reaction_s, wobble, load, cadence))

    def _effects(self, t: float) -> tuple[float, float, float]:
        s = self.s
        best = [0.0, 0.0, 0.0]
        for t0, *fr in self._responses:
            tau = t - t0
            if tau < 0:
                continue
            env = float(smootherstep(tau / 3.0))
            if tau > s.cue_hold_s:
                env *= math.exp(-(tau - s.cue_hold_s) / max(s.cue_fade_s, 1e-3))
            for k in range(3):
                best[k] = max(best[k], fr[k] * env)
        return best[0], best[1], best[2]

    # -- planning -----------------------------------------------------------------------------

    def _plan_more(self) -> None:
        next(self._plan)

    def _add_step(self, step: _Step) -> None:
        if self.steps:
            self._finish_step(self.steps[-1], step.start)
        self.steps.append(step)
        self.step_starts.append(step.start)

    def _add_contact(self, c: _Contact) -> None:
        self.contacts[c.leg].append(c)
        self.contact_starts[c.leg].append(c.start)

    def _finish_step(self, st: _Step, end: float) -> None:
        st.end = end
        if st.kind == "run":
            tc = st.tc
            tf = max(end - st.start - tc, 0.0)
            u_out = G * tf / 2.0
            st.A = math.pi * (u_out - st.u_in + G * tc) / (2 * tc)
            st.B = -2 * math.pi * (st.u_in * tc - G * tc * tc / 2 + st.A * tc * tc / math.pi) / (tc * tc)

    def _step_exit_velocity(self, st: _Step) -> float:
        if st.kind == "run":
            tf = max(st.end - st.start - st.tc, 0.0)
            return G * tf / 2.0 - G * tf
        return 0.0

    def _new_contact(self, leg: str, ic: float, kind: str, tc: float, prev_ic) -> _Contact:
        s, rng = self.s, self.rng
        v = float(self.speed(ic))
        wob_fr, load_fr, _ = self._effects(ic)
        hip_y = 0.0  # the lateral sway is zero at every contact
        side = 1.0 if leg == "left" else -1.0
        if kind == "run":
            wobble = s.wobble_deg + s.wobble_fatigue_deg_per_10min * self.running_time(ic) / 600.0
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
        x_hip = float(self.speed.integral(np.array(ic)))
        ankle = np.array([x_hip + self._foot_ahead(v, kind, tc), hip_y + side * half_width, _ANKLE_HEIGHT])
        # the foot rolls over its forefoot far enough that at toe-off the leg reaches the hip with
        # the knee at ~20 deg: at high speed the contact spans more ground than the leg alone could
        ahead = float(self.speed.integral(np.array(ic + tc))) - ankle[0]
        height = float(self.level(np.array(ic + tc))) - (_ANKLE_HEIGHT + lift)
        reach = self.leg_length * math.cos(math.radians(10.0))
        span = math.sqrt(max(reach**2 - height**2 - (self.hip_half_width - half_width) ** 2, 0.01))
        roll = max(roll, ahead - span)
        return _Contact(leg=leg, start=ic, end=ic + tc, kind=kind, ankle=ankle, speed=v,
                        wobble_deg=max(wobble, 0.0), frontal_ic_deg=s.frontal_ic_deg + rng.normal(0.0, 0.5),
                        landing_g=max(landing, 1.3), internal_rot_deg=5.0 + rng.normal(0.0, 1.0),
                        roll_m=roll, lift_m=lift, prev_ic=prev_ic)

    def _gait(self, t: float, kind: str) -> tuple[float, float]:
        """(step time, contact time) for a step starting at t."""
        s, rng = self.s, self.rng
        v = float(self.speed(t))
        _, _, cad_fr = self._effects(t)
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

    def _stand_contact(self, leg: str, start: float, end: float, x: float, y_pelvis: float, landing_g: float = 1.0) -> _Contact:
        side = 1.0 if leg == "left" else -1.0
        ankle = np.array([x, y_pelvis + side * (self.hip_half_width + 0.01), _ANKLE_HEIGHT])
        return _Contact(leg=leg, start=start, end=end, kind="stand", ankle=ankle, speed=0.0,
                        frontal_ic_deg=self.s.frontal_ic_deg, landing_g=landing_g, internal_rot_deg=0.0)

    def _planner(self):
        """Appends steps and contacts in time order, one step per next()."""
        other = {"left": "right", "right": "left"}
        phases = self.phases
        first_loco = next((i for i, p in enumerate(phases) if p[0] in ("walk", "run")), None)
        stand_end = phases[first_loco][1] if first_loco is not None else math.inf
        self._add_step(_Step(start=-10.0, kind="stand", leg=None, fidget=0.3))
        for leg in LEGS:
            self._add_contact(self._stand_contact(leg, -10.0, stand_end, 0.0, 0.0))
        yield
        pi = first_loco
        lead = "left"
        while pi is not None:
            kind, T0, T1 = phases[pi]
            # from standing: the lead foot lifts at T0 and lands after a first swing; the other
            # foot pushes off just before that landing
            ic = T0 + (0.40 if kind == "run" else 0.45)
            step, tc = self._gait(ic, kind)
            trail_to = ic - max(step - tc, 0.0) if kind == "run" else ic + 0.1
            self.contacts[lead][-1].end = T0
            self.contacts[other[lead]][-1].end = max(trail_to, T0 + 0.15)
            self._add_step(_Step(start=T0, kind="start", leg=None))
            yield
            leg = lead
            prev_ic = {"left": None, "right": None}
            u_in = 0.0
            while True:
                contact = self._new_contact(leg, ic, kind, tc, prev_ic[leg])
                self._add_contact(contact)
                prev_ic[leg] = ic
                st = _Step(start=ic, kind=kind, leg=leg, tc=tc, u_in=u_in)
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
                self._add_step(st)
                yield
                next_ic = ic + step
                if next_ic >= T1:
                    nxt = phases[pi + 1] if pi + 1 < len(phases) else None
                    if nxt is None or nxt[0] not in ("walk", "run"):
                        break
                    pi += 1
                    kind, T0, T1 = phases[pi]
                step_next, tc_next = self._gait(next_ic, kind)
                self._finish_step(st, next_ic)
                u_in = self._step_exit_velocity(st)
                ic, step, tc = next_ic, step_next, tc_next
                leg = other[leg]
            # landing into standing: the next foot lands, the other one beside it
            self._finish_step(st, next_ic)
            u_in = self._step_exit_velocity(st)
            pi += 1
            nxt_loco = next((i for i in range(pi, len(phases)) if phases[i][0] in ("walk", "run")), None)
            end_stand = phases[nxt_loco][1] if nxt_loco is not None else math.inf
            x_stop = float(self.speed.integral(np.array(T1 + 0.45)))
            land_leg = other[leg]
            land2 = next_ic + 0.55 * step + 0.1
            if end_stand <= land2 + 0.3:
                raise UserError("segments: a stop is too short for the runner to stand still before going on")
            self._add_contact(self._stand_contact(land_leg, next_ic, end_stand, x_stop, 0.0, 0.8 * contact.landing_g))
            self._add_contact(self._stand_contact(leg, land2, end_stand, x_stop, 0.0, 0.5 * contact.landing_g))
            fidget = 1.0 if phases[pi][0] == "stop" else 0.3
            self._add_step(_Step(start=next_ic, kind="stand", leg=None, u_in=u_in, fidget=fidget))
            yield
            lead = other[land_leg]
            pi = nxt_loco
        self._forever = True
        while True:
            yield  # standing for ever

    def ensure_steps(self, t: float) -> None:
        """Plan until the pelvis is defined beyond t."""
        while (not self.steps or self.steps[-1].start <= t) and not self._forever:
            self._plan_more()

    def ensure_contacts(self, leg: str, k: int) -> bool:
        """Plan until contact k of this leg exists; False if it never will."""
        while len(self.contacts[leg]) <= k:
            if self._forever:
                return False
            self._plan_more()
        return True

    # -- pelvis ---------------------------------------------------------------------------------

    def pelvis(self, t: np.ndarray) -> np.ndarray:
        """(n, 5) x, y, z (m), yaw, drop (rad) of the pelvis centre at times t (planned already)."""
        t = np.asarray(t, float)
        out = np.zeros((len(t), 5))
        out[:, 0] = self.speed.integral(t)
        out[:, 2] = self.level(t)
        lo = max(bisect.bisect_right(self.step_starts, float(t.min())) - 1, 0)
        hi = max(bisect.bisect_right(self.step_starts, float(t.max())), lo + 1)
        steps = self.steps[lo:hi]
        j = np.maximum(np.searchsorted(np.asarray(self.step_starts[lo:hi]), t, side="right") - 1, 0)
        P = np.array([[st.start, st.end, _KIND_CODE[st.kind], st.tc if st.tc > 0 else 1.0, st.u_in, st.A, st.B, st.brake,
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
            s = _clip(tau / tc, 0.0, 1.0)
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
        side = 1.0 if leg == "left" else -1.0
        w = self.hip_half_width * side
        yaw, drop = pel[:, 3], pel[:, 4]
        # Rz(yaw) @ Rx(drop) applied to (0, w, 0)
        y_r = w * np.cos(drop)
        z_r = w * np.sin(drop)
        return np.stack([pel[:, 0] - np.sin(yaw) * y_r, pel[:, 1] + np.cos(yaw) * y_r, pel[:, 2] + z_r], axis=1)

    # -- leg knots -----------------------------------------------------------------------------

    def ensure_knots(self, leg: str, t: float) -> None:
        track = self.knots[leg]
        gen = self._knot_gen[leg]
        while track.settled_until <= t:
            next(gen)

    def _contact_angles(self, c: _Contact, times: np.ndarray) -> np.ndarray:
        """Leg angles (n, 6) from inverse kinematics while the foot approaches, or is on, the ground.

        Before c.start the ankle descends onto its landing point along a short approach path (so the
        kinematic landing is soft and the impact transient carries the shock); during the contact it
        stays put, rolling forward and lifting late in stance (heel-off), while the shank's frontal
        angle follows the stance's wobble."""
        leg = c.leg
        medial_y = -1.0 if leg == "left" else 1.0
        self.ensure_steps(float(times[-1]) + 1e-6)
        pel = self.pelvis(times)
        hip = self.hip(leg, pel)
        dur = c.end - c.start if math.isfinite(c.end) else math.inf
        s = _clip((times - c.start) / dur, 0.0, 1.0) if math.isfinite(dur) else np.zeros(len(times))
        before = np.maximum(c.start - times, 0.0)
        ankle = np.repeat(c.ankle[None, :], len(times), axis=0)
        # push-off: the foot pivots about the toes, so the ankle moves forward and up ever faster
        # until it leaves the ground with the swing already under way
        push = _clip((s - 0.3) / 0.7, 0.0, 1.0) ** 2
        # landing: the heel pad and shoe give, so the ankle's approach speed dies away over the first
        # ~20 ms of contact (v (1 + tau/T) exp(-tau/T): deceleration peaking T after contact)
        after = np.maximum(times - c.start, 0.0)
        settle = 2 * _LANDING_T - (2 * _LANDING_T + after) * np.exp(-after / _LANDING_T)
        vx = _APPROACH_VX * c.speed
        ankle[:, 0] += c.roll_m * push - vx * before + vx * settle - vx * 2 * _LANDING_T
        ankle[:, 2] += c.lift_m * push + _APPROACH_VZ * before - _APPROACH_VZ * settle + _APPROACH_VZ * 2 * _LANDING_T
        if c.kind != "stand":
            # late in a long contact the foot rolls further over its forefoot, just enough that the
            # knee need not straighten beyond ~20 deg (smoothly: a softplus, no kink)
            dyz2 = (hip[:, 1] - ankle[:, 1]) ** 2 + (hip[:, 2] - ankle[:, 2]) ** 2
            reach = self.leg_length * math.cos(math.radians(10.0))
            need = hip[:, 0] - np.sqrt(np.maximum(reach**2 - dyz2, 0.04)) - ankle[:, 0]
            width = 0.02
            extra = width * np.logaddexp(0.0, need / width) * (times >= c.start)
            ankle[:, 0] += extra
        if c.kind == "stand":
            wob = np.zeros_like(s)
        else:
            rise = np.sin(0.5 * np.pi * np.minimum(s / 0.42, 1.0)) ** 2
            fall = 1.0 - 0.65 * smootherstep((s - 0.42) / 0.58)
            wob = rise * fall
        theta_f = np.radians(c.frontal_ic_deg + c.wobble_deg * wob)
        knee, ankle = knee_ik(hip, ankle, self.l_shank, self.l_thigh, theta_f, medial_y)
        Ls = (knee - ankle) / self.l_shank
        Lt = (hip - knee) / self.l_thigh
        th_s, ph_s = axis_angles(Ls)
        th_t, ph_t = axis_angles(Lt)
        rot = np.radians(c.internal_rot_deg) * np.sin(0.5 * np.pi * np.minimum(s / 0.7, 1.0)) ** 2 * (1 - 0.6 * smootherstep((s - 0.7) / 0.3))
        int_sign = 1.0 if leg == "right" else -1.0  # internal rotation turns the front toward the midline
        return np.stack([th_t, ph_t, int_sign * 0.5 * rot, th_s, ph_s, int_sign * rot + self._twist(c)], axis=1)

    def _twist(self, c: _Contact) -> float:
        """The shank's stance twist (rad, external: the front turned laterally) of a contact."""
        return 0.0 if c.kind == "stand" else (1.0 if c.leg == "left" else -1.0) * math.radians(self.s.body.stance_twist_deg)

    def _contact_knots(self, c: _Contact) -> tuple[np.ndarray, np.ndarray, int]:
        """Approach and stance knots of a contact (computed once), and how many are approach knots.

        The approach knots continue the leg's rates at contact backwards in time."""
        if c.knots is None:
            if c.kind == "stand":
                stance = np.array([0.0, _STAND_KNOT_S])
            else:
                tc = c.end - c.start
                stance = np.union1d(_STANCE_S * tc, _LANDING_KNOTS_S[_LANDING_KNOTS_S < 0.4 * tc])
                stance = stance[np.concatenate([[True], np.diff(stance) > 0.004])]
            times = c.start + stance
            if c.kind == "stand" and c.start <= -10.0:
                c.knots = (times, self._contact_angles(c, times), 0)
                return c.knots
            ang = self._contact_angles(c, np.concatenate([[c.start - 1e-3], times]))
            before, ang = ang[:1], ang[1:]
            # the approach: the leg arrives turning at the rates it has at contact (measured on the
            # foot's descent path over the last millisecond) and keeps them over the last
            # APPROACH_T, so the swing hands over to the landing at the landing's own rates and the
            # spline has no kink to bend around (a knot on the descent path itself made the
            # spline swing by several g just before contact at speed)
            rate = (ang[0] - before[0]) / 1e-3
            c.approach_rate = rate
            app = -_APPROACH_T[::-1]
            app_ang = ang[0] + app[:, None] * rate
            times = np.concatenate([c.start + app, times])
            ang = np.concatenate([app_ang, ang])
            c.knots = (times, ang, len(app))
        return c.knots

    def _swing_angles(self, t0: float, a0: np.ndarray, m0: np.ndarray, t1: float, a1: np.ndarray, m1: np.ndarray,
                      speed: float, kind: str, twist=(0.0, 0.0)) -> tuple[np.ndarray, np.ndarray]:
        """Swing knots between toe-off (t0, angles a0, rates m0) and the approach (t1, a1, m1).

        Thigh flexion rises to its peak late in swing; the knee flexes to its peak early in swing and
        extends before landing; published shapes, amplitudes growing with speed.  Piecewise cubic
        Hermite segments start and end with the neighbouring rates, so the knots join smoothly."""
        span = t1 - t0
        n = max(int(round(span / _SWING_KNOT_S)), 6)
        u = np.arange(1, n) / n
        times = t0 + u * span
        # flexion angles and their rates (per unit u) at both ends: the swing leaves the stance and
        # joins the approach with their own rates, so the spline has no kink to bend around
        alpha0, alpha1 = -a0[0], -a1[0]
        dalpha0, dalpha1 = -m0[0] * span, -m1[0] * span
        kap0, kap1 = a0[3] - a0[0], a1[3] - a1[0]
        dkap0, dkap1 = (m0[3] - m0[0]) * span, (m1[3] - m1[0]) * span
        if kind == "walk":
            a_max, k_max, k_pk, a_pk = math.radians(25.0), math.radians(60.0), 0.40, 0.6
        else:
            v = max(speed, 1.5)
            a_max = math.radians(_HIP_FLEX_DEG[0] + _HIP_FLEX_DEG[1] * v)
            k_max = math.radians(_KNEE_FLEX_DEG[0] + _KNEE_FLEX_DEG[1] * v)
            k_pk, a_pk = _KNEE_PEAK_U, _HIP_PEAK_U
        a_max = max(a_max, alpha1 + math.radians(4.0))
        w0, w1 = min(_RATE_HANDOVER_S[0] / span, 0.4), min(_RATE_HANDOVER_S[1] / span, 0.4)
        alpha = _swing_path(u, alpha0, dalpha0, alpha1, dalpha1, a_max, a_pk, w0, w1)
        kappa = _swing_path(u, kap0, dkap0, kap1, dkap1, k_max, k_pk, w0, w1)
        kappa = math.radians(3.0) + _softplus(kappa - math.radians(3.0), math.radians(2.0))  # no hyperextension
        th_t = -alpha
        th_s = kappa + th_t
        ph_t = _hermite(u, a0[1], m0[1] * span, a1[1], m1[1] * span)
        ph_s = _hermite(u, a0[4], m0[4] * span, a1[4], m1[4] * span)
        ps_t = _hermite(u, a0[2], m0[2] * span, a1[2], m1[2] * span)
        # the stance twist (rad) leaves over the first _TWIST_U of swing and returns over the last
        leave, back = 1.0 - smootherstep(u / _TWIST_U), smootherstep((u - 1.0 + _TWIST_U) / _TWIST_U)
        ps_s = _hermite(u, a0[5] - twist[0], m0[5] * span, a1[5] - twist[1], m1[5] * span) + twist[0] * leave + twist[1] * back
        return times, np.stack([th_t, ph_t, ps_t, th_s, ph_s, ps_s], axis=1)

    def _leg_knots(self, leg: str):
        track = self.knots[leg]
        k = 0
        while True:
            self.ensure_contacts(leg, k)
            c = self.contacts[leg][k]
            if c.kind == "stand":
                if c.start > -10.0:  # landed from a swing (its approach knots came with the swing)
                    times, ang, n = self._contact_knots(c)
                    track.append(times[n : n + 1], ang[n : n + 1])
                t = c.start + (_STAND_KNOT_S if c.start > -10.0 else 0.0)
                while True:  # standing: knots every 0.1 s, lazily while it lasts
                    if math.isfinite(c.end) and t >= c.end - 0.5 * _STAND_KNOT_S:
                        break
                    times = t + _STAND_KNOT_S * np.arange(10)
                    if math.isfinite(c.end):
                        times = times[times < c.end - 0.5 * _STAND_KNOT_S]
                    track.append(times, self._contact_angles(c, times))
                    t = times[-1] + _STAND_KNOT_S
                    yield
                times = np.array([c.end - 0.5 * _STAND_KNOT_S, c.end])
                ang = self._contact_angles(c, times)
                track.append(times[1:], ang[1:])
            else:
                times, ang, n = self._contact_knots(c)
                times, ang = times[n:], ang[n:]
                track.append(times, ang)
                c.knots = None  # in the track now; long runs keep no copies
            t0, a0 = times[-1], ang[-1]
            m0 = (ang[-1] - ang[-2]) / (times[-1] - times[-2])
            yield
            if not self.ensure_contacts(leg, k + 1):
                return
            nxt = self.contacts[leg][k + 1]
            at, aa, n_app = self._contact_knots(nxt)
            m1 = nxt.approach_rate if nxt.approach_rate is not None else (aa[1] - aa[0]) / (at[1] - at[0])
            if nxt.kind == "stand":
                speed, kind = max(c.speed, 1.0), c.kind if c.kind != "stand" else "walk"
            else:
                speed, kind = nxt.speed, nxt.kind
            times, ang = self._swing_angles(t0, a0, m0, at[0], aa[0], m1, speed, kind, (self._twist(c), self._twist(nxt)))
            track.append(times, ang)
            track.append(at[:n_app], aa[:n_app])
            k += 1

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
        site_along, site_offset = _site(leg, mount)
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


def _site(leg: str, mount: str) -> tuple[float, np.ndarray]:
    """Where the sensor sits: fraction of the segment from its distal end, offset in the segment frame."""
    side = 1.0 if leg == "left" else -1.0
    if mount == "shin":  # lower third of the tibia, on its (antero)medial surface
        return 1.0 / 3.0, np.array([0.015, -side * 0.03, 0.0])
    return 0.5, np.array([0.0, side * 0.075, 0.0])  # lateral mid-thigh


def _increasing(points):
    out = []
    for t, y in sorted(points, key=lambda p: p[0]):
        if out and t <= out[-1][0] + 1e-3:
            t = out[-1][0] + 1e-3
        out.append((t, y))
    return out


_FINE = np.arange(-0.004, 0.00401, 0.0005)  # s, the truth's fine grid about a coarse peak


# --------------------------------------------------------------------------------------------
# public API


class VirtualRunner:
    """A seeded runner following RunnerSettings; sensor() straps a virtual IMU on a segment.

    Memory stays bounded on long runs: the model keeps about HISTORY_S of leg motion behind the
    sensor that has read least (pose() and board_pose() answer for times within it)."""

    HISTORY_S = 20.0
    FORGET_AT_KNOTS = 6000  # about 2.5 minutes of running per leg

    def __init__(self, settings: RunnerSettings | None = None, seed: int = 0):
        if not (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0):
            raise UserError(f"runner seed {seed!r} is not a non-negative whole number")
        self.settings = settings if settings is not None else RunnerSettings()
        self.seed = int(seed)
        self._body = _Body(self.settings, self.seed)
        self._cue_rng = np.random.default_rng([self.seed, 23])
        self._sensor_count = 0
        self.cues: list[tuple[float, str, bool]] = []  # (t, kind, heeded)
        self._streams: list["SensorStream"] = []

    def sensor(self, leg: str = "left", mount: str = "shin", rotation=None, rate_hz: float = 416.0, *,
               noise: float = 1.0, accel_bias_g=None, gyro_bias_dps=None, gyro_drift_dps_per_min: float = 0.05,
               accel_range_g: float | None = None, gyro_range_dps: float | None = 2000.0,
               jitter_s: float = 0.0, clock_ppm: float = 0.0, site: float | None = None,
               seed: int | None = None, offset_m=None) -> "SensorStream":
        """A virtual IMU on one segment of this runner (see SensorStream and docs/virtual-runner.md)."""
        if leg not in LEGS:
            raise UserError(f"sensor leg {leg!r} is not 'left' or 'right'")
        if mount not in MOUNTS:
            raise UserError(f"sensor mount {mount!r} is not 'shin' or 'thigh'")
        if accel_range_g not in (None, 2, 4, 8, 16, 32):
            raise UserError(f"accelerometer range {accel_range_g!r} g is not one of None, 2, 4, 8, 16, 32")
        if not (_finite(rate_hz) and 10.0 <= rate_hz <= 7000.0):
            raise UserError(f"sensor rate {rate_hz!r} Hz is outside 10-7000 Hz")
        if not (_finite(noise) and noise >= 0):
            raise UserError(f"sensor noise {noise!r} is not a non-negative factor")
        if not (_finite(jitter_s) and 0 <= jitter_s < 0.5 / rate_hz):
            raise UserError(f"timing jitter {jitter_s!r} s must be >= 0 and under half a sample")
        if not (_finite(clock_ppm) and abs(clock_ppm) <= 50000):
            raise UserError(f"clock error {clock_ppm!r} ppm is outside +-50000 ppm")
        if gyro_range_dps is not None and not (_finite(gyro_range_dps) and gyro_range_dps > 0):
            raise UserError(f"gyro range {gyro_range_dps!r} dps is not positive")
        if site is not None and not (_finite(site) and 0.1 <= site <= 0.9):
            raise UserError(f"sensor site {site!r} is not a fraction 0.1-0.9 of the segment from its distal end")
        if not (_finite(gyro_drift_dps_per_min) and gyro_drift_dps_per_min >= 0):
            raise UserError(f"gyro drift {gyro_drift_dps_per_min!r} dps/min is not a non-negative number")
        if seed is not None and not (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0):
            raise UserError(f"sensor seed {seed!r} is not a non-negative whole number")
        self._sensor_count += 1
        if seed is None:
            seed_seq = [self.seed, 31, self._sensor_count, LEGS.index(leg), MOUNTS.index(mount)]
        else:
            seed_seq = [int(seed), 37]
        # separate generators for the set-up and for each kind of imperfection, so that the numbers
        # do not depend on how the reads are split
        rng, *noise_rngs = (np.random.default_rng(child) for child in np.random.SeedSequence(seed_seq).spawn(5))
        if rotation is None:
            M = np.eye(3)
        elif isinstance(rotation, str):
            if rotation != "random":
                raise UserError(f"sensor rotation {rotation!r} is not None, 'random' or a 3x3 rotation matrix")
            from scipy.spatial.transform import Rotation

            M = Rotation.random(random_state=rng).as_matrix()
        else:
            M = np.asarray(rotation, float)
            if M.shape != (3, 3) or not np.allclose(M @ M.T, np.eye(3), atol=1e-6) or np.linalg.det(M) < 0:
                raise UserError("sensor rotation is not a 3x3 rotation matrix (orthonormal, determinant +1)")
        acc_bias = _vec3(accel_bias_g, rng, 0.01, "accel_bias_g")
        gyr_bias = _vec3(gyro_bias_dps, rng, 0.5, "gyro_bias_dps")
        stream = SensorStream(self, leg, mount, M, float(rate_hz), noise=float(noise), acc_bias=acc_bias, gyr_bias=gyr_bias,
                              gyro_drift=float(gyro_drift_dps_per_min), accel_range=accel_range_g, gyro_range=gyro_range_dps,
                              jitter=float(jitter_s), clock_ppm=float(clock_ppm), rngs=noise_rngs,
                              site=_site(leg, mount)[0] if site is None else float(site),
                              offset=None if offset_m is None else _vec3(offset_m, rng, 0.0, "offset_m"))
        self._streams.append(stream)
        return stream

    def _forget_history(self) -> None:
        """Bound the memory of long runs: drop the leg tracks' knots more than HISTORY_S behind the
        sensor that has read least (its unread samples may still be taken again at a new rate), once
        there are many.  The stances they carry are measured first, so `truth` loses nothing."""
        body = self._body
        if max(track.n for track in body.knots.values()) < self.FORGET_AT_KNOTS:
            return
        t_keep = min(max(s._last_read_t, 0.0) for s in self._streams) - self.HISTORY_S
        if t_keep <= 0.0:
            return
        for stream in self._streams:
            stream._update_truth()
        for track in body.knots.values():
            track.forget_before(t_keep)

    def cue(self, t: float, kind: str = "wobble") -> bool:
        """The runner hears a cue at run time t.  Returns whether it heeds it (drawn with cue_compliance)."""
        if kind not in CUE_KINDS:
            raise UserError(f"cue kind {kind!r} is not one of {', '.join(CUE_KINDS)}")
        if not _finite(t):
            raise UserError(f"cue time {t!r} is not a number of seconds")
        s = self.settings
        heeded = bool(self._cue_rng.random() < s.cue_compliance)
        self.cues.append((float(t), kind, heeded))
        if not heeded:
            return False
        wob = load = cad = 0.0
        focus = s.focus_response
        if kind == "wobble":
            wob = s.cue_wobble_reduction
        elif kind == "hip":
            wob = s.cue_wobble_reduction * (1.0 if focus == "hip" else 0.15 if focus == "foot" else 0.5)
        elif kind == "foot":
            good = 1.0 if focus == "foot" else 0.15 if focus == "hip" else 0.5
            wob = s.cue_wobble_reduction * good
            load = s.cue_load_reduction * good
        elif kind == "load":
            load = s.cue_load_reduction
        elif kind == "cadence":
            cad = s.cue_cadence_increase
            load = 0.4 * s.cue_load_reduction
        self._body.respond(float(t), wob, load, cad)
        return True

    @property
    def body(self) -> _Body:
        return self._body

    def pose(self, leg: str, t) -> dict[str, np.ndarray]:
        """Hip, knee and ankle joint centres (n, 3) m in the world frame (x forward, y left, z up)
        at run times t already generated by a sensor of this runner, within the last HISTORY_S
        behind the sensor that has read least (for checks and plots)."""
        if leg not in LEGS:
            raise UserError(f"leg {leg!r} is not 'left' or 'right'")
        t = np.atleast_1d(np.asarray(t, float))
        body = self._body
        body.ensure_steps(float(t.max()) + 0.05)
        body.ensure_knots(leg, float(t.max()) + 0.05)
        ang = body.knots[leg](t)
        hip = body.hip(leg, body.pelvis(t))
        knee = hip - body.l_thigh * long_axis(ang[:, 0], ang[:, 1])
        ankle = knee - body.l_shank * long_axis(ang[:, 3], ang[:, 4])
        return {"hip": hip, "knee": knee, "ankle": ankle}


def _vec3(value, rng, sd, name) -> np.ndarray:
    if value is None:
        return rng.normal(0.0, sd, 3)
    v = np.broadcast_to(np.asarray(value, float), (3,)).copy() if np.ndim(value) == 0 else np.asarray(value, float)
    if v.shape != (3,) or not np.all(np.isfinite(v)):
        raise UserError(f"{name} must be a number or three numbers")
    return v


class SensorStream:
    """Samples of one virtual IMU, generated on demand: read(n) gives the next n samples.

    t: seconds of run time at which each sample was taken (with clock error and jitter if asked);
    acc in g including gravity, gyr in deg/s, both in the board's frame.  `rate` may be changed
    between reads.  `truth` lists the completed stances of this leg up to the last sample read.
    """

    _BLOCK_S = 0.5
    _LONG_BLOCK_S = 10.0

    def __init__(self, runner: VirtualRunner, leg, mount, M, rate, *, noise, acc_bias, gyr_bias, gyro_drift,
                 accel_range, gyro_range, jitter, clock_ppm, rngs, site, offset=None):
        self.runner = runner
        self.leg = leg
        self.mount = mount
        self.rotation = M  # board -> segment
        self.noise = noise
        self.acc_bias = acc_bias
        self.gyr_bias = gyr_bias
        self.gyro_drift = gyro_drift
        self.accel_range = accel_range
        self.gyro_range = gyro_range
        self.jitter = jitter
        self.clock_ppm = clock_ppm
        self._rng_acc, self._rng_gyr, self._rng_drift, self._rng_jit = rngs
        self.site = site  # fraction of the segment's length from its distal end
        self.offset = offset  # (3,) m from the long axis in the segment frame (None: the standard site's)
        self._rate = rate
        self._body = runner.body
        self._t0 = 0.0  # nominal time of sample _k0
        self._k0 = 0
        self._k = 0  # samples produced into the buffer
        self._buf_t = np.zeros(0)
        self._buf_acc = np.zeros((0, 3))
        self._buf_gyr = np.zeros((0, 3))
        self._pos = 0
        self._drift_state = np.zeros(3)
        self._last_read_t = -math.inf
        self.samples_read = 0
        self._truth: list[StrideTruth] = []
        self._truth_k = 0

    # rate -------------------------------------------------------------------------------------

    @property
    def rate(self) -> float:
        return self._rate

    @rate.setter
    def rate(self, value: float) -> None:
        value = float(value)
        if not (math.isfinite(value) and 10.0 <= value <= 7000.0):
            raise UserError(f"sensor rate {value!r} Hz is outside 10-7000 Hz")
        if value == self._rate:
            return
        # samples not yet read are taken again at the new rate
        unread = len(self._buf_t) - self._pos
        k_next = self._k - unread
        t_next = self._nominal_time(k_next)
        self._buf_t = self._buf_t[: self._pos]
        self._buf_acc = self._buf_acc[: self._pos]
        self._buf_gyr = self._buf_gyr[: self._pos]
        self._k = k_next
        self._k0 = k_next
        self._t0 = t_next - 1.0 / self._rate + 1.0 / value if k_next > 0 else 0.0
        self._rate = value

    def _nominal_time(self, k):
        return self._t0 + (np.asarray(k) - self._k0) / self._rate

    # reading ---------------------------------------------------------------------------------

    def read(self, n: int) -> SensorChunk:
        n = int(n)
        if n < 0:
            raise UserError(f"cannot read {n} samples")
        parts_t, parts_a, parts_g = [], [], []
        need = n
        while need > 0:
            avail = len(self._buf_t) - self._pos
            if avail <= 0:
                self._generate(need)
                continue
            take = min(avail, need)
            sl = slice(self._pos, self._pos + take)
            parts_t.append(self._buf_t[sl])
            parts_a.append(self._buf_acc[sl])
            parts_g.append(self._buf_gyr[sl])
            self._pos += take
            need -= take
        if len(parts_t) == 1:
            chunk = SensorChunk(parts_t[0].copy(), parts_a[0].copy(), parts_g[0].copy())
        elif parts_t:
            chunk = SensorChunk(np.concatenate(parts_t), np.concatenate(parts_a), np.concatenate(parts_g))
        else:
            chunk = SensorChunk(np.zeros(0), np.zeros((0, 3)), np.zeros((0, 3)))
        self.samples_read += n
        if n:
            self._last_read_t = float(chunk.t[-1])
        return chunk

    def _generate(self, wanted: int) -> None:
        # small blocks keep the runner's plan about a stride ahead of the reader (cues act on the
        # strides after them); a caller reading a long stretch at once gets it in larger blocks
        m = max(1, int(math.ceil(self._BLOCK_S * self._rate)), min(wanted, int(self._LONG_BLOCK_S * self._rate)))
        k = self._k + np.arange(m)
        t = self._nominal_time(k) * (1.0 + 1e-6 * self.clock_ppm)
        if self.jitter:
            t = t + self._rng_jit.normal(0.0, self.jitter, m)
        acc, gyr = self.ideal(t)
        acc, gyr = self._imperfect(acc, gyr)
        self._buf_t, self._buf_acc, self._buf_gyr = t, acc, gyr
        self._pos = 0
        self._k += m
        self.runner._forget_history()

    def board_pose(self, t) -> tuple[np.ndarray, np.ndarray]:
        """(R (n, 3, 3) board -> world, sensor position (n, 3) m in the world) at run times t: the
        kinematics the signals come from (world: x forward, y left, z up)."""
        t = np.atleast_1d(np.asarray(t, float))
        body = self._body
        body.ensure_steps(float(t.max()) + 0.05)
        body.ensure_knots(self.leg, float(t.max()) + 0.05)
        offset = _site(self.leg, self.mount)[1] if self.offset is None else self.offset
        R, p, _ = body.segment_state(self.leg, self.mount, t, offset, self.site)
        return R @ self.rotation, p

    def ideal(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Noise-free, unclipped (acc g, gyr dps) in the board frame at times t (any order)."""
        acc_seg, gyr_seg, _ = self._segment_signals(np.asarray(t, float))
        Mt = self.rotation.T
        return acc_seg @ Mt.T, gyr_seg @ Mt.T

    def _segment_signals(self, t: np.ndarray):
        """Specific force (g) and angular rate (dps) in the segment frame, and the long axis."""
        body = self._body
        contacts = body.contacts[self.leg]
        starts = body.contact_starts[self.leg]
        t_lo, t_hi = float(t.min()), float(t.max())
        body.ensure_steps(t_hi + 0.05)
        body.ensure_knots(self.leg, t_hi + 0.05)
        lo = max(bisect.bisect_right(starts, t_lo - IMPACT_SPAN) - 1, 0)
        hi = bisect.bisect_right(starts, t_hi)
        near = contacts[lo:hi]
        # impacts not yet sized: their shin axial acceleration rides along with this evaluation
        unsized = [c for c in near if c.impact_amp is None and c.start <= t_hi]
        t_pk = np.array([c.start + impact_shape(self.runner.settings.body, 'shin').peak_s for c in unsized])
        if unsized and self.mount == "shin":
            f_seg, gyr, L = body.kinematic_signals(self.leg, self.mount, np.concatenate([t, t_pk]), self.site, self.offset)
            if self.site != _site(self.leg, "shin")[0] or self.offset is not None:
                f_seg[len(t):], _, _ = body.kinematic_signals(self.leg, "shin", t_pk)
            body.size_impacts(unsized, f_seg[len(t):, 2])
            f_seg, gyr, L = f_seg[: len(t)], gyr[: len(t)], L[: len(t)]
        else:
            if unsized:
                f_pk, _, _ = body.kinematic_signals(self.leg, "shin", t_pk)
                body.size_impacts(unsized, f_pk[:, 2])
            f_seg, gyr, L = body.kinematic_signals(self.leg, self.mount, t, self.site, self.offset)
        self._add_impacts(t, f_seg, gyr, near, lo)
        return f_seg, gyr, L

    def _add_impacts(self, t: np.ndarray, f_seg: np.ndarray, gyr: np.ndarray, near: list, lo: int) -> None:
        if not near:
            return
        idx = np.searchsorted(np.array([c.start for c in near]), t, side="right") - 1
        live = idx >= 0
        amp_c = np.array([c.impact_amp if c.impact_amp is not None else 0.0 for c in near])
        start_c = np.array([c.start for c in near])
        atten, width, delay, st_freq, st_decay, st_gain, st_axial, st_dps = impact_shape(self.runner.settings.body, self.mount)
        tau = t[live] - start_c[idx[live]] - delay
        amp = atten * amp_c[idx[live]]
        # the bone's shock: a pulse along the long axis (a little along the anterior axis, and a
        # jolt of the segment's rotation); the soft tissue under the sensor rings on after it
        main = pulse(tau, width)
        ring = vibration(tau - 0.004, st_freq, st_decay)
        ring2 = vibration(tau - 0.010, st_freq * 1.3, st_decay)
        shock = np.empty((len(tau), 3))
        shock[:, 2] = amp * (main + st_axial * st_gain * ring2)
        shock[:, 0] = amp * (-0.3 * pulse(tau - 0.003, 0.8 * width) + st_gain * ring)
        shock[:, 1] = amp * 0.6 * st_gain * ring2
        # The shock's shapes have zero integral; held in the world (in the segment's frame at the
        # impact) they leave the sensor's velocity as the kinematics have it.  In the turning segment
        # frame they would not: the shank turns 20-40 deg during the 0.25 s transient.
        offset = _site(self.leg, self.mount)[1] if self.offset is None else self.offset
        R_t, _, _ = self._body.segment_state(self.leg, self.mount, t[live], offset, self.site)
        R_c, _, _ = self._body.segment_state(self.leg, self.mount, start_c + delay, offset, self.site)
        f_seg[live] += np.einsum("nji,njk,nk->ni", R_t, R_c[idx[live]], shock)
        gyr[live, 1] += amp * (12.0 * pulse(tau - 0.002, 0.7 * width) + st_dps * ring)
        gyr[live, 0] += amp * 0.5 * st_dps * ring2

    def _imperfect(self, acc: np.ndarray, gyr: np.ndarray):
        m = len(acc)
        scale = math.sqrt(self._rate / 416.0)
        if self.noise:
            acc = acc + self._rng_acc.normal(0.0, 0.0016 * self.noise * scale, (m, 3))
            gyr = gyr + self._rng_gyr.normal(0.0, 0.055 * self.noise * scale, (m, 3))
        acc = acc + self.acc_bias
        drift = np.zeros((m, 3))
        if self.gyro_drift:
            step_sd = self.gyro_drift / math.sqrt(60.0 * self._rate)
            drift = self._drift_state + np.cumsum(self._rng_drift.normal(0.0, step_sd, (m, 3)), axis=0)
            self._drift_state = drift[-1].copy()
        gyr = gyr + self.gyr_bias + drift
        if self.accel_range is not None:
            acc = _clip(acc, -self.accel_range, self.accel_range)
        if self.gyro_range is not None:
            gyr = _clip(gyr, -self.gyro_range, self.gyro_range)
        return acc, gyr

    # truth -----------------------------------------------------------------------------------

    @property
    def truth(self) -> list[StrideTruth]:
        """The completed stances of this leg up to the last sample read, in time order (measured
        when asked for, many at a time: cheaper than stride by stride)."""
        self._update_truth()
        return self._truth

    def _update_truth(self) -> None:
        contacts = self._body.contacts[self.leg]
        done = []
        while self._truth_k < len(contacts):
            c = contacts[self._truth_k]
            if c.end > self._last_read_t:
                break
            self._truth_k += 1
            if c.kind in ("run", "walk"):
                done.append(c)
        if done:
            self._truth.extend(self.measure(done))

    def measure(self, contacts: list) -> list[StrideTruth]:
        """Ground truth of stances from the model (noise-free, unclipped, continuous time): the
        frontal angle every 2 ms over the stance; the accelerations every 4 ms over its first half,
        then every 0.5 ms within 4 ms of the axial and the resultant peaks."""
        body = self._body
        st_grids = [np.linspace(c.start, c.end, max(int((c.end - c.start) * 500), 40)) for c in contacts]
        ang = body.knots[self.leg](np.concatenate(st_grids))
        col = 3 if self.mount == "shin" else 0
        medial_y = -1.0 if self.leg == "left" else 1.0
        theta_all = np.degrees(frontal_angle(long_axis(ang[:, col], ang[:, col + 1]), medial_y,
                                             proximal_up=(self.mount == "shin")))
        coarse = [np.arange(c.start, 0.5 * (c.start + c.end) + 1e-9, 0.004) for c in contacts]
        f_c, _, _ = self._segment_signals(np.concatenate(coarse))
        fine, k = [], 0
        for g in coarse:
            f = f_c[k : k + len(g)]
            k += len(g)
            axial_t, res_t = g[int(np.argmax(f[:, 2]))], g[int(np.argmax(np.linalg.norm(f, axis=1)))]
            fine.append(np.clip(np.concatenate([axial_t + _FINE, res_t + _FINE]), g[0], g[-1]))
        f_f, _, _ = self._segment_signals(np.concatenate(fine))
        out = []
        ks = kc = kf = 0
        for c, g_st, g_c, g_f in zip(contacts, st_grids, coarse, fine):
            theta = theta_all[ks : ks + len(g_st)]
            ks += len(g_st)
            grid = np.concatenate([g_c, g_f])
            f_seg = np.concatenate([f_c[kc : kc + len(g_c)], f_f[kf : kf + len(g_f)]])
            kc += len(g_c)
            kf += len(g_f)
            tc = c.end - c.start
            wobble = float(np.max(theta - theta[0]))
            rate = float(np.max(np.gradient(theta, g_st)))
            i = int(np.argmax(f_seg[:, 2]))
            pta = float(f_seg[i, 2])
            res = float(np.max(np.linalg.norm(f_seg, axis=1)))
            dt = grid[i] - c.start
            lr = (pta - f_seg[0, 2]) / dt if dt > 0 else 0.0
            stride = c.start - c.prev_ic if c.prev_ic is not None else None
            out.append(StrideTruth(kind=c.kind, leg=self.leg, mount=self.mount, ic_t=c.start, to_t=c.end, contact_time_s=tc,
                                   stride_time_s=stride, cadence_spm=120.0 / stride if stride else None, speed_mps=c.speed,
                                   wobble_deg=wobble, wobble_rate_dps=rate, pta_axial_g=pta, pta_resultant_g=res,
                                   loading_rate_gps=float(lr)))
        return out
