# Advertising payloads (hardware-independent, tested on the host; ble.py sends them).
#
# Two 31-byte legacy packets must carry flags, the 128-bit service UUID, the stridewire
# service data (which itself names the 128-bit UUID) and the name:
#   advertisement: flags (3) + service data (2 + 16 + 6) = 27 bytes
#   scan response: complete 128-bit UUID list (18) + name (2 + up to 11 bytes)
# A longer name is sent shortened (AD type 0x08); the GAP device name carries it in full.

from stridewire import const


_ADV_TYPE_FLAGS = const(0x01)
_ADV_TYPE_UUID128_COMPLETE = const(0x07)
_ADV_TYPE_NAME_SHORT = const(0x08)
_ADV_TYPE_NAME = const(0x09)
_ADV_TYPE_SERVICE_DATA_128 = const(0x21)
_ADV_MAX = const(31)
_FLAGS_LE_GENERAL_NO_BREDR = const(0x06)


def uuid128_le(text):
    """A 128-bit UUID string as the 16 little-endian bytes of advertising data."""
    raw = bytes.fromhex(text.replace("-", ""))
    return bytes(reversed(raw))


def _field(kind, payload):
    return bytes((len(payload) + 1, kind)) + payload


def advertising_payloads(name, service_uuid, service_data):
    """(advertisement, scan response) for a name, the service UUID string and its service data."""
    uuid = uuid128_le(service_uuid)
    adv = _field(_ADV_TYPE_FLAGS, bytes((_FLAGS_LE_GENERAL_NO_BREDR,)))
    adv += _field(_ADV_TYPE_SERVICE_DATA_128, uuid + service_data)
    if len(adv) > _ADV_MAX:
        raise ValueError("service data too long for one advertisement")
    resp = _field(_ADV_TYPE_UUID128_COMPLETE, uuid)
    room = _ADV_MAX - len(resp) - 2
    raw = name.encode()
    if len(raw) <= room:
        resp += _field(_ADV_TYPE_NAME, raw)
    else:
        cut = raw[:room]
        while cut and (cut[-1] & 0xC0) == 0x80:  # do not split a UTF-8 character
            cut = cut[:-1]
        if cut and cut[-1] >= 0xC0:
            cut = cut[:-1]
        resp += _field(_ADV_TYPE_NAME_SHORT, cut)
    return adv, resp


def parse_fields(data):
    """{AD type: payload} of advertising data (for tests and tools)."""
    out = {}
    i = 0
    while i < len(data):
        size = data[i]
        if size == 0:
            break
        out[data[i + 1]] = bytes(data[i + 2 : i + 1 + size])
        i += 1 + size
    return out
