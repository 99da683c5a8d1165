"""Export a run as CSV, Parquet or FIT.

csv and parquet write three tables: <run>-strides (the per-stride metrics), <run>-samples
(every recorded sample of every sensor in physical units: g and deg/s, sensor frame, with its
sample counter and time) and <run>-cues; of an exercise session <run>-reps (one row per rep or
balance hold) instead of the strides.  fit writes <run>.fit, a FIT activity that running
platforms read, with knee wobble, landing load and loading rate as developer fields.
RUN names the run as in every command (record/runref.py; default: the latest run); --out is a
directory, or for fit a file name ending in .fit.  Existing files are never overwritten.
docs/exports.md lists every column.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from pathlib import Path

from stridecue.analysis.stride import BOOL_FIELDS, ROW_FIELDS, TEXT_FIELDS, Stride
from stridecue.errors import UserError
from stridecue.record.runref import RUN_HELP, read_named_run

FORMATS = ("csv", "parquet", "fit")

# The stride's row as the store keeps it (analysis.stride), then what the export adds.
STRIDE_COLUMNS = ROW_FIELDS + ("approximate",)
# Figures of a stride that come from the accelerometer-only path and are approximate: its toe-off is
# found 80-100 ms late (bach2022, docs/validation.md), so toe-off time and contact time read late/long.
ACCEL_ONLY_APPROXIMATE = "to_t contact_time_s"


def approximate_fields(stride: Stride) -> str:
    """Space-separated names of the stride's figures that are approximate ('' when none)."""
    return ACCEL_ONLY_APPROXIMATE if stride.accel_only else ""


OUT_HELP = ("where to write: a directory (made if missing; default: the current one), the files named after the run; "
            "or, for one file (--html, fit), a file name ending in its extension (.html, .fit). Never overwritten")


def configure(parser) -> None:
    parser.add_argument("run", nargs="?", metavar="RUN", help=RUN_HELP)
    parser.add_argument("--format", required=True, choices=FORMATS, help="csv, parquet or fit")
    parser.add_argument("--out", metavar="OUT", help=OUT_HELP)


def out_file(out: str | None, name: str, ext: str) -> Path:
    """--out as every command reads it (OUT_HELP): the one file of a run named `name`."""
    path = Path(out).expanduser() if out else Path.cwd()
    return path if path.suffix.lower() == ext else path / f"{name}{ext}"


def out_dir(out: str | None, fmt: str) -> Path:
    """--out of a format that writes several files: a directory."""
    path = Path(out).expanduser() if out else Path.cwd()
    if path.suffix.lower() in (".csv", ".parquet", ".fit", ".html"):
        raise UserError(f"--out {out}: {fmt} writes three files (strides or reps, samples, cues), so --out is a directory")
    return path


def targets(name: str, fmt: str, out: Path, first: str = "strides") -> dict[str, Path]:
    """The files an export writes; first: "strides" of a run, "reps" of an exercise session."""
    if fmt == "fit":
        return {"fit": out if out.suffix.lower() == ".fit" else out / f"{name}.fit"}
    return {table: out / f"{name}-{table}.{fmt}" for table in (first, "samples", "cues")}


def rep_table(reps: list):
    """An exercise session's reps and holds (exercise/rep.py REP_FIELDS), a missing figure null."""
    import pyarrow as pa

    from stridecue.exercise.rep import REP_FIELDS, TEXT_FIELDS

    rows = [r.as_row() for r in reps]
    types = {"sensor": pa.int16(), "set_index": pa.int16(), "cued": pa.bool_(), **{k: pa.string() for k in TEXT_FIELDS}}
    return pa.table({k: pa.array([row[i] for row in rows], type=types.get(k, pa.float64())) for i, k in enumerate(REP_FIELDS)})


def _start(meta: dict, fallback: str | None) -> dt.datetime | None:
    for text in (meta.get("start_time"), fallback):
        try:
            t = dt.datetime.fromisoformat(str(text))
        except (TypeError, ValueError):
            continue
        return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)
    return None


def stride_table(strides: list[Stride], start: dt.datetime | None):
    import pyarrow as pa

    rows = [s.as_row() for s in strides]  # a missing number is None: null, an empty CSV cell
    cols = {k: [row[i] for row in rows] for i, k in enumerate(ROW_FIELDS)}
    cols["approximate"] = [approximate_fields(s) for s in strides]
    types = {"sensor": pa.int16(), "approximate": pa.string(), **{k: pa.string() for k in TEXT_FIELDS},
             **{k: pa.bool_() for k in BOOL_FIELDS}}
    arrays = {k: pa.array(v, type=types.get(k, pa.float64())) for k, v in cols.items()}
    if start is not None:
        arrays["ic_utc"] = pa.array([(start + dt.timedelta(seconds=float(s.ic_t))).isoformat(timespec="milliseconds") for s in strides],
                                    type=pa.string())
    return pa.table(arrays)


