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

Schema versions live in PRAGMA user_version; MIGRATIONS[i] takes version i to i + 1, in one
transaction each, so an older database is brought forward step by step and a failed step
leaves it at the version before.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any, Callable, Iterable

from stridecue import __version__
from stridecue.errors import UserError
from stridecue.paths import runs_dir

DB_NAME = "stridecue.db"
DEFAULT_PROFILE = "default"

# Stored per-stride results are tagged with the ingest version: the package version, this
# module's ingest revision and a digest of the stride analysis's source, so a changed analysis
# re-analyses every run on the next sync instead of serving stale strides.
_INGEST_REVISION = 1


def _analysis_digest() -> str:
    import hashlib
    import importlib.util

    spec = importlib.util.find_spec("stridecue.analysis")
    if spec is None or not spec.submodule_search_locations:
        return "none"
    h = hashlib.sha1()
    for folder in spec.submodule_search_locations:
        for f in sorted(Path(folder).glob("*.py")):
            h.update(f.name.encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:12]


INGEST_VERSION = f"{__version__}+{_INGEST_REVISION}+{_analysis_digest()}"

STRIDE_FIELDS = (
    "sensor", "leg", "mount", "kind", "ic_t", "to_t", "known_t", "contact_time_s", "stride_time_s", "cadence_spm",
    "wobble_deg", "wobble_rate_dps", "pta_axial_g", "pta_resultant_g", "loading_rate_gps", "clipped", "gap",
    "accel_only", "alignment_confidence", "wobble_note",
)
_BOOL_FIELDS = ("clipped", "gap", "accel_only")

_MIGRATION_1 = """
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,          -- absolute path of the .scrun file
    name TEXT NOT NULL,                 -- file stem, e.g. 2026-11-22T150000Z-stridecue-ls
    start_time TEXT,                    -- ISO 8601 with offset, from the run metadata
    end_time TEXT,
    duration_s REAL,                    -- span of the recorded samples
    simulated INTEGER NOT NULL DEFAULT 0,
    closed INTEGER NOT NULL DEFAULT 0,  -- the run stopped in order (end chunk present)
    file_size INTEGER NOT NULL,
    file_mtime_ns INTEGER NOT NULL,
    ingested_at TEXT NOT NULL,
    metadata_json TEXT NOT NULL,
    totals_json TEXT NOT NULL           -- the end chunk's summary (link counters) + closed flag
);
CREATE TABLE strides (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    sensor INTEGER NOT NULL,
    leg TEXT, mount TEXT, kind TEXT,
    ic_t REAL, to_t REAL, known_t REAL,
    contact_time_s REAL, stride_time_s REAL, cadence_spm REAL,
    wobble_deg REAL, wobble_rate_dps REAL,
    pta_axial_g REAL, pta_resultant_g REAL, loading_rate_gps REAL,
    clipped INTEGER, gap INTEGER, accel_only INTEGER, alignment_confidence REAL,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE cues (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    t REAL NOT NULL,
    kind TEXT NOT NULL,
    words TEXT, reason TEXT, values_json TEXT,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE sensors (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    slot INTEGER NOT NULL,
    name TEXT, address TEXT, board TEXT, firmware TEXT, imu TEXT,
    mount TEXT, leg TEXT, rate REAL, accel_g INTEGER, gyro_dps INTEGER,
    samples INTEGER, missing_samples INTEGER, gaps INTEGER, clipped_samples INTEGER,
    PRIMARY KEY (run_id, slot)
);
CREATE TABLE settings (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    section TEXT NOT NULL,              -- "coach", "guided", ... as in the run metadata
    json TEXT NOT NULL,
    PRIMARY KEY (run_id, section)
);
CREATE INDEX strides_kind ON strides(run_id, kind);
"""

_MIGRATION_2 = """
-- Runner profiles (faded feedback counts sessions per runner) and re-analysis on upgrade.
ALTER TABLE runs ADD COLUMN profile TEXT NOT NULL DEFAULT 'default';
ALTER TABLE runs ADD COLUMN ingest_version TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN running_strides INTEGER NOT NULL DEFAULT 0;
UPDATE runs SET profile = coalesce(CASE json_type(metadata_json, '$.profile')
    WHEN 'text' THEN json_extract(metadata_json, '$.profile')
    WHEN 'object' THEN json_extract(metadata_json, '$.profile.name') END, 'default');
UPDATE runs SET running_strides = (SELECT count(*) FROM strides WHERE strides.run_id = runs.id AND strides.kind = 'run');
CREATE INDEX runs_profile_start ON runs(profile, start_time);
-- Problems met while ingesting a file (corrupt, unreadable), so a sync does not retry it
-- until the file changes, and history can say which files were left out.
CREATE TABLE ingest_errors (
    path TEXT PRIMARY KEY,
    file_size INTEGER NOT NULL,
    file_mtime_ns INTEGER NOT NULL,
    problem TEXT NOT NULL,
    at TEXT NOT NULL
);
"""

# Why a stride's wobble is withheld (analysis.metrics: frame settling, no gait cycle, implausible).
_MIGRATION_3 = """
ALTER TABLE strides ADD COLUMN wobble_note TEXT;
"""

