"""The run file's bytes: file header, chunk framing, the samples and missing payloads.

docs/run-file.md is the byte-by-byte specification; keep the two in step.  This module knows
the layout, how to check it (CRCs, a torn tail) and RunFileError, and opens no file: runfile.py
writes (RunWriter) and reads (RunReader) run files with it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import struct
import zlib
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from stridecue.errors import UserError
from stridecue.link.samples import SampleBlock

FORMAT_VERSION = 1
MAGIC = b"SCRUN\r\n\x1a"  # 8 bytes; the CR LF and ^Z catch text-mode mangling, as PNG's do
SUFFIX = ".scrun"

# File header: magic, format version, flags, CRC-32 of the 12 bytes before it.
FILE_HEADER = struct.Struct("<8sHHI")
FILE_HEADER_SIZE = FILE_HEADER.size  # 16

# Chunk header: type, sensor slot, flags, payload length, CRC-32 of the 8 bytes before it.
# Then the payload, then the CRC-32 of the payload.
CHUNK_HEADER = struct.Struct("<BBHII")
CHUNK_HEADER_SIZE = CHUNK_HEADER.size  # 12
CHUNK_CRC_SIZE = 4
CHUNK_OVERHEAD = CHUNK_HEADER_SIZE + CHUNK_CRC_SIZE
MAX_CHUNK_PAYLOAD = 1 << 30

CHUNK_META = 0x01  # JSON: the run metadata; always the first chunk
CHUNK_SAMPLES = 0x02  # binary: one block of samples of one sensor
CHUNK_EVENT = 0x03  # JSON: one event (cue, reconnect, status, ...)
CHUNK_MISSING = 0x04  # binary: a range of sample indices that will never arrive
CHUNK_META_UPDATE = 0x05  # JSON: later metadata, merged over the first (appended, never rewritten)
CHUNK_END = 0x06  # JSON: the closing chunk of a clean stop: end time, totals, summary
CHUNK_NAMES = {
    CHUNK_META: "metadata",
    CHUNK_SAMPLES: "samples",
    CHUNK_EVENT: "event",
    CHUNK_MISSING: "missing",
    CHUNK_META_UPDATE: "metadata update",
    CHUNK_END: "end",
}
SLOT_RUN = 0xFF  # the chunk belongs to the run, not to one sensor

# Samples payload header.
SAMPLES_HEADER = struct.Struct("<qIIdIBBH")
SAMPLES_HEADER_SIZE = SAMPLES_HEADER.size  # 32
SAMPLES_CONTIGUOUS = 0x0001  # indices are first, first+1, ... (no index array stored)

MISSING_RANGE = struct.Struct("<qq")  # first index, count

_I2 = np.dtype("<i2")
_I8 = np.dtype("<i8")


class RunFileError(UserError):
    """A run file that cannot be written or read; str() is one line naming the file and the problem."""

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{Path(path).name}: {problem}")


def crc32(data) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


def _json_default(obj: Any):
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (dt.datetime, dt.date)):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def to_json(obj: Any) -> bytes:
    return json.dumps(obj, default=_json_default, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sensor_slot(sensor: Any) -> int:
    if sensor is None:
        return SLOT_RUN
    sensor = int(sensor)
    if not 0 <= sensor < SLOT_RUN:
        raise ValueError(f"sensor slot {sensor} out of range 0..{SLOT_RUN - 1}")
    return sensor


def encode_chunk(kind: int, slot: int, payload: bytes, flags: int = 0) -> bytes:
    if len(payload) > MAX_CHUNK_PAYLOAD:
        raise ValueError(f"chunk payload of {len(payload)} bytes is too large")
    head = struct.pack("<BBHI", kind, slot, flags, len(payload))
    return b"".join((head, struct.pack("<I", crc32(head)), payload, struct.pack("<I", crc32(payload))))


def encode_file_header() -> bytes:
    head = struct.pack("<8sHH", MAGIC, FORMAT_VERSION, 0)
    return head + struct.pack("<I", crc32(head))


def encode_samples(block: SampleBlock) -> bytes:
    index = np.asarray(block.index, dtype=np.int64).reshape(-1)
    n = len(index)
    raw = np.asarray(block.raw)
    if raw.shape != (n, 6):
        raise ValueError(f"raw samples have shape {raw.shape}, expected ({n}, 6)")
    if raw.dtype != np.int16:
        raise ValueError(f"raw samples are {raw.dtype}, expected int16 (the sensor's counts)")
    qi = np.asarray(block.quat_index, dtype=np.int64).reshape(-1)
    m = len(qi)
    qr = np.asarray(block.quat_raw)
    if qr.shape != (m, 4) or qr.dtype != np.int16:
        raise ValueError(f"quaternions have shape {qr.shape} {qr.dtype}, expected ({m}, 4) int16")
    first = int(index[0]) if n else 0
    contiguous = n == 0 or (int(index[-1]) - first == n - 1 and (n < 2 or bool(np.all(np.diff(index) == 1))))
    flags = SAMPLES_CONTIGUOUS if contiguous else 0
    parts = [
        SAMPLES_HEADER.pack(first, n, m, float(block.rate), int(block.stream_id), int(block.accel_g), int(block.gyro_code), flags)
    ]
    if not contiguous:
        parts.append(index.astype(_I8, copy=False).tobytes())
    parts.append(raw.astype(_I2, copy=False).tobytes())
    parts.append(qi.astype(_I8, copy=False).tobytes())
    parts.append(qr.astype(_I2, copy=False).tobytes())
    return b"".join(parts)


def decode_samples(buf, start: int, length: int, slot: int) -> SampleBlock:
    """Decode a samples payload at buf[start:start+length]; raises ValueError when inconsistent."""
    if length < SAMPLES_HEADER_SIZE:
        raise ValueError("samples chunk too short")
    first, n, m, rate, stream_id, accel_g, gyro_code, flags = SAMPLES_HEADER.unpack_from(buf, start)
    contiguous = flags & SAMPLES_CONTIGUOUS
    expected = SAMPLES_HEADER_SIZE + (0 if contiguous else 8 * n) + 12 * n + 8 * m + 8 * m
    if expected != length:
        raise ValueError(f"samples chunk of {length} bytes does not hold {n} samples and {m} quaternions")
    pos = start + SAMPLES_HEADER_SIZE
    if contiguous:
        index = np.arange(first, first + n, dtype=np.int64)
    else:
        index = np.frombuffer(buf, _I8, n, pos)
        pos += 8 * n
    raw = np.frombuffer(buf, _I2, 6 * n, pos).reshape(n, 6)
    pos += 12 * n
    qi = np.frombuffer(buf, _I8, m, pos)
    pos += 8 * m
    qr = np.frombuffer(buf, _I2, 4 * m, pos).reshape(m, 4)
    return SampleBlock(index=index, raw=raw, rate=rate, accel_g=accel_g, gyro_code=gyro_code, quat_index=qi, quat_raw=qr,
                       stream_id=stream_id, sensor=slot)


def decode_missing(buf, start: int, length: int) -> tuple[int, int]:
    """(first index, count) of a missing payload at buf[start:start+length]; ValueError when malformed."""
    if length != MISSING_RANGE.size:
        raise ValueError(f"{length} bytes, expected {MISSING_RANGE.size}")
    return MISSING_RANGE.unpack_from(buf, start)


def encode_end(totals: dict, summary: dict | None, error: str | None) -> bytes:
    """The closing chunk's payload: end time (now, UTC), totals, summary[, error].  A summary that is
    not JSON-able is left out and the reason kept as "summary_error": it must not lose the run."""
    end = {"end_time": dt.datetime.now(dt.timezone.utc).isoformat(), "totals": totals, "summary": summary}
    if error is not None:
        end["error"] = error
    try:
        return to_json(end)
    except (TypeError, ValueError) as e:
        end["summary"] = None
        end["summary_error"] = f"summary not recorded: {e}"
        return to_json(end)


def read_run_bytes(path: Path) -> bytearray:
    """The whole file, read-only; RunFileError (naming path) when it cannot be read."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            buf = bytearray(size)
            got = f.readinto(buf)
            if got != size:
                del buf[got:]
        return buf
    except FileNotFoundError:
        raise RunFileError(path, "no such run file") from None
    except IsADirectoryError:
        raise RunFileError(path, "is a directory, not a run file") from None
    except OSError as e:
        raise RunFileError(path, f"cannot read: {e.strerror or e}") from None


