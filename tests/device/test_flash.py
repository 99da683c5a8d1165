"""`stridecue flash`: the plan of mpremote commands, the dry run, the code it runs on the board
(executed here in real MicroPython), compiling with mpy-cross, and the errors with no board."""

from __future__ import annotations

import argparse
import io
import json
import re
import shlex
import shutil
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from stridecue.device import flash
from stridecue.errors import UserError
from stridecue.device.flash import FirmwareTree, SerialPort

from mpy import run_micropython

ROOT = Path(__file__).resolve().parents[2]
XIAO = SerialPort("/dev/ttyACM0", 0x303A, 0x1001, "USB JTAG/serial debug unit")


def fake_tree(tmp_path: Path, modules=("node.py", "imu.py", "fusion.py")) -> FirmwareTree:
    fw, shared = tmp_path / "firmware", tmp_path / "shared"
    (fw / "stridenode").mkdir(parents=True)
    (fw / "boards").mkdir()
    (shared / "stridewire").mkdir(parents=True)
    (fw / "main.py").write_text("import stridenode.node\n")
    for m in ("__init__.py", *modules):
        (fw / "stridenode" / m).write_text(f"NAME = {m!r}\n")
    (fw / "stridenode" / "notes.txt").write_text("not a module")
    (shared / "stridewire" / "__init__.py").write_text("PROTOCOL_VERSION = 1\n")
    for board in ("esp32s3_lsm6dso32", "atoms3_mpu6886"):
        (fw / "boards" / f"{board}.json").write_text((ROOT / "firmware" / "boards" / f"{board}.json").read_text())
    return FirmwareTree(fw, shared)


def args(**kw) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    flash.configure(parser)
    argv = []
    for key, value in kw.items():
        opt = "--" + key.replace("_", "-")
        argv += [opt] if value is True else [opt, str(value)]
    return parser.parse_args(argv)


def refuse_to_run(argv):
    raise AssertionError(f"ran {argv}")


def dry_run(tree, tmp_path, ports=(), **kw):
    out = io.StringIO()
    with redirect_stdout(out):
        rc = flash.main(args(dry_run=True, **kw), tmp_path / "data", tree=tree, ports=lambda: list(ports), runner=refuse_to_run)
    assert rc == 0
    commands = [shlex.split(line) for line in out.getvalue().splitlines() if line and not line.startswith("#")]
    return out.getvalue(), commands


def after_connect(argv):
    i = argv.index("connect")
    return argv[i + 1], argv[i + 2:]


def test_dry_run_lists_every_file_of_the_tree_and_runs_nothing(tmp_path):
    tree = fake_tree(tmp_path)
    text, commands = dry_run(tree, tmp_path, ports=[XIAO], board="esp32s3_lsm6dso32", name="StrideCue-LS")
    assert len(commands) == 10 and "none run" in text
    ports = {after_connect(c)[0] for c in commands}
    assert ports == {"/dev/ttyACM0"}
    verbs = [after_connect(c)[1] for c in commands]
    assert verbs[0][0] == "exec"
    assert verbs[1] == ["mip", "install", "aioble"]
    copied = {}
    for v in verbs:
        if v[:2] == ["fs", "cp"]:
            for src in v[2:-1]:
                copied[Path(src).resolve()] = v[-1]
    fw = tree.firmware
    for module in (fw / "stridenode").glob("*.py"):
        assert copied.pop(module.resolve()) == ":/lib/stridenode/"
    assert copied.pop((fw / "main.py").resolve()) == ":/main.py"
    assert copied.pop(tree.wire_py.resolve()) == ":/lib/stridewire/__init__.py"
    assert copied.pop((fw / "boards" / "esp32s3_lsm6dso32.json").resolve()) == ":/lib/boards/esp32s3_lsm6dso32.json"
    assert copied == {}, "nothing else (not notes.txt, not the other board)"
    # main.py goes last before the reset, so a half-flashed board never boots into half a firmware
    assert verbs[-2][-1] == ":/main.py" and verbs[-1] == ["reset"]


