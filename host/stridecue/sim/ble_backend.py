"""The virtual sensor as a bleak backend.

VirtualBleakScanner and VirtualBleakClient subclass bleak's BaseBleakScanner and
BaseBleakClient and are passed with `backend=`, so `stridecue run --simulate` goes through
exactly the host code a real sensor does: scanning, connecting, MTU, notifications, control
writes and unsolicited disconnects.  Behind them is the VirtualAir (sim/air.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError

import stridewire

from stridecue.sim.air import Connection, current_air

_DEVICE_INFO_UUID = "0000180a-0000-1000-8000-00805f9b34fb"
_FIRMWARE_REV_UUID = "00002a26-0000-1000-8000-00805f9b34fb"
_MODEL_UUID = "00002a24-0000-1000-8000-00805f9b34fb"
_BATTERY_UUID = "0000180f-0000-1000-8000-00805f9b34fb"
_BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"
_VIRTUAL_MTU = 247


class VirtualBleakScanner(BaseBleakScanner):
    """Sees the virtual sensors of the current VirtualAir as advertisements."""

    def __init__(self, detection_callback, service_uuids, scanning_mode="active", **kwargs: Any):
        super().__init__(detection_callback, service_uuids)
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        self.seen_devices = {}
        self._task = asyncio.get_running_loop().create_task(self._advertise())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def _advertise(self) -> None:
        air = current_air()
        while True:
            for address, sensor in air.sensors.items():
                if not air.is_reachable(address) or sensor.connection is not None:
                    continue
                uuids = [stridewire.SERVICE_UUID]
                if not self.is_allowed_uuid(uuids):
                    continue
                adv = AdvertisementData(
                    local_name=sensor.advertised_name(),
                    manufacturer_data={},
                    service_data={stridewire.SERVICE_UUID: sensor.advertisement()},
                    service_uuids=uuids,
                    tx_power=None,
                    rssi=sensor.rssi,
                    platform_data=(),
                )
                device = self.create_or_update_device(address, address, sensor.name, sensor, adv)
                self.call_detection_callbacks(device, adv)
            await asyncio.sleep(0.05)


class VirtualBleakClient(BaseBleakClient):
    """Connects to a virtual sensor of the current VirtualAir."""

    def __init__(self, address_or_ble_device: BLEDevice | str, **kwargs: Any):
        super().__init__(
            address_or_ble_device,
            disconnected_callback=kwargs.pop("disconnected_callback", None),
            timeout=kwargs.pop("timeout", 10.0),
        )
        self._connection: Connection | None = None
        self._name = self.address
        self._mtu = _VIRTUAL_MTU

    @property
    def name(self) -> str:
        return self._name

    @property
    def mtu_size(self) -> int:
        return self._mtu

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        air = current_air()
        if self.address not in air.sensors:
            raise BleakDeviceNotFoundError(self.address, f"Device with address {self.address} was not found.")
        if not air.is_reachable(self.address):
            await air.clock.sleep(min(self._timeout, 1.0))
            if not air.is_reachable(self.address):
                raise BleakError(f"Device {self.address} did not answer (out of range)")
        self._mtu = air.mtu
        connection = Connection(on_drop=self._on_drop, bonded=pair, encrypted=pair, mtu=air.mtu)
        sensor = air.connect(self.address, connection)
        self._connection = connection
        self._name = sensor.name
        self.services = _gatt_services()
        await asyncio.sleep(0)

    async def disconnect(self) -> None:
        if self._connection is not None:
            current_air().disconnect(self.address)
            self._connection = None

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        if self._connection is None:
            raise BleakError("Not connected")
        self._connection.bonded = True
        self._connection.encrypted = True

    async def unpair(self) -> None:
        if self._connection is not None:
            self._connection.bonded = False

    def _on_drop(self) -> None:
        self._connection = None
        if self._disconnected_callback is not None:
            self._disconnected_callback()

    def _require(self) -> Connection:
        if self._connection is None:
            raise BleakError("Not connected")
        return self._connection

    async def read_gatt_char(self, characteristic: BleakGATTCharacteristic, **kwargs: Any) -> bytearray:
        self._require()
        air = current_air()
        uuid = characteristic.uuid
        if uuid == stridewire.STATUS_UUID:
            return bytearray(air.read_status(self.address))
        status = dict(zip(stridewire.STATUS_FIELDS, stridewire.parse_status(air.read_status(self.address))))
        if uuid == _BATTERY_LEVEL_UUID:
            return bytearray([min(air.sensors[self.address].node.battery.pct, 100)])
        if uuid == _FIRMWARE_REV_UUID:
            return bytearray(b"%d.%d.%d" % (status["fw_major"], status["fw_minor"], status["fw_patch"]))
        if uuid == _MODEL_UUID:
            return bytearray(air.sensors[self.address].board_name.encode())
        raise BleakError(f"Characteristic {uuid} cannot be read")

    async def read_gatt_descriptor(self, descriptor: BleakGATTDescriptor, **kwargs: Any) -> bytearray:
        raise BleakError("The virtual sensor has no readable descriptors")

    async def write_gatt_char(self, characteristic: BleakGATTCharacteristic, data, response: bool) -> None:
        self._require()
        if characteristic.uuid != stridewire.CONTROL_UUID:
            raise BleakError(f"Characteristic {characteristic.uuid} is not writable")
        current_air().write_control(self.address, bytes(data))
        await asyncio.sleep(0)

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data) -> None:
        raise BleakError("The virtual sensor has no writable descriptors")

    async def start_notify(self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any) -> None:
        conn = self._require()
        if characteristic.uuid == stridewire.DATA_UUID:
            conn.on_data = callback
        elif characteristic.uuid == stridewire.STATUS_UUID:
            conn.on_status = callback
        else:
            raise BleakError(f"Characteristic {characteristic.uuid} does not notify")

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        conn = self._require()
        if characteristic.uuid == stridewire.DATA_UUID:
            conn.on_data = None
        elif characteristic.uuid == stridewire.STATUS_UUID:
            conn.on_status = None


def _gatt_services() -> BleakGATTServiceCollection:
    """The GATT table of a StrideCue sensor (docs/protocol.md)."""
    services = BleakGATTServiceCollection()
    handle = 1
    table = [
        (stridewire.SERVICE_UUID, [
            (stridewire.DATA_UUID, ["notify"]),
            (stridewire.CONTROL_UUID, ["write"]),
            (stridewire.STATUS_UUID, ["read", "notify"]),
        ]),
        (_DEVICE_INFO_UUID, [(_FIRMWARE_REV_UUID, ["read"]), (_MODEL_UUID, ["read"])]),
        (_BATTERY_UUID, [(_BATTERY_LEVEL_UUID, ["read", "notify"])]),
    ]
    for service_uuid, chars in table:
        service = BleakGATTService(None, handle, service_uuid)
        services.add_service(service)
        handle += 1
        for char_uuid, props in chars:
            char = BleakGATTCharacteristic(None, handle, char_uuid, props, lambda: _VIRTUAL_MTU - 3, service)
            services.add_characteristic(char)
            handle += 2
    return services
