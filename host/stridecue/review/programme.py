"""`stridecue programme`: the retraining programme (8 sessions over about 2 weeks, 15 -> 30 minutes,
feedback faded over the last 4, then retention runs without cues after 1 week and 1 month): start
it, see where the runner is and what is next, and its outcome.

The outcome compares each retention run with the first session's no-cue baseline: per segment,
the wobble (and, with the landing-load loop, the peak tibial acceleration) of the strides the
coach's baseline is formed on (after the warm-up strides, before any cue) against the same
strides of the retention run (the start of a run against the start of a run: wobble grows over a
run).  The difference of medians has a bootstrap 95 % interval (review/effect.py); it is "lower"
only when the whole interval is below zero.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path

from stridecue.coach.programme import (LOAD_TARGET_PCT, MIN_RUNNING_STRIDES, MIN_SHARE_OF_PLAN, SESSIONS, Programme,
                                       Progress, baseline_window, planned_minutes, progress, read_programmes,
                                       retention_name, session_step, start_programme, stop_programme)
from stridecue.errors import UserError
from stridecue.review.effect import median_shift

# The smallest between-session change of wobble the measurement can tell from re-strapping the
# sensor on another day: not measured (docs/validation.md has per-stride errors, no repeatability).
DETECTABLE_DEG: float | None = None
METRICS = {"wobble_deg": ("wobble", "deg"), "pta_axial_g": ("landing load", "g")}


@dataclass(frozen=True)
class Comparison:
    """One segment's metric in a retention run against session 1's no-cue baseline."""

    metric: str  # "wobble_deg" or "pta_axial_g"
    segment: str  # "left shin", ...
    baseline_n: int
    retention_n: int
    baseline_median: float | None
    retention_median: float | None
    difference: float | None  # retention - baseline (median)
    ci95: tuple[float, float] | None
    verdict: str  # "lower", "higher", "no clear change", "not enough strides"
    change_pct: float | None  # the difference in % of the baseline (landing load: against the -30 % target)
    target_met: bool | None  # landing load: the whole interval at or below -LOAD_TARGET_PCT %


@dataclass(frozen=True)
class RetentionOutcome:
    number: int  # 1 (1 week), 2 (1 month)
    run: str
    date: str
    comparisons: tuple[Comparison, ...]


def compare(metric: str, segment: str, baseline: list[float], retention: list[float], seed: int = 0) -> Comparison:
    """The difference of medians (retention - baseline) with review/effect.py's bootstrap interval."""
    shift = median_shift(baseline, retention, seed=seed) if len(baseline) >= 3 and len(retention) >= 3 else None
    if shift is None:
        return Comparison(metric, segment, len(baseline), len(retention), _median(baseline), _median(retention),
                          None, None, "not enough strides", None, None)
    diff, (lo, hi) = shift
    base = statistics.median(baseline)
    verdict = "lower" if hi < 0 else "higher" if lo > 0 else "no clear change"
    pct = 100.0 * diff / base if base else None
    target = None
    if metric == "pta_axial_g" and base:
        target = 100.0 * hi / base <= -LOAD_TARGET_PCT
    return Comparison(metric, segment, len(baseline), len(retention), base, statistics.median(retention),
                      diff, (lo, hi), verdict, pct, target)


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def outcome(store, programme: Programme, done: Progress) -> list[RetentionOutcome]:
    """Each counted retention run against session 1's no-cue baseline."""
    if not done.sessions:
        return []
    first = done.sessions[0]
    coach = ((first.get("metadata") or {}).get("settings") or {}).get("coach") or {}
    warmup, count = int(coach.get("warmup_strides", 10)), int(coach.get("baseline_strides", 30))
    first_cue = min((c["t"] for c in store.cues(first["id"])), default=math.inf)
    first_strides = store.strides(first["id"])
    metrics = ["wobble_deg"] + (["pta_axial_g"] if programme.load else [])
    out = []
    for number, run in sorted(done.retention.items()):
        if run is None:
            continue
        strides = store.strides(run["id"])
        comparisons = []
        for metric in metrics:
            base = baseline_window(first_strides, metric, warmup, count, first_cue)
            later = baseline_window(strides, metric, warmup, count)
            for segment in sorted(set(base) | set(later)):
                comparisons.append(compare(metric, segment, base.get(segment, []), later.get(segment, [])))
        out.append(RetentionOutcome(number, run["name"], (run.get("start_time") or "")[:10], tuple(comparisons)))
    return out