def test_dry_run_with_no_board_attached_uses_auto_and_says_so(tmp_path, capsys):
    tree = fake_tree(tmp_path)
    _, commands = dry_run(tree, tmp_path, ports=[SerialPort("/dev/ttyS0")], board="atoms3_mpu6886")
    assert {after_connect(c)[0] for c in commands} == {"auto"}
    assert "no board attached" in capsys.readouterr().err


def test_a_name_too_long_to_advertise_whole_is_noted(tmp_path, capsys):
    tree = fake_tree(tmp_path)
    dry_run(tree, tmp_path, ports=[XIAO], board="atoms3_mpu6886", name="StrideCue-LS")
    err = capsys.readouterr().err
    assert "scans will show 'StrideCue-LS' as 'StrideCue-L'" in err and "StrideCueLS" in err
    dry_run(tree, tmp_path, ports=[XIAO], board="atoms3_mpu6886", name="StrideCueLS")
    assert "scans will show" not in capsys.readouterr().err
    assert flash.advertised_name("Läufer-Links") == "Läufer-Lin"  # never half a UTF-8 character


def test_no_mip_skips_the_aioble_install(tmp_path):
    _, commands = dry_run(fake_tree(tmp_path), tmp_path, ports=[XIAO], board="atoms3_mpu6886", no_mip=True)
    assert not any("mip" in c for c in commands) and len(commands) == 9


def board_script(commands) -> tuple[str, str, str]:
    """prepare, config and check scripts (the secret's, between config and check, apart)."""
    execs = [after_connect(c)[1][1] for c in commands if after_connect(c)[1][0] == "exec"]
    assert len(execs) == 4 and "/secret.json" in execs[2]
    return execs[0], execs[1], execs[3]


@pytest.mark.parametrize("name", ['Ann\'s "left" shin', "Läufer-LS ü"])
def test_the_code_run_on_the_board_works_in_micropython(tmp_path, name):
    """The prepare and config scripts run in the real MicroPython port on a 'board' that holds an
    older firmware: stale modules go, aioble stays, /config.json reads back."""
    tree = fake_tree(tmp_path)
    _, commands = dry_run(tree, tmp_path, ports=[XIAO], board="esp32s3_lsm6dso32", name=name)
    prepare, config, _ = board_script(commands)
    old = tmp_path / "board"
    (old / "stridenode").mkdir(parents=True)
    (old / "stridenode" / "removed_module.py").write_text("x = 1\n")
    (old / "aioble").mkdir()
    (old / "aioble" / "core.py").write_text("y = 2\n")
    check = (
        "import os, json\n"
        "open('/main.py', 'w').write('old')\n"
        "open('/boot.json', 'w').write('{\"state\": \"running\"}')\n"  # the old firmware's report
        f"exec({prepare!r})\n"
        f"exec({prepare!r})\n"  # twice: flashing again must work too
        f"exec({config!r})\n"
        "print(json.dumps({'stridenode': os.listdir('/lib/stridenode'), 'dirs': sorted(os.listdir('/lib')),"
        " 'main': 'main.py' in os.listdir('/'), 'boot': 'boot.json' in os.listdir('/'),"
        " 'config': json.load(open('/config.json'))}))\n"
    )
    result = json.loads(run_micropython(check, mounts=(f"{old}:/lib",)).strip().splitlines()[-1])
    assert result["stridenode"] == []
    assert result["dirs"] == ["aioble", "boards", "stridenode", "stridewire"]
    assert result["main"] is False
    assert result["boot"] is False, "a stale boot report could confirm a flash that did not boot"
    assert result["config"] == {"board": "esp32s3_lsm6dso32", "name": name}


BOARD_ONLY = ("aioble", "bluetooth", "machine", "network", "esp32", "neopixel")
STAND_IN = """
class _Any:
    def __init__(self, *args, **kwargs):
        pass
    def __call__(self, *args, **kwargs):
        return _Any()
    def __getattr__(self, name):
        return _Any()
def __getattr__(name):
    return _Any
"""


