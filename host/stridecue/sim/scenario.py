"""What the virtual runner does over time: the schedule of segments (stand, walk, run, stop), the
pace that the published relations give at each speed, fatigue, and the response to cues.

The schedule turns RunnerSettings.segments into phases and two smooth functions of time, the
forward speed and the pelvis height at contact; a cue the runner heeds becomes fractions of wobble,
landing load and cadence that act, after a reaction time, on the strides that start later.
docs/virtual-runner.md gives the sources of the relations.
"""

from __future__ import annotations

import math
from typing import Callable

from stridecue.sim.kinematics import Ramp, clip, smootherstep

PHASE_KINDS = ("stand", "walk", "run", "stop")
CUE_KINDS = ("wobble", "hip", "foot", "load", "cadence")


# --------------------------------------------------------------------------------------------
# published-range relations (docs/virtual-runner.md gives the sources)


def default_cadence(speed: float, kind: str = "run") -> float:
    if kind == "walk":
        return float(clip(90.0 + 15.0 * speed, 95.0, 125.0))
    return float(clip(155.0 + 9.0 * (speed - 2.0), 150.0, 200.0))


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
# the schedule: phases, speed and pelvis height as smooth functions of time


class Schedule:
    """The segments as phases (kind, start, end), the forward speed and the pelvis height at contact
    over time (Ramp), and the time spent running (the fatigue clock).

    level(v, kind) is the pelvis height at contact at speed v in a gait, stand_level the height
    standing: the body's build gives them (sim/strides.py)."""

    def __init__(self, settings, level: Callable[[float, str], float], stand_level: float):
        phases = []
        t = 0.0
        for kind, secs in settings.segments:
            phases.append((kind, t, t + secs))
            t += secs
        if math.isfinite(t):
            phases.append(("stand", t, math.inf))
        self.phases = phases
        v_pts, z_pts = self._ramp_points(settings, level, stand_level)
        self.speed = Ramp(_increasing(v_pts))
        self.level = Ramp(_increasing(z_pts))
        self._run_intervals = [(t0, t1) for kind, t0, t1 in phases if kind == "run"]

    def _ramp_points(self, settings, level, stand_level) -> tuple[list, list]:
        """Breakpoints (t, speed) and (t, pelvis height): from standing the pace builds over 2 s; a
        change of pace takes 2 s; a stop slows down over the last second and settles after it."""
        phases = self.phases
        v_pts, z_pts = [(-10.0, 0.0)], [(-10.0, stand_level)]
        prev_v = 0.0
        prev_loco = False
        for i, (kind, t0, t1) in enumerate(phases):
            if kind in ("stand", "stop"):
                prev_loco = False
                prev_v = 0.0
                continue
            v = settings.speed_mps if kind == "run" else settings.walk_speed_mps
            if not prev_loco:
                v_pts += [(t0, 0.0), (t0 + 0.4, 0.5 * v), (t0 + 2.0, v)]
                z_pts += [(t0, stand_level), (t0 + 0.4, level(0.5 * v, kind)), (t0 + 2.0, level(v, kind))]
            else:
                # a change of pace: slowing down happens before the new gait starts (nobody walks at
                # running speed), speeding up after it
                ta = t0 - 2.0 if v < prev_v else t0
                v_pts += [(ta, prev_v), (ta + 2.0, v)]
                z_pts += [(ta, level(prev_v, phases[i - 1][0])), (ta + 2.0, level(v, kind))]
            nxt = phases[i + 1][0] if i + 1 < len(phases) else None
            if nxt in ("stand", "stop"):
                v_pts += [(t1 - 1.0, v), (t1, 0.5 * v), (t1 + 0.4, 0.0)]
                z_pts += [(t1 - 1.0, level(v, kind)), (t1, level(0.5 * v, kind)), (t1 + 0.6, stand_level)]
            prev_v, prev_loco = v, True
        return v_pts, z_pts

    def running_time(self, t: float) -> float:
        """Seconds spent running before t (the fatigue clock)."""
        return sum(max(0.0, min(t, t1) - t0) for t0, t1 in self._run_intervals if t > t0)


def _increasing(points):
    out = []
    for t, y in sorted(points, key=lambda p: p[0]):
        if out and t <= out[-1][0] + 1e-3:
            t = out[-1][0] + 1e-3
        out.append((t, y))
    return out


# --------------------------------------------------------------------------------------------
# cues


def cue_fractions(settings, kind: str) -> tuple[float, float, float]:
    """(wobble, landing load, cadence) fractions a heeded cue of this kind changes: a guided
    instruction ("hip", "foot") works best for the runner whose settings.focus_response it is."""
    s = settings
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
    return wob, load, cad


class CueResponses:
    """The heeded cues' changes over time: each starts a reaction time after the cue, builds over 3 s,
    holds cue_hold_s and fades back with cue_fade_s; the strongest of them counts."""

    def __init__(self, settings):
        self.s = settings
        self._responses: list[tuple[float, float, float, float]] = []  # (start, wobble, load, cadence) fractions

    def respond(self, t: float, wobble: float, load: float, cadence: float) -> None:
        self._responses.append((t + self.s.cue_reaction_s, wobble, load, cadence))

    def effects(self, t: float) -> tuple[float, float, float]:
        """(wobble, landing load, cadence) fractions in effect at t."""
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
