"""The board-only modules (firmware/main.py and stridenode/ble.py) run in CPython against stand-ins
for `machine`, `time`'s ticks, `bluetooth` and aioble: the real node behind them, a simulated IMU
on the bus.  Catches wiring mistakes that mpy-cross cannot (names, call shapes, task set-up)."""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import sys
import time
import types
from pathlib import Path

import pytest

import stridewire as sw
from stridecue.decoder import decode_data, decode_status
from stridenode.advert import parse_fields, uuid128_le
from stridenode.boards import load_board
from stridenode.sim_i2c import SimI2C, make_device

ROOT = Path(__file__).resolve().parent.parent


class FakeUUID:
    def __init__(self, value):
        self.value = value

    def __bytes__(self):
        if isinstance(self.value, int):
            return self.value.to_bytes(2, "little")
        return uuid128_le(self.value)

    def __eq__(self, other):
        return isinstance(other, FakeUUID) and self.value == other.value

    def __hash__(self):
        return hash(self.value)


class FakeConnection:
    def __init__(self):
        self.encrypted = True
        self.bonded = True
        self.mtu = None
        self._gone = asyncio.Event()

    def is_connected(self):
        return not self._gone.is_set()

    async def exchange_mtu(self, mtu=None, timeout_ms=1000):
        self.mtu = mtu
        return mtu

    async def disconnected(self, timeout_ms=None):
        await self._gone.wait()


def fake_aioble():
    mod = types.ModuleType("aioble")
    mod.calls = {"config": [], "advertise": [], "services": []}
    mod.connection = None

    class Service:
        def __init__(self, uuid):
            self.uuid = uuid
            self.characteristics = []

    class Characteristic:
        def __init__(self, service, uuid, read=False, write=False, notify=False, capture=False, initial=None, **_):
            service.characteristics.append(self)
            self.uuid = uuid
            self.flags = 0
            self.value = initial
            self.notified = []
            self.writes = asyncio.Queue()

        def write(self, data, send_update=False):
            self.value = bytes(data)

        def notify(self, connection, data=None):
            self.notified.append(bytes(data if data is not None else self.value))

        async def written(self, timeout_ms=None):
            return await self.writes.get()

    class BufferedCharacteristic(Characteristic):
        def __init__(self, *args, max_len=20, append=False, **kwargs):
            super().__init__(*args, **kwargs)
            self.max_len = max_len

    async def advertise(interval_us, adv_data=None, resp_data=None, **_):
        mod.calls["advertise"].append((bytes(adv_data), bytes(resp_data)))
        if mod.connection is None:
            mod.connection = FakeConnection()
            return mod.connection
        await asyncio.Event().wait()  # nobody else connects

    mod.Service = Service
    mod.Characteristic = Characteristic
    mod.BufferedCharacteristic = BufferedCharacteristic
    mod.advertise = advertise
    mod.config = lambda **kw: mod.calls["config"].append(kw)
    mod.register_services = lambda *services: mod.calls["services"].append(services)
    security = types.ModuleType("aioble.security")
    security.loaded = []
    security.load_secrets = lambda path=None: security.loaded.append(path)
    mod.security = security
    return mod


def fake_time():
    mod = types.ModuleType("time")
    t0 = time.monotonic()
    mod.ticks_us = lambda: int((time.monotonic() - t0) * 1e6) & 0x3FFFFFFF
    mod.ticks_ms = lambda: int((time.monotonic() - t0) * 1e3) & 0x3FFFFFFF

    def ticks_diff(a, b):
        d = (a - b) & 0x3FFFFFFF
        return d - 0x40000000 if d & 0x20000000 else d

    mod.ticks_diff = ticks_diff
    mod.ticks_add = lambda a, b: (a + b) & 0x3FFFFFFF
    mod.sleep_ms = lambda ms: None
    mod.sleep = lambda s: None
    return mod


@pytest.fixture
def board_env(monkeypatch):
    """bluetooth, aioble, micropython and machine stand-ins; the simulated IMU on machine.I2C."""
    aioble = fake_aioble()
    bluetooth = types.ModuleType("bluetooth")
    bluetooth.UUID = FakeUUID
    micropython = types.ModuleType("micropython")
    micropython.const = lambda v: v
    board = load_board("esp32s3_lsm6dso32")
    imu = make_device(board)
    machine = types.ModuleType("machine")

    class Pin:
        OUT = 1

        def __init__(self, pin, mode=None):
            self.pin = pin

        def value(self, v=None):
            return 0

    class PWM:
        def __init__(self, pin, freq=0, duty_u16=0):
            pass

        def duty_u16(self, v):
            pass

    class ADC:
        ATTN_11DB = 3

        def __init__(self, pin, atten=None):
            self.pin = pin

        def read_uv(self):
            return 1_950_000  # 1.95 V behind the board's 2:1 divider: a 3.9 V cell

    machine.Pin = Pin
    machine.PWM = PWM
    machine.ADC = ADC
    machine.I2C = lambda *a, **kw: SimI2C([imu])
    machine.WDT = lambda timeout=0: None
    machine.reset = lambda: None
    machine.hz = 160_000_000
    machine.freq = lambda hz=None: machine.hz if hz is None else setattr(machine, "hz", hz)
    machine.deepsleep = lambda ms=None: None
    esp32 = types.ModuleType("esp32")
    esp32.WAKEUP_ALL_LOW, esp32.WAKEUP_ANY_HIGH = False, True
    esp32.wake_on_ext0 = lambda pin, level: None
    esp32.wake_on_ext1 = lambda pins, level: None
    for name, mod in (("aioble", aioble), ("aioble.security", aioble.security), ("bluetooth", bluetooth),
                      ("micropython", micropython), ("machine", machine), ("esp32", esp32)):
        monkeypatch.setitem(sys.modules, name, mod)
    monkeypatch.delitem(sys.modules, "stridenode.ble", raising=False)
    yield types.SimpleNamespace(aioble=aioble, imu=imu, board=board, machine=machine)
    sys.modules.pop("stridenode.ble", None)