def board_only_stand_ins(lib: Path) -> None:
    """Permissive stand-ins for the modules only a real board has (radio, pins), for every one the
    firmware imports, submodules included (aioble.security ...)."""
    pattern = re.compile(r"^\s*(?:import|from)\s+((?:%s)(?:\.\w+)*)" % "|".join(BOARD_ONLY), re.M)
    names = set()
    for source in (ROOT / "firmware").rglob("*.py"):
        names.update(pattern.findall(source.read_text()))
    for name in sorted(names):
        parts = name.split(".")
        if len(parts) == 1 and not any(n.startswith(name + ".") for n in names):
            (lib / f"{name}.py").write_text(STAND_IN)
            continue
        package = lib / parts[0]
        package.mkdir(exist_ok=True)
        (package / "__init__.py").write_text(STAND_IN)
        if len(parts) > 1:
            (package / f"{parts[1]}.py").write_text(STAND_IN)


@pytest.mark.parametrize("board", ["esp32s3_lsm6dso32", "atoms3_mpu6886"])
def test_the_check_step_imports_this_firmware_in_micropython(tmp_path, board):
    """The check run before main.py is copied: with this checkout's firmware, the board file and
    /config.json as flash puts them (aioble stubbed: it needs a radio), it names the firmware;
    without aioble or with a bad board file it fails, so main.py is never copied."""
    tree = FirmwareTree.of_this_checkout()
    assert tree.main_py.exists(), "firmware/main.py is missing from the tree"
    _, commands = dry_run(tree, tmp_path, ports=[XIAO], board=board, name="StrideCue-LS")
    _, config, check = board_script(commands)
    assert "stridenode.node" in tree.main_imports() and all(m in check for m in tree.main_imports())
    lib = tmp_path / "lib"
    shutil.copytree(ROOT / "firmware" / "stridenode", lib / "stridenode", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "shared" / "stridewire", lib / "stridewire", ignore=shutil.ignore_patterns("__pycache__"))
    (lib / "boards").mkdir()
    shutil.copy(ROOT / "firmware" / "boards" / f"{board}.json", lib / "boards")
    board_only_stand_ins(lib)
    out = run_micropython(f"exec({config!r})\nexec({check!r})\n", mounts=(f"{lib}:/lib",))
    assert out.strip().splitlines()[-1] == f"StrideCue firmware {'.'.join(map(str, __import__('stridenode').FW_VERSION[:3]))} for {board} as StrideCue-LS"
    assert (lib / "aioble").is_dir(), "the firmware imports aioble (ble.py)"
    shutil.rmtree(lib / "aioble")
    with pytest.raises(AssertionError, match="aioble"):
        run_micropython(f"exec({config!r})\nexec({check!r})\n", mounts=(f"{lib}:/lib",))


STUB_MACHINE = """
class Pin:
    def __init__(self, n):
        self.n = n
class I2C:
    def __init__(self, bus, sda, scl, freq):
        if (sda.n, scl.n) == (11, 12):
            raise OSError(16)  # a bus that cannot be set up must not stop the probe
        self.n = (sda.n, scl.n)
    def scan(self):
        return DEVICES.get(self.n, [])
"""


@pytest.mark.parametrize("devices, expect", [
    ({(38, 39): [0x68]}, ["atoms3_mpu6886"]),
    ({(5, 6): [0x6B]}, ["esp32s3_lsm6dso32"]),
    ({(5, 6): [0x3C]}, []),  # some other chip on the XIAO's pins
])
def test_board_detection_code_runs_in_micropython(tmp_path, devices, expect):
    """The probe sent with --board auto, run in MicroPython with a stand-in machine module whose
    I2C buses answer as the given board's would."""
    boards = {name: json.loads((ROOT / "firmware" / "boards" / f"{name}.json").read_text())
              for name in ("atoms3_mpu6886", "esp32s3_lsm6dso32")}
    boards["broken_bus"] = {"i2c": {"id": 0, "sda": 11, "scl": 12}, "imu": {"addresses": [0x68]}}
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "machine.py").write_text(f"DEVICES = {devices!r}\n" + STUB_MACHINE)
    out = run_micropython(flash.probe_code(boards), mounts=(f"{lib}:/lib",))
    assert json.loads(out.strip().splitlines()[-1]) == expect


