# GATT server: services and characteristics with aioble's API, their values kept as the stack
# keeps them (copied in, read back whole), remote writes queued as aioble's capture mode does.

import asyncio

from . import core
from .device import DeviceConnection

from stridewire import const


_FLAG_READ = const(0x0002)
_FLAG_WRITE_NO_RESPONSE = const(0x0004)
_FLAG_WRITE = const(0x0008)
_FLAG_NOTIFY = const(0x0010)
_FLAG_INDICATE = const(0x0020)
_FLAG_READ_ENCRYPTED = const(0x0200)
_FLAG_WRITE_ENCRYPTED = const(0x1000)
_FLAG_WRITE_CAPTURE = const(0x10000)
_WRITE_CAPTURE_QUEUE_LIMIT = const(10)
_DEFAULT_BUFFER = const(20)
_ATT_INSUFFICIENT_ENCRYPTION = const(0x0F)
_ATT_READ_NOT_PERMITTED = const(0x02)
_ATT_WRITE_NOT_PERMITTED = const(0x03)

_registered = {}  # value handle -> characteristic


class Service:
    def __init__(self, uuid):
        self.uuid = uuid
        self.characteristics = []


class BaseCharacteristic:
    def _register(self, value_handle):
        self._value_handle = value_handle
        _registered[value_handle] = self
        self._size = 0
        if self._initial is not None:
            self.write(self._initial)
            self._initial = None

    def read(self):
        if self._value_handle is None:
            return self._initial or b""
        return bytes(self._value[: self._size])

    def write(self, data, send_update=False):
        """Store the value (the stack copies it; no reference to data is kept)."""
        if self._value_handle is None:
            self._initial = bytes(data)
            return
        n = len(data)
        if n > len(self._value):
            self._value = bytearray(n)
        value = self._value
        k = 0
        while k < n:
            value[k] = data[k]
            k += 1
        self._size = n
        if send_update and core.radio.link is not None and core.radio.link.connected:
            try:
                core.radio.link.queue_notification(self._value_handle, memoryview(value)[:n])
            except OSError:
                pass

    async def written(self, timeout_ms=None):
        if not hasattr(self, "_write_event"):
            return None
        if timeout_ms is None:
            await self._write_event.wait()
        else:
            await asyncio.wait_for(self._write_event.wait(), timeout_ms / 1000)
        queue = self._writes
        item = queue.pop(0)
        if not queue:
            self._write_event.clear()
        return item if self.flags & _FLAG_WRITE_CAPTURE else item[0]

    def on_read(self, connection):
        return 0

    def _remote_write(self, link, data):
        """The central wrote data: cut to the buffer, queued (the oldest dropped past 10)."""
        if not self.flags & (_FLAG_WRITE | _FLAG_WRITE_NO_RESPONSE):
            raise core.GattError(_ATT_WRITE_NOT_PERMITTED)
        if self.flags & _FLAG_WRITE_ENCRYPTED and not link.encrypted:
            raise core.GattError(_ATT_INSUFFICIENT_ENCRYPTION)
        data = bytes(data[: self._max_len])
        self.write(data)
        conn = DeviceConnection._connected.get(link.handle)
        queue = self._writes
        if len(queue) >= _WRITE_CAPTURE_QUEUE_LIMIT:
            queue.pop(0)
        queue.append((conn, data))
        self._write_event.set()

    def _remote_read(self, link):
        if not self.flags & _FLAG_READ:
            raise core.GattError(_ATT_READ_NOT_PERMITTED)
        if self.flags & _FLAG_READ_ENCRYPTED and not link.encrypted:
            raise core.GattError(_ATT_INSUFFICIENT_ENCRYPTION)
        self.on_read(DeviceConnection._connected.get(link.handle))
        return self.read()  # a long value is read whole (ATT Read Blob), whatever the MTU


class Characteristic(BaseCharacteristic):
    def __init__(self, service, uuid, read=False, write=False, write_no_response=False, notify=False,
                 indicate=False, initial=None, capture=False):
        service.characteristics.append(self)
        self.descriptors = []
        flags = 0
        if read:
            flags |= _FLAG_READ
        if write or write_no_response:
            flags |= (_FLAG_WRITE if write else 0) | (_FLAG_WRITE_NO_RESPONSE if write_no_response else 0)
            if capture:
                flags |= _FLAG_WRITE_CAPTURE
            self._write_event = asyncio.Event()
            self._writes = []
        if notify:
            flags |= _FLAG_NOTIFY
        if indicate:
            flags |= _FLAG_INDICATE
        self.uuid = uuid
        self.flags = flags
        self._value_handle = None
        self._initial = initial
        self._max_len = _DEFAULT_BUFFER
        self._value = bytearray(_DEFAULT_BUFFER)
        self._size = 0

    def notify(self, connection, data=None):
        if not self.flags & _FLAG_NOTIFY:
            raise ValueError("Not supported")
        link = connection._link
        if data is None:
            data = memoryview(self._value)[: self._size]
        link.queue_notification(self._value_handle, data)


class BufferedCharacteristic(Characteristic):
    def __init__(self, *args, max_len=20, append=False, **kwargs):
        Characteristic.__init__(self, *args, **kwargs)
        if append:
            raise NotImplementedError("append mode is not used by the firmware")
        self._max_len = max_len
        if max_len > len(self._value):
            self._value = bytearray(max_len)


class Descriptor(BaseCharacteristic):
    def __init__(self, characteristic, uuid, read=False, write=False, initial=None):
        characteristic.descriptors.append(self)
        self.uuid = uuid
        self.flags = (_FLAG_READ if read else 0) | (_FLAG_WRITE if write else 0)
        if write:
            self._write_event = asyncio.Event()
            self._writes = []
        self._value_handle = None
        self._initial = initial
        self._max_len = _DEFAULT_BUFFER
        self._value = bytearray(_DEFAULT_BUFFER)
        self._size = 0


def register_services(*services):
    """Give every characteristic a value handle (in order), as gatts_register_services does."""
    _registered.clear()
    handle = 0
    for service in services:
        handle += 1  # the service declaration
        for characteristic in service.characteristics:
            handle += 2  # declaration + value
            characteristic._register(handle)
            for descriptor in characteristic.descriptors:
                handle += 1
                descriptor._register(handle)


def find(uuid):
    """The registered characteristic with this UUID (for the central's discovery)."""
    for characteristic in _registered.values():
        if characteristic.uuid == uuid:
            return characteristic
    return None
