"""Benchmark provider: does the live path fit the pocket host, a Raspberry Pi Zero 2 W class computer
(4 x Cortex-A53 at 1 GHz, 512 MB) running `stridecue daemon`?

- CPU share of the live path, one and two sensors: recorded notifications of virtual sensors fed
  through the daemon's own live path (pocket_path.py: decoder, SampleStream, activity detector,
  RunPipeline with the run-file writer in a temporary directory, coach, cue sinks and serve's
  status feed, no audio), as CPU seconds (time.process_time) per second of run, best of a few;
- the same on a Pi Zero 2 W, ESTIMATED: times a scale factor between this machine's core and a
  Cortex-A53 at 1 GHz (see scale_factor: a published single-thread figure for the same compiled
  workload, sysbench's CPU test, measured here); on an A53 itself the factor is 1 and the figure
  is measured;
- peak memory of a live run, one and two sensors, in a fresh interpreter (VmHWM);
- start-up: process start to the daemon's "ready" prompt (`stridecue daemon --simulate --speed
  max`, prompt cache warm), here and estimated for the Pi;
- import time (python -X importtime) of a real run (`stridecue daemon`, no --simulate) up to its
  first connection to a sensor (live_imports.py), per top-level package, and which of those
  imports a real run does not need (none, since cli.py imports only the running command's module
  and coach/audio.py resamples without scipy.signal); and of the simulated start to "ready".

Targets (issue 17): two sensors <= 10 % of one A53 core; peak memory <= 150 MB; ready <= 10 s on
the Pi.  Figures are reported as measured, never adjusted; this machine may be busy.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from stridecue.lab.bench.live_imports import NOT_ON_LIVE_PATH, live_path

TARGET_CPU_PCT = 10.0  # two sensors, % of one Cortex-A53 core at 1 GHz
TARGET_RSS_MB = 150.0
TARGET_READY_S = 10.0  # on the Pi
# The published figure the scale factor rests on: sysbench 1.0.20 `sysbench cpu --threads=1`,
# Raspberry Pi 3B+ (BCM2837B0, Cortex-A53 at 1.4 GHz), single core.  The Pi Zero 2 W's RP3A0 is
# the same Cortex-A53 quad core at 1.0 GHz: the figure is scaled by the clock (a loop that lives
# in L1, as this one does, scales with it).
SYSBENCH_SOURCE = "https://leoncode.co.uk/articles/raspberry-pi-benchmarks"
SYSBENCH_PI3BPLUS_EPS = 687.45
PI3BPLUS_MHZ, ZERO2W_MHZ = 1400.0, 1000.0
A53_EPS = SYSBENCH_PI3BPLUS_EPS * ZERO2W_MHZ / PI3BPLUS_MHZ
def _pythonpath() -> dict:
    return dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))


# -- CPU share -------------------------------------------------------------------------------------


def _one_sensor(rec):
    from stridecue.lab.bench.pocket_path import Recording

    return Recording(rec.seconds, rec.statuses[:1], [p for p in rec.packets if p[0] == 0])


def cpu_share(rec, repeats: int) -> dict:
    """% of one core of this machine (CPU s per s of run), least of `repeats` feeds of the recording."""
    from stridecue.lab.bench.pocket_path import feed

    runs = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as base:
            runs.append(feed(Path(base), rec.statuses, iter(rec.packets)))
    best = min(runs, key=lambda r: r["cpu_s"])
    best["pct"] = 100.0 * best["cpu_s"] / rec.seconds
    best["all_pct"] = [round(100.0 * r["cpu_s"] / rec.seconds, 2) for r in runs]
    return best


# -- the scale factor ------------------------------------------------------------------------------


def _is_cortex_a53() -> bool:
    try:
        with open("/proc/cpuinfo") as f:
            return "0xd03" in f.read()  # CPU part of the Cortex-A53
    except OSError:
        return False


def sysbench_eps(seconds: float, repeats: int) -> float | None:
    """`sysbench cpu --threads=1` events per CPU second of sysbench here (its CPU time, not the wall
    time it reports: on a busy machine the wall rate drops while the CPU cost does not, and the live
    path is measured in CPU time too), best of `repeats`; None without sysbench."""
    import resource

    best = None
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        try:
            out = subprocess.run(["sysbench", "cpu", "--threads=1", f"--time={seconds:g}", "run"],
                                 capture_output=True, text=True, timeout=seconds + 30).stdout
        except (OSError, subprocess.TimeoutExpired):
            return None
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        m = re.search(r"total number of events:\s*(\d+)", out)
        if m and cpu > 0:
            best = max(best or 0.0, int(m.group(1)) / cpu)
    return best


def scale_factor(quick: bool) -> dict:
    """{"factor": this core's speed / an A53 at 1 GHz (None: not known), "here_eps", "note"}."""
    if _is_cortex_a53():
        return {"factor": 1.0, "here_eps": None, "measured": True,
                "note": "this machine is a Cortex-A53: the Pi figures are measured, not scaled (mind its clock)"}
    eps = sysbench_eps(1.0 if quick else 5.0, 2 if quick else 3)
    if eps is None:
        return {"factor": None, "here_eps": None, "measured": False,
                "note": "no Pi estimate: sysbench is not installed here (apt-get install sysbench)"}
    return {"factor": eps / A53_EPS, "here_eps": eps, "measured": False,
            "note": (f"ESTIMATE: sysbench 1.0.20 cpu, one thread, {eps:.0f} events per CPU second here (best of 3) against "
                     f"{SYSBENCH_PI3BPLUS_EPS:g} published for a Raspberry Pi 3B+ (Cortex-A53, 1.4 GHz; "
                     f"{SYSBENCH_SOURCE}) scaled by the clock to 1.0 GHz: {A53_EPS:.0f} events/s. sysbench's "
                     "test is compiled C (a prime loop); the Python interpreter on the in-order A53 may lose "
                     "more than that against this core, so the estimate may be optimistic")}


def reference_workload_ms(repeats: int = 5) -> float:
    """A fixed pure-Python + numpy task shaped like the live path (unpack small packets, small
    array maths per packet, dicts per stride), best of `repeats`, ms: run on a Pi, it gives the
    factor directly (this figure there / here)."""
    import struct

    import numpy as np

    payload = struct.pack("<12h", *range(12)) * 6
    rot = np.eye(3)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        acc = 0.0
        for i in range(3000):
            raw = np.frombuffer(payload, "<i2").reshape(-1, 6).astype(float)
            a = raw[:, :3] @ rot.T
            acc += float(np.linalg.norm(a, axis=1).max())
            stride = {"t": i * 0.35, "leg": "left", "wobble_deg": acc % 7.0, "values": [acc, i]}
            acc += len(str(stride["wobble_deg"]))
        best = min(best, time.perf_counter() - t0)
    return best * 1000.0


# -- peak memory ----------------------------------------------------------------------------------


def peak_memory(rec, timeout_s: float = 900.0) -> dict:
    """The live path fed this recording in a fresh interpreter: {"mb": VmHWM, "before_mb", "note"}."""
    import json

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "recording.bin"
        rec.save(path)
        # through a shell, as references.peak_rss does: the child's high-water mark is its own
        command = " ".join(shlex.quote(a) for a in (sys.executable, "-m", "stridecue.lab.bench.pocket_path", str(path)))
        try:
            done = subprocess.run(["/bin/sh", "-c", command + "; exit $?"], capture_output=True, text=True,
                                  timeout=timeout_s, env=_pythonpath())
        except subprocess.TimeoutExpired:
            return {"mb": None, "before_mb": None, "note": f"not measured: the child took over {timeout_s:g} s"}
    if done.returncode != 0:
        return {"mb": None, "before_mb": None, "note": "not measured: " + (done.stderr.strip().splitlines() or ["?"])[-1]}
    r = json.loads(done.stdout.strip().splitlines()[-1])
    mb = r["hwm_mb"] if r.get("hwm_mb") is not None else r["maxrss_mb"]
    return {"mb": mb, "before_mb": r.get("before_mb"),
            "note": (f"VmHWM of a fresh interpreter fed {r['seconds'] / 60:g} min of notifications read one at a time "
                     f"from a file ({r['notifications']} notifications, {r['strides']} running strides); "
                     f"{r.get('before_mb') or float('nan'):.0f} MB before the live path's imports")}


# -- start-up and imports --------------------------------------------------------------------------


def _daemon_command(base: str, importtime: bool = False) -> list[str]:
    flags = ["-X", "importtime"] if importtime else []
    return [sys.executable, *flags, "-m", "stridecue.cli", "--data-dir", base, "daemon", "--simulate", "--speed", "max",
            "--runs", "1"]


def time_to_ready(base: str, importtime: bool = False, timeout_s: float = 120.0) -> tuple[float | None, str]:
    """Seconds from starting `stridecue daemon --simulate --speed max` to its "prompt: Ready" line
    (None: it never said it), and its stderr (the import times with importtime)."""
    err = tempfile.TemporaryFile(mode="w+")
    start = time.perf_counter()
    proc = subprocess.Popen(_daemon_command(base, importtime), stdout=subprocess.PIPE, stderr=err, text=True,
                            env=_pythonpath())
    ready = None
    try:
        for line in proc.stdout:
            if line.startswith("prompt: Ready"):
                ready = time.perf_counter() - start
                break
            if time.perf_counter() - start > timeout_s:
                break
    finally:
        proc.terminate()  # SIGTERM: the daemon saves what it has and exits
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    err.seek(0)
    return ready, err.read()


def startup(repeats: int) -> dict:
    """Best of `repeats` starts to "ready" after one that warms the prompt cache, and the import
    times of one more start under -X importtime."""
    with tempfile.TemporaryDirectory() as base:
        warm, _ = time_to_ready(base)
        times = [t for t in (time_to_ready(base)[0] for _ in range(repeats)) if t is not None]
        _, simulated = time_to_ready(base, importtime=True)
        _, real = live_path(Path(base), ["daemon"], importtime=True)
    return {"best_s": min(times) if times else None, "all_s": [round(t, 2) for t in times],
            "cold_s": warm, "imports": parse_importtime(real), "simulated_imports": parse_importtime(simulated)}


_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def parse_importtime(text: str) -> dict:
    """-X importtime output -> {"total_ms", "by_package" [(name, ms)], "slowest" [(module, cumulative ms)],
    "not_needed" {NOT_ON_LIVE_PATH entry: cumulative ms of its modules, each counted once}}; slowest:
    imports outside any other import."""
    rows = [(int(m[1]), int(m[2]), len(m[3]), m[4]) for m in map(_IMPORT_LINE.match, text.splitlines()) if m]
    by_package = Counter()
    for self_us, _, _, name in rows:
        by_package[name.split(".")[0]] += self_us
    top = [(name, cum) for _, cum, indent, name in rows if indent <= 1]
    return {"total_ms": sum(by_package.values()) / 1000.0,
            "by_package": [(k, v / 1000.0) for k, v in by_package.most_common(6)],
            "slowest": [(k, v / 1000.0) for k, v in sorted(top, key=lambda r: -r[1])[:5]],
            "not_needed": {k: v / 1000.0 for k, v in _under_entries(rows).items()}}


def _entry(name: str) -> str | None:
    return next((k for k in NOT_ON_LIVE_PATH if name == k or name.startswith(k + ".")), None)


def _under_entries(rows: list) -> dict[str, int]:
    """Cumulative us per NOT_ON_LIVE_PATH entry: the outermost import of each of its modules (an
    import inside one already counted is not counted again).  importtime prints a module after the
    imports it made (more indented): read backwards, each line comes after its parents."""
    totals: dict[str, int] = {}
    stack: list[tuple[int, bool]] = []  # (indent, inside a counted import)
    for _, cum, indent, name in reversed(rows):
        while stack and stack[-1][0] >= indent:
            stack.pop()
        inside = bool(stack) and stack[-1][1]
        entry = _entry(name)
        if entry is not None and not inside:
            totals[entry] = totals.get(entry, 0) + cum
        stack.append((indent, inside or entry is not None))
    return totals


# -- the figures ----------------------------------------------------------------------------------


def _figure(name, value, unit="", target=None, met=None, note=""):
    return {"name": name, "value": value, "unit": unit, "target": target, "met": met, "note": note}


def _round(v, nd=2):
    return None if v is None else round(float(v), nd)


def _cpu_figures(shares: dict, scale: dict, seconds: float) -> list[dict]:
    factor = scale["factor"]
    out = []
    for n, s in shares.items():
        sensors = f"{n} sensor{'s' if n > 1 else ''}"
        out.append(_figure(f"live path CPU, {sensors}, this machine", _round(s["pct"]), "% of a core", None, None,
                           f"{s['cpu_s']:.2f} CPU s for {seconds:g} s of run ({s['notifications']} notifications, "
                           f"{s['strides']} running strides, {s['cues']} cues); least of {s['all_pct']} %; "
                           f"saving the run {s['save_cpu_s'] * 1000:.0f} ms CPU"))
    for n, s in shares.items():
        sensors = f"{n} sensor{'s' if n > 1 else ''}"
        pi = None if factor is None else s["pct"] * factor
        target = f"<= {TARGET_CPU_PCT:g} %" if n == 2 else None
        met = None if pi is None or n != 2 else pi <= TARGET_CPU_PCT
        kind = "measured on an A53" if scale.get("measured") else "ESTIMATE (scaled, not measured on a Pi)"
        out.append(_figure(f"live path CPU, {sensors}, Pi Zero 2 W", _round(pi), "% of an A53 core", target, met,
                           f"{kind}: this machine's {s['pct']:.2f} % x {factor or float('nan'):.2f} (the scale factor)"))
    return out


def _memory_figures(memory: dict) -> list[dict]:
    out = []
    for n, m in memory.items():
        mb = _round(m["mb"], 1)
        out.append(_figure(f"peak memory, live run, {n} sensor{'s' if n > 1 else ''}", mb, "MB", f"<= {TARGET_RSS_MB:g} MB",
                           None if mb is None else mb <= TARGET_RSS_MB, m["note"]))
    return out


def _startup_figures(s: dict, scale: dict) -> list[dict]:
    factor = scale["factor"]
    pi = None if s["best_s"] is None or factor is None else s["best_s"] * factor
    return [
        _figure("start-up to ready, this machine", _round(s["best_s"]), "s", None, None,
                f"process start to 'prompt: Ready' of `stridecue daemon --simulate --speed max`, prompt cache warm; "
                f"least of {s['all_s']} s (first, cache cold: {s['cold_s'] or float('nan'):.2f} s)"),
        _figure("start-up to ready, Pi Zero 2 W", _round(pi, 1), "s", f"<= {TARGET_READY_S:g} s",
                None if pi is None else pi <= TARGET_READY_S,
                f"ESTIMATE: this machine's time x {factor or float('nan'):.2f}; CPU only (files from a warm page cache "
                "here, an SD card there); a real start also waits for the Bluetooth scan (up to 5 s), the connection "
                "and 2 s of standing still, and does not simulate sensors"),
    ] + _import_figures(s["imports"], s["simulated_imports"])


def _import_figures(real: dict, simulated: dict) -> list[dict]:
    packages = ", ".join(f"{k} {v:.0f}" for k, v in real["by_package"])
    slowest = ", ".join(f"{k} {v:.0f}" for k, v in real["slowest"])
    not_needed = sum(real["not_needed"].values())
    why = "; ".join(f"{k} {v:.0f} ms: {NOT_ON_LIVE_PATH[k]}" for k, v in real["not_needed"].items())
    sim_extra = "; ".join(f"{k} {v:.0f} ms" for k, v in simulated["not_needed"].items())
    return [
        _figure("imports of a real run, up to connecting", _round(real["total_ms"], 0), "ms", None, None,
                "python -X importtime of `stridecue daemon` (no --simulate; a silent 48 kHz output) up to its first "
                f"connection to a sensor (lab/bench/live_imports.py), summed self times; by top-level package (ms): {packages}; "
                f"slowest imports (cumulative ms): {slowest}"),
        _figure("imports a real run does without", _round(not_needed, 0), "ms", "0 ms", not_needed == 0,
                (why or "none: " + ", ".join(NOT_ON_LIVE_PATH)) + " (on the same path)"),
        _figure("imports up to ready, --simulate", _round(simulated["total_ms"], 0), "ms", None, None,
                "python -X importtime of the simulated start above; the simulator's own, needed there: "
                + (sim_extra or "none")),
    ]


def run(quick: bool = False) -> dict:
    from stridecue.lab.bench.pocket_path import record

    seconds = 30.0 if quick else 300.0
    repeats = 1 if quick else 3
    started = time.perf_counter()
    two = record(seconds, 2)
    one = _one_sensor(two)
    notes = [f"{seconds:g} s of two virtual shin sensors on a running virtual runner (recorded in "
             f"{time.perf_counter() - started:.1f} s from the sensors' firmware); one sensor: the left one's notifications"]
    shares = {1: cpu_share(one, repeats), 2: cpu_share(two, repeats)}
    scale = scale_factor(quick)
    workload = reference_workload_ms()
    figures = _cpu_figures(shares, scale, seconds)
    figures.append(_figure("scale factor, this core / Cortex-A53 at 1 GHz", _round(scale["factor"]), "x", None, None,
                           scale["note"]))
    figures.append(_figure("reference workload (Python + numpy)", _round(workload, 1), "ms", None, None,
                           "a fixed task shaped like the live path, least of 5: run on a Pi, this figure there / here "
                           "is the factor measured"))
    figures += _memory_figures({1: peak_memory(one), 2: peak_memory(two)})
    figures += _startup_figures(startup(1 if quick else 3), scale)
    notes.append("the Pi figures are estimates from this machine and a published benchmark, not measured on a Pi"
                 if not scale.get("measured") else "measured on a Cortex-A53")
    return {"title": "pocket host: live path CPU share, memory, start-up, imports", "figures": figures, "notes": notes}