REPORT = {"firmware": "0.3.0", "board": "atoms3_mpu6886", "ring_s": 9.5, "heap_free": 123456,
          "micropython": "1.24.1", "state": "running", "error": None, "boots": 1}


def board_answer(argv, version="1.24.1", reports=None):
    """What a fake board answers over mpremote: its MicroPython version, its boot report (the
    next of reports, a JSON value; default REPORT), nothing for the rest.  None: not one of those."""
    code = argv[argv.index("exec") + 1] if "exec" in argv else ""
    if "sys.implementation.version" in code:
        return subprocess.CompletedProcess(argv, 0, version + "\n", "")
    if flash.BOOT_REPORT in code and "json.load" in code:
        report = reports.pop(0) if reports else REPORT
        return subprocess.CompletedProcess(argv, 0, json.dumps(report) + "\n", "")
    return None


def answering(probe_stdout, rc=0):
    ran = []

    def runner(argv):
        ran.append(argv)
        if "exec" in argv and "from machine import I2C" in argv[-1]:
            return subprocess.CompletedProcess(argv, rc, probe_stdout, "" if rc == 0 else "mpremote: could not enter raw repl\n")
        return board_answer(argv) or subprocess.CompletedProcess(argv, 0, "", "")
    return runner, ran


def test_board_auto_flashes_the_build_whose_imu_answers(tmp_path):
    runner, ran = answering('["atoms3_mpu6886"]\n')
    out = io.StringIO()
    with redirect_stdout(out):
        assert flash.main(args(name="StrideCue-RS"), tmp_path, tree=fake_tree(tmp_path), ports=lambda: [XIAO], runner=runner,
                          waiter=lambda port: None, pause=lambda s: None) == 0
    assert "board: atoms3_mpu6886" in out.getvalue()
    copies = [a[-1] for a in ran if "cp" in a]
    assert ":/lib/boards/atoms3_mpu6886.json" in copies
    assert len(ran) == 1 + 1 + 10 + 1  # version, probe, the plan (with the device secret), the boot report


@pytest.mark.parametrize("stdout, rc, message", [
    ("[]\n", 0, "no known IMU answers on the board on /dev/ttyACM0"),
    ('["atoms3_mpu6886", "esp32s3_lsm6dso32"]\n', 0, "looks like several builds"),
    ("", 1, "cannot look at the board on /dev/ttyACM0: mpremote: could not enter raw repl"),
    ("Traceback\n", 0, "unexpected answer"),
])
def test_board_auto_failures_are_one_line(tmp_path, stdout, rc, message):
    runner, ran = answering(stdout, rc)
    with pytest.raises(UserError) as e:
        flash.main(args(), tmp_path, tree=fake_tree(tmp_path), ports=lambda: [XIAO], runner=runner, waiter=lambda port: None,
                   pause=lambda s: None)
    assert message in str(e.value) and "--board" in str(e.value) and "\n" not in str(e.value)
    assert len(ran) == 2, "nothing flashed (the version query and the probe only)"


def test_board_auto_cannot_be_a_dry_run(tmp_path):
    with pytest.raises(UserError, match="give --board \\(atoms3_mpu6886, esp32s3_lsm6dso32\\)"):
        flash.main(args(dry_run=True), tmp_path, tree=fake_tree(tmp_path), ports=lambda: [XIAO], runner=refuse_to_run)


def test_waiting_for_the_board_after_a_reset(tmp_path):
    slept = []
    seen = iter([[], [], [XIAO]])  # gone while it restarts, then back
    flash.wait_for_board("/dev/ttyACM0", ports=lambda: next(seen), sleep=slept.append)
    assert sum(slept) == pytest.approx(1.0 + 0.25 + 0.25 + 1.5)
    with pytest.raises(UserError, match="did not come back on /dev/ttyACM9 after its reset: unplug it"):
        flash.wait_for_board("/dev/ttyACM9", ports=lambda: [XIAO], sleep=lambda s: None)
    flash.wait_for_board("auto", ports=lambda: [XIAO], sleep=lambda s: None)


