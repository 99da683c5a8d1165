# A stand-in for aioble (micropython-lib), which boards get with `mip install aioble` and whose
# source this project does not copy.  Same public API as far as the firmware uses it — config,
# advertise, Service, Characteristic, BufferedCharacteristic, register_services, the connection
# object, security.load_secrets — over a simulated radio instead of `bluetooth.BLE`, so the
# firmware's main loop runs unchanged in the MicroPython WebAssembly port.  The far side of the
# radio is a central (firmware/sim/blecentral.py) that connects, exchanges the MTU, pairs,
# subscribes, writes and reads as a phone or laptop would.
#
# What a real stack does and this one does too: notifications are cut to MTU - 3 bytes (23
# until an exchange), the controller holds only a few notifications (notify raises OSError
# ENOMEM when they are all in use; they leave at the central's connection events), remote
# writes are cut to the characteristic's buffer (20 bytes unless BufferedCharacteristic says
# more) and at most 10 captured writes wait, an encrypted read of an unencrypted link fails,
# "Just Works" pairing encrypts without authentication, and a bond is stored in
# ble_secrets.json only when both sides asked for bonding.
#
# Modules per role, as in aioble: core (config, the radio), device (the connection), peripheral
# (advertise), server (services and characteristics), security (bonds).

from .core import GattError, config, stop  # noqa: F401
from .device import Device, DeviceConnection, DeviceDisconnectedError  # noqa: F401
from .peripheral import advertise  # noqa: F401
from .server import BufferedCharacteristic, Characteristic, Descriptor, Service, register_services  # noqa: F401

ADDR_PUBLIC = 0
ADDR_RANDOM = 1
