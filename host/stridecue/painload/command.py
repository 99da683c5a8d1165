"""Log pain (0-10) during or the morning after a run or exercise session, and show the log.

    stridecue log pain SCORE [--run RUN|latest|none] [--when during|next-morning|other] [--note TEXT]
    stridecue log show [--json] [--profile NAME]      runs, exercise sessions and pain on one timeline
    stridecue log delete ID                          take an entry out (the journal keeps a line saying so)

Entries go into <data dir>/pain-log.jsonl, which is only ever appended to (docs/pain-and-load.md).
Each comes with the pain-monitoring model's guidance; guidance, never a diagnosis.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from stridecue.errors import UserError
from stridecue.record.painlog import append, check_score, new_entry, void

WHEN = {"during": "during", "next-morning": "next_morning", "next_morning": "next_morning", "other": "other"}
NONE = "none"


def configure(parser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = actions.add_parser("pain", help="log a pain rating, 0 (none) to 10 (worst imaginable)",
                           description="Log pain 0-10 during a run or exercise session, the morning after it, or at"
                                       " another time; prints the pain-monitoring model's guidance for it.")
    p.add_argument("score", metavar="SCORE", help="pain from 0 (none) to 10 (worst imaginable), a whole number")
    p.add_argument("--run", metavar="RUN", help='the run or exercise session it belongs to: its name, id or "latest";'
                                                ' "none" for pain not tied to one (default: the latest, or none with --when other)')
    p.add_argument("--when", default="during", metavar="WHEN", help="during | next-morning | other (default during)")
    p.add_argument("--note", default="", metavar="TEXT", help="a few words (where it hurt, what kind of pain)")
    p.add_argument("--replaces", metavar="ID", help="correct an earlier entry: this one takes its place")
    s = actions.add_parser("show", help="runs, exercise sessions and pain on one timeline, with guidance",
                           description="Runs, exercise sessions and pain entries on one timeline (newest last), each"
                                       " with its guidance.")
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.add_argument("--profile", metavar="NAME", help="runner profile (default: all)")
    d = actions.add_parser("delete", help="take a pain entry out of the log",
                           description="Take a pain entry out: the journal gets a line saying so (nothing is rewritten).")
    d.add_argument("id", metavar="ID", help="the entry's id (`stridecue log show` lists them)")


def parse_when(text: str) -> str:
    kind = WHEN.get(str(text).strip().lower())
    if kind is None:
        raise UserError(f"--when {text!r}: one of during, next-morning, other")
    return kind


def main(args, base: Path) -> int:
    from stridecue.record.store import open_store

    if args.action == "delete":
        void(base, args.id.strip())
        print(f"pain entry {args.id.strip()} taken out of the log")
        return 0
    if args.action == "pain":
        return log_pain(args, base)
    store = open_store(base)
    try:
        return show(store, args)
    finally:
        store.close()


def log_pain(args, base: Path) -> int:
    """`log pain`: everything is checked before the one append."""
    from stridecue.record.store import open_store

    score = check_score(args.score)
    kind = parse_when(args.when)
    store = open_store(base)
    try:
        run = _activity(store, args.run, kind)
        if args.replaces and args.replaces not in {e.id for e in store.pain_entries()}:
            raise UserError(f"--replaces {args.replaces!r}: no such pain entry (`stridecue log show` lists them)")
        date = (run.get("start_time") or "")[:10] if run else dt.date.today().isoformat()
        entry = new_entry(score, run=run["name"] if run else None, date=date or dt.date.today().isoformat(), kind=kind,
                          note=args.note, replaces=args.replaces)
        append(base, entry)
        store.sync()
        print(f"logged pain {entry.score}/10 {kind.replace('_', ' ')}" + (f" of {entry.run}" if entry.run else "") + f" (id {entry.id})")
        print_guidance(store, entry)
        return 0
    finally:
        store.close()


def _activity(store, ref: str | None, kind: str) -> dict | None:
    from stridecue.record.runref import LATEST, find_run

    text = (ref or "").strip()
    if text.lower() == NONE or (not text and kind == "other"):
        return None
    if not text or text.lower() == LATEST:  # the latest activity: a run or an exercise session
        every = store.runs(activity=None)
        if not every:
            raise UserError("no run or exercise session to attach the pain to yet: give --when other (or --run none)")
        return every[-1]
    return find_run(store, text)


def print_guidance(store, entry) -> None:
    from stridecue.painload.guidance import entry_advice, rising
    from stridecue.painload.load import run_load

    loads = [run_load(store, r) for r in store.runs(activity=None) if r["name"] == entry.run]
    entries = store.pain_entries()
    print(f"guidance: {entry_advice(entry, loads[0] if loads else None, entries).line()}")
    trend = rising(entries)
    if trend is not None:
        print(f"guidance: {trend.line()}")


def show(store, args) -> int:
    from stridecue.painload.timeline import format_timeline, store_timeline

    items, overall = store_timeline(store, args.profile)
    if args.json:
        print(json.dumps({"timeline": [it.as_dict() for it in items], "guidance": [a.as_dict() for a in overall],
                          "left_out": [{"file": n, "problem": p} for n, p in store.skipped_]}, indent=2))
        return 0
    if not items:
        print("nothing logged yet: record a run (`stridecue run`) or log pain (`stridecue log pain N --when other`)")
        return 0
    print(format_timeline(items, overall))
    return 0