def sample_table(reader):
    """Every sample of every sensor, sorted by sensor and counter, in g and deg/s; the last two
    columns say how its sensor was worn (mount, leg), so `stridecue import` of the CSV rebuilds a
    two-sensor run."""
    import numpy as np
    import pyarrow as pa

    import stridewire

    worn = {s.get("slot", i): s for i, s in enumerate(reader.metadata.get("sensors") or []) if isinstance(s, dict)}
    parts = []
    for sensor in reader.sensors:
        b = reader.samples(sensor)
        if not len(b):
            continue
        acc, gyr = b.acc, b.gyr
        parts.append({
            "sensor": np.full(len(b), sensor, np.int16), "index": b.index, "t_s": b.t,
            "ax_g": acc[:, 0], "ay_g": acc[:, 1], "az_g": acc[:, 2],
            "gx_dps": gyr[:, 0], "gy_dps": gyr[:, 1], "gz_dps": gyr[:, 2],
            "clipped": b.clipped,
            "mount": np.full(len(b), worn.get(sensor, {}).get("mount") or "", object),
            "leg": np.full(len(b), worn.get(sensor, {}).get("leg") or "", object),
        })
    if not parts:
        raise UserError(f"{reader.path.name}: the run has no samples to export")
    table = pa.table({k: np.concatenate([p[k] for p in parts]) for k in parts[0]})
    scales = {str(s): {"accel_g_per_count": stridewire.accel_scale(reader.samples(s).accel_g),
                       "gyro_dps_per_count": stridewire.gyro_scale(reader.samples(s).gyro_code)} for s in reader.sensors}
    return table.replace_schema_metadata({"stridecue.scales": json.dumps(scales)})


def cue_table(cues: list[dict]):
    import pyarrow as pa

    return pa.table({
        "t": pa.array([float(c["t"]) for c in cues], pa.float64()),
        "kind": pa.array([c.get("cue") for c in cues], pa.string()),
        "words": pa.array([c.get("words") for c in cues], pa.string()),
        "reason": pa.array([c.get("reason") for c in cues], pa.string()),
        "values": pa.array([json.dumps(c.get("values") or {}) for c in cues], pa.string()),
    })


def _write_new(path: Path, write) -> None:
    """write(tmp_path) then move it to path only if path does not exist (never overwrite)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # a temporary file is private; the export gets the usual permissions
        try:
            os.link(tmp, path)  # fails if path exists: no race can clobber an export
        except FileExistsError:
            raise UserError(f"{path}: already exists; exports are never overwritten") from None
    finally:
        os.unlink(tmp)


def _refuse_existing(paths: dict[str, Path]) -> Path:
    """The folder the exports go to; UserError when it is a file or an export is already there."""
    out = next(iter(paths.values())).parent
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: not a directory")
    for p in paths.values():
        if p.exists():
            raise UserError(f"{p}: already exists; exports are never overwritten")
    return out


def export_run(store, run: dict, fmt: str, out: Path) -> list[Path]:
    """Write the exports of a stored run; the paths written."""
    from stridecue.record.runreader import RunReader
    from stridecue.review.figures import load_summary

    if fmt not in FORMATS:
        raise UserError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    session = run.get("activity") == "exercise"
    if session and fmt == "fit":
        raise UserError(f"{run['name']} is an exercise session: FIT is for runs; export it as csv or parquet")
    paths = targets(run["name"], fmt, out, "reps" if session else "strides")
    out = _refuse_existing(paths)
    if not Path(run["path"]).exists():
        raise UserError(f"{run['path']}: the run file is gone (moved or deleted); exports need it")
    strides = store.strides(run["id"])
    start = _start(run["metadata"], run.get("start_time"))
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"{out}: cannot create: {e.strerror or e}") from None
    written = []
    try:
        if fmt == "fit":
            from stridecue.review.fit import FitError, activity_file

            if start is None:
                raise UserError(f"{run['name']}: the run has no start time; a FIT file needs one")
            try:
                data = activity_file(start, strides, load_summary(store, run), cues=store.cues(run["id"]),
                                     duration_s=run.get("duration_s"))
            except FitError as e:
                raise UserError(f"{run['name']}: {e}") from None
            _write_new(paths["fit"], lambda tmp: Path(tmp).write_bytes(data))
            written.append(paths["fit"])
            return written
        reader = RunReader(run["path"])
        first = {"reps": rep_table(store.reps(run["id"]))} if session else {"strides": stride_table(strides, start)}
        tables = {**first, "samples": sample_table(reader), "cues": cue_table(store.cues(run["id"]))}
        if fmt == "csv":
            import pyarrow.csv as pacsv

            def writer(table):
                return lambda tmp: pacsv.write_csv(table, tmp)
        else:
            import pyarrow.parquet as pq

            def writer(table):
                meta = dict(table.schema.metadata or {})
                meta[b"stridecue.run"] = json.dumps({"name": run["name"], "start_time": run.get("start_time"),
                                                     "sensors": store.sensors(run["id"])}, default=str).encode()
                return lambda tmp: pq.write_table(table.replace_schema_metadata(meta), tmp, compression="zstd")
        for name, table in tables.items():
            _write_new(paths[name], writer(table))
            written.append(paths[name])
    except OSError as e:
        raise UserError(f"{out}: cannot write: {e.strerror or e}") from None
    return written


def main(args, base: Path) -> int:
    from stridecue.record.store import open_store

    history = open_store(base, quiet=True)
    store = history
    try:
        store, run = read_named_run(history, args.run)  # a file outside the data directory is read, not added
        out = out_file(args.out, run["name"], ".fit") if args.format == "fit" else out_dir(args.out, args.format)
        for p in export_run(store, run, args.format, out):
            print(f"written: {p}")
        return 0
    finally:
        if store is not history:
            store.close()
        history.close()
