"""The wire protocol (shared/stridewire): round trips, malformed messages, and byte-identical
behaviour under CPython and real MicroPython (the official WebAssembly port)."""

from __future__ import annotations

import json
import random
import struct
import subprocess
import sys
from binascii import crc32
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import stridewire as w
from mpy import ROOT, run_micropython

VECTORS_SCRIPT = Path(__file__).with_name("protocol_vectors.py")

# -- strategies -----------------------------------------------------------------------------

i16 = st.integers(-32768, 32767)
u8 = st.integers(0, 255)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)


@st.composite
def data_vectors(draw):
    qdiv = draw(st.sampled_from([1, 2, 4, 8]))
    groups = draw(st.integers(1, 255 // qdiv))
    n = groups * qdiv
    return {
        "kind": "data",
        "stream_id": draw(u16),
        "seq": draw(u32),
        "sample0": draw(st.integers(0, (0xFFFFFFFF // qdiv))) * qdiv,
        "rate": draw(st.integers(1, 0xFFFF)),
        "accel_g": draw(st.sampled_from(w.ACCEL_RANGES_G)),
        "gyro_code": draw(st.sampled_from(w.GYRO_RANGE_CODES)),
        "n": n,
        "qdiv": qdiv,
        "flags": draw(u8),
        "samples": draw(st.lists(i16, min_size=6 * n, max_size=6 * n)),
        "quats": draw(st.lists(i16, min_size=4 * groups, max_size=4 * groups)),
    }


def _control_args(opcode, draw):
    if opcode == w.OP_SET_NAME:
        return [draw(st.binary(min_size=1, max_size=w.MAX_NAME_BYTES))]
    if opcode == w.OP_AUTH_PROVE:
        return [draw(st.binary(min_size=16, max_size=16))]
    fmt = w._CONTROL_ARGS[opcode]
    ranges = {"B": u8, "H": u16, "I": u32}
    return [draw(ranges[c]) for c in fmt]


@st.composite
def control_vectors(draw):
    opcode = draw(st.sampled_from(sorted(w.OPCODE_NAMES)))
    return {"opcode": opcode, "token": draw(u8), "args": _control_args(opcode, draw)}


def build_data(v) -> bytearray:
    # Same steps as the firmware's packer: header, samples, quaternions, seal.
    buf = bytearray(w.data_packet_size(v["n"], v["qdiv"]))
    w.pack_data_header(buf, v["stream_id"], v["seq"], v["sample0"], v["rate"], v["accel_g"], v["gyro_code"], v["n"], v["qdiv"], v["flags"])
    struct.pack_into("<%dh" % len(v["samples"]), buf, w.DATA_HEADER_SIZE, *v["samples"])
    struct.pack_into("<%dh" % len(v["quats"]), buf, w.quat_offset(v["n"], 0), *v["quats"])
    w.seal(buf, memoryview(buf)[: len(buf) - w.CRC_SIZE])
    return buf


def reseal(buf: bytearray) -> bytearray:
    """Recompute the CRC so that a deliberately wrong field is what the parser sees."""
    buf = bytearray(buf)
    struct.pack_into("<I", buf, len(buf) - 4, crc32(bytes(buf[:-4])))
    return buf


# -- round trips ------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(data_vectors())
def test_data_packet_round_trip(v):
    buf = build_data(v)
    assert len(buf) == w.DATA_HEADER_SIZE + 12 * v["n"] + 8 * (v["n"] // v["qdiv"]) + 4
    fields = w.parse_data(buf)
    assert fields == (v["stream_id"], v["seq"], v["sample0"], v["rate"], v["accel_g"], v["gyro_code"], v["n"], v["qdiv"], v["flags"])
    assert list(w.unpack_samples(buf, v["n"])) == v["samples"]
    assert list(w.unpack_quats(buf, v["n"], v["qdiv"])) == v["quats"]


@settings(max_examples=150, deadline=None)
@given(control_vectors())
def test_control_round_trip(v):
    msg = w.pack_control(v["opcode"], v["token"], *v["args"])
    opcode, token, args = w.parse_control(msg)
    assert (opcode, token, list(args)) == (v["opcode"], v["token"], v["args"])


@settings(max_examples=100, deadline=None)
@given(u8, u8, u8, u32)
def test_reply_round_trip(opcode, token, result, detail):
    buf = bytearray(w.REPLY_SIZE)
    w.pack_reply(buf, opcode, token, result, detail)
    assert w.parse_reply(buf) == (opcode, token, result, detail)


@st.composite
def status_values(draw):
    fmt = w._STATUS[3:]  # after "<BB": the fields in STATUS_FIELDS order
    ranges = {"B": u8, "H": u16, "I": u32}
    return [draw(ranges[c]) for c in fmt]


@settings(max_examples=100, deadline=None)
@given(status_values())
def test_status_round_trip(values):
    assert len(values) == len(w.STATUS_FIELDS)
    buf = bytearray(w.STATUS_SIZE)
    w.pack_status(buf, values)
    assert list(w.parse_status(buf)) == values


def test_status_layout_matches_the_spec():
    # docs/protocol.md: offsets of a few fields the host and scanners read directly.
    assert struct.calcsize(w._STATUS) + 4 == w.STATUS_SIZE == 46
    assert struct.calcsize(w._DATA_HEADER) == w.DATA_HEADER_SIZE == 19
    assert struct.calcsize(w._REPLY) + 4 == w.REPLY_SIZE == 13
    values = list(range(1, len(w.STATUS_FIELDS) + 1))
    buf = bytearray(w.STATUS_SIZE)
    w.pack_status(buf, values)
    field = dict(zip(w.STATUS_FIELDS, values))
    assert buf[7] == field["imu_model"] and buf[15] == field["state"] and buf[16] == field["mount"]
    assert struct.unpack_from("<I", buf, 18)[0] == field["next_sample"]
    assert struct.unpack_from("<I", buf, 30)[0] == field["dropped"]


def test_batch_fills_the_mtu():
    assert w.samples_per_packet(247, 4) == 12
    assert w.data_packet_size(12, 4) <= 247 - 3
    assert w.data_packet_size(16, 4) > 247 - 3
    assert w.samples_per_packet(23, 4) == 0  # the minimum MTU cannot carry a group
    assert w.samples_per_packet(517, 4) % 4 == 0 and w.data_packet_size(w.samples_per_packet(517, 4), 4) <= 514
    # bandwidth at 416 Hz with the usual MTU stays well inside 12 kB/s
    assert 416 / 12 * w.data_packet_size(12, 4) < 12_000


# -- malformed messages -----------------------------------------------------------------------

GOOD = {
    "stream_id": 7, "seq": 3, "sample0": 48, "rate": 416, "accel_g": 32, "gyro_code": 16, "n": 12, "qdiv": 4, "flags": 0,
    "samples": list(range(-36, 36)), "quats": [16384, 0, 0, 0] * 3,
}


def test_every_truncation_and_extension_is_rejected_with_a_reason():
    buf = bytes(build_data(GOOD))
    for cut in range(len(buf)):
        with pytest.raises(w.ProtocolError) as e:
            w.parse_data(buf[:cut])
        assert e.value.code in (w.ERR_BAD_LENGTH, w.ERR_BAD_CRC, w.ERR_BAD_TYPE, w.ERR_BAD_VERSION)
        assert str(e.value)
    with pytest.raises(w.ProtocolError) as e:
        w.parse_data(reseal(bytearray(buf[:-4]) + b"\0\0\0\0\0\0"))
    assert e.value.code == w.ERR_BAD_LENGTH


def test_every_single_bit_flip_is_rejected():
    buf = build_data(GOOD)
    for bit in range(len(buf) * 8):
        bad = bytearray(buf)
        bad[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(w.ProtocolError):
            w.parse_data(bad)


@pytest.mark.parametrize(
    "change, code",
    [
        (lambda b: b.__setitem__(0, w.TYPE_STATUS), w.ERR_BAD_TYPE),
        (lambda b: b.__setitem__(1, w.PROTOCOL_VERSION + 1), w.ERR_BAD_VERSION),
        (lambda b: b.__setitem__(17, 0), w.ERR_BAD_ARGUMENT),  # qdiv 0
        (lambda b: b.__setitem__(16, 10), w.ERR_BAD_ARGUMENT),  # n not a multiple of qdiv
        (lambda b: b.__setitem__(16, 16), w.ERR_BAD_LENGTH),  # n disagrees with the length
        (lambda b: b.__setitem__(14, 3), w.ERR_BAD_ARGUMENT),  # no such accel range
        (lambda b: b.__setitem__(15, 3), w.ERR_BAD_ARGUMENT),  # no such gyro range
        (lambda b: struct.pack_into("<H", b, 12, 0), w.ERR_BAD_ARGUMENT),  # rate 0
        (lambda b: struct.pack_into("<I", b, 8, 50), w.ERR_BAD_ARGUMENT),  # sample0 not aligned to qdiv
    ],
)
def test_wrong_fields_with_a_valid_crc_are_rejected_by_name(change, code):
    bad = bytearray(build_data(GOOD))
    change(bad)
    with pytest.raises(w.ProtocolError) as e:
        w.parse_data(reseal(bad))
    assert e.value.code == code, e.value.reason


def test_control_messages_that_cannot_be_accepted():
    ok = w.pack_control(w.OP_RESEND, 9, 1000, 24)
    cases = [
        (ok[:-1], w.ERR_BAD_CRC),
        (ok[:5], w.ERR_BAD_LENGTH),
        (reseal(bytearray(ok[:4]) + b"\x01\x02\x03" + bytes(4)), w.ERR_BAD_LENGTH),  # RESEND takes 6 bytes
        (reseal(bytearray([w.TYPE_CONTROL, w.PROTOCOL_VERSION, 99, 1]) + bytes(4)), w.ERR_UNKNOWN_OPCODE),
        (reseal(bytearray([w.TYPE_CONTROL, w.PROTOCOL_VERSION, w.OP_SET_NAME, 1, 30]) + b"x" * 30 + bytes(4)), w.ERR_BAD_ARGUMENT),
        (reseal(bytearray([w.TYPE_CONTROL, w.PROTOCOL_VERSION, w.OP_SET_NAME, 1, 5]) + b"abc" + bytes(4)), w.ERR_BAD_ARGUMENT),
        (reseal(bytearray([w.TYPE_DATA, w.PROTOCOL_VERSION, w.OP_START, 1]) + bytes(4)), w.ERR_BAD_TYPE),
        (reseal(bytearray([w.TYPE_CONTROL, 9, w.OP_START, 1]) + bytes(4)), w.ERR_BAD_VERSION),
        (b"", w.ERR_BAD_LENGTH),
    ]
    for msg, code in cases:
        with pytest.raises(w.ProtocolError) as e:
            w.parse_control(msg)
        assert e.value.code == code, (msg.hex(), e.value.reason)
    with pytest.raises(w.ProtocolError):
        w.pack_control(w.OP_SET_NAME, 1, "")
    with pytest.raises(w.ProtocolError):
        w.pack_control(99, 1)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_crash_a_parser(data):
    for parse in (w.parse_data, w.parse_control, w.parse_reply, w.parse_status):
        try:
            parse(data)
        except w.ProtocolError as e:
            assert e.reason
    try:
        w.parse_adv(data)
    except w.ProtocolError:
        assert len(data) < w.ADV_SIZE


@settings(max_examples=200, deadline=None)
@given(data_vectors(), st.data())
def test_random_damage_with_a_valid_crc_is_rejected_or_consistent(v, data):
    """A damaged packet that still passes the CRC is either rejected by name or self-consistent."""
    buf = build_data(v)
    pos = data.draw(st.integers(0, w.DATA_HEADER_SIZE - 1))
    buf[pos] = data.draw(u8)
    buf = reseal(buf)
    try:
        fields = w.parse_data(buf)
    except w.ProtocolError as e:
        assert e.code in w.ERROR_NAMES
        return
    n, qdiv = fields[6], fields[7]
    assert len(buf) == w.data_packet_size(n, qdiv) and n % qdiv == 0


# -- CPython and MicroPython byte for byte ----------------------------------------------------


def _vectors() -> list[dict]:
    rng = random.Random(20261123)
    vectors = []

    def r16():
        return rng.randint(-32768, 32767)

    for k in range(60):
        qdiv = rng.choice([1, 2, 4, 4, 4, 8])
        n = rng.randint(1, 255 // qdiv) * qdiv
        if k == 0:
            n, qdiv = 12, 4
        v = {
            "kind": "data", "stream_id": rng.randint(0, 0xFFFF), "seq": rng.randint(0, 0xFFFFFFFF),
            "sample0": rng.randint(0, 0xFFFFFFFF // qdiv) * qdiv, "rate": rng.choice([104, 208, 416, 833]),
            "accel_g": rng.choice(w.ACCEL_RANGES_G), "gyro_code": rng.choice(w.GYRO_RANGE_CODES),
            "n": n, "qdiv": qdiv, "flags": rng.randint(0, 15),
            "samples": [r16() for _ in range(6 * n)], "quats": [r16() for _ in range(4 * (n // qdiv))],
        }
        vectors.append(v)
    for opcode in sorted(w.OPCODE_NAMES):
        for _ in range(3):
            if opcode == w.OP_SET_NAME:
                args = [bytes(rng.randint(32, 126) for _ in range(rng.randint(1, 20))).hex()]
            elif opcode == w.OP_AUTH_PROVE:
                args = [bytes(rng.randint(0, 255) for _ in range(16)).hex()]
            else:
                args = [rng.randint(0, {"B": 255, "H": 0xFFFF, "I": 0xFFFFFFFF}[c]) for c in w._CONTROL_ARGS[opcode]]
            vectors.append({"kind": "control", "opcode": opcode, "token": rng.randint(0, 255), "args": args})
    vectors.append({"kind": "control", "opcode": w.OP_SET_NAME, "token": 1, "args": [("x" * 21).encode().hex()]})
    for _ in range(10):
        vectors.append({"kind": "reply", "opcode": rng.randint(0, 255), "token": rng.randint(0, 255), "result": rng.randint(0, 12),
                        "detail": rng.randint(0, 0xFFFFFFFF)})
        fmt = w._STATUS[3:]
        vectors.append({"kind": "status", "values": [rng.randint(0, {"B": 255, "H": 0xFFFF, "I": 0xFFFFFFFF}[c]) for c in fmt]})
        vectors.append({"kind": "adv", "values": [rng.randint(0, 255) for _ in range(5)]})
        vectors.append({"kind": "status_parts", "values": [rng.randint(0, {"B": 255, "H": 0xFFFF, "I": 0xFFFFFFFF}[c]) for c in fmt],
                        "serial": rng.randint(0, 255)})
    # Malformed: truncations, bit flips, wrong fields with a valid CRC, random bytes.
    good = bytes(build_data(GOOD))
    for cut in (0, 1, 2, 18, 22, len(good) - 1):
        vectors.append({"kind": "data", "hex": good[:cut].hex()})
    for _ in range(20):
        bad = bytearray(good)
        bit = rng.randrange(len(bad) * 8)
        bad[bit // 8] ^= 1 << (bit % 8)
        vectors.append({"kind": "data", "hex": bad.hex()})
    for pos in range(19):
        bad = bytearray(good)
        bad[pos] = rng.randint(0, 255)
        vectors.append({"kind": "data", "hex": reseal(bad).hex()})
    ctl = w.pack_control(w.OP_SET_NAME, 4, b"runner")
    for cut in (3, 5, 8, len(ctl) - 1):
        vectors.append({"kind": "control", "hex": ctl[:cut].hex()})
    vectors.append({"kind": "control", "hex": reseal(bytearray([w.TYPE_CONTROL, w.PROTOCOL_VERSION, 99, 0]) + bytes(4)).hex()})
    vectors.append({"kind": "control", "hex": reseal(bytearray([w.TYPE_CONTROL, w.PROTOCOL_VERSION, w.OP_SET_RATE, 0, 1]) + bytes(4)).hex()})
    for kind in ("reply", "status", "adv", "status_part"):
        for _ in range(5):
            vectors.append({"kind": kind, "hex": bytes(rng.randint(0, 255) for _ in range(rng.randint(0, 50))).hex()})
    return vectors


def _results(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_cpython_and_micropython_produce_identical_bytes_and_verdicts(tmp_path):
    vectors = _vectors()
    path = tmp_path / "vectors.json"
    path.write_text(json.dumps(vectors))
    cpy = subprocess.run(
        [sys.executable, str(VECTORS_SCRIPT), str(path)],
        capture_output=True, text=True, check=True, timeout=120,
        env={"PYTHONPATH": str(ROOT / "shared"), "PATH": "/usr/bin:/bin"},
    )
    mpy = run_micropython(VECTORS_SCRIPT.read_text(), args=["/data/vectors.json"], files={"vectors.json": path.read_bytes()})
    assert "micropython" not in cpy.stdout
    want, got = _results(cpy.stdout), _results(mpy)
    assert len(want) == len(got) == len(vectors)
    for v, a, b in zip(vectors, want, got):
        assert a == b, (v, a, b)
    # the vectors really exercise both sides: messages were built, and malformed ones refused
    assert sum("bytes" in r for r in want) > 100
    assert sum("error" in r for r in want) > 40
    # every built message parses back to what was packed (on both)
    for v, r in zip(vectors, want):
        if v["kind"] == "data" and "hex" not in v:
            assert r["samples"] == v["samples"] and r["quats"] == v["quats"]


def test_protocol_module_is_what_micropython_imports():
    out = run_micropython("import sys, stridewire\nprint(sys.implementation.name, stridewire.PROTOCOL_VERSION, stridewire.__file__)")
    name, version, where = out.split()
    assert name == "micropython" and int(version) == w.PROTOCOL_VERSION
    assert where.startswith("/lib/stridewire")


def test_sealing_on_the_board_matches_crc32_and_allocates_nothing():
    # MicroPython boxes a 32-bit CRC as a heap int; stridewire seals without allocating there.
    out = run_micropython("""
import gc, struct
from binascii import crc32
import stridewire as w
assert hasattr(w, "_CRC_LO"), "the board's table CRC is not in use"
buf = bytearray(300)
for n in range(0, 296, 7):
    for i in range(n):
        buf[i] = (i * 37 + n) & 0xFF
    w.seal(buf, memoryview(buf)[:n])
    assert struct.unpack_from("<I", buf, n)[0] == crc32(bytes(buf[:n])), n
body = memoryview(buf)[:187]
w.seal(buf, body)  # warm up
gc.collect()
before = gc.mem_alloc()
for _ in range(50):
    w.seal(buf, body)
print(gc.mem_alloc() - before)
""")
    assert int(out.split()[-1]) <= 16  # 50 seals; crc32 would box ~37 ints (~600 bytes)


# -- status parts (MTU 23) and the auth tag ---------------------------------------------------


def _status_parts(values, serial):
    status = bytearray(w.STATUS_SIZE)
    w.pack_status(status, values)
    parts = []
    for k in range(w.STATUS_PARTS):
        buf = bytearray(w.STATUS_PART_SIZE)
        parts.append(bytes(buf[: w.pack_status_part(buf, status, serial, k)]))
    return bytes(status), parts


def test_a_status_in_parts_fits_mtu_23_and_reassembles_exactly():
    values = list(range(1, len(w.STATUS_FIELDS) + 1))
    status, parts = _status_parts(values, 7)
    assert not w.status_fits(23) and not w.status_fits(48) and w.status_fits(49)  # MTU - 3 >= 46
    assert all(len(p) <= 23 - w.ATT_OVERHEAD for p in parts) and len(parts) == w.STATUS_PARTS
    assert b"".join(p[w.STATUS_PART_HEADER:] for p in parts) == status
    a = w.StatusAssembler()
    assert a.feed(parts[0]) is None and a.feed(parts[1]) is None
    assert list(w.parse_status(a.feed(parts[2]))) == values


def test_parts_of_two_status_notifications_never_mix():
    _, old = _status_parts(list(range(len(w.STATUS_FIELDS))), 1)
    new_status, new = _status_parts([9] * len(w.STATUS_FIELDS), 2)
    a = w.StatusAssembler()
    a.feed(old[0])  # the rest of this one was lost
    assert a.feed(new[0]) is None and a.feed(new[1]) is None
    assert a.feed(new[2]) == new_status
    # a damaged part: the whole status fails its CRC
    bad = bytearray(new[1])
    bad[6] ^= 0x10
    a.feed(new[0])
    a.feed(bytes(bad))
    with pytest.raises(w.ProtocolError) as e:
        w.parse_status(a.feed(new[2]))
    assert e.value.code == w.ERR_BAD_CRC


def test_a_status_part_with_a_wrong_header_is_refused():
    _, parts = _status_parts([0] * len(w.STATUS_FIELDS), 3)
    for bad, code in ((parts[0][:4], w.ERR_BAD_LENGTH), (parts[0][:10], w.ERR_BAD_LENGTH),
                      (bytes([w.TYPE_STATUS]) + parts[0][1:], w.ERR_BAD_TYPE),
                      (parts[0][:1] + bytes([1]) + parts[0][2:], w.ERR_BAD_VERSION),
                      (parts[0][:3] + bytes([0x32]) + parts[0][4:], w.ERR_BAD_LENGTH)):
        with pytest.raises(w.ProtocolError) as e:
            w.parse_status_part(bad)
        assert e.value.code == code


def test_auth_opcodes_round_trip_and_tags_depend_on_every_input():
    tag = w.auth_tag(bytes(16), 1, 2)
    msg = w.pack_control(w.OP_AUTH_PROVE, 3, tag)
    assert len(msg) == w.CONTROL_HEADER_SIZE + 16 + w.CRC_SIZE
    assert w.parse_control(msg) == (w.OP_AUTH_PROVE, 3, (tag,))
    assert w.parse_control(w.pack_control(w.OP_AUTH_BEGIN, 4, 0xDEADBEEF)) == (w.OP_AUTH_BEGIN, 4, (0xDEADBEEF,))
    others = {w.auth_tag(bytes(15) + b"\x01", 1, 2), w.auth_tag(bytes(16), 2, 2), w.auth_tag(bytes(16), 1, 3)}
    assert len(others) == 3 and tag not in others and len(tag) == w.AUTH_TAG_SIZE
    assert set(w.PUBLIC_OPCODES) == {w.OP_AUTH_BEGIN, w.OP_AUTH_PROVE, w.OP_GET_STATUS}
    assert w.ERROR_NAMES[w.ERR_NOT_AUTHENTICATED] == "host not authenticated"
