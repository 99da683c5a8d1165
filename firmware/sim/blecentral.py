# The far side of the aioble stand-in's radio: a central (a phone, a laptop, the pocket host)
# that connects to the advertising peripheral, exchanges the MTU, pairs or resumes a bond,
# subscribes, writes control messages and reads characteristics.  Notifications leave the
# peripheral's controller at this central's connection events: `per_event` of them every
# `interval_ms` (the link-layer pace that makes notify() fail when the firmware sends faster).
#
#   central = Central("c0:ff:ee:00:00:01", mtu=247)
#   await central.connect()                  # waits for the advertisement
#   await central.exchange_mtu()
#   central.pair(bond=True)
#   central.subscribe(sw.DATA_UUID, on_data)  # on_data(buf, n): buf is reused, copy what you keep
#   central.write(sw.CONTROL_UUID, message)
#   value = central.read(sw.STATUS_UUID)
#   await central.disconnect()

import asyncio
import random

import bluetooth
from aioble import core, security, server
from aioble.device import Device, DeviceConnection, Link

from stridewire import const


_ATT_DEFAULT_MTU = const(23)

if hasattr(asyncio, "sleep_ms"):
    _sleep_ms = asyncio.sleep_ms
else:  # CPython

    def _sleep_ms(ms):
        return asyncio.sleep(ms / 1000)


class Central:
    def __init__(self, address, mtu=247, interval_ms=15, per_event=4, bond_key=None):
        self.address = address
        self.max_mtu = mtu
        self.interval_ms = interval_ms
        self.per_event = per_event
        self.bond_key = bond_key  # hex key of a bond made earlier, or None
        self.link = None
        self._subscribed = {}  # value handle -> callback(buf, n)
        self._pump = None
        self.events = 0
        self.on_disconnect = None

    @property
    def connected(self):
        return self.link is not None and self.link.connected

    async def connect(self, timeout_ms=10000):
        """Connect as soon as the peripheral advertises; True when connected."""
        waited = 0
        while core.radio.advertising is None:
            if waited >= timeout_ms:
                return False
            await _sleep_ms(10)
            waited += 10
        self.advertisement = core.radio.advertising
        link = Link(self)
        core.radio.link = link
        self.link = link
        DeviceConnection(Device(0, self.address), link)  # the peripheral's side, at once (as in the IRQ)
        core.radio.waiting.set()
        self._pump = asyncio.create_task(self._connection_events(link))
        if self.bond_key is not None:
            security.resume_encryption(link, self.address, self.bond_key)
        return True

    async def _connection_events(self, link):
        deliver = self._deliver
        while link.connected:
            link.take(deliver, self.per_event)
            self.events += 1
            await _sleep_ms(self.interval_ms)

    def _deliver(self, handle, buf, n):
        callback = self._subscribed.get(handle)
        if callback is not None:
            callback(buf, n)

    async def exchange_mtu(self):
        """The central asks for its largest MTU; both sides use the smaller of the two offers."""
        self._exchange_mtu(self.link, core.config("mtu"))
        return self.link.mtu

    def _exchange_mtu(self, link, peripheral_mtu):
        mtu = min(self.max_mtu, peripheral_mtu)
        if mtu < _ATT_DEFAULT_MTU:
            mtu = _ATT_DEFAULT_MTU
        link.mtu = mtu
        link.mtu_exchanged = True
        if link.peripheral is not None:
            link.peripheral._mtu_exchanged(mtu)

    def pair(self, bond=True):
        """Just Works pairing; returns whether a bond was made.  Keeps the key when bonded."""
        key = "".join("%02x" % random.getrandbits(8) for _ in range(16))
        if security.complete_pairing(self.link, bond, self.address, key):
            self.bond_key = key
            return True
        return False

    def _security_request(self, link, bond):
        if self.bond_key is not None and security.resume_encryption(link, self.address, self.bond_key):
            return
        self.pair(bond)

    def _characteristic(self, uuid):
        characteristic = server.find(bluetooth.UUID(uuid))
        if characteristic is None:
            raise KeyError("no characteristic %s" % uuid)
        return characteristic

    def subscribe(self, uuid, callback):
        self._subscribed[self._characteristic(uuid)._value_handle] = callback

    def write(self, uuid, data):
        """A write request (a long one if it exceeds the MTU: the stack reassembles it)."""
        if not self.connected:
            raise OSError(128)
        self._characteristic(uuid)._remote_write(self.link, data)

    def read(self, uuid):
        if not self.connected:
            raise OSError(128)
        return self._characteristic(uuid)._remote_read(self.link)

    async def disconnect(self):
        if self.link is not None:
            self.link.drop(0x13)
        await _sleep_ms(0)

    def _link_dropped(self, link):
        if self.on_disconnect is not None:
            self.on_disconnect(link.reason)
