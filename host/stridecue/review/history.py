"""Trends across runs: wobble, landing load, cadence and cue rate, run by run.

Reads the run store (<data dir>/stridecue.db), ingesting any run file not analysed yet, and
shows one line per run of a runner profile, oldest first, with the change over the last runs.
When pain has been logged (`stridecue log pain`) or exercise sessions recorded, a timeline of runs,
exercise sessions and pain entries follows, newest last, each with its guidance (painload/).
`--json` gives the same rows as data.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from stridecue.analysis.combine import repeated_segments
from stridecue.errors import UserError
from stridecue.review.figures import MIN_RUN_STRIDES


def configure(parser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--profile", metavar="NAME", help="runner profile (default: all profiles)")
    parser.add_argument("--last", type=int, default=None, metavar="N", help="only the last N runs")
    parser.usage = "stridecue history [-h] [--json] [--profile NAME] [--last N] [delete RUN [--yes]]"
    actions = parser.add_subparsers(dest="action", metavar="ACTION", title="actions (default: list the runs)")
    d = actions.add_parser("delete", help="delete a run from history and its files",
                           description="Delete a run from history and its files under the data directory (the run file"
                                       " and its cue track); asks first.  A file outside the data directory is left where it is.")
    d.add_argument("run", metavar="RUN", help="run id or name (as `stridecue history` lists them), or its run file")
    d.add_argument("--yes", action="store_true", help="delete without asking (for scripts); without it and without an"
                                                      " answer on stdin, nothing is deleted")


def _median(values) -> float | None:
    v = np.asarray([x for x in values if x is not None], float)
    v = v[np.isfinite(v)]
    return float(np.median(v)) if len(v) else None


def _num(v) -> float | None:
    """A figure as data: full precision, as in the summary (format_history rounds for display)."""
    return None if v is None or not np.isfinite(v) else float(v)


def run_row(store, run: dict) -> dict:
    """One run's trend figures, straight from the stored strides (no coach replay: fast)."""
    rows = store.db.execute(
        "SELECT wobble_deg, pta_axial_g, cadence_spm, contact_time_s, leg, mount FROM strides WHERE run_id = ? AND kind = 'run'", (run["id"],)
    ).fetchall()
    repeated = repeated_segments((r["leg"], r["mount"]) for r in rows)  # thigh + shin on one leg: the shin's, each step once
    rows = [(r["wobble_deg"], r["pta_axial_g"], r["cadence_spm"], r["contact_time_s"]) for r in rows
            if (r["leg"], r["mount"]) not in repeated]
    wobble = np.array([r[0] for r in rows if r[0] is not None], float)
    cues = store.db.execute("SELECT count(*) FROM cues WHERE run_id = ? AND kind = 'wobble'", (run["id"],)).fetchone()[0]
    minutes = (run.get("duration_s") or 0.0) / 60.0
    return {
        "id": run["id"],
        "name": run["name"],
        "path": run["path"],
        "file_present": Path(run["path"]).exists(),
        "profile": run.get("profile"),
        "start_time": run.get("start_time"),
        "date": (run.get("start_time") or "")[:16].replace("T", " "),
        "simulated": run.get("simulated"),
        "duration_min": _num(minutes),
        "running_strides": len(rows),
        "wobble_median_deg": _num(np.median(wobble)) if len(wobble) else None,
        "wobble_p90_deg": _num(np.percentile(wobble, 90)) if len(wobble) else None,
        "landing_load_median_g": _num(_median(r[1] for r in rows)),
        "cadence_spm": _num(_median(r[2] for r in rows)),
        "contact_time_ms": _num(_scale(_median(r[3] for r in rows), 1000)),
        "cues": int(cues),
        "cues_per_min": _num(cues / minutes) if minutes else None,
        "data_problem": run.get("data_problem"),
        "guided": bool(store.db.execute("SELECT 1 FROM cues WHERE run_id = ? AND kind IN ('hip', 'foot') LIMIT 1", (run["id"],)).fetchone()),
    }


def _scale(v, k):
    return None if v is None else v * k


def trend_rows(store, profile: str | None = None, upto: dict | None = None, last: int | None = None) -> list[dict]:
    """Trend rows of a profile's runs, oldest first; with upto, only runs up to that one."""
    runs = [r for r in store.runs(profile) if r.get("activity", "run") == "run"]  # exercise sessions: on the timeline
    if upto is not None:
        runs = [r for r in runs if (r.get("start_time") or "", r["name"]) <= (upto.get("start_time") or "", upto["name"])]
    if last is not None:
        runs = runs[-last:] if last > 0 else []
    return [run_row(store, r) for r in runs]


def trends(rows: list[dict], recent: int = 3) -> dict:
    """Change of each figure: median of the last `recent` runs against the runs before them.  Only
    runs (MIN_RUN_STRIDES running strides or more) count: a recording without running is no run."""
    out = {}
    rows = [r for r in rows if r["running_strides"] >= MIN_RUN_STRIDES]
    if len(rows) < 2:
        return out
    k = min(recent, len(rows) - 1)
    before, after = rows[:-k], rows[-k:]
    for key in ("wobble_median_deg", "landing_load_median_g", "cadence_spm", "cues_per_min"):
        a, b = _median(r[key] for r in before), _median(r[key] for r in after)
        out[key] = {"earlier": a, "recent": b, "change": b - a if a is not None and b is not None else None,
                    "earlier_runs": len(before), "recent_runs": len(after)}
    return out


