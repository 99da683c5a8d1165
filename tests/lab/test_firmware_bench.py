"""The firmware benchmark runs and reports its budgets (figures only: no timing is asserted)."""

from __future__ import annotations

import pytest

from stridecue.lab.bench import firmware as firmware_bench

pytestmark = pytest.mark.realtime  # the firmware's main loop over the paced IMU, as in tests/firmware


def test_quick_benchmark_reports_the_budgets():
    result = firmware_bench.run(quick=True)
    figures = {f["name"]: f for f in result["figures"]}
    assert figures["heap allocated in steady streaming"]["value"] < 1.0  # the hot path allocates nothing (fails if it does)
    assert figures["heap per packet"]["value"] < 1.0
    assert figures["peak heap while streaming (ring buffer apart)"]["met"] is True
    assert figures["ring buffer (samples, quaternions, clip marks)"]["met"] is True
    for name in ("per-sample cost (read + fuse + pack), measured in MicroPython here",
                 "estimated CPU share on an ESP32-S3 at 240 MHz, 416 Hz", "virtual sensor in CPython: a 10-minute run"):
        assert figures[name]["value"] > 0
    cpu = figures["estimated CPU share on an ESP32-S3 at 240 MHz, 416 Hz"]
    assert "19.119 s on an ESP32-S3" in cpu["note"] and "jonnor/embeddedml" in cpu["note"], "the scale's source is cited"
    assert figures["orientation vs imufusion, tilt RMS"]["value"] < 2.0
    # the real main loop, per board: what the issue asks bench to report
    for board in ("XIAO ESP32S3 (PSRAM)", "AtomS3 (no PSRAM)"):
        for what in ("steady allocation", "heap held", "ring", "samples lost",
                     "worst task stall (sampler, between beats)"):
            assert f"main loop, {board}: {what}" in figures, sorted(figures)
        assert figures[f"main loop, {board}: samples lost"]["value"] == 0
