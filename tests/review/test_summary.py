"""`stridecue summary`: the figures against runs with known strides, the terminal and JSON
output through the real CLI, run lookup and bad input."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys

import numpy as np
import pytest
from stride_records import make_stride
from test_summary_support import START, make_run, store_with

from stridecue.errors import UserError
from stridecue.review.effect import cue_effect
from stridecue.review.figures import _fatigue, load_summary
from stridecue.review.summary import configure, summary_command


def cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "stridecue.cli", *args], capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL, **kw)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Two runs of one runner, analysed into the store with the stand-in analysis."""
    base = tmp_path_factory.mktemp("data")
    first = make_run(base, START, 8, wobble=7.0, seed=1)
    second = make_run(base, START + dt.timedelta(days=2), 24, wobble=6.0, fatigue_per_10min=2.0, legs=("left", "right"),
                      cue_times=(300, 700, 1100), cue_drop=1.5, clip_every=20, missing=[(0, 5000, 30), (1, 9000, 10)], seed=2)
    with store_with(base) as store:
        store.sync()
    return base, first, second


def test_summary_figures(two_runs):
    base, _first, second = two_runs
    with store_with(base) as store:
        run = store.find(second.stem)
        s = load_summary(store, run)
        strides = store.strides(run["id"])
    run_strides = [x for x in strides if x.kind == "run"]
    w = np.array([x.wobble_deg for x in run_strides])
    assert s["duration_s"] == pytest.approx(24 * 60, abs=1)
    assert s["running_strides"] == len(run_strides)
    assert s["wobble_deg"]["median"] == pytest.approx(np.median(w), abs=0.05)
    assert s["wobble_deg"]["p90"] == pytest.approx(np.percentile(w, 90), abs=0.05)
    # absolute threshold of 7 deg (the run's coach settings): share of strides over it
    assert s["wobble_deg"]["threshold"] == {"left": 7.0, "right": 7.0}
    assert s["wobble_deg"]["over_threshold_pct"] == pytest.approx(100 * np.mean(w > 7.0), abs=0.1)
    assert s["landing_load_g"]["clipped_strides"] == sum(1 for x in run_strides if x.clipped) > 0
    assert s["cadence_spm"] == 170 and s["contact_time_ms"] == 250
    # cues: wobble drops by 1.5 deg for 15 s after each cue in this run
    c = s["cues"]
    assert c["count"] == 3 and c["measured"] == 3 and c["followed_by_less_wobble"] == 3
    assert c["wobble_before_deg"] - c["wobble_after_deg"] == pytest.approx(1.5, abs=0.4)
    # ... against moments without a cue that start from as high a wobble, where it stays about as it was
    assert c["matched"] == 3 and abs(c["expected_change_deg"]) < 0.5
    assert c["effect_ci95_deg"][0] <= c["effect_deg"] <= c["effect_ci95_deg"][1] < 0 and c["verdict"] == "lower"
    assert c["per_minute"] == pytest.approx(3 / 24, abs=0.01)
    # fatigue: 24 min >= 20 min, so first against last 10 minutes; +2 deg per 10 min => ~2.8 deg apart
    f = s["fatigue"]
    assert f["compared"] == "first vs last 10 min"
    assert f["wobble_deg"][1] - f["wobble_deg"][0] == pytest.approx(2.8, abs=0.5)
    # two legs: the recipe's right leg wobbles 0.5 deg more
    a = s["asymmetry"]
    assert a["wobble_deg"]["right"] - a["wobble_deg"]["left"] == pytest.approx(0.5, abs=0.25)
    assert a["wobble_deg"]["symmetry_index_pct"] < 0
    q = s["data_quality"]
    assert q["missing_samples"] == 40 and q["gaps"] == 2
    assert q["recovered_by_resend"] == 12 and q["reconnects"] == 1 and q["closed_cleanly"]
    assert len(s["per_minute"]) == 24
    assert sum(r["strides"] for r in s["per_minute"]) == len(run_strides)
    assert sum(r["cues"] for r in s["per_minute"]) == 3


def test_short_run_fatigue_uses_thirds_and_no_asymmetry_with_one_leg(two_runs):
    base, first, _ = two_runs
    with store_with(base) as store:
        s = load_summary(store, store.find(first.stem))
    assert s["fatigue"]["compared"] == "first vs last third"
    assert s["asymmetry"] is None


