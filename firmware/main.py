# StrideCue sensor firmware entry point (copied to the board's /main.py by `stridecue flash`).
#
# Board layout: /main.py, /lib/stridenode/*.py, /lib/stridewire/__init__.py,
# /lib/boards/<board>.json, /lib/aioble (mip), and /config.json:
#   {"board": "esp32s3_lsm6dso32", "name": "StrideCue-LS"}
# and /secret.json (the device secret, written by `stridecue flash`; docs/pairing.md).
#
# Tasks (asyncio), each restarted cleanly if it crashes (stridenode.tasks.Supervisor):
#   sampler  - drains the IMU FIFO every 10 ms: fusion, ring buffer, battery, housekeeping
#   ble      - advertises and serves one central at a time
#   send     - data notifications and status notifications
#   control  - control writes -> replies
#   status   - keeps the status and battery characteristics fresh
#   power    - deep sleep after 5 min without a central or after the low-battery stop (power.py)
#   watchdog - arms the hardware watchdog (8 s) 15 s after boot, feeds it only while sampler,
#              send and status keep beating
#
# Start-up: the sample ring is sized from the heap that is free once everything is imported
# (stridenode.memory), so a board without PSRAM streams with a shorter ring instead of failing.
# What booted is written to /boot.json (firmware, board, ring seconds, free heap, MicroPython
# version): `stridecue flash` and `stridecue doctor` read it over USB.  An exception during
# start-up is written to /error.log and /boot.json and shown on the LED; the board then waits,
# longer after each consecutive failure, before it resets, and after _MAX_FAILURES in a row it
# stays halted showing the error (the USB REPL stays usable for `stridecue flash`): never a
# fast reset loop.
#
# Tests and `stridecue bench` await main() in the MicroPython WebAssembly port with stand-ins
# for machine, bluetooth and aioble (firmware/sim/) over the simulated IMU.

import asyncio
import gc
import json
import os
import sys
import time

import machine

from stridenode import FW_VERSION
from stridenode.auth import PairingWindow, load_secret
from stridenode.boards import load_board
from stridenode.memory import RING_MAX_S, RING_MIN_S, free_heap
from stridenode.node import SensorNode
from stridenode.power import PowerManager, set_cpu_clock
from stridenode.tasks import Supervisor, feed_watchdog, sleep_ms

_CONFIG = "/config.json"
_BOOT_REPORT = "/boot.json"
_ERROR_LOG = "/error.log"
_DEFAULT_BOARD = "esp32s3_lsm6dso32"
_SAMPLE_EVERY_MS = 10
_WATCHDOG_MS = 8000
_HEALTHY_AFTER_MS = 60000  # running this long clears the count of failed starts
_BACKOFF_FIRST_S = 10
_BACKOFF_MAX_S = 300
_MAX_FAILURES = 5

current = None  # the running Firmware (for the REPL and the tests)


def read_config():
    try:
        with open(_CONFIG) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {"board": _DEFAULT_BOARD, "name": "StrideCue"}


def _write_json(path, value):
    with open(path + ".tmp", "w") as f:
        json.dump(value, f)
    os.rename(path + ".tmp", path)  # a power cut leaves the old or the new file, never half


def save_name(name):
    config = read_config()
    config["name"] = name
    _write_json(_CONFIG, config)


def random16():
    """A random 16-bit number (the stream id): the board's hardware RNG; a seeded PRNG on ports
    without os.urandom (the WebAssembly port the tests run in)."""
    if hasattr(os, "urandom"):
        return int.from_bytes(os.urandom(2), "little")
    import random

    return random.getrandbits(16)


