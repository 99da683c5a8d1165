"""firmware/main.py when start-up fails (CPython, with the stand-ins of firmware/sim/ for machine,
esp32, bluetooth and aioble): the failure is written to /error.log and /boot.json, shown on the
LED, and the board waits longer after each consecutive failure (10 s, 20 s, 40 s ... at most
300 s) before it resets; after _MAX_FAILURES in a row it stays halted.  Never a fast reset loop."""

from __future__ import annotations

import importlib.util
import json
import sys
import traceback
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SIM = ROOT / "firmware" / "sim"
SIM_MODULES = ("machine", "esp32", "bluetooth", "aioble", "blecentral", "paced")


def _is_sim(name):
    return name in SIM_MODULES or name.startswith("aioble.")


def _print_exception(exc, file=None):
    """MicroPython's sys.print_exception, for CPython."""
    traceback.print_exception(type(exc), exc, exc.__traceback__, file=file or sys.stdout)


class Halted(Exception):
    """Raised by the stand-in wait to get out of main.py's halt loop."""


@pytest.fixture
def fw(monkeypatch, tmp_path):
    """firmware/main.py imported over the firmware/sim stand-ins, its files under tmp_path, its
    waits recorded instead of slept."""
    monkeypatch.syspath_prepend(str(SIM))
    for name in [n for n in sys.modules if _is_sim(n)]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "print_exception", _print_exception, raising=False)
    spec = importlib.util.spec_from_file_location("stridecue_startup_main", ROOT / "firmware" / "main.py")
    main = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(main)
    assert Path(main.machine.__file__).parent == SIM  # the stand-in, fresh for this test
    for attr, name in (("_CONFIG", "config.json"), ("_BOOT_REPORT", "boot.json"), ("_ERROR_LOG", "error.log")):
        monkeypatch.setattr(main, attr, str(tmp_path / name))
    env = types.SimpleNamespace(main=main, machine=main.machine, tmp=tmp_path, waits=[], halt_after=None)

    def wait(seconds):
        env.waits.append(seconds)
        if env.halt_after is not None and len(env.waits) > env.halt_after:
            raise Halted()

    clock = types.ModuleType("time")  # MicroPython's time, as far as main.py uses it here
    clock.ticks_ms = lambda: 0
    clock.ticks_us = lambda: 0
    clock.ticks_add = lambda a, b: (a + b) & 0x3FFFFFFF
    clock.ticks_diff = lambda a, b: ((a - b + 0x20000000) & 0x3FFFFFFF) - 0x20000000
    clock.sleep_ms = lambda ms: wait(ms / 1000)
    clock.sleep = wait
    monkeypatch.setattr(main, "time", clock)
    monkeypatch.setattr(main.Indicator, "error_pattern", lambda self, seconds: wait(seconds))
    yield env
    for name in [n for n in sys.modules if _is_sim(n)]:
        del sys.modules[name]  # monkeypatch then puts back whatever was there before


def boot_json(env):
    return json.loads((env.tmp / "boot.json").read_text())


def raised(error):
    """An exception with a traceback, as start-up would have raised it."""
    try:
        raise error
    except Exception as e:  # noqa: BLE001
        return e


def test_backoff_grows_and_is_capped_at_300_s(fw):
    waits = [fw.main.backoff_s(n) for n in range(1, 10)]
    assert waits[:5] == [10, 20, 40, 80, 160]
    assert waits[5:] == [300] * 4
    assert fw.main.backoff_s(40) == 300
    assert fw.main._BACKOFF_FIRST_S >= 10 and fw.main._BACKOFF_MAX_S == 300


