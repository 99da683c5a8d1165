"""Progression: the next level from the last sessions' form and pain.

A pure function of what it is given (the pain scores come from the pain log another stage keeps;
None when not logged).  The rules:
 * pain (Silbernagel et al. 2007, Am J Sports Med 35(6):897-906, the pain-monitoring model): pain
   during the session of at most 3/10, and settled by the next morning (the morning's pain no
   higher than before), counts as meeting the pain rule;
 * up: the last `sessions_to_progress` sessions at the current level met both the form and the
   pain rule -> the next level (ACSM 2009: progress when the current load is done well);
 * back: the last session broke the pain rule, or the last two broke the form rule -> a level down;
 * otherwise, and whenever pain was not logged, stay (a level is not raised without knowing the
   pain).
"""

from __future__ import annotations

from dataclasses import dataclass

PAIN_LIMIT = 3.0  # /10 during the session (Silbernagel 2007)


@dataclass(frozen=True)
class SessionResult:
    """One earlier session of an exercise, as progression sees it."""

    level: int
    form_ok: bool
    pain_during: float | None = None  # 0-10, None: not logged
    pain_next_morning_settled: bool | None = None  # back to the usual by the next morning; None: not logged


@dataclass(frozen=True)
class Suggestion:
    level: int
    why: str


def pain_ok(s: SessionResult) -> bool | None:
    """The pain rule met (True), broken (False) or unknown (None)."""
    if s.pain_during is not None and s.pain_during > PAIN_LIMIT:
        return False
    if s.pain_next_morning_settled is False:
        return False
    if s.pain_during is None or s.pain_next_morning_settled is None:
        return None
    return True


def next_level(current: int, recent: list[SessionResult], max_level: int = 4, sessions_to_progress: int = 2) -> Suggestion:
    """The level to do next, given the sessions before it (oldest first)."""
    if not recent:
        return Suggestion(current, "no earlier session at this exercise: stay at this level")
    last = recent[-1]
    if pain_ok(last) is False:
        return Suggestion(max(current - 1, 1), f"pain above {PAIN_LIMIT:g}/10 or not settled next morning: a level down")
    if len(recent) >= 2 and not recent[-1].form_ok and not recent[-2].form_ok:
        return Suggestion(max(current - 1, 1), "form not met in the last two sessions: a level down")
    at_level = [s for s in recent[-sessions_to_progress:] if s.level == current]
    if len(at_level) < sessions_to_progress:
        return Suggestion(current, f"{len(at_level)} of {sessions_to_progress} sessions at level {current} so far: stay")
    if not all(s.form_ok for s in at_level):
        return Suggestion(current, "form not met in every recent session: stay")
    pains = [pain_ok(s) for s in at_level]
    if any(p is None for p in pains):
        return Suggestion(current, "form met; pain not logged (`stridecue log pain`), so the level stays")
    if current >= max_level:
        return Suggestion(current, "form and pain met at the top level: keep it")
    return Suggestion(current + 1, f"form and pain met in the last {sessions_to_progress} sessions: next level")


def form_ok(reps: list, level, knee_limit_deg: float, share: float = 0.8, depth_measured: bool = True) -> bool:
    """The form rule of one session: of each leg's reps at least `share` reach 80 % of the level's
    depth (when depth is measured, not a one-sensor proxy) with knee motion at most knee_limit_deg;
    a hold lasts at least `share` of its time."""
    if not reps:
        return False
    for leg in {r.leg for r in reps}:
        mine = [r for r in reps if r.leg == leg]
        if mine[0].kind == "hold":
            good = [h for h in mine if h.loss_s is None or h.loss_s >= share * level.reps]
        else:
            good = [r for r in mine if (not depth_measured or r.depth_deg >= 0.8 * level.depth_deg)
                    and (r.knee_motion_deg is None or r.knee_motion_deg <= knee_limit_deg)]
        if len(good) < share * len(mine):
            return False
    return True
