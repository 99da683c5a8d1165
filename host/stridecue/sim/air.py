"""The simulated radio world: virtual sensors that run the firmware's own code, and the air
between them and the host, with the faults real Bluetooth has.

Each VirtualSensor is a board: the virtual runner's signals feed a simulated IMU register
device on a simulated I2C bus, and the firmware's SensorNode (firmware/stridenode) reads it,
fuses, buffers and packs exactly as on the board.  VirtualAir advances time, moves the
sensors' notifications to connected clients (ble_backend) and injects faults on demand.

Each virtual board gets a device secret as `stridecue flash` would give a real one, and the
air registers it with the host's key store for this process (stridecue.link.keys.remember) unless
told not to (register_key=False: a sensor this host was never paired with).  Notifications are
cut to MTU - 3 bytes as a real stack cuts them (VirtualAir.mtu: 247, or 23 for a host that never
raises it); GATT reads are not cut (ATT Read Blob).

With a radio model (VirtualAir.radio, sim/radio.py: `--radio pi-zero-2w`), data and status
notifications wait in the sensor's controller queue and go out as link-layer packets, so many per
connection interval; without one (the default) each arrives in the step it was made.

Time: the air has its own clock (SimClock).  With speed=None it runs as fast as the host
consumes; with speed=1.0 in real time; with speed=k, k times real time.
"""

from __future__ import annotations

import asyncio
import random
import struct
import time
from binascii import crc32
from dataclasses import dataclass
from typing import Callable

import stridewire

_UNSET = object()


@dataclass
class FaultPlan:
    """Faults the air injects.  Probabilities are per notification; times are air seconds."""

    loss: float = 0.0  # a data notification never arrives
    corrupt: float = 0.0  # a notification arrives with one bit flipped
    duplicate: float = 0.0  # a notification arrives twice
    reorder: float = 0.0  # a notification arrives after the next one
    disconnect_every_s: float | None = None  # the link drops this often ...
    disconnect_for_s: float = 2.0  # ... and stays down this long
    reboot_at_s: tuple[float, ...] = ()  # the sensor reboots (new stream, counters from 0)
    seed: int = 0

    @property
    def any(self) -> bool:
        return bool(
            self.loss or self.corrupt or self.duplicate or self.reorder or self.disconnect_every_s or self.reboot_at_s
        )


class SimClock:
    """The air's time, for the host's waiting (see stridecue.clock)."""

    def __init__(self, air: "VirtualAir"):
        self._air = air

    def now(self) -> float:
        return self._air.time

    async def sleep(self, seconds: float) -> None:
        await self._air.wait_until(self._air.time + seconds)


class FirmwareClock:
    """The firmware's clock seam (ticks_us/ticks_diff) driven by the air's time."""

    def __init__(self, air: "VirtualAir"):
        self._air = air

    def ticks_us(self) -> int:
        return int(self._air.time * 1_000_000) & 0x3FFFFFFF

    def ticks_ms(self) -> int:
        return int(self._air.time * 1000) & 0x3FFFFFFF

    @staticmethod
    def ticks_diff(a: int, b: int) -> int:
        d = (a - b) & 0x3FFFFFFF
        return d - 0x40000000 if d & 0x20000000 else d

    @staticmethod
    def ticks_add(a: int, b: int) -> int:
        return (a + b) & 0x3FFFFFFF


@dataclass
class Connection:
    """A connected client's callbacks, as the backend registered them."""

    on_data: Callable[[bytearray], None] | None = None
    on_status: Callable[[bytearray], None] | None = None
    on_drop: Callable[[], None] | None = None
    bonded: bool = False
    mtu: int = 247
    encrypted: bool = False


