"""Firmware budgets: MicroPython heap and per-sample cost, the virtual sensor's CPython cost, and
the on-board orientation against imufusion.

run(quick) runs firmware/tools/bench.py in the MicroPython WebAssembly port (Node, as the tests
do) and in CPython, and returns {"title", "figures", "notes"} for `stridecue bench`.  The same
script runs on a real board (`mpremote run firmware/tools/bench.py`), which is where the CPU
share is measured rather than estimated.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from stridecue.link.keys import prove_to_node

TITLE = "firmware budgets (MicroPython heap, per-sample cost)"

# The scale from this machine's MicroPython (the WebAssembly port) to an ESP32-S3: the same
# program timed in both.  Published: a bubble sort of 2000 random 10-bit ints (M. Grinberg,
# "Benchmarking MicroPython", 2025) took 19.119 s on an M5Stack AtomS3U (ESP32-S3) with
# MicroPython 1.24.1 (github.com/jonnor/embeddedml, handson/micropython-sort/README.md).  No clock
# is stated there; MicroPython's ESP32_GENERIC_S3 build runs at ESP-IDF's default 160 MHz, and
# the 240 MHz figure assumes time scales with the clock (flash cache misses scale less: an
# optimistic assumption).  bench.py times the same sort here, in the same run.
ESP32S3_BUBBLE_2000_S = 19.119
ESP32S3_BUBBLE_MHZ = 160
ESP32S3_TARGET_MHZ = 240
ESP32S3_BUBBLE_SOURCE = ("github.com/jonnor/embeddedml handson/micropython-sort (AtomS3U, MicroPython 1.24.1, "
                         "M. Grinberg's bubble sort of 2000 ints: 19.119 s)")
CPU_TARGET = 0.40
HEAP_TARGET_BYTES = 64 * 1024
CPYTHON_TARGET_S = 15.0  # a simulated 10-minute run (250k samples) in the firmware's code


def _paths() -> tuple[Path, Path, Path]:
    import stridenode
    import stridewire

    firmware = Path(stridenode.__file__).resolve().parent.parent
    shared = Path(stridewire.__file__).resolve().parent.parent
    return firmware, shared, firmware.parent


def _parse(stdout: str) -> dict:
    for line in stdout.splitlines():
        if line.startswith("BENCH "):
            return json.loads(line[len("BENCH "):])
    raise RuntimeError("the benchmark printed no BENCH line")


def run_micropython_bench(seconds: float, board: str = "esp32s3_lsm6dso32") -> dict | None:
    """bench.py in the MicroPython WebAssembly port; None when Node or the port is missing."""
    firmware, shared, root = _paths()
    runner = root / "tests" / "micropython" / "run.mjs"
    node = shutil.which("node")
    if node is None or not runner.exists() or not (root / "tests" / "micropython" / "node_modules").exists():
        return None
    script = firmware / "tools" / "bench.py"
    cmd = [node, str(runner), "--heap", str(8 * 1024 * 1024), "--mount", f"{shared}:/lib", "--mount", f"{firmware}:/lib",
           str(script), str(seconds), board]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise RuntimeError(f"MicroPython benchmark failed: {proc.stderr.strip()[-500:]}")
    return _parse(proc.stdout)


_BENCH_KEY = (1, bytes(range(16)))  # the benchmark's own node: a fixed device secret


def cpython_virtual_sensor_cost(seconds: float, board_name: str = "esp32s3_lsm6dso32") -> dict:
    """What `stridecue run --simulate` spends in the firmware's modules per sample (CPython):
    the simulated IMU's push (quantising floats) and the node (read, fuse, buffer, pack)."""
    import math

    dev, clock, node = _started_node(board_name)
    rate = node.rate
    pattern = [(0.3 * math.sin(k / 7), 1.0 + 3.0 * math.sin(k / 11) ** 8, 0.2 * math.cos(k / 5),
                400 * math.sin(k / 47), 60 * math.cos(k / 13), 30 * math.sin(k / 29)) for k in range(1000)]
    n = int(seconds * rate) // 12 * 12
    push_s = node_s = 0.0
    step = 12 * 1_000_000 // rate
    for g in range(0, n, 12):
        t0 = time.perf_counter()
        for k in range(g, g + 12):
            a = pattern[k % 1000]
            dev.push(a[0], a[1], a[2], a[3], a[4], a[5])
        t1 = time.perf_counter()
        clock.advance_us(step)
        node.service()
        while node.next_packet() is not None:
            pass
        node.pending_status()
        t2 = time.perf_counter()
        push_s += t1 - t0
        node_s += t2 - t1
    return {"push_us": push_s / n * 1e6, "node_us": node_s / n * 1e6, "samples": n}