# -- the command ------------------------------------------------------------------------------------


def configure(parser) -> None:
    parser.add_argument("--profile", metavar="NAME", help="the runner's profile (default: the settings file's default_profile)")
    parser.add_argument("--json", action="store_true", help="the status and the outcome as data")
    parser.usage = "stridecue programme [-h] [--profile NAME] [--json] [start [--profile NAME] [--load] [--minute-s S] | stop [--profile NAME]]"
    actions = parser.add_subparsers(dest="action", metavar="ACTION", title="actions (default: where you are and what is next)")
    s = actions.add_parser("start", help="start the programme for a profile",
                           description="Start the 8-session retraining programme for a profile: the next `stridecue run`"
                                       " (or daemon run) of the profile is session 1.")
    s.add_argument("--profile", metavar="NAME", default=argparse.SUPPRESS, help="the runner's profile (as before the action)")
    s.add_argument("--load", action="store_true",
                   help=f'also the landing-load loop: "Land softer" aiming {LOAD_TARGET_PCT:g} %% below session 1\'s peak tibial acceleration')
    s.add_argument("--minute-s", type=float, default=60.0, metavar="S",
                   help="seconds in a planned minute (default 60; shorter only to try the programme with `run --simulate`)")
    stop = actions.add_parser("stop", help="end the profile's programme (its runs stay in history)",
                              description="End the profile's programme; its runs and their files stay in history.")
    stop.add_argument("--profile", metavar="NAME", default=argparse.SUPPRESS, help="the runner's profile (as before the action)")


def main(args, base: Path) -> int:
    from stridecue.coach.settings import load_profile

    profile = load_profile(None, args.profile, base)  # an unknown profile is the error, before anything is written
    now = dt.datetime.now(dt.timezone.utc)
    if args.action == "start":
        programme = start_programme(base, profile.name, args.load, args.minute_s, now)
        print(f"programme started for profile {profile.name!r} on {programme.started:%Y-%m-%d}"
              f"{' with the landing-load loop' if programme.load else ''}; the next run is session 1 of {SESSIONS}"
              f" ({planned_minutes(1):g} minutes)")
        return 0
    if args.action == "stop":
        programme = stop_programme(base, profile.name)
        print(f"programme of profile {profile.name!r} (started {programme.started:%Y-%m-%d}) stopped; its runs stay in history")
        return 0
    programme = read_programmes(base).get(profile.name)
    if programme is None:
        raise UserError(f"profile {profile.name!r} has no programme (`stridecue programme start --profile {profile.name}` starts one)")
    status = _status(base, programme, profile.fading_schedule, now)
    print(json.dumps(status, indent=2, default=str) if args.json else "\n".join(status_lines(status)))
    return 0


def _status(base: Path, programme: Programme, schedule, now: dt.datetime) -> dict:
    from stridecue.record.store import open_store

    with open_store(base) as store:
        done = progress(programme, store.runs(programme.profile), now, schedule)
        results = outcome(store, programme, done)
    return {
        "profile": programme.profile,
        "started": programme.key,
        "load": programme.load,
        "minute_s": programme.minute_s,
        "sessions_done": len(done.sessions),
        "sessions": [{"run": r["name"], "date": (r.get("start_time") or "")[:10]} for r in done.sessions],
        "not_counted": done.not_counted,
        "next": {"kind": done.next.kind, "number": done.next.number, "planned_min": done.next.planned_min,
                 "feedback_share": done.next.feedback_share, "label": done.next.label,
                 "from": done.next.due.date().isoformat() if done.next.due else None},
        "plan": [{"session": k, "minutes": planned_minutes(k), "feedback_share": session_step(programme, k, schedule).feedback_share}
                 for k in range(1, SESSIONS + 1)],
        "retention_due": {retention_name(i + 1): d.date().isoformat() for i, d in enumerate(done.retention_due)},
        "retention_done": {retention_name(k): (r["name"] if r else None) for k, r in done.retention.items()},
        "outcome": [asdict(o) for o in results],
        "detectable_change_deg": DETECTABLE_DEG,
    }


