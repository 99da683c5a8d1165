"""`stridecue doctor`: each check with the computer faked (Bluetooth, audio, board, data
directory), the exit-status contract, the code it runs on a board (in real MicroPython), and the
real command on this machine."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from stridecue.device import doctor
from stridecue.device.doctor import INFO, OK, PROBLEM, WARN, Doctor, System
from stridecue.device.flash import SerialPort
from stridecue.link.client import FoundSensor

from mpy import run_micropython


class FakeSystem(System):
    """A healthy Linux computer with BlueZ, one adapter, sound, and no board; tests break parts."""

    def __init__(self, **kw):
        self.plat = "linux"
        self.files = {"/run/dbus/system_bus_socket": ""}
        self.dirs = {"/sys/class/bluetooth": ["hci0"], "/sys/class/rfkill": []}
        self.procs = {"systemd", "bluetoothd", "dbus-daemon"}
        self.tools = {"bluetoothctl", "espeak-ng", "aplay", "mpremote"}
        self.bluetoothctl_show = "Controller 00:11:22:33:44:55\n\tPowered: yes\n"
        self.bus_names = "NAME PID PROCESS\norg.freedesktop.DBus 1 dbus-daemon\n"
        self.who = ("ann", False, {"ann", "bluetooth", "dialout"}, {"ann", "bluetooth", "dialout", "audio"})
        self.ports = []
        self.writable_ports = True
        self.board_answer = None  # (rc, stdout, stderr) from mpremote exec
        self.board_code = None
        self.audio = ("sounddevice", None)
        self.scan_result = []
        self.scans = 0
        self.broken_modules = set()
        self.free = 50 << 30
        for k, v in kw.items():
            setattr(self, k, v)

    def platform(self):
        return self.plat

    def exists(self, path):
        return path in self.files or path in self.dirs or any(p.device == path for p in self.ports)

    def listdir(self, path):
        return list(self.dirs.get(path, []))

    def read_text(self, path):
        return self.files.get(path)

    def which(self, name):
        return f"/usr/bin/{name}" if name in self.tools else None

    def run(self, argv, timeout=10.0):
        if argv[:2] == ["bluetoothctl", "show"]:
            return 0, self.bluetoothctl_show, ""
        if argv[0] == "busctl":
            return 0, self.bus_names, ""
        raise AssertionError(f"unexpected command {argv}")

    def processes(self):
        return set(self.procs)

    def user(self):
        return self.who

    def access(self, path):
        return self.writable_ports

    def serial_ports(self):
        return list(self.ports)

    def mpremote(self, port, code, timeout=15.0):
        self.board_code = code
        if self.board_answer is None:
            raise AssertionError("no board should be asked")
        return self.board_answer

    def audio_output(self):
        return self.audio

    def ble_scan(self, timeout):
        self.scans += 1
        if isinstance(self.scan_result, Exception):
            raise self.scan_result
        return self.scan_result

    def import_module(self, name):
        if name in self.broken_modules:
            raise ImportError(f"No module named {name!r}")

    def disk_free(self, path):
        return self.free


def check(doc: Doctor, name: str):
    found = [c for c in doc.checks_ if c.name == name]
    assert len(found) == 1, (name, doc.checks_)
    return found[0]


def test_a_healthy_computer_is_ready_for_a_real_run(tmp_path):
    sensor = FoundSensor("C0:FF:EE:00:00:01", "StrideCue-LS", -58, 1, "0.1.0", 87)
    doc = Doctor(tmp_path, FakeSystem(scan_result=[sensor])).run()
    assert doc.exit_status_ == 0 and doc.real_ready_ and doc.sim_ready_
    assert all(c.status in (OK, INFO) for c in doc.checks_), doc.checks_
    assert "StrideCue-LS (-58 dBm, battery 87%)" in check(doc, "scan").detail
    assert check(doc, "board on USB").status == INFO
    assert "ready for a real run" in doc.verdict()


def test_this_kind_of_machine_no_bluez_no_adapter_no_sound(tmp_path):
    """A container like CI: simulated runs work (exit 1), each missing piece named with a fix."""
    system = FakeSystem(files={}, dirs={}, procs={"bash"}, tools={"espeak-ng"},
                        audio=(None, "no audio output (sounddevice: Error querying device -1; aplay: not installed; "
                                     "paplay: not installed): cues are logged and printed only"))
    doc = Doctor(tmp_path, system).run()
    assert doc.exit_status_ == 1 and doc.sim_ready_ and not doc.real_ready_
    assert check(doc, "D-Bus system bus").status == PROBLEM
    bluez = check(doc, "BlueZ service")
    assert bluez.status == PROBLEM and "apt install bluez" in bluez.fix
    adapter = check(doc, "Bluetooth adapter")
    assert adapter.status == PROBLEM and "dongle" in adapter.fix
    assert check(doc, "audio output").status == PROBLEM and "aplay -l" in check(doc, "audio output").fix
    assert system.scans == 0, "no scan when Bluetooth is known not to work"
    assert "real runs: NOT ready (D-Bus system bus, BlueZ service, Bluetooth adapter, audio output)" in doc.verdict()


def test_bluez_of_the_host_seen_from_a_container(tmp_path):
    shared = FakeSystem(procs={"bash"}, tools={"busctl", "bluetoothctl", "espeak-ng"},
                        bus_names="NAME PID PROCESS\norg.bluez - -\norg.freedesktop.DBus 1 dbus-daemon\n")
    doc = Doctor(tmp_path, shared).run()
    assert check(doc, "BlueZ service").status == OK and doc.exit_status_ == 0
    alone = Doctor(tmp_path, FakeSystem(procs={"bash"}, tools={"busctl"})).run()
    assert check(alone, "BlueZ service").status == PROBLEM


def test_rfkill_blocked_adapter(tmp_path):
    system = FakeSystem()
    system.dirs["/sys/class/rfkill"] = ["rfkill0", "rfkill1"]
    system.files.update({"/sys/class/rfkill/rfkill0/type": "wlan\n", "/sys/class/rfkill/rfkill0/soft": "1\n",
                         "/sys/class/rfkill/rfkill1/type": "bluetooth\n", "/sys/class/rfkill/rfkill1/name": "hci0\n",
                         "/sys/class/rfkill/rfkill1/soft": "1\n", "/sys/class/rfkill/rfkill1/hard": "0\n"})
    doc = Doctor(tmp_path, system).run()
    rfkill = check(doc, "rfkill")
    assert rfkill.status == PROBLEM and rfkill.fix == "rfkill unblock bluetooth" and "hci0" in rfkill.detail
    assert doc.exit_status_ == 1 and system.scans == 0


def test_powered_off_adapter(tmp_path):
    doc = Doctor(tmp_path, FakeSystem(bluetoothctl_show="Controller x\n\tPowered: no\n")).run()
    assert check(doc, "adapter power").fix == "bluetoothctl power on" and doc.exit_status_ == 1


def test_user_not_in_bluetooth_group_is_a_warning_with_the_command(tmp_path):
    doc = Doctor(tmp_path, FakeSystem(who=("bob", False, {"bob"}, {"bob", "bluetooth"}))).run()
    perm = check(doc, "permissions")
    assert perm.status == WARN and perm.fix.startswith("sudo usermod -aG bluetooth bob")
    assert doc.exit_status_ == 0


def test_scan_failure_is_a_problem(tmp_path):
    doc = Doctor(tmp_path, FakeSystem(scan_result=FileNotFoundError("No such file or directory"))).run()
    assert check(doc, "scan").status == PROBLEM and doc.exit_status_ == 1


def test_macos_asks_for_the_terminal_permission_and_scans(tmp_path):
    system = FakeSystem(plat="darwin", dirs={}, files={}, procs=set())
    doc = Doctor(tmp_path, system).run()
    assert "Privacy & Security > Bluetooth" in check(doc, "permission").fix
    assert system.scans == 1 and doc.exit_status_ == 0


def test_no_speech_is_a_warning_not_a_blocker(tmp_path):
    doc = Doctor(tmp_path, FakeSystem(tools={"bluetoothctl"})).run()
    speech = check(doc, "speech")
    assert speech.status == WARN and speech.fix == "sudo apt install espeak-ng" and doc.exit_status_ == 0


def test_unwritable_data_directory_blocks_even_a_simulated_run(tmp_path):
    (tmp_path / "a-file").write_text("x")
    doc = Doctor(tmp_path / "a-file" / "data", FakeSystem()).run()
    data = check(doc, "data directory")
    assert data.status == PROBLEM and "--data-dir" in data.fix
    assert doc.exit_status_ == 2 and not doc.sim_ready_


def test_low_disk_space_warns(tmp_path):
    doc = Doctor(tmp_path, FakeSystem(free=200 << 20)).run()
    assert check(doc, "data directory").status == WARN and doc.exit_status_ == 0


def test_broken_install_blocks_simulation(tmp_path):
    doc = Doctor(tmp_path, FakeSystem(broken_modules={"stridenode"})).run()
    assert check(doc, "virtual runner and sensor").status == PROBLEM and doc.exit_status_ == 2


BOARD = SerialPort("/dev/ttyACM0", 0x303A, 0x1001, "USB JTAG/serial debug unit")


def here() -> str:
    import stridenode

    return "%d.%d.%d" % tuple(stridenode.FW_VERSION[:3])


def answer(version="1.24.1", lib=True, config=None, firmware=None, boot=None):
    info = {"version": version, "machine": "Generic ESP32S3 module with ESP32S3", "lib": lib, "config": config,
            "firmware": firmware or (here() if lib else None), "boot": boot}
    return 0, json.dumps(info) + "\n", ""


def test_board_with_micropython_and_firmware(tmp_path):
    system = FakeSystem(ports=[BOARD], board_answer=answer(config={"board": "esp32s3_lsm6dso32", "name": "StrideCue-LS"}))
    board = check(Doctor(tmp_path, system).run(), "board on USB")
    assert board.status == OK
    assert "MicroPython 1.24.1" in board.detail and "name 'StrideCue-LS'" in board.detail and "Espressif" in board.detail


def test_board_with_older_firmware_says_how_to_reflash(tmp_path):
    config = {"board": "atoms3_mpu6886", "name": "StrideCue-RS"}
    board = check(Doctor(tmp_path, FakeSystem(ports=[BOARD], board_answer=answer(config=config, firmware="0.0.1"))).run(), "board on USB")
    assert board.status == WARN and f"StrideCue firmware 0.0.1 installed" in board.detail and f"has firmware {here()}" in board.detail
    assert board.fix == "stridecue flash --board atoms3_mpu6886 --name StrideCue-RS"


def test_board_without_firmware_says_how_to_flash(tmp_path):
    board = check(Doctor(tmp_path, FakeSystem(ports=[BOARD], board_answer=answer(lib=False))).run(), "board on USB")
    assert board.status == WARN and board.fix.startswith("stridecue flash --board")


def test_board_problems_are_reported_but_do_not_change_the_exit_status(tmp_path):
    old = Doctor(tmp_path, FakeSystem(ports=[BOARD], board_answer=answer(version="1.19.1"))).run()
    assert check(old, "board on USB").status == PROBLEM and "older than 1.23" in check(old, "board on USB").detail
    assert old.exit_status_ == 0 and not old.flash_ready_ and "before `stridecue flash`" in old.verdict()
    busy = Doctor(tmp_path, FakeSystem(ports=[BOARD], board_answer=(1, "", "mpremote: failed to access /dev/ttyACM0 (it may be in use by another program)\n"))).run()
    assert "close other programs" in check(busy, "board on USB").fix
    no_mp = Doctor(tmp_path, FakeSystem(ports=[BOARD], board_answer=(1, "", "mpremote: could not enter raw repl\n"))).run()
    assert "install MicroPython" in check(no_mp, "board on USB").fix


@pytest.mark.parametrize("version", ["1.22.2", "1.22.0"])
def test_a_board_older_than_1_23_is_a_problem_with_how_to_update(tmp_path, version):
    config = {"board": "esp32s3_lsm6dso32", "name": "StrideCueLS"}
    board = check(Doctor(tmp_path, FakeSystem(ports=[BOARD], board_answer=answer(version=version, config=config))).run(), "board on USB")
    assert board.status == PROBLEM and f"MicroPython {version}" in board.detail and "older than 1.23" in board.detail
    assert "ESP32_GENERIC_S3 1.23 or newer" in board.fix and "write_flash" in board.fix and "\n" not in board.fix
    ok = check(Doctor(tmp_path, FakeSystem(ports=[BOARD], board_answer=answer(version="1.23.0", config=config))).run(), "board on USB")
    assert ok.status != PROBLEM


BOOT = {"firmware": "0.3.0", "board": "atoms3_mpu6886", "ring_s": 9.5, "heap_free": 123456, "micropython": "1.24.1",
        "state": "running", "error": None, "boots": 3}


def test_the_board_s_boot_report_is_shown(tmp_path):
    config = {"board": "atoms3_mpu6886", "name": "StrideCueRS"}
    board = check(Doctor(tmp_path, FakeSystem(ports=[BOARD], board_answer=answer(config=config, boot=BOOT))).run(), "board on USB")
    assert board.status == OK
    assert "last boot: StrideCue firmware 0.3.0 on atoms3_mpu6886 (MicroPython 1.24.1), ring 9.5 s, 120 kB heap free, boot 3, state running" in board.detail
    failed = dict(BOOT, state="error", error="ImuError: no MPU6886 found")
    board = check(Doctor(tmp_path, FakeSystem(ports=[BOARD], board_answer=answer(config=config, boot=failed))).run(), "board on USB")
    assert board.status == WARN and "state error (ImuError: no MPU6886 found)" in board.detail
    assert "mpremote connect /dev/ttyACM0 repl" in board.fix and "stridecue flash --board atoms3_mpu6886" in board.fix
    none = check(Doctor(tmp_path, FakeSystem(ports=[BOARD], board_answer=answer(config=config))).run(), "board on USB")
    assert "no boot report" in none.detail


def test_serial_port_without_permission_names_the_dialout_group(tmp_path):
    board = check(Doctor(tmp_path, FakeSystem(ports=[BOARD], writable_ports=False)).run(), "board on USB")
    assert board.status == PROBLEM and board.fix.startswith("sudo usermod -aG dialout ann")


def test_the_board_query_runs_in_micropython(tmp_path):
    """The code the doctor sends with `mpremote exec` works on MicroPython (here the WebAssembly
    port standing in for the board), on a board with StrideCue installed and on a bare one."""
    system = FakeSystem(ports=[BOARD], board_answer=answer())
    Doctor(tmp_path, system).run()
    installed = ("import os, json\nos.mkdir('/lib/stridenode')\n"
                 f"open('/lib/stridenode/__init__.py', 'w').write('FW_VERSION = (0, 0, 7)')\n"
                 "open('/config.json', 'w').write(json.dumps({'board': 'atoms3_mpu6886', 'name': 'StrideCue-RS'}))\n")
    for setup, expect_config in (("", None), (installed, {"board": "atoms3_mpu6886", "name": "StrideCue-RS"})):
        boot = "import os\ntry:\n    os.mkdir('/lib')\nexcept OSError:\n    pass\n"
        out = run_micropython(boot + setup + system.board_code, mounts=())
        info = json.loads(out.strip().splitlines()[-1])
        assert info["config"] == expect_config and info["lib"] is (expect_config is not None)
        assert info["firmware"] == ("0.0.7" if expect_config else None)
        assert info["boot"] is None
        system.board_answer = (0, out, "")
        board = check(Doctor(tmp_path, system).run(), "board on USB")
        assert board.status in (OK, WARN) and f"MicroPython {info['version']}" in board.detail


def test_text_and_json_output(tmp_path):
    parser = argparse.ArgumentParser()
    doctor.configure(parser)
    out = io.StringIO()
    with redirect_stdout(out):
        rc = doctor.main(parser.parse_args(["--scan", "0"]), tmp_path, system=FakeSystem(tools=set()))
    text = out.getvalue()
    assert rc == 0
    assert "WARN" in text and "fix: sudo apt install espeak-ng" in text and "skipped (--scan 0)" in text
    out = io.StringIO()
    with redirect_stdout(out):
        rc = doctor.main(parser.parse_args(["--json"]), tmp_path, system=FakeSystem(dirs={}))
    report = json.loads(out.getvalue())
    assert rc == 1 == report["exit_status"] and report["simulated_ready"] and not report["real_ready"]
    assert {"area", "name", "status", "detail", "fix", "blocks"} <= set(report["checks"][0])


def test_on_this_machine(tmp_path):
    """The real command here: no traceback, an answer for every area, and what is missing named."""
    out = subprocess.run([sys.executable, "-m", "stridecue.cli", "--data-dir", str(tmp_path), "doctor", "--json", "--scan", "1"],
                         capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert out.returncode in (0, 1), out.stderr
    assert "Traceback" not in out.stderr
    report = json.loads(out.stdout)
    areas = {c["area"] for c in report["checks"]}
    assert areas == {"data", "simulation", "bluetooth", "audio", "board"}
    assert report["simulated_ready"] is True
    names = {c["name"]: c for c in report["checks"]}
    if sys.platform.startswith("linux") and not list(Path("/sys/class/bluetooth").glob("hci*")):
        assert names["Bluetooth adapter"]["status"] == PROBLEM and report["exit_status"] == 1
    if not doctor.System().serial_ports():
        assert "no board attached" in names["board on USB"]["detail"]
