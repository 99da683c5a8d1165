"""The firmware's real main loop in MicroPython: run firmware/tools/mainloop.py in the WebAssembly
port (Node) with a board's heap budget, fed with the virtual runner, and return what it measured.

    result = run_mainloop("atoms3_mpu6886", seconds=60)
    result["ring_s"], result["alloc_firmware_bytes_per_s"], result["missing_samples"], ...

Used by `stridecue bench --only firmware` and tests/firmware/test_firmware_mainloop.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class BoardHeap:
    """The MicroPython heap a reference build gives the firmware (bytes), and where that comes from."""

    bytes: int
    source: str


# No figure here is read off a board yet: `stridecue flash` and `doctor` show the real free heap
# after boot (/boot.json heap_free), which is what should replace these.
BOARD_HEAPS = {
    # ESP32-S3 with 8 MB octal PSRAM: MicroPython's ESP32_GENERIC_S3 SPIRAM_OCT build puts the
    # heap in PSRAM (about 8 MB; docs.micropython.org, esp32 quickref "heap").  2 MB is modelled:
    # more than the firmware can use (the ring stops at 32 s).
    "esp32s3_lsm6dso32": BoardHeap(2 * 1024 * 1024, "XIAO ESP32S3: 8 MB PSRAM, heap in PSRAM; 2 MB modelled"),
    # ESP32-S3 without PSRAM: 512 kB SRAM shared with ESP-IDF, the BLE stack and MicroPython's
    # own static data; since 1.22 the heap grows from what ESP-IDF has free (micropython
    # discussion #12316).  160 kB for the firmware is an estimate, not a reading.
    "atoms3_mpu6886": BoardHeap(160 * 1024, "AtomS3: no PSRAM; 160 kB estimated (ESP32-S3 512 kB SRAM less ESP-IDF and NimBLE)"),
}


class MainLoopUnavailable(RuntimeError):
    """Node or the MicroPython WebAssembly port is not installed."""


def _paths() -> tuple[Path, Path, Path]:
    import stridenode
    import stridewire

    firmware = Path(stridenode.__file__).resolve().parent.parent
    shared = Path(stridewire.__file__).resolve().parent.parent
    return firmware, shared, firmware.parent


def runner_counts(board_name: str, seconds: float = 12.0, seed: int = 5, speed_mps: float = 3.5) -> bytes:
    """The virtual runner's shin signals as the board's IMU would count them (int16 little-endian,
    ax ay az gx gy gz per sample at the part's configured full scales and rate)."""
    from stridenode.boards import load_board
    from stridenode.imu import probe
    from stridenode.sim_i2c import SimI2C, make_device

    from stridecue.sim import RunnerSettings, VirtualRunner

    board = load_board(board_name)
    device = make_device(board)
    imu = probe(SimI2C([device]), board)
    rate = imu.configure(board["imu"]["rate_hz"], board["imu"]["accel_g"], board["imu"]["gyro_dps"])
    stream = VirtualRunner(RunnerSettings(speed_mps=speed_mps), seed=seed).sensor(leg="left", mount="shin", rotation="random")
    stream.rate = float(rate)
    chunk = stream.read(int(seconds * rate))
    counts = np.hstack([np.asarray(chunk.acc) / device.accel_lsb, np.asarray(chunk.gyr) / device.gyro_lsb])
    counts = np.clip(np.rint(counts), -32768, 32767).astype("<i2")
    return counts.tobytes()


def _parse(stdout: str) -> dict:
    for line in stdout.splitlines():
        if line.startswith("MAINLOOP "):
            return json.loads(line[len("MAINLOOP "):])
    raise RuntimeError("the main-loop run printed no MAINLOOP line")


def _what_failed(stderr: str) -> str:
    """The lines of a failed run's stderr that say what happened.  Node prints the minified line of
    micropython.mjs where a JavaScript exception was thrown (tens of kilobytes of symbol names);
    the message and the Python traceback are the short lines around it."""
    short = [line for line in stderr.strip().splitlines() if len(line) <= 400]
    return " | ".join(short[-25:])[-3000:] or stderr.strip()[-1500:]


def _run_script(module: str, args: list, marker: str, board: str, timeout: float) -> dict:
    """Run firmware/tools/<module>.py's main(args) in the WebAssembly port; parse its marker line."""
    firmware, shared, root = _paths()
    runner = root / "tests" / "micropython" / "run.mjs"
    node = shutil.which("node")
    if node is None or not (root / "tests" / "micropython" / "node_modules" / "@micropython").exists():
        raise MainLoopUnavailable("the MicroPython WebAssembly port is not installed (run `make test` once)")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        (data / "counts.bin").write_bytes(runner_counts(board))
        script = Path(tmp) / "start.py"
        script.write_text("import sys\nsys.path.append('/sim')\nsys.path.append('/tools')\n"
                          f"from {module} import main\nawait main({args!r})\n")
        cmd = [node, str(runner), "--async", "--heap", str(256 * 1024),
               "--mount", f"{shared}:/lib", "--mount", f"{firmware}:/lib",
               "--mount", f"{firmware / 'sim'}:/sim", "--mount", f"{firmware / 'tools'}:/tools",
               "--mount", f"{data}:/data", str(script)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, cwd=tmp)
    if proc.returncode != 0:
        raise RuntimeError(f"{module}.py failed in MicroPython (exit {proc.returncode}): {_what_failed(proc.stderr)}")
    for line in proc.stdout.splitlines():
        if line.startswith(marker + " "):
            return json.loads(line[len(marker) + 1:])
    raise RuntimeError(f"{module}.py printed no {marker} line")


def run_mainloop(board: str, seconds: float = 60.0, heap_bytes: int | None = None, timeout: float | None = None,
                 **options: int) -> dict:
    """Run the firmware's main loop for `seconds` (real time) on a board's heap; options go to
    mainloop.py (mtu, stall_ms, stall_every_ms, interval_ms, per_event, warmup_ms)."""
    heap = heap_bytes if heap_bytes is not None else BOARD_HEAPS[board].bytes
    args = [board, str(seconds), str(heap), "/data/counts.bin", *(f"{k}={v}" for k, v in options.items())]
    return _run_script("mainloop", args, "MAINLOOP", board, timeout or seconds * 3 + 120)


def run_stranger(board: str = "esp32s3_lsm6dso32", heap_bytes: int | None = None) -> dict:
    """The owner bonds in the pairing window; a stranger tries after it; the owner comes back
    (firmware/tools/stranger.py)."""
    heap = heap_bytes if heap_bytes is not None else BOARD_HEAPS[board].bytes
    return _run_script("stranger", [board, str(heap), "/data/counts.bin"], "STRANGER", board, 180)