def _started_node(board_name: str):
    """(simulated IMU, clock, node) of a board, authenticated with the bench's key and streaming at MTU 247."""
    import stridewire as sw
    from stridenode.boards import load_board
    from stridenode.node import SensorNode
    from stridenode.sim_i2c import ManualClock, SimI2C, make_device

    board = load_board(board_name)
    dev = make_device(board)
    clock = ManualClock()
    node = SensorNode(SimI2C([dev]), clock, board, seed=1, secret=_BENCH_KEY)
    node.set_mtu(247)
    prove_to_node(node, *_BENCH_KEY)
    node.status()
    node.handle_control(sw.pack_control(sw.OP_START, 1), True)
    return dev, clock, node


def stream_through_node(chunks, board_name: str = "esp32s3_lsm6dso32"):
    """Feed (acc g, gyr dps) chunks through the simulated IMU and the firmware's node, serviced
    every 12 samples as the virtual sensor does; returns (the host's decoded SampleBlock, node)."""
    from stridecue.link.decoder import decode_data
    from stridecue.link.samples import SampleBlock

    dev, clock, node = _started_node(board_name)
    blocks = []
    push = dev.push
    k = 0
    for acc, gyr in chunks:
        for a, g in zip(acc.tolist(), gyr.tolist()):
            push(a[0], a[1], a[2], g[0], g[1], g[2])
            if k % 12 == 11:
                clock.advance_us(12 * 1_000_000 // node.rate)
                node.service()
                while (p := node.next_packet()) is not None:
                    blocks.append(decode_data(bytes(p)).block)
            k += 1
    return SampleBlock.concat(blocks), node


def reference_quaternions(block):
    """imufusion with its default AHRS settings (gain 0.5, no rejection) and its gyro bias estimator."""
    import numpy as np

    import imufusion

    ahrs = imufusion.Ahrs()
    settings = imufusion.AhrsSettings()
    settings.sample_rate = block.rate
    ahrs.set_settings(settings)
    bias = imufusion.Bias()
    bias_settings = imufusion.BiasSettings()
    bias_settings.sample_rate = block.rate
    bias.set_settings(bias_settings)
    acc, gyr = block.acc, block.gyr
    out = np.empty((len(block), 4))
    for k in range(len(block)):
        ahrs.update_no_magnetometer(bias.update(gyr[k]), acc[k])
        out[k] = ahrs.get_quaternion()
    return out


def orientation_differences(block, qref, skip_s: float = 3.0) -> tuple[float, float]:
    """(tilt RMS, full RMS with heading aligned once at skip_s) in degrees, of the node's quaternions
    against reference quaternions qref (one per sample)."""
    import numpy as np
    from scipy.spatial.transform import Rotation

    qi = block.quat_index
    ours = Rotation.from_quat(block.quat[:, [1, 2, 3, 0]])
    ref = Rotation.from_quat(qref[qi][:, [1, 2, 3, 0]])
    keep = qi >= int(skip_s * block.rate)
    up1, up2 = ours.inv().apply([0, 0, 1]), ref.inv().apply([0, 0, 1])
    tilt = np.degrees(np.arccos(np.clip(np.sum(up1 * up2, axis=1), -1, 1)))[keep]
    k0 = int(np.argmax(keep))
    offset = ours[k0] * ref[k0].inv()  # heading is unobservable with 6 axes: align it once
    full = np.degrees(((offset * ref).inv() * ours).magnitude())[keep]
    return float(np.sqrt(np.mean(tilt**2))), float(np.sqrt(np.mean(full**2)))


def fusion_agreement(seconds: float, mount: str = "shin", seed: int = 3) -> dict:
    """The on-board quaternion vs imufusion (default AHRS + bias) on a virtual run, as the host
    receives it: tilt RMS and full-orientation RMS (heading aligned once) in degrees."""
    from stridecue.sim import RunnerSettings, VirtualRunner

    runner = VirtualRunner(RunnerSettings(), seed=seed)
    stream = runner.sensor(leg="left", mount=mount, rotation="random")
    total = int(seconds * stream.rate)

    def chunks():
        done = 0
        while done < total:
            chunk = stream.read(min(4992, total - done))
            done += len(chunk.acc)
            yield chunk.acc, chunk.gyr

    t0 = time.perf_counter()
    block, _node = stream_through_node(chunks())
    tilt, full = orientation_differences(block, reference_quaternions(block))
    return {"tilt_rms_deg": tilt, "full_rms_deg": full, "samples": len(block), "seconds": len(block) / block.rate,
            "wall_s": time.perf_counter() - t0}


MAIN_LOOP_RING_TARGET_S = {"esp32s3_lsm6dso32": 20, "atoms3_mpu6886": 4}
MAIN_LOOP_ALLOC_TARGET = 1024  # B/s


def main_loop_figures(seconds: float, notes: list) -> list:
    """firmware/main.py's real main loop in MicroPython for `seconds` on each board's heap budget."""
    from stridecue.lab.firmware_mainloop import BOARD_HEAPS, MainLoopUnavailable, run_mainloop

    figures = []
    for board, heap in BOARD_HEAPS.items():
        try:
            r = run_mainloop(board, seconds)
        except MainLoopUnavailable as e:
            notes.append(f"main loop not run: {e}")
            return figures
        short = "XIAO ESP32S3 (PSRAM)" if board.startswith("esp32s3") else "AtomS3 (no PSRAM)"
        lost = r["lost_truth_samples"] + r["missing_samples"]
        figures.append(_figure(f"main loop, {short}: steady allocation", round(r["alloc_bytes_per_s"]),
                               "B/s", "< 1 KB/s", r["alloc_bytes_per_s"] < MAIN_LOOP_ALLOC_TARGET,
                               f"heap growth with the collector off over {len(r['alloc_windows'])} windows of 4 s (worst "
                               f"window {r['alloc_worst_window_bytes_per_s']:.0f} B/s, median "
                               f"{r['alloc_median_window_bytes_per_s']:.0f} B/s), the port's asyncio included "
                               f"({r['idle_wakes_per_s']:.0f} idle wakes/s)"))
        figures.append(_figure(f"main loop, {short}: heap held", round(r["held_bytes"] / 1024, 1), "KB",
                               f"<= {heap.bytes // 1024} KB", r["held_bytes"] <= heap.bytes and r["over_budget_peeks"] == 0,
                               f"the least after a collection ({len(r['alloc_windows']) + 2} of them; the most "
                               f"{r['held_most_bytes'] / 1024:.0f} KB: the port's conservative stack scan keeps stale garbage at "
                               f"times); peak {r['peak_bytes'] / 1024:.0f} KB with garbage, "
                               f"{r['budget_collections']} collections forced at the budget; budget: {heap.source}"))
        figures.append(_figure(f"main loop, {short}: ring", round(r["ring_s"], 1), "s", f">= {MAIN_LOOP_RING_TARGET_S[board]} s",
                               r["ring_s"] >= MAIN_LOOP_RING_TARGET_S[board],
                               f"{r['ring_bytes'] / 1024:.0f} KB at {r['rate_hz']} Hz, sized from the free heap at boot"))
        figures.append(_figure(f"main loop, {short}: samples lost", lost, "", "0", lost == 0,
                               f"{r['samples_received']} received in {r['seconds_measured']:.0f} s measured; dropped counted "
                               f"{r['node_dropped']}, gaps {r['gaps']}"))
        figures.append(_figure(f"main loop, {short}: worst task stall (sampler, between beats)", r["worst_gap_ms"]["sampler"], "ms",
                               None, None, f"sampler runs every 10 ms; send {r['worst_gap_ms']['send']} ms; in the "
                               "WebAssembly port, so a board's (slower) collections are not in it"))
    return figures


def _figure(name, value, unit="", target=None, met=None, note=""):
    return {"name": name, "value": value, "unit": unit, "target": target, "met": met, "note": note}


def run(quick: bool) -> dict:
    seconds = 3.0 if quick else 20.0
    figures = []
    notes = []
    mp = run_micropython_bench(seconds)
    if mp is None:
        notes.append("MicroPython WebAssembly port not installed (run `make test` once): MicroPython figures skipped")
    else:
        packets_per_s = mp["packets"] / mp["seconds_streamed"]
        crc_only = mp["crc32_alloc_bytes"] * packets_per_s
        # The sampling path (read, fuse, buffer, pack, seal) of bench.py's tight loop; the board
        # seals with a table CRC in 16-bit halves, so binascii.crc32's boxed 32-bit result (what
        # the host's CRC would cost the board) is shown beside it, not spent.
        figures.append(_figure("heap allocated in steady streaming", round(mp["alloc_bytes_per_s"], 1), "B/s", "~0",
                               mp["alloc_bytes_per_s"] < 1.0,
                               f"the hot path alone at {packets_per_s:.1f} packets/s; binascii.crc32 would box its 32-bit "
                               f"result ({crc_only:.0f} B/s): the board seals with a table CRC in 16-bit halves instead"))
        figures.append(_figure("heap per packet", round(mp["alloc_bytes_per_packet"], 1),
                               "B", "0", mp["alloc_bytes_per_packet"] < 1.0,
                               "the sampling path (read, fuse, buffer, pack, seal) allocates nothing"))
        figures.append(_figure("peak heap while streaming (ring buffer apart)", round(mp["peak_heap_without_ring_bytes"] / 1024, 1),
                               "KB", "< 64 KB", mp["peak_heap_without_ring_bytes"] < HEAP_TARGET_BYTES,
                               "node, drivers and buffers plus one second of garbage (an upper bound: the WebAssembly port's "
                               "gc.collect() reclaims nothing inside a script)"))
        ring_s = mp["ring_bytes"] / (12 + 8 / 4 + 1 / 4) / mp["rate_hz"]
        figures.append(_figure("ring buffer (samples, quaternions, clip marks)", round(mp["ring_bytes"] / 1024, 1), "KB",
                               ">= 30 s", ring_s >= 30, f"{ring_s:.1f} s at {mp['rate_hz']} Hz, one allocation at boot (PSRAM when present)"))
        here_s = mp["bubble_sort_2000_us"] / 1e6
        scale = ESP32S3_BUBBLE_2000_S / here_s * ESP32S3_BUBBLE_MHZ / ESP32S3_TARGET_MHZ
        board_us = mp["per_sample_us"] * scale
        figures.append(_figure("per-sample cost (read + fuse + pack), measured in MicroPython here", round(mp["per_sample_us"], 2),
                               "us", None, None,
                               f"WebAssembly port under Node; fusion alone {mp['fusion_per_sample_us']:.2f} us; the published "
                               f"bubble sort took {here_s:.2f} s here"))
        share = board_us * mp["rate_hz"] / 1e6
        bus = mp["i2c_us_per_sample"] * mp["rate_hz"] / 1e6
        figures.append(_figure("estimated CPU share on an ESP32-S3 at 240 MHz, 416 Hz", round(100 * (share + bus), 1), "%",
                               "< 40 %", share + bus < CPU_TARGET,
                               f"{board_us:.0f} us/sample = {mp['per_sample_us']:.2f} us here x {scale:.1f} (the same bubble sort: "
                               f"{ESP32S3_BUBBLE_2000_S} s on an ESP32-S3 at {ESP32S3_BUBBLE_MHZ} MHz / {here_s:.2f} s here, "
                               f"x {ESP32S3_BUBBLE_MHZ}/{ESP32S3_TARGET_MHZ} for the clock; {ESP32S3_BUBBLE_SOURCE}) = Python "
                               f"{100 * share:.0f} %, + I2C transfers {100 * bus:.0f} % at {mp['i2c_hz'] // 1000} kHz (blocking reads); "
                               "an estimate until bench.py runs on a board"))
    figures += main_loop_figures(16.0 if quick else 62.0, notes)
    cp = cpython_virtual_sensor_cost(seconds * 2)
    ten_min = (cp["node_us"] + cp["push_us"]) * 416 * 600 / 1e6
    figures.append(_figure("virtual sensor in CPython: a 10-minute run", round(ten_min, 1), "s", f"< {CPYTHON_TARGET_S:.0f} s",
                           ten_min < CPYTHON_TARGET_S,
                           f"{cp['node_us']:.1f} us/sample in the node + {cp['push_us']:.1f} us in the simulated IMU"))
    try:
        agree = fusion_agreement(60.0 if quick else 600.0)
        figures.append(_figure("orientation vs imufusion, tilt RMS", round(agree["tilt_rms_deg"], 2), "deg", "< 2 deg",
                               agree["tilt_rms_deg"] < 2.0, f"virtual run of {agree['seconds'] / 60:.0f} min, shin, random mount"))
        figures.append(_figure("orientation vs imufusion, full RMS (heading aligned once)", round(agree["full_rms_deg"], 2), "deg",
                               "< 2 deg", agree["full_rms_deg"] < 2.0, "heading is unobservable with 6 axes; both drift alike"))
    except ImportError as e:
        notes.append(f"orientation check skipped: {e}")
    if quick:
        notes.append("--quick: 3 s of streaming, 16 s of each board's main loop (8 s warm-up, then 4-s windows) and a 1-minute virtual run; the full run streams 20 s, runs each main loop 62 s and a virtual run of 10 minutes")
    return {"title": TITLE, "figures": figures, "notes": notes}


if __name__ == "__main__":
    print(json.dumps(run("--quick" in sys.argv), indent=2))
