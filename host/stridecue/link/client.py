"""Host link: connect to a sensor with bleak, stream, survive drop-outs.

One SensorLink per sensor.  It talks to the sensor only through bleak's public BleakClient
(whatever the backend: a real adapter, or the virtual sensor with --simulate), checks the
protocol version, proves the device secret (keys.py; docs/pairing.md), starts the stream,
hands decoded packets to a SampleStream, asks for resends, and reconnects with back-off when the
link drops.  Status notifications arrive whole, or in parts at a small MTU (reassembled here).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Callable

from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError

import stridewire
from stridewire import ProtocolError

from stridecue.clock import Clock, WallClock, wait_for
from stridecue.link.decoder import SensorStatus, decode_data, decode_status
from stridecue.errors import UserError
from stridecue.link.keys import KeyStore
from stridecue.link.stream import SampleStream, StreamItem

log = logging.getLogger(__name__)


class LinkError(UserError):
    """A sensor problem the user must act on; str() is one line naming it."""


@dataclass(frozen=True)
class FoundSensor:
    address: str
    name: str
    rssi: int
    protocol_version: int | None
    firmware: str | None
    battery_pct: int | None
    device: Any = None  # the BLEDevice, to connect without scanning again
    mount_code: int | None = None  # segment and side the sensor was last set to (status byte 16)

    @property
    def mount(self) -> tuple[str, str] | None:
        """(segment, side) the sensor advertises, e.g. ("shin", "left"); None when unknown."""
        if self.mount_code is None:
            return None
        segment = {stridewire.SEGMENT_SHIN: "shin", stridewire.SEGMENT_THIGH: "thigh"}.get(self.mount_code & 0x03)
        side = {stridewire.SIDE_LEFT: "left", stridewire.SIDE_RIGHT: "right"}.get((self.mount_code >> 2) & 0x03)
        return (segment, side) if segment and side else None


async def scan(timeout: float = 5.0, backend: type | None = None) -> list[FoundSensor]:
    """StrideCue sensors in range (by service UUID), strongest first."""
    found = await BleakScanner.discover(
        timeout=timeout, return_adv=True, service_uuids=[stridewire.SERVICE_UUID], backend=backend
    )
    sensors = []
    for device, adv in found.values():
        data = adv.service_data.get(stridewire.SERVICE_UUID)
        version = firmware = battery = mount = None
        if data is not None:
            try:
                version, fw_major, fw_minor, fw_patch, battery, mount = stridewire.parse_adv(data)
                firmware = f"{fw_major}.{fw_minor}.{fw_patch}"
            except ProtocolError:
                pass
        sensors.append(FoundSensor(device.address, adv.local_name or device.name or "?", adv.rssi, version, firmware, battery, device, mount))
    sensors.sort(key=lambda s: -s.rssi)
    return sensors


@dataclass
class LinkCounters:
    connects: int = 0
    drops: int = 0
    control_errors: int = 0


@dataclass
class SensorLink:
    """A streaming connection to one sensor.

    target: address, name or BLEDevice; slot: this sensor's number in the run (0, 1);
    on_items receives the in-order sample stream (SampleBlock and Missing items);
    on_event receives dicts worth logging in the run (drops, reconnects, status).
    """

    target: BLEDevice | str
    slot: int = 0
    mount: str = "shin"
    leg: str = "left"
    backend: type | None = None
    clock: Clock = field(default_factory=WallClock)
    on_items: Callable[[list[StreamItem]], None] = lambda items: None
    on_event: Callable[[dict], None] = lambda event: None
    reconnect: bool = True
    max_backoff_s: float = 8.0
    reply_timeout_s: float = 3.0
    give_up_after_s: float = 120.0  # no connection for this long: the sensor is gone
    keys: KeyStore | None = None  # device secrets; None: the data directory's keys file
    encoding: str = "full"  # data packets to ask for: "full" or "delta" (docs/protocol.md, SET_ENCODING)

    def __post_init__(self) -> None:
        self.stream = SampleStream(sensor=self.slot, request_resend=self._request_resend)
        self.counters = LinkCounters()
        self.status: SensorStatus | None = None
        self.name = self.target.name if isinstance(self.target, BLEDevice) else str(self.target)
        self._client: BleakClient | None = None
        self._token = 0
        self._replies: dict[int, asyncio.Future] = {}
        self._dropped = asyncio.Event()
        self._closing = False
        self._consumer_error: BaseException | None = None  # on_items/on_event raised: the run must end
        self._last_packet_at: float | None = None
        self._tasks: set[asyncio.Task] = set()
        self._parts = stridewire.StatusAssembler()
        self.key_id: int | None = None  # the key this host proved on the last connection
        self.encoding_in_use = "full"  # what the sensor agreed to on the last connection
        self._encoding_warned = False

    # -- public -------------------------------------------------------------------------

    async def open(self) -> SensorStatus:
        """Connect, check the protocol, set the mount, start streaming."""
        await self._connect()
        return self.status  # type: ignore[return-value]

    async def supervise(self) -> None:
        """Reconnect whenever the link drops, until close(); raise LinkError if the sensor is gone."""
        while not self._closing:
            await self._dropped.wait()
            if self._consumer_error is not None:
                raise self._consumer_error
            if self._closing:
                return
            self._dropped.clear()
            self.counters.drops += 1
            self.on_event({"kind": "disconnect", "sensor": self.slot, "t": self.clock.now()})
            if not self.reconnect:
                raise LinkError(f"{self.name}: connection lost")
            await self._reconnect()

    async def close(self) -> None:
        """Stop streaming and disconnect; what is still missing is declared missing."""
        self._closing = True
        self._dropped.set()
        client = self._client
        if client is not None and client.is_connected:
            try:
                await self.control(stridewire.OP_STOP)
            except (LinkError, BleakError):
                pass
            try:
                await client.disconnect()
            except BleakError:
                pass
        self._deliver(self.stream.flush())

    async def control(self, opcode: int, *args: Any) -> tuple[int, int]:
        """Send a control message; return (result code, detail) of the sensor's reply."""
        client = self._client
        if client is None or not client.is_connected:
            raise LinkError(f"{self.name}: not connected")
        self._token = (self._token + 1) & 0xFF
        token = self._token
        fut = asyncio.get_running_loop().create_future()
        self._replies[token] = fut
        try:
            await client.write_gatt_char(stridewire.CONTROL_UUID, stridewire.pack_control(opcode, token, *args), response=True)
            result, detail = await wait_for(self.clock, fut, self.reply_timeout_s)
        except asyncio.TimeoutError:
            raise LinkError(f"{self.name}: no reply to {stridewire.OPCODE_NAMES[opcode]}") from None
        finally:
            self._replies.pop(token, None)
        return result, detail

    # -- connection -------------------------------------------------------------------

    async def pair(self) -> SensorStatus:
        """Connect with pairing (a bond, if the sensor's pairing window is open), prove the device
        secret, read the whole status, disconnect: what `stridecue pair` does over Bluetooth."""
        self.reconnect = False
        await self._handshake()
        client = self._client
        self._closing = True
        try:
            await client.disconnect()
        except BleakError:
            pass
        return self.status  # type: ignore[return-value]

    async def _connect(self) -> None:
        await self._handshake()
        client = self._client
        await client.start_notify(stridewire.DATA_UUID, self._on_data)
        self.stream.expect_from(self.status.stream_id, self.status.next_sample)
        segment = stridewire.SEGMENT_THIGH if self.mount == "thigh" else stridewire.SEGMENT_SHIN
        side = stridewire.SIDE_RIGHT if self.leg == "right" else stridewire.SIDE_LEFT
        await self._expect_ok(stridewire.OP_SET_MOUNT, segment, side)
        await self._negotiate_encoding()
        await self._expect_ok(stridewire.OP_START)

    async def _negotiate_encoding(self) -> None:
        """Ask for the delta encoding when wanted (per connection: the sensor forgets it on
        disconnect).  A firmware that does not know SET_ENCODING (before it existed), or an MTU too
        small for it, streams full packets: a one-line warning, once, and the run goes on."""
        self.encoding_in_use = "full"
        if self.encoding != "delta":
            return
        result, detail = await self.control(stridewire.OP_SET_ENCODING, stridewire.ENCODING_DELTA)
        if result == stridewire.OK:
            self.encoding_in_use = "delta"
            return
        if not self._encoding_warned:
            self._encoding_warned = True
            reason = {stridewire.ERR_UNKNOWN_OPCODE: "its firmware does not know it (update with `stridecue flash`)",
                      stridewire.ERR_MTU_TOO_SMALL: f"the link's MTU of {detail} bytes is too small for it",
                      stridewire.ERR_BUSY: "the sensor has no memory left for it"}.get(
                result, stridewire.ERROR_NAMES.get(result, str(result)))
            message = f"{self.name}: streaming full packets, not delta: {reason}"
            log.warning(message)
            self.on_event({"kind": "warning", "sensor": self.slot, "t": self.clock.now(), "message": message})

    async def _handshake(self) -> None:
        """Connect (pairing), check the protocol version, authenticate, read the whole status."""
        client = BleakClient(self.target, disconnected_callback=self._on_disconnect, backend=self.backend, pair=True, timeout=10.0)
        try:
            await client.connect()
        except BleakError as e:
            raise LinkError(f"{self.name}: cannot connect ({e})") from None
        self._client = client
        self.counters.connects += 1
        try:
            raw = await client.read_gatt_char(stridewire.STATUS_UUID)
            self.status = decode_status(raw)
        except ProtocolError as e:
            await client.disconnect()
            if e.code == stridewire.ERR_BAD_VERSION:
                theirs = raw[1] if len(raw) > 1 else "?"
                raise LinkError(
                    f"{self.name}: sensor speaks protocol version {theirs}, this host speaks "
                    f"{stridewire.PROTOCOL_VERSION}; update the firmware with `stridecue flash`"
                ) from None
            raise LinkError(f"{self.name}: not a StrideCue sensor or a corrupt status ({e.reason})") from None
        except BleakError as e:
            raise LinkError(f"{self.name}: not a StrideCue sensor ({e})") from None
        self.name = client.name or self.name
        self._parts = stridewire.StatusAssembler()
        await client.start_notify(stridewire.STATUS_UUID, self._on_status_message)  # replies come here
        try:
            await self._authenticate(client)
            self.status = decode_status(await client.read_gatt_char(stridewire.STATUS_UUID))  # the whole status now
        except (LinkError, ProtocolError, BleakError) as e:
            try:
                await client.disconnect()
            except BleakError:
                pass
            if isinstance(e, LinkError):
                raise
            raise LinkError(f"{self.name}: authentication broke off ({e})") from None

    async def _authenticate(self, client: BleakClient) -> None:
        """Prove the device secret: AUTH_BEGIN(key id) -> nonce, AUTH_PROVE(tag).  Keys are tried
        most likely first; a key id the sensor does not hold costs nothing, a wrong proof does."""
        store = self.keys if self.keys is not None else KeyStore()
        address = getattr(client, "address", None) or (self.target.address if isinstance(self.target, BLEDevice) else str(self.target))
        for key in store.candidates(address, self.name):
            result, nonce = await self.control(stridewire.OP_AUTH_BEGIN, key.key_id)
            if result == stridewire.ERR_UNKNOWN_KEY:
                continue
            if result == stridewire.OK:
                result, detail = await self.control(stridewire.OP_AUTH_PROVE, stridewire.auth_tag(key.secret, nonce, key.key_id))
                if result == stridewire.OK:
                    self.key_id = key.key_id
                    return
            else:
                detail = nonce
            if result == stridewire.ERR_AUTH_LOCKED:
                raise LinkError(f"{self.name}: the sensor refuses authentication for {detail} s after failed attempts; "
                                "wait, then connect again")
            raise LinkError(f"{self.name}: the sensor refused this computer's key {key.key_id:08x} "
                            f"({stridewire.ERROR_NAMES.get(result, result)}); run `stridecue pair --usb` with the sensor on USB")
        raise LinkError(f"{self.name}: this computer has no key for this sensor; run `stridecue pair --usb` with the "
                        "sensor on USB (or `stridecue flash`, which gives it a new one)")

    async def _expect_ok(self, opcode: int, *args: Any) -> None:
        result, detail = await self.control(opcode, *args)
        if result == stridewire.ERR_MTU_TOO_SMALL:
            need = next(m for m in range(23, 518) if stridewire.samples_per_packet(m, 4))
            raise LinkError(f"{self.name}: the Bluetooth link's MTU is {detail} bytes, too small to stream "
                            f"(at least {need} needed); this computer's Bluetooth stack did not raise it")
        if result != stridewire.OK:
            raise LinkError(f"{self.name}: {stridewire.OPCODE_NAMES[opcode]} refused: {stridewire.ERROR_NAMES.get(result, result)}")

    async def _reconnect(self) -> None:
        backoff = 0.25
        started = self.clock.now()
        while not self._closing:
            try:
                await self._connect()
            except LinkError as e:
                if self.clock.now() - started > self.give_up_after_s:
                    raise LinkError(f"{self.name}: lost and not back after {self.give_up_after_s:.0f} s") from None
                log.info("reconnect failed: %s; retrying in %.2f s", e, backoff)
                await self.clock.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)
                continue
            self.on_event({"kind": "reconnect", "sensor": self.slot, "t": self.clock.now(), "down_s": self.clock.now() - started})
            self.stream.restart_requests()
            return

    def _on_disconnect(self, client: BleakClient) -> None:
        for fut in self._replies.values():
            if not fut.done():
                fut.set_exception(LinkError(f"{self.name}: disconnected"))
        self._dropped.set()

    # -- notifications ----------------------------------------------------------------

    def _on_data(self, _char: Any, data: bytearray) -> None:
        try:
            packet = decode_data(data, sensor=self.slot)
        except ProtocolError:
            self.stream.counters.corrupt += 1  # the gap it leaves is asked for again
            return
        now = self.clock.now()
        gap = 0.0 if self._last_packet_at is None else now - self._last_packet_at
        self._last_packet_at = now
        items = self.stream.push(packet, wall_gap_s=gap, now=now)
        if items:
            self._deliver(items)

    def _deliver(self, items: list[StreamItem]) -> None:
        """Hand items on.  A consumer that raises (a bug in the analysis, the recorder, the coach)
        would otherwise be swallowed by the radio's callback and a simulated run would wait forever
        for samples that no one takes: it ends the link's supervise() with that error instead."""
        if self._consumer_error is not None:
            return
        try:
            self.on_items(items)
        except Exception as e:  # noqa: BLE001 - re-raised from supervise()
            self._consumer_error = e
            self._dropped.set()

    def _on_status_message(self, _char: Any, data: bytearray) -> None:
        kind = stridewire.message_type(data)
        try:
            if kind == stridewire.TYPE_REPLY:
                opcode, token, result, detail = stridewire.parse_reply(data)
                fut = self._replies.get(token)
                if fut is not None and not fut.done():
                    fut.set_result((result, detail))
                if result != stridewire.OK:
                    self.counters.control_errors += 1
            elif kind == stridewire.TYPE_STATUS:
                self._status_message(data)
            elif kind == stridewire.TYPE_STATUS_PART:
                whole = self._parts.feed(data)
                if whole is not None:
                    self._status_message(whole)
        except ProtocolError:
            self.stream.counters.corrupt += 1

    def _status_message(self, data: bytes | bytearray) -> None:
        self.status = decode_status(data)
        self.on_event({"kind": "status", "sensor": self.slot, "t": self.clock.now(), **self.status.__dict__})

    def _request_resend(self, first: int, count: int) -> None:
        task = asyncio.get_running_loop().create_task(self._resend(first, count))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _resend(self, first: int, count: int) -> None:
        try:
            result, detail = await self.control(stridewire.OP_RESEND, first, count)
        except (LinkError, BleakError):
            return  # asked again after the reconnect, or when the stream's patience runs out
        if result == stridewire.ERR_RANGE_GONE:
            items = self.stream.range_gone(first, detail)
            if items:
                self._deliver(items)