MIGRATIONS: tuple[str, ...] = (_MIGRATION_1, _MIGRATION_2, _MIGRATION_3)
SCHEMA_VERSION = len(MIGRATIONS)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _num(value: Any) -> float | None:
    """A finite float or None (SQLite has no NaN; None reads back as 'not measured')."""
    if value is None or isinstance(value, bool):
        return None if value is None else float(value)
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _default_analyse(reader) -> list[dict]:
    try:
        from stridecue.analysis.run import analyse_run
    except ImportError as e:
        raise UserError(f"the stride analysis is not installed ({e}); cannot analyse {reader.path.name}") from None

    return analyse_run(reader)


class RunStore:
    """The SQLite store in the data directory.  Use RunStore.open(base); close() when done
    (or use it as a context manager)."""

    def __init__(self, db_path: Path, base: Path | None = None, analyse: Callable | None = None):
        self.path = Path(db_path)
        self.base = Path(base) if base is not None else self.path.parent
        self._analyse = analyse or _default_analyse
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
            self._migrate()
        except sqlite3.DatabaseError as e:
            self.db.close()
            raise UserError(f"{self.path}: not a usable StrideCue database ({e}); move it aside and it is rebuilt from the run files") from None

    @classmethod
    def open(cls, base: str | os.PathLike, analyse: Callable | None = None) -> "RunStore":
        """The store of data directory `base` (<base>/stridecue.db), created or migrated.
        analyse(reader) -> stride dicts; default stridecue.analysis.run.analyse_run.  Results are
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
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        version = self.version
        if version > SCHEMA_VERSION:
            raise UserError(f"{self.path}: database schema version {version} is newer than this StrideCue knows ({SCHEMA_VERSION}); update StrideCue")
        for step in range(version, SCHEMA_VERSION):
            try:
                self._apply(step)
            except sqlite3.Error as e:
                self.db.close()
                raise UserError(f"{self.path}: cannot upgrade the database from schema version {step} to {step + 1} ({e});"
                                f" it is left at version {step}") from None

    def _apply(self, step: int) -> None:
        """Run MIGRATIONS[step] and set user_version = step + 1 in one transaction."""
        statements = [s for s in _split_sql(MIGRATIONS[step])]
        self.db.execute("BEGIN IMMEDIATE")
        try:
            if self.version != step:  # another process migrated meanwhile
                self.db.execute("ROLLBACK")
                return
            for sql in statements:
                self.db.execute(sql)
            self.db.execute(f"PRAGMA user_version = {step + 1}")
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

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
        if row and not force and row["file_size"] == st.st_size and row["file_mtime_ns"] == st.st_mtime_ns and row["ingest_version"] == INGEST_VERSION:
            return int(row["id"])

        from stridecue.record.runfile import RunReader

        try:
            reader = RunReader(path)
        except UserError as e:  # the file itself is damaged: remembered until it changes
            self._note_problem(path, st, str(e))
            raise
        strides = sorted(self._analyse(reader), key=lambda s: (s.get("ic_t", 0.0), s.get("sensor", 0)))
        return self._write_run(path, st, reader, strides, row["id"] if row else None)

    def _write_run(self, path: Path, st: os.stat_result, reader, strides: list[dict], run_id: int | None) -> int:
        meta = reader.metadata
        totals = dict(reader.summary or {})
        totals["closed"] = reader.closed
        if reader.end and reader.end.get("error"):
            totals["error"] = reader.end["error"]
        if reader.truncated_bytes:
            totals["truncated_bytes"] = reader.truncated_bytes
        duration, sensors = _sensor_rows(reader, meta)
        cues = [e for e in reader.events() if e.get("kind") == "cue"]
        running = sum(1 for s in strides if s.get("kind") == "run")
        profile = profile_name(meta)
        values = dict(
            path=str(path), name=path.stem, start_time=meta.get("start_time"),
            end_time=(reader.end or {}).get("end_time"), duration_s=duration, simulated=int(bool(meta.get("simulated"))),
            closed=int(reader.closed), file_size=st.st_size, file_mtime_ns=st.st_mtime_ns, ingested_at=_now(),
            metadata_json=json.dumps(meta, default=str), totals_json=json.dumps(totals, default=str),
            profile=profile, ingest_version=INGEST_VERSION, running_strides=running,
        )
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
                f"INSERT INTO strides (run_id, seq, {', '.join(STRIDE_FIELDS)}) VALUES ({', '.join('?' * (len(STRIDE_FIELDS) + 2))})",
                ((run_id, i, *_stride_row(s)) for i, s in enumerate(strides)),
            )
            self.db.executemany(
                "INSERT INTO cues (run_id, seq, t, kind, words, reason, values_json) VALUES (?, ?, ?, ?, ?, ?, ?)",
                ((run_id, i, _num(c.get("t")) or 0.0, str(c.get("cue") or "wobble"), c.get("words"), c.get("reason"),
                  json.dumps(c.get("values") or {}, default=str)) for i, c in enumerate(cues)),
            )
            self.db.executemany(
                "INSERT INTO sensors (run_id, slot, name, address, board, firmware, imu, mount, leg, rate, accel_g, gyro_dps,"
                " samples, missing_samples, gaps, clipped_samples) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                ((run_id, *row) for row in sensors),
            )
            settings = meta.get("settings") or {}
            if isinstance(settings, dict):
                self.db.executemany(
                    "INSERT INTO settings (run_id, section, json) VALUES (?, ?, ?)",
                    ((run_id, str(k), json.dumps(v, default=str)) for k, v in settings.items()),
                )
            self.db.execute("DELETE FROM ingest_errors WHERE path = ?", (str(path),))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return run_id

    def _note_problem(self, path: Path, st: os.stat_result, problem: str) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO ingest_errors (path, file_size, file_mtime_ns, problem, at) VALUES (?, ?, ?, ?, ?)",
            (str(path), st.st_size, st.st_mtime_ns, problem, _now()),
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
            if row and row["file_size"] == st.st_size and row["file_mtime_ns"] == st.st_mtime_ns and row["ingest_version"] == INGEST_VERSION:
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

    def strides(self, run_id: int) -> list[dict]:
        """The run's stride dicts (contract keys), ordered by initial contact."""
        rows = self.db.execute(f"SELECT {', '.join(STRIDE_FIELDS)} FROM strides WHERE run_id = ? ORDER BY seq", (int(run_id),))
        out = []
        for r in rows:
            d = {k: r[k] for k in STRIDE_FIELDS}
            for k in _BOOL_FIELDS:
                d[k] = bool(d[k])
            for k in ("wobble_deg", "wobble_rate_dps", "pta_axial_g", "pta_resultant_g", "loading_rate_gps", "cadence_spm", "contact_time_s", "alignment_confidence"):
                if d[k] is None:
                    d[k] = float("nan")
            out.append(d)
        return out

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