class BootReport:
    """/boot.json: what the last start-up brought up, or why it failed."""

    def __init__(self):
        try:
            with open(_BOOT_REPORT) as f:
                old = json.load(f)
        except (OSError, ValueError):
            old = {}
        self.values = {
            "firmware": "%d.%d.%d" % FW_VERSION,
            "micropython": "%d.%d.%d" % sys.implementation.version[:3],
            "board": None,
            "ring_s": None,
            "heap_free": None,
            "state": "starting",
            "error": None,
            "boots": old.get("boots", 0) + 1,
            "failures": old.get("failures", 0),
        }

    @property
    def failures(self):
        return self.values["failures"]

    def save(self, **changes):
        self.values.update(changes)
        try:
            _write_json(_BOOT_REPORT, self.values)
        except OSError:
            pass  # a full or read-only file system must not stop the sensor

    def running(self, board, node):
        self.save(board=board["name"], ring_s=round(node.ring_seconds, 1), heap_free=free_heap(), state="running",
                  error=None)

    def failed(self, error):
        message = "%s: %s" % (type(error).__name__, error)
        try:
            with open(_ERROR_LOG, "w") as f:
                sys.print_exception(error, f)
        except OSError:
            pass
        self.save(state="error", error=message[:200], failures=self.values["failures"] + 1)


