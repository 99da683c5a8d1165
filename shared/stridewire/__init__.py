# StrideCue wire protocol, version 2 (version 1 had no authentication and no status parts).
#
# This one file runs unchanged on the sensor (MicroPython) and on the host (CPython).
# docs/protocol.md is the byte-by-byte specification; keep the two in step.
#
# Every message is little-endian and ends in a CRC-32 (IEEE 802.3, as binascii.crc32)
# of all the bytes before it.  Byte 0 is the message type, byte 1 the protocol version.
#
# Hot-path rule: the firmware packs data packets into preallocated buffers with
# struct.pack_into; nothing here that the firmware calls per sample allocates.

import struct
import sys
from binascii import crc32

# The firmware's modules and the board stand-ins import const from here, so this CPython fallback
# is written once; MicroPython folds `const(...)` by name, wherever the name came from.
try:
    from micropython import const
except ImportError:  # CPython

    def const(value):
        return value


PROTOCOL_VERSION = const(2)

# Message types (byte 0)
TYPE_DATA = const(0x01)
TYPE_STATUS = const(0x02)
TYPE_CONTROL = const(0x03)
TYPE_REPLY = const(0x04)
TYPE_STATUS_PART = const(0x05)  # a status notification cut into parts that fit MTU 23
TYPE_DATA_DELTA = const(0x06)  # a data packet in the delta encoding (only after SET_ENCODING asked for it)

# GATT UUIDs of the StrideCue service
SERVICE_UUID = "5c1d0001-7c3e-4a8b-9d2f-1b6a5e0c0a01"
DATA_UUID = "5c1d0002-7c3e-4a8b-9d2f-1b6a5e0c0a01"  # notify: data packets
CONTROL_UUID = "5c1d0003-7c3e-4a8b-9d2f-1b6a5e0c0a01"  # write: control messages
STATUS_UUID = "5c1d0004-7c3e-4a8b-9d2f-1b6a5e0c0a01"  # read + notify: status and replies

# Data packet layout
_DATA_HEADER = "<BBHIIHBBBBB"
DATA_HEADER_SIZE = const(19)
SAMPLE_SIZE = const(12)  # ax ay az gx gy gz, int16 each
QUAT_SIZE = const(8)  # qw qx qy qz, int16 Q14 each
CRC_SIZE = const(4)
QUAT_ONE = const(16384)  # Q14: 1.0
ATT_OVERHEAD = const(3)  # a notification carries MTU - 3 bytes
MAX_SAMPLES_PER_PACKET = const(255)

# Data packet flags (byte 18)
FLAG_RESENT = const(0x01)  # a copy sent again at the host's request
FLAG_CLIPPED = const(0x02)  # a sample in this batch is at the accelerometer's full scale
FLAG_LOW_BATTERY = const(0x04)
FLAG_FINAL = const(0x08)  # last packet before the stream stopped

# Control opcodes (host -> sensor)
OP_START = const(1)
OP_STOP = const(2)
OP_SET_RATE = const(3)
OP_SET_RANGES = const(4)
OP_CALIBRATE = const(5)
OP_IDENTIFY = const(6)
OP_SET_NAME = const(7)
OP_SET_MOUNT = const(8)
OP_RESEND = const(9)
OP_GET_STATUS = const(10)
OP_AUTH_BEGIN = const(11)  # key id -> reply detail: a fresh 32-bit nonce
OP_AUTH_PROVE = const(12)  # the 16-byte tag (auth_tag) for that nonce
OP_SET_ENCODING = const(13)  # data packets of this connection: ENCODING_FULL or ENCODING_DELTA

