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
from stridecue.paths import runs_dir
from stridecue.review.figures import load_summary
from stridecue.review.summary_text import format_summary


def configure(parser) -> None:
    """The summary command's options (cli.py's "summary" subparser)."""
    parser.add_argument("run", nargs="?", metavar="RUN",
                        help="a run id or run name, or a run file (default: the latest run); a file outside the data"
                             " directory is read, not added to history (`stridecue import FILE` adds it)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--html", action="store_true", help="write the self-contained HTML report instead")
    parser.add_argument("--out", metavar="FILE", help="with --html: the report file (default: <run name>.html in the current directory); never overwritten")


def latest_run(base: Path) -> Path:
    runs = sorted(runs_dir(base).rglob("*.scrun"))
    if not runs:
        raise UserError(f"no runs in {runs_dir(base)} (record one with `stridecue run`, or `stridecue run --simulate`)")
    return max(runs, key=lambda p: (p.name, p.stat().st_mtime))


def resolve_run(store, ref: str | None, base: Path) -> tuple:
    """(the store holding it, the run): the run named, else the latest.  A run file outside the
    data directory is read without being added to history (`stridecue import` adds one)."""
    from stridecue.record.store import read_run

    if ref:
        return read_run(store, ref)
    run = store.latest()
    if run is None:
        raise UserError(f"no runs in {runs_dir(base)} (record one with `stridecue run`, or `stridecue run --simulate`)")
    return store, run


def summary_command(args, base: Path) -> int:
    from stridecue.record.store import open_store

    history = open_store(base)  # warnings go to stderr, so --json output stays clean
    store = history
    try:
        store, run = resolve_run(history, args.run, base)
        if run.get("data_problem"):
            print(f"WARNING: {run['name']}: {run['data_problem']}", file=sys.stderr)
        s = load_summary(store, run)
        path = Path(run["path"])
        damage = (run.get("totals") or {}).get("damage")
        if damage:
            print(f"warning: {path.name}: {damage}", file=sys.stderr)
        if getattr(args, "html", False):
            from stridecue.review.report import write_report

            out = write_report(store, run, s, Path(args.out) if getattr(args, "out", None) else None)
            print(f"report written: {out}")
            return 0
        if getattr(args, "out", None):
            raise UserError("--out goes with --html")
        if args.json:
            print(json.dumps({"run": str(path), "run_id": run["id"], **s}, indent=2, default=_json_default))
        else:
            print(format_summary(path, s))
        return 0
    finally:
        if store is not history:
            store.close()
        history.close()


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


main = summary_command
