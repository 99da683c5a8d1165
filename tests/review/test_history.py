"""`stridecue history`: trend rows from the store, terminal and JSON output through the CLI."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pytest
from test_summary_support import START, make_run, store_with

from stridecue.review.history import trend_rows, trends


def cli(*args):
    return subprocess.run([sys.executable, "-m", "stridecue.cli", *args], capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def improving(tmp_path_factory):
    """Five runs of anna with wobble falling 0.5 deg per run, one of ben."""
    base = tmp_path_factory.mktemp("data")
    for i in range(5):
        make_run(base, START + dt.timedelta(days=3 * i), 6, wobble=8.0 - 0.5 * i, pta=9.0 - 0.2 * i, cue_times=(100, 200)[: 2 - i // 3],
                 profile="anna", seed=i)
    make_run(base, START + dt.timedelta(days=1), 6, wobble=3.0, profile="ben", seed=9)
    with store_with(base) as store:
        store.sync()
    return base


def test_trend_rows_and_changes(improving):
    with store_with(improving) as store:
        rows = trend_rows(store, profile="anna")
        assert [r["profile"] for r in rows] == ["anna"] * 5
        assert [r["start_time"] for r in rows] == sorted(r["start_time"] for r in rows)
        wob = [r["wobble_median_deg"] for r in rows]
        assert all(b < a for a, b in zip(wob, wob[1:]))
        assert wob[0] - wob[-1] == pytest.approx(2.0, abs=0.15)
        assert [r["cues"] for r in rows] == [2, 2, 2, 1, 1]
        assert rows[0]["cues_per_min"] == pytest.approx(2 / 6, abs=0.01)
        t = trends(rows)
        assert t["wobble_median_deg"]["change"] == pytest.approx(6.5 - 7.75, abs=0.15)  # median of the last 3 runs vs of the 2 before
        assert t["landing_load_median_g"]["change"] < 0
        upto = trend_rows(store, profile="anna", upto=store.runs("anna")[2])
        assert len(upto) == 3
        assert len(trend_rows(store)) == 6


def test_cli_history_terminal_json_and_profile(improving):
    out = cli("--data-dir", str(improving), "history", "--profile", "anna")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert sum(1 for ln in lines if "2026-11-" in ln) == 5
    assert "wobble" in out.stdout and "last 3 runs" in out.stdout and "cue rate" in out.stdout
    data = json.loads(cli("--data-dir", str(improving), "history", "--json", "--last", "2").stdout)
    assert len(data["runs"]) == 2 and data["trends"]["wobble_median_deg"]["recent_runs"] == 1
    bad = cli("--data-dir", str(improving), "history", "--profile", "carol")
    assert bad.returncode == 1 and "no runs of profile 'carol'" in bad.stderr and "Traceback" not in bad.stderr


def test_cli_history_empty_data_dir(tmp_path):
    out = cli("--data-dir", str(tmp_path), "history")
    assert out.returncode == 1 and "no runs" in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_history_marks_runs_whose_file_is_gone(tmp_path):
    keep = make_run(tmp_path, START, 2)
    gone = make_run(tmp_path, START + dt.timedelta(days=1), 2)
    with store_with(tmp_path) as store:
        store.sync()
    gone.unlink()
    out = cli("--data-dir", str(tmp_path), "history")
    assert out.returncode == 0
    assert "(file missing)" in out.stdout and out.stdout.count("2026-11-0") == 2
    assert keep.exists()
