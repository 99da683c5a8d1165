# The BLE peripheral (needs `bluetooth` and aioble: on a board from `mip install aioble`, in the tests
# and `stridecue bench` the stand-ins of firmware/sim/).
#
# GATT: the StrideCue service (stridewire UUIDs) with data (notify), control (write) and status
# (read + notify: status values, control replies and status notifications), plus Device
# Information (0x180A: model, firmware, manufacturer) and Battery (0x180F: level, notify).
# Advertising: flags + the StrideCue service data (stridewire.pack_adv: protocol and firmware
# version, battery, mount, keyed by the 128-bit service UUID) in the advertisement; the service
# UUID list and the name in the scan response (names over 11 bytes are sent shortened there;
# the GAP device name always carries the full name).
#
# Bonding: LE Secure Connections, "just works" (no display, no keyboard), bond keys kept in
# ble_secrets.json by aioble.security.  Reading the status characteristic requires an
# encrypted link: that is what makes macOS and iOS pair on their own (docs/pairing.md); Linux
# and Windows pair when bleak connects with pair=True.  New bonds are accepted only while the
# pairing window (auth.PairingWindow: 60 s from power-on or a button press) is open:
# aioble.config(bond=True) then, bond=False otherwise, and outside the window a central whose
# link is not encrypted and bonded 3 s after it connected is disconnected (guard()).  On top of
# the bond, the host proves the device secret (SensorNode: OP_AUTH_BEGIN / OP_AUTH_PROVE) before
# anything but the public status is sent to it or anything it asks for is done.
#
# What ble.py uses of aioble (public API only): aioble.config, aioble.advertise, Connection's
# is_connected(), encrypted, bonded, mtu, exchange_mtu(), disconnect(), disconnected();
# Characteristic write/notify/written; security.load_secrets.
#
# All the logic worth testing lives in node.py; this module only moves bytes.

import aioble
import aioble.security
import bluetooth
import stridewire as sw
from micropython import const

from . import FW_VERSION
from .advert import advertising_payloads
from .auth import PairingWindow
from .tasks import sleep_ms

_ADV_INTERVAL_US = const(250_000)
_FLAG_READ_ENCRYPTED = const(0x0200)
_IO_NO_INPUT_OUTPUT = const(3)
_MTU = const(247)
_NOTIFY_RETRY_MS = const(5)
_NOTIFY_RETRIES = const(100)
_CONTROL_MAX = const(64)
_STATUS_POLL_MS = const(100)
_APPEARANCE_GENERIC_SENSOR = const(0x0540)

_SERVICE = bluetooth.UUID(sw.SERVICE_UUID)
_DEVICE_INFO = bluetooth.UUID(0x180A)
_BATTERY = bluetooth.UUID(0x180F)