class VirtualSensor:
    """One simulated board running the firmware's own modules over a simulated IMU."""

    def __init__(self, air: "VirtualAir", name: str, address: str, stream, board: str = "esp32s3_lsm6dso32", rssi: int = -58,
                 secret: tuple[int, bytes] | None = None, ring_s: float = 32):
        self.air = air
        self.ring_s = ring_s  # seconds the firmware's sample ring holds (32 on the board)
        self.name = name
        self.address = address
        self.stream = stream  # a virtual runner sensor stream: .read(n) -> chunk with .acc (g), .gyr (dps)
        self.board_name = board
        self.rssi = rssi
        self.rate = 416.0
        self.connection: Connection | None = None
        self._owed = 0.0  # fraction of a sample carried to the next step (rates not a multiple of the step)
        self.protocol_version = stridewire.PROTOCOL_VERSION  # set another to play an old or newer firmware
        # the device secret in the board's /secret.json: survives reboots, as flash does
        self.secret = secret or (air.rng.getrandbits(32), bytes(air.rng.getrandbits(8) for _ in range(stridewire.SECRET_SIZE)))
        self.boot()

    def boot(self) -> None:
        """Power on (or reboot): a fresh firmware node, new stream id, counters from zero."""
        from stridenode.boards import load_board
        from stridenode.node import SensorNode
        from stridenode.sim_i2c import SimI2C, make_device

        board = load_board(self.board_name)
        self.imu = make_device(board)
        self.i2c = SimI2C([self.imu])
        self.node = SensorNode(self.i2c, FirmwareClock(self.air), board, name=self.name, seed=self.air.rng.getrandbits(16),
                               secret=self.secret, ring_s=self.ring_s)
        self._follow_rate()

    def _follow_rate(self) -> None:
        """The runner is sampled at whatever rate the firmware set the IMU to."""
        self.rate = float(self.node.rate)
        self.stream.rate = self.rate

    def samples_due(self, seconds: float) -> int:
        """Samples the IMU produces in the next `seconds` of air time."""
        if self.rate != self.node.rate:
            self._follow_rate()
        exact = seconds * self.rate + self._owed
        n = int(exact)
        self._owed = exact - n
        return n

    def advance(self, n: int) -> None:
        """n more samples of the runner reach the IMU; the firmware services its FIFO."""
        chunk = self.stream.read(n)
        push = self.imu.push
        for a, g in zip(chunk.acc.tolist(), chunk.gyr.tolist()):
            push(a[0], a[1], a[2], g[0], g[1], g[2])
        self.node.service()

    def outgoing(self) -> list[bytes]:
        packets = []
        while True:
            packet = self.node.next_packet()
            if packet is None:
                return packets
            packets.append(bytes(packet))

    @property
    def backlog(self) -> int:
        """Samples captured but not yet handed to the radio (waiting in the ring)."""
        node = self.node
        return max(node.captured - node.next_sample(), 0) if node.streaming else 0

    def strap_on(self, mount: str, leg: str) -> None:
        """Set the mount the way a runner's earlier session would have (SET_MOUNT), so the sensor
        advertises which segment and side it is on."""
        segment = stridewire.SEGMENT_THIGH if mount == "thigh" else stridewire.SEGMENT_SHIN
        side = stridewire.SIDE_RIGHT if leg == "right" else stridewire.SIDE_LEFT
        if self.connection is not None:
            raise RuntimeError(f"{self.name}: strap_on is for a sensor nobody is connected to")
        node = self.node
        key_id, secret = self.secret
        node.set_mtu(247)  # the runner's earlier session: authenticated, mount set, gone
        from stridecue.link.keys import prove_to_node

        prove_to_node(node, key_id, secret)
        reply = node.handle_control(stridewire.pack_control(stridewire.OP_SET_MOUNT, 0, segment, side), True)
        code = stridewire.parse_reply(reply)[2]
        node.on_disconnect()
        if code != stridewire.OK:
            raise RuntimeError(f"{self.name}: the firmware refused SET_MOUNT")

    def advertised_name(self) -> str:
        """The name as a scan sees it: the firmware's own scan response (names over 11 bytes are
        sent shortened; the full name is the GAP device name, read once connected)."""
        from stridenode.advert import advertising_payloads, parse_fields

        _adv, response = advertising_payloads(self.name, stridewire.SERVICE_UUID, self.advertisement())
        fields = parse_fields(response)
        return bytes(fields.get(0x09) or fields.get(0x08) or b"").decode("utf-8", "replace")

    def advertisement(self) -> bytes:
        from stridenode import FW_VERSION

        node = self.node  # what the board's ble.py advertises
        adv = bytearray(stridewire.pack_adv(*FW_VERSION, min(node.battery.pct, 100), node.mount))
        adv[0] = self.protocol_version
        return bytes(adv)

    def status_bytes(self) -> bytes:
        """The status characteristic as this sensor's firmware version would present it."""
        status = bytearray(self.node.status())
        if self.protocol_version != stridewire.PROTOCOL_VERSION:
            # An older or newer firmware: same framing, another version byte (its CRC is valid).
            status[1] = self.protocol_version
            status[-4:] = struct.pack("<I", crc32(bytes(status[:-4])))
        return bytes(status)


