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
#   watchdog - arms the hardware watchdog (8 s) 15 s after boot, feeds it only while sampler,
#              send and status keep beating

import asyncio
import json
import os
import sys
import time

import machine

from stridenode.auth import PairingWindow, load_secret
from stridenode.boards import load_board
from stridenode.node import SensorNode
from stridenode.tasks import Supervisor, feed_watchdog, sleep_ms

_CONFIG = "/config.json"
_SAMPLE_EVERY_MS = 10
_WATCHDOG_MS = 8000


def read_config():
    try:
        with open(_CONFIG) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {"board": "esp32s3_lsm6dso32", "name": "StrideCue"}


def save_name(name):
    config = read_config()
    config["name"] = name
    with open(_CONFIG + ".tmp", "w") as f:
        json.dump(config, f)
    os.rename(_CONFIG + ".tmp", _CONFIG)  # a power cut leaves the old or the new file, never half


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


async def main():
    config = read_config()
    board = load_board(config.get("board", "esp32s3_lsm6dso32"))
    indicator = Indicator(board)
    seed = int.from_bytes(os.urandom(2), "little")
    node = SensorNode(make_i2c(board), time, board, name=config.get("name", "StrideCue"), seed=seed,
                      battery=make_battery(board), indicator=indicator, sleep_ms=time.sleep_ms,
                      secret=load_secret())  # auth: the device secret
    indicator.window = window = PairingWindow(time)  # auth: open for 60 s from power-on
    node.on_rename = save_name
    supervisor = Supervisor(time, on_error=node.task_failed)

    async def sampler():
        while True:
            supervisor.beat("sampler")
            node.service()
            await sleep_ms(_SAMPLE_EVERY_MS)

    from stridenode.ble import Peripheral

    peripheral = Peripheral(node, board.get("title", board["name"]), supervisor, window=window)
    asyncio.create_task(supervisor.run("sampler", sampler, max_silence_ms=2000))
    asyncio.create_task(supervisor.run("ble", peripheral.advertise))
    asyncio.create_task(supervisor.run("send", peripheral.send, max_silence_ms=3000))
    asyncio.create_task(supervisor.run("control", peripheral.serve_control))
    asyncio.create_task(supervisor.run("status", peripheral.keep_status_fresh, max_silence_ms=5000))
    asyncio.create_task(supervisor.run("indicator", lambda: indicator.run(supervisor)))
    await feed_watchdog(lambda: machine.WDT(timeout=_WATCHDOG_MS), supervisor)


if __name__ == "__main__":  # MicroPython runs /main.py as __main__; tests import it
    try:
        asyncio.run(main())
    except Exception as e:  # noqa: BLE001 - log, then a reset brings the board back
        sys.print_exception(e)
        time.sleep(2)
        machine.reset()