def test_cue_effect_counts_only_cues_with_strides_on_both_sides():
    run = [make_stride(ic_t=float(i) - 0.3, known_t=float(i), wobble_deg=8.0 if i < 50 else 6.0) for i in range(100)]
    e = cue_effect([{"t": 49.5, "values": {"leg": "left"}}, {"t": 3.0}, {"t": 95.0}], run)
    assert e["count"] == 3 and e["measured"] == 1
    assert (e["wobble_before_deg"], e["wobble_after_deg"]) == (8.0, 6.0)
    assert _fatigue(run[:20]) is None


def test_cli_summary_terminal_and_json(two_runs):
    base, first, second = two_runs
    out = cli("--data-dir", str(base), "summary")
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert second.name in text  # the latest run by default
    for label in ("date", "duration       24:00", "strides", "cadence", "contact time", "wobble", "landing load", "cues",
                  "fatigue        first vs last 10 min", "left/right", "data quality"):
        assert label in text, label
    assert "40/" in text and "in 2 gaps" in text
    out = cli("--data-dir", str(base), "summary", first.stem, "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["run"].endswith(first.name) and data["duration_s"] == pytest.approx(480, abs=1)
    by_id = json.loads(cli("--data-dir", str(base), "summary", str(data["run_id"]), "--json").stdout)
    assert by_id["wobble_deg"] == data["wobble_deg"]


def test_cli_summary_bad_input_is_one_line(two_runs, tmp_path):
    base, *_ = two_runs
    for args, words in ((["nonesuch"], "no run 'nonesuch'"), ([str(tmp_path / "gone.scrun")], "no such run file")):
        out = cli("--data-dir", str(base), "summary", *args)
        assert out.returncode == 1 and "Traceback" not in out.stderr
        assert len(out.stderr.strip().splitlines()) == 1 and words in out.stderr
    junk = tmp_path / "junk.scrun"
    junk.write_bytes(b"not a run file at all")
    out = cli("--data-dir", str(base), "summary", str(junk))
    assert out.returncode == 1 and "not a StrideCue run file" in out.stderr and "Traceback" not in out.stderr


def test_unreadable_run_in_the_data_dir_is_left_out_with_a_warning(tmp_path):
    make_run(tmp_path, START, 2)
    bad = make_run(tmp_path, START + dt.timedelta(days=1), 1)
    bad.write_bytes(bad.read_bytes()[:10])
    with store_with(tmp_path) as store:
        store.sync()
    out = cli("--data-dir", str(tmp_path), "summary")
    assert out.returncode == 0
    assert "warning" in out.stderr and bad.name in out.stderr and "truncated header" in out.stderr


def test_unclosed_run_is_summarised_and_flagged(tmp_path):
    path = make_run(tmp_path, START, 2, closed=False)
    with store_with(tmp_path) as store:
        s = load_summary(store, store.run(store.ingest(path)))
    assert s["data_quality"]["closed_cleanly"] is False and s["running_strides"] > 100


def test_summary_html_option_writes_report_and_refuses_to_overwrite(two_runs, tmp_path):
    base, first, _ = two_runs
    parser = argparse.ArgumentParser()
    configure(parser)
    out = tmp_path / "r.html"
    args = parser.parse_args([first.stem, "--html", "--out", str(out)])
    assert summary_command(args, base) == 0
    assert out.read_text().startswith("<!DOCTYPE html>")
    with pytest.raises(UserError, match="already exists"):
        summary_command(args, base)
    with pytest.raises(UserError, match="--out goes with --html"):
        summary_command(parser.parse_args([first.stem, "--out", str(tmp_path / "x.html")]), base)


def test_cli_summary_html(two_runs, tmp_path):
    base, first, _ = two_runs
    out = tmp_path / "report.html"
    done = cli("--data-dir", str(base), "summary", first.stem, "--html", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "report written" in done.stdout and out.read_text().startswith("<!DOCTYPE html>")
    again = cli("--data-dir", str(base), "summary", first.stem, "--html", "--out", str(out))
    assert again.returncode == 1 and "already exists" in again.stderr and "Traceback" not in again.stderr
