"""The stand-ins of firmware/sim (aioble, bluetooth, machine) that let main.py run in MicroPython:
aioble's documented API (same names and parameters), and the behaviours of a real stack the
firmware depends on.  Run in CPython here; tests/firmware/test_firmware_mainloop.py runs them in MicroPython."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import sys
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parents[2] / "firmware" / "sim"
_NAMES = ("aioble", "aioble.core", "aioble.device", "aioble.peripheral", "aioble.server", "aioble.security",
          "bluetooth", "machine", "esp32", "blecentral", "paced")


@pytest.fixture
def sim(monkeypatch, tmp_path):
    for name in _NAMES:
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.syspath_prepend(str(SIM))
    monkeypatch.chdir(tmp_path)
    mods = {name: importlib.import_module(name) for name in ("aioble", "aioble.security", "bluetooth", "machine", "blecentral")}
    yield mods
    for name in _NAMES:
        sys.modules.pop(name, None)


# aioble's public API as its documentation (micropython-lib, bluetooth/aioble/README.md) gives it
DOCUMENTED = {
    "advertise": ["interval_us", "adv_data", "resp_data", "connectable", "limited_disc", "include_tx_power", "name",
                  "services", "appearance", "manufacturer", "timeout_ms"],
    "Characteristic": ["service", "uuid", "read", "write", "write_no_response", "notify", "indicate", "initial", "capture"],
    "DeviceConnection.exchange_mtu": ["mtu", "timeout_ms"],
    "DeviceConnection.disconnected": ["timeout_ms", "disconnect"],
    "DeviceConnection.disconnect": ["timeout_ms"],
    "DeviceConnection.pair": ["bond", "le_secure", "mitm", "io", "timeout_ms"],
    "security.load_secrets": ["path"],
}


def test_the_aioble_stand_in_has_aiobles_documented_api(sim):
    aioble = sim["aioble"]
    for dotted, params in DOCUMENTED.items():
        obj = aioble
        for part in dotted.split("."):
            obj = getattr(obj, part) if part != "security" else sim["aioble.security"]
        names = [n for n in inspect.signature(obj).parameters if n != "self"]
        assert names == params, dotted
    for attr in ("encrypted", "authenticated", "bonded", "key_size", "is_connected"):
        assert hasattr(aioble.DeviceConnection, attr), attr
    assert {"BufferedCharacteristic", "Service", "register_services", "config", "GattError", "DeviceDisconnectedError"} <= set(dir(aioble))
    with pytest.raises(ValueError):
        aioble.config(no_such_option=1)  # as BLE.config


def _serve(sim):
    aioble, bluetooth = sim["aioble"], sim["bluetooth"]
    service = aioble.Service(bluetooth.UUID(0x180F))
    level = aioble.Characteristic(service, bluetooth.UUID(0x2A19), read=True, notify=True)
    secret = aioble.BufferedCharacteristic(service, bluetooth.UUID(0x2A20), read=True, notify=True, max_len=64)
    secret.flags |= bluetooth.FLAG_READ_ENCRYPTED
    control = aioble.Characteristic(service, bluetooth.UUID(0x2A21), write=True, capture=True)
    aioble.register_services(service)
    return level, secret, control


def test_a_notification_is_cut_to_mtu_minus_3_and_the_controller_runs_out_of_buffers(sim):
    aioble, blecentral = sim["aioble"], sim["blecentral"]
    level, secret, control = _serve(sim)
    got = []

    async def scenario():
        central = blecentral.Central("c0:ff:ee:00:00:09", mtu=247, interval_ms=50, per_event=1)
        adv = asyncio.create_task(aioble.advertise(100_000, adv_data=b"\x02\x01\x06"))
        await central.connect()
        conn = await adv
        central.subscribe(0x2A20, lambda buf, n: got.append(bytes(buf[:n])))
        secret.notify(conn, bytes(range(44)))  # MTU 23 until an exchange: 20 bytes arrive
        await asyncio.sleep(0.08)
        assert got == [bytes(range(20))]
        assert await conn.exchange_mtu(247) == 247 and conn.mtu == 247
        secret.notify(conn, bytes(range(44)))
        for _ in range(7):
            secret.notify(conn, b"x")
        with pytest.raises(OSError):  # 8 held: the ninth finds no buffer (ENOMEM), as NimBLE says
            secret.notify(conn, b"y")
        await asyncio.sleep(0.2)
        assert got[1] == bytes(range(44))
        await central.disconnect()
        assert not conn.is_connected()

    asyncio.run(scenario())


def test_encrypted_reads_writes_and_bonds_behave_as_a_stack_does(sim):
    aioble, security, blecentral = sim["aioble"], sim["aioble.security"], sim["blecentral"]
    level, secret, control = _serve(sim)
    security.load_secrets()

    async def scenario():
        aioble.config(bond=False)
        central = blecentral.Central("c0:ff:ee:00:00:0a")
        adv = asyncio.create_task(aioble.advertise(100_000))
        await central.connect()
        conn = await adv
        with pytest.raises(aioble.GattError):  # unencrypted link: insufficient encryption
            central.read(0x2A20)
        assert central.pair(bond=True) is False  # the peripheral does not bond: encrypted only
        assert conn.encrypted and not conn.bonded and not conn.authenticated
        assert security.bonded_addresses() == []
        secret.write(bytes(50))
        assert central.read(0x2A20) == bytes(50)  # a read is not cut to the MTU (read blob)
        central.write(0x2A21, bytes(range(30)))  # a plain characteristic holds 20 bytes
        who, data = await control.written()
        assert who is conn and data == bytes(range(20))
        await central.disconnect()
        aioble.config(bond=True)
        again = blecentral.Central("c0:ff:ee:00:00:0a")
        adv = asyncio.create_task(aioble.advertise(100_000))
        await again.connect()
        conn2 = await adv
        assert again.pair(bond=True) is True and conn2.bonded
        assert security.bonded_addresses() == ["c0:ff:ee:00:00:0a"] and Path("ble_secrets.json").exists()

    asyncio.run(scenario())


def test_machine_stand_in_records_instead_of_resetting(sim):
    machine = sim["machine"]
    assert machine.freq() == 160_000_000
    machine.freq(240_000_000)
    assert machine.freq() == 240_000_000
    with pytest.raises(ValueError):
        machine.freq(123)
    with pytest.raises(machine.BoardReset):
        machine.reset()
    with pytest.raises(machine.DeepSleep):
        machine.deepsleep(1000)
    with pytest.raises(OSError):  # nothing attached to the bus
        machine.state.i2c = None
        machine.I2C(0)