def test_boot_report_counts_boots_across_instances(fw):
    main = fw.main
    first = main.BootReport()
    assert first.values["boots"] == 1 and first.failures == 0 and first.values["state"] == "starting"
    first.save()
    second = main.BootReport()
    assert second.values["boots"] == 2 and second.failures == 0
    second.failed(raised(OSError(19)))
    third = main.BootReport()
    assert third.values["boots"] == 3 and third.failures == 1  # a failure carries over to the next boot
    third.save(failures=0)  # what a healthy minute does
    assert main.BootReport().failures == 0
    (fw.tmp / "boot.json").write_text("{not json")  # a corrupt report starts afresh, no crash
    assert main.BootReport().values["boots"] == 1


def test_a_failed_start_is_logged_shown_and_reset_after_the_backoff(fw):
    main, machine = fw.main, fw.machine
    report = main.BootReport()
    error = raised(ValueError("IMU not found on the I2C bus"))
    with pytest.raises(machine.BoardReset):
        main.start_failed(report, error)
    assert machine.state.resets == 1
    assert fw.waits == [main.backoff_s(1)] == [10]  # shown on the LED for 10 s, then reset
    log = (fw.tmp / "error.log").read_text()
    assert "Traceback" in log and "ValueError: IMU not found on the I2C bus" in log and "raised" in log
    saved = boot_json(fw)
    assert saved["state"] == "error" and saved["error"] == "ValueError: IMU not found on the I2C bus"
    assert saved["failures"] == 1 and saved["boots"] == 1
    # the next boot fails too: twice as long
    with pytest.raises(machine.BoardReset):
        main.start_failed(main.BootReport(), raised(MemoryError("no room for a 2 s sample ring")))
    assert fw.waits == [10, 20] and machine.state.resets == 2
    saved = boot_json(fw)
    assert saved["failures"] == 2 and saved["boots"] == 2 and saved["error"].startswith("MemoryError: no room")


def test_a_long_error_is_cut_to_one_short_line_in_boot_json(fw):
    main = fw.main
    with pytest.raises(fw.machine.BoardReset):
        main.start_failed(main.BootReport(), raised(RuntimeError("x" * 1000)))
    saved = boot_json(fw)
    assert saved["error"].startswith("RuntimeError: xxx") and len(saved["error"]) <= 200
    assert "x" * 1000 in (fw.tmp / "error.log").read_text()  # the log keeps all of it


def test_after_max_failures_in_a_row_the_board_stays_halted_instead_of_resetting(fw, capsys):
    main, machine = fw.main, fw.machine
    limit = main._MAX_FAILURES
    assert limit == 5
    for k in range(1, limit):
        with pytest.raises(machine.BoardReset):
            main.start_failed(main.BootReport(), raised(OSError(19)))
        assert machine.state.resets == k and boot_json(fw)["failures"] == k
    assert fw.waits == [10, 20, 40, 80]
    fw.halt_after = len(fw.waits) + 1  # let the halt loop go round once, then get out of it
    with pytest.raises(Halted):
        main.start_failed(main.BootReport(), raised(OSError(19)))
    assert machine.state.resets == limit - 1  # no reset after the fifth
    assert fw.waits[limit - 1:] == [60, 60]  # still showing the error, round and round
    saved = boot_json(fw)
    assert saved["failures"] == limit and saved["state"] == "error" and saved["boots"] == limit
    assert "halted after 5 failed starts" in capsys.readouterr().out


def test_run_with_a_broken_board_file_waits_without_the_led_and_resets(fw):
    main, machine = fw.main, fw.machine
    (fw.tmp / "config.json").write_text(json.dumps({"board": "no_such_board", "name": "StrideCue-LS"}))
    with pytest.raises(machine.BoardReset):
        main.run()
    assert machine.state.resets == 1
    assert fw.waits == [10]  # no LED to show it on (the board file is the problem): time.sleep_ms
    saved = boot_json(fw)
    assert saved["state"] == "error" and saved["failures"] == 1
    assert saved["error"].startswith("BoardError: no board file") and "no_such_board" in saved["error"]
    assert "BoardError" in (fw.tmp / "error.log").read_text()