# ----------------------------------------------------------------------------------------------
# Framing: the file header and the chunks after it


def check_file_header(buf, path: str | os.PathLike) -> int:
    """The format version of a run file's bytes; RunFileError (naming path) for a truncated,
    foreign, corrupt or newer header."""
    size = len(buf)
    if size < FILE_HEADER_SIZE:
        if size and MAGIC.startswith(bytes(buf[: len(MAGIC)])):
            raise RunFileError(path, f"truncated header ({size} of {FILE_HEADER_SIZE} bytes)")
        if size == 0:
            raise RunFileError(path, "empty file, not a StrideCue run file")
        raise RunFileError(path, "not a StrideCue run file (bad magic)")
    magic, version, _flags, crc = FILE_HEADER.unpack_from(buf, 0)
    if magic != MAGIC:
        raise RunFileError(path, "not a StrideCue run file (bad magic)")
    if crc32(memoryview(buf)[:12]) != crc:
        raise RunFileError(path, "corrupt file header (bad CRC)")
    if version > FORMAT_VERSION:
        raise RunFileError(path, f"run file format version {version} is newer than this StrideCue reads ({FORMAT_VERSION}); update StrideCue")
    if version < 1:
        raise RunFileError(path, f"unknown run file format version {version}")
    return version


# A chunk header of a known type with no flags set: where a reader looks for the next chunk after
# damage.  Zero-width (a lookahead), so overlapping candidates are all tried.
_CHUNK_START = re.compile(rb"(?=[\x01-\x06][\x00-\xff]\x00\x00)", re.DOTALL)  # kinds CHUNK_META..CHUNK_END


