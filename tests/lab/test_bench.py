"""`stridecue bench`: the provider registry, result shapes, and the analysis provider's reference."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest

from stridecue.lab import bench
from stridecue import cli



@pytest.fixture
def fake_providers(tmp_path, monkeypatch):
    pkg = tmp_path / "fakebench"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "good_bench.py").write_text(textwrap.dedent('''
        CALLS = []
        def run(quick):
            CALLS.append(quick)
            return {"title": "good", "figures": [
                {"name": "latency p50", "value": 1.5, "unit": "ms", "target": "< 5 ms", "met": True},
                {"name": "latency p99", "value": 7.0, "unit": "ms", "target": "< 5 ms", "met": False, "note": "noisy"}],
                "notes": ["measured in-process"]}
    '''))
    (pkg / "flat_bench.py").write_text(textwrap.dedent('''
        def run(quick):
            return {"heap_per_s_bytes": 0, "cpu": {"share_pct": 31.5, "ratio": 2.25},
                    "peak": {"value": 40000, "unit": "B", "target": "< 64 KB", "met": True}, "board": "esp32s3"}
    '''))
    (pkg / "broken_bench.py").write_text("def run(quick):\n    raise ValueError('no node found')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(bench, "PROVIDERS", {
        "fakebench.good_bench": "good figures",
        "fakebench.flat_bench": "a flat dict",
        "fakebench.broken_bench": "raises",
        "fakebench.missing_bench": "not written yet",
    })
    return pkg


def test_registry_runs_available_providers_and_lists_the_rest(fake_providers):
    entries = {e["name"]: e for e in bench.run_providers(quick=True)}
    assert entries["good"]["status"] == "ran"
    import fakebench.good_bench as good

    assert good.CALLS == [True]
    figs = {f["name"]: f for f in entries["good"]["figures"]}
    assert figs["latency p99"]["met"] is False and figs["latency p99"]["note"] == "noisy"
    flat = {f["name"]: f for f in entries["flat"]["figures"]}
    assert flat["heap_per_s_bytes"]["value"] == 0
    assert flat["cpu.share_pct"]["value"] == 31.5
    assert flat["peak"]["target"] == "< 64 KB" and flat["peak"]["met"] is True
    assert "board: esp32s3" in entries["flat"]["notes"]
    assert entries["broken"]["status"] == "failed"
    assert "ValueError: no node found" in entries["broken"]["notes"][0]
    assert entries["missing"]["status"] == "not available"


def test_report_text_and_json(fake_providers, capsys):
    rc = cli.main(["bench", "--quick"])
    out = capsys.readouterr().out
    assert rc == 1  # a provider failed
    assert "NOT MET" in out and "met" in out
    assert "missing: not written yet  [not available]" in out
    assert "[failed]" in out and "--quick" in out
    rc = cli.main(["bench", "--json", "--only", "good"])
    data = json.loads(capsys.readouterr().out)
    assert rc == 0 and [p["name"] for p in data["providers"]] == ["good"]
    assert data["measured_on"]["machine"] and data["measured_on"]["utc"].endswith("UTC")  # for tools/doc_figures.py
    rc = cli.main(["bench", "--only", "nonesuch"])
    err = capsys.readouterr().err
    assert rc != 0 and "no such benchmark" in err and err.count("\n") == 1


def test_normalise_odd_results():
    assert bench.normalise(None)["notes"] == ["provider returned NoneType, not a dict"]
    n = bench.normalise({"figures": [{"figure": "x", "value": 1}], "title": "t"})
    assert n["figures"][0]["name"] == "x" and n["figures"][0]["met"] is None


def test_reference_pipeline_rotation_matches_imufusion():
    from stridecue.lab.bench.analysis import ReferencePipeline, _rotate

    rate = 100.0
    n = 600
    gyr = np.zeros((n, 3))
    gyr[400:, 0] = 45.0  # still for 4 s (the filter's start-up), then 45 deg/s about x for 2 s: 90 degrees
    acc = np.tile([0.0, 0.0, 1.0], (n, 1))
    q = ReferencePipeline(rate, gain=0.0).orientation(acc, gyr)
    assert np.allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-6)
    z = _rotate(q[-1:], np.array([0.0, 0.0, 1.0]))[0]
    assert np.allclose(z, [0.0, -1.0, 0.0], atol=0.03) or np.allclose(z, [0.0, 1.0, 0.0], atol=0.03)


def test_reference_pipeline_finds_the_virtual_runners_strides():
    from stridecue.lab.bench.analysis import ReferencePipeline, virtual_recording

    block, truth, generated = virtual_recording(40.0, generate_s=40.0)
    assert generated == pytest.approx(40.0, abs=0.01) and len(block) == 40 * 416
    ref = ReferencePipeline(416.0).run(block.acc, block.gyr)
    run_truth = [s for s in truth if s.kind == "run"]
    assert abs(len(ref.strides_) - len(run_truth)) <= 0.2 * len(run_truth) + 2


def test_analysis_provider_quick_reports_targets_and_ratio():
    from stridecue.lab.bench import analysis as bench_analysis

    result = bench_analysis.run(quick=True)
    figs = {f["name"]: f for f in result["figures"]}
    offline = figs["offline analysis, 1 h at 416 Hz"]
    assert offline["value"] > 0 and offline["target"] == "< 0.5 s"  # issue 15's target
    assert offline["met"] is (offline["value"] < 0.5)  # the verdict follows the value, either way
    ratio = figs["ratio ours / reference (offline)"]["value"]
    ref = figs["reference pipeline, 1 h at 416 Hz"]["value"]
    assert ratio == pytest.approx(offline["value"] / ref, rel=0.01)
    fastest = figs["ratio ours / fastest reference (offline)"]
    whole = [figs[k]["value"] for k in ("reference pipeline, 1 h at 416 Hz", "gaitmap pipeline, 1 h at 416 Hz")
             if figs.get(k, {}).get("value")]
    assert fastest["value"] == pytest.approx(offline["value"] / min(whole), rel=0.01)
    assert fastest["met"] is (fastest["value"] <= 1 / 3)
    push = figs["streaming push, 12 samples (mean)"]
    assert push["value"] > 0 and push["met"] is (push["value"] <= 0.1)
    p99 = figs["streaming push p99"]
    assert p99["value"] >= push["value"] * 0.5 and p99["met"] is (p99["value"] <= 0.5)
    live = figs["ratio live / offline (per hour)"]
    hour = figs["streaming, whole hour (extrapolated)"]["value"]
    assert live["value"] == pytest.approx(hour / offline["value"], rel=0.02) and live["met"] is (live["value"] <= 3)
