"""Write a clean copy of a damaged run file; the original is only read, never changed.

The copy is the original with its unreadable regions (and a torn tail) cut out.  In place of
each region go a "missing" chunk per sensor for the samples it held, so every reader counts them
as lost, and one metadata update saying the file was repaired.  Every intact chunk is copied
byte for byte.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from stridecue.errors import UserError
from stridecue.record.runformat import (
    CHUNK_META_UPDATE,
    CHUNK_MISSING,
    FILE_HEADER_SIZE,
    MISSING_RANGE,
    SLOT_RUN,
    ChunkWalk,
    encode_chunk,
    read_run_bytes,
    to_json,
)

REPAIRED_SUFFIX = "-repaired.scrun"


def configure(parser) -> None:
    parser.add_argument("file", metavar="FILE", help="the damaged .scrun run file (only read)")
    parser.add_argument("--out", metavar="FILE",
                        help=f"the clean copy (default: <run name>{REPAIRED_SUFFIX} in the current directory); never overwritten")


def repaired_bytes(buf: bytes, reader) -> bytes:
    """The clean copy of a run file's bytes; reader: its RunReader (where the damage is)."""
    walk = ChunkWalk(buf, reader.path)
    chunk_ends = [(pos, start + length + 4) for pos, _kind, _slot, start, length in walk]
    parts = [bytes(buf[:FILE_HEADER_SIZE])]
    pending = list(reader.damage)
    for pos, end in chunk_ends:
        while pending and pending[0].end_byte <= pos:
            parts.append(_patch(pending.pop(0), reader.path.name))
        parts.append(bytes(buf[pos:end]))
    parts.extend(_patch(d, reader.path.name) for d in pending)
    return b"".join(parts)


def _patch(damage, name: str) -> bytes:
    """What stands in for one damaged region: its lost samples as missing ranges, and a note."""
    chunks = [encode_chunk(CHUNK_MISSING, sensor, MISSING_RANGE.pack(first, count)) for sensor, first, count in damage.lost]
    note = {"repaired": {"from": name, "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                         "unreadable_bytes": damage.size, "samples_lost": damage.samples_lost}}
    chunks.append(encode_chunk(CHUNK_META_UPDATE, SLOT_RUN, to_json(note)))
    return b"".join(chunks)


def write_new(path: Path, data: bytes) -> None:
    """Write data to a new file at path, all or nothing: never overwrites, leaves no partial file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.link(tmp, path)  # fails if path exists: no race can clobber a file
    except FileExistsError:
        raise UserError(f"{path} already exists; choose another --out (nothing is overwritten)") from None
    except OSError as e:
        raise UserError(f"cannot write {path}: {e.strerror or e}") from None
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def main(args, base: Path) -> int:
    from stridecue.record.runreader import RunReader

    source = Path(args.file)
    reader = RunReader(source)
    if not reader.damage and not reader.truncated_bytes:
        print(f"{source.name}: intact, nothing to repair (no copy written)")
        return 0
    out = Path(args.out) if args.out else Path.cwd() / (source.name.removesuffix(".scrun") + REPAIRED_SUFFIX)
    if out.resolve() == source.resolve():
        raise UserError("--out is the damaged file itself; the original is never changed")
    if out.exists():
        raise UserError(f"{out} already exists; choose another --out (nothing is overwritten)")
    write_new(out, repaired_bytes(read_run_bytes(source), reader))
    lost = reader.damage_line() or "run file damaged"
    tail = f", {reader.truncated_bytes} bytes of a torn tail dropped" if reader.truncated_bytes else ""
    print(f"repaired copy written: {out} ({lost}{tail}); {source} is unchanged")
    return 0