class Peripheral:
    """Serves one central at a time for a SensorNode."""

    def __init__(self, node, model, supervisor, window=None):
        self.node = node
        self.supervisor = supervisor
        self.window = window if window is not None else PairingWindow(node.clock)
        self.connection = None
        self.connected_ms = 0
        self.reply_waiting = False  # a control reply waits for a controller slot: data holds back
        stride = aioble.Service(_SERVICE)
        self.data = aioble.Characteristic(stride, bluetooth.UUID(sw.DATA_UUID), notify=True)
        # A characteristic's buffer is 20 bytes unless set: control writes (SET_NAME: 29 bytes) and
        # the 44-byte status need more, or the stack truncates them.
        self.control = aioble.BufferedCharacteristic(stride, bluetooth.UUID(sw.CONTROL_UUID), write=True, capture=True,
                                                     max_len=_CONTROL_MAX)
        self.status = aioble.BufferedCharacteristic(stride, bluetooth.UUID(sw.STATUS_UUID), read=True, notify=True,
                                                    max_len=sw.STATUS_SIZE)
        self.status.flags |= _FLAG_READ_ENCRYPTED
        info = aioble.Service(_DEVICE_INFO)
        aioble.Characteristic(info, bluetooth.UUID(0x2A24), read=True, initial=model.encode())
        aioble.Characteristic(info, bluetooth.UUID(0x2A26), read=True, initial=("%d.%d.%d" % FW_VERSION).encode())
        aioble.Characteristic(info, bluetooth.UUID(0x2A29), read=True, initial=b"StrideCue (open hardware)")
        battery = aioble.Service(_BATTERY)
        self.battery = aioble.Characteristic(battery, bluetooth.UUID(0x2A19), read=True, notify=True)
        self._level = bytearray(1)  # the battery level value, reused
        aioble.security.load_secrets()  # before the stack starts (aioble's rule)
        self.window.changed()
        aioble.config(gap_name=node.name, mtu=_MTU, bond=self.window.is_open(), le_secure=True, mitm=False,
                      io=_IO_NO_INPUT_OUTPUT)
        aioble.register_services(stride, info, battery)
        self._refresh()

    def _refresh(self):
        self.status.write(self.node.status(self._bonded()))
        level = self._level
        level[0] = min(self.node.battery.pct, 100)
        self.battery.write(level)

    def _bonded(self):
        c = self.connection
        return c is not None and c.is_connected() and c.encrypted and c.bonded

    async def advertise(self):
        """Advertise, serve one central until it leaves, repeat."""
        while True:
            node = self.node
            mount = node.mount
            major, minor, patch = FW_VERSION
            service_data = sw.pack_adv(major, minor, patch, min(node.battery.pct, 100), mount)
            adv, resp = advertising_payloads(node.name, sw.SERVICE_UUID, service_data)
            self.supervisor.beat("ble")
            self._refresh()
            connection = await aioble.advertise(_ADV_INTERVAL_US, adv_data=adv, resp_data=resp)
            self.connection = connection
            self.connected_ms = node.clock.ticks_ms()
            try:  # ATT roles are independent of GAP roles: the peripheral may ask too
                mtu = await connection.exchange_mtu(_MTU)
            except Exception:  # noqa: BLE001 - refused or timed out: whatever the central set
                mtu = connection.mtu
            node.set_mtu(mtu or 23)
            try:
                await connection.disconnected(timeout_ms=None)
            finally:
                self.connection = None
                node.on_disconnect()
                self._refresh()  # the readable status is the public one again

    async def send(self):
        """Move data packets and status notifications to the connected central."""
        node = self.node
        while True:
            self.supervisor.beat("send")
            c = self.connection
            if c is None or not c.is_connected():
                await sleep_ms(50)
                continue
            if c.mtu and c.mtu != node.mtu:  # the central exchanged the MTU itself
                node.set_mtu(c.mtu)
            packet = None if self.reply_waiting else node.next_packet()
            sent = 0
            retries = 0
            while packet is not None and sent < 8:
                try:
                    self.data.notify(c, packet)
                except OSError:  # no buffer in the stack (congested): retry the same packet
                    retries += 1
                    if retries > _NOTIFY_RETRIES or not c.is_connected():
                        break  # given up: the host sees the gap and asks for it again
                    await sleep_ms(_NOTIFY_RETRY_MS)
                    continue
                sent += 1
                retries = 0
                packet = None if self.reply_waiting else node.next_packet()
            notes = node.pending_notifications()  # only for an authenticated central
            if notes is not None:
                self.status.write(node.status(self._bonded()))
                try:
                    for note in notes:  # one whole status, or parts that fit MTU 23
                        self.status.notify(c, note)
                    self._level[0] = min(node.battery.pct, 100)
                    self.battery.write(self._level)
                    self.battery.notify(c)
                except OSError:
                    pass
            await sleep_ms(5 if sent else 10)

    async def serve_control(self):
        """Answer control writes: the reply goes out on the status characteristic."""
        node = self.node
        while True:
            connection, data = await self.control.written()
            reply = node.handle_control(data, self._bonded())
            await self._deliver_reply(connection, reply)
            if len(data) > 2 and data[2] == sw.OP_SET_NAME:
                aioble.config(gap_name=node.name)
            if len(data) > 2 and data[2] == sw.OP_AUTH_PROVE:
                self._refresh()  # authenticated: the readable status is the whole one now

    async def _deliver_reply(self, connection, reply):
        """Notify a control reply, waiting for a free controller slot: a host that resumes while the
        backlog fills every slot would otherwise never hear the reply to its START.  Data yields
        (send() queues nothing while a reply waits), so a slot frees within a connection event."""
        self.reply_waiting = True
        try:
            for _ in range(_NOTIFY_RETRIES):
                try:
                    self.status.notify(connection, reply)
                    return
                except OSError:
                    if not connection.is_connected():
                        return
                    await sleep_ms(_NOTIFY_RETRY_MS)
        finally:
            self.reply_waiting = False

    def _stranger(self):
        """Apply the pairing window (bonding on only while it is open); the connection of a central
        that is neither bonded nor inside the window (after the grace), else None."""
        window = self.window
        if window.changed():
            aioble.config(bond=window.is_open())
        c = self.connection
        if c is None or not c.is_connected():
            return None
        if window.admits(self.connected_ms, c.encrypted, c.bonded):
            return None
        return c

    async def guard(self):
        """Disconnect a central the pairing window does not admit.  True if one was."""
        c = self._stranger()
        if c is None:
            return False
        try:
            await c.disconnect()
        except Exception:  # noqa: BLE001 - already gone
            pass
        return True

    async def keep_status_fresh(self):
        while True:
            self.supervisor.beat("status")
            if self._stranger() is not None:  # checked without a coroutine: this runs twice a second
                await self.guard()
            self._refresh()
            await sleep_ms(_STATUS_POLL_MS * 5)
