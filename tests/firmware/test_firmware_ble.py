"""Advertising payloads (the hardware-independent part of the BLE peripheral): both legacy
packets fit 31 bytes and carry flags, the service UUID, the stridewire service data and the name,
the same in MicroPython and CPython."""

from __future__ import annotations

import uuid

import pytest

import stridewire as sw
from mpy import run_micropython
from stridenode.advert import advertising_payloads, parse_fields, uuid128_le

DATA = sw.pack_adv(0, 2, 0, 87, sw.mount_code(sw.SEGMENT_SHIN, sw.SIDE_LEFT))


@pytest.mark.parametrize("name", ["StrideCue", "StrideCue-L", "StrideCue-LS", "Läufer-Knie-Sensor-9"])
def test_payloads_fit_and_carry_everything(name):
    adv, resp = advertising_payloads(name, sw.SERVICE_UUID, DATA)
    assert len(adv) <= 31 and len(resp) <= 31
    a, r = parse_fields(adv), parse_fields(resp)
    assert a[0x01] == b"\x06"
    le = uuid.UUID(sw.SERVICE_UUID).bytes[::-1]  # BLE sends the 128-bit number least significant byte first
    assert uuid128_le(sw.SERVICE_UUID) == le
    assert a[0x21][:16] == le and sw.parse_adv(a[0x21][16:]) == (sw.PROTOCOL_VERSION, 0, 2, 0, 87, 5)
    assert r[0x07] == le
    raw = name.encode()
    if len(raw) <= 11:
        assert r[0x09] == raw
    else:
        assert 0x09 not in r and raw.startswith(r[0x08]) and r[0x08].decode()  # shortened on a character boundary


def test_micropython_builds_the_same_bytes():
    code = (
        "import stridewire as sw\n"
        "from stridenode.advert import advertising_payloads\n"
        f"a, r = advertising_payloads('StrideCue-LS', sw.SERVICE_UUID, {DATA!r})\n"
        "print(a.hex(), r.hex())\n"
    )
    adv, resp = advertising_payloads("StrideCue-LS", sw.SERVICE_UUID, DATA)
    assert run_micropython(code).split() == [adv.hex(), resp.hex()]
