"""Reading a run file (.scrun): the whole file at once, validated, never modified.

docs/run-file.md is the byte-by-byte specification; the bytes are runformat.py's and the writer
is runfile.py's.  A torn last chunk is tolerated (`truncated_bytes`); a damaged region in the
middle is read around (`damage`, record/damage.py).

    r = RunReader(path)                       # or open_run(path)
    r.metadata, r.closed, r.truncated_bytes, r.summary
    r.blocks(sensor=None), r.samples(sensor), r.events(), r.missing()
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterator

import numpy as np

from stridecue.link.samples import SampleBlock
from stridecue.record.damage import Damage, SampleSpan, describe_damage, locate_damage
from stridecue.record.runformat import (
    CHUNK_END,
    CHUNK_EVENT,
    CHUNK_META,
    CHUNK_META_UPDATE,
    CHUNK_MISSING,
    CHUNK_NAMES,
    CHUNK_SAMPLES,
    ChunkWalk,
    RunFileError,
    check_file_header,
    read_run_bytes,
    decode_missing,
    decode_samples,
)
class RunReader:
    """Reads and validates a whole run file at once (read-only; the file is never modified).

    metadata: the run metadata with any later metadata updates merged over it
    closed: True when the closing chunk is present (the run stopped in order)
    end: the closing chunk's dict (end_time, totals, summary[, error]) or None
    summary: end["summary"] or None
    truncated_bytes: bytes of a torn last chunk that were ignored (0 for an intact file)
    damage: the unreadable regions skipped in the middle (record.damage.Damage); their lost
        samples are also in missing()
    unknown_chunks: chunks of types this version does not know (skipped)

    Raises RunFileError for a missing/unreadable file, a truncated header, a foreign file,
    a newer format version, or a corrupt run metadata chunk.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        buf = read_run_bytes(self.path)
        self.size = len(buf)
        self.format_version = 0
        self.metadata: dict = {}
        self.metadata_updates: list[dict] = []
        self.end: dict | None = None
        self.truncated_bytes = 0
        self.unknown_chunks = 0
        self.damage: list[Damage] = []
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

    def damage_line(self) -> str | None:
        """One line saying what damage cost (for stderr), or None for an undamaged file."""
        return describe_damage(self.damage)

    # -- parsing

    def _fail(self, problem: str) -> RunFileError:
        return RunFileError(self.path, problem)

    def _parse(self, buf: bytearray) -> None:
        self.format_version = check_file_header(buf, self.path)
        view = memoryview(buf)
        walk = ChunkWalk(buf, self.path)
        seen_meta = False
        spans = []
        for pos, kind, slot, start, length in walk:
            if not seen_meta and kind != CHUNK_META:
                if walk.damaged:
                    raise self._fail(f"corrupt run metadata chunk at byte {walk.damaged[0][0]} (bad CRC)")
                raise self._fail(f"first chunk is {CHUNK_NAMES.get(kind, 'unknown')}, not the run metadata")
            try:
                self._take(kind, slot, buf, view, start, length)
            except (ValueError, UnicodeDecodeError) as e:  # json.JSONDecodeError is a ValueError
                raise self._fail(f"malformed {CHUNK_NAMES.get(kind, 'unknown')} chunk at byte {pos}: {e}") from None
            if kind == CHUNK_SAMPLES and len(self._blocks[-1].index):
                b = self._blocks[-1]
                spans.append(SampleSpan(pos, slot, int(b.index[0]), int(b.index[-1]) + 1, float(b.rate)))
            seen_meta = True
        self.truncated_bytes = walk.truncated_bytes
        self.damage = locate_damage(walk.damaged, spans)
        self._missing.extend(lost for d in self.damage for lost in d.lost)
        if not seen_meta:
            raise self._fail("no run metadata (the recording was cut off as it began)")

    def _json(self, view, start: int, length: int):
        return json.loads(bytes(view[start : start + length]).decode("utf-8"))

    def _take(self, kind: int, slot: int, buf, view, start: int, length: int) -> None:
        if kind == CHUNK_SAMPLES:
            self._blocks.append(decode_samples(buf, start, length, slot))
        elif kind == CHUNK_EVENT:
            event = self._json(view, start, length)
            if not isinstance(event, dict):
                raise ValueError("an event is not a JSON object")
            self._events.append(event)
        elif kind == CHUNK_MISSING:
            self._missing.append((slot, *decode_missing(buf, start, length)))
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
