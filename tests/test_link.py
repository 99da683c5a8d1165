"""Connecting through bleak to the virtual sensor: versions, unknown devices, two sensors at once."""

from __future__ import annotations

import asyncio

import pytest

import stridewire
from stridecue.link import LinkError, SensorLink, scan
from stridecue.sim import RunnerSettings, VirtualRunner
from stridecue.sim.air import VirtualAir, set_current_air
from stridecue.sim.ble_backend import VirtualBleakClient, VirtualBleakScanner

LEFT, RIGHT = "5C:1D:00:00:00:01", "5C:1D:00:00:00:02"


def _air(*legs: str) -> VirtualAir:
    runner = VirtualRunner(RunnerSettings(), seed=5)
    air = VirtualAir(seed=5)
    for leg, address in zip(legs, (LEFT, RIGHT)):
        air.add_sensor(f"StrideCue-{leg[0].upper()}S", address, runner.sensor(leg=leg, mount="shin"))
    set_current_air(air)
    return air


def test_a_sensor_speaking_another_protocol_version_is_refused_in_one_line():
    air = _air("left")
    air.sensors[LEFT].protocol_version = 2
    found = asyncio.run(scan(0.3, backend=VirtualBleakScanner))
    assert found[0].protocol_version == 2  # a scan still shows it, with its version

    async def connect():
        link = SensorLink(LEFT, backend=VirtualBleakClient, clock=air.clock)
        await link.open()

    with pytest.raises(LinkError) as e:
        asyncio.run(connect())
    message = str(e.value)
    assert "protocol version 2" in message and f"speaks {stridewire.PROTOCOL_VERSION}" in message
    assert "stridecue flash" in message and "\n" not in message


def test_an_unknown_device_is_one_clear_error():
    air = _air("left")

    async def connect():
        await SensorLink("AA:BB:CC:DD:EE:FF", backend=VirtualBleakClient, clock=air.clock).open()

    with pytest.raises(LinkError) as e:
        asyncio.run(connect())
    assert "AA:BB:CC:DD:EE:FF" in str(e.value) and "cannot connect" in str(e.value)


def test_two_sensors_stream_at_once_on_one_timeline():
    air = _air("left", "right")
    got = {0: 0, 1: 0}

    def count(items):
        for item in items:
            if hasattr(item, "raw"):
                got[item.sensor] += len(item)

    async def both():
        links = [SensorLink(addr, slot=slot, leg=leg, backend=VirtualBleakClient, clock=air.clock, on_items=count)
                 for slot, (addr, leg) in enumerate(((LEFT, "left"), (RIGHT, "right")))]
        for link in links:
            await link.open()
        await air.clock.sleep(20.0)
        for link in links:
            await link.close()
        return links

    links = asyncio.run(both())
    assert got[0] == pytest.approx(20 * 416, rel=0.03) and got[1] == pytest.approx(20 * 416, rel=0.03)
    assert links[0].status.leg == "left" and links[1].status.leg == "right"
