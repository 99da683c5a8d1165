"""The run store: an SQLite index of every recorded run, its per-stride metrics and its cues.

docs/storage.md describes the schema.  The raw run files stay where the recorder wrote them
(<data dir>/runs/YYYY/*.scrun) and the store refers to them by path; it never copies samples.
It holds what is expensive to recompute (the stride analysis) and what history needs across
runs, and it can always be rebuilt from the run files: delete stridecue.db and the next
`summary` or `history` ingests every run again.

    store = RunStore.open(base)            # <base>/stridecue.db, created or migrated
    run_id = store.ingest(path)            # idempotent: one row per run file
    store.sync()                           # lazily ingest run files under <base>/runs not yet here
    store.runs(profile=None), store.run(run_id), store.strides(run_id), store.cues(run_id)
    store.session_count(profile)

The schema and its migrations are schema.py's; what a run file becomes as rows (and whether
stored rows are current) is ingest.py's; this module holds the connection, writes and reads
the rows.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from stridecue.errors import UserError
from stridecue.paths import runs_dir
from stridecue.record.ingest import (
    cue_rows,
    default_analyse,
    exercise_reps,
    is_exercise,
    problem_row,
    run_values,
    settings_rows,
    up_to_date,
)
from stridecue.analysis.stride import ROW_FIELDS, Stride
from stridecue.exercise.rep import REP_FIELDS
from stridecue.exercise.rep import from_row as rep_from_row
from stridecue.record.schema import migrate, schema_version

DB_NAME = "stridecue.db"
MEMORY = ":memory:"
DEFAULT_PROFILE = "default"


class StoreError(UserError):
    """The store itself cannot be used (read-only, locked too long, disk full), not one run file."""


class NotInHistory(UserError):
    """A run file outside the data directory that was never imported."""


class RunStore:
    """The SQLite store in the data directory.  Use RunStore.open(base); close() when done
    (or use it as a context manager)."""

    def __init__(self, db_path: Path, base: Path | None = None, analyse: Callable | None = None):
        self.path = Path(db_path)
        self.base = Path(base) if base is not None else self.path.parent
        self._analyse = analyse or default_analyse
        self.skipped_: list[tuple[str, str]] = []  # (file, problem) met by the last sync()
        self.db = _connect(self.path)

    @classmethod
    def open(cls, base: str | os.PathLike, analyse: Callable | None = None) -> "RunStore":
        """The store of data directory `base` (<base>/stridecue.db), created or migrated.
        analyse(reader) -> Stride records; default stridecue.analysis.run.analyse_run.  Results are
        tagged with INGEST_VERSION whichever analyse is given (another analyse is for tools and
        tests that stand in for the installed analysis)."""
        base = Path(base)
        return cls(base / DB_NAME, base=base, analyse=analyse)

    @classmethod
    def scratch(cls, base: str | os.PathLike, analyse: Callable | None = None) -> "RunStore":
        """A store in memory, gone when closed: for reading a run file without adding it to history."""
        return cls(Path(MEMORY), base=Path(base), analyse=analyse)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "RunStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- schema ------------------------------------------------------------------------

    @property
    def version(self) -> int:
        return schema_version(self.db)

    # -- ingest ------------------------------------------------------------------------

    def ingest(self, run_path: str | os.PathLike, *, force: bool = False) -> int:
        """Analyse a run file and store its strides, cues, sensors and settings; the run's id.

        Idempotent: a file already ingested (same size and modification time, same ingest
        version) is not read again; a changed file (a run still being recorded) replaces its
        rows.  Raises UserError (RunFileError) for an unreadable or corrupt file.
        """
        path = Path(run_path).expanduser().resolve()
        try:
            st = path.stat()
        except FileNotFoundError:
            raise UserError(f"{path}: no such run file") from None
        except OSError as e:
            raise UserError(f"{path}: cannot read: {e.strerror or e}") from None
        row = self.db.execute("SELECT id, file_size, file_mtime_ns, ingest_version FROM runs WHERE path = ?", (str(path),)).fetchone()
        if row and not force and up_to_date(row, st):
            return int(row["id"])

        from stridecue.record.runreader import RunReader

        try:
            reader = RunReader(path)
        except UserError as e:  # the file itself is damaged: remembered until it changes
            self._note_problem(path, st, str(e))
            raise
        if is_exercise(reader.metadata):  # an exercise session: its reps and holds, no strides
            try:
                reps = exercise_reps(reader)
            except UserError as e:
                self._note_problem(path, st, str(e))
                raise
            return self._write_run(path, st, reader, [], reps)
        strides = sorted(self._analyse(reader), key=lambda s: (s.ic_t, s.sensor))
        return self._write_run(path, st, reader, strides)

    def _write_run(self, path: Path, st: os.stat_result, reader, strides: list[Stride], reps: list = ()) -> int:
        values, sensors = run_values(path, st, reader, strides, profile_name(reader.metadata))
        cues = cue_rows(reader)
        settings = settings_rows(reader.metadata)
        with self._writing():
            # Another process (a `summary` beside a `history`) may have stored this file since
            # ingest() looked: decide insert or update under the write lock, not before it.
            row = self.db.execute("SELECT id, file_size, file_mtime_ns, ingest_version FROM runs WHERE path = ?", (str(path),)).fetchone()
            if row is not None and up_to_date(row, st):
                return int(row["id"])
            run_id = int(row["id"]) if row is not None else None
            if run_id is None:
                cols = ", ".join(values)
                marks = ", ".join(f":{k}" for k in values)
                run_id = int(self.db.execute(f"INSERT INTO runs ({cols}) VALUES ({marks})", values).lastrowid)
            else:
                sets = ", ".join(f"{k} = :{k}" for k in values)
                self.db.execute(f"UPDATE runs SET {sets} WHERE id = :id", {**values, "id": run_id})
                for table in ("strides", "cues", "sensors", "settings", "reps"):
                    self.db.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))
            self.db.executemany(
                f"INSERT INTO strides (run_id, seq, {', '.join(ROW_FIELDS)}) VALUES ({', '.join('?' * (len(ROW_FIELDS) + 2))})",
                ((run_id, i, *s.as_row()) for i, s in enumerate(strides)),
            )
            self.db.executemany(
                "INSERT INTO cues (run_id, seq, t, kind, words, reason, values_json) VALUES (?, ?, ?, ?, ?, ?, ?)",
                ((run_id, i, *row) for i, row in enumerate(cues)),
            )
            self.db.executemany(
                "INSERT INTO sensors (run_id, slot, name, address, board, firmware, imu, mount, leg, rate, accel_g, gyro_dps,"
                " samples, missing_samples, gaps, clipped_samples) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                ((run_id, *row) for row in sensors),
            )
            self.db.executemany("INSERT INTO settings (run_id, section, json) VALUES (?, ?, ?)", ((run_id, *row) for row in settings))
            self.db.executemany(
                f"INSERT INTO reps (run_id, seq, {', '.join(REP_FIELDS)}) VALUES ({', '.join('?' * (len(REP_FIELDS) + 2))})",
                ((run_id, i, *r.as_row()) for i, r in enumerate(reps)),
            )
            self.db.execute("DELETE FROM ingest_errors WHERE path = ?", (str(path),))
        return run_id

    def _note_problem(self, path: Path, st: os.stat_result, problem: str) -> None:
        with self._writing():
            self.db.execute(
                "INSERT OR REPLACE INTO ingest_errors (path, file_size, file_mtime_ns, problem, at) VALUES (?, ?, ?, ?, ?)",
                problem_row(path, st, problem),
            )

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """One transaction holding the write lock (waiting up to BUSY_TIMEOUT_S for another
        process's); StoreError naming why when the store cannot be written."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield
                self.db.execute("COMMIT")
            except BaseException:
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                raise
        except sqlite3.Error as e:
            raise StoreError(open_problem(self.path, e)) from None

    def sync(self) -> list[int]:
        """Ingest every run file under <base>/runs that is new or changed; the ids ingested.

        A file that cannot be read is skipped (listed in skipped_, remembered until it
        changes) so one damaged recording does not hide all the others.  The pain journal is
        indexed first (_sync_pain); its unreadable lines are listed in skipped_ too."""
        self.skipped_ = self._sync_pain()
        folder = runs_dir(self.base)
        if not folder.is_dir():
            return []
        known = {r["path"]: r for r in self.db.execute("SELECT path, file_size, file_mtime_ns, ingest_version FROM runs")}
        failed = {r["path"]: r for r in self.db.execute("SELECT * FROM ingest_errors")}
        done = []
        for path in sorted(folder.rglob("*.scrun")):
            path = path.resolve()
            try:
                st = path.stat()
            except OSError:
                continue
            row = known.get(str(path))
            if row and up_to_date(row, st):
                continue
            bad = failed.get(str(path))
            if bad and bad["file_size"] == st.st_size and bad["file_mtime_ns"] == st.st_mtime_ns:
                self.skipped_.append((path.name, bad["problem"]))
                continue
            try:
                done.append(self.ingest(path))
            except StoreError:  # the store, not this file: every other file would meet it too
                raise
            except UserError as e:
                self.skipped_.append((path.name, str(e)))
        return done

    def _sync_pain(self) -> list[tuple[str, str]]:
        """Index the pain journal (record/painlog.py) into pain_entries when it changed since the
        last sync: all its entries replaced in one transaction.  (file, problem) of its bad lines."""
        from stridecue.record.painlog import journal_path, problem_lines, read_journal

        path = journal_path(self.base)
        st = path.stat() if path.exists() else None
        key = (st.st_size, st.st_mtime_ns) if st else (0, 0)
        row = self.db.execute("SELECT file_size, file_mtime_ns, problems_json FROM pain_journal WHERE path = ?", (str(path),)).fetchone()
        if row is not None and (row["file_size"], row["file_mtime_ns"]) == key:
            return problem_lines(self.base, json.loads(row["problems_json"]))
        if row is None and st is None:  # no journal, never one: nothing to write
            return []
        read = read_journal(self.base)
        with self._writing():
            self.db.execute("DELETE FROM pain_entries")
            self.db.executemany(
                "INSERT INTO pain_entries (id, logged_at, run_name, activity_date, kind, score, note, replaces) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                ((e.id, e.logged_at, e.run, e.date, e.kind, e.score, e.note, e.replaces) for e in read.entries))
            self.db.execute("INSERT OR REPLACE INTO pain_journal (path, file_size, file_mtime_ns, problems_json) VALUES (?, ?, ?, ?)",
                            (str(path), *key, json.dumps(read.problems)))
        return problem_lines(self.base, read.problems)

    def pain_entries(self, run_name: str | None = None) -> list:
        """The indexed pain entries (record/painlog.PainEntry), in the order logged; of one run if named."""
        from stridecue.record.painlog import PainEntry

        sql = "SELECT * FROM pain_entries" + (" WHERE run_name = ?" if run_name is not None else "") + " ORDER BY logged_at, rowid"
        rows = self.db.execute(sql, (run_name,) if run_name is not None else ())
        return [PainEntry(r["id"], r["logged_at"], r["run_name"], r["activity_date"], r["kind"], r["score"], r["note"], r["replaces"])
                for r in rows]

    # -- queries -----------------------------------------------------------------------

    def runs(self, profile: str | None = None, *, before: str | None = None, limit: int | None = None,
             activity: str | None = "run", exercise: str | None = None) -> list[dict]:
        """Runs in start-time order (oldest first), optionally of one profile and started before
        an ISO time; each a dict of the runs row with metadata and totals decoded.  activity: "run"
        (the default: exercise sessions are not runs), "exercise" (of `exercise` if given) or None (all)."""
        filters = [(clause, value) for clause, value in (("activity = ?", activity), ("exercise = ?", exercise),
                                                          ("profile = ?", profile), ("start_time < ?", before))
                   if value is not None]
        sql = "SELECT * FROM runs WHERE 1" + "".join(f" AND {clause}" for clause, _ in filters) + " ORDER BY start_time, name"
        rows = [_run_dict(r) for r in self.db.execute(sql, [value for _, value in filters])]
        if limit is not None:
            rows = rows[-limit:] if limit > 0 else []
        return rows

    def run(self, run_id: int) -> dict:
        row = self.db.execute("SELECT * FROM runs WHERE id = ?", (int(run_id),)).fetchone()
        if row is None:
            raise UserError(f"no run with id {run_id} in {self.path}")
        return _run_dict(row)

    def find(self, ref: str) -> dict:
        """A run by id, file path, or (a unique prefix of) its name."""
        text = str(ref).strip()
        if text.isdigit():
            row = self.db.execute("SELECT * FROM runs WHERE id = ?", (int(text),)).fetchone()
            if row is not None:
                return _run_dict(row)
        candidate = Path(text).expanduser()
        if candidate.suffix == ".scrun" or candidate.exists():
            return self._find_file(candidate)
        stem = text[:-6] if text.endswith(".scrun") else text
        rows = self._by_name(stem)
        if not rows and self.sync():  # a run file not ingested yet
            rows = self._by_name(stem)
        if not rows:
            raise UserError(f"no run {text!r}: not a run file, run id or run name (`stridecue history` lists them)")
        if len(rows) > 1:
            names = ", ".join(r["name"] for r in rows[:3])
            raise UserError(f"{text!r} matches {len(rows)} runs ({names}{', ...' if len(rows) > 3 else ''}); give more of the name")
        return _run_dict(rows[0])

    def _find_file(self, candidate: Path) -> dict:
        """The history's run of a run file.  A file under <base>/runs is history (sync would
        ingest it anyway); one elsewhere is only found if it was imported: reading a file never
        adds it (NotInHistory; read_run() reads it without storing it)."""
        path = candidate.resolve()
        if self.holds(path):
            return self.run(self.ingest(path))
        row = self.db.execute("SELECT * FROM runs WHERE path = ?", (str(path),)).fetchone()
        if row is not None:
            return _run_dict(row)
        if not path.exists():
            raise UserError(f"{path}: no such run file")
        raise NotInHistory(f"{path}: not in history (it is outside {runs_dir(self.base)}); `stridecue import {candidate}` adds it")

    def holds(self, path: Path) -> bool:
        """Whether a run file lies in this store's data directory (<base>/runs)."""
        return Path(path).resolve().is_relative_to(runs_dir(self.base).resolve())

    def delete(self, run_id: int) -> None:
        """Remove a run and its strides, cues, sensors and settings from the store (not its files)."""
        run = self.run(run_id)
        with self._writing():
            self.db.execute("DELETE FROM runs WHERE id = ?", (int(run_id),))
            self.db.execute("DELETE FROM ingest_errors WHERE path = ?", (run["path"],))

    def _by_name(self, stem: str) -> list:
        rows = self.db.execute("SELECT * FROM runs WHERE name = ?", (stem,)).fetchall()
        if not rows:
            pattern = stem.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            rows = self.db.execute("SELECT * FROM runs WHERE name LIKE ? ESCAPE '\\' ORDER BY start_time", (pattern,)).fetchall()
        return rows

    def latest(self, profile: str | None = None) -> dict | None:
        runs = self.runs(profile)
        return runs[-1] if runs else None

    def strides(self, run_id: int) -> list[Stride]:
        """The run's strides, ordered by initial contact."""
        rows = self.db.execute(f"SELECT {', '.join(ROW_FIELDS)} FROM strides WHERE run_id = ? ORDER BY seq", (int(run_id),))
        return [Stride.from_row(r) for r in rows]

    def reps(self, run_id: int) -> list:
        """An exercise session's reps and holds (exercise/rep.py), in order."""
        rows = self.db.execute(f"SELECT {', '.join(REP_FIELDS)} FROM reps WHERE run_id = ? ORDER BY seq", (int(run_id),))
        return [rep_from_row(r) for r in rows]

    def cues(self, run_id: int) -> list[dict]:
        """Cue events as the run file has them: t, cue (kind), words, reason, values."""
        rows = self.db.execute("SELECT t, kind, words, reason, values_json FROM cues WHERE run_id = ? ORDER BY seq", (int(run_id),))
        return [{"kind": "cue", "t": r["t"], "cue": r["kind"], "words": r["words"], "reason": r["reason"],
                 "values": json.loads(r["values_json"] or "{}")} for r in rows]

    def sensors(self, run_id: int) -> list[dict]:
        rows = self.db.execute("SELECT * FROM sensors WHERE run_id = ? ORDER BY slot", (int(run_id),))
        return [{k: r[k] for k in r.keys() if k != "run_id"} for r in rows]

    def settings(self, run_id: int) -> dict:
        rows = self.db.execute("SELECT section, json FROM settings WHERE run_id = ?", (int(run_id),))
        return {r["section"]: json.loads(r["json"]) for r in rows}

    def session_count(self, profile: str = DEFAULT_PROFILE) -> int:
        """Retraining sessions this runner has done: runs of the profile with running strides.
        Ingests pending run files first, so a run recorded a moment ago counts."""
        self.sync()
        row = self.db.execute("SELECT count(*) FROM runs WHERE profile = ? AND running_strides > 0", (profile,)).fetchone()
        return int(row[0])

    def problems(self) -> list[tuple[str, str]]:
        """(file, problem) of run files that could not be ingested."""
        return [(Path(r["path"]).name, r["problem"]) for r in self.db.execute("SELECT path, problem FROM ingest_errors ORDER BY path")]


# How long a command waits for another process's write (a live run saving, a `history`
# ingesting a run) before giving up; ingesting one long run takes a few seconds.
BUSY_TIMEOUT_S = 30.0


def _connect(path: Path) -> sqlite3.Connection:
    """A connection to the store at path, created or migrated: WAL (readers never block the
    writer, nor it them) and a busy timeout, so `run`, `summary` and `history` can run at once."""
    from stridecue.paths import ensure_dir

    if str(path) != MEMORY:
        ensure_dir(path.parent)
    try:
        db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    except sqlite3.Error as e:
        raise StoreError(open_problem(path, e)) from None
    db.row_factory = sqlite3.Row
    try:
        db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA journal_mode = WAL")
        migrate(db, path)
    except sqlite3.Error as e:
        db.close()
        raise StoreError(open_problem(path, e)) from None
    except UserError:
        db.close()
        raise
    return db


def open_problem(path: Path, e: sqlite3.Error) -> str:
    """One line naming why the store at path cannot be used.  Only a damaged or foreign file is
    worth moving aside; a read-only or busy one is not, and moving it would lose nothing but time."""
    code = getattr(e, "sqlite_errorname", "")
    if code in ("SQLITE_NOTADB", "SQLITE_CORRUPT"):
        return f"{path}: not a usable StrideCue database ({e}); move it aside and it is rebuilt from the run files"
    if code.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM")) or code == "SQLITE_AUTH":
        return f"{path}: cannot write the run store: the data directory or the file is read-only ({e}); fix its permissions or choose another --data-dir"
    if code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return f"{path}: the run store stayed locked by another StrideCue for {BUSY_TIMEOUT_S:.0f} s ({e}); try again when it is done"
    if code.startswith("SQLITE_FULL"):
        return f"{path}: the disk is full ({e}); free some space"
    return f"{path}: cannot open the run store ({e})"


def profile_name(meta: dict) -> str:
    """The runner profile a run was recorded under (metadata "profile": a name or a dict with "name")."""
    p = meta.get("profile")
    if isinstance(p, dict):
        p = p.get("name")
    return str(p) if p else DEFAULT_PROFILE


def _run_dict(row: sqlite3.Row) -> dict:
    d = {k: row[k] for k in row.keys()}
    d["metadata"] = json.loads(d.pop("metadata_json") or "{}")
    d["totals"] = json.loads(d.pop("totals_json") or "{}")
    d["simulated"] = bool(d["simulated"])
    d["closed"] = bool(d["closed"])
    return d


def read_run(store: RunStore, ref: str) -> tuple[RunStore, dict]:
    """(the store that holds it, the run) for a run of history, or for a run file outside the data
    directory that was never imported: that one is analysed into a scratch store (the caller
    closes it when it is not `store`), so reading a file never adds it to history."""
    try:
        return store, store.find(ref)
    except NotInHistory:
        scratch = RunStore.scratch(store.base, analyse=store._analyse)
        try:
            return scratch, scratch.run(scratch.ingest(Path(ref).expanduser()))
        except BaseException:
            scratch.close()
            raise


def open_store(base: Path, quiet: bool = False) -> "RunStore":
    """The run store with every run file under <base>/runs ingested; warns (stderr) about unreadable ones."""
    store = RunStore.open(base)
    store.sync()
    if not quiet:
        for name, problem in store.skipped_:
            print(f"warning: {name} left out: {problem}", file=sys.stderr)
    return store