# Opcode -> struct format of its arguments (SET_NAME is length-prefixed text, handled apart)
_CONTROL_ARGS = {
    OP_START: "",
    OP_STOP: "",
    OP_SET_RATE: "H",  # output data rate, Hz
    OP_SET_RANGES: "BB",  # accel full scale g, gyro full scale / 125 dps
    OP_CALIBRATE: "H",  # stand-still duration, ms
    OP_IDENTIFY: "B",  # seconds of blink and beep
    OP_SET_NAME: None,
    OP_SET_MOUNT: "BB",  # segment, side
    OP_RESEND: "IH",  # first sample index, sample count
    OP_GET_STATUS: "",
    OP_AUTH_BEGIN: "I",  # key id of the secret the host holds
    OP_AUTH_PROVE: "16s",  # auth_tag(secret, nonce, key id)
    OP_SET_ENCODING: "B",  # ENCODING_ code
}
OPCODE_NAMES = {
    OP_START: "start",
    OP_STOP: "stop",
    OP_SET_RATE: "set_rate",
    OP_SET_RANGES: "set_ranges",
    OP_CALIBRATE: "calibrate",
    OP_IDENTIFY: "identify",
    OP_SET_NAME: "set_name",
    OP_SET_MOUNT: "set_mount",
    OP_RESEND: "resend",
    OP_GET_STATUS: "get_status",
    OP_AUTH_BEGIN: "auth_begin",
    OP_AUTH_PROVE: "auth_prove",
    OP_SET_ENCODING: "set_encoding",
}
# Opcodes that change the device: only an authenticated host on a bonded link may send them.
CHANGING_OPCODES = (OP_STOP, OP_SET_RATE, OP_SET_RANGES, OP_CALIBRATE, OP_SET_NAME, OP_SET_MOUNT)
# Opcodes obeyed before the host has authenticated; every other one answers ERR_NOT_AUTHENTICATED.
PUBLIC_OPCODES = (OP_AUTH_BEGIN, OP_AUTH_PROVE, OP_GET_STATUS)
MAX_NAME_BYTES = const(20)

# Result and error codes (replies, status, ProtocolError.code)
OK = const(0)
ERR_BAD_LENGTH = const(1)
ERR_BAD_CRC = const(2)
ERR_BAD_VERSION = const(3)
ERR_BAD_TYPE = const(4)
ERR_UNKNOWN_OPCODE = const(5)
ERR_BAD_ARGUMENT = const(6)
ERR_NOT_BONDED = const(7)
ERR_RANGE_GONE = const(8)
ERR_BUSY = const(9)
ERR_IMU_FAULT = const(10)
ERR_LOW_BATTERY = const(11)
ERR_MTU_TOO_SMALL = const(12)
ERR_NOT_AUTHENTICATED = const(13)  # the host has not proved the device secret on this connection
ERR_AUTH_FAILED = const(14)  # a wrong tag, or AUTH_PROVE without a fresh AUTH_BEGIN
ERR_UNKNOWN_KEY = const(15)  # AUTH_BEGIN with a key id the sensor does not hold (or it holds none)
ERR_AUTH_LOCKED = const(16)  # too many failed proofs: refused for a while (detail: seconds left)
ERROR_NAMES = {
    OK: "ok",
    ERR_BAD_LENGTH: "bad length",
    ERR_BAD_CRC: "bad CRC",
    ERR_BAD_VERSION: "unknown protocol version",
    ERR_BAD_TYPE: "wrong message type",
    ERR_UNKNOWN_OPCODE: "unknown opcode",
    ERR_BAD_ARGUMENT: "bad argument",
    ERR_NOT_BONDED: "host not bonded",
    ERR_RANGE_GONE: "samples no longer buffered",
    ERR_BUSY: "busy",
    ERR_IMU_FAULT: "IMU fault",
    ERR_LOW_BATTERY: "battery low",
    ERR_MTU_TOO_SMALL: "MTU too small",
    ERR_NOT_AUTHENTICATED: "host not authenticated",
    ERR_AUTH_FAILED: "authentication failed",
    ERR_UNKNOWN_KEY: "unknown key",
    ERR_AUTH_LOCKED: "authentication locked after failed attempts",
}

# Mount codes (SET_MOUNT, status byte 16)
SEGMENT_UNKNOWN = const(0)
SEGMENT_SHIN = const(1)
SEGMENT_THIGH = const(2)
SIDE_UNKNOWN = const(0)
SIDE_LEFT = const(1)
SIDE_RIGHT = const(2)

# IMU models (status byte 7)
IMU_UNKNOWN = const(0)
IMU_LSM6DSO32 = const(1)
IMU_LSM6DSOX = const(2)
IMU_MPU6886 = const(3)
IMU_NAMES = {IMU_UNKNOWN: "unknown", IMU_LSM6DSO32: "LSM6DSO32", IMU_LSM6DSOX: "LSM6DSOX", IMU_MPU6886: "MPU6886"}

