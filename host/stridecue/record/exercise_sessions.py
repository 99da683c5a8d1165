"""An exercise's earlier sessions in the store, as the session and its summary use them: the
runner's baseline knee motion per leg (the knee-out cue's threshold), each session's form result
for progression, and the level to do next.

Pain scores come from the pain log (another stage); until it is there they are None, and
progression then never raises a level (exercise/progression.py).
"""

from __future__ import annotations

from statistics import mean

from stridecue.exercise.catalogue import KNEE_IN_LIMIT_DEG, exercise as find_exercise
from stridecue.exercise.progression import SessionResult, Suggestion, form_ok, next_level

BASELINE_SESSIONS = 3  # the baseline is the mean of this many latest sessions


def earlier_sessions(store, profile: str, name: str, before: str | None = None) -> list[tuple[dict, list]]:
    """(run row, reps) of this profile's sessions of exercise `name`, oldest first."""
    runs = store.runs(profile, before=before, activity="exercise", exercise=name)
    return [(run, store.reps(run["id"])) for run in runs]


def baselines(sessions: list[tuple[dict, list]], mount: str) -> dict[str, float]:
    """leg -> mean knee motion (deg) over the latest BASELINE_SESSIONS sessions measured with `mount`."""
    out = {}
    for leg in ("left", "right"):
        values = [r.knee_motion_deg for _, reps in sessions[-BASELINE_SESSIONS:] for r in reps
                  if r.kind == "rep" and r.leg == leg and r.mount == mount and r.knee_motion_deg is not None]
        if values:
            out[leg] = mean(values)
    return out


def session_result(run: dict, reps: list, pain: dict | None = None) -> SessionResult:
    """One stored session as progression sees it; pain: {"during": 0-10, "settled": bool} or None."""
    ex = find_exercise(run.get("exercise") or "")
    level = int(run.get("level") or 1)
    lv = ex.level(min(max(level, 1), len(ex.levels)))
    pain = pain or {}
    # one sensor's depth is a proxy (docs/exercises.md): the form rule then asks only for the knee
    depth_measured = ex.lying or any(r.mount == "thigh+shin" for r in reps)
    return SessionResult(level=level, form_ok=form_ok(reps, lv, KNEE_IN_LIMIT_DEG + 5.0, depth_measured=depth_measured),
                         pain_during=pain.get("during"), pain_next_morning_settled=pain.get("settled"))


def suggest(sessions: list[tuple[dict, list]], current: int, pains: dict | None = None) -> Suggestion:
    """The next level after these sessions (pains: run id -> pain dict, when a pain log gives them)."""
    if not sessions:
        return Suggestion(current, "first session of this exercise: stay at this level")
    ex = find_exercise(sessions[-1][0].get("exercise") or "")
    results = [session_result(run, reps, (pains or {}).get(run["id"])) for run, reps in sessions]
    return next_level(current, results, max_level=len(ex.levels))
