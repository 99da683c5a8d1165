# StrideCue sensor firmware entry point (copied to the board's /main.py by `stridecue flash`).
#
# Board layout: /main.py, /lib/stridenode/*.py, /lib/stridewire/__init__.py,
# /lib/boards/<board>.json, /lib/aioble (mip), and /config.json:
#   {"board": "esp32s3_lsm6dso32", "name": "StrideCue-LS"}
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

import asyncio
import json
import os
import sys
import time

import machine

from stridenode.boards import load_board
from stridenode.node import SensorNode
from stridenode.power import PowerManager, set_cpu_clock  # power (issue 13)
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
                self.set_led(False)
                if self.buzzer is not None:
                    self.buzzer.duty_u16(0)
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
    set_cpu_clock(machine)  # power: 240 MHz (the port boots at 160 MHz)
    config = read_config()
    board = load_board(config.get("board", "esp32s3_lsm6dso32"))
    indicator = Indicator(board)
    seed = int.from_bytes(os.urandom(2), "little")
    node = SensorNode(make_i2c(board), time, board, name=config.get("name", "StrideCue"), seed=seed,
                      battery=make_battery(board), indicator=indicator, sleep_ms=time.sleep_ms)
    node.on_rename = save_name
    supervisor = Supervisor(time, on_error=node.task_failed)

    async def sampler():
        while True:
            supervisor.beat("sampler")
            node.service()
            await sleep_ms(_SAMPLE_EVERY_MS)

    from stridenode.ble import Peripheral

    peripheral = Peripheral(node, board.get("title", board["name"]), supervisor)
    asyncio.create_task(supervisor.run("sampler", sampler, max_silence_ms=2000))
    asyncio.create_task(supervisor.run("ble", peripheral.advertise))
    asyncio.create_task(supervisor.run("send", peripheral.send, max_silence_ms=3000))
    asyncio.create_task(supervisor.run("control", peripheral.serve_control))
    asyncio.create_task(supervisor.run("status", peripheral.keep_status_fresh, max_silence_ms=5000))
    asyncio.create_task(supervisor.run("indicator", lambda: indicator.run(supervisor)))
    import esp32  # power: deep sleep after 5 min without a central, or after the low-battery stop

    power = PowerManager(node, machine, esp32, board, time)  # power
    asyncio.create_task(supervisor.run("power", lambda: power.run(supervisor), max_silence_ms=5000))  # power
    await feed_watchdog(lambda: machine.WDT(timeout=_WATCHDOG_MS), supervisor)


if __name__ == "__main__":  # MicroPython runs /main.py as __main__; tests import it
    try:
        asyncio.run(main())
    except Exception as e:  # noqa: BLE001 - log, then a reset brings the board back
        sys.print_exception(e)
        time.sleep(2)
        machine.reset()
