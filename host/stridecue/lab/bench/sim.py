"""Speed of the virtual runner: ten minutes of one sensor at 416 Hz, read at once and in the virtual
sensor's 12-sample notifications, against a fixed numpy workload measured in the same run.

A provider for `stridecue bench` (run(quick) -> dict, see stridecue.lab.bench).  Goal: ten minutes
of one sensor in well under 2 s.
"""

from __future__ import annotations

import time

import numpy as np

RATE = 416.0


def _reference_s(repeats: int = 5) -> float:
    """A fixed vectorised workload (elementwise maths and small matrix products over 250k rows,
    about what one minute of samples costs the runner); best of `repeats`."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(250_000, 3))
    R = rng.normal(size=(250_000, 3, 3))
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        y = np.einsum("nij,nj->ni", R, np.sin(x) * np.cos(x) + np.exp(-np.abs(x)))
        np.linalg.norm(y, axis=1).sum()
        best = min(best, time.perf_counter() - t0)
    return best


def _generate(seconds: float, step: int | None) -> tuple[float, int]:
    from stridecue.sim import RunnerSettings, VirtualRunner

    stream = VirtualRunner(RunnerSettings(speed_mps=3.3), seed=1).sensor(leg="left", mount="shin", rotation="random")
    n = int(seconds * RATE)
    t0 = time.perf_counter()
    if step is None:
        stream.read(n)
    else:
        for _ in range(n // step):
            stream.read(step)
    strides = len(stream.truth)  # the ground truth is part of the work
    return time.perf_counter() - t0, strides


def run(quick: bool = False) -> dict:
    seconds = 60.0 if quick else 600.0
    ref = _reference_s()
    whole, strides = _generate(seconds, None)
    chunked, _ = _generate(seconds, 12)
    scale = 600.0 / seconds
    per_read_us = chunked / (seconds * RATE / 12) * 1e6
    return {
        "title": "virtual runner",
        "figures": [
            {"name": "10 min of one sensor, one read", "value": round(whole * scale, 3), "unit": "s", "target": "< 2 s",
             "met": whole * scale < 2.0, "note": f"{whole / ref:.1f} x the reference workload; {strides} stances of truth"},
            {"name": "10 min of one sensor, 12-sample reads", "value": round(chunked * scale, 3), "unit": "s",
             "target": "< 2 s", "met": chunked * scale < 2.0, "note": f"{chunked / ref:.1f} x the reference workload"},
            {"name": "one 12-sample read", "value": round(per_read_us, 1), "unit": "us", "target": None, "met": None,
             "note": "average, including the blocks generated behind it"},
            {"name": "reference workload", "value": round(ref * 1000, 1), "unit": "ms", "target": None, "met": None,
             "note": "numpy: 250k-row elementwise maths and 3x3 products, best of 5"},
        ],
        "notes": [f"{'quick: 1 min scaled to 10 min' if quick else 'full: 10 min'}; speed 3.3 m/s, shin, random rotation"],
    }
