"""A session's figures: per leg (reps, depth, knee motion, tempo; or sway and balance), left vs
right as asymmetry in percent, and whether a difference is larger than the measurement can detect.

SMALLEST_CHANGE: the smallest detectable change of a session's mean, 1.96 x sqrt(2) x the SD of
the per-set mean error against the virtual exerciser's truth (`stridecue validate --suite
exercise --json`, held-out exercisers; docs/exercises.md).  A difference below it (between legs
or from the last session) is reported as not detectable.
"""

from __future__ import annotations

import math
from statistics import mean

# From `stridecue validate --suite exercise --json` (30 held-out exercisers a case, 2026-12-07;
# docs/exercises.md), the figures "... smallest detectable change", the largest over the exercises
# measured with that sensor set-up (knee motion: squat 4.6 and step-down 3.7 deg with the shin;
# squat 7.35 and bridge 6.9 with the thigh; 13.5 with both, whose two axes' errors add).
SMALLEST_CHANGE = {
    "knee_motion_deg": {"shin": 4.6, "thigh": 7.4, "thigh+shin": 13.5},
    "depth_deg": {"shin": 35.8, "thigh": 36.8, "thigh+shin": 1.4},  # one sensor: a proxy (the ankle's share varies)
    "sway_deg": {"shin": 0.54, "thigh": 0.54, "thigh+shin": 0.54},
}


def _avg(values) -> float | None:
    values = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return round(mean(values), 2) if values else None


def leg_figures(reps: list) -> dict:
    """The figures of one leg's reps or holds."""
    if reps and reps[0].kind == "hold":
        losses = [h.loss_s for h in reps if h.loss_s is not None]
        return {"holds": len(reps), "sway_deg": _avg(h.sway_deg for h in reps),
                "first_loss_s": round(min(losses), 1) if losses else None, "held_s": _avg(h.held_s for h in reps)}
    return {"reps": len(reps), "depth_deg": _avg(r.depth_deg for r in reps), "knee_motion_deg": _avg(r.knee_motion_deg for r in reps),
            "knee_motion_max_deg": max((r.knee_motion_deg for r in reps if r.knee_motion_deg is not None), default=None),
            "down_s": _avg(r.down_s for r in reps), "up_s": _avg(r.up_s for r in reps), "cued": sum(1 for r in reps if r.cued)}


def asymmetry(left: float | None, right: float | None) -> float | None:
    """|left - right| / their mean, in percent (None when either is missing or both are 0)."""
    if left is None or right is None or (left + right) == 0:
        return None
    return round(100.0 * abs(left - right) / (abs(left + right) / 2.0), 1)


def detectable(diff: float | None, figure: str, mount: str) -> bool | None:
    if diff is None:
        return None
    return abs(diff) >= SMALLEST_CHANGE.get(figure, {}).get(mount, 0.0)


def session_summary(reps: list, exercise: str, level: int, previous: dict | None = None) -> dict:
    """The session's figures as plain data; previous: an earlier session's summary of the same
    exercise (changes from it are marked detectable or not)."""
    legs = {leg: leg_figures([r for r in reps if r.leg == leg]) for leg in ("left", "right") if any(r.leg == leg for r in reps)}
    mount = next((r.mount for r in reps), "shin")
    out = {"exercise": exercise, "level": level, "mount": mount, "legs": legs, "asymmetry_pct": {}, "left_vs_right": {},
           "change": {}}
    figures = ("sway_deg",) if reps and reps[0].kind == "hold" else ("depth_deg", "knee_motion_deg", "reps")
    for fig in figures:
        if "left" in legs and "right" in legs:
            a, b = legs["left"].get(fig), legs["right"].get(fig)
            # a percentage of angles near 0 says nothing: only of sizes well above the measurement's limit
            small = fig != "reps" and (a is None or b is None or min(abs(a), abs(b)) < 2 * SMALLEST_CHANGE[fig][mount])
            out["asymmetry_pct"][fig] = None if small else asymmetry(a, b)
            if fig != "reps" and a is not None and b is not None:
                out["left_vs_right"][fig] = {"difference": round(a - b, 2), "detectable": detectable(a - b, fig, mount)}
        for leg, now in legs.items():
            before = ((previous or {}).get("legs") or {}).get(leg, {}).get(fig)
            if fig != "reps" and before is not None and now.get(fig) is not None:
                diff = now[fig] - before
                out["change"].setdefault(leg, {})[fig] = {"difference": round(diff, 2), "detectable": detectable(diff, fig, mount)}
    return out


def format_session(s: dict, title: str) -> str:
    """The session summary's lines for the terminal."""
    lines = [f"{title}, level {s['level']} (sensor: {s['mount']})"]
    if not s["legs"]:
        lines.append("no reps found (was the sensor on the exercising leg? did the set start?)")
    for leg, f in s["legs"].items():
        if "holds" in f:
            loss = "held to the end" if f["first_loss_s"] is None else f"first loss of balance after {f['first_loss_s']:.1f} s"
            lines.append(f"  {leg:5}: sway {_num(f['sway_deg'])} deg, {loss}")
        else:
            lines.append(f"  {leg:5}: {f['reps']} reps, depth {_num(f['depth_deg'], 0)} deg, knee in {_num(f['knee_motion_deg'])} deg"
                         f" (max {_num(f['knee_motion_max_deg'])}), {_num(f['down_s'])} s down / {_num(f['up_s'])} s up,"
                         f" {f['cued']} knee-out cues")
    for fig, pct in s["asymmetry_pct"].items():
        lr = s["left_vs_right"].get(fig)
        if pct is None and lr is None:
            continue
        label = fig.replace('_deg', '').replace('_', ' ')
        share = "" if pct is None else f"{pct:.0f}% asymmetry"
        if lr is None:
            lines.append(f"  left vs right {label}: {share}")
            continue
        verdict = "larger than" if lr["detectable"] else "smaller than"
        diff = f"{lr['difference']:+.1f} deg"
        lines.append(f"  left vs right {label}: {diff}{', ' + share if share else ''} ({verdict} the measurement can detect)")
    for leg, changes in s["change"].items():
        for fig, c in changes.items():
            verdict = "a real change" if c["detectable"] else "smaller than the measurement can detect"
            lines.append(f"  {leg} {fig.replace('_deg', '').replace('_', ' ')} since last session: {c['difference']:+.1f} deg ({verdict})")
    if s.get("suggestion"):
        lines.append(f"next: level {s['suggestion']['level']} ({s['suggestion']['why']})")
    return "\n".join(lines)


def _num(v, digits: int = 1) -> str:
    return "–" if v is None else f"{v:.{digits}f}"
