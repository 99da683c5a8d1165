"""The virtual exerciser's body and how it moves: segment angles of both legs over time.

The model is the simulator's own: a knee flexion time course per repetition, split between the
shank's forward lean and the thigh's backward lean by the body's ankle share; a frontal-plane knee
motion (valgus) that grows with depth, split between thigh adduction and shank tilt; a twist of
the segments; a swaying stance in a hold, with losses of balance.  The analysis
(stridecue.exercise) knows none of these numbers: it sees the IMU's signals only.

Angles follow sim/kinematics.py: a segment's rotation R = Rx(phi) @ Ry(theta) @ Rz(psi), theta
sagittal (positive: the proximal end ahead of the distal end), phi frontal (positive: the long
axis tipped towards -y, the runner's right), psi the twist.  World x forward, y left, z up.

Ranges (drawn widely, not centred on the analysis's constants):
 * ankle share of knee flexion in a single-leg squat 0.30-0.62: the shank's forward lean is about a
   third to a half of the knee's flexion in squatting (typical range; e.g. Hewett/Myer-style
   single-leg squat kinematics report ~25-35 deg shank lean at 60-70 deg knee flexion);
 * frontal plane projection angle change 0-20 deg at full depth: Herrington 2014 (Knee 21(2):514)
   found about 7-8 deg in controls and 15-17 deg in runners with patellofemoral pain;
 * sway RMS 0.4-1.8 deg of the shank in single-leg stance (typical range);
 * tempo 0.7-1.4 x the level's aim, pause at the bottom 0-0.4 s, rest between reps 0.3-1.5 s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from stridecue.sim.kinematics import smootherstep

LEGS = ("left", "right")


@dataclass(frozen=True)
class ExerciserBody:
    """One exerciser, drawn by draw_body(seed)."""

    l_shank: float  # m
    l_thigh: float  # m
    ankle_share: float  # fraction of knee flexion taken by the shank's forward lean
    valgus_deg: dict  # leg -> FPPA change at a full-depth (80 deg) rep
    valgus_thigh_share: float  # of the valgus, the part that is thigh adduction
    depth_factor: dict  # leg -> depth reached / depth aimed
    tempo_factor: float
    pause_s: float
    rest_s: float
    twist_per_rad: float  # segment twist per radian of knee flexion
    static_phi: tuple[float, float]  # shank, thigh frontal tilt standing (rad, valgus-signed)
    sway_deg: dict  # leg -> RMS sway in a hold
    fatigue: float  # 0..1: how much depth drops and valgus grows over a set
    reaction_s: float
    loss_per_min: float  # losses of balance a minute in a hold (level 1; more at higher levels)
    bridge_start_deg: float  # thigh's angle from the vertical at the bridge's start


def draw_body(seed: int) -> ExerciserBody:
    rng = np.random.default_rng([int(seed), 401])
    height = rng.uniform(1.50, 2.00)
    asym = rng.uniform(0.6, 1.4)
    valgus = rng.uniform(0.0, 18.0)
    sway = rng.uniform(0.4, 1.8)
    return ExerciserBody(
        l_shank=0.246 * height * rng.uniform(0.95, 1.05), l_thigh=0.245 * height * rng.uniform(0.95, 1.05),
        ankle_share=rng.uniform(0.30, 0.62),
        valgus_deg={"left": valgus, "right": min(valgus * asym, 22.0)},
        valgus_thigh_share=rng.uniform(0.35, 0.75),
        depth_factor={leg: rng.uniform(0.8, 1.15) for leg in LEGS},
        tempo_factor=rng.uniform(0.7, 1.4), pause_s=rng.uniform(0.0, 0.4), rest_s=rng.uniform(0.3, 1.5),
        twist_per_rad=rng.uniform(-0.15, 0.15),
        static_phi=(math.radians(rng.uniform(-4, 4)), math.radians(rng.uniform(-4, 6))),
        sway_deg={"left": sway, "right": sway * rng.uniform(0.7, 1.4)},
        fatigue=rng.uniform(0.0, 1.0), reaction_s=rng.uniform(0.7, 1.5), loss_per_min=rng.uniform(0.5, 4.0),
        bridge_start_deg=rng.uniform(35.0, 55.0),
    )


@dataclass(frozen=True)
class RepPlan:
    """One planned repetition (the model's own numbers; truth is measured from the motion)."""

    start: float
    down_s: float
    pause_s: float
    up_s: float
    depth_rad: float
    valgus_rad: float

    @property
    def end(self) -> float:
        return self.start + self.down_s + self.pause_s + self.up_s

    def shape(self, t: np.ndarray) -> np.ndarray:
        """0 -> 1 (bottom) -> 0 over the rep."""
        down = smootherstep((t - self.start) / self.down_s)
        up = smootherstep((t - self.start - self.down_s - self.pause_s) / self.up_s)
        return np.where(t < self.start + self.down_s + self.pause_s, down, 1.0 - up)


@dataclass(frozen=True)
class HoldPlan:
    """One planned single-leg hold: sway, and the times balance is lost (run time, s)."""

    go: float
    start: float
    end: float
    sway_rad: float
    losses: tuple[float, ...]
    knee_rad: float
    phases: tuple  # (freq Hz, phase, axis weight) of the sway's components


@dataclass
class SetPlan:
    leg: str
    go: float
    reps: list
    hold: HoldPlan | None
    end: float


def plan_reps(body: ExerciserBody, leg: str, level, go: float, rng, lying: bool) -> SetPlan:
    """The reps of one set from "go" at run time `go`."""
    t = go + body.reaction_s
    reps = []
    scale = 1.0 if not lying else 1.0
    for i in range(level.reps):
        tired = body.fatigue * i / max(level.reps - 1, 1)
        depth = math.radians(level.depth_deg * body.depth_factor[leg] * (1.0 - 0.15 * tired) * rng.uniform(0.92, 1.08)) * scale
        full = depth / math.radians(80.0)
        valgus = math.radians(body.valgus_deg[leg] * full * (1.0 + 0.4 * tired) * rng.uniform(0.85, 1.15))
        if lying:  # the bridge's knee drop is smaller than a squat's valgus
            valgus *= 0.5
        down = level.down_s * body.tempo_factor * (1.0 + 0.2 * tired) * rng.uniform(0.9, 1.1)
        up = level.up_s * body.tempo_factor * (1.0 + 0.2 * tired) * rng.uniform(0.9, 1.1)
        rep = RepPlan(t, down, body.pause_s * rng.uniform(0.5, 1.5), up, depth, valgus)
        reps.append(rep)
        t = rep.end + body.rest_s * rng.uniform(0.7, 1.3)
    return SetPlan(leg, go, reps, None, t + 0.5)


def plan_hold(body: ExerciserBody, leg: str, level, go: float, rng) -> SetPlan:
    start = go + body.reaction_s
    end = go + level.reps
    harder = 1.0 + 0.5 * (level.number - 1)
    losses, t = [], start + 1.5  # settled on the leg first
    while True:
        t += rng.exponential(60.0 / (body.loss_per_min * harder))
        if t >= end - 1.5:
            break
        losses.append(t)
        t += 2.5  # back in balance before the next can happen
    phases = tuple((rng.uniform(0.1, 1.0), rng.uniform(0, 2 * math.pi), rng.uniform(-1, 1)) for _ in range(6))
    sway = math.radians(body.sway_deg[leg] * (1.0 + 0.15 * (level.number - 1)))
    hold = HoldPlan(go, start, end, sway, tuple(losses), math.radians(rng.uniform(8.0, 20.0)), phases)
    return SetPlan(leg, go, [], hold, end)


def _bump(t: np.ndarray, at: float, rise: float = 0.25, fall: float = 1.0) -> np.ndarray:
    up = smootherstep((t - at) / rise)
    down = smootherstep((t - at - rise) / fall)
    return up - down


def hold_sway(hold: HoldPlan, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sagittal, frontal) sway of the stance shank in a hold, rad."""
    inside = smootherstep((t - hold.start) / 0.5) * (1.0 - smootherstep((t - hold.end) / 0.5))
    sag = np.zeros_like(t)
    fro = np.zeros_like(t)
    norm = math.sqrt(len(hold.phases) / 2.0)
    grow = 1.0 + 0.3 * np.clip((t - hold.start) / max(hold.end - hold.start, 1.0), 0, 1)
    for i, (f, ph, w) in enumerate(hold.phases):
        wave = np.sin(2 * math.pi * f * t + ph) / norm
        (sag if i % 2 else fro)[...] += wave * (1.0 + 0.3 * w)
    sag *= hold.sway_rad * grow * inside
    fro *= hold.sway_rad * grow * inside
    for k, at in enumerate(hold.losses):
        direction = (k * 2.399) % (2 * math.pi)
        size = math.radians(9.0 + 5.0 * ((k * 0.618) % 1.0))
        b = _bump(t, at, rise=0.2)
        sag += size * math.cos(direction) * b
        fro += size * math.sin(direction) * b
    return sag, fro


def hold_foot_down(hold: HoldPlan, t: np.ndarray) -> np.ndarray:
    """0..1: the free foot touching down after each loss of balance."""
    out = np.zeros_like(t)
    for at in hold.losses:
        out += _bump(t, at + 0.15, 0.3, 0.8)
    return np.clip(out, 0, 1)


@dataclass(frozen=True)
class SwingPlan:
    """Leg swings forward and back (the session's calibration): the swinging leg's sagittal
    pendulum with a little circumduction (the frontal part, out of phase)."""

    leg: str
    start: float
    end: float
    freq_hz: float
    amp_rad: float
    circumduction: float
    phase: float


def plan_swing(body: ExerciserBody, leg: str, go: float, rng, swings: int = 3) -> SwingPlan:
    freq = rng.uniform(0.7, 1.2)
    start = go + body.reaction_s
    return SwingPlan(leg, start, start + swings / freq, freq, math.radians(rng.uniform(15.0, 30.0)),
                     rng.uniform(0.0, 0.12), rng.uniform(0.0, 2 * math.pi))


def swing_angles(swing: SwingPlan, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(thigh sagittal, knee flexion, thigh frontal) of the swinging leg, rad."""
    inside = smootherstep((t - swing.start) / 0.4) * (1.0 - smootherstep((t - swing.end + 0.4) / 0.4))
    lift = smootherstep((t - swing.start + 0.5) / 0.4) * (1.0 - smootherstep((t - swing.end) / 0.4))
    w = 2 * math.pi * swing.freq_hz * (t - swing.start)
    thigh = -swing.amp_rad * np.sin(w) * inside
    knee = 0.15 * lift + 0.25 * swing.amp_rad * (1.0 + np.sin(w)) * inside
    frontal = swing.circumduction * swing.amp_rad * np.sin(w + swing.phase) * inside
    return thigh, knee, frontal
