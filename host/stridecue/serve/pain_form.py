"""The pain form of `stridecue serve`: a pain rating from the phone into the pain journal.

The form's fields are checked as `stridecue log pain` checks its arguments (record/painlog.py,
painload/command.py): a whole number 0-10, during / next-morning / other, a run of the data
directory or none, a one-line note.  Anything refused is a UserError naming the field, and the
journal is left as it was; an accepted entry is appended (the journal is never rewritten).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from stridecue.errors import UserError
from stridecue.painload.command import parse_when
from stridecue.painload.guidance import Advice, entry_advice
from stridecue.painload.load import RunLoad, run_load
from stridecue.record.painlog import PainEntry, append, new_entry, read_journal

FIELDS = ("score", "run", "when", "note")
RECENT = 10


@dataclass(frozen=True)
class PainView:
    """What the pain page shows: the runs to choose from (newest first: (name, label)), the
    recent entries with their guidance (newest first), and the journal's unreadable lines."""

    runs: list[tuple[str, str]]
    recent: list[tuple[PainEntry, Advice]]
    problems: list[str]


def run_choices(runs: list[dict]) -> list[tuple[str, str]]:
    """(name, label) of the runs and exercise sessions, newest first, for the form's list."""
    out = []
    for r in reversed(runs):
        what = f"exercise {r.get('exercise') or ''}".strip() if r.get("activity") == "exercise" else "run"
        out.append((r["name"], f"{(r.get('start_time') or '')[:16].replace('T', ' ')} {what}"))
    return out


def view(base: Path, store, runs: list[dict]) -> PainView:
    """The page's view: the journal read now (not the store's copy), so a rating shows at once."""
    journal = read_journal(base)
    loads: dict[str, RunLoad] = {r["name"]: run_load(store, r) for r in runs}
    entries = list(journal.entries)
    recent = [(e, entry_advice(e, loads.get(e.run), entries)) for e in reversed(entries[-RECENT:])]
    return PainView(run_choices(runs), recent, [f"line {n}: {p}" for n, p in journal.problems])


def save(base: Path, form: dict[str, str], runs: list[dict]) -> PainEntry:
    """Check the form and append its entry; UserError naming the field otherwise."""
    kind = parse_when(form.get("when") or "during")
    name = (form.get("run") or "").strip()
    known = {r["name"]: r for r in runs}
    if name and name not in known:
        raise UserError(f"run {name!r}: not a run of this data directory")
    run = known.get(name)
    date = (run.get("start_time") or "")[:10] if run else ""
    entry = new_entry(form.get("score", ""), run=name or None, date=date or dt.date.today().isoformat(), kind=kind,
                      note=form.get("note", ""))
    append(base, entry)
    return entry
