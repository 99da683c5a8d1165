"""Check this computer for a StrideCue run: Bluetooth, audio, the board on USB, the data directory.

Each line is OK, WARN (works, but worth fixing) or PROBLEM (a real run will not work), with a
concrete fix.  Exit status: 0 = ready for a real run (Bluetooth usable, cues audible, data
directory writable); 1 = a real run is not possible yet, but `stridecue run --simulate` works;
2 = not even a simulated run works (the data directory or the firmware's own modules).
A board on USB is only needed for `stridecue flash`: none attached is not a problem, and a
problem with an attached board is reported but does not change the exit status.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from stridecue.device.board_report import BOOT_REPORT, MIN_MICROPYTHON, UPDATE_HINT, describe_report  # MIN_MICROPYTHON 1.23: aioble keeps bonds

OK, WARN, PROBLEM, INFO = "ok", "warn", "problem", "info"
LABELS = {OK: "OK", WARN: "WARN", PROBLEM: "PROBLEM", INFO: "--"}
LOW_DISK_BYTES = 1 << 30


@dataclass
class Check:
    area: str  # "bluetooth", "audio", "board", "data", "simulation"
    name: str
    status: str  # OK, WARN, PROBLEM or INFO
    detail: str
    fix: str | None = None
    blocks: str = "real"  # what a PROBLEM here blocks: "real" runs, or "all" (simulated too)


class System:
    """Everything the doctor asks of the computer, one method each, so tests can fake any of it."""

    def platform(self) -> str:
        return sys.platform

    def exists(self, path: str) -> bool:
        return os.path.exists(path)

    def listdir(self, path: str) -> list[str]:
        try:
            return sorted(os.listdir(path))
        except OSError:
            return []

    def read_text(self, path: str) -> str | None:
        try:
            return Path(path).read_text()
        except OSError:
            return None

    def which(self, name: str) -> str | None:
        return shutil.which(name)

    def run(self, argv: list[str], timeout: float = 10.0) -> tuple[int, str, str]:
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as e:
            return 127, "", str(e)
        return out.returncode, out.stdout, out.stderr

    def processes(self) -> set[str]:
        """Names of running processes (Linux /proc)."""
        names = set()
        for pid in self.listdir("/proc"):
            if pid.isdigit():
                comm = self.read_text(f"/proc/{pid}/comm")
                if comm:
                    names.add(comm.strip())
        return names

    def user(self) -> tuple[str, bool, set[str], set[str]]:
        """(user name, is root, the user's groups, groups that exist on this system)."""
        import getpass

        user = getpass.getuser()
        try:
            import grp

            mine = {grp.getgrgid(g).gr_name for g in os.getgroups()}
            every = {g.gr_name for g in grp.getgrall()}
        except (ImportError, KeyError):
            mine, every = set(), set()
        return user, hasattr(os, "geteuid") and os.geteuid() == 0, mine, every

    def access(self, path: str) -> bool:
        return os.access(path, os.R_OK | os.W_OK)

    def serial_ports(self):
        from stridecue.device.flash import serial_ports

        return serial_ports()

    def mpremote(self, port: str, code: str, timeout: float = 15.0) -> tuple[int, str, str]:
        """Run code on the board, then reset it: asking stops a running firmware, the reset
        starts it again (mpremote's reset returns before the board restarts)."""
        from stridecue.device.flash import _tool

        return self.run(_tool("mpremote") + ["connect", port, "exec", code, "reset"], timeout)

    def audio_output(self) -> tuple[str | None, str | None]:
        """(the output a run would use, or None; why not / a note).  The run's own code decides."""
        from stridecue.coach.audio import open_player

        player, note = open_player("auto")
        name = None if type(player).__name__ == "NullPlayer" else getattr(player, "name", type(player).__name__)
        player.close()
        return name, note

    def ble_scan(self, timeout: float) -> list:
        import asyncio

        from stridecue.link.client import scan

        return asyncio.run(asyncio.wait_for(scan(timeout), timeout + 10))

    def import_module(self, name: str) -> None:
        import importlib

        importlib.import_module(name)

    def disk_free(self, path: str) -> int:
        return shutil.disk_usage(path).free


def _local_firmware_version() -> str | None:
    try:
        from stridenode import FW_VERSION
    except ImportError:
        return None
    return "%d.%d.%d" % tuple(FW_VERSION[:3])


def _last_line(text: str) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[-1] if lines else ""


class Doctor:
    """Runs every check.  checks_: list[Check]; real_ready_, sim_ready_, flash_ready_: bool;
    exit_status_: 0 real run ready, 1 only simulated runs, 2 not even those."""

    def __init__(self, base: Path, system: System | None = None, scan_s: float = 3.0):
        self.base = Path(base)
        self.system = system or System()
        self.scan_s = scan_s

    def run(self) -> "Doctor":
        self.checks_: list[Check] = []
        self._data()
        self._simulation()
        self._bluetooth()
        self._audio()
        self._board()
        problems = [c for c in self.checks_ if c.status == PROBLEM]
        self.sim_ready_ = not any(c.blocks == "all" for c in problems)
        self.real_ready_ = not any(c.blocks in ("real", "all") for c in problems)
        self.flash_ready_ = not any(c.blocks == "flash" for c in problems)
        self.exit_status_ = 0 if self.real_ready_ else 1 if self.sim_ready_ else 2
        return self

    def add(self, area, name, status, detail, fix=None, blocks="real") -> Check:
        check = Check(area, name, status, detail, fix, blocks)
        self.checks_.append(check)
        return check

    # -- data directory --------------------------------------------------------------------
    def _data(self) -> None:
        s, base = self.system, self.base
        try:
            base.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=base, prefix=".doctor-", delete=True) as f:
                f.write(b"x")
                f.flush()
        except OSError as e:
            self.add("data", "data directory", PROBLEM, f"{base} is not writable ({e.strerror or e})",
                     "choose another with --data-dir DIR or $STRIDECUE_DATA_DIR, or fix its permissions", blocks="all")
            return
        free = s.disk_free(str(base))
        detail = f"{base} writable, {free / 1e9:.1f} GB free"
        if free < LOW_DISK_BYTES:
            self.add("data", "data directory", WARN, detail + " (a long run with two sensors can need hundreds of MB)",
                     "free some disk space or use --data-dir on a larger disk")
        else:
            self.add("data", "data directory", OK, detail)

    # -- the simulation (firmware modules on the host) ------------------------------------
    def _simulation(self) -> None:
        missing = []
        for module in ("stridewire", "stridenode", "stridecue.sim"):
            try:
                self.system.import_module(module)
            except Exception as e:
                missing.append(f"{module} ({_last_line(e) or type(e).__name__})")
        if missing:
            self.add("simulation", "virtual runner and sensor", PROBLEM, "cannot import " + ", ".join(missing),
                     "reinstall: pip install -e . in the StrideCue checkout", blocks="all")
        else:
            self.add("simulation", "virtual runner and sensor", OK, "`stridecue run --simulate` can run the firmware's own code")

    # -- Bluetooth ------------------------------------------------------------------------
    def _bluetooth(self) -> None:
        plat = self.system.platform()
        if plat.startswith("linux"):
            ready = self._bluez()
        elif plat == "darwin":
            self.add("bluetooth", "permission", INFO, "macOS asks once whether your terminal may use Bluetooth",
                     "if scans find nothing: System Settings > Privacy & Security > Bluetooth, allow your terminal app")
            ready = True
        elif plat.startswith("win"):
            self.add("bluetooth", "Bluetooth radio", INFO, "Windows 10 (build 16299) or newer with Bluetooth LE is needed",
                     "if scans fail: Settings > Bluetooth & devices, turn Bluetooth on; update the adapter's driver")
            ready = True
        else:
            self.add("bluetooth", "Bluetooth", WARN, f"platform {plat!r} is not one bleak supports (Linux, macOS, Windows)")
            ready = False
        if ready:
            self._scan()

    def _bluez(self) -> bool:
        s = self.system
        ready = True
        bus = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/run/dbus/system_bus_socket")
        socket_path = bus.split("path=", 1)[1].split(",")[0] if "path=" in bus else None
        if socket_path and not s.exists(socket_path):
            self.add("bluetooth", "D-Bus system bus", PROBLEM, f"no system bus at {socket_path} (bleak talks to BlueZ over D-Bus)",
                     "start D-Bus (sudo systemctl start dbus; in a container, share the host's /run/dbus)")
            ready = False
        else:
            self.add("bluetooth", "D-Bus system bus", OK, f"system bus at {socket_path or bus}")

        if "bluetoothd" in s.processes():
            self.add("bluetooth", "BlueZ service", OK, "bluetoothd is running")
        elif ready and s.which("busctl") and "org.bluez" in s.run(["busctl", "--system", "--no-pager", "list"], timeout=5)[1]:
            # a container sharing the host's D-Bus sees BlueZ on the bus, not its process
            self.add("bluetooth", "BlueZ service", OK, "org.bluez answers on the system bus")
        else:
            installed = s.which("bluetoothd") or s.exists("/usr/libexec/bluetooth/bluetoothd") or s.exists("/usr/lib/bluetooth/bluetoothd")
            fix = "sudo systemctl enable --now bluetooth" if installed else "sudo apt install bluez && sudo systemctl enable --now bluetooth"
            self.add("bluetooth", "BlueZ service", PROBLEM, "bluetoothd is not running" + ("" if installed else " (BlueZ is not installed)"), fix)
            ready = False

        adapters = [a for a in s.listdir("/sys/class/bluetooth") if a.startswith("hci") and ":" not in a]
        if not adapters:
            self.add("bluetooth", "Bluetooth adapter", PROBLEM, "no Bluetooth adapter (no hci device in /sys/class/bluetooth)",
                     "use a computer with Bluetooth 4.0+ (LE), or plug in a USB Bluetooth LE dongle; a VM or container needs the adapter passed through")
            ready = False
        else:
            self.add("bluetooth", "Bluetooth adapter", OK, ", ".join(adapters))

        for dev in s.listdir("/sys/class/rfkill"):
            if (s.read_text(f"/sys/class/rfkill/{dev}/type") or "").strip() != "bluetooth":
                continue
            name = (s.read_text(f"/sys/class/rfkill/{dev}/name") or dev).strip()
            if (s.read_text(f"/sys/class/rfkill/{dev}/hard") or "0").strip() == "1":
                self.add("bluetooth", "rfkill", PROBLEM, f"{name} is switched off in hardware",
                         "turn on the wireless switch or key (airplane mode) of the computer")
                ready = False
            elif (s.read_text(f"/sys/class/rfkill/{dev}/soft") or "0").strip() == "1":
                self.add("bluetooth", "rfkill", PROBLEM, f"{name} is blocked (rfkill)", "rfkill unblock bluetooth")
                ready = False

        if adapters and ready and s.which("bluetoothctl"):
            rc, out, _ = s.run(["bluetoothctl", "show"], timeout=5)
            if rc == 0 and "Powered: no" in out:
                self.add("bluetooth", "adapter power", PROBLEM, "the adapter is off", "bluetoothctl power on")
                ready = False

        user, root, mine, every = s.user()
        if root:
            self.add("bluetooth", "permissions", OK, "running as root")
        elif "bluetooth" in every and "bluetooth" not in mine:
            self.add("bluetooth", "permissions", WARN,
                     f"{user} is not in the bluetooth group (some distributions' BlueZ policy lets only that group scan)",
                     f"sudo usermod -aG bluetooth {user}, then log out and in")
        else:
            self.add("bluetooth", "permissions", OK, f"{user}" + (" is in the bluetooth group" if "bluetooth" in mine else ": BlueZ's default policy applies"))
        return ready

    def _scan(self) -> None:
        if self.scan_s <= 0:
            self.add("bluetooth", "scan", INFO, "skipped (--scan 0)")
            return
        try:
            found = self.system.ble_scan(self.scan_s)
        except Exception as e:  # bleak raises platform-specific errors
            from stridecue.live.session import _bluetooth_problem

            self.add("bluetooth", "scan", PROBLEM, f"a {self.scan_s:g} s Bluetooth LE scan failed: {_bluetooth_problem(e)}",
                     "fix the Bluetooth lines above; on Linux, `bluetoothctl scan on` should list devices")
            return
        if found:
            names = ", ".join(f"{f.name} ({f.rssi} dBm" + (f", battery {f.battery_pct}%" if f.battery_pct is not None else "") + ")" for f in found)
            self.add("bluetooth", "scan", OK, f"StrideCue sensors in range: {names}")
        else:
            self.add("bluetooth", "scan", INFO, f"scanning works; no StrideCue sensor in range in {self.scan_s:g} s",
                     "switch the sensor on (unplugged from USB, battery charged) and keep it within a few metres")

    # -- audio ----------------------------------------------------------------------------
    def _audio(self) -> None:
        s = self.system
        plat = s.platform()
        try:
            output, note = s.audio_output()
        except Exception as e:
            output, note = None, _last_line(e) or type(e).__name__
        if output:
            self.add("audio", "audio output", OK, f"cues play through {output}")
        else:
            note = note or "none found"
            if plat.startswith("linux"):
                if "PortAudio library not found" in note:
                    fix = "sudo apt install libportaudio2 (or alsa-utils for aplay)"
                elif "querying device" in note or "no default output" in note.lower() or "aplay: not installed" in note:
                    fix = ("no sound device is visible: connect headphones or a speaker, check `aplay -l` "
                           "(sudo apt install alsa-utils), and that your user is in the audio group or runs PipeWire/PulseAudio")
                else:
                    fix = "check an output device exists (aplay -l) and is not muted (alsamixer)"
            elif plat == "darwin":
                fix = "pip install sounddevice (brings PortAudio); check the output device in System Settings > Sound"
            else:
                fix = "pip install sounddevice (brings PortAudio); check the default playback device in Sound settings"
            self.add("audio", "audio output", PROBLEM, note if note.startswith("no audio output") else f"no audio output ({note})", fix)
        if s.which("espeak-ng"):
            self.add("audio", "speech", OK, "espeak-ng speaks the cues")
        else:
            fix = {"darwin": "brew install espeak-ng", "win32": "install espeak-ng from its releases page and put it on PATH"}.get(
                plat, "sudo apt install espeak-ng")
            self.add("audio", "speech", WARN, "espeak-ng is not installed: cues are tones instead of words", fix)

    # -- the board on USB -----------------------------------------------------------------
    def _board(self) -> None:
        from stridecue.device.flash import KNOWN_VIDS, board_ports

        s = self.system
        try:
            ports = board_ports(s.serial_ports())
        except Exception as e:
            self.add("board", "board on USB", WARN, f"cannot list serial ports ({_last_line(e)})")
            return
        if not ports:
            self.add("board", "board on USB", INFO, "no board attached (only needed for `stridecue flash`)",
                     "to flash, plug the board in with a USB data cable (not a charge-only one); "
                     "a sensor in deep sleep does not show on USB: press its reset button")
            return
        for port in ports:
            label = f"{port.device} ({KNOWN_VIDS.get(port.vid, port.description or 'USB serial')})"
            if s.platform().startswith("linux") and s.exists(port.device) and not s.access(port.device):
                user = s.user()[0]
                self.add("board", "board on USB", PROBLEM, f"{label}: no permission to open it",
                         f"sudo usermod -aG dialout {user}, then log out and in")
                continue
            self._micropython(port.device, label)

    def _micropython(self, device: str, label: str) -> None:
        rc, out, err = self.system.mpremote(device, _board_info_code())
        if rc != 0:
            self._no_micropython(label, rc, out, err)
            return
        try:
            info = json.loads(_last_line(out))
        except ValueError:
            self.add("board", "board on USB", WARN, f"{label}: unexpected answer {_last_line(out)!r}")
            return
        version = tuple(int(x) for x in info["version"].split("."))
        detail = f"{label}: MicroPython {info['version']} on {info['machine']}"
        config = info.get("config") or {}
        installed = bool(info.get("lib") and config)
        on_board = info.get("firmware")
        here = _local_firmware_version()
        reflash = f"stridecue flash --board {config.get('board')} --name {config.get('name')}"
        boot = info.get("boot") if isinstance(info.get("boot"), dict) else None
        firmware = _firmware_detail(config, installed, on_board, boot)
        if version < MIN_MICROPYTHON:
            need = ".".join(map(str, MIN_MICROPYTHON))
            self.add("board", "board on USB", PROBLEM, detail + f" (older than {need}: aioble forgets bonds at every restart)",
                     UPDATE_HINT + ", then `stridecue flash`", blocks="flash")
        elif installed and boot is not None and boot.get("state") == "error":
            self.add("board", "board on USB", WARN, detail + firmware,
                     f"see the error with `mpremote connect {device} repl` (reset the board there), then {reflash}")
        elif not installed:
            self.add("board", "board on USB", WARN, detail + firmware, "stridecue flash --board BOARD --name NAME")
        elif here and on_board != here:
            self.add("board", "board on USB", WARN, detail + firmware + f"; this StrideCue has firmware {here}", reflash)
        else:
            self.add("board", "board on USB", OK, detail + firmware)

    def _no_micropython(self, label: str, rc: int, out: str, err: str) -> None:
        """The board gave no MicroPython answer: why, and the likely fix (a busy port, or no MicroPython)."""
        reason = _last_line(err) or _last_line(out) or f"exit status {rc}"
        fix = ("close other programs using the port (a serial monitor, another mpremote) and try again"
               if "in use" in reason or "busy" in reason.lower() else
               "install MicroPython on it (ESP32_GENERIC_S3 firmware, see hardware/README.md), then `stridecue flash`")
        self.add("board", "board on USB", PROBLEM, f"{label}: no MicroPython answer ({reason})", fix, blocks="flash")

    # -- report ---------------------------------------------------------------------------
    def verdict(self) -> str:
        blocking = [c.name for c in self.checks_ if c.status == PROBLEM and c.blocks in ("real", "all")]
        flash = "" if self.flash_ready_ else "; the board on USB needs attention before `stridecue flash`"
        if self.real_ready_:
            return "ready for a real run (and for `stridecue run --simulate`)" + flash
        if self.sim_ready_:
            return f"simulated runs: ready; real runs: NOT ready ({', '.join(dict.fromkeys(blocking))}); fixes above" + flash
        return "NOT ready, not even for a simulated run; fixes above" + flash


