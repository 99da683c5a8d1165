# The connection: the peripheral's view (DeviceConnection, aioble's API) of a Link whose other
# end a simulated central holds.

import asyncio

from . import core

from stridewire import const


_ATT_DEFAULT_MTU = const(23)
_ENOMEM = const(12)
_ENOTCONN = const(128)
_SLOTS = const(8)  # notifications the controller holds before notify() fails (NimBLE msys buffers)
_SLOT_SIZE = const(247)


class DeviceDisconnectedError(Exception):
    pass


class Device:
    def __init__(self, addr_type, addr):
        self.addr_type = addr_type
        self.addr = addr

    def addr_hex(self):
        return ":".join("%02x" % b for b in self.addr)

    def __eq__(self, other):
        return isinstance(other, Device) and self.addr == other.addr

    def __hash__(self):
        return hash(self.addr)


class Link:
    """One connection on air: encryption state, the MTU, the controller's notification slots and
    the queue of writes the central made."""

    def __init__(self, central):
        core.radio.handles += 1
        self.handle = core.radio.handles
        self.central = central
        self.connected = True
        self.mtu = _ATT_DEFAULT_MTU
        self.mtu_exchanged = False
        self.encrypted = False
        self.authenticated = False
        self.bonded = False
        self.key_size = 0
        self.reason = 0
        self.slots = [bytearray(_SLOT_SIZE) for _ in range(_SLOTS)]
        self.lengths = [0] * _SLOTS
        self.handles = [0] * _SLOTS  # value handle of each queued notification
        self.head = 0
        self.count = 0
        self.notified = 0  # notifications accepted by the controller
        self.refused = 0  # notify() calls that found every slot in use
        self.gone = asyncio.Event()
        self.mtu_done = asyncio.Event()
        self.peripheral = None  # its DeviceConnection

    def queue_notification(self, value_handle, data):
        """Copy data (cut to MTU - 3, as the stack does) into a free slot; OSError when none is free."""
        if not self.connected:
            raise OSError(_ENOTCONN)
        if self.count >= _SLOTS:
            self.refused += 1
            raise OSError(_ENOMEM)
        i = (self.head + self.count) % _SLOTS
        slot = self.slots[i]
        n = len(data)
        room = self.mtu - 3
        if n > room:
            n = room
        k = 0
        while k < n:  # byte by byte: slicing would allocate on the board's heap
            slot[k] = data[k]
            k += 1
        self.lengths[i] = n
        self.handles[i] = value_handle
        self.count += 1
        self.notified += 1

    def take(self, deliver, most):
        """A connection event: up to `most` queued notifications go to deliver(handle, buf, n)."""
        sent = 0
        while self.count and sent < most:
            i = self.head
            deliver(self.handles[i], self.slots[i], self.lengths[i])
            self.head = (i + 1) % _SLOTS
            self.count -= 1
            sent += 1
        return sent

    def drop(self, reason):
        """Either side ends the connection (reason: an HCI code, 0x13 remote, 0x16 local)."""
        if not self.connected:
            return
        self.connected = False
        self.reason = reason
        self.count = 0
        if core.radio.link is self:
            core.radio.link = None
        if self.peripheral is not None:
            DeviceConnection._connected.pop(self.handle, None)
        self.gone.set()
        self.central._link_dropped(self)


class DeviceConnection:
    """aioble.DeviceConnection: what advertise() returns."""

    _connected = {}

    def __init__(self, device, link):
        self.device = device
        self._link = link
        self._conn_handle = link.handle
        self.mtu = None  # None until an exchange, as in aioble
        link.peripheral = self
        DeviceConnection._connected[link.handle] = self

    @property
    def encrypted(self):
        return self._link.encrypted

    @property
    def authenticated(self):
        return self._link.authenticated

    @property
    def bonded(self):
        return self._link.bonded

    @property
    def key_size(self):
        return self._link.key_size

    def is_connected(self):
        return self._link.connected

    async def disconnect(self, timeout_ms=2000):
        self._link.drop(0x16)
        await self.disconnected(timeout_ms)

    async def disconnected(self, timeout_ms=60000, disconnect=False):
        if disconnect:
            self._link.drop(0x16)
        if timeout_ms is None:
            await self._link.gone.wait()
        else:
            await asyncio.wait_for(self._link.gone.wait(), timeout_ms / 1000)

    async def exchange_mtu(self, mtu=None, timeout_ms=1000):
        """Ask the central for a larger ATT MTU; returns the MTU both now use."""
        if not self._link.connected:
            raise DeviceDisconnectedError()
        if mtu:
            core.config(mtu=mtu)
        self._link.central._exchange_mtu(self._link, core.config("mtu"))
        self.mtu = self._link.mtu
        return self.mtu

    async def pair(self, bond=True, le_secure=True, mitm=False, io=3, timeout_ms=20000):
        from .security import pair

        await pair(self, bond, le_secure, mitm, io, timeout_ms)

    def _mtu_exchanged(self, mtu):
        self.mtu = mtu