def characteristic(aioble, uuid):
    for services in aioble.calls["services"]:
        for service in services:
            for ch in service.characteristics:
                if ch.uuid == FakeUUID(uuid):
                    return ch
    raise KeyError(uuid)


def test_ble_peripheral_serves_the_node(board_env):
    from stridenode.ble import Peripheral
    from stridenode.node import SensorNode
    from stridenode.sim_i2c import ManualClock
    from stridenode.tasks import Supervisor

    aioble = board_env.aioble
    clock = ManualClock()
    node = SensorNode(SimI2C([board_env.imu]), clock, board_env.board, name="StrideCue-LS", seed=5)
    peripheral = Peripheral(node, board_env.board["title"], Supervisor(clock))
    status = characteristic(aioble, sw.STATUS_UUID)
    control = characteristic(aioble, sw.CONTROL_UUID)
    data = characteristic(aioble, sw.DATA_UUID)
    assert status.flags & 0x0200 and status.max_len == sw.STATUS_SIZE and control.max_len >= 29
    assert aioble.security.loaded and aioble.calls["config"][0]["bond"] is True
    assert decode_status(status.value).imu_model == "LSM6DSO32"

    async def scenario():
        tasks = [asyncio.create_task(t()) for t in (peripheral.advertise, peripheral.send, peripheral.serve_control)]
        while aioble.connection is None or node.mtu != 247:
            await asyncio.sleep(0.001)
        conn = aioble.connection
        await control.writes.put((conn, sw.pack_control(sw.OP_START, 9)))
        await control.writes.put((conn, sw.pack_control(sw.OP_SET_NAME, 10, "Left shin")))
        for k in range(416):
            board_env.imu.push(0.0, 0.0, 1.0, 1.0, 2.0, 3.0)
            if k % 12 == 11:
                clock.advance_us(28846)
                node.service()
                await asyncio.sleep(0.02)
        await asyncio.sleep(0.05)
        conn._gone.set()
        await asyncio.sleep(0.02)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(scenario())
    adv, resp = aioble.calls["advertise"][0]
    assert len(adv) <= 31 and len(resp) <= 31
    assert parse_fields(resp)[0x08] == b"StrideCue-L"  # 12 bytes: shortened to the 11 that fit
    assert {"gap_name": "StrideCue-LS", "mtu": 247, "bond": True, "le_secure": True, "mitm": False, "io": 3} in aioble.calls["config"]
    replies = [sw.parse_reply(m) for m in status.notified if m[0] == sw.TYPE_REPLY]
    assert (sw.OP_START, 9, sw.OK) == replies[0][:3] and (sw.OP_SET_NAME, 10, sw.OK) == replies[1][:3]
    assert node.name == "Left shin" and {"gap_name": "Left shin"} in aioble.calls["config"]
    packets = [decode_data(m) for m in data.notified]
    idx = [i for p in packets for i in p.block.index.tolist()]
    assert len(idx) >= 400 and idx == list(range(idx[0], idx[0] + len(idx)))
    assert not node.connected  # the disconnect reached the node


def test_main_starts_every_task_on_the_board(board_env, monkeypatch):
    monkeypatch.setitem(sys.modules, "time", fake_time())
    spec = importlib.util.spec_from_file_location("stridecue_board_main", ROOT / "firmware" / "main.py")
    main = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(main)  # not __main__: nothing runs on import
    assert main.read_config()["board"] in ("esp32s3_lsm6dso32", "atoms3_mpu6886")
    aioble = board_env.aioble

    async def scenario():
        task = asyncio.create_task(main.main())
        for _ in range(200):
            await asyncio.sleep(0.005)
            if aioble.calls["advertise"] and aioble.connection is not None and aioble.connection.mtu:
                break
        status = characteristic(aioble, sw.STATUS_UUID)
        control = characteristic(aioble, sw.CONTROL_UUID)
        await control.writes.put((aioble.connection, sw.pack_control(sw.OP_GET_STATUS, 3)))
        await asyncio.sleep(0.1)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return status

    status = asyncio.run(scenario())
    st = decode_status(status.value)
    assert st.imu_model == "LSM6DSO32" and st.rate == 416 and st.error_count == 0
    assert st.battery_mv == 3900 and 55 < st.battery_pct < 75 and not st.low_battery
    assert any(m[0] == sw.TYPE_REPLY and sw.parse_reply(m)[:3] == (sw.OP_GET_STATUS, 3, sw.OK) for m in status.notified)


def test_main_runs_the_cpu_at_240_mhz_and_starts_the_power_task(board_env, monkeypatch):
    monkeypatch.setitem(sys.modules, "time", fake_time())
    import stridenode.power as power_mod

    started = []

    async def run(self, supervisor):
        started.append((self.motion_pin, self.idle_ms))
        supervisor.beat("power")

    monkeypatch.setattr(power_mod.PowerManager, "run", run)
    spec = importlib.util.spec_from_file_location("stridecue_board_main_power", ROOT / "firmware" / "main.py")
    main = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(main)

    async def scenario():
        task = asyncio.create_task(main.main())
        await asyncio.sleep(0.05)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(scenario())
    assert board_env.machine.hz == 240_000_000
    assert started == [(3, 300_000)]  # the XIAO build: wake on IMU INT1 (GPIO3), 5 minutes idle
