"""A FIT activity encoder (Garmin's Flexible and Interoperable Data Transfer protocol).

Written from the FIT protocol description: a 14-byte file header with its CRC, then records
(each a definition message, which maps a local message type to a global message number and
its fields, or a data message of a defined local type), then the CRC-16 of everything.
Protocol version 2.0, so data messages can carry developer fields: a developer_data_id
message names the application, a field_description message describes each field (name,
base type, units), and definitions list them after the native fields.

    w = FitWriter()
    w.define(0, MESG_FILE_ID, [(0, ENUM), (1, UINT16), ...])
    w.write(0, [4, 255, ...])
    data = w.finish()        # bytes of the whole file, CRCs included

activity_file(start, strides, summary, cues=..., duration_s=...) builds StrideCue's activity:
the session from the run's start to its end; one record per second with strides (cadence,
stance time and stance balance, and developer fields knee wobble, landing load and loading rate,
overall and per leg, and the thigh's wobble); each cue an event marker; timer events, one lap,
one session (the run's medians, overall and per leg, as developer fields) and the activity
message.  docs/exports.md lists every field.
"""

from __future__ import annotations

import datetime as dt
import math
import struct
import uuid

from stridecue.analysis.combine import counted_strides, repeated_segments
from stridecue.analysis.stride import Stride

# Base types: (code, struct format, invalid value)
ENUM = (0x00, "B", 0xFF)
SINT8 = (0x01, "b", 0x7F)
UINT8 = (0x02, "B", 0xFF)
SINT16 = (0x83, "h", 0x7FFF)
UINT16 = (0x84, "H", 0xFFFF)
SINT32 = (0x85, "i", 0x7FFFFFFF)
UINT32 = (0x86, "I", 0xFFFFFFFF)
FLOAT32 = (0x88, "f", None)  # invalid: all bits set
UINT32Z = (0x8C, "I", 0x00000000)
BYTE = (0x0D, "B", 0xFF)
STRING = (0x07, "s", None)

MESG_FILE_ID = 0
MESG_SESSION = 18
MESG_LAP = 19
MESG_RECORD = 20
MESG_EVENT = 21
MESG_ACTIVITY = 34
MESG_FIELD_DESCRIPTION = 206
MESG_DEVELOPER_DATA_ID = 207

FIT_EPOCH = dt.datetime(1989, 12, 31, tzinfo=dt.timezone.utc)
PROTOCOL_VERSION = 0x20  # 2.0: developer fields
PROFILE_VERSION = 2132  # 21.32

# Our application's identity in developer_data_id (stable, so platforms can recognise the fields).
DEVELOPER_ID = uuid.UUID("5c1d0000-57c1-4e00-9a11-5752494445ff").bytes
APPLICATION_ID = uuid.UUID("5c1d0001-57c1-4e00-9a11-535452494445").bytes

_CRC_TABLE = (0x0000, 0xCC01, 0xD801, 0x1400, 0xF001, 0x3C00, 0x2800, 0xE401,
              0xA001, 0x6C00, 0x7800, 0xB401, 0x5000, 0x9C01, 0x8801, 0x4400)


def crc16(data: bytes, crc: int = 0) -> int:
    """The FIT CRC (CRC-16, polynomial 0x8005 reflected), nibble by nibble as the protocol gives it."""
    for byte in data:
        tmp = _CRC_TABLE[crc & 0xF]
        crc = (crc >> 4) & 0x0FFF
        crc = crc ^ tmp ^ _CRC_TABLE[byte & 0xF]
        tmp = _CRC_TABLE[crc & 0xF]
        crc = (crc >> 4) & 0x0FFF
        crc = crc ^ tmp ^ _CRC_TABLE[(byte >> 4) & 0xF]
    return crc


