"""The exercises StrideCue counts, their graded levels and spoken set-ups.

Levels follow the progression principles of the American College of Sports Medicine's position
stand (ACSM 2009, "Progression models in resistance training for healthy adults", Med Sci Sports
Exerc 41(3):687-708): from supported and partial range to full range, then slower tempo, then an
unstable surface; balance from eyes open on the floor to eyes closed and a soft surface.  The glute
exercise (single-leg bridge) is among those with the highest gluteal activation in the review of
Reiman, Bolgla & Loudon 2012 (Physiother Theory Pract 28(4):257-268).
"""

from __future__ import annotations

from dataclasses import dataclass

from stridecue.errors import UserError

PROGRESSION_SOURCE = ("ACSM 2009 progression models in resistance training (Med Sci Sports Exerc 41(3):687-708); "
                      "glute exercise choice: Reiman, Bolgla & Loudon 2012; pain rule: Silbernagel et al. 2007")


@dataclass(frozen=True)
class Level:
    number: int
    what: str  # the level in words
    depth_deg: float  # knee flexion aimed for (reps), or the stance knee's bend (holds)
    down_s: float  # tempo aimed for: seconds down (reps)
    up_s: float  # seconds up (reps)
    reps: int  # per leg (reps), or seconds held (holds)


@dataclass(frozen=True)
class Exercise:
    name: str
    title: str
    kind: str  # "rep" or "hold"
    mounts: tuple[str, ...]  # the segments that can count it
    setup: str  # the spoken set-up
    levels: tuple[Level, ...]
    lying: bool = False  # done lying down: the set's starting posture is not upright

    def level(self, number: int) -> Level:
        for level in self.levels:
            if level.number == number:
                return level
        raise UserError(f"{self.name} has levels 1-{len(self.levels)}, not {number}")


_SQUAT_LEVELS = (
    Level(1, "hand on a wall, to a quarter squat", 40.0, 1.5, 1.5, 8),
    Level(2, "no support, to half depth", 60.0, 2.0, 1.5, 8),
    Level(3, "no support, full depth", 75.0, 2.0, 2.0, 10),
    Level(4, "full depth, slow (3 s down), on a cushion", 80.0, 3.0, 2.0, 10),
)
_STEP_LEVELS = (
    Level(1, "10 cm step, hand on a rail", 35.0, 1.5, 1.5, 8),
    Level(2, "15 cm step, no support", 50.0, 2.0, 1.5, 8),
    Level(3, "20 cm step, no support", 65.0, 2.0, 2.0, 10),
    Level(4, "20 cm step, slow (3 s down)", 70.0, 3.0, 2.0, 10),
)
_BALANCE_LEVELS = (
    Level(1, "eyes open, on the floor, 20 s", 10.0, 0.0, 0.0, 20),
    Level(2, "eyes open, on the floor, 30 s", 10.0, 0.0, 0.0, 30),
    Level(3, "eyes closed, on the floor, 30 s", 10.0, 0.0, 0.0, 30),
    Level(4, "eyes open, on a cushion, 30 s", 15.0, 0.0, 0.0, 30),
)
_BRIDGE_LEVELS = (
    Level(1, "both feet down, lift the hips", 25.0, 1.5, 1.5, 10),
    Level(2, "single leg, the other knee held to the chest", 30.0, 1.5, 1.5, 10),
    Level(3, "single leg, the other leg straight", 35.0, 2.0, 2.0, 12),
    Level(4, "single leg, slow (3 s up, 3 s down), foot on a cushion", 35.0, 3.0, 3.0, 12),
)

EXERCISES: dict[str, Exercise] = {e.name: e for e in (
    Exercise("single-leg-squat", "single-leg squat", "rep", ("shin", "thigh", "thigh+shin"),
             "Stand on the {leg} leg, the other foot just off the floor, arms forward. Bend the knee over the middle "
             "toes and come back up. Keep the knee in line with the foot.", _SQUAT_LEVELS),
    Exercise("step-down", "step-down", "rep", ("shin", "thigh", "thigh+shin"),
             "Stand on the step on the {leg} leg. Lower the other heel slowly to touch the floor and come back up. "
             "Keep the knee over the middle toes.", _STEP_LEVELS),
    Exercise("single-leg-balance", "single-leg balance", "hold", ("shin", "thigh", "thigh+shin"),
             "Stand on the {leg} leg, knee soft, the other foot off the floor. Hold still until the end tone.",
             _BALANCE_LEVELS),
    Exercise("bridge", "single-leg bridge", "rep", ("thigh", "thigh+shin"),
             "Lie on your back, the {leg} foot flat, knee bent. Push through the heel and lift the hips until "
             "the body is straight, then lower. Keep the knee pointing to the ceiling.", _BRIDGE_LEVELS, lying=True),
)}


def exercise(name: str) -> Exercise:
    """The exercise of this name; UserError naming the known ones."""
    found = EXERCISES.get((name or "").strip().lower())
    if found is None:
        raise UserError(f"unknown exercise {name!r} (known: {', '.join(EXERCISES)}; `stridecue exercise --list`)")
    return found


def check_mount(ex: Exercise, mount: str) -> None:
    """UserError when the sensor is on a segment that cannot count this exercise."""
    if mount not in ex.mounts:
        raise UserError(f"{ex.title} is counted by a {' or '.join(m for m in ex.mounts if '+' not in m)} sensor; "
                        f"--mount {mount} cannot count it")


def describe_catalogue() -> str:
    """`stridecue exercise --list`: every exercise with its levels."""
    lines = []
    for ex in EXERCISES.values():
        unit = "s held" if ex.kind == "hold" else "reps a leg"
        lines.append(f"{ex.name}  ({ex.title}; sensor on the {' or '.join(m for m in ex.mounts if '+' not in m)})")
        for lv in ex.levels:
            lines.append(f"  level {lv.number}: {lv.what} ({lv.reps} {unit})")
    lines.append(f"levels after: {PROGRESSION_SOURCE}")
    return "\n".join(lines)


# Frontal-plane knee motion above which a rep counts as "knee in" when the runner has no baseline
# yet: between the frontal plane projection angles of controls (about 7-8 deg) and of runners with
# knee pain (about 15-17 deg) in single-leg squats (Herrington 2014, Knee 21(2):514-517).
KNEE_IN_LIMIT_DEG = 10.0
