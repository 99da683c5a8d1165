# The simulated controller: configuration (as bluetooth.BLE.config) and the radio's one state.

from stridewire import const


_KNOWN = ("gap_name", "mtu", "bond", "le_secure", "mitm", "io", "addr_mode", "rxbuf", "mac")
_MTU_MAX = const(517)

_config = {}


class GattError(Exception):
    def __init__(self, status):
        Exception.__init__(self, status)
        self._status = status


def _defaults():
    _config.clear()
    _config.update({"gap_name": "MPY BTSTACK", "mtu": 23, "bond": False, "le_secure": False, "mitm": False, "io": 3,
                    "addr_mode": 0, "rxbuf": 256, "mac": (0, b"\x24\x0a\xc4\x00\x00\x01")})


_defaults()


def config(*args, **kwargs):
    """config("name") reads one value; config(name=value, ...) sets (ValueError for unknown names,
    as BLE.config raises)."""
    if args:
        if len(args) != 1 or kwargs:
            raise TypeError("config takes one name to read, or keywords to set")
        if args[0] not in _KNOWN:
            raise ValueError("unknown config param")
        return _config[args[0]]
    for key in kwargs:
        if key not in _KNOWN:
            raise ValueError("unknown config param")
        if key == "mtu" and not 23 <= kwargs[key] <= _MTU_MAX:
            raise ValueError("mtu out of range")
    _config.update(kwargs)


class Radio:
    """What is on air: the peripheral's advertisement (or None) and the link, if any."""

    def __init__(self):
        self.advertising = None  # (adv_data, resp_data) while advertising
        self.link = None
        self.waiting = None  # the advertise() call's event: set when a central connects
        self.handles = 0


radio = Radio()


def stop():
    """Forget everything (aioble.stop(): the stack is shut down)."""
    global radio
    if radio.link is not None:
        radio.link.drop(0x16)
    radio = Radio()
    _defaults()