def _spark(values: list) -> str:
    bars = "▁▂▃▄▅▆▇█"
    v = [x for x in values if x is not None]
    if len(v) < 2:
        return ""
    lo, hi = min(v), max(v)
    return "".join(" " if x is None else bars[int((x - lo) / (hi - lo) * 7) if hi > lo else 3] for x in values)


def format_history(rows: list[dict], trend: dict, problems: list[tuple[str, str]]) -> str:
    def f(v, nd=1):
        return "–" if v is None else f"{v:.{nd}f}"

    lines = [f"{'id':>4}  {'date':<16}  {'min':>5}  {'strides':>7}  {'wobble°':>7}  {'p90°':>5}  {'load g':>6}  {'cadence':>7}  {'cues/min':>8}"]
    for r in rows:
        flags = (" sim" if r["simulated"] else "") + ("" if r["running_strides"] >= MIN_RUN_STRIDES else " not a run (left out of the trends)") + (" guided" if r["guided"] else "") + ("" if r["file_present"] else " (file missing)")
        flags += f"  ! {r['data_problem']}" if r.get("data_problem") else ""
        lines.append(f"{r['id']:>4}  {r['date']:<16}  {f(r['duration_min'], 0):>5}  {r['running_strides']:>7}  {f(r['wobble_median_deg']):>7}"
                     f"  {f(r['wobble_p90_deg']):>5}  {f(r['landing_load_median_g']):>6}  {f(r['cadence_spm'], 0):>7}  {f(r['cues_per_min'], 2):>8}{flags}")
    if trend:
        lines.append("")
        names = {"wobble_median_deg": ("wobble", "°"), "landing_load_median_g": ("landing load", " g"), "cadence_spm": ("cadence", " spm"),
                 "cues_per_min": ("cue rate", "/min")}
        for key, (label, unit) in names.items():
            t = trend[key]
            if t["change"] is None:
                continue
            spark = _spark([r[key] for r in rows[-30:]])
            nd = 2 if key == "cues_per_min" else 0 if key == "cadence_spm" else 1  # as the summary shows them
            lines.append(f"  {label:<13} {spark}  last {t['recent_runs']} runs {f(t['recent'], nd)}{unit} vs {f(t['earlier'], nd)}{unit}"
                         f" before ({t['change']:+.{nd}f}{unit})")
    for name, problem in problems:
        lines.append(f"  left out: {problem}" if name in problem else f"  left out: {name}: {problem}")
    return "\n".join(lines)


def _last_items(items: list, rows: list[dict]) -> list:
    """The timeline from the first of the runs --last keeps (all of it when no run is kept)."""
    if not rows:
        return items
    first = rows[0]["name"]
    start = next((i for i, it in enumerate(items) if it.load is not None and it.load.name == first), 0)
    return items[start:]


def main(args, base: Path) -> int:
    from stridecue.painload.timeline import format_timeline, store_timeline
    from stridecue.record.store import open_store

    if args.last is not None and args.last < 1:
        raise UserError(f"--last {args.last}: give the number of runs to show, 1 or more")
    store = open_store(base, quiet=True)
    try:
        if getattr(args, "action", None) == "delete":
            return delete_command(store, args.run, yes=args.yes)
        rows = trend_rows(store, profile=args.profile, last=args.last)
        items, overall = store_timeline(store, args.profile)
        if not rows and not items:
            if args.profile:
                raise UserError(f"no runs of profile {args.profile!r} (record one with `stridecue run`)")
            raise UserError(f"no runs in {base / 'runs'} (record one with `stridecue run`, or `stridecue run --simulate`)")
        trend = trends(rows)
        if args.last is not None:
            items = _last_items(items, rows)
        if args.json:
            print(json.dumps({"runs": rows, "trends": trend, "timeline": [it.as_dict() for it in items],
                              "guidance": [a.as_dict() for a in overall],
                              "left_out": [{"file": n, "problem": p} for n, p in store.skipped_]}, indent=2))
        else:
            print(format_history(rows, trend, store.skipped_) if rows else "no runs yet")
            if any(it.kind != "run" for it in items) or overall:  # pain or exercise: the one timeline
                print()
                print(format_timeline(items, overall))
        return 0
    finally:
        store.close()



def delete_command(store, ref: str, *, yes: bool, stdin=None) -> int:
    """`stridecue history delete RUN [--yes]`: name what goes, ask (unless --yes), delete."""
    from stridecue.record.library import delete_run, run_files

    run = store.find(ref)
    removed, kept = run_files(store.base, run)
    print(f"run {run['id']} ({run['name']}, {(run.get('start_time') or '')[:16].replace('T', ' ')}) leaves history; files deleted with it:")
    for f in removed:
        print(f"  {f}")
    for f in kept:
        print(f"  (kept: {f} is outside the data directory)")
    if not yes and not _confirmed(stdin if stdin is not None else sys.stdin):
        print("not deleted")
        return 1
    delete_run(store, run)
    print(f"deleted run {run['id']}")
    return 0


def _confirmed(stdin) -> bool:
    """The answer to "delete?" on stdin: yes or no; UserError when nobody can answer (no stdin,
    or it is at its end): a script gives --yes."""
    print("delete? [y/N] ", end="", flush=True)
    answer = stdin.readline() if stdin is not None and not stdin.closed else ""
    if not answer:
        print()
        raise UserError("nothing deleted: no answer on stdin (give --yes to delete without asking)")
    return answer.strip().lower() in ("y", "yes")