def status_lines(s: dict) -> list[str]:
    lines = [f"programme of profile {s['profile']!r}: started {s['started'][:10]}"
             + (", with the landing-load loop" if s["load"] else "")
             + ("" if s["minute_s"] == 60 else f" (a planned minute is {s['minute_s']:g} s)")]
    last = f" (last {s['sessions'][-1]['date']})" if s["sessions"] else ""
    lines.append(f"sessions: {s['sessions_done']} of {SESSIONS} done{last}")
    if s["not_counted"]:
        lines.append(f"  {s['not_counted']} programme run(s) did not count (fewer than {MIN_RUNNING_STRIDES} running strides,"
                     f" or under {MIN_SHARE_OF_PLAN:.0%} of the planned time)")
    nxt = s["next"]
    if nxt["kind"] == "session":
        lines.append(f"next: {nxt['label']}, {nxt['planned_min']:g} minutes, {nxt['feedback_share']:.0%} of cues spoken"
                     f" (suggested from {nxt['from']})")
    elif nxt["kind"] in ("retention", "free"):
        lines.append(f"next: {nxt['label']}" + (f", {nxt['planned_min']:g} minutes" if nxt["planned_min"] else "")
                     + (f"; the next retention run is due from {nxt['from']}" if nxt["kind"] == "free" else ""))
    else:
        lines.append("next: nothing, the programme is complete (`stridecue programme stop` ends it)")
    if s["retention_due"]:
        lines.append("retention runs (no cues): " + "; ".join(
            f"{name} from {day}" + (f" (done: {s['retention_done'][name]})" if s["retention_done"].get(name) else "")
            for name, day in s["retention_due"].items()))
    else:
        lines.append("retention runs (no cues): 1 week and 1 month after session 8")
    lines += outcome_lines(s["outcome"], s["detectable_change_deg"])
    return lines


def outcome_lines(results: list[dict], detectable: float | None) -> list[str]:
    if not results:
        return ["outcome: not yet (it needs a retention run, compared with session 1's no-cue baseline)"]
    lines = ["outcome (retention run against session 1's no-cue baseline; median, 95% CI):"]
    for r in results:
        lines.append(f"  {retention_name(r['number'])} ({r['date']}, {r['run']}):")
        for c in r["comparisons"]:
            name, unit = METRICS[c["metric"]]
            if c["difference"] is None:
                lines.append(f"    {c['segment']} {name}: {c['verdict']} ({c['baseline_n']} and {c['retention_n']} strides)")
                continue
            lo, hi = c["ci95"]
            text = (f"    {c['segment']} {name}: {c['baseline_median']:.2f} -> {c['retention_median']:.2f} {unit},"
                    f" {c['difference']:+.2f} {unit} (95% CI {lo:+.2f} to {hi:+.2f}): {c['verdict']}")
            if c["metric"] == "wobble_deg" and detectable is not None and abs(c["difference"]) < detectable:
                text += f" (smaller than the {detectable:g} deg the measurement can detect)"
            if c["metric"] == "pta_axial_g" and c["change_pct"] is not None:
                text += f"; {c['change_pct']:+.0f} % (target -{LOAD_TARGET_PCT:g} %: {'met' if c['target_met'] else 'not shown'})"
            lines.append(text)
    if detectable is None:
        lines.append("  the smallest change of wobble the measurement can detect between sessions is not known"
                     " (docs/validation.md has no repeatability figure): a small difference may be the sensor's placement")
    return lines
