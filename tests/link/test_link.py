"""Connecting through bleak to the virtual sensor: versions, unknown devices, two sensors at once."""

from __future__ import annotations

import asyncio

import pytest

import stridewire
from stridecue.link.decoder import decode_status
from stridecue.link.keys import KeyStore, forget_session
from stridecue.link.client import LinkError, SensorLink, scan
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
    air.sensors[LEFT].protocol_version = 1  # firmware from before authentication
    found = asyncio.run(scan(0.3, backend=VirtualBleakScanner))
    assert found[0].protocol_version == 1  # a scan still shows it, with its version

    async def connect():
        link = SensorLink(LEFT, backend=VirtualBleakClient, clock=air.clock)
        await link.open()

    with pytest.raises(LinkError) as e:
        asyncio.run(connect())
    message = str(e.value)
    assert "protocol version 1" in message and f"speaks {stridewire.PROTOCOL_VERSION}" in message
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


# -- authentication (issue 13) ---------------------------------------------------------------


def _stranger_air() -> VirtualAir:
    forget_session()  # this host has no key for any virtual sensor of the earlier tests either
    runner = VirtualRunner(RunnerSettings(), seed=5)
    air = VirtualAir(seed=6)
    sensor = air.add_sensor("StrideCue-LS", LEFT, runner.sensor(leg="left", mount="shin"), register_key=False)
    sensor.strap_on("shin", "left")  # the owner's earlier session
    set_current_air(air)
    return air


def test_a_host_without_the_secret_is_refused_gets_nothing_and_changes_nothing(tmp_path):
    air = _stranger_air()
    sensor = air.sensors[LEFT]
    items, events = [], []
    link = SensorLink(LEFT, backend=VirtualBleakClient, clock=air.clock, keys=KeyStore.in_dir(tmp_path),
                      mount="thigh", leg="right", on_items=items.extend, on_event=events.append, reconnect=False)
    with pytest.raises(LinkError) as e:
        asyncio.run(link.open())
    message = str(e.value)
    assert "no key for this sensor" in message and "stridecue pair" in message and "\n" not in message
    assert link.status.auth_required and link.status.rate == 0 and link.status.next_sample == 0  # only the public status

    async def raw_stranger():
        """A central that skips authentication and just asks (bonded: Just Works in the window)."""
        client = VirtualBleakClient(LEFT)
        await client.connect(pair=True)
        got = []
        await client.start_notify(_char(stridewire.STATUS_UUID), lambda d: got.append(bytes(d)))
        await client.start_notify(_char(stridewire.DATA_UUID), lambda d: got.append(bytes(d)))
        for token, (opcode, *args) in enumerate([(stridewire.OP_START,), (stridewire.OP_SET_NAME, "Mine"),
                                                 (stridewire.OP_SET_MOUNT, 2, 2), (stridewire.OP_GET_STATUS,)]):
            await client.write_gatt_char(_char(stridewire.CONTROL_UUID), stridewire.pack_control(opcode, token, *args), True)
        await air.clock.sleep(6.0)  # longer than the status period
        public = await client.read_gatt_char(_char(stridewire.STATUS_UUID))
        await client.disconnect()
        return got, public

    got, public = asyncio.run(raw_stranger())
    assert all(m[0] == stridewire.TYPE_REPLY for m in got)  # no data, no status notification
    results = [stridewire.parse_reply(m)[2] for m in got]
    assert results == [stridewire.ERR_NOT_AUTHENTICATED] * 3 + [stridewire.OK]
    assert decode_status(public).auth_required
    assert items == [] and not sensor.node.streaming
    assert (sensor.node.name, sensor.node.mount) == ("StrideCue-LS", stridewire.mount_code(1, 1))  # as its owner left it
    assert sensor.node.error_count == 0


def test_a_wrong_secret_is_refused_in_one_line_then_locked_out(tmp_path):
    air = _stranger_air()
    key_id, secret = air.sensors[LEFT].secret
    store = KeyStore.in_dir(tmp_path)
    store.add(key_id, bytes(16), name="StrideCue-LS", address=LEFT)  # the sensor was re-flashed since
    messages = []
    for _ in range(4):
        link = SensorLink(LEFT, backend=VirtualBleakClient, clock=air.clock, keys=store, reconnect=False)
        with pytest.raises(LinkError) as e:
            asyncio.run(link.open())
        messages.append(str(e.value))
    assert all("\n" not in m for m in messages)
    assert "refused this computer's key" in messages[0] and "stridecue pair --usb" in messages[0]
    assert "refuses authentication for 60 s" in messages[3]
    store.add(key_id, secret, name="StrideCue-LS", address=LEFT)  # `stridecue pair --usb`
    link = SensorLink(LEFT, backend=VirtualBleakClient, clock=air.clock, keys=store, reconnect=False)
    with pytest.raises(LinkError, match="refuses authentication"):  # still locked: a minute, for everyone
        asyncio.run(link.open())

    async def later():
        await air.clock.sleep(61.0)
        status = await link.open()
        await link.close()
        return status

    status = asyncio.run(later())
    assert not status.auth_required and status.rate == 416 and link.key_id == key_id


def test_status_decodes_at_mtu_23_and_streaming_there_is_one_clear_error():
    air = _air("left")
    air.mtu = 23  # a host whose stack never raises the MTU
    events = []
    link = SensorLink(LEFT, backend=VirtualBleakClient, clock=air.clock, on_event=events.append, mount="thigh", leg="right",
                      reconnect=False)

    async def run():
        with pytest.raises(LinkError) as e:
            await link.open()
        await air.clock.sleep(0.2)
        return str(e.value)

    message = asyncio.run(run())
    assert "MTU is 23 bytes, too small to stream" in message and "\n" not in message
    statuses = [ev for ev in events if ev["kind"] == "status"]
    assert statuses and statuses[-1]["segment"] == stridewire.SEGMENT_THIGH and statuses[-1]["side"] == stridewire.SIDE_RIGHT
    assert link.stream.counters.corrupt == 0  # before the fix: every status cut to 20 bytes, a CRC error


def _char(uuid):
    from stridecue.sim.ble_backend import _gatt_services

    return _gatt_services().get_characteristic(uuid)


def test_a_consumer_that_raises_ends_the_link_instead_of_hanging():
    """Found while typing the strides: a bug that made the pipeline raise was swallowed by the
    radio's callback, and a simulated run waited forever.  The link now ends with that error."""
    air = _air("left")
    calls = []

    def broken(items):
        calls.append(len(items))
        if len(calls) == 3:
            raise ZeroDivisionError("a bug downstream")

    async def run():
        link = SensorLink(LEFT, backend=VirtualBleakClient, clock=air.clock, on_items=broken)
        await link.open()
        supervisor = asyncio.ensure_future(link.supervise())
        waiter = asyncio.ensure_future(air.clock.sleep(30.0))
        done, _ = await asyncio.wait({supervisor, waiter}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        await link.close()
        return supervisor, done

    supervisor, done = asyncio.run(run())
    assert supervisor in done
    with pytest.raises(ZeroDivisionError, match="a bug downstream"):
        supervisor.result()
    assert len(calls) == 3  # nothing more was handed to a consumer that failed
