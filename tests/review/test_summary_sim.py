"""Done when: a simulated run gives a terminal summary, an HTML report rendered in Chromium, a
history entry and valid CSV, Parquet and FIT exports.  Runs of the virtual runner recorded
through the run pipeline with the real stride analysis; and `stridecue run --simulate` (with
the firmware and Bluetooth legs) end to end."""

from __future__ import annotations

import json
import subprocess
import sys

import fitdecode
import pyarrow.parquet as pq
import pytest

from stridecue.analysis.streaming import WARMUP_STRIDES



def cli(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "stridecue.cli", *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    for seed in (1, 2):
        out = cli("--data-dir", str(data), "run", "--simulate", "--duration", "90", "--speed", "max", "--quiet", "--seed", str(seed),
                  "--audio", "none", "--no-cue-track", "--wobble", str(7 - seed))
        assert out.returncode == 0, out.stderr
    return data


def test_simulated_runs_summary_history_report_exports(simulated, tmp_path):
    data = simulated
    out = cli("--data-dir", str(data), "summary")
    assert out.returncode == 0, out.stderr
    for label in ("duration", "strides", "cadence", "wobble", "landing load", "cues", "data quality"):
        assert label in out.stdout
    s = json.loads(cli("--data-dir", str(data), "summary", "--json").stdout)
    truth = s["simulation_truth"]["running_strides"]
    assert abs(s["running_strides"] - truth) <= 0.05 * truth
    hist = json.loads(cli("--data-dir", str(data), "history", "--json").stdout)
    assert len(hist["runs"]) == 2 and all(r["running_strides"] > 100 for r in hist["runs"])
    assert hist["runs"][-1]["id"] == s["run_id"]

    from test_report import CHROMIUM, _Page, chromium

    from stridecue.review.report import write_report
    from stridecue.record.store import RunStore
    from stridecue.review.figures import load_summary

    with RunStore.open(data) as store:
        run = store.run(s["run_id"])
        report = write_report(store, run, load_summary(store, run), tmp_path / "report.html")
    if CHROMIUM:
        done = chromium(["--dump-dom", report.as_uri()], tmp_path)
        page = _Page()
        page.feed(done.stdout)
        text = " ".join(" ".join(page.text).split())
        assert "Over the run" in text and "Your runs" in text
        assert page.count("tr", "history-run") == 2 and page.count("svg", "wobble-time") == 1

    for fmt in ("csv", "parquet", "fit"):
        out = cli("--data-dir", str(data), "export", str(s["run_id"]), "--format", fmt, "--out", str(tmp_path / "exports"))
        assert out.returncode == 0, out.stderr
    name = run["name"]
    strides = pq.read_table(tmp_path / "exports" / f"{name}-strides.parquet")
    assert strides.num_rows >= s["running_strides"]
    samples = pq.read_table(tmp_path / "exports" / f"{name}-samples.parquet")
    assert samples.num_rows == s["data_quality"]["samples"]
    with fitdecode.FitReader(str(tmp_path / "exports" / f"{name}.fit"), check_crc=fitdecode.CrcCheck.ENABLED) as fit:
        records = [f for f in fit if isinstance(f, fitdecode.FitDataMessage) and f.name == "record"]
    running_seconds = {int(t) for t, k in zip(strides["ic_t"].to_pylist(), strides["kind"].to_pylist()) if k == "run"}
    assert len(records) == len(running_seconds) > 50
    assert all(r.get_value("landing_load") > 1 for r in records)
    # wobble is withheld for the first strides of each sensor while its frame settles: no value there
    unmeasured = [r for r in records if r.get_value("knee_wobble") is None]
    assert len(unmeasured) <= WARMUP_STRIDES


@pytest.fixture(scope="module")
def pipeline_runs(tmp_path_factory):
    from test_summary_support import pipeline_run_file

    from stridecue.coach.policy import Coach, CoachSettings

    data = tmp_path_factory.mktemp("data")
    paths = [pipeline_run_file(data, Coach(CoachSettings(warmup_strides=5, baseline_strides=20)), 200, seed=seed,
                               wobble_deg=w, wobble_fatigue_deg_per_10min=10.0, cue_compliance=1.0) for seed, w in ((1, 7.0), (2, 6.0))]
    return data, paths


def test_virtual_runner_runs_summary_history_report_exports(pipeline_runs, tmp_path):
    data, paths = pipeline_runs
    out = cli("--data-dir", str(data), "summary")
    assert out.returncode == 0, out.stderr
    assert paths[-1].name in out.stdout
    for label in ("duration", "strides", "cadence", "wobble", "landing load", "cues", "fatigue", "data quality"):
        assert label in out.stdout
    s = json.loads(cli("--data-dir", str(data), "summary", "--json").stdout)
    truth = s["simulation_truth"]["running_strides"]
    assert abs(s["running_strides"] - truth) <= 0.05 * truth, (s["running_strides"], truth)
    assert 150 <= s["cadence_spm"] <= 200 and s["wobble_deg"]["median"] > 2 and s["landing_load_g"]["median"] > 2
    # wobble grows fast in these runs: the coach cued, the runner heeded, and the summary saw wobble drop after the cues
    c = s["cues"]
    assert c["count"] >= 1 and c["measured"] >= 1 and c["wobble_after_deg"] < c["wobble_before_deg"] - 0.5, c
    hist = json.loads(cli("--data-dir", str(data), "history", "--json").stdout)
    assert [r["name"] for r in hist["runs"]] == [p.stem for p in paths]
    assert all(r["running_strides"] > 100 and r["wobble_median_deg"] for r in hist["runs"])

    from test_report import CHROMIUM, _Page, chromium

    from stridecue.review.report import write_report
    from stridecue.record.store import RunStore
    from stridecue.review.figures import load_summary

    with RunStore.open(data) as store:
        run = store.run(s["run_id"])
        report = write_report(store, run, load_summary(store, run), tmp_path / "report.html")
    if CHROMIUM:
        done = chromium(["--dump-dom", report.as_uri()], tmp_path)
        page = _Page()
        page.feed(done.stdout)
        text = " ".join(" ".join(page.text).split())
        assert "Over the run" in text and "Your runs" in text and "previous 1 runs" in text
        assert page.count("tr", "history-run") == 2 and page.count("line", "cue-marker") == 3 * sum(s["cues"]["all_kinds"].values())  # every cue, on each of 3 time charts

    for fmt in ("csv", "parquet", "fit"):
        out = cli("--data-dir", str(data), "export", str(s["run_id"]), "--format", fmt, "--out", str(tmp_path / "exports"))
        assert out.returncode == 0, out.stderr
    name = run["name"]
    strides = pq.read_table(tmp_path / "exports" / f"{name}-strides.parquet")
    assert strides.num_rows >= s["running_strides"]
    samples = pq.read_table(tmp_path / "exports" / f"{name}-samples.parquet")
    assert samples.num_rows == s["data_quality"]["samples"] == 200 * 416
    with fitdecode.FitReader(str(tmp_path / "exports" / f"{name}.fit"), check_crc=fitdecode.CrcCheck.ENABLED) as fit:
        records = [f for f in fit if isinstance(f, fitdecode.FitDataMessage) and f.name == "record"]
    running_seconds = {int(t) for t, k in zip(strides["ic_t"].to_pylist(), strides["kind"].to_pylist()) if k == "run"}
    assert len(records) == len(running_seconds) > 50
    assert all(r.get_value("landing_load") > 1 for r in records)
    # wobble is withheld for the first strides of each sensor while its frame settles: no value there
    unmeasured = [r for r in records if r.get_value("knee_wobble") is None]
    assert len(unmeasured) <= WARMUP_STRIDES


def test_two_sensors_give_left_right_asymmetry(tmp_path):
    from test_summary_support import pipeline_run_file

    from stridecue.coach.policy import Coach
    from stridecue.record.store import RunStore
    from stridecue.review.figures import load_summary

    path = pipeline_run_file(tmp_path, Coach(), 120, seed=5, legs=("left", "right"))
    with RunStore.open(tmp_path) as store:
        s = load_summary(store, store.find(str(path)))
    truth = s["simulation_truth"]["running_strides"]
    assert abs(s["running_strides"] - truth) <= 0.05 * truth
    a = s["asymmetry"]
    assert a is not None and abs(a["strides"]["left"] - a["strides"]["right"]) <= 3
    # the virtual runner is symmetric: no large left/right differences
    assert abs(a["wobble_deg"]["symmetry_index_pct"]) < 20 and abs(a["contact_time_ms"]["symmetry_index_pct"]) < 5
    assert [x["leg"] for x in s["sensors"]] == ["left", "right"]
    assert 150 <= s["cadence_spm"] <= 200  # steps per minute of both legs, not strides of one
