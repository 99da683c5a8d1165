"""What a board says over USB: its MicroPython version (StrideCue needs 1.23 or newer) and the boot
report main.py writes to /boot.json at every start (firmware, board, ring seconds, free heap, or
why it stopped).  `stridecue flash` checks both; `stridecue doctor` shows them."""

from __future__ import annotations

import json
import subprocess
from typing import Callable

from stridecue.errors import UserError
from stridecue.device.usbtools import last_line as _last_line
from stridecue.device.usbtools import tool as _tool

Runner = Callable[[list[str]], subprocess.CompletedProcess]

MIN_MICROPYTHON = (1, 23)
UPDATE_HINT = ("update it: download ESP32_GENERIC_S3 %d.%d or newer from micropython.org/download/ESP32_GENERIC_S3 "
               "and write it with `esptool.py --chip esp32s3 write_flash -z 0 FILE.bin` (hardware/README.md step 3)") % MIN_MICROPYTHON
BOOT_REPORT = "/boot.json"  # written by main.py at every boot: firmware, board, ring_s, state, error, ...
BOOT_TRIES = 4  # reads of the boot report after the final reset (each read restarts the board)
BOOT_WAIT_S = 4.0  # after the board's USB port is back: main.py starts and writes its report


VERSION_CODE = "import sys;print(\"%d.%d.%d\" % sys.implementation.version[:3])"


def parse_version(text: str) -> tuple[int, ...] | None:
    try:
        return tuple(int(x) for x in text.strip().split(".")[:3])
    except ValueError:
        return None


def check_micropython(port: str, runner: "Runner") -> str:
    """The board's MicroPython version; UserError (one line, how to update) if older than
    MIN_MICROPYTHON or if the board does not answer."""
    done = runner(_tool("mpremote") + ["connect", port, "exec", VERSION_CODE])
    if done.returncode != 0:
        raise UserError(f"cannot look at the board on {port}: {_last_line(done.stderr or done.stdout)} "
                        "(does it run MicroPython? hardware/README.md step 3)")
    text = _last_line(done.stdout)
    version = parse_version(text)
    if version is None:
        raise UserError(f"unexpected answer from the board on {port} to its MicroPython version: {text!r}")
    if version < MIN_MICROPYTHON:
        need = ".".join(map(str, MIN_MICROPYTHON))
        raise UserError(f"the board on {port} runs MicroPython {text}, older than {need} (aioble forgets bonds at "
                        f"every restart before {need}): {UPDATE_HINT}")
    return text


# Read /boot.json on the board and print it as one JSON line (null when there is none).
BOOT_REPORT_CODE = ("import json\n"
                    "try:\n"
                    f"    r = json.load(open({BOOT_REPORT!r}))\n"
                    "except (OSError, ValueError):\n"
                    "    r = None\n"
                    "print(json.dumps(r))\n")


def read_boot_report(port: str, runner: "Runner") -> tuple[dict | None, str]:
    """(the board's boot report or None, why not).  Reading stops the running firmware for a
    moment, so the command ends with a reset that starts it again."""
    done = runner(_tool("mpremote") + ["connect", port, "exec", BOOT_REPORT_CODE, "reset"])
    if done.returncode != 0:
        return None, f"no answer ({_last_line(done.stderr or done.stdout)})"
    try:
        report = json.loads(_last_line(done.stdout))
    except ValueError:
        return None, f"unexpected answer {_last_line(done.stdout)!r}"
    if report is None:
        return None, f"no {BOOT_REPORT}"
    if not isinstance(report, dict):
        return None, f"{BOOT_REPORT} is not a JSON object"
    return report, ""


def describe_report(report: dict) -> str:
    """'StrideCue firmware 0.3.0 on atoms3_mpu6886 (MicroPython 1.24.1), ring 9.5 s, ...'"""
    ring = report.get("ring_s")
    heap = report.get("heap_free")
    parts = [f"StrideCue firmware {report.get('firmware', '?')} on {report.get('board', '?')} "
             f"(MicroPython {report.get('micropython', '?')})",
             f"ring {ring:g} s" if isinstance(ring, (int, float)) else "ring ? s"]
    if isinstance(heap, int):
        parts.append(f"{heap // 1024} kB heap free")
    if isinstance(report.get("boots"), int):
        parts.append(f"boot {report['boots']}")
    return ", ".join(parts)


def verify_boot(port: str, board: str | None, runner: "Runner", waiter: Callable[[str], None],
                pause: Callable[[float], None], tries: int = BOOT_TRIES) -> dict:
    """After the final reset: wait for the board, read its boot report (retrying: the firmware
    may still be starting), and return it if it says StrideCue runs on this board; else a one-
    line UserError naming what the report says (or that there is none)."""
    why = ""
    for attempt in range(tries):
        waiter(port)
        pause(BOOT_WAIT_S)
        report, why = read_boot_report(port, runner)
        if report is None:
            continue
        state = report.get("state")
        if state == "error":
            error = report.get("error") or "no message"
            raise UserError(f"the board boots but StrideCue stops: {error} ({BOOT_REPORT}: firmware "
                            f"{report.get('firmware', '?')}, board {report.get('board', '?')}, boot {report.get('boots', '?')}); "
                            f"see it with `mpremote connect {port} repl` and reset")
        if state != "running":
            why = f"{BOOT_REPORT} says state {state!r}"
            continue
        if board is not None and report.get("board") != board:
            raise UserError(f"the board reports board {report.get('board')!r}, not {board!r} ({BOOT_REPORT}); flash again")
        return report
    raise UserError(f"the board did not report a StrideCue boot after {tries} tries ({why}): it may be resetting "
                    f"in a loop; see its messages with `mpremote connect {port} repl`, then flash again")
