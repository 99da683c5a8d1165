"""The run store used by several processes at once: a live run saving, `summary` and `history`
ingesting the same run files; and a store that cannot be written says why, in one line."""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
import sys
import threading
import time

import pytest
from test_summary_support import START, fake_analyse, make_run

from stridecue.errors import UserError
from stridecue.record.store import DB_NAME, RunStore


def test_two_stores_ingesting_the_same_new_file_at_once_agree_on_one_row(tmp_path):
    path = make_run(tmp_path, START, 1)
    both_analysed = threading.Barrier(2, timeout=30)

    def slow_analyse(reader):
        strides = fake_analyse(reader)
        both_analysed.wait()  # each has looked and found no row before either writes
        return strides

    ids, errors = [], []

    def ingest():
        try:
            with RunStore.open(tmp_path, analyse=slow_analyse) as store:
                ids.append(store.ingest(path))
        except Exception as e:  # noqa: BLE001 - the test reports whatever a thread met
            errors.append(repr(e))

    threads = [threading.Thread(target=ingest) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len(ids) == 2 and ids[0] == ids[1]
    with RunStore.open(tmp_path, analyse=fake_analyse) as store:
        assert store.db.execute("SELECT count(*) FROM runs").fetchone()[0] == 1
        assert len(store.strides(ids[0])) == len(fake_analyse(__import__("stridecue.record.runreader", fromlist=["RunReader"]).RunReader(path)))


def test_the_store_is_in_wal_mode_with_a_busy_timeout(tmp_path):
    with RunStore.open(tmp_path, analyse=fake_analyse) as store:
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.db.execute("PRAGMA busy_timeout").fetchone()[0] >= 10_000


def _cli(base, *args):
    return subprocess.Popen([sys.executable, "-m", "stridecue.cli", "--data-dir", str(base), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A data directory with two short simulated runs (no store yet)."""
    base = tmp_path_factory.mktemp("data")
    for seed in (1, 2):
        p = _cli(base, "run", "--simulate", "--quiet", "--speed", "max", "--duration", "20", "--seed", str(seed), "--no-cue-track")
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    for f in base.glob(DB_NAME + "*"):
        f.unlink()
    return base


def test_history_and_summary_started_together_on_a_new_store_both_succeed(recorded):
    for _ in range(2):
        for f in recorded.glob(DB_NAME + "*"):
            f.unlink()
        procs = [_cli(recorded, "history"), _cli(recorded, "summary"), _cli(recorded, "history", "--json")]
        results = [(p.args[-1], *p.communicate(timeout=300), p.returncode) for p in procs]
        for name, out, err, rc in results:
            assert rc == 0 and "Traceback" not in err, (name, err)
        db = sqlite3.connect(recorded / DB_NAME)
        assert db.execute("SELECT count(*) FROM runs").fetchone()[0] == 2
        db.close()


def test_summary_and_history_while_a_live_run_records_and_saves(recorded):
    live = _cli(recorded, "run", "--simulate", "--quiet", "--speed", "15", "--duration", "60", "--no-cue-track")
    deadline = time.monotonic() + 240
    rounds = 0
    while live.poll() is None and time.monotonic() < deadline:
        procs = [_cli(recorded, "summary"), _cli(recorded, "history")]
        for p in procs:
            out, err = p.communicate(timeout=300)
            assert p.returncode == 0 and "Traceback" not in err, err
        rounds += 1
    out, err = live.communicate(timeout=60)
    assert live.returncode == 0, err
    assert "run saved" in out and rounds >= 1
    after = _cli(recorded, "history", "--json")
    out, err = after.communicate(timeout=300)
    assert after.returncode == 0 and out.count('"name"') == 3, err


_connect = sqlite3.connect


def _read_only_connect(path, **kw):
    """sqlite3.connect as a read-only data directory gives it (a test run as root cannot chmod one)."""
    return _connect(f"file:{path}?mode=ro", uri=True, **kw)


def test_a_read_only_store_says_so_and_does_not_advise_moving_it_aside(tmp_path, monkeypatch):
    make_run(tmp_path, START, 1)
    with RunStore.open(tmp_path, analyse=fake_analyse) as store:
        store.sync()
    import stridecue.record.store as store_module

    monkeypatch.setattr(store_module.sqlite3, "connect", _read_only_connect)
    make_run(tmp_path, START + dt.timedelta(days=1), 1)
    with pytest.raises(UserError) as e:
        with RunStore.open(tmp_path, analyse=fake_analyse) as store:
            store.sync()
    assert "read-only" in str(e.value) and "move it aside" not in str(e.value)
    assert "\n" not in str(e.value)