class Indicator:
    """The board's LED and buzzer (either may be absent)."""

    def __init__(self, board):
        led = board.get("led")
        buzzer = board.get("buzzer")
        self.led = machine.Pin(led["pin"], machine.Pin.OUT) if led else None
        self.led_on = 0 if led and led.get("active_low") else 1
        self.buzzer = machine.PWM(machine.Pin(buzzer["pin"]), freq=2700, duty_u16=0) if buzzer else None
        self._until = 0
        # -- pairing window (auth): the button opens it, the LED blinks slowly while it is open
        button = board.get("button")
        self.button = machine.Pin(button["pin"], machine.Pin.IN, machine.Pin.PULL_UP) if button else None
        self.pressed = 0 if button and button.get("active_low") else 1
        self.window = None  # an auth.PairingWindow, set by main()
        self._was_pressed = False

    def set_led(self, on):
        if self.led is not None:
            self.led.value(self.led_on if on else 1 - self.led_on)

    def identify(self, seconds):
        self._until = time.ticks_add(time.ticks_ms(), seconds * 1000)

    def error_pattern(self, seconds):
        """Three short flashes every two seconds, for `seconds` (blocking: nothing else runs)."""
        end = time.ticks_add(time.ticks_ms(), seconds * 1000)
        while time.ticks_diff(end, time.ticks_ms()) > 0:
            for _ in range(3):
                self.set_led(True)
                time.sleep_ms(120)
                self.set_led(False)
                time.sleep_ms(180)
            time.sleep_ms(1100)

    async def run(self, supervisor):
        while True:
            supervisor.beat("indicator")
            if time.ticks_diff(self._until, time.ticks_ms()) > 0:
                phase = (time.ticks_ms() // 250) & 1
                self.set_led(phase)
                if self.buzzer is not None:
                    self.buzzer.duty_u16(32768 if phase else 0)
            else:
                window = self.window  # pairing window: slow blink while open
                self.set_led(window is not None and window.is_open() and (time.ticks_ms() // 500) & 1)
                if self.buzzer is not None:
                    self.buzzer.duty_u16(0)
            if self.button is not None:  # pairing window: a press opens it
                down = self.button.value() == self.pressed
                if down and not self._was_pressed and self.window is not None:
                    self.window.press()
                self._was_pressed = down
            await sleep_ms(50)


def make_i2c(board):
    bus = board["i2c"]
    return machine.I2C(bus["id"], sda=machine.Pin(bus["sda"]), scl=machine.Pin(bus["scl"]), freq=bus["freq"])


def make_battery(board):
    if board.get("battery") is None:
        return None
    from stridenode.battery import AdcBattery

    return AdcBattery(board["battery"])


class Firmware:
    """Everything main() starts, kept together so the REPL and the tests can look at it."""

    def __init__(self, config, board):
        self.board = board
        self.indicator = Indicator(board)
        seed = random16()
        from stridenode.ble import Peripheral  # aioble and bluetooth: imported before the ring is sized

        gc.collect()
        self.node = SensorNode(make_i2c(board), time, board, name=config.get("name", "StrideCue"), seed=seed,
                               battery=make_battery(board), indicator=self.indicator, sleep_ms=time.sleep_ms,
                               ring_s=RING_MAX_S, min_ring_s=RING_MIN_S, free_heap=free_heap,
                               secret=load_secret())  # the device secret `stridecue flash` wrote
        self.indicator.window = window = PairingWindow(time)  # new bonds: 60 s from power-on or a button press
        self.node.on_rename = save_name
        self.supervisor = Supervisor(time, on_error=self.node.task_failed)
        self.peripheral = Peripheral(self.node, board.get("title", board["name"]), self.supervisor, window=window)
        import esp32  # deep sleep after 5 min without a central, or after the low-battery stop

        self.power = PowerManager(self.node, machine, esp32, board, time)

    async def sampler(self):
        node = self.node
        supervisor = self.supervisor
        while True:
            supervisor.beat("sampler")
            node.service()
            await sleep_ms(_SAMPLE_EVERY_MS)

    def start_tasks(self):
        supervisor = self.supervisor
        peripheral = self.peripheral
        indicator = self.indicator
        asyncio.create_task(supervisor.run("sampler", self.sampler, max_silence_ms=2000))
        asyncio.create_task(supervisor.run("ble", peripheral.advertise))
        asyncio.create_task(supervisor.run("send", peripheral.send, max_silence_ms=3000))
        asyncio.create_task(supervisor.run("control", peripheral.serve_control))
        asyncio.create_task(supervisor.run("status", peripheral.keep_status_fresh, max_silence_ms=5000))
        asyncio.create_task(supervisor.run("indicator", lambda: indicator.run(supervisor)))
        asyncio.create_task(supervisor.run("power", lambda: self.power.run(supervisor), max_silence_ms=5000))


async def _clear_failures_when_healthy(report, firmware):
    await sleep_ms(_HEALTHY_AFTER_MS)
    if firmware.supervisor.healthy():
        report.save(failures=0)


async def main(report=None):
    """Start the firmware and run it (forever on a board; the tests cancel it)."""
    global current
    set_cpu_clock(machine)  # 240 MHz: the port boots at 160 MHz
    report = report or BootReport()
    config = read_config()
    board = load_board(config.get("board", _DEFAULT_BOARD))
    firmware = Firmware(config, board)
    current = firmware
    firmware.start_tasks()
    report.running(board, firmware.node)
    asyncio.create_task(_clear_failures_when_healthy(report, firmware))
    await feed_watchdog(lambda: machine.WDT(timeout=_WATCHDOG_MS), firmware.supervisor)


def backoff_s(failures):
    """How long a board waits after its failures-th failed start in a row before it resets."""
    wait = _BACKOFF_FIRST_S
    for _ in range(failures - 1):
        wait *= 2
    return wait if wait < _BACKOFF_MAX_S else _BACKOFF_MAX_S


def start_failed(report, error):
    """A start-up that raised: log it, show it, wait (longer each time), reset; or stay halted."""
    sys.print_exception(error)
    report.failed(error)
    try:
        indicator = Indicator(load_board(read_config().get("board", _DEFAULT_BOARD)))
    except Exception:  # noqa: BLE001 - a broken board file is one of the errors shown here
        indicator = None
    if report.failures >= _MAX_FAILURES:
        print("StrideCue halted after %d failed starts: %s (see /error.log)" % (report.failures, report.values["error"]))
        while True:  # halted: the USB REPL stays usable (Ctrl-C), the LED keeps showing the error
            if indicator is not None:
                indicator.error_pattern(60)
            else:
                time.sleep_ms(60000)
    wait = backoff_s(report.failures)
    print("StrideCue start failed (%d in a row); resetting in %d s" % (report.failures, wait))
    if indicator is not None:
        indicator.error_pattern(wait)
    else:
        time.sleep_ms(wait * 1000)
    machine.reset()


def run():
    """The board's entry: start, and handle a failed start without a reset loop."""
    report = BootReport()
    try:
        asyncio.run(main(report))
    except Exception as e:  # noqa: BLE001 - anything that stops start-up is shown, then retried later
        start_failed(report, e)


if __name__ == "__main__":  # MicroPython runs /main.py as __main__; tests import it
    run()
