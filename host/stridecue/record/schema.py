"""The run store's schema: its tables (docs/storage.md) as numbered migration steps.

Schema versions live in PRAGMA user_version; MIGRATIONS[i] takes version i to i + 1, in one
transaction each, so an older database is brought forward step by step and a failed step
leaves it at the version before.  A new step is appended, never edited in place.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Iterable

from stridecue.errors import UserError

# The strides table's columns after these migrations are the Stride record's row
# (analysis.stride.ROW_FIELDS; tests/record/test_store.py checks they agree).


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

# What is wrong with a run's data (link.loss.data_problem: no samples, too many lost), or NULL.
_MIGRATION_4 = """
ALTER TABLE runs ADD COLUMN data_problem TEXT;
"""

# Exercise sessions are rows of runs too (same run files; metadata "activity": "exercise").
_MIGRATION_5 = """
ALTER TABLE runs ADD COLUMN activity TEXT NOT NULL DEFAULT 'run';
ALTER TABLE runs ADD COLUMN exercise TEXT;
ALTER TABLE runs ADD COLUMN level INTEGER;
"""

# Pain entries, indexed from the pain journal (record/painlog.py, the source of truth), and the
# journal's size, time and unreadable lines, so a sync reads it again only when it changed.
_MIGRATION_6 = """
CREATE TABLE pain_entries (
    id TEXT PRIMARY KEY,
    logged_at TEXT NOT NULL,
    run_name TEXT,
    activity_date TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('during', 'next_morning', 'other')),
    score INTEGER NOT NULL CHECK (score BETWEEN 0 AND 10),
    note TEXT NOT NULL DEFAULT '',
    replaces TEXT
);
CREATE INDEX pain_entries_run ON pain_entries(run_name);
CREATE TABLE pain_journal (
    path TEXT PRIMARY KEY,
    file_size INTEGER NOT NULL,
    file_mtime_ns INTEGER NOT NULL,
    problems_json TEXT NOT NULL
);
"""

# Exercise sessions (docs/exercises.md): a run file whose metadata says "activity": "exercise" is a
# session of one exercise at one level; its reps and balance holds (exercise/rep.py, REP_FIELDS).
_MIGRATION_7 = """
CREATE TABLE reps (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,                 -- rep | hold
    sensor INTEGER, leg TEXT, mount TEXT, set_index INTEGER,
    start_t REAL, bottom_t REAL, end_t REAL,
    depth_deg REAL, knee_motion_deg REAL, down_s REAL, up_s REAL,
    sway_deg REAL, loss_s REAL, held_s REAL,
    cued INTEGER,
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX runs_activity ON runs(activity, exercise, start_time);
"""

MIGRATIONS: tuple[str, ...] = (_MIGRATION_1, _MIGRATION_2, _MIGRATION_3, _MIGRATION_4, _MIGRATION_5, _MIGRATION_6,
                               _MIGRATION_7)
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: sqlite3.Connection, path: Path) -> None:
    """Bring the database at path up to SCHEMA_VERSION, one step at a time.  UserError for a newer
    schema; for a failed step the connection is closed and UserError says where it was left."""
    version = schema_version(db)
    if version > SCHEMA_VERSION:
        raise UserError(f"{path}: database schema version {version} is newer than this StrideCue knows ({SCHEMA_VERSION}); update StrideCue")
    for step in range(version, SCHEMA_VERSION):
        try:
            _apply(db, step)
        except sqlite3.Error as e:
            db.close()
            raise UserError(f"{path}: cannot upgrade the database from schema version {step} to {step + 1} ({e});"
                            f" it is left at version {step}") from None


def _apply(db: sqlite3.Connection, step: int) -> None:
    """Run MIGRATIONS[step] and set user_version = step + 1 in one transaction."""
    statements = [s for s in _split_sql(MIGRATIONS[step])]
    db.execute("BEGIN IMMEDIATE")
    try:
        if schema_version(db) != step:  # another process migrated meanwhile
            db.execute("ROLLBACK")
            return
        for sql in statements:
            db.execute(sql)
        db.execute(f"PRAGMA user_version = {step + 1}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _split_sql(script: str) -> Iterable[str]:
    """Statements of a migration script (no semicolons inside literals in ours)."""
    lines = [ln.split("--", 1)[0] for ln in script.splitlines()]
    for part in "\n".join(lines).split(";"):
        if part.strip():
            yield part.strip()