class VirtualAir:
    """Time, sensors and the faults between them and the host."""

    def __init__(self, speed: float | None = None, faults: FaultPlan | None = None, seed: int = 0, step_s: float = 12 / 416,
                 radio=None):
        self.speed = speed
        self.radio = radio  # a sim.radio.RadioModel, or None: notifications arrive at once
        self._queues: dict[str, object] = {}  # address -> sim.radio.LinkQueue
        self._next_event = 0.0
        self._turn = 0
        self.faults = faults or FaultPlan()
        self.rng = random.Random(seed)
        self._fault_rng = random.Random(self.faults.seed)
        self.step_s = step_s
        self.time = 0.0
        self.sensors: dict[str, VirtualSensor] = {}
        self.clock = SimClock(self)
        self._sleepers: list[tuple[float, asyncio.Future]] = []
        self._held: dict[str, bytes] = {}  # reordering: a notification held back
        self._down_until: dict[str, float] = {}
        self._next_drop = self.faults.disconnect_every_s
        self._reboots = sorted(self.faults.reboot_at_s)
        self._task: asyncio.Task | None = None
        self.stats = {"sent": 0, "lost": 0, "corrupted": 0, "duplicated": 0, "reordered": 0, "drops": 0, "reboots": 0}
        self.end_time: float | None = None  # the runner stops here (for --duration)
        self.finished = asyncio.Event() if _loop_running() else None
        self._listeners: list[Callable[[float], None]] = []
        self.mtu = 247  # the ATT MTU a connecting host ends up with (23: a host that never raises it)

    def add_sensor(self, name: str, address: str, stream, board: str = "esp32s3_lsm6dso32", register_key: bool = True,
                   ring_s: float = 32) -> VirtualSensor:
        """A virtual board.  register_key: this host holds its secret, as after `stridecue flash`."""
        sensor = VirtualSensor(self, name, address, stream, board, ring_s=ring_s)
        self.sensors[address] = sensor
        if register_key:
            from stridecue.link.keys import remember

            remember(*sensor.secret, name=name, address=address)
        return sensor

    # -- the backend's side -----------------------------------------------------------

    def is_reachable(self, address: str) -> bool:
        return address in self.sensors and self.time >= self._down_until.get(address, -1.0)

    def connect(self, address: str, connection: Connection) -> VirtualSensor:
        sensor = self.sensors[address]
        sensor.connection = connection
        sensor.node.set_mtu(connection.mtu)
        self._ensure_running()
        return sensor

    def disconnect(self, address: str) -> None:
        sensor = self.sensors.get(address)
        self._forget_queue(address)
        if sensor is not None:
            sensor.connection = None
            sensor.node.on_disconnect()

    def write_control(self, address: str, data: bytes) -> None:
        sensor = self.sensors[address]
        conn = sensor.connection
        if conn is None:
            raise ConnectionError("not connected")
        reply = bytes(sensor.node.handle_control(data, conn.bonded))
        self._deliver(sensor, reply, status=True)
        self._ensure_running()

    def read_status(self, address: str) -> bytes:
        return self.sensors[address].status_bytes()

    # -- time -------------------------------------------------------------------------

    async def wait_until(self, t: float) -> None:
        if self.time >= t:
            await asyncio.sleep(0)
            return
        fut = asyncio.get_running_loop().create_future()
        self._sleepers.append((t, fut))
        self._ensure_running()
        await fut

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._pump())

    async def _pump(self) -> None:
        wall0 = time.monotonic()
        t0 = self.time
        while True:
            self._step()
            if self.speed:
                ahead = (self.time - t0) / self.speed - (time.monotonic() - wall0)
                await asyncio.sleep(max(ahead, 0.0))
            else:
                await asyncio.sleep(0)
            if not self._needed():
                return

    def _needed(self) -> bool:
        """Keep time running while someone listens or waits."""
        if self._sleepers:
            return True
        return any(s.connection is not None or s.node.streaming for s in self.sensors.values())

    def _step(self) -> None:
        self.time += self.step_s
        self._maybe_fault_events()
        if self.radio is not None:
            for sensor in self.sensors.values():
                sensor.advance(sensor.samples_due(self.step_s))
            self._radio_events()
        else:
            self._hand_over()
        due = [(t, f) for t, f in self._sleepers if t <= self.time]
        if due:
            self._sleepers = [(t, f) for t, f in self._sleepers if t > self.time]
            for _, fut in due:
                if not fut.done():
                    fut.set_result(None)

    def _hand_over(self) -> None:
        """No radio model: every notification the firmware makes in this step arrives."""
        for sensor in self.sensors.values():
            sensor.advance(sensor.samples_due(self.step_s))
            conn = sensor.connection
            if conn is not None and conn.on_data is not None:
                # A peripheral notifies only a client that subscribed (CCCD written): until then
                # the firmware keeps its packets rather than sending them into the void.
                for packet in sensor.outgoing():
                    self._deliver(sensor, packet, status=False)
            notes = sensor.node.pending_notifications()
            if notes is not None:
                for note in notes:
                    self._deliver(sensor, bytes(note), status=True)

    # -- the radio model (sim/radio.py) -------------------------------------------------

    def queue_of(self, address: str):
        """The sensor's controller queue under the radio model (created on first use)."""
        from stridecue.sim.radio import LinkQueue

        queue = self._queues.get(address)
        if queue is None:
            queue = self._queues[address] = LinkQueue(self.radio)
        return queue

    def _forget_queue(self, address: str) -> None:
        queue = self._queues.get(address)
        if queue is not None:
            queue.clear()

    def _radio_events(self) -> None:
        """Every connection interval that began by now: the firmware fills its controller queue
        (as ble.py's send loop does, until notify() is refused), then the central takes packets."""
        from stridecue.sim.radio import serve_interval

        while self._next_event <= self.time:
            live = []
            for address, sensor in self.sensors.items():
                conn = sensor.connection
                if conn is None:
                    continue
                queue = self.queue_of(address)
                self._fill(sensor, queue, conn)
                live.append((sensor, queue))
            if live:
                done = serve_interval(self.radio, [q for _, q in live], self._turn % len(live))
                self._turn += 1
                for i, payload, status in done:
                    self._deliver(live[i][0], payload, status=status)
            self._next_event += self.radio.interval_ms / 1000.0

    def _fill(self, sensor: VirtualSensor, queue, conn: Connection) -> None:
        notes = sensor.node.pending_notifications()
        if notes is not None:  # ble.py: a status notification refused by a full queue is not sent
            for note in notes:
                queue.offer(bytes(note), True)
        if conn.on_data is None:
            return
        while queue.room:
            packet = sensor.node.next_packet()
            if packet is None:
                return
            queue.offer(bytes(packet), False)
        queue.refused += 1  # the firmware's next notify() would be refused: its packets wait in the ring

    def _maybe_fault_events(self) -> None:
        f = self.faults
        if self._next_drop is not None and self.time >= self._next_drop:
            self._next_drop += f.disconnect_every_s
            for address, sensor in self.sensors.items():
                self._drop(sensor, f.disconnect_for_s)
        while self._reboots and self.time >= self._reboots[0]:
            self._reboots.pop(0)
            for sensor in self.sensors.values():
                self._drop(sensor, 1.0)
                sensor.boot()
                self.stats["reboots"] += 1

    def _drop(self, sensor: VirtualSensor, down_s: float) -> None:
        self._down_until[sensor.address] = self.time + down_s
        conn = sensor.connection
        sensor.connection = None
        sensor.node.on_disconnect()
        self._held.pop(sensor.address, None)
        self._forget_queue(sensor.address)
        if conn is not None:
            self.stats["drops"] += 1
            if conn.on_drop is not None:
                conn.on_drop()

    def _deliver(self, sensor: VirtualSensor, payload: bytes, status: bool) -> None:
        conn = sensor.connection
        if conn is None:
            return
        callback = conn.on_status if status else conn.on_data
        if callback is None:
            return
        payload = payload[: conn.mtu - stridewire.ATT_OVERHEAD]  # a notification carries MTU - 3 bytes
        self.stats["sent"] += 1
        f, rng = self.faults, self._fault_rng
        if not status:
            if f.loss and rng.random() < f.loss:
                self.stats["lost"] += 1
                return
            if f.corrupt and rng.random() < f.corrupt:
                self.stats["corrupted"] += 1
                damaged = bytearray(payload)
                bit = rng.randrange(len(damaged) * 8)
                damaged[bit // 8] ^= 1 << (bit % 8)
                payload = bytes(damaged)
            if f.reorder and rng.random() < f.reorder and sensor.address not in self._held:
                self.stats["reordered"] += 1
                self._held[sensor.address] = payload
                return
        callback(bytearray(payload))
        if not status and f.duplicate and rng.random() < f.duplicate:
            self.stats["duplicated"] += 1
            callback(bytearray(payload))
        held = self._held.pop(sensor.address, None) if not status else None
        if held is not None:
            callback(bytearray(held))


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
        return True
    except RuntimeError:
        return False


_current: VirtualAir | None = None


def set_current_air(air: VirtualAir | None) -> None:
    """The air the virtual bleak backend talks to (set by `stridecue run --simulate`)."""
    global _current
    _current = air


def current_air() -> VirtualAir:
    if _current is None:
        raise RuntimeError("no simulated air: the virtual backend is only usable with --simulate")
    return _current