def _board_info_code() -> str:
    """MicroPython code that prints, as one JSON line, the board's MicroPython version and machine,
    whether StrideCue's library and config are there, its boot report and firmware version."""
    return ("import sys, os, json\n"
            "v = sys.implementation.version\n"
            "info = {'version': '%d.%d.%d' % v[:3], 'machine': getattr(sys.implementation, '_machine', '?'),"
            " 'lib': 'stridenode' in (os.listdir('/lib') if 'lib' in os.listdir('/') else [])}\n"
            "try:\n"
            "    info['config'] = json.load(open('/config.json'))\n"
            "except Exception:\n"
            "    info['config'] = None\n"
            "try:\n"
            f"    info['boot'] = json.load(open({BOOT_REPORT!r}))\n"
            "except Exception:\n"
            "    info['boot'] = None\n"
            "try:\n"
            "    from stridenode import FW_VERSION\n"
            "    info['firmware'] = '%d.%d.%d' % FW_VERSION[:3]\n"
            "except Exception:\n"
            "    info['firmware'] = None\n"
            "print(json.dumps(info))\n")


def _firmware_detail(config: dict, installed: bool, on_board: str | None, boot: dict | None) -> str:
    """The StrideCue part of the board's line: installed or not, its version, its last boot."""
    firmware = (f"; StrideCue firmware {on_board or '?'} installed (board {config.get('board')}, name {config.get('name')!r})"
                if installed else "; StrideCue firmware not installed")
    if installed and boot is not None:
        firmware += f"; last boot: {describe_report(boot)}, state {boot.get('state', '?')}"
        if boot.get("state") == "error":
            firmware += f" ({boot.get('error') or 'no message'})"
    elif installed:
        firmware += f"; no boot report ({BOOT_REPORT}): it has not booted since it was flashed, or its firmware predates the report"
    return firmware


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = __doc__.split("\n\n", 1)[1]
    parser.add_argument("--scan", type=float, default=3.0, metavar="S",
                        help="seconds of Bluetooth LE scanning for sensors when Bluetooth looks usable (0: skip; default 3)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def main(args: argparse.Namespace, base: Path, *, system: System | None = None) -> int:
    from stridecue.errors import UserError

    if args.scan < 0:
        raise UserError("--scan must be 0 or more seconds")
    doctor = Doctor(base, system, scan_s=args.scan).run()
    if args.json:
        print(json.dumps({"exit_status": doctor.exit_status_, "real_ready": doctor.real_ready_,
                          "simulated_ready": doctor.sim_ready_, "checks": [asdict(c) for c in doctor.checks_]}, indent=2))
        return doctor.exit_status_
    from stridecue import __version__

    print(f"stridecue doctor: stridecue {__version__}, Python {platform.python_version()}, {platform.system()} {platform.release()}")
    width = max(len(c.name) for c in doctor.checks_)
    for c in doctor.checks_:
        print(f"  {LABELS[c.status]:<8} {c.name:<{width}}  {c.detail}")
        if c.fix and c.status != OK:
            print(f"  {'':<8} {'':<{width}}  {'hint' if c.status == INFO else 'fix'}: {c.fix}")
    print(doctor.verdict())
    return doctor.exit_status_