def _split_sql(script: str) -> Iterable[str]:
    """Statements of a migration script (no semicolons inside literals in ours)."""
    lines = [ln.split("--", 1)[0] for ln in script.splitlines()]
    for part in "\n".join(lines).split(";"):
        if part.strip():
            yield part.strip()


def _stride_row(s: dict) -> tuple:
    row = []
    for k in STRIDE_FIELDS:
        v = s.get(k)
        if k in ("leg", "mount", "kind", "wobble_note"):
            row.append(None if v is None else str(v))
        elif k == "sensor":
            row.append(int(v or 0))
        elif k in _BOOL_FIELDS:
            row.append(int(bool(v)))
        else:
            row.append(_num(v))
    return tuple(row)


def _run_dict(row: sqlite3.Row) -> dict:
    d = {k: row[k] for k in row.keys()}
    d["metadata"] = json.loads(d.pop("metadata_json") or "{}")
    d["totals"] = json.loads(d.pop("totals_json") or "{}")
    d["simulated"] = bool(d["simulated"])
    d["closed"] = bool(d["closed"])
    return d


def _sensor_rows(reader, meta: dict) -> tuple[float, list[tuple]]:
    """(duration of the recorded samples in s, one row per sensor slot)."""
    described = {s.get("slot", i): s for i, s in enumerate(meta.get("sensors") or []) if isinstance(s, dict)}
    first: dict[int, float] = {}
    last: dict[int, float] = {}
    count: dict[int, int] = {}
    clipped: dict[int, int] = {}
    rate: dict[int, float] = {}
    accel: dict[int, int] = {}
    for b in reader.blocks():
        if not len(b):
            continue
        k = b.sensor
        t0, t1 = float(b.index[0]) / b.rate, float(b.index[-1] + 1) / b.rate
        first[k] = min(first.get(k, t0), t0)
        last[k] = max(last.get(k, t1), t1)
        count[k] = count.get(k, 0) + len(b)
        clipped[k] = clipped.get(k, 0) + int(b.clipped.sum())
        rate.setdefault(k, b.rate)
        accel.setdefault(k, b.accel_g)
    missing: dict[int, int] = {}
    gaps: dict[int, int] = {}
    for slot, _first, n in reader.missing():
        missing[slot] = missing.get(slot, 0) + n
        gaps[slot] = gaps.get(slot, 0) + 1
    slots = sorted(set(described) | set(count) | set(missing))
    duration = max((last[k] - first[k] for k in count), default=0.0)
    rows = []
    for k in slots:
        d = described.get(k, {})
        rows.append((
            int(k), d.get("name"), d.get("address"), d.get("board"), d.get("firmware"), d.get("imu"),
            d.get("mount"), d.get("leg"), _num(rate.get(k, d.get("rate"))), accel.get(k, d.get("accel_g")), d.get("gyro_dps"),
            count.get(k, 0), missing.get(k, 0), gaps.get(k, 0), clipped.get(k, 0),
        ))
    return round(duration, 3), rows


def open_store(base: Path, quiet: bool = False) -> "RunStore":
    """The run store with every run file under <base>/runs ingested; warns (stderr) about unreadable ones."""
    store = RunStore.open(base)
    store.sync()
    if not quiet:
        for name, problem in store.skipped_:
            print(f"warning: {name} left out: {problem}", file=sys.stderr)
    return store