def test_compile_makes_mpy_for_the_esp32s3_and_keeps_main_py_source(tmp_path):
    tree = fake_tree(tmp_path)
    _, commands = dry_run(tree, tmp_path, ports=[XIAO], board="esp32s3_lsm6dso32", compile=True)
    compiles = [c for c in commands if Path(c[0]).name == "mpy-cross"]
    assert len(compiles) == len(tree.modules()) + 1
    assert all("-march=xtensawin" in c for c in compiles)
    copies = [after_connect(c)[1] for c in commands if "connect" in c and after_connect(c)[1][:2] == ["fs", "cp"]]
    module_copy = next(v for v in copies if v[-1] == ":/lib/stridenode/")
    assert [Path(p).name for p in module_copy[2:-1]] == sorted(p.stem + ".mpy" for p in tree.modules())
    assert next(v for v in copies if v[-1] == ":/main.py")[2].endswith("main.py")
    assert next(v for v in copies if v[-1].startswith(":/lib/stridewire/"))[-1] == ":/lib/stridewire/__init__.mpy"
    # and the compile commands really work: run them, then import the result in MicroPython
    files = {}
    for c in compiles:
        out = Path(c[c.index("-o") + 1])
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(c, check=True, capture_output=True)
        assert out.read_bytes()[:2] == b"M\x06", "MicroPython .mpy version 6"
        files[f"{out.parent.name}.{out.stem}.bin"] = out.read_bytes()  # run.mjs copies .bin, not .mpy
    script = (
        "import os, sys\n"
        "for pkg in ('stridenode', 'stridewire'):\n"
        "    os.mkdir('/' + pkg)\n"
        "for f in os.listdir('/data'):\n"
        "    pkg, mod, _ = f.split('.')\n"
        "    open('/%s/%s.mpy' % (pkg, mod), 'wb').write(open('/data/' + f, 'rb').read())\n"
        "sys.path.insert(0, '/')\n"
        "import stridenode.node, stridewire\n"
        "print(stridenode.node.NAME, stridewire.PROTOCOL_VERSION, stridenode.node.__file__)\n"
    )
    name, version, where = run_micropython(script, mounts=(), files=files).split()
    assert (name, version) == ("node.py", "1") and where.endswith("/stridenode/node.mpy")


def test_execute_runs_the_steps_in_order_and_names_a_failed_one(tmp_path):
    tree = fake_tree(tmp_path)
    ran, waits = [], []

    def runner(argv):
        ran.append(argv)
        fail = "mip" in argv
        return board_answer(argv) or subprocess.CompletedProcess(argv, 1 if fail else 0, "", "Error: could not reach micropython.org\n" if fail else "")

    out = io.StringIO()
    with pytest.raises(UserError) as e, redirect_stdout(out):
        flash.main(args(board="atoms3_mpu6886", name="StrideCue-RS"), tmp_path, tree=tree, ports=lambda: [XIAO], runner=runner,
                   waiter=waits.append, pause=lambda s: None)
    assert "step 2/10 (install aioble (mip)) failed: Error: could not reach micropython.org" in str(e.value)
    assert "--no-mip" in str(e.value) and "\n" not in str(e.value)
    assert len(ran) == 1 + 2

    ran.clear()
    ok = lambda argv: ran.append(argv) or board_answer(argv) or subprocess.CompletedProcess(argv, 0, "", "")
    with redirect_stdout(out):
        assert flash.main(args(board="atoms3_mpu6886", name="StrideCue-RS"), tmp_path, tree=tree, ports=lambda: [XIAO], runner=ok,
                          waiter=waits.append, pause=lambda s: None) == 0
    assert [after_connect(a)[1][0] for a in ran] == ["exec", "exec", "mip", "fs", "fs", "fs", "exec", "exec", "exec", "fs", "reset", "exec"]
    assert after_connect(ran[1])[1][-1] == "reset", "the old firmware's watchdog goes with a restart"
    assert waits == ["/dev/ttyACM0"] * 3, "waited for the board after the first restart (once in the failed flash) and after the final reset"
    assert "[10/10] reset the board" in out.getvalue()


