"""Turn a CSV recording of another IMU (lab sensor, phone, another logger) into a StrideCue run,
so that summary, replay, export and validate work on it like on any recorded run.

Columns (--columns): comma-separated FIELD=COLUMN pairs.  FIELD is one of
  t            time stamp (optional; with it, gaps and the rate are checked)
  ax ay az     acceleration (required)
  gx gy gz     angular rate (optional: all three or none; without them the run is accel-only)
COLUMN is a header name, or a 1-based column position as a number (a header name wins).
A leading '-' flips the sign of that axis.  Examples:
  --columns t=time,ax=AccX,ay=AccY,az=AccZ,gx=GyrX,gy=GyrY,gz=GyrZ
  --columns ax=2,ay=3,az=4                 (no gyroscope; positions)

Units (--units): comma-separated KIND=UNIT pairs, defaults acc=g,gyr=dps,t=s.
  acc: g | m/s2 (also m/s^2, mps2)      gyr: dps (deg/s) | rad/s (rads)      t: s | ms | us

The samples are stored as the sensor would store them: int16 counts at the narrowest full scale
that holds the data (accelerometer +-2..32 g, gyroscope +-125..2000 dps); values beyond +-32 g or
+-2000 dps are clipped and counted.  The source file is only read; the run file is new (never
overwritten), under the data directory like a recorded run.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gzip
import hashlib
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from stridecue.errors import UserError

# numpy is imported inside the functions that use it: `stridecue --help` imports this module to
# build its options, and must stay fast.

ACC_FIELDS = ("ax", "ay", "az")
GYR_FIELDS = ("gx", "gy", "gz")
FIELDS = ("t",) + ACC_FIELDS + GYR_FIELDS

G = 9.80665
ACC_UNITS = {"g": 1.0, "m/s2": 1 / G, "m/s^2": 1 / G, "mps2": 1 / G, "ms2": 1 / G, "m/s²": 1 / G}
GYR_UNITS = {"dps": 1.0, "deg/s": 1.0, "°/s": 1.0, "rad/s": 180 / math.pi, "rads": 180 / math.pi}
TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6}

ACCEL_RANGES_G = (2, 4, 8, 16, 32)
GYRO_RANGE_CODES = (1, 2, 4, 8, 16)  # x 125 dps
_FULL = 32767

EPOCH_2000 = 946684800.0  # a time column above this is taken as Unix epoch seconds


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (__doc__ or "").strip().split("\n\n", 1)[1]
    parser.add_argument("file", metavar="FILE.csv", help="the recording: CSV (or .csv.gz), one row per sample")
    parser.add_argument("--columns", required=True, metavar="SPEC",
                        help="which column holds what, e.g. t=time,ax=AccX,ay=AccY,az=AccZ[,gx=..,gy=..,gz=..]")
    parser.add_argument("--rate", type=float, metavar="HZ",
                        help="sampling rate in Hz (required unless a t column is given)")
    parser.add_argument("--units", default="", metavar="SPEC",
                        help="e.g. acc=m/s2,gyr=rad/s,t=ms (default acc=g,gyr=dps,t=s)")
    parser.add_argument("--mount", choices=["shin", "thigh"], default="shin", help="where the IMU was worn (default shin)")
    parser.add_argument("--leg", choices=["left", "right"], default="left", help="which leg (default left)")
    parser.add_argument("--name", metavar="NAME", help="sensor name in the run (default: the file's name)")
    parser.add_argument("--start", metavar="ISO-TIME",
                        help="when the recording began (default: from an epoch time column, else the file's time)")
    parser.add_argument("--delimiter", metavar="CHAR", help="field separator (default: detected among , ; tab)")
    parser.add_argument("--no-header", action="store_true", help="the first row is data (columns by position only)")
    parser.add_argument("--sensor-range", type=float, metavar="G",
                        help="the recording accelerometer's full scale in g: readings at it are marked clipped "
                             "(default: detected where readings sit at a standard full scale)")
    parser.add_argument("--skip-unit-check", action="store_true",
                        help="import even when the values do not look like the units given")


def main(args: argparse.Namespace, base: Path) -> int:
    result = import_csv(
        args.file, base, columns=args.columns, rate_hz=args.rate, units=args.units, mount=args.mount,
        leg=args.leg, name=args.name, start=args.start, delimiter=args.delimiter,
        header=not args.no_header, check_units=not args.skip_unit_check, sensor_range_g=args.sensor_range,
    )
    print(f"imported {result.samples} samples ({result.duration_s:.1f} s at {result.rate_hz:g} Hz,"
          f" ±{result.accel_g} g" + (f", ±{result.gyro_dps} dps" if result.has_gyro else ", no gyroscope")
          + (f", {result.missing} missing" if result.missing else "")
          + (f", {result.clipped} clipped" if result.clipped else "") + f") to {result.path}")
    for w in result.warnings:
        print(f"warning: {w}", file=sys.stderr)
    return 0


@dataclass(frozen=True)
class ImportResult:
    path: Path
    samples: int
    missing: int
    rate_hz: float
    duration_s: float
    accel_g: int
    gyro_dps: int
    has_gyro: bool
    clipped: int
    warnings: tuple = ()


@dataclass(frozen=True)
class ColumnRef:
    field: str
    column: str
    negate: bool


def parse_columns(spec: str) -> dict[str, ColumnRef]:
    """'t=time,ax=AccX,...' -> {field: ColumnRef}; UserError naming what is wrong."""
    refs: dict[str, ColumnRef] = {}
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        field, sep, column = part.partition("=")
        field, column = field.strip().lower(), column.strip()
        if not sep or not column:
            raise UserError(f"--columns: {part!r} is not FIELD=COLUMN (e.g. ax=AccX)")
        if field not in FIELDS:
            raise UserError(f"--columns: unknown field {field!r} (fields: {', '.join(FIELDS)})")
        if field in refs:
            raise UserError(f"--columns: {field} given twice")
        negate = column.startswith("-")
        refs[field] = ColumnRef(field, column[1:].strip() if negate else column, negate)
    missing = [f for f in ACC_FIELDS if f not in refs]
    if missing:
        raise UserError(f"--columns: no column for {', '.join(missing)} (the accelerometer is required)")
    gyro = [f for f in GYR_FIELDS if f in refs]
    if gyro and len(gyro) != 3:
        absent = [f for f in GYR_FIELDS if f not in refs]
        raise UserError(f"--columns: gyroscope incomplete, no column for {', '.join(absent)} (give all three or none)")
    return refs


def parse_units(spec: str) -> dict[str, str]:
    units = {"acc": "g", "gyr": "dps", "t": "s"}
    tables = {"acc": ACC_UNITS, "gyr": GYR_UNITS, "t": TIME_UNITS}
    for part in (p.strip() for p in (spec or "").split(",")):
        if not part:
            continue
        kind, sep, unit = part.partition("=")
        kind, unit = kind.strip().lower(), unit.strip().lower()
        kind = {"accel": "acc", "gyro": "gyr", "time": "t"}.get(kind, kind)
        if not sep or kind not in tables:
            raise UserError(f"--units: {part!r} is not acc=UNIT, gyr=UNIT or t=UNIT")
        if unit not in tables[kind]:
            raise UserError(f"--units: unknown {kind} unit {unit!r} (one of {', '.join(tables[kind])})")
        units[kind] = unit
    return units


def _open_text(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return open(path, "r", encoding="utf-8-sig", newline="")


def _is_number(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


def read_table(path: Path, *, delimiter: str | None, header: bool, select,
               chunk_rows: int = 50_000) -> tuple[list[str] | None, dict[str, "np.ndarray"], int]:
    """Read the selected columns of a CSV as floats, streaming (a long recording never sits in
    memory as text).  Comment lines (#) and blank lines are skipped.

    select(names or None, width) -> {field: column index} is called once the header is known.
    Returns (header names or None, {field: values}, number of data rows).  Errors name the file,
    the line and the column.
    """
    import numpy as np

    line_no = [0]

    def content(fh):
        for number, line in enumerate(fh, start=1):
            if line.strip() and not line.lstrip().startswith("#"):
                line_no[0] = number
                yield line

    try:
        with _open_text(path) as fh:
            lines = content(fh)
            first = next(lines, None)
            if first is None:
                raise UserError(f"{path}: no data rows")
            if delimiter is None:
                delimiter = max([",", ";", "\t"], key=first.count)
                if first.count(delimiter) == 0:
                    delimiter = ","
            elif delimiter in ("\\t", "tab"):
                delimiter = "\t"
            first_cells = next(csv.reader([first], delimiter=delimiter))
            names = None
            pending = []
            if header and not all(_is_number(c) for c in first_cells if c.strip()):
                names = [c.strip() for c in first_cells]
            else:
                pending.append((line_no[0], first_cells))
            width = len(names) if names is not None else len(first_cells)
            index_of = select(names, width)
            labels = {f: repr(names[i]) if names is not None else str(i + 1) for f, i in index_of.items()}
            parts: dict[str, list] = {f: [] for f in index_of}
            rows = 0
            reader = csv.reader(lines, delimiter=delimiter)

            def flush(chunk):
                for field, col in index_of.items():
                    parts[field].append(_numbers(chunk, col, labels[field], path))

            chunk = pending
            for cells in reader:
                chunk.append((line_no[0], cells))
                if len(chunk) >= chunk_rows:
                    flush(chunk)
                    rows += len(chunk)
                    chunk = []
            if chunk:
                flush(chunk)
                rows += len(chunk)
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:
        if isinstance(exc, FileNotFoundError):
            raise UserError(f"{path}: no such file") from None
        if isinstance(exc, IsADirectoryError):
            raise UserError(f"{path}: is a directory, not a CSV file") from None
        raise UserError(f"{path}: cannot read as CSV text ({exc})") from None
    if rows == 0:
        raise UserError(f"{path}: a header but no data rows")
    return names, {f: np.concatenate(v) for f, v in parts.items()}, rows


def _column_index(ref: ColumnRef, names: list[str] | None, width: int, path: Path) -> int:
    if names is not None and ref.column in names:
        return names.index(ref.column)
    if re.fullmatch(r"\d+", ref.column):
        pos = int(ref.column)
        if not 1 <= pos <= width:
            raise UserError(f"{path}: column {pos} for {ref.field} is out of range (the file has {width} columns)")
        return pos - 1
    if names is None:
        raise UserError(f"{path}: has no header, so column {ref.column!r} for {ref.field} must be a position (1..{width})")
    close = [n for n in names if n.lower() == ref.column.lower()]
    hint = f"; did you mean {close[0]!r}?" if close else f" (columns: {', '.join(names[:12])}{', ...' if len(names) > 12 else ''})"
    raise UserError(f"{path}: no column {ref.column!r} for {ref.field}{hint}")


def _numbers(chunk: list[tuple[int, list[str]]], col: int, label: str, path: Path) -> "np.ndarray":
    import numpy as np

    cells = []
    for line, row in chunk:
        if col >= len(row):
            raise UserError(f"{path}: row {line} has {len(row)} fields, no column {label}")
        cells.append(row[col].strip())
    try:
        values = np.asarray(cells, dtype=float)
    except ValueError:
        for (line, _), cell in zip(chunk, cells):
            if not _is_number(cell):
                shown = repr(cell) if cell else "an empty cell"
                raise UserError(f"{path}: row {line}, column {label}: {shown} is not a number") from None
        raise
    bad = np.flatnonzero(~np.isfinite(values))
    if len(bad):
        line = chunk[int(bad[0])][0]
        raise UserError(f"{path}: row {line}, column {label}: {cells[bad[0]]!r} is not a finite number")
    return values


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _pick_range(peak: float, ranges: tuple[int, ...], unit_per_range: float) -> int:
    for r in ranges:
        if peak <= r * unit_per_range:
            return r
    return ranges[-1]


def _counts(values: np.ndarray, full_scale: float) -> tuple[np.ndarray, int]:
    import numpy as np
    counts = np.rint(values * (32768.0 / full_scale))
    clipped = int(np.count_nonzero((counts > _FULL) | (counts < -32768)))
    return np.clip(counts, -32768, _FULL).astype(np.int16), clipped


STANDARD_RANGES_G = (2, 4, 6, 8, 12, 16, 24, 32, 64, 100, 200, 400)


def saturated_samples(acc_g: np.ndarray, sensor_range_g: float | None = None) -> np.ndarray:
    """(n, 3) bool: readings where the recording sensor was at its full scale.

    With sensor_range_g: readings within 0.5 % of it.  Without: the largest magnitude in the
    recording counts as a full scale only when it lies within 1 % below a standard range (2, 4, 8,
    16 g, ...) and repeats in consecutive samples on one axis, which a sensor pinned at its limit
    does and a free peak does not (an 8-g sensor of 1/64 g resolution stops at 7.97 g).
    """
    import numpy as np
    mag = np.abs(acc_g)
    if sensor_range_g is not None:
        return mag >= 0.995 * sensor_range_g
    if mag.size == 0:
        return np.zeros_like(mag, bool)
    peak = float(mag.max())
    if not any(0.99 * r <= peak <= r for r in STANDARD_RANGES_G):
        return np.zeros_like(mag, bool)
    at_peak = mag >= peak - 1e-9
    if not np.any(at_peak[1:] & at_peak[:-1]):
        return np.zeros_like(mag, bool)
    return at_peak


def _check_units(acc_g: np.ndarray, gyr_dps: np.ndarray | None, units: dict, path: Path) -> None:
    import numpy as np
    magnitude = np.linalg.norm(acc_g, axis=1)
    med = float(np.median(magnitude))
    if units["acc"] == "g" and 5.0 < med < 20.0:
        raise UserError(f"{path}: accelerometer median |a| is {med:.1f} g, which looks like m/s^2; "
                        f"give --units acc=m/s2 (or --skip-unit-check)")
    if units["acc"] != "g" and med < 0.3:
        raise UserError(f"{path}: accelerometer median |a| is {med * G:.2f} m/s^2 = {med:.2f} g, which looks like g "
                        f"already; give --units acc=g (or --skip-unit-check)")
    if not 0.3 <= med <= 5.0:
        raise UserError(f"{path}: accelerometer median |a| is {med:.2f} g; expected about 1 g (gravity) — "
                        f"check --columns and --units (or --skip-unit-check)")
    if gyr_dps is not None and len(gyr_dps) > 10:
        p99 = float(np.percentile(np.linalg.norm(gyr_dps, axis=1), 99))
        moving = float(np.percentile(magnitude, 99)) > 2.0
        if units["gyr"] != "dps" and p99 > 5000:
            raise UserError(f"{path}: angular rate reaches {p99:.0f} deg/s after converting from rad/s, which looks "
                            f"like deg/s already; give --units gyr=dps (or --skip-unit-check)")
        if units["gyr"] == "dps" and moving and p99 < 20:
            raise UserError(f"{path}: angular rate stays below {p99:.1f} deg/s while the accelerometer shows running, "
                            f"which looks like rad/s; give --units gyr=rad/s (or --skip-unit-check)")


def _start_time(start: str | None, t0: float | None, path: Path) -> dt.datetime:
    if start:
        try:
            when = dt.datetime.fromisoformat(start)
        except ValueError:
            raise UserError(f"--start {start!r} is not an ISO time (e.g. 2026-11-22T07:30:00Z)") from None
        return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)
    if t0 is not None and t0 > EPOCH_2000:
        return dt.datetime.fromtimestamp(t0, dt.timezone.utc)
    return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.timezone.utc)


def _sample_indices(t: np.ndarray, rate: float | None, path: Path) -> tuple[np.ndarray, float]:
    """Sample counters from time stamps (gaps leave holes); checks the rate against them."""
    import numpy as np
    dt_s = np.diff(t)
    if len(dt_s) and np.any(dt_s <= 0):
        k = int(np.flatnonzero(dt_s <= 0)[0])
        raise UserError(f"{path}: time does not increase at data row {k + 2} ({t[k]!r} then {t[k + 1]!r})")
    if len(dt_s) == 0:
        if rate is None:
            raise UserError(f"{path}: one sample and no --rate")
        return np.zeros(1, np.int64), rate
    typical = float(np.median(dt_s))
    # the mean of the regular intervals (gaps left out): time stamps rounded to a few digits make
    # single intervals alternate (0.00240, 0.00241 s at 416 Hz), their mean is exact
    regular = dt_s[dt_s < 1.5 * typical]
    measured = len(regular) / float(regular.sum())
    if rate is None:
        rate = float(f"{measured:.9g}")
    elif abs(measured - rate) > 0.02 * rate:
        raise UserError(f"{path}: the time column says {measured:.4g} Hz but --rate is {rate:g} Hz "
                        f"(check --rate or the t unit, --units t=ms)")
    index = np.rint((t - t[0]) * rate).astype(np.int64)
    if np.any(np.diff(index) <= 0):
        k = int(np.flatnonzero(np.diff(index) <= 0)[0])
        raise UserError(f"{path}: data rows {k + 1} and {k + 2} fall on the same sample at {rate:g} Hz")
    return index, rate


def import_csv(file, base: Path, *, columns: str, rate_hz: float | None = None, units: str = "",
               mount: str = "shin", leg: str = "left", name: str | None = None, start: str | None = None,
               delimiter: str | None = None, header: bool = True, check_units: bool = True,
               sensor_range_g: float | None = None) -> ImportResult:
    """Import one CSV recording as a new run file under base; returns what was written."""
    import numpy as np
    from stridecue.record.runfile import RunWriter, run_file_path
    from stridecue.link.samples import SampleBlock

    path = Path(file)
    if rate_hz is not None and not (np.isfinite(rate_hz) and 1.0 <= rate_hz <= 10000.0):
        raise UserError(f"--rate {rate_hz:g} Hz is not a plausible sampling rate (1..10000)")
    if mount not in ("shin", "thigh"):
        raise UserError(f"--mount {mount!r}: shin or thigh")
    if leg not in ("left", "right"):
        raise UserError(f"--leg {leg!r}: left or right")
    if sensor_range_g is not None and not sensor_range_g > 0:
        raise UserError(f"--sensor-range {sensor_range_g:g} g must be positive")
    refs = parse_columns(columns)
    unit = parse_units(units)
    if "t" not in refs and rate_hz is None:
        raise UserError("--rate is required when no time column is given (--columns t=...)")
    resolved: dict[str, int] = {}

    def select(names: list[str] | None, width: int) -> dict[str, int]:
        index_of = {f: _column_index(r, names, width, path) for f, r in refs.items()}
        readers: dict[int, list[str]] = {}
        for f, i in index_of.items():
            readers.setdefault(i, []).append(f)
        for fs in readers.values():
            if len(fs) > 1:
                raise UserError(f"--columns: {' and '.join(fs)} both read column {refs[fs[0]].column!r}")
        resolved.update(index_of)
        return index_of

    names, columns, n_rows = read_table(path, delimiter=delimiter, header=header, select=select)

    def values(field: str) -> np.ndarray:
        v = columns[field]
        return -v if refs[field].negate else v

    acc = np.column_stack([values(f) for f in ACC_FIELDS]) * ACC_UNITS[unit["acc"]]
    has_gyro = all(f in refs for f in GYR_FIELDS)
    gyr = np.column_stack([values(f) for f in GYR_FIELDS]) * GYR_UNITS[unit["gyr"]] if has_gyro else None
    t = values("t") * TIME_UNITS[unit["t"]] if "t" in refs else None
    if check_units:
        _check_units(acc, gyr, unit, path)
    if t is not None:
        index, rate = _sample_indices(t, rate_hz, path)
    else:
        index, rate = np.arange(len(acc), dtype=np.int64), float(rate_hz)
    warnings = _check_rate(acc, gyr, rate, path, check_band=check_units)

    saturated = saturated_samples(acc, sensor_range_g)
    accel_g = _pick_range(float(np.abs(acc).max()), ACCEL_RANGES_G, 1.0)
    # gyro code 0 marks an accelerometer-only sensor (the analysis then segments from accel alone)
    gyro_code = _pick_range(float(np.abs(gyr).max()), GYRO_RANGE_CODES, 125.0) if has_gyro else 0
    raw = np.zeros((len(acc), 6), np.int16)
    raw[:, :3], clipped_acc = _counts(acc, accel_g)
    # readings where the source sensor saturated sit at full scale here, so they are flagged clipped
    raw[:, :3][saturated & (acc > 0)] = _FULL
    raw[:, :3][saturated & (acc < 0)] = -32768
    clipped_gyr = 0
    if has_gyro:
        raw[:, 3:], clipped_gyr = _counts(gyr, gyro_code * 125.0)
    at_full_scale = int(np.count_nonzero(np.any((raw[:, :3] >= _FULL) | (raw[:, :3] <= -32768), axis=1)))

    start_time = _start_time(start, float(t[0]) if t is not None else None, path)
    sensor_name = name or re.sub(r"\.csv(\.gz)?$", "", path.name, flags=re.I)
    out = run_file_path(base, start_time, f"import-{sensor_name}")
    digest = _sha256(path)
    mapping = {f: ("-" if r.negate else "") + (names[resolved[f]] if names is not None else f"#{resolved[f] + 1}")
               for f, r in refs.items()}
    missing = int(index[-1] + 1 - len(index))
    metadata = {
        "start_time": start_time.isoformat(),
        "simulated": False,
        "imported": {
            "source_file": str(path.resolve()),
            "source_sha256": digest,
            "rows": n_rows,
            "columns": mapping,
            "units": unit,
            "rate_hz": rate,
            "rate_from": "time column" if t is not None and rate_hz is None else "--rate",
            "accel_clipped_values": clipped_acc,
            "source_saturated_values": int(saturated.sum()),
            "source_range_g": sensor_range_g,
            "gyro_clipped_values": clipped_gyr,
            "has_gyro": has_gyro,
            "warnings": warnings,
            "imported_at": dt.datetime.now(dt.timezone.utc).isoformat(),
        },
        "sensors": [{
            "slot": 0, "name": sensor_name, "imu": "imported", "rate": rate, "accel_g": accel_g,
            "gyro_dps": gyro_code * 125 if has_gyro else None, "has_gyro": has_gyro,
            "mount": mount, "leg": leg,
        }],
    }
    with RunWriter(out, metadata, sync_interval=3600.0) as writer:
        chunk = max(1, int(round(rate)))
        for s in range(0, len(index), chunk):
            writer.write_samples(SampleBlock(index=index[s:s + chunk], raw=raw[s:s + chunk], rate=rate,
                                             accel_g=accel_g, gyro_code=gyro_code, sensor=0))
        # holes in the time column: samples that will never arrive, recorded as such
        holes = np.flatnonzero(np.diff(index) > 1)
        for k in holes:
            writer.write_missing(0, int(index[k] + 1), int(index[k + 1] - index[k] - 1))
        writer.close(summary={"imported": True, "samples": len(index), "missing_samples": missing,
                              "sensor_clipped": at_full_scale})
    return ImportResult(path=out, samples=len(index), missing=missing, rate_hz=rate,
                        duration_s=(int(index[-1]) + 1) / rate, accel_g=accel_g,
                        gyro_dps=gyro_code * 125 if has_gyro else 0, has_gyro=has_gyro, clipped=at_full_scale,
                        warnings=tuple(warnings))


def _check_rate(acc: np.ndarray, gyr: np.ndarray | None, rate: float, path: Path, check_band: bool = True) -> list[str]:
    """Refuse rates the analysis cannot use (the declared one, the effective one of repeated
    values, and a gyro whose content is too fast for the rate given); the warnings to keep."""
    import numpy as np
    from stridecue.analysis.guards import GYRO_BAND_MAX_HZ, check_effective_rate, check_rate, gyro_band_hz

    has_gyro = gyr is not None
    check_rate(rate, has_gyro, str(path))
    values = acc if gyr is None else np.column_stack([acc, gyr])
    warning = check_effective_rate(values, rate, has_gyro, str(path))
    if has_gyro and check_band:
        band = gyro_band_hz(gyr, rate)
        if band is not None and band > GYRO_BAND_MAX_HZ:
            raise UserError(f"{path}: at {rate:g} Hz the angular rate has 5% of its power above {band:.0f} Hz, where a "
                            f"running leg stays below {GYRO_BAND_MAX_HZ:g} Hz: the rows are further apart than "
                            f"1/{rate:g} s (wrong --rate, or values resampled from a slower clock); "
                            f"give the true rate or a time column (or --skip-unit-check)")
    return [warning] if warning else []
