"""The pain journal: <data dir>/pain-log.jsonl, the source of truth for pain entries.

A pain entry has no run file, so the journal gives it the run file's safety another way: it is
only ever appended to, one JSON object a line, each write flushed and fsynced under an exclusive
file lock (two processes logging at once cannot interleave their lines).  Nothing is rewritten:
deleting an entry appends a "void" line naming it, and correcting one appends a new entry that
"replaces" it.  A damaged line (a crash mid-write, an edit by hand) is reported with its line
number and skipped; the lines around it still count.  The run store indexes the journal into its
pain_entries table (store.sync), so a damaged database moved aside loses nothing.

    line: {"op": "add", "id": ..., "logged_at": ..., "run": name|null, "date": "YYYY-MM-DD",
           "kind": "during"|"next_morning"|"other", "score": 0..10, "note": "...", "replaces": id|null}
          {"op": "void", "id": <entry id>, "logged_at": ...}
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from stridecue.errors import UserError
from stridecue.paths import ensure_dir

JOURNAL_NAME = "pain-log.jsonl"
KINDS = ("during", "next_morning", "other")
MAX_NOTE = 500


@dataclass(frozen=True, slots=True)
class PainEntry:
    """One pain rating.  run: the run or exercise session it belongs to (its name), or None;
    date: the day of that activity (ISO date); kind: "during" (the activity), "next_morning"
    (the morning after it) or "other"; score: 0 (none) .. 10 (worst imaginable); logged_at: when it
    was logged (ISO 8601, UTC)."""

    id: str
    logged_at: str
    run: str | None
    date: str
    kind: str
    score: int
    note: str = ""
    replaces: str | None = None


@dataclass(frozen=True, slots=True)
class JournalRead:
    """What the journal holds now (voided and replaced entries left out), in the order logged, and
    the lines that could not be read: (line number, problem)."""

    entries: tuple[PainEntry, ...]
    problems: tuple[tuple[int, str], ...]


def journal_path(base: Path) -> Path:
    return Path(base) / JOURNAL_NAME


def check_score(text) -> int:
    """A pain score from what the runner typed: a whole number 0..10, else UserError."""
    value = str(text).strip()
    try:
        score = int(value)
    except ValueError:
        raise UserError(f"pain {value!r}: give a whole number from 0 (no pain) to 10 (worst imaginable)") from None
    if not 0 <= score <= 10:
        raise UserError(f"pain {score}: out of range; give a whole number from 0 (no pain) to 10 (worst imaginable)")
    return score


def new_entry(score, *, run: str | None, date: str, kind: str, note: str = "", replaces: str | None = None,
              now: dt.datetime | None = None) -> PainEntry:
    """A checked entry with a fresh id (UserError for a bad score, kind or note)."""
    if kind not in KINDS:
        raise UserError(f"pain entry kind {kind!r}: one of {', '.join(KINDS)}")
    note = (note or "").strip()
    if len(note) > MAX_NOTE or "\n" in note:
        raise UserError(f"--note: one line of at most {MAX_NOTE} characters")
    try:
        dt.date.fromisoformat(date)
    except (TypeError, ValueError):
        raise UserError(f"date {date!r}: not a date (YYYY-MM-DD)") from None
    when = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    return PainEntry(uuid.uuid4().hex[:12], when.isoformat(timespec="seconds"), run, date, kind, check_score(score),
                     note, replaces)


def append(base: Path, entry: PainEntry) -> Path:
    """Append an entry to the journal (created when missing); the journal's path."""
    _append_line(base, {"op": "add", **asdict(entry)})
    return journal_path(base)


def void(base: Path, entry_id: str, now: dt.datetime | None = None) -> None:
    """Append a line that takes entry_id out (UserError when the journal has no such entry)."""
    current = {e.id for e in read_journal(base).entries}
    if entry_id not in current:
        raise UserError(f"no pain entry {entry_id!r} (`stridecue log show` lists them with their ids)")
    when = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    _append_line(base, {"op": "void", "id": entry_id, "logged_at": when.isoformat(timespec="seconds")})


def _append_line(base: Path, record: dict) -> None:
    import fcntl

    ensure_dir(Path(base))
    path = journal_path(base)
    line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
    try:
        with open(path, "ab") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            try:
                # A line left without its end (a crash mid-write) must not swallow this one.
                if f.seek(0, os.SEEK_END) and _last_byte(path) != b"\n":
                    line = "\n" + line
                f.write(line.encode("utf-8"))
                f.flush()
                os.fsync(f.fileno())
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)
    except OSError as e:
        raise UserError(f"{path}: cannot append to the pain journal: {e.strerror or e}") from None


def _last_byte(path: Path) -> bytes:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1)


def read_journal(base: Path) -> JournalRead:
    """The journal's current entries and its unreadable lines; an empty read when there is none."""
    path = journal_path(base)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return JournalRead((), ())
    except OSError as e:
        raise UserError(f"{path}: cannot read the pain journal: {e.strerror or e}") from None
    added: dict[str, PainEntry] = {}
    gone: set[str] = set()
    problems: list[tuple[int, str]] = []
    for number, text in enumerate(raw.split(b"\n"), start=1):
        if not text.strip():
            continue
        try:
            record = json.loads(text.decode("utf-8"))
            if record.get("op") == "void":
                gone.add(str(record["id"]))
                continue
            entry = _entry(record)
        except (ValueError, KeyError, TypeError, AttributeError, UserError) as e:
            problems.append((number, _problem(e)))
            continue
        added[entry.id] = entry
        if entry.replaces:
            gone.add(entry.replaces)
    return JournalRead(tuple(e for e in added.values() if e.id not in gone), tuple(problems))


def _entry(record: dict) -> PainEntry:
    if record.get("op") != "add":
        raise ValueError(f"unknown op {record.get('op')!r}")
    kind = record["kind"]
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    score = record["score"]
    if not isinstance(score, int) or isinstance(score, bool) or not 0 <= score <= 10:
        raise ValueError(f"pain {score!r} is not 0..10")
    dt.date.fromisoformat(record["date"])
    dt.datetime.fromisoformat(record["logged_at"])
    return PainEntry(str(record["id"]), record["logged_at"], record.get("run"), record["date"], kind, score,
                     str(record.get("note") or ""), record.get("replaces"))


def _problem(e: Exception) -> str:
    if isinstance(e, json.JSONDecodeError):
        return "not a JSON line (damaged or cut short)"
    if isinstance(e, UnicodeDecodeError):
        return "not UTF-8 text"
    if isinstance(e, KeyError):
        return f"no {e.args[0]!r}"
    return str(e).splitlines()[0] or type(e).__name__


def problem_lines(base: Path, problems) -> list[tuple[str, str]]:
    """(file, problem) pairs in the form store.skipped_ and history's "left out" lines use."""
    return [(JOURNAL_NAME, f"{JOURNAL_NAME} line {n}: {p}; the line is skipped (the journal is kept as it is)")
            for n, p in problems]
