"""The `stridecue summary` command: a run's figures (figures.py) in the terminal (summary_text.py),
as JSON (`--json`, the same figures as data), or as the self-contained HTML report (`--html`,
report.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from stridecue.errors import UserError
from stridecue.record.runfile import is_being_written
from stridecue.record.runref import RUN_HELP, read_named_run
from stridecue.review.export import OUT_HELP, out_file
from stridecue.review.figures import load_summary
from stridecue.review.summary_text import format_summary


def configure(parser) -> None:
    """The summary command's options (cli.py's "summary" subparser)."""
    parser.add_argument("run", nargs="?", metavar="RUN", help=RUN_HELP)
    parser.add_argument("--json", action="store_true", help="machine-readable output (not with --html)")
    parser.add_argument("--html", action="store_true", help="write the self-contained HTML report instead (not with --json)")
    parser.add_argument("--out", metavar="OUT", help=f"with --html: {OUT_HELP}")


def check_flags(args) -> None:
    """Flags that cannot go together are refused, never silently ignored."""
    if getattr(args, "json", False) and getattr(args, "html", False):
        raise UserError("--json and --html are two different outputs: give one of them")
    if getattr(args, "out", None) and not getattr(args, "html", False):
        raise UserError("--out goes with --html (the terminal summary and --json go to standard output)")


def summary_command(args, base: Path) -> int:
    from stridecue.record.store import open_store

    check_flags(args)
    history = open_store(base)  # warnings go to stderr, so --json output stays clean
    store = history
    try:
        store, run = read_named_run(history, args.run)  # a file outside the data directory is read, not added
        if run.get("data_problem"):
            print(f"WARNING: {run['name']}: {run['data_problem']}", file=sys.stderr)
        if run.get("activity") == "exercise":  # a session of an exercise: its reps, not run figures
            return _exercise_summary(args, store, run)
        s = load_summary(store, run)
        path = Path(run["path"])
        if not s["data_quality"]["closed_cleanly"] and is_being_written(path):
            s["data_quality"]["still_recording"] = True  # not a crash: the run goes on
        damage = (run.get("totals") or {}).get("damage")
        if damage:
            print(f"warning: {path.name}: {damage}", file=sys.stderr)
        if getattr(args, "html", False):
            from stridecue.review.report import write_report

            out = write_report(store, run, s, out_file(args.out, run["name"], ".html"))
            print(f"report written: {out}")
            return 0
        if args.json:
            print(json.dumps({"run": str(path), "run_id": run["id"], **s}, indent=2, default=_json_default))
        else:
            print(format_summary(path, s))
        return 0
    finally:
        if store is not history:
            store.close()
        history.close()


def _exercise_summary(args, store, run: dict) -> int:
    from stridecue.review.exercise_summary import exercise_figures, format_exercise

    if getattr(args, "html", False):
        raise UserError(f"{run['name']} is an exercise session: its summary is in the terminal or --json (no HTML report yet)")
    s = exercise_figures(store, run)
    if args.json:
        print(json.dumps({"run": run["path"], "run_id": run["id"], **s}, indent=2, default=_json_default))
    else:
        print(format_exercise(s))
    return 0


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


main = summary_command
