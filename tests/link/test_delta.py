"""The delta encoding (docs/protocol.md "Delta data packet"): the firmware's packer and the host's
decoder give back exactly the samples and quaternions in the ring, whatever they are; malformed
packets are refused by name; the host asks for it and falls back on a firmware that does not know it."""

from __future__ import annotations

import asyncio
import logging
import struct
from binascii import crc32

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import stridewire as w
from stridecue.link.client import SensorLink
from stridecue.link.decoder import decode_data
from stridecue.sim import RunnerSettings, VirtualRunner
from stridecue.sim.air import VirtualAir, set_current_air
from stridecue.sim.ble_backend import VirtualBleakClient
from stridenode.delta import DeltaPacker
from stridenode.ring import SampleRing


def _ring(samples: np.ndarray, quats: np.ndarray, qdiv: int, capacity: int, start: int) -> SampleRing:
    ring = SampleRing(capacity, qdiv)
    ring.clear(start)
    for k, s in enumerate(samples.tolist()):
        i = start + k
        ring.put(i, *s)
        if i % qdiv == 0:
            ring.put_quat(i, *quats[k // qdiv].tolist())
    return ring


def _pack(ring: SampleRing, first: int, most: int, room: int = 244) -> tuple[bytes, int]:
    packer = DeltaPacker(244)
    n = packer.plan(ring, first, most, room)
    w.pack_data_header(packer.buf, 7, 1, first, 416, 32, 16, n, ring.qdiv, 0, w.TYPE_DATA_DELTA)
    return bytes(packer.pack(ring, first, n)), n


series = st.sampled_from(["walk", "extremes", "constant", "random"])


@settings(max_examples=60, deadline=None)
@given(kind=series, groups=st.integers(1, 30), seed=st.integers(0, 2**32 - 1), start_groups=st.integers(0, 40),
       room=st.integers(92, 244))
def test_packer_and_decoder_round_trip_exactly(kind, groups, seed, start_groups, room):
    rng = np.random.default_rng(seed)
    qdiv, n = 4, groups * 4
    if kind == "walk":
        samples = np.cumsum(rng.integers(-900, 900, (n, 6)), axis=0)
    elif kind == "extremes":  # 16-bit wrap-around of every difference and residual
        samples = rng.choice([-32768, 32767, 0, -1], (n, 6))
    elif kind == "constant":
        samples = np.full((n, 6), int(rng.integers(-32768, 32767)))
    else:
        samples = rng.integers(-32768, 32768, (n, 6))
    samples = ((samples + 32768) % 65536 - 32768).astype(np.int64)
    quats = rng.integers(-16384, 16385, (groups, 4))
    start = start_groups * qdiv
    ring = _ring(samples, quats, qdiv, capacity=64, start=start)  # 64 slots: most cases wrap around the ring
    first = max(start, start + n - 64)
    first += (-first) % qdiv
    held = (start + n - first)
    payload, m = _pack(ring, first, held, room)
    assert m >= qdiv and len(payload) <= room
    packet = decode_data(payload)
    k = first - start
    assert packet.block.index[0] == first and len(packet.block.index) == m
    assert np.array_equal(packet.block.raw, samples[k:k + m])
    assert np.array_equal(packet.block.quat_raw, quats[k // qdiv:(k + m) // qdiv])
    assert w.parse_delta(payload)[6] == m


def test_quiet_signals_pack_small_and_full_packets_stop_at_the_room():
    quiet = np.tile(np.arange(48)[:, None] * 3, (1, 6))  # a straight line: every residual is 0
    ring = _ring(quiet, np.zeros((12, 4), int), 4, 64, 0)
    payload, n = _pack(ring, 0, 48)
    assert n == 48 and len(payload) == w.DELTA_FIXED_SIZE + 6 * (2 + (46 + 7) // 8) + 4 * (2 + (10 + 7) // 8)
    noisy = np.random.default_rng(1).integers(-32768, 32768, (48, 6))
    ring = _ring(noisy, np.zeros((12, 4), int), 4, 64, 0)
    payload, n = _pack(ring, 0, 48, room=244)
    assert 0 < n < 48 and len(payload) <= 244  # 16-bit residuals: only a few groups fit


def _valid(n=8, qdiv=4) -> bytes:
    ring = _ring(np.arange(n * 6).reshape(n, 6), np.arange(n // qdiv * 4).reshape(-1, 4), qdiv, 64, 0)
    return _pack(ring, 0, n)[0]


def _reseal(body: bytes) -> bytes:
    return body + struct.pack("<I", crc32(body))


@pytest.mark.parametrize("damage, code", [
    (lambda b: b[:-5] + b[-4:], w.ERR_BAD_CRC),  # a byte gone, old CRC
    (lambda b: _reseal(b[:-5]), w.ERR_BAD_LENGTH),  # a byte gone, CRC made to match
    (lambda b: _reseal(b[:-4] + b"\0"), w.ERR_BAD_LENGTH),
    (lambda b: _reseal(b[:19] + b"\x11" + b[20:-4]), w.ERR_BAD_ARGUMENT),  # width 17
    (lambda b: _reseal(b[:19] + b"\x00" + b[20:-4]), w.ERR_BAD_ARGUMENT),  # width 0
    (lambda b: _reseal(b[:1] + b"\x09" + b[2:-4]), w.ERR_BAD_VERSION),
])
def test_malformed_delta_packets_are_refused_by_name(damage, code):
    with pytest.raises(w.ProtocolError) as e:
        w.parse_delta(damage(_valid()))
    assert e.value.code == code and e.value.reason


def test_a_full_decoder_refuses_a_delta_packet_by_type():
    with pytest.raises(w.ProtocolError) as e:
        w.parse_data(_valid())  # what an old host's decoder does: counted as corrupt, never misread
    assert e.value.code == w.ERR_BAD_TYPE


def _link_run(encoding: str, old_firmware: bool, caplog) -> tuple[SensorLink, list, list]:
    async def go():
        air = VirtualAir(speed=None, seed=2)
        sensor = air.add_sensor("StrideCueLS", "5C:1D:00:00:00:01", VirtualRunner(RunnerSettings(), seed=2).sensor(leg="left", mount="shin"))
        if old_firmware:  # a firmware from before SET_ENCODING: parse_control does not know opcode 13
            dispatch = sensor.node._dispatch
            sensor.node._dispatch = lambda op, args: (w.ERR_UNKNOWN_OPCODE, 0) if op == w.OP_SET_ENCODING else dispatch(op, args)
        set_current_air(air)
        packets, events = [], []
        link = SensorLink("5C:1D:00:00:00:01", backend=VirtualBleakClient, clock=air.clock, encoding=encoding,
                          on_items=lambda items: packets.extend(items), on_event=events.append)
        real = link._on_data
        kinds = []
        link._on_data = lambda c, d: (kinds.append(d[0]), real(c, d))
        await link.open()
        await air.clock.sleep(3.0)
        await link.close()
        return link, kinds, events

    with caplog.at_level(logging.WARNING):
        return asyncio.run(go())


def test_the_host_asks_for_delta_and_gets_it(caplog):
    link, kinds, events = _link_run("delta", old_firmware=False, caplog=caplog)
    assert link.encoding_in_use == "delta" and set(kinds) == {w.TYPE_DATA_DELTA}
    assert link.stream.counters.missing == 0 and link.stream.counters.samples > 2 * 416
    assert not [e for e in events if e["kind"] == "warning"]


def test_an_old_firmware_streams_full_with_one_warning(caplog):
    link, kinds, events = _link_run("delta", old_firmware=True, caplog=caplog)
    assert link.encoding_in_use == "full" and set(kinds) == {w.TYPE_DATA}
    assert link.stream.counters.missing == 0 and link.stream.counters.samples > 2 * 416
    warnings = [e["message"] for e in events if e["kind"] == "warning"]
    assert len(warnings) == 1 and "does not know it" in warnings[0] and "\n" not in warnings[0]
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == warnings


def test_a_full_host_never_asks(caplog):
    link, kinds, events = _link_run("full", old_firmware=False, caplog=caplog)
    assert link.encoding_in_use == "full" and set(kinds) == {w.TYPE_DATA}
