# Runs under MicroPython and CPython alike (tests/shared/test_protocol.py runs it in both and compares).
# Reads test vectors (JSON) from the path in sys.argv[1]; builds every message with stridewire
# exactly as the firmware does (preallocated buffer, pack_into, seal), parses every message and
# every malformed one, and prints one JSON line per vector.
import json
import struct
import sys
from binascii import hexlify, unhexlify

import stridewire as w


def build_data(v):
    n, qdiv = v["n"], v["qdiv"]
    buf = bytearray(w.data_packet_size(n, qdiv))
    w.pack_data_header(buf, v["stream_id"], v["seq"], v["sample0"], v["rate"], v["accel_g"], v["gyro_code"], n, qdiv, v["flags"])
    s = v["samples"]
    for i in range(n):
        k = 6 * i
        struct.pack_into("<6h", buf, w.sample_offset(i), s[k], s[k + 1], s[k + 2], s[k + 3], s[k + 4], s[k + 5])
    q = v["quats"]
    for j in range(n // qdiv):
        k = 4 * j
        struct.pack_into("<4h", buf, w.quat_offset(n, j), q[k], q[k + 1], q[k + 2], q[k + 3])
    w.seal(buf, memoryview(buf)[: len(buf) - w.CRC_SIZE])
    return buf


def parse_any(kind, data):
    try:
        if kind == "data":
            fields = w.parse_data(data)
            n, qdiv = fields[6], fields[7]
            return {"ok": list(fields), "samples": list(w.unpack_samples(data, n)), "quats": list(w.unpack_quats(data, n, qdiv))}
        if kind == "control":
            opcode, token, args = w.parse_control(data)
            args = [hexlify(a).decode() if isinstance(a, (bytes, bytearray)) else a for a in args]
            return {"ok": [opcode, token, args]}
        if kind == "reply":
            return {"ok": list(w.parse_reply(data))}
        if kind == "status":
            return {"ok": list(w.parse_status(data))}
        if kind == "adv":
            return {"ok": list(w.parse_adv(data))}
        if kind == "status_part":
            serial, index, count, payload = w.parse_status_part(data)
            return {"ok": [serial, index, count, hexlify(payload).decode()]}
    except w.ProtocolError as e:
        return {"error": e.code, "reason": e.reason}
    return {"error": -1, "reason": "unknown kind " + kind}


def run(v):
    kind = v["kind"]
    if "hex" in v:  # a given (possibly malformed) message: parse only
        return parse_any(kind, unhexlify(v["hex"]))
    if kind == "data":
        data = build_data(v)
    elif kind == "control":
        args = v["args"]
        if v["opcode"] in (w.OP_SET_NAME, w.OP_AUTH_PROVE):
            args = [unhexlify(args[0])]
        try:
            data = w.pack_control(v["opcode"], v["token"], *args)
        except w.ProtocolError as e:
            return {"error": e.code, "reason": e.reason}
    elif kind == "reply":
        data = bytearray(w.REPLY_SIZE)
        w.pack_reply(data, v["opcode"], v["token"], v["result"], v["detail"])
    elif kind == "status":
        data = bytearray(w.STATUS_SIZE)
        w.pack_status(data, v["values"])
    elif kind == "adv":
        data = w.pack_adv(*v["values"])
    elif kind == "status_parts":  # a status cut into parts, as the sensor sends it at MTU 23
        status = bytearray(w.STATUS_SIZE)
        w.pack_status(status, v["values"])
        parts = []
        assembler = w.StatusAssembler()
        whole = None
        for k in range(w.STATUS_PARTS):
            buf = bytearray(w.STATUS_PART_SIZE)
            n = w.pack_status_part(buf, status, v["serial"], k)
            parts.append(hexlify(buf[:n]).decode())
            whole = assembler.feed(buf[:n])
        return {"parts": parts, "status": list(w.parse_status(whole))}
    else:
        return {"error": -1, "reason": "unknown kind " + kind}
    out = parse_any(kind, data)
    out["bytes"] = hexlify(data).decode()
    return out


with open(sys.argv[1]) as f:
    vectors = json.load(f)
for v in vectors:
    print(json.dumps(run(v)))