class ChunkWalk:
    """The chunks after the file header, in file order: iterating yields (pos, kind, slot, start,
    length) for each chunk whose two CRCs hold (its payload is buf[start:start+length]).

    A corrupt chunk with more data after it is skipped: the walk resynchronises on the next
    chunk whose two CRCs hold and records the unreadable bytes in between in `damaged` as
    (first byte, next good byte).  A torn last chunk, zeros a crash left at the end (some
    filesystems do), or damage with no good chunk after it ends the walk: those bytes are
    counted in truncated_bytes.
    """

    def __init__(self, buf, path: str | os.PathLike):
        self.buf = buf
        self.path = path
        self.truncated_bytes = 0
        self.damaged: list[tuple[int, int]] = []

    def __iter__(self) -> Iterator[tuple[int, int, int, int, int]]:
        size = len(self.buf)
        pos = FILE_HEADER_SIZE
        while pos < size:
            chunk = self._chunk_at(pos)
            if chunk is None:
                good = self._next_chunk(pos + 1)
                if good is None:  # nothing readable after it: a torn or damaged tail
                    self.truncated_bytes = size - pos
                    return
                self.damaged.append((pos, good))
                pos = good
                continue
            kind, slot, start, length = chunk
            yield pos, kind, slot, start, length
            pos = start + length + CHUNK_CRC_SIZE

    def _chunk_at(self, pos: int) -> tuple[int, int, int, int] | None:
        """(kind, slot, payload start, payload length) of the chunk at pos when both CRCs hold."""
        buf = self.buf
        if len(buf) - pos < CHUNK_OVERHEAD:
            return None
        kind, slot, _flags, length, hcrc = CHUNK_HEADER.unpack_from(buf, pos)
        view = memoryview(buf)
        if crc32(view[pos : pos + 8]) != hcrc:
            return None
        start = pos + CHUNK_HEADER_SIZE
        end = start + length
        if end + CHUNK_CRC_SIZE > len(buf):
            return None
        (pcrc,) = struct.unpack_from("<I", buf, end)
        if crc32(view[start:end]) != pcrc:
            return None
        return kind, slot, start, length

    def _next_chunk(self, pos: int) -> int | None:
        """Where the next intact chunk starts at or after pos, or None."""
        for match in _CHUNK_START.finditer(self.buf, pos):
            if self._chunk_at(match.start()) is not None:
                return match.start()
        return None
