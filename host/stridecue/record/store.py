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
from pathlib import Path
from typing import Callable

from stridecue.errors import UserError
from stridecue.paths import runs_dir
from stridecue.record.ingest import (
    cue_rows,
    default_analyse,
    problem_row,
    run_values,
    settings_rows,
    up_to_date,
)
from stridecue.analysis.stride import ROW_FIELDS, Stride
from stridecue.record.schema import migrate, schema_version

DB_NAME = "stridecue.db"
DEFAULT_PROFILE = "default"


class RunStore:
    """The SQLite store in the data directory.  Use RunStore.open(base); close() when done
    (or use it as a context manager)."""

    def __init__(self, db_path: Path, base: Path | None = None, analyse: Callable | None = None):
        self.path = Path(db_path)
        self.base = Path(base) if base is not None else self.path.parent
        self._analyse = analyse or default_analyse
        self.skipped_: list[tuple[str, str]] = []  # (file, problem) met by the last sync()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        except (OSError, sqlite3.Error) as e:
            raise UserError(f"{self.path}: cannot open the run store: {e}") from None
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA foreign_keys = ON")
        try:
            self.db.execute("PRAGMA journal_mode = WAL")
            migrate(self.db, self.path)
        except sqlite3.DatabaseError as e:
            self.db.close()
            raise UserError(f"{self.path}: not a usable StrideCue database ({e}); move it aside and it is rebuilt from the run files") from None

    @classmethod
    def open(cls, base: str | os.PathLike, analyse: Callable | None = None) -> "RunStore":
        """The store of data directory `base` (<base>/stridecue.db), created or migrated.
        analyse(reader) -> Stride records; default stridecue.analysis.run.analyse_run.  Results are
        tagged with INGEST_VERSION whichever analyse is given (another analyse is for tools and
        tests that stand in for the installed analysis)."""
        base = Path(base)
        return cls(base / DB_NAME, base=base, analyse=analyse)

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

        from stridecue.record.runfile import RunReader

        try:
            reader = RunReader(path)
        except UserError as e:  # the file itself is damaged: remembered until it changes
            self._note_problem(path, st, str(e))
            raise
        strides = sorted(self._analyse(reader), key=lambda s: (s.ic_t, s.sensor))
        return self._write_run(path, st, reader, strides, row["id"] if row else None)

    def _write_run(self, path: Path, st: os.stat_result, reader, strides: list[Stride], run_id: int | None) -> int:
        values, sensors = run_values(path, st, reader, strides, profile_name(reader.metadata))
        cues = cue_rows(reader)
        settings = settings_rows(reader.metadata)
        self.db.execute("BEGIN IMMEDIATE")
        try:
            if run_id is None:
                cols = ", ".join(values)
                marks = ", ".join(f":{k}" for k in values)
                run_id = int(self.db.execute(f"INSERT INTO runs ({cols}) VALUES ({marks})", values).lastrowid)
            else:
                sets = ", ".join(f"{k} = :{k}" for k in values)
                self.db.execute(f"UPDATE runs SET {sets} WHERE id = :id", {**values, "id": run_id})
                for table in ("strides", "cues", "sensors", "settings"):
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
            self.db.execute("DELETE FROM ingest_errors WHERE path = ?", (str(path),))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return run_id

    def _note_problem(self, path: Path, st: os.stat_result, problem: str) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO ingest_errors (path, file_size, file_mtime_ns, problem, at) VALUES (?, ?, ?, ?, ?)",
            problem_row(path, st, problem),
        )

    def sync(self) -> list[int]:
        """Ingest every run file under <base>/runs that is new or changed; the ids ingested.

        A file that cannot be read is skipped (listed in skipped_, remembered until it
        changes) so one damaged recording does not hide all the others."""
        self.skipped_ = []
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
            except UserError as e:
                self.skipped_.append((path.name, str(e)))
        return done

    # -- queries -----------------------------------------------------------------------

    def runs(self, profile: str | None = None, *, before: str | None = None, limit: int | None = None) -> list[dict]:
        """Runs in start-time order (oldest first), optionally of one profile and started before
        an ISO time; each a dict of the runs row with metadata and totals decoded."""
        sql = "SELECT * FROM runs WHERE 1"
        params: list = []
        if profile is not None:
            sql += " AND profile = ?"
            params.append(profile)
        if before is not None:
            sql += " AND start_time < ?"
            params.append(before)
        sql += " ORDER BY start_time, name"
        rows = [_run_dict(r) for r in self.db.execute(sql, params)]
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
            return self.run(self.ingest(candidate))
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


def open_store(base: Path, quiet: bool = False) -> "RunStore":
    """The run store with every run file under <base>/runs ingested; warns (stderr) about unreadable ones."""
    store = RunStore.open(base)
    store.sync()
    if not quiet:
        for name, problem in store.skipped_:
            print(f"warning: {name} left out: {problem}", file=sys.stderr)
    return store
