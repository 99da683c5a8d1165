"""The firmware benchmark runs and reports its budgets (figures only: no timing is asserted)."""

from __future__ import annotations

from stridecue import firmware_bench


def test_quick_benchmark_reports_the_budgets():
    result = firmware_bench.run(quick=True)
    figures = {f["name"]: f for f in result["figures"]}
    assert figures["heap allocated in steady streaming"]["value"] >= 0
    # nothing but the CRC's boxed int is allocated while streaming
    assert figures["heap per packet beyond the CRC's boxed result"]["met"] is True
    assert figures["peak heap while streaming (ring buffer apart)"]["met"] is True
    assert figures["ring buffer (samples, quaternions, clip marks)"]["met"] is True
    for name in ("per-sample cost (read + fuse + pack) / reference loop", "estimated CPU share on an ESP32-S3 at 240 MHz, 416 Hz",
                 "virtual sensor in CPython: a 10-minute run"):
        assert figures[name]["value"] > 0
    assert figures["orientation vs imufusion, tilt RMS"]["value"] < 2.0