ACCEL_RANGES_G = (2, 4, 8, 16, 32)
GYRO_RANGE_CODES = (1, 2, 4, 8, 16)  # x 125 dps: 125 ... 2000 dps

# Status state flags (status byte 15)
STATE_STREAMING = const(0x01)
STATE_CALIBRATING = const(0x02)
STATE_LOW_BATTERY = const(0x04)
STATE_BONDED = const(0x08)
STATE_IDENTIFYING = const(0x10)
STATE_BATTERY_STOP = const(0x20)  # stopped in order because the battery ran down
STATE_IMU_FAULT = const(0x40)
STATE_AUTH_REQUIRED = const(0x80)  # the public status: authenticate to read the rest (every other field is 0)

_STATUS = "<BBHBBBBBBHHBBBBIIIIIHH"
STATUS_SIZE = const(46)
_REPLY = "<BBBBBI"
REPLY_SIZE = const(13)
CONTROL_HEADER_SIZE = const(4)


class ProtocolError(ValueError):
    """A message that cannot be accepted; .code is one of the ERR_ codes, str() the reason."""

    def __init__(self, code, reason):
        super().__init__(reason)
        self.code = code
        self.reason = reason


def data_packet_size(n, qdiv):
    """Bytes of a data packet with n samples and a quaternion every qdiv samples."""
    return DATA_HEADER_SIZE + n * SAMPLE_SIZE + (n // qdiv) * QUAT_SIZE + CRC_SIZE


def samples_per_packet(mtu, qdiv):
    """Largest sample count (a multiple of qdiv) whose packet fits one notification at this MTU.

    Returns 0 when not even one group of qdiv samples fits.
    """
    room = mtu - ATT_OVERHEAD - DATA_HEADER_SIZE - CRC_SIZE
    groups = room // (qdiv * SAMPLE_SIZE + QUAT_SIZE)
    n = groups * qdiv
    cap = (MAX_SAMPLES_PER_PACKET // qdiv) * qdiv
    if n > cap:
        n = cap
    return n if n > 0 else 0


def sample_offset(i):
    """Byte offset of sample i in a data packet."""
    return DATA_HEADER_SIZE + i * SAMPLE_SIZE


def quat_offset(n, j):
    """Byte offset of quaternion j in a data packet of n samples."""
    return DATA_HEADER_SIZE + n * SAMPLE_SIZE + j * QUAT_SIZE


def pack_data_header(buf, stream_id, seq, sample0, rate, accel_g, gyro_code, n, qdiv, flags, kind=TYPE_DATA):
    """Write a data packet's header into buf (no allocation); kind TYPE_DATA_DELTA for the delta encoding."""
    struct.pack_into(
        _DATA_HEADER, buf, 0, kind, PROTOCOL_VERSION, stream_id, seq, sample0, rate, accel_g, gyro_code, n, qdiv, flags
    )


if sys.implementation.name == "micropython":
    # binascii.crc32 returns a 32-bit value, which MicroPython boxes as a heap int whenever it
    # does not fit a small int (3 packets in 4): ~0.9 kB/s of garbage at 416 Hz.  On the board the
    # CRC is computed in two 16-bit halves from preallocated tables and written byte by byte, so
    # sealing a packet allocates nothing.  Same value as binascii.crc32 (tests/shared/test_protocol.py).
    from array import array

    def _crc_tables():
        lo = array("H", bytes(512))
        hi = array("H", bytes(512))
        for i in range(256):
            c = i
            for _ in range(8):
                c = (c >> 1) ^ 0xEDB88320 if c & 1 else c >> 1
            lo[i] = c & 0xFFFF
            hi[i] = c >> 16
        return lo, hi

    _CRC_LO, _CRC_HI = _crc_tables()

    def _crc_into(buf, n):
        """CRC-32 of buf[0:n] written little-endian at buf[n:n+4], without allocating."""
        lo = 0xFFFF
        hi = 0xFFFF
        t_lo = _CRC_LO
        t_hi = _CRC_HI
        i = 0
        while i < n:
            k = (lo ^ buf[i]) & 0xFF
            lo = ((lo >> 8) | ((hi & 0xFF) << 8)) ^ t_lo[k]
            hi = (hi >> 8) ^ t_hi[k]
            i += 1
        lo ^= 0xFFFF
        hi ^= 0xFFFF
        buf[n] = lo & 0xFF
        buf[n + 1] = lo >> 8
        buf[n + 2] = hi & 0xFF
        buf[n + 3] = hi >> 8

else:

    def _crc_into(buf, n):
        """CRC-32 of buf[0:n] written little-endian at buf[n:n+4]."""
        struct.pack_into("<I", buf, n, crc32(memoryview(buf)[:n]))


def seal(buf, body):
    """Append the CRC: body is a memoryview of buf's bytes before the CRC (a prefix of buf),
    preallocated by the caller.  Allocates nothing on the board."""
    _crc_into(buf, len(body))


def _check_frame(buf, expected_type, min_size):
    size = len(buf)
    if size < min_size:
        raise ProtocolError(ERR_BAD_LENGTH, "too short: %d bytes, need at least %d" % (size, min_size))
    if buf[0] != expected_type:
        raise ProtocolError(ERR_BAD_TYPE, "wrong message type 0x%02x, expected 0x%02x" % (buf[0], expected_type))
    if buf[1] != PROTOCOL_VERSION:
        raise ProtocolError(ERR_BAD_VERSION, "unknown protocol version %d (this side speaks %d)" % (buf[1], PROTOCOL_VERSION))
    (stored,) = struct.unpack_from("<I", buf, size - CRC_SIZE)
    if crc32(memoryview(buf)[: size - CRC_SIZE]) != stored:
        raise ProtocolError(ERR_BAD_CRC, "bad CRC")


def _check_batch(buf):
    fields = struct.unpack_from(_DATA_HEADER, buf, 0)
    stream_id, seq, sample0, rate, accel_g, gyro_code, n, qdiv, flags = fields[2:]
    if qdiv == 0 or n == 0 or n % qdiv or sample0 % qdiv:
        raise ProtocolError(ERR_BAD_ARGUMENT, "bad batch: %d samples, quaternion divider %d, first sample %d" % (n, qdiv, sample0))
    if rate == 0:
        raise ProtocolError(ERR_BAD_ARGUMENT, "sample rate 0")
    if accel_g not in ACCEL_RANGES_G or gyro_code not in GYRO_RANGE_CODES:
        raise ProtocolError(ERR_BAD_ARGUMENT, "unknown ranges: accel %d g, gyro code %d" % (accel_g, gyro_code))
    return stream_id, seq, sample0, rate, accel_g, gyro_code, n, qdiv, flags


def parse_data(buf):
    """Validate a data packet; return its header fields.

    (stream_id, seq, sample0, rate, accel_g, gyro_code, n, qdiv, flags)
    Raises ProtocolError with the reason for anything malformed.
    """
    _check_frame(buf, TYPE_DATA, DATA_HEADER_SIZE + CRC_SIZE)
    fields = _check_batch(buf)
    n, qdiv = fields[6], fields[7]
    if len(buf) != data_packet_size(n, qdiv):
        raise ProtocolError(ERR_BAD_LENGTH, "length %d does not match %d samples (expected %d)" % (len(buf), n, data_packet_size(n, qdiv)))
    return fields


# Delta encoding (TYPE_DATA_DELTA, docs/protocol.md "Delta data packet"): the same 19-byte header,
# then DELTA_CHANNELS channels (ax ay az gx gy gz: n values each; qw qx qy qz: n / qdiv values each),
# each as: width w (u8, 1..16), the first value v0 (i16), and when there are two or more values the
# first difference v1 - v0 (u16, mod 2**16), then the residuals r_k = v_k - 2 v_k-1 + v_k-2 of the
# values from k = 2 on (mod 2**16, as w-bit two's complement), bit-packed least significant bit
# first, padded to a byte.  Lossless: d_1 = v1 - v0, d_k = d_k-1 + r_k, v_k = v_k-1 + d_k (all mod
# 2**16, as i16).  Then the CRC.
ENCODING_FULL = const(0)
ENCODING_DELTA = const(1)
ENCODING_NAMES = {ENCODING_FULL: "full", ENCODING_DELTA: "delta"}
DELTA_CHANNELS = const(10)
DELTA_CHANNEL_HEADER = const(3)
DELTA_FIXED_SIZE = const(53)  # DATA_HEADER_SIZE + DELTA_CHANNELS * DELTA_CHANNEL_HEADER + CRC_SIZE


def delta_channel_size(count, width):
    """Bytes of one channel of `count` values whose residuals take `width` bits."""
    if count < 2:
        return DELTA_CHANNEL_HEADER
    return DELTA_CHANNEL_HEADER + 2 + ((count - 2) * width + 7) // 8


def delta_fits(mtu, qdiv):
    """Whether one quaternion group in the worst case (16-bit residuals) fits a notification."""
    return mtu - ATT_OVERHEAD >= DELTA_FIXED_SIZE + 6 * (delta_channel_size(qdiv, 16) - DELTA_CHANNEL_HEADER)


def parse_delta(buf):
    """Validate a delta data packet; return its header fields as parse_data does.  The channels'
    widths and sizes are checked against the packet's length; the values are the decoder's."""
    _check_frame(buf, TYPE_DATA_DELTA, DELTA_FIXED_SIZE)
    fields = _check_batch(buf)
    n, qdiv = fields[6], fields[7]
    o = DATA_HEADER_SIZE
    end = len(buf) - CRC_SIZE
    for c in range(DELTA_CHANNELS):
        if o >= end:
            raise ProtocolError(ERR_BAD_LENGTH, "length %d too short for channel %d" % (len(buf), c))
        width = buf[o]
        if not 1 <= width <= 16:
            raise ProtocolError(ERR_BAD_ARGUMENT, "channel %d: width %d bits (1 to 16)" % (c, width))
        o += delta_channel_size(n if c < 6 else n // qdiv, width)
    if o != end:
        raise ProtocolError(ERR_BAD_LENGTH, "length %d does not match the channels' widths (expected %d)" % (len(buf), o + CRC_SIZE))
    return fields


def unpack_samples(buf, n):
    """Raw samples of a validated data packet: a tuple of 6*n int16 (ax ay az gx gy gz per sample)."""
    return struct.unpack_from("<%dh" % (6 * n), buf, DATA_HEADER_SIZE)


def unpack_quats(buf, n, qdiv):
    """Quaternions of a validated data packet: a tuple of 4*(n//qdiv) int16 in Q14 (w x y z each)."""
    return struct.unpack_from("<%dh" % (4 * (n // qdiv)), buf, quat_offset(n, 0))


def accel_scale(accel_g):
    """g per LSB of a raw accelerometer value at this full scale."""
    return accel_g / 32768.0


def gyro_scale(gyro_code):
    """dps per LSB of a raw gyro value at this full scale code (code x 125 dps)."""
    return gyro_code * 125 / 32768.0


def pack_control(opcode, token, *args):
    """A control message as bytes (host side)."""
    if opcode == OP_SET_NAME:
        name = args[0]
        if isinstance(name, str):
            name = name.encode()
        if not 1 <= len(name) <= MAX_NAME_BYTES:
            raise ProtocolError(ERR_BAD_ARGUMENT, "name must be 1 to %d bytes" % MAX_NAME_BYTES)
        body = struct.pack("<BBBBB", TYPE_CONTROL, PROTOCOL_VERSION, opcode, token, len(name)) + name
    else:
        fmt = _CONTROL_ARGS.get(opcode)
        if fmt is None:
            raise ProtocolError(ERR_UNKNOWN_OPCODE, "unknown opcode %d" % opcode)
        body = struct.pack("<BBBB" + fmt, TYPE_CONTROL, PROTOCOL_VERSION, opcode, token, *args)
    return body + struct.pack("<I", crc32(body))


def parse_control(buf):
    """Validate a control message; return (opcode, token, args).

    args is a tuple of ints, or (name_bytes,) for SET_NAME.  Raises ProtocolError.
    """
    _check_frame(buf, TYPE_CONTROL, CONTROL_HEADER_SIZE + CRC_SIZE)
    opcode = buf[2]
    token = buf[3]
    body_size = len(buf) - CONTROL_HEADER_SIZE - CRC_SIZE
    if opcode not in _CONTROL_ARGS:
        raise ProtocolError(ERR_UNKNOWN_OPCODE, "unknown opcode %d" % opcode)
    if opcode == OP_SET_NAME:
        if body_size < 1 or buf[4] != body_size - 1 or not 1 <= buf[4] <= MAX_NAME_BYTES:
            raise ProtocolError(ERR_BAD_ARGUMENT, "bad name length")
        return opcode, token, (bytes(buf[5 : 5 + buf[4]]),)
    fmt = "<" + _CONTROL_ARGS[opcode]
    if body_size != struct.calcsize(fmt):
        raise ProtocolError(ERR_BAD_LENGTH, "%s takes %d argument bytes, got %d" % (OPCODE_NAMES[opcode], struct.calcsize(fmt), body_size))
    return opcode, token, struct.unpack_from(fmt, buf, CONTROL_HEADER_SIZE)


def pack_reply(buf, opcode, token, result, detail):
    """Write a reply to a control message into buf (REPLY_SIZE bytes) and seal it."""
    struct.pack_into(_REPLY, buf, 0, TYPE_REPLY, PROTOCOL_VERSION, opcode, token, result, detail)
    _crc_into(buf, REPLY_SIZE - CRC_SIZE)


def parse_reply(buf):
    """Validate a reply; return (opcode, token, result, detail)."""
    _check_frame(buf, TYPE_REPLY, REPLY_SIZE)
    if len(buf) != REPLY_SIZE:
        raise ProtocolError(ERR_BAD_LENGTH, "reply must be %d bytes, got %d" % (REPLY_SIZE, len(buf)))
    return struct.unpack_from(_REPLY, buf, 0)[2:]


# Status fields, in order after type and version (see docs/protocol.md).
STATUS_FIELDS = (
    "stream_id",
    "fw_major",
    "fw_minor",
    "fw_patch",
    "imu_model",
    "accel_g",
    "gyro_code",
    "rate",
    "battery_mv",
    "battery_pct",
    "state",
    "mount",
    "last_error",
    "next_sample",
    "oldest_sample",
    "clipped",
    "dropped",
    "uptime_s",
    "error_count",
    "ring_samples",
)


def pack_status(buf, values):
    """Write a status message (STATUS_SIZE bytes) from values, a sequence in STATUS_FIELDS order."""
    struct.pack_into(_STATUS, buf, 0, TYPE_STATUS, PROTOCOL_VERSION, *values)
    _crc_into(buf, STATUS_SIZE - CRC_SIZE)


def parse_status(buf):
    """Validate a status message; return its values as a tuple in STATUS_FIELDS order."""
    _check_frame(buf, TYPE_STATUS, STATUS_SIZE)
    if len(buf) != STATUS_SIZE:
        raise ProtocolError(ERR_BAD_LENGTH, "status must be %d bytes, got %d" % (STATUS_SIZE, len(buf)))
    return struct.unpack_from(_STATUS, buf, 0)[2:]


# Status parts: at the default ATT MTU of 23 a notification carries 20 bytes, so a status
# notification that does not fit (MTU - 3 < STATUS_SIZE) is sent as STATUS_PARTS parts:
#   0 type (TYPE_STATUS_PART), 1 version, 2 serial (one per status notification, mod 256),
#   3 index << 4 | count, 4.. the next STATUS_PART_BYTES bytes of the status message.
# No CRC per part: the reassembled status message carries its own.  A GATT read of the status
# characteristic is never cut (ATT Read Blob), so reads always return the whole message.
STATUS_PART_HEADER = const(4)
STATUS_PART_BYTES = const(16)
STATUS_PARTS = const(3)  # ceil(46 / 16)
STATUS_PART_SIZE = const(20)  # STATUS_PART_HEADER + STATUS_PART_BYTES: fits MTU 23


def status_fits(mtu):
    """Whether one notification at this ATT MTU carries a whole status message."""
    return mtu - ATT_OVERHEAD >= STATUS_SIZE


def pack_status_part(buf, status, serial, index):
    """Write part `index` of the status message `status` into buf; return its length (no allocation)."""
    start = index * STATUS_PART_BYTES
    end = start + STATUS_PART_BYTES
    if end > STATUS_SIZE:
        end = STATUS_SIZE
    buf[0] = TYPE_STATUS_PART
    buf[1] = PROTOCOL_VERSION
    buf[2] = serial & 0xFF
    buf[3] = (index << 4) | STATUS_PARTS
    i = start
    o = STATUS_PART_HEADER
    while i < end:
        buf[o] = status[i]
        i += 1
        o += 1
    return o


def parse_status_part(buf):
    """Validate a status part's header; return (serial, index, count, payload bytes)."""
    size = len(buf)
    if size <= STATUS_PART_HEADER:
        raise ProtocolError(ERR_BAD_LENGTH, "status part too short: %d bytes" % size)
    if buf[0] != TYPE_STATUS_PART:
        raise ProtocolError(ERR_BAD_TYPE, "wrong message type 0x%02x, expected 0x%02x" % (buf[0], TYPE_STATUS_PART))
    if buf[1] != PROTOCOL_VERSION:
        raise ProtocolError(ERR_BAD_VERSION, "unknown protocol version %d (this side speaks %d)" % (buf[1], PROTOCOL_VERSION))
    index = buf[3] >> 4
    count = buf[3] & 0x0F
    want = STATUS_SIZE - index * STATUS_PART_BYTES
    if want > STATUS_PART_BYTES:
        want = STATUS_PART_BYTES
    if count != STATUS_PARTS or index >= count or size - STATUS_PART_HEADER != want:
        raise ProtocolError(ERR_BAD_LENGTH, "bad status part %d of %d (%d bytes)" % (index, count, size))
    return buf[2], index, count, bytes(buf[STATUS_PART_HEADER:])


class StatusAssembler:
    """Host side: feed status parts in arrival order; returns the whole status message (bytes,
    still to be checked with parse_status) when the last part of one serial arrives, else None.
    A part of another serial starts over: parts of two notifications never mix."""

    def __init__(self):
        self.serial = -1
        self.parts = {}

    def feed(self, buf):
        serial, index, count, payload = parse_status_part(buf)
        if serial != self.serial:
            self.serial = serial
            self.parts = {}
        self.parts[index] = payload
        if len(self.parts) < count:
            return None
        whole = b"".join(self.parts[i] for i in range(count))
        self.serial = -1
        self.parts = {}
        return whole


# Authentication (OP_AUTH_BEGIN / OP_AUTH_PROVE).  The board has hashlib.sha256 but no hmac
# module, so HMAC-SHA256 (RFC 2104) is written out here once, for board and host alike.
AUTH_TAG_SIZE = const(16)
AUTH_CONTEXT = b"stridecue-auth"
SECRET_SIZE = const(16)


def hmac_sha256(key, msg):
    """HMAC-SHA256 of msg under key (RFC 2104), 32 bytes."""
    from hashlib import sha256

    if len(key) > 64:
        key = sha256(key).digest()
    key = bytes(key) + bytes(64 - len(key))
    inner = sha256(bytes(b ^ 0x36 for b in key) + bytes(msg)).digest()
    return sha256(bytes(b ^ 0x5C for b in key) + inner).digest()


def auth_tag(secret, nonce, key_id):
    """The proof for a nonce: first 16 bytes of HMAC-SHA256(secret, nonce || key id || context),
    nonce and key id as 32-bit little-endian."""
    return hmac_sha256(secret, struct.pack("<II", nonce, key_id) + AUTH_CONTEXT)[:AUTH_TAG_SIZE]


def same_bytes(a, b):
    """Compare two byte strings in time independent of where they differ."""
    if len(a) != len(b):
        return False
    diff = 0
    for i in range(len(a)):
        diff |= a[i] ^ b[i]
    return diff == 0


def mount_code(segment, side):
    """Status byte 16 from SEGMENT_ and SIDE_ codes."""
    return (segment & 0x03) | ((side & 0x03) << 2)


def message_type(buf):
    """Type byte of a message, or -1 for an empty one."""
    return buf[0] if len(buf) else -1


# Advertisement: service data for SERVICE_UUID, so a scan shows versions and battery
# before connecting.  No CRC: the radio's own CRC covers advertisements.
_ADV = "<BBBBBB"
ADV_SIZE = const(6)


def pack_adv(fw_major, fw_minor, fw_patch, battery_pct, mount):
    """Service data of the advertisement: protocol version, firmware version, battery %, mount code."""
    return struct.pack(_ADV, PROTOCOL_VERSION, fw_major, fw_minor, fw_patch, battery_pct, mount)


def parse_adv(data):
    """(protocol_version, fw_major, fw_minor, fw_patch, battery_pct, mount); any protocol version is returned
    so that a scan can show sensors that speak another version."""
    if len(data) < ADV_SIZE:
        raise ProtocolError(ERR_BAD_LENGTH, "advertisement data too short: %d bytes" % len(data))
    return struct.unpack_from(_ADV, data, 0)
