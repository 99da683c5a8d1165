"""The run file (.scrun): StrideCue's append-only, crash-safe recording of a run.

docs/run-file.md is the byte-by-byte specification; keep the two in step.

    with RunWriter(path, metadata) as w:      # refuses to overwrite
        w.write_samples(block)                # batched into ~1 s chunks
        w.write_event({"kind": "cue", ...})
        w.write_missing(sensor, first, count)
        w.close(summary={...})                # closing chunk; fsync

    r = RunReader(path)                       # or open_run(path)
    r.metadata, r.closed, r.truncated_bytes, r.summary
    r.blocks(sensor=None), r.samples(sensor), r.events(), r.missing()

The writer fsyncs at least every `sync_interval` seconds of its clock (default 0.5 s) and on
close, so a `kill -9` of the host loses at most about the last second and leaves a file that
opens: a reader tolerates a torn last chunk and reports it in `truncated_bytes`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import struct
import time
import unicodedata
import zlib
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from stridecue import __version__
from stridecue.errors import UserError
from stridecue.link.samples import SampleBlock

FORMAT_VERSION = 1
MAGIC = b"SCRUN\r\n\x1a"  # 8 bytes; the CR LF and ^Z catch text-mode mangling, as PNG's do
SUFFIX = ".scrun"

# File header: magic, format version, flags, CRC-32 of the 12 bytes before it.
_FILE_HEADER = struct.Struct("<8sHHI")
FILE_HEADER_SIZE = _FILE_HEADER.size  # 16

# Chunk header: type, sensor slot, flags, payload length, CRC-32 of the 8 bytes before it.
# Then the payload, then the CRC-32 of the payload.
_CHUNK_HEADER = struct.Struct("<BBHII")
CHUNK_HEADER_SIZE = _CHUNK_HEADER.size  # 12
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
_SAMPLES_HEADER = struct.Struct("<qIIdIBBH")
SAMPLES_HEADER_SIZE = _SAMPLES_HEADER.size  # 32
SAMPLES_CONTIGUOUS = 0x0001  # indices are first, first+1, ... (no index array stored)

_MISSING = struct.Struct("<qq")  # first index, count

_I2 = np.dtype("<i2")
_I8 = np.dtype("<i8")


class RunFileError(UserError):
    """A run file that cannot be written or read; str() is one line naming the file and the problem."""

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{Path(path).name}: {problem}")


def _crc(data) -> int:
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


def _to_json(obj: Any) -> bytes:
    return json.dumps(obj, default=_json_default, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat()


def _now_function(clock) -> Callable[[], float]:
    if clock is None:
        return time.monotonic
    if hasattr(clock, "now"):
        return clock.now
    if callable(clock):
        return clock
    raise TypeError("clock must be a callable returning seconds or an object with .now()")


def _slot(sensor: Any) -> int:
    if sensor is None:
        return SLOT_RUN
    sensor = int(sensor)
    if not 0 <= sensor < SLOT_RUN:
        raise ValueError(f"sensor slot {sensor} out of range 0..{SLOT_RUN - 1}")
    return sensor


# ----------------------------------------------------------------------------------------------
# Naming


def _slug(name: str) -> str:
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return text[:40].strip("-") or "run"


def run_file_path(data_dir: str | os.PathLike, start_time: dt.datetime, name: str) -> Path:
    """A new, unused path data_dir/runs/YYYY/YYYY-MM-DDTHHMMSSZ-<slug>.scrun.

    start_time is converted to UTC (a naive datetime is taken as UTC).  When the name is taken
    -2, -3, ... is added before the suffix; an existing file is never returned.  The year
    directory is created.  (The writer still opens exclusively, so a race cannot clobber.)
    """
    if start_time.tzinfo is None:
        start_time = start_time.replace(tzinfo=dt.timezone.utc)
    utc = start_time.astimezone(dt.timezone.utc)
    folder = Path(data_dir) / "runs" / f"{utc.year:04d}"
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{utc:%Y-%m-%dT%H%M%S}Z-{_slug(name)}"
    path = folder / (stem + SUFFIX)
    n = 2
    while path.exists():
        path = folder / f"{stem}-{n}{SUFFIX}"
        n += 1
    return path


# ----------------------------------------------------------------------------------------------
# Encoding


def _chunk(kind: int, slot: int, payload: bytes, flags: int = 0) -> bytes:
    if len(payload) > MAX_CHUNK_PAYLOAD:
        raise ValueError(f"chunk payload of {len(payload)} bytes is too large")
    head = struct.pack("<BBHI", kind, slot, flags, len(payload))
    return b"".join((head, struct.pack("<I", _crc(head)), payload, struct.pack("<I", _crc(payload))))


def _file_header() -> bytes:
    head = struct.pack("<8sHH", MAGIC, FORMAT_VERSION, 0)
    return head + struct.pack("<I", _crc(head))


def _encode_samples(block: SampleBlock) -> bytes:
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
        _SAMPLES_HEADER.pack(first, n, m, float(block.rate), int(block.stream_id), int(block.accel_g), int(block.gyro_code), flags)
    ]
    if not contiguous:
        parts.append(index.astype(_I8, copy=False).tobytes())
    parts.append(raw.astype(_I2, copy=False).tobytes())
    parts.append(qi.astype(_I8, copy=False).tobytes())
    parts.append(qr.astype(_I2, copy=False).tobytes())
    return b"".join(parts)


def _decode_samples(buf, start: int, length: int, slot: int) -> SampleBlock:
    """Decode a samples payload at buf[start:start+length]; raises ValueError when inconsistent."""
    if length < SAMPLES_HEADER_SIZE:
        raise ValueError("samples chunk too short")
    first, n, m, rate, stream_id, accel_g, gyro_code, flags = _SAMPLES_HEADER.unpack_from(buf, start)
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


# ----------------------------------------------------------------------------------------------
# Writer


class _Batch:
    """Samples of one sensor waiting to become a chunk (same rate, ranges and stream)."""

    __slots__ = ("blocks", "count", "key")

    def __init__(self, key):
        self.key = key
        self.blocks: list[SampleBlock] = []
        self.count = 0


class RunWriter:
    """Writes a new run file; never overwrites an existing one.

    metadata: a JSON-able dict (sensors, start_time, settings, simulated, ...); "format_version"
    and a "host_version" default are added.  clock: a callable or an object with .now()
    (monotonic seconds) that decides when to fsync; default time.monotonic.

    Samples are batched per sensor into chunks of about chunk_seconds; every sync_interval
    seconds of the clock (checked on each write) and on close, the batches are written out,
    the file flushed and fsynced.  Events and missing ranges are written at once (and
    synced with the rest).  Write failures raise RunFileError.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        metadata: dict,
        *,
        clock=None,
        sync_interval: float = 0.5,
        chunk_seconds: float = 1.0,
        max_chunk_samples: int = 65536,
    ):
        self.path = Path(path)
        self._now = _now_function(clock)
        self.sync_interval = float(sync_interval)
        self.chunk_seconds = float(chunk_seconds)
        self.max_chunk_samples = int(max_chunk_samples)
        self._batches: dict[int, _Batch] = {}
        self._closed = False
        self._file = None
        self.samples_written: dict[int, int] = {}  # sensor -> samples handed to write_samples
        self.missing_written: dict[int, int] = {}
        self.events_written = 0
        self.chunks_written = 0
        meta = dict(metadata)
        meta.setdefault("host_version", __version__)
        meta["format_version"] = FORMAT_VERSION
        try:
            first = _file_header() + _chunk(CHUNK_META, SLOT_RUN, _to_json(meta))
        except (TypeError, ValueError) as e:
            raise ValueError(f"run metadata is not JSON-able: {e}") from e
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "xb", buffering=256 * 1024)
        except FileExistsError:
            raise RunFileError(self.path, "already exists; a run file is never overwritten") from None
        except OSError as e:
            raise RunFileError(self.path, f"cannot create: {e.strerror or e}") from None
        self.chunks_written = 1
        self._guard(self._file.write, first)
        self._sync()
        self._fsync_dir()

    # -- public API

    def write_samples(self, block: SampleBlock) -> None:
        """Record a SampleBlock (lossless: indices, raw int16, quaternions, rate, ranges, stream id)."""
        self._check_open()
        n = len(block.index)
        if n == 0 and len(block.quat_index) == 0:
            return
        slot = _slot(block.sensor)
        key = (float(block.rate), int(block.accel_g), int(block.gyro_code), int(block.stream_id))
        batch = self._batches.get(slot)
        if batch is not None and batch.key != key:
            self._emit(slot)
            batch = None
        if batch is None:
            batch = self._batches[slot] = _Batch(key)
        batch.blocks.append(block)
        batch.count += n
        self.samples_written[slot] = self.samples_written.get(slot, 0) + n
        limit = min(self.max_chunk_samples, max(1, int(block.rate * self.chunk_seconds)))
        if batch.count >= limit:
            self._emit(slot)
        self._maybe_sync()

    def write_event(self, event: dict) -> None:
        """Record an event: a JSON-able dict, by convention with "kind" and "t" (seconds of the run),
        and "sensor" (slot) when it concerns one sensor."""
        self._check_open()
        if not isinstance(event, dict):
            raise TypeError("an event is a dict")
        sensor = event.get("sensor")
        slot = _slot(sensor) if isinstance(sensor, (int, np.integer)) and not isinstance(sensor, bool) else SLOT_RUN
        self._write(_chunk(CHUNK_EVENT, slot, _to_json(event)))
        self.events_written += 1
        self._maybe_sync()

    def write_missing(self, sensor: int, first_index: int, count: int) -> None:
        """Record that samples [first_index, first_index + count) of a sensor will never arrive."""
        self._check_open()
        if count <= 0:
            return
        slot = _slot(sensor)
        self._write(_chunk(CHUNK_MISSING, slot, _MISSING.pack(int(first_index), int(count))))
        self.missing_written[slot] = self.missing_written.get(slot, 0) + int(count)
        self._maybe_sync()

    def write_metadata(self, update: dict) -> None:
        """Append later metadata; a reader merges it (key by key) over the run's metadata."""
        self._check_open()
        self._write(_chunk(CHUNK_META_UPDATE, SLOT_RUN, _to_json(dict(update))))
        self._maybe_sync()

    def sync(self) -> None:
        """Write out batched samples, flush and fsync now."""
        self._check_open()
        self._sync()

    def tick(self) -> None:
        """Sync if one is due; call this now and then when no data arrives for a while."""
        self._check_open()
        self._maybe_sync()

    def close(self, summary: dict | None = None, *, error: str | None = None) -> None:
        """Write the closing chunk (end time, totals, summary), fsync and close.  Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            for slot in list(self._batches):
                self._emit(slot)
            end = {
                "end_time": _utc_now(),
                "totals": {
                    "samples": {str(k): v for k, v in sorted(self.samples_written.items())},
                    "missing": {str(k): v for k, v in sorted(self.missing_written.items())},
                    "events": self.events_written,
                    "chunks": self.chunks_written + 1,
                },
                "summary": summary,
            }
            if error is not None:
                end["error"] = error
            try:
                payload = _to_json(end)
            except (TypeError, ValueError) as e:  # an un-JSON-able summary must not lose the run
                end["summary"] = None
                end["summary_error"] = f"summary not recorded: {e}"
                payload = _to_json(end)
            self._write(_chunk(CHUNK_END, SLOT_RUN, payload))
            self._sync()
        finally:
            try:
                self._file.close()
            except OSError:
                pass

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> "RunWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            # the run ends in order (the file is complete), but say why it ended
            try:
                self.close(error=f"{exc_type.__name__}: {exc}")
            except RunFileError:
                pass  # keep the original exception

    # -- internals

    def _check_open(self) -> None:
        if self._closed:
            raise RunFileError(self.path, "run file is closed")

    def _guard(self, fn, *args):
        try:
            return fn(*args)
        except OSError as e:
            raise RunFileError(self.path, f"cannot write: {e.strerror or e}") from None

    def _write(self, data: bytes) -> None:
        self._guard(self._file.write, data)
        self.chunks_written += 1

    def _emit(self, slot: int) -> None:
        batch = self._batches.pop(slot, None)
        if batch is None or not batch.blocks:
            return
        blocks = batch.blocks
        block = blocks[0] if len(blocks) == 1 else SampleBlock.concat(blocks)
        self._write(_chunk(CHUNK_SAMPLES, slot, _encode_samples(block)))

    def _maybe_sync(self) -> None:
        if self._now() - self._last_sync >= self.sync_interval:
            self._sync()

    def _sync(self) -> None:
        for slot in list(self._batches):
            self._emit(slot)
        self._guard(self._file.flush)
        self._guard(os.fsync, self._file.fileno())
        self._last_sync = self._now()

    def _fsync_dir(self) -> None:
        """Make the new directory entry durable too (POSIX); best effort."""
        try:
            fd = os.open(self.path.parent, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)


# ----------------------------------------------------------------------------------------------
# Reader


class RunReader:
    """Reads and validates a whole run file at once (read-only; the file is never modified).

    metadata: the run metadata with any later metadata updates merged over it
    closed: True when the closing chunk is present (the run stopped in order)
    end: the closing chunk's dict (end_time, totals, summary[, error]) or None
    summary: end["summary"] or None
    truncated_bytes: bytes of a torn last chunk that were ignored (0 for an intact file)
    unknown_chunks: chunks of types this version does not know (skipped)

    Raises RunFileError for a missing/unreadable file, a truncated header, a foreign file,
    a newer format version, or a corrupt chunk followed by more data.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        try:
            with open(self.path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                buf = bytearray(size)
                got = f.readinto(buf)
                if got != size:
                    del buf[got:]
        except FileNotFoundError:
            raise RunFileError(self.path, "no such run file") from None
        except IsADirectoryError:
            raise RunFileError(self.path, "is a directory, not a run file") from None
        except OSError as e:
            raise RunFileError(self.path, f"cannot read: {e.strerror or e}") from None
        self.size = len(buf)
        self.format_version = 0
        self.metadata: dict = {}
        self.metadata_updates: list[dict] = []
        self.end: dict | None = None
        self.truncated_bytes = 0
        self.unknown_chunks = 0
        self._blocks: list[SampleBlock] = []
        self._events: list[dict] = []
        self._missing: list[tuple[int, int, int]] = []
        self._parse(buf)

    # -- public API

    @property
    def closed(self) -> bool:
        return self.end is not None

    @property
    def summary(self) -> dict | None:
        return self.end.get("summary") if self.end else None

    @property
    def sensors(self) -> list[int]:
        """Slots that have samples or missing ranges, ascending."""
        return sorted({b.sensor for b in self._blocks} | {m[0] for m in self._missing})

    def blocks(self, sensor: int | None = None) -> Iterator[SampleBlock]:
        """SampleBlocks in file order (one per samples chunk), of one sensor or of all."""
        for b in self._blocks:
            if sensor is None or b.sensor == sensor:
                yield b

    def samples(self, sensor: int = 0) -> SampleBlock:
        """All samples of a sensor as one block, sorted by index, duplicates dropped (the first
        recorded copy wins).  An empty block when the sensor has none.  RunFileError when the
        sensor's rate or ranges change mid-run (read blocks() then)."""
        blocks = [b for b in self._blocks if b.sensor == sensor]
        if not blocks:
            rate = 0.0
            accel_g = gyro_code = 0
            for s in self.metadata.get("sensors", []) or []:
                if isinstance(s, dict) and s.get("slot") == sensor:
                    rate = float(s.get("rate") or 0.0)
                    accel_g = int(s.get("accel_g") or 0)
            return SampleBlock(np.zeros(0, np.int64), np.zeros((0, 6), np.int16), rate, accel_g, gyro_code, sensor=sensor)
        settings = {(b.rate, b.accel_g, b.gyro_code) for b in blocks}
        if len(settings) > 1:
            shown = ", ".join(f"{r:g} Hz ±{a} g gyro code {g}" for r, a, g in sorted(settings))
            raise RunFileError(self.path, f"sensor {sensor} changes rate or ranges during the run ({shown}); read it block by block")
        joined = SampleBlock.concat(blocks) if len(blocks) > 1 else blocks[0]
        index, raw, qi, qr = joined.index, joined.raw, joined.quat_index, joined.quat_raw
        if len(index) > 1 and not bool(np.all(index[1:] > index[:-1])):
            index, keep = np.unique(index, return_index=True)  # sorted; first occurrence of each
            raw = raw[keep]
        else:
            index, raw = index.copy(), raw.copy()
        if len(qi) > 1 and not bool(np.all(qi[1:] > qi[:-1])):
            qi, keep = np.unique(qi, return_index=True)
            qr = qr[keep]
        else:
            qi, qr = qi.copy(), qr.copy()
        first = blocks[0]
        return SampleBlock(index=index, raw=raw, rate=first.rate, accel_g=first.accel_g, gyro_code=first.gyro_code,
                           quat_index=qi, quat_raw=qr, stream_id=first.stream_id, sensor=sensor)

    def events(self) -> list[dict]:
        """Events in file order."""
        return list(self._events)

    def missing(self, sensor: int | None = None) -> list[tuple[int, int, int]]:
        """Missing sample ranges in file order, as (sensor, first_index, count)."""
        return [m for m in self._missing if sensor is None or m[0] == sensor]

    # -- parsing

    def _fail(self, problem: str) -> RunFileError:
        return RunFileError(self.path, problem)

    def _parse(self, buf: bytearray) -> None:
        size = len(buf)
        if size < FILE_HEADER_SIZE:
            if size and MAGIC.startswith(bytes(buf[: len(MAGIC)])):
                raise self._fail(f"truncated header ({size} of {FILE_HEADER_SIZE} bytes)")
            if size == 0:
                raise self._fail("empty file, not a StrideCue run file")
            raise self._fail("not a StrideCue run file (bad magic)")
        magic, version, _flags, crc = _FILE_HEADER.unpack_from(buf, 0)
        if magic != MAGIC:
            raise self._fail("not a StrideCue run file (bad magic)")
        if _crc(memoryview(buf)[:12]) != crc:
            raise self._fail("corrupt file header (bad CRC)")
        if version > FORMAT_VERSION:
            raise self._fail(f"run file format version {version} is newer than this StrideCue reads ({FORMAT_VERSION}); update StrideCue")
        if version < 1:
            raise self._fail(f"unknown run file format version {version}")
        self.format_version = version
        view = memoryview(buf)
        pos = FILE_HEADER_SIZE
        seen_meta = False
        while pos < size:
            if size - pos < CHUNK_HEADER_SIZE:
                self.truncated_bytes = size - pos
                break
            kind, slot, flags, length, hcrc = _CHUNK_HEADER.unpack_from(buf, pos)
            if _crc(view[pos : pos + 8]) != hcrc:
                if not any(view[pos:]):  # zeros a crash left at the end (some filesystems do)
                    self.truncated_bytes = size - pos
                    break
                raise self._fail(f"corrupt chunk header at byte {pos} (bad CRC)")
            start = pos + CHUNK_HEADER_SIZE
            end = start + length
            if end + CHUNK_CRC_SIZE > size:
                self.truncated_bytes = size - pos  # the last chunk was torn: tolerated
                break
            (pcrc,) = struct.unpack_from("<I", buf, end)
            if _crc(view[start:end]) != pcrc:
                if end + CHUNK_CRC_SIZE == size or not any(view[end + CHUNK_CRC_SIZE :]):
                    self.truncated_bytes = size - pos
                    break
                raise self._fail(f"corrupt {CHUNK_NAMES.get(kind, 'unknown')} chunk at byte {pos} (bad CRC)")
            if not seen_meta and kind != CHUNK_META:
                raise self._fail(f"first chunk is {CHUNK_NAMES.get(kind, 'unknown')}, not the run metadata")
            try:
                self._take(kind, slot, buf, view, start, length)
            except (ValueError, UnicodeDecodeError) as e:  # json.JSONDecodeError is a ValueError
                raise self._fail(f"malformed {CHUNK_NAMES.get(kind, 'unknown')} chunk at byte {pos}: {e}") from None
            seen_meta = True
            pos = end + CHUNK_CRC_SIZE
        if not seen_meta:
            raise self._fail("no run metadata (the recording was cut off as it began)")

    def _json(self, view, start: int, length: int):
        return json.loads(bytes(view[start : start + length]).decode("utf-8"))

    def _take(self, kind: int, slot: int, buf, view, start: int, length: int) -> None:
        if kind == CHUNK_SAMPLES:
            self._blocks.append(_decode_samples(buf, start, length, slot))
        elif kind == CHUNK_EVENT:
            event = self._json(view, start, length)
            if not isinstance(event, dict):
                raise ValueError("an event is not a JSON object")
            self._events.append(event)
        elif kind == CHUNK_MISSING:
            if length != _MISSING.size:
                raise ValueError(f"{length} bytes, expected {_MISSING.size}")
            first, count = _MISSING.unpack_from(buf, start)
            self._missing.append((slot, first, count))
        elif kind == CHUNK_META:
            if self.metadata:
                raise ValueError("a second run metadata chunk")
            meta = self._json(view, start, length)
            if not isinstance(meta, dict):
                raise ValueError("metadata is not a JSON object")
            self.metadata = meta
        elif kind == CHUNK_META_UPDATE:
            update = self._json(view, start, length)
            if not isinstance(update, dict):
                raise ValueError("metadata update is not a JSON object")
            self.metadata_updates.append(update)
            self.metadata.update(update)
        elif kind == CHUNK_END:
            end = self._json(view, start, length)
            if not isinstance(end, dict):
                raise ValueError("end is not a JSON object")
            self.end = end
        else:
            self.unknown_chunks += 1  # a later version's optional chunk: skip it


def open_run(path: str | os.PathLike) -> RunReader:
    """Open and validate a run file: RunReader(path)."""
    return RunReader(path)