def fit_time(t: dt.datetime) -> int:
    """Seconds since the FIT epoch (1989-12-31 00:00 UTC)."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return int((t - FIT_EPOCH).total_seconds())


class FitError(ValueError):
    pass


class _Definition:
    def __init__(self, global_num: int, fields: list[tuple], dev_fields: list[tuple]):
        self.global_num = global_num
        self.fields = fields  # (number, base type, size)
        self.dev_fields = dev_fields  # (number, base type, size, developer index)


class FitWriter:
    """Encodes definition and data messages (little-endian) and frames them as a FIT file."""

    def __init__(self):
        self._body = bytearray()
        self._defs: dict[int, _Definition] = {}

    def define(self, local: int, global_num: int, fields: list[tuple], dev_fields: list[tuple] = ()) -> None:
        """fields: (field number, base type[, size for strings/arrays]); dev_fields: (field number,
        base type, developer data index[, size for strings]).  Redefining a local type replaces it (as the protocol allows)."""
        if not 0 <= local <= 15:
            raise FitError(f"local message type {local} out of 0..15")
        norm = []
        for f in fields:
            num, base = f[0], f[1]
            size = f[2] if len(f) > 2 else struct.calcsize("<" + base[1])
            norm.append((num, base, size))
        dnorm = [(f[0], f[1], f[3] if len(f) > 3 else struct.calcsize("<" + f[1][1]), f[2]) for f in dev_fields]
        header = 0x40 | (0x20 if dnorm else 0) | local
        out = bytearray(struct.pack("<BBBHB", header, 0, 0, global_num, len(norm)))  # reserved, little-endian
        for num, base, size in norm:
            out += struct.pack("<BBB", num, size, base[0])
        if dnorm:
            out.append(len(dnorm))
            for num, _base, size, index in dnorm:
                out += struct.pack("<BBB", num, size, index)
        self._body += out
        self._defs[local] = _Definition(global_num, norm, dnorm)

    def write(self, local: int, values: list, dev_values: list = ()) -> None:
        """A data message: one value per defined field, None for invalid (not known)."""
        d = self._defs.get(local)
        if d is None:
            raise FitError(f"local message type {local} used before its definition")
        if len(values) != len(d.fields) or len(dev_values) != len(d.dev_fields):
            raise FitError(f"message {d.global_num}: {len(values)}+{len(dev_values)} values for {len(d.fields)}+{len(d.dev_fields)} fields")
        out = bytearray([local])
        for (num, base, size), v in zip(d.fields, values):
            out += _encode(base, size, v)
        for (num, base, size, _index), v in zip(d.dev_fields, dev_values):
            out += _encode(base, size, v)
        self._body += out

    def finish(self) -> bytes:
        head = struct.pack("<BBHI4s", 14, PROTOCOL_VERSION, PROFILE_VERSION, len(self._body), b".FIT")
        head += struct.pack("<H", crc16(head))
        data = head + bytes(self._body)
        return data + struct.pack("<H", crc16(data))


def _encode(base: tuple, size: int, v) -> bytes:
    code, fmt, invalid = base
    if fmt == "s":
        raw = ("" if v is None else str(v)).encode("utf-8")[: size - 1]
        return raw + b"\x00" * (size - len(raw))
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        if invalid is None:
            return b"\xff" * size
        return struct.pack("<" + fmt, invalid)
    if fmt == "f":
        return struct.pack("<f", float(v))
    if isinstance(v, (bytes, bytearray)):
        if len(v) != size:
            raise FitError(f"{len(v)} bytes for a field of {size}")
        return bytes(v)
    iv = int(round(v))
    lo, hi = _range(fmt)
    if not lo <= iv <= hi or iv == invalid:
        return struct.pack("<" + fmt, invalid)  # out of range: not known, rather than a wrong value
    return struct.pack("<" + fmt, iv)


def _range(fmt: str) -> tuple[int, int]:
    bits = struct.calcsize(fmt) * 8
    if fmt.islower():
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


# ----------------------------------------------------------------------------------------------
# StrideCue's activity file

# Developer fields: (number, name, base type, units, native message).  Numbers are never reused:
# platforms that learnt a field keep reading it.
DEV_FIELDS = (
    (0, "knee_wobble", FLOAT32, "deg", MESG_RECORD),
    (1, "landing_load", FLOAT32, "g", MESG_RECORD),
    (2, "loading_rate", FLOAT32, "g/s", MESG_RECORD),
    (3, "knee_wobble_median", FLOAT32, "deg", MESG_SESSION),
    (4, "knee_wobble_p90", FLOAT32, "deg", MESG_SESSION),
    (5, "landing_load_median", FLOAT32, "g", MESG_SESSION),
    (6, "wobble_cues", UINT16, "cues", MESG_SESSION),
    (7, "knee_wobble_left", FLOAT32, "deg", MESG_RECORD),
    (8, "knee_wobble_right", FLOAT32, "deg", MESG_RECORD),
    (9, "landing_load_left", FLOAT32, "g", MESG_RECORD),
    (10, "landing_load_right", FLOAT32, "g", MESG_RECORD),
    (11, "thigh_wobble", FLOAT32, "deg", MESG_RECORD),
    (12, "knee_wobble_median_left", FLOAT32, "deg", MESG_SESSION),
    (13, "knee_wobble_median_right", FLOAT32, "deg", MESG_SESSION),
    (14, "landing_load_median_left", FLOAT32, "g", MESG_SESSION),
    (15, "landing_load_median_right", FLOAT32, "g", MESG_SESSION),
    (16, "thigh_wobble_median", FLOAT32, "deg", MESG_SESSION),
    (17, "knee_excursion_median", FLOAT32, "deg", MESG_SESSION),
    (18, "cue", STRING, "", MESG_EVENT),
    (19, "cue_kind", STRING, "", MESG_EVENT),
)
CUE_WORDS_SIZE, CUE_KIND_SIZE = 48, 16
EVENT_CAD_LOW_ALERT, EVENT_USER_MARKER, EVENT_TYPE_MARKER = 18, 32, 3


def _dev(native: int) -> list[tuple]:
    """The developer fields of one native message, as FitWriter.define takes them."""
    out = []
    for num, name, base, _units, mesg in DEV_FIELDS:
        if mesg == native:
            out.append((num, base, 0, CUE_WORDS_SIZE if name == "cue" else CUE_KIND_SIZE) if base is STRING else (num, base, 0))
    return out


def activity_file(start: dt.datetime, strides: list[Stride], summary: dict, *, cues: list[dict] = (),
                  duration_s: float | None = None, serial: int = 1, version: int = 100) -> bytes:
    """A FIT activity of a run: start (aware datetime of sample time 0, where the session starts),
    its strides, summary dict, cue events (each an event marker), the run's recorded duration.

    With a thigh and a shin sensor on one leg each step is counted once (the shin's strides); the
    thigh's wobble is a field of its own."""
    every = sorted((s for s in strides if s.kind == "run"), key=lambda s: s.ic_t)
    run = counted_strides(every)
    if not run:
        raise FitError("the run has no running strides to export")
    repeated = repeated_segments((s.leg, s.mount) for s in every)
    thigh = [s for s in every if (s.leg, s.mount) in repeated]
    t0 = fit_time(start)
    last_t = max(s.to_t or s.ic_t for s in run)
    elapsed = float(math.ceil(max(duration_s or 0.0, last_t)))
    end = t0 + int(elapsed)
    w = FitWriter()
    _header(w, t0, serial, version)
    w.define(3, MESG_EVENT, [(253, UINT32), (0, ENUM), (1, ENUM), (4, UINT8)])
    w.write(3, [t0, 0, 0, 0])  # timer start: the run's start, not its first stride
    _records_and_cues(w, t0, run, thigh, [c for c in cues if 0.0 <= float(c["t"]) <= elapsed])
    w.write(3, [end, 0, 4, 0])  # timer stop_all
    _lap_session(w, t0, end, elapsed, run, summary)
    offset = int(start.utcoffset().total_seconds()) if start.utcoffset() else 0
    w.define(7, MESG_ACTIVITY, [(253, UINT32), (0, UINT32), (1, UINT16), (2, ENUM), (3, ENUM), (4, ENUM), (5, UINT32)])
    w.write(7, [end, elapsed * 1000, 1, 0, 26, 1, end + offset])
    return w.finish()


def _header(w: FitWriter, t0: int, serial: int, version: int) -> None:
    """file_id, developer_data_id and a field_description per developer field."""
    w.define(0, MESG_FILE_ID, [(0, ENUM), (1, UINT16), (2, UINT16), (3, UINT32Z), (4, UINT32), (8, STRING, 16)])
    w.write(0, [4, 255, 1, serial, t0, "StrideCue"])  # activity file, development manufacturer
    w.define(1, MESG_DEVELOPER_DATA_ID, [(0, BYTE, 16), (1, BYTE, 16), (2, UINT16), (3, UINT8), (4, UINT32)])
    w.write(1, [DEVELOPER_ID, APPLICATION_ID, 255, 0, version])
    w.define(2, MESG_FIELD_DESCRIPTION, [(0, UINT8), (1, UINT8), (2, UINT8), (3, STRING, 32), (8, STRING, 8), (14, UINT16)])
    for num, name, base, units, native in DEV_FIELDS:
        w.write(2, [0, num, base[0], name, units, native])


def _cadence_parts(spm: float | None) -> tuple[int | None, int | None]:
    """(cadence, fractional_cadence raw) in FIT's running convention (strides per minute, the
    fraction in 1/128): rounded once, so 82.999 is 83 + 0, never 82 + 128/128."""
    if spm is None:
        return None, None
    steps = round(spm / 2.0 * 128.0)
    return steps // 128, steps % 128


def _records_and_cues(w: FitWriter, t0: int, run: list[Stride], thigh: list[Stride], cues: list[dict]) -> None:
    """A record per second with strides and an event marker per cue, in time order."""
    w.define(4, MESG_RECORD, [(253, UINT32), (4, UINT8), (53, UINT8), (41, UINT16), (84, UINT16)], _dev(MESG_RECORD))
    w.define(8, MESG_EVENT, [(253, UINT32), (0, ENUM), (1, ENUM), (3, UINT32), (4, UINT8)], _dev(MESG_EVENT))
    thigh_by_second = dict(_per_second(thigh))
    items = [(second, 0, group) for second, group in _per_second(run)] + [(float(c["t"]), 1, c) for c in cues]
    for when, is_cue, item in sorted(items, key=lambda x: (x[0], x[1])):
        if is_cue:
            event = EVENT_CAD_LOW_ALERT if item.get("cue") == "cadence" else EVENT_USER_MARKER
            w.write(8, [t0 + int(when), event, EVENT_TYPE_MARKER, None, 0], [item.get("words") or "", item.get("cue") or ""])
            continue
        group = item
        whole, frac = _cadence_parts(_mean([s.cadence_spm for s in group]))
        # FIT has no way to mark a figure approximate: the accelerometer-only contact time (toe-off
        # 80-100 ms late) is left out rather than given as a measured stance time
        stance = _mean([s.contact_time_s for s in group if not s.accel_only])
        legs = {leg: [s for s in group if s.leg == leg] for leg in ("left", "right")}
        balance = _stance_balance(legs)
        w.write(4, [t0 + when, whole, frac, None if stance is None else stance * 1000.0 * 10.0, balance],
                [_max([s.wobble_deg for s in group]), _max([s.pta_axial_g for s in group]),
                 _max([s.loading_rate_gps for s in group]),
                 *(_max([s.wobble_deg for s in legs[leg]]) for leg in ("left", "right")),
                 *(_max([s.pta_axial_g for s in legs[leg]]) for leg in ("left", "right")),
                 _max([s.wobble_deg for s in thigh_by_second.get(when, [])])])


def _stance_balance(legs: dict[str, list[Stride]]) -> float | None:
    """FIT stance_time_balance (scale 100): the left leg's share of the two legs' contact time, %."""
    left = _mean([s.contact_time_s for s in legs["left"] if not s.accel_only])
    right = _mean([s.contact_time_s for s in legs["right"] if not s.accel_only])
    if left is None or right is None or left + right <= 0:
        return None
    return 100.0 * left / (left + right) * 100.0


def _lap_session(w: FitWriter, t0: int, end: int, elapsed: float, run: list[Stride], summary: dict) -> None:
    cycles = max(sum(1 for s in run if s.leg == leg) for leg in {s.leg for s in run})
    whole, frac = _cadence_parts(summary.get("cadence_spm"))
    legs = {leg: [s for s in run if s.leg == leg] for leg in ("left", "right")}
    balance = _stance_balance(legs)
    w.define(5, MESG_LAP, [(253, UINT32), (254, UINT16), (0, ENUM), (1, ENUM), (2, UINT32), (7, UINT32), (8, UINT32),
                           (10, UINT32), (17, UINT8), (80, UINT8), (119, UINT16), (24, ENUM), (25, ENUM)])
    w.write(5, [end, 0, 9, 1, t0, elapsed * 1000, elapsed * 1000, cycles, whole, frac, balance, 7, 1])  # lap stop, session end, running
    w.define(6, MESG_SESSION, [(253, UINT32), (254, UINT16), (0, ENUM), (1, ENUM), (2, UINT32), (5, ENUM), (6, ENUM),
                               (7, UINT32), (8, UINT32), (10, UINT32), (18, UINT8), (92, UINT8), (133, UINT16),
                               (25, UINT16), (26, UINT16), (28, ENUM)], _dev(MESG_SESSION))
    wob, load = summary.get("wobble_deg", {}), summary.get("landing_load_g", {})
    w.write(6, [end, 0, 8, 1, t0, 1, 0, elapsed * 1000, elapsed * 1000, cycles, whole, frac, balance, 0, 1, 0],
            [wob.get("median"), wob.get("p90"), load.get("median"), (summary.get("cues") or {}).get("count"),
             *(_median([s.wobble_deg for s in legs[leg]]) for leg in ("left", "right")),
             *(_median([s.pta_axial_g for s in legs[leg]]) for leg in ("left", "right")),
             (summary.get("thigh") or {}).get("wobble_median_deg"), (summary.get("knee") or {}).get("excursion_median_deg")])


def _per_second(run: list[Stride]):
    groups: dict[int, list] = {}
    for s in run:
        groups.setdefault(int(math.floor(s.ic_t)), []).append(s)
    return sorted(groups.items())


def _finite(values) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def _mean(values) -> float | None:
    v = _finite(values)
    return sum(v) / len(v) if v else None


def _median(values) -> float | None:
    v = sorted(_finite(values))
    if not v:
        return None
    mid = len(v) // 2
    return v[mid] if len(v) % 2 else 0.5 * (v[mid - 1] + v[mid])


def _max(values) -> float | None:
    v = _finite(values)
    return max(v) if v else None
