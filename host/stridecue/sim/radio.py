"""The Bluetooth LE link layer between the virtual sensors and the host's controller.

Without a radio model (`--radio none`, the default) the air hands every notification over at once.
With one, a notification is an ATT PDU (3-byte header + value) inside an L2CAP PDU (4-byte header),
cut into link-layer data packets of at most `ll_payload` bytes: 27 on a controller without LE Data
Length Extension (Bluetooth 4.0/4.1, e.g. the Pi Zero 2 W's CYW43438), up to 251 with it (Bluetooth
Core Specification 4.2+, Vol 6 Part B 2.4; L2CAP basic header Vol 3 Part A 3.1).  The central
polls each connection once per connection interval, and its controller takes at most
`packets_per_interval` link-layer packets per interval, shared by all its connections (round robin,
one packet at a time), and never more than fit the interval's air time.

The sensor's controller holds at most `queue` notifications; while it is full the firmware's
notify() fails and the firmware keeps its packets (ble.py retries the same packet, next_packet()
is not called), so the backlog grows in the firmware's sample ring, and once it exceeds the ring,
the firmware counts the overwritten samples in `dropped` and the host declares them missing:
a link too slow for the stream shows up as counted losses, never silently.

Defaults, and where they come from:
  * connection interval: Linux asks for 30-50 ms (net/bluetooth/hci_core.c, hci_alloc_dev:
    le_conn_min_interval = 0x0018, le_conn_max_interval = 0x0028, units of 1.25 ms; BlueZ's
    main.conf [LE] MinConnectionInterval / MaxConnectionInterval leave them as they are).  The
    controller picks within the range: the model takes the slow end, 50 ms.
  * packets per interval: no published figure for the Pi Zero 2 W's controller firmware.  Its
    sibling CYW43439 (Pico W) received 1 packet per interval with one firmware and about 15 per
    30 ms interval (500 notifications/s) with the next (raspberrypi/pico-sdk issue 1342, 2023:
    https://github.com/raspberrypi/pico-sdk/issues/1342).
    The model ASSUMES 15 per interval for all connections together; change it with
    `--radio pi-zero-2w,packets=N`.
  * air time: LE 1M PHY, 8 us per byte; a data PDU of p payload bytes is 10 + p bytes on air
    (preamble, access address, header, CRC) plus a 4-byte MIC on an encrypted (bonded) link,
    then 150 us inter-frame space, the central's empty acknowledgement (80 us) and 150 us again.
  * sensor queue: 8 notifications (an assumption about the ESP32's NimBLE buffers).

The host's own writes (control, resend requests) and their replies are not charged to the radio.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, replace

import stridewire

from stridecue.errors import UserError

L2CAP_HEADER = 4
ATT_NOTIFY_HEADER = stridewire.ATT_OVERHEAD  # opcode + handle
_US_PER_BYTE = 8.0  # LE 1M PHY
_PDU_OVERHEAD = 10  # preamble 1 + access address 4 + header 2 + CRC 3
_MIC = 4
_T_IFS_US = 150.0
_EMPTY_PDU_US = _PDU_OVERHEAD * _US_PER_BYTE


@dataclass(frozen=True)
class RadioModel:
    """A central's controller as the sensors see it (see the module docstring)."""

    name: str
    ll_payload: int = 27
    interval_ms: float = 50.0
    packets_per_interval: int = 15
    queue: int = 8
    encrypted: bool = True

    def fragments(self, att_value: int) -> int:
        """Link-layer packets of one notification whose value is att_value bytes."""
        return math.ceil((att_value + ATT_NOTIFY_HEADER + L2CAP_HEADER) / self.ll_payload)

    def packet_airtime_us(self, payload: int | None = None) -> float:
        """Air time of one data packet (full unless payload given) and its acknowledgement."""
        payload = self.ll_payload if payload is None else payload
        pdu = _PDU_OVERHEAD + payload + (_MIC if self.encrypted else 0)
        return pdu * _US_PER_BYTE + _T_IFS_US + _EMPTY_PDU_US + _T_IFS_US

    @property
    def packets_per_event(self) -> int:
        """Packets per interval: the controller's limit, or what the interval's air time holds."""
        return min(self.packets_per_interval, int(self.interval_ms * 1000.0 // self.packet_airtime_us()))

    @property
    def packets_per_s(self) -> float:
        return self.packets_per_event * 1000.0 / self.interval_ms

    def notifications_per_s(self, att_value: int) -> float:
        """Notifications of this size the link carries per second, all connections together."""
        return self.packets_per_s / self.fragments(att_value)

    def describe(self) -> str:
        dle = "with" if self.ll_payload > 27 else "without"
        return (f"{self.name}: {self.ll_payload}-byte link-layer payloads ({dle} Data Length Extension), "
                f"{self.interval_ms:g} ms connection interval, {self.packets_per_event} packets per interval "
                f"({self.packets_per_s:.0f}/s for all sensors), sensor queue {self.queue} notifications")


PRESETS = {
    "pi-zero-2w": RadioModel("pi-zero-2w", ll_payload=27),
    "dle": RadioModel("dle", ll_payload=251),
}
_KEYS = {"interval-ms": ("interval_ms", float), "packets": ("packets_per_interval", int), "queue": ("queue", int),
         "payload": ("ll_payload", int)}

def parse_radio(spec: str | None) -> RadioModel | None:
    """`--radio NAME[,key=value...]` -> a RadioModel, or None for none; UserError naming what is wrong."""
    if not spec or spec == "none":
        return None
    name, *pairs = [p.strip() for p in spec.split(",")]
    if name not in PRESETS:
        raise UserError(f"--radio: unknown radio {name!r} (known: none, {', '.join(PRESETS)})")
    model = PRESETS[name]
    for pair in pairs:
        key, _, value = pair.partition("=")
        if key not in _KEYS:
            raise UserError(f"--radio: unknown setting {key!r} (known: {', '.join(_KEYS)})")
        attr, conv = _KEYS[key]
        try:
            number = conv(value)
        except ValueError:
            raise UserError(f"--radio: bad value {value!r} for {key}") from None
        model = replace(model, **{attr: number})
    _check(model)
    return model


def _check(model: RadioModel) -> None:
    if not (7.5 <= model.interval_ms <= 4000.0):
        raise UserError(f"--radio: interval-ms={model.interval_ms:g} is outside Bluetooth's 7.5-4000 ms")
    if not 27 <= model.ll_payload <= 251:
        raise UserError(f"--radio: payload={model.ll_payload} is outside Bluetooth's 27-251 bytes")
    if model.packets_per_interval < 1 or model.queue < 1:
        raise UserError("--radio: packets and queue must be at least 1")


class LinkQueue:
    """One connection's notifications waiting in the sensor's controller, with what is left of the first."""

    def __init__(self, model: RadioModel):
        self.model = model
        self.waiting: deque[list] = deque()  # [payload, status?, fragments left]
        self.refused = 0  # times a notification met a full queue (the firmware's notify() refused)
        self.packets = 0  # link-layer packets sent
        self.resent_packets = 0  # ... of them carrying resent data packets (FLAG_RESENT)
        self.status_packets = 0  # ... and status notifications
        self.notifications = 0
        self.bytes = 0  # ATT values delivered
        self.resent_bytes = 0  # ... of resent data packets
        self.live_samples = 0  # samples delivered in live (not resent) data packets ...
        self.live_bytes = 0  # ... and their ATT values

    @property
    def room(self) -> bool:
        return len(self.waiting) < self.model.queue

    def offer(self, payload: bytes, status: bool) -> bool:
        if not self.room:
            self.refused += 1
            return False
        self.waiting.append([payload, status, self.model.fragments(len(payload))])
        return True

    @staticmethod
    def _data(payload: bytes, status: bool) -> bool:
        return not status and len(payload) > 18 and payload[0] in (stridewire.TYPE_DATA, stridewire.TYPE_DATA_DELTA)

    @classmethod
    def _resent(cls, payload: bytes, status: bool) -> bool:
        return cls._data(payload, status) and bool(payload[18] & stridewire.FLAG_RESENT)

    def send_one(self) -> tuple[bytes, bool] | None:
        """One link-layer packet goes out; the notification it completes, if any."""
        head = self.waiting[0]
        head[2] -= 1
        self.packets += 1
        if self._resent(head[0], head[1]):
            self.resent_packets += 1
        elif head[1]:
            self.status_packets += 1
        if head[2]:
            return None
        self.waiting.popleft()
        self.notifications += 1
        self.bytes += len(head[0])
        if self._resent(head[0], head[1]):
            self.resent_bytes += len(head[0])
        elif self._data(head[0], head[1]):
            self.live_samples += head[0][16]
            self.live_bytes += len(head[0])
        return head[0], head[1]

    def clear(self) -> None:
        """The link dropped: what the controller held is gone."""
        self.waiting.clear()


def serve_interval(model: RadioModel, queues: list[LinkQueue], start: int) -> list[tuple[int, bytes, bool]]:
    """One connection interval: the controller takes up to model.packets_per_event packets from the
    queues in turn (starting at `start`); returns the completed notifications as (queue index,
    payload, status?) in the order they completed."""
    budget = model.packets_per_event
    done = []
    k = len(queues)
    while budget and k:
        moved = False
        for j in range(k):
            i = (start + j) % k
            q = queues[i]
            if not q.waiting or not budget:
                continue
            budget -= 1
            moved = True
            finished = q.send_one()
            if finished is not None:
                done.append((i, *finished))
        if not moved:
            break
    return done
