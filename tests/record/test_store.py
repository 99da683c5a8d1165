"""The run store: schema and migrations from an older database, idempotent ingest, lazy sync,
damaged files, lookups, session counts."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3

import pytest
from test_summary_support import START, fake_analyse, make_run, store_with

from stridecue.analysis.stride import ROW_FIELDS
from stridecue.errors import UserError
from stridecue.record.schema import MIGRATIONS, SCHEMA_VERSION
from stridecue.record.store import DB_NAME, RunStore


def test_new_store_has_latest_schema(tmp_path):
    with store_with(tmp_path) as store:
        assert store.version == SCHEMA_VERSION
        tables = {r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"runs", "strides", "cues", "sensors", "settings", "ingest_errors"} <= tables
    assert (tmp_path / DB_NAME).exists()


def test_the_strides_table_after_the_migrations_holds_the_stride_row(tmp_path):
    with store_with(tmp_path) as store:
        columns = [r[1] for r in store.db.execute("PRAGMA table_info(strides)")]
    assert columns == ["run_id", "seq", *ROW_FIELDS]


def test_ingest_stores_strides_cues_sensors_settings_and_references_the_file(tmp_path):
    path = make_run(tmp_path, START, 3, legs=("left", "right"), cue_times=(60, 120), profile="anna")
    with store_with(tmp_path) as store:
        run_id = store.ingest(path)
        run = store.run(run_id)
        assert run["path"] == str(path.resolve()) and run["name"] == path.stem
        assert run["profile"] == "anna" and run["simulated"] and run["closed"]
        assert run["duration_s"] == pytest.approx(180.0, abs=0.05)
        strides = store.strides(run_id)
        expected = fake_analyse(__import__("stridecue.record.runreader", fromlist=["RunReader"]).RunReader(path))
        assert len(strides) == len(expected) > 200
        assert strides[5].wobble_deg == pytest.approx(expected[5].wobble_deg)
        assert strides[0].stride_time_s is None and isinstance(strides[0].clipped, bool)
        assert [c["t"] for c in store.cues(run_id)] == [60.0, 120.0]
        sensors = store.sensors(run_id)
        assert [s["leg"] for s in sensors] == ["left", "right"]
        assert sensors[0]["samples"] == 3 * 60 * 52
        assert store.settings(run_id)["coach"]["threshold"] == "absolute"
    # referenced, never copied: the database is far smaller than the samples it indexes
    assert os.path.getsize(tmp_path / DB_NAME) < os.path.getsize(path)


def test_ingest_is_idempotent_and_follows_a_growing_file(tmp_path):
    path = make_run(tmp_path, START, 2)
    calls = []

    def counting(reader):
        calls.append(reader.path)
        return fake_analyse(reader)

    with RunStore.open(tmp_path, analyse=counting) as store:
        a = store.ingest(path)
        b = store.ingest(path)
        assert a == b and len(calls) == 1
        assert store.db.execute("SELECT count(*) FROM runs").fetchone()[0] == 1
        n = len(store.strides(a))
        # the file changes (a run still recording appends chunks): re-analysed, same row
        with open(path, "ab") as f:
            f.write(b"\x00" * 16)  # a zeroed torn tail, as a crash leaves
        c = store.ingest(path)
        assert c == a and len(calls) == 2 and len(store.strides(a)) == n
        assert store.db.execute("SELECT count(*) FROM strides").fetchone()[0] == n


def test_sync_ingests_new_files_once_and_skips_damaged_ones(tmp_path):
    good = make_run(tmp_path, START, 1)
    bad = make_run(tmp_path, START + dt.timedelta(hours=1), 1)
    data = bytearray(bad.read_bytes())
    data[40] ^= 0xFF  # inside the metadata chunk: corrupt, with more data after it
    bad.write_bytes(bytes(data))
    with store_with(tmp_path) as store:
        ids = store.sync()
        assert len(ids) == 1 and store.run(ids[0])["path"] == str(good.resolve())
        assert len(store.skipped_) == 1 and bad.name in store.skipped_[0][0] and "corrupt" in store.skipped_[0][1]
        assert store.sync() == []  # nothing new; the damaged file is remembered, not retried
        assert len(store.skipped_) == 1
        third = make_run(tmp_path, START + dt.timedelta(days=1), 1)
        ids = store.sync()
        assert [store.run(i)["name"] for i in ids] == [third.stem]
        with pytest.raises(UserError, match="corrupt"):
            store.ingest(bad)


def test_find_by_id_name_prefix_and_path(tmp_path):
    a = make_run(tmp_path, START, 1)
    b = make_run(tmp_path, START + dt.timedelta(days=1), 1)
    with store_with(tmp_path) as store:
        store.sync()
        ra = store.find(a.stem)
        assert ra["path"] == str(a.resolve())
        assert store.find(str(ra["id"]))["name"] == a.stem
        assert store.find("2026-11-02")["name"] == b.stem
        assert store.find(str(b))["name"] == b.stem
        with pytest.raises(UserError, match="matches 2 runs"):
            store.find("2026-11-0")
        with pytest.raises(UserError, match="no run"):
            store.find("1999-01-01")
        with pytest.raises(UserError, match="no such run file"):
            store.find(str(tmp_path / "nope.scrun"))
        assert store.latest()["name"] == b.stem


def test_session_count_per_profile_ingests_pending_runs(tmp_path):
    make_run(tmp_path, START, 1, profile="anna")
    make_run(tmp_path, START + dt.timedelta(days=1), 1, profile="anna")
    make_run(tmp_path, START + dt.timedelta(days=2), 1, profile="ben")
    with store_with(tmp_path) as store:
        assert store.session_count("anna") == 2
        assert store.session_count("ben") == 1
        assert store.session_count("nobody") == 0
        make_run(tmp_path, START + dt.timedelta(days=3), 1, profile="anna")
        assert store.session_count("anna") == 3


def _version_1_database(tmp_path, path) -> None:
    """A database as version 1 of the schema left it, with one run in it."""
    db = sqlite3.connect(tmp_path / DB_NAME)
    db.executescript(MIGRATIONS[0])
    meta = {"start_time": START.isoformat(), "profile": "anna"}
    st = path.stat()
    db.execute("INSERT INTO runs (id, path, name, start_time, duration_s, simulated, closed, file_size, file_mtime_ns, ingested_at,"
               " metadata_json, totals_json) VALUES (7, ?, ?, ?, 60, 1, 1, ?, ?, 'x', ?, '{}')",
               (str(path.resolve()), path.stem, START.isoformat(), st.st_size, st.st_mtime_ns, json.dumps(meta)))
    db.executemany("INSERT INTO strides (run_id, seq, sensor, leg, kind, ic_t, wobble_deg) VALUES (7, ?, 0, 'left', ?, ?, 5.0)",
                   [(i, "run" if i % 4 else "walk", float(i)) for i in range(20)])
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()


def test_migrates_a_version_1_database_keeping_its_data(tmp_path):
    path = make_run(tmp_path, START, 1, profile="anna")
    _version_1_database(tmp_path, path)
    with store_with(tmp_path) as store:
        assert store.version == SCHEMA_VERSION == 7
        run = store.run(7)
        assert run["activity"] == "run" and run["exercise"] is None  # migration 5: an old row is a run
        assert store.pain_entries() == []  # migration 6's table, empty until a pain journal is indexed
        assert run["profile"] == "anna"  # backfilled from the metadata by migration 2
        assert (run["activity"], run["exercise"], run["level"]) == ("run", None, None)  # migration 5
        assert store.reps(7) == []
        assert run["running_strides"] == 15
        assert len(store.strides(7)) == 20
        assert store.strides(7)[0].wobble_note is None  # the column migration 3 adds
        # the old row predates ingest versions: the next ingest re-analyses the file into the same row
        assert store.ingest(path) == 7
        assert len(store.strides(7)) > 20
        assert store.session_count("anna") == 1


def test_migration_5_begins_with_the_activity_columns():
    """Other stages build on these three statements: they stay first, word for word."""
    from stridecue.record.schema import _split_sql

    assert list(_split_sql(MIGRATIONS[4]))[:3] == [
        "ALTER TABLE runs ADD COLUMN activity TEXT NOT NULL DEFAULT 'run'",
        "ALTER TABLE runs ADD COLUMN exercise TEXT",
        "ALTER TABLE runs ADD COLUMN level INTEGER",
    ]


def test_a_failed_migration_leaves_the_older_version(tmp_path, monkeypatch):
    path = make_run(tmp_path, START, 1)
    _version_1_database(tmp_path, path)
    import stridecue.record.schema as schema_module

    monkeypatch.setattr(schema_module, "MIGRATIONS", (MIGRATIONS[0], MIGRATIONS[1] + ";\nTHIS IS NOT SQL"))
    with pytest.raises(UserError, match="cannot upgrade the database from schema version 1 to 2"):
        RunStore.open(tmp_path)
    db = sqlite3.connect(tmp_path / DB_NAME)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 1
    cols = [r[1] for r in db.execute("PRAGMA table_info(runs)")]
    assert "profile" not in cols  # the half-done step was rolled back
    db.close()


def test_newer_or_foreign_database_is_one_clear_error(tmp_path):
    db = sqlite3.connect(tmp_path / DB_NAME)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    db.commit()
    db.close()
    with pytest.raises(UserError, match="newer than this StrideCue"):
        RunStore.open(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    (other / DB_NAME).write_bytes(b"this is not a database" * 100)
    with pytest.raises(UserError, match="not a usable StrideCue database"):
        RunStore.open(other)


def test_a_changed_analysis_re_analyses_stored_runs(tmp_path, monkeypatch):
    import stridecue.record.ingest as ingest_module

    path = make_run(tmp_path, START, 1)
    calls = []

    def counting(reader):
        calls.append(1)
        return fake_analyse(reader)

    with RunStore.open(tmp_path, analyse=counting) as store:
        run_id = store.ingest(path)
        assert store.sync() == [] and len(calls) == 1
        assert store.run(run_id)["ingest_version"] == ingest_module.INGEST_VERSION
        assert ingest_module._analysis_digest() in ingest_module.INGEST_VERSION  # the analysis source is part of it
        monkeypatch.setattr(ingest_module, "INGEST_VERSION", ingest_module.INGEST_VERSION + "-changed")
        assert store.sync() == [run_id] and len(calls) == 2
        assert store.db.execute("SELECT count(*) FROM runs").fetchone()[0] == 1
