"""The summary of a stored exercise session (`stridecue summary` of a session, and the end of
`stridecue exercise`): reps per leg, depth, knee motion, tempo or sway and balance, asymmetry,
the change from the last session (detectable or not), cues, and the level to do next.
"""

from __future__ import annotations

from stridecue.exercise.catalogue import exercise as find_exercise
from stridecue.exercise.summary import format_session, session_summary
from stridecue.painload.sessions import session_pains
from stridecue.record.exercise_sessions import earlier_sessions, suggest


def exercise_figures(store, run: dict) -> dict:
    """The session's figures as plain data (the `--json` of `summary`)."""
    name = run.get("exercise") or ""
    level = int(run.get("level") or 1)
    reps = store.reps(run["id"])
    before = earlier_sessions(store, run.get("profile") or "default", name, before=run.get("start_time"))
    previous = session_summary(before[-1][1], name, int(before[-1][0].get("level") or 1)) if before else None
    s = session_summary(reps, name, level, previous)
    suggestion = suggest(before + [(run, reps)], level, session_pains(store, [r for r, _ in before] + [run]))
    s["suggestion"] = {"level": suggestion.level, "why": suggestion.why}
    s["title"] = find_exercise(name).title
    s["cues"] = len(store.cues(run["id"]))
    s["reps"] = [dict(zip(("kind", "leg", "depth_deg", "knee_motion_deg"), (r.kind, r.leg, getattr(r, "depth_deg", None),
                                                                            getattr(r, "knee_motion_deg", None)))) for r in reps]
    s["problems"] = (run.get("totals") or {}).get("exercise", {}).get("problems", [])
    return s


def format_exercise(s: dict) -> str:
    return format_session(s, s["title"])
