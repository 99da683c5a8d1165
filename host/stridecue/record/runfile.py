"""The run file (.scrun): StrideCue's append-only, crash-safe recording of a run.

docs/run-file.md is the byte-by-byte specification; keep the two in step.  The bytes themselves
(header, chunk framing, payloads) are runformat.py's; this module writes and reads whole files.

    with RunWriter(path, metadata) as w:      # refuses to overwrite
        w.write_samples(block)                # batched into ~1 s chunks
        w.write_event({"kind": "cue", ...})
        w.write_missing(sensor, first, count)
        w.close(summary={...})                # closing chunk; fsync

    r = RunReader(path)                       # runreader.py

The writer fsyncs at least every `sync_interval` seconds of its clock (default 0.5 s) and on
close, so a `kill -9` of the host loses at most about the last second and leaves a file that
opens: a reader tolerates a torn last chunk and reports it in `truncated_bytes`.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import re
import time
import unicodedata
from pathlib import Path
from typing import Callable

import numpy as np

from stridecue import __version__
from stridecue.link.samples import SampleBlock
from stridecue.paths import ensure_dir
from stridecue.record.runformat import (
    CHUNK_END,
    CHUNK_EVENT,
    CHUNK_META,
    CHUNK_META_UPDATE,
    CHUNK_MISSING,
    CHUNK_SAMPLES,
    FORMAT_VERSION,
    MISSING_RANGE,
    SLOT_RUN,
    SUFFIX,
    RunFileError,
    encode_chunk,
    encode_end,
    encode_file_header,
    encode_samples,
    sensor_slot,
    to_json,
)


def _now_function(clock) -> Callable[[], float]:
    if clock is None:
        return time.monotonic
    if hasattr(clock, "now"):
        return clock.now
    if callable(clock):
        return clock
    raise TypeError("clock must be a callable returning seconds or an object with .now()")


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
    folder = ensure_dir(Path(data_dir) / "runs" / f"{utc.year:04d}")
    stem = f"{utc:%Y-%m-%dT%H%M%S}Z-{_slug(name)}"
    path = folder / (stem + SUFFIX)
    n = 2
    while path.exists():
        path = folder / f"{stem}-{n}{SUFFIX}"
        n += 1
    return path


def open_new_run(data_dir: str | os.PathLike, start_time: dt.datetime, name: str, metadata: dict, **kw) -> "RunWriter":
    """A RunWriter on a new run file named as run_file_path() names it.  Another run started in
    the same second (another process) can take that name between choosing and creating it: then
    the next free name, so neither run is refused nor overwritten.  kw: RunWriter's options."""
    for _attempt in range(100):
        try:
            return RunWriter(run_file_path(data_dir, start_time, name), metadata, **kw)
        except RunFileExists:
            continue
    raise RunFileError(Path(data_dir) / "runs", f"no free run file name for {name!r} at {start_time:%Y-%m-%dT%H:%M:%S} after 100 tries")


def is_being_written(path: str | os.PathLike) -> bool:
    """Whether a RunWriter (of any process) has the run file open now: a run file without its end
    chunk is then a run in progress, not one whose host stopped unexpectedly."""
    try:
        with open(path, "rb") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    return False


class RunFileExists(RunFileError):
    """The run file to be created exists already (and is left as it is)."""


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
            first = encode_file_header() + encode_chunk(CHUNK_META, SLOT_RUN, to_json(meta))
        except (TypeError, ValueError) as e:
            raise ValueError(f"run metadata is not JSON-able: {e}") from e
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "xb", buffering=256 * 1024)
        except FileExistsError:
            raise RunFileExists(self.path, "already exists; a run file is never overwritten") from None
        except OSError as e:
            raise RunFileError(self.path, f"cannot create: {e.strerror or e}") from None
        fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # "being written" (is_being_written); freed at close or exit
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
        slot = sensor_slot(block.sensor)
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
        slot = sensor_slot(sensor) if isinstance(sensor, (int, np.integer)) and not isinstance(sensor, bool) else SLOT_RUN
        self._write(encode_chunk(CHUNK_EVENT, slot, to_json(event)))
        self.events_written += 1
        self._maybe_sync()

    def write_missing(self, sensor: int, first_index: int, count: int) -> None:
        """Record that samples [first_index, first_index + count) of a sensor will never arrive."""
        self._check_open()
        if count <= 0:
            return
        slot = sensor_slot(sensor)
        self._write(encode_chunk(CHUNK_MISSING, slot, MISSING_RANGE.pack(int(first_index), int(count))))
        self.missing_written[slot] = self.missing_written.get(slot, 0) + int(count)
        self._maybe_sync()

    def write_metadata(self, update: dict) -> None:
        """Append later metadata; a reader merges it (key by key) over the run's metadata."""
        self._check_open()
        self._write(encode_chunk(CHUNK_META_UPDATE, SLOT_RUN, to_json(dict(update))))
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
            totals = {
                "samples": {str(k): v for k, v in sorted(self.samples_written.items())},
                "missing": {str(k): v for k, v in sorted(self.missing_written.items())},
                "events": self.events_written,
                "chunks": self.chunks_written + 1,
            }
            self._write(encode_chunk(CHUNK_END, SLOT_RUN, encode_end(totals, summary, error)))
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
        self._write(encode_chunk(CHUNK_SAMPLES, slot, encode_samples(block)))

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