@pytest.mark.parametrize("kw, message", [
    (dict(board="esp32s3_lsm6dso33"), "unknown board 'esp32s3_lsm6dso33' (known boards: atoms3_mpu6886, esp32s3_lsm6dso32"),
    (dict(board="atoms3_mpu6886", name="StrideCue-Left-Shin-Ann"), "at most 20 fit"),
    (dict(board="atoms3_mpu6886", name="bad\nname"), "must be printable"),
    (dict(board="atoms3_mpu6886", port="/dev/ttyNOPE"), "port /dev/ttyNOPE not found (USB serial ports attached: /dev/ttyACM0)"),
])
def test_bad_input_is_one_clear_line(tmp_path, kw, message):
    with pytest.raises(UserError) as e:
        flash.main(args(**kw), tmp_path, tree=fake_tree(tmp_path), ports=lambda: [XIAO], runner=refuse_to_run)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_a_board_file_the_firmware_would_reject_is_refused(tmp_path):
    tree = fake_tree(tmp_path)
    board = json.loads((tree.firmware / "boards" / "atoms3_mpu6886.json").read_text())
    board["imu"]["accel_g"] = 24
    (tree.firmware / "boards" / "atoms3_mpu6886.json").write_text(json.dumps(board))
    with pytest.raises(UserError, match="atoms3_mpu6886.json: board atoms3_mpu6886: imu.accel_g must be"):
        flash.main(args(board="atoms3_mpu6886", dry_run=True), tmp_path, tree=tree, ports=lambda: [XIAO], runner=refuse_to_run)


def test_no_board_attached_fails_before_running_anything(tmp_path):
    with pytest.raises(UserError, match="no board attached"):
        flash.main(args(board="atoms3_mpu6886"), tmp_path, tree=fake_tree(tmp_path), ports=lambda: [SerialPort("/dev/ttyS0")], runner=refuse_to_run)


def test_two_boards_attached_asks_for_port(tmp_path):
    two = [XIAO, SerialPort("/dev/ttyACM1", 0x303A, 0x1001)]
    with pytest.raises(UserError, match="more than one board attached .*--port"):
        flash.main(args(board="atoms3_mpu6886"), tmp_path, tree=fake_tree(tmp_path), ports=lambda: two, runner=refuse_to_run)


def test_a_missing_firmware_file_is_named(tmp_path):
    tree = fake_tree(tmp_path)
    (tree.firmware / "main.py").unlink()
    with pytest.raises(UserError, match="firmware file missing: .*main.py"):
        flash.main(args(board="atoms3_mpu6886", dry_run=True), tmp_path, tree=tree, ports=lambda: [XIAO], runner=refuse_to_run)


def stridecue(*argv):
    return subprocess.run([sys.executable, "-m", "stridecue.cli", *argv], capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("board", sorted(p.stem for p in (ROOT / "firmware" / "boards").glob("*.json")))
def test_cli_dry_run_on_this_checkout(tmp_path, board):
    """The real tree: every firmware module and the board file are in the commands."""
    assert (ROOT / "firmware" / "main.py").exists(), "firmware/main.py is missing from the tree"
    out = stridecue("--data-dir", str(tmp_path), "flash", "--board", board, "--name", "StrideCue-LS", "--dry-run")
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    for module in (ROOT / "firmware" / "stridenode").glob("*.py"):
        assert str(module) in out.stdout
    assert f"{board}.json :/lib/boards/{board}.json" in out.stdout
    assert "mip install aioble" in out.stdout


def test_cli_without_a_board_says_so_in_one_line(tmp_path):
    if flash.board_ports(flash.serial_ports()):
        pytest.skip("a USB serial device is attached to this machine")
    out = stridecue("--data-dir", str(tmp_path), "flash", "--board", "atoms3_mpu6886", "--no-mip")
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert len(lines) == 1 and ("no board attached" in lines[0] or "firmware file missing" in lines[0])


# -- the MicroPython floor and the boot report ----------------------------------------------

def flash_with(tmp_path, version="1.24.1", reports=None, board="atoms3_mpu6886", **kw):
    ran, waits, pauses = [], [], []

    def runner(argv):
        ran.append(argv)
        return board_answer(argv, version, reports) or subprocess.CompletedProcess(argv, 0, "", "")

    out = io.StringIO()
    with redirect_stdout(out):
        rc = flash.main(args(board=board, name="StrideCueRS", **kw), tmp_path, tree=fake_tree(tmp_path), ports=lambda: [XIAO],
                        runner=runner, waiter=waits.append, pause=pauses.append)
    return rc, out.getvalue(), ran, waits, pauses


@pytest.mark.parametrize("version", ["1.22.2", "1.20.0", "1.19.1"])
def test_a_board_with_an_old_micropython_is_refused_before_anything_is_copied(tmp_path, version):
    with pytest.raises(UserError) as e:
        flash_with(tmp_path, version=version)
    msg = str(e.value)
    assert f"runs MicroPython {version}, older than 1.23" in msg and "\n" not in msg
    assert "ESP32_GENERIC_S3 1.23 or newer" in msg and "esptool" in msg and "write_flash" in msg and "hardware/README.md" in msg


def test_the_version_query_is_one_command_and_runs_in_micropython():
    out = run_micropython(flash.VERSION_CODE).strip()
    assert flash.parse_version(out) >= (1, 23)  # the port the tests run is new enough itself
    assert flash.MIN_MICROPYTHON == (1, 23)


@pytest.mark.parametrize("version", ["1.23.0", "1.24.1", "1.25.0"])
def test_flash_says_done_only_after_the_board_reports_its_boot(tmp_path, version):
    rc, out, ran, waits, pauses = flash_with(tmp_path, version=version)
    assert rc == 0
    done = next(line for line in out.splitlines() if line.startswith("done: "))
    assert done.startswith("done: StrideCue firmware 0.3.0 on atoms3_mpu6886 (MicroPython 1.24.1), ring 9.5 s")
    reads = [a for a in ran if flash.BOOT_REPORT_CODE in a]
    assert len(reads) == 1 and reads[0][-1] == "reset", "reading stops the firmware: the read ends with a reset"
    assert ran.index(reads[0]) == len(ran) - 1 and after_connect(ran[-2])[1] == ["reset"], "read after the final reset"
    assert len(waits) == 2 and pauses == [flash.BOOT_WAIT_S]


def test_flash_retries_a_board_that_has_not_written_its_report_yet(tmp_path):
    rc, out, ran, waits, pauses = flash_with(tmp_path, reports=[None, dict(REPORT, state="starting"), REPORT])
    assert rc == 0 and "done: StrideCue firmware 0.3.0" in out
    assert len([a for a in ran if flash.BOOT_REPORT_CODE in a]) == 3 and len(pauses) == 3


@pytest.mark.parametrize("reports, message", [
    ([dict(REPORT, state="error", error="ImuError: no MPU6886 found (0x68: no answer)", boots=4)],
     "the board boots but StrideCue stops: ImuError: no MPU6886 found (0x68: no answer) (/boot.json: firmware 0.3.0, board atoms3_mpu6886, boot 4)"),
    ([None] * flash.BOOT_TRIES, "did not report a StrideCue boot after 4 tries (no /boot.json): it may be resetting in a loop"),
    (["garbage"] * flash.BOOT_TRIES, "/boot.json is not a JSON object"),
    ([dict(REPORT, board="esp32s3_lsm6dso32")], "the board reports board 'esp32s3_lsm6dso32', not 'atoms3_mpu6886'"),
])
def test_a_board_that_does_not_boot_fails_the_flash_in_one_line(tmp_path, reports, message):
    with pytest.raises(UserError) as e:
        flash_with(tmp_path, reports=list(reports))
    assert message in str(e.value) and "\n" not in str(e.value)


def test_a_board_that_stops_answering_after_the_reset_fails_the_flash(tmp_path):
    ran = []

    def runner(argv):
        ran.append(argv)
        if flash.BOOT_REPORT_CODE in argv:
            return subprocess.CompletedProcess(argv, 1, "", "mpremote: failed to access /dev/ttyACM0 (it may be in use by another program)\n")
        return board_answer(argv) or subprocess.CompletedProcess(argv, 0, "", "")

    with pytest.raises(UserError, match=r"did not report a StrideCue boot after 4 tries \(no answer \(mpremote: failed to access"):
        flash.main(args(board="atoms3_mpu6886"), tmp_path, tree=fake_tree(tmp_path), ports=lambda: [XIAO], runner=runner,
                   waiter=lambda p: None, pause=lambda s: None)


@pytest.mark.parametrize("present", [True, False])
def test_the_boot_report_code_runs_in_micropython(tmp_path, present):
    board = tmp_path / "board"
    board.mkdir()
    code = "import os\n"
    if present:
        code += f"open('/boot.json', 'w').write({json.dumps(json.dumps(REPORT))})\n"
    else:
        code += "'boot.json' in os.listdir('/') and os.remove('/boot.json')\n"
    out = run_micropython(code + flash.BOOT_REPORT_CODE).strip().splitlines()[-1]
    assert json.loads(out) == (REPORT if present else None)


def test_dry_run_names_the_version_check_and_the_boot_check(tmp_path):
    text, commands = dry_run(fake_tree(tmp_path), tmp_path, ports=[XIAO], board="atoms3_mpu6886")
    assert "MicroPython must be 1.23 or newer" in text and "sys.implementation.version" in text
    assert "/boot.json" in text and len(commands) == 10


def test_flash_writes_a_new_secret_to_the_board_and_keeps_it_here(tmp_path):
    """The secret goes to the board's /secret.json (read back by the firmware in MicroPython) and to
    this computer's keys file (0600); a dry run prints a placeholder, never a secret."""
    import os
    import stat

    from stridecue.link.keys import KeyStore

    tree = fake_tree(tmp_path)
    text, commands = dry_run(tree, tmp_path, ports=[XIAO], board="esp32s3_lsm6dso32", name="StrideCueLS")
    assert "<a new random secret>" in text and not (tmp_path / "data" / "keys.json").exists()
    ran = []
    report = dict(REPORT, board="esp32s3_lsm6dso32")
    ok = lambda argv: ran.append(argv) or board_answer(argv, reports=[report]) or subprocess.CompletedProcess(argv, 0, "", "")
    with redirect_stdout(io.StringIO()):
        flash.main(args(board="esp32s3_lsm6dso32", name="StrideCueLS"), tmp_path / "data", tree=tree,
                   ports=lambda: [XIAO], runner=ok, waiter=lambda port: None, pause=lambda s: None)
    store = KeyStore.in_dir(tmp_path / "data")
    (key,) = store.load()
    assert key.name == "StrideCueLS" and len(key.secret) == 16
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    code = next(after_connect(a)[1][1] for a in ran if "/secret.json" in " ".join(a))
    assert key.secret.hex() in code
    out = run_micropython(f"exec({code!r})\nfrom stridenode.auth import load_secret\nk, s = load_secret()\nprint(k, s.hex())\n")
    assert out.split() == [str(key.key_id), key.secret.hex()]
    # flashing again: a new secret, the old key stays (harmless: a key id the sensor lacks costs nothing)
    with redirect_stdout(io.StringIO()):
        flash.main(args(board="esp32s3_lsm6dso32", name="StrideCueLS"), tmp_path / "data", tree=tree,
                   ports=lambda: [XIAO], runner=ok, waiter=lambda port: None, pause=lambda s: None)
    assert len({k.key_id for k in store.load()}) == 2


def test_a_corrupt_keys_file_stops_the_flash_before_the_board_is_touched(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "keys.json").write_text("{not json")
    ran = []
    with pytest.raises(UserError) as e:
        flash.main(args(board="esp32s3_lsm6dso32", name="StrideCueLS"), tmp_path / "data", tree=fake_tree(tmp_path),
                   ports=lambda: [XIAO], runner=lambda argv: ran.append(argv), waiter=lambda port: None)
    assert "keys file" in str(e.value) and "corrupt" in str(e.value) and "\n" not in str(e.value) and ran == []
