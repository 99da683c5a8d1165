"""Turn a CSV recording of another IMU (lab sensor, phone, another logger) into a StrideCue run,
so that summary, replay, export and validate work on it like on any recorded run.

Columns (--columns): comma-separated FIELD=COLUMN pairs.  FIELD is one of
  t            time stamp (optional; with it, gaps and the rate are checked)
  ax ay az     acceleration (required)
  gx gy gz     angular rate (optional: all three or none; without them the run is accel-only)
  sensor       which sensor a row is from (optional; a column named "sensor" is read anyway):
               a file of several sensors, like `stridecue export --format csv`, is imported
               one sensor at a time with --sensor N
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

A StrideCue run file (FILE.scrun, e.g. recorded on another computer) is imported as it is: copied
into the data directory (never overwriting; the original is only read) and so added to history.
`stridecue summary FILE` only reads a file; importing is the one way to add it to history.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from stridecue.errors import UserError
from stridecue.record.csv_columns import (
    ACC_FIELDS,
    ACC_UNITS,
    G,
    GYR_FIELDS,
    GYR_UNITS,
    SENSOR_FIELD,
    TIME_UNITS,
    ColumnRef,
    parse_columns,
    parse_units,
    read_columns,
)

# numpy is imported inside the functions that use it: `stridecue --help` imports this module to
# build its options, and must stay fast.

ACCEL_RANGES_G = (2, 4, 8, 16, 32)
GYRO_RANGE_CODES = (1, 2, 4, 8, 16)  # x 125 dps
_FULL = 32767

EPOCH_2000 = 946684800.0  # a time column above this is taken as Unix epoch seconds


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (__doc__ or "").strip().split("\n\n", 1)[1]
    parser.add_argument("file", metavar="FILE", help="the recording: CSV (or .csv.gz), one row per sample; or a StrideCue run file"
                                                     " (.scrun), copied into the data directory and so added to history")
    parser.add_argument("--columns", metavar="SPEC",
                        help="which column holds what, e.g. t=time,ax=AccX,ay=AccY,az=AccZ[,gx=..,gy=..,gz=..] (required for a CSV)")
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
    parser.add_argument("--sensor", type=float, metavar="N",
                        help="with a sensor column holding several sensors: import the rows of sensor N")
    parser.add_argument("--skip-unit-check", action="store_true",
                        help="import even when the values do not look like the units given")


def main(args: argparse.Namespace, base: Path) -> int:
    if str(args.file).endswith(".scrun"):
        return _import_run_file(args, base)
    if not args.columns:
        raise UserError("--columns is required for a CSV recording (e.g. --columns t=time,ax=AccX,ay=AccY,az=AccZ)")
    result = import_csv(
        args.file, base, columns=args.columns, rate_hz=args.rate, units=args.units, mount=args.mount,
        leg=args.leg, name=args.name, start=args.start, delimiter=args.delimiter,
        header=not args.no_header, check_units=not args.skip_unit_check, sensor_range_g=args.sensor_range,
        sensor=args.sensor,
    )
    print(f"imported {result.samples} samples ({result.duration_s:.1f} s at {result.rate_hz:g} Hz,"
          f" ±{result.accel_g} g" + (f", ±{result.gyro_dps} dps" if result.has_gyro else ", no gyroscope")
          + (f", {result.missing} missing" if result.missing else "")
          + (f", {result.clipped} clipped" if result.clipped else "") + f") to {result.path}")
    for w in result.warnings:
        print(f"warning: {w}", file=sys.stderr)
    return 0


def _import_run_file(args: argparse.Namespace, base: Path) -> int:
    """`stridecue import FILE.scrun`: the run file copied into the data directory, in history."""
    from stridecue.record.library import import_run_file
    from stridecue.record.store import RunStore

    path, copied = import_run_file(base, args.file)
    with RunStore.open(base) as store:
        try:
            run = store.run(store.ingest(path))
        except UserError:
            if copied:  # a run history cannot analyse is not added to it
                path.unlink(missing_ok=True)
            raise
    print(f"{'imported' if copied else 'already in history'}: run {run['id']} ({run['name']}), {path}")
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
        raise UserError(f"{path}: time does not increase at data row {k + 2} ({float(t[k])!r} then {float(t[k + 1])!r})")
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
               sensor_range_g: float | None = None, sensor: float | None = None) -> ImportResult:
    """Import one CSV recording as a new run file under base; returns what was written."""
    import numpy as np
    from stridecue.record.runfile import run_file_path

    path = Path(file)
    _check_options(rate_hz, mount, leg, sensor_range_g)
    refs = parse_columns(columns)
    unit = parse_units(units)
    if "t" not in refs and rate_hz is None:
        raise UserError("--rate is required when no time column is given (--columns t=...)")
    names, table, n_rows, resolved = read_columns(path, refs, delimiter=delimiter, header=header)
    table, n_rows = _one_sensor(table, n_rows, sensor, path)
    acc, gyr, t = _physical(table, refs, unit)
    if check_units:
        _check_units(acc, gyr, unit, path)
    if t is not None:
        index, rate = _sample_indices(t, rate_hz, path)
    else:
        index, rate = np.arange(len(acc), dtype=np.int64), float(rate_hz)
    _check_length(index, rate, path)
    warnings = _check_rate(acc, gyr, rate, path, check_band=check_units)
    counts = _to_counts(acc, gyr, sensor_range_g)

    start_time = _start_time(start, float(t[0]) if t is not None else None, path)
    sensor_name = name or re.sub(r"\.csv(\.gz)?$", "", path.name, flags=re.I)
    out = run_file_path(base, start_time, f"import-{sensor_name}")
    mapping = {f: ("-" if r.negate else "") + (names[resolved[f]] if names is not None else f"#{resolved[f] + 1}")
               for f, r in refs.items()}
    imported = {
        "source_file": str(path.resolve()),
        "source_sha256": _sha256(path),
        "rows": n_rows,
        "sensor": sensor,
        "columns": mapping,
        "units": unit,
        "rate_hz": rate,
        "rate_from": "time column" if t is not None and rate_hz is None else "--rate",
        "accel_clipped_values": counts.clipped_acc,
        "source_saturated_values": counts.saturated_values,
        "source_range_g": sensor_range_g,
        "gyro_clipped_values": counts.clipped_gyr,
        "has_gyro": counts.has_gyro,
        "warnings": warnings,
        "imported_at": dt.datetime.now(dt.timezone.utc).isoformat(),
    }
    sensor = {
        "slot": 0, "name": sensor_name, "imu": "imported", "rate": rate, "accel_g": counts.accel_g,
        "gyro_dps": counts.gyro_code * 125 if counts.has_gyro else None, "has_gyro": counts.has_gyro,
        "mount": mount, "leg": leg,
    }
    metadata = {"start_time": start_time.isoformat(), "simulated": False, "imported": imported, "sensors": [sensor]}
    missing = _write_run(out, metadata, index, rate, counts)
    return ImportResult(path=out, samples=len(index), missing=missing, rate_hz=rate,
                        duration_s=(int(index[-1]) + 1) / rate, accel_g=counts.accel_g,
                        gyro_dps=counts.gyro_code * 125 if counts.has_gyro else 0, has_gyro=counts.has_gyro,
                        clipped=counts.at_full_scale, warnings=tuple(warnings))


MIN_IMPORT_S = 1.0  # a running stride takes about 0.7 s; less than this holds none to analyse


def _one_sensor(table: dict, n_rows: int, sensor: float | None, path: Path) -> tuple[dict, int]:
    """The rows of one sensor when the file says which sensor each row is from (--sensor N)."""
    import numpy as np

    if SENSOR_FIELD not in table:
        if sensor is not None:
            raise UserError(f"{path}: --sensor {sensor:g} given but the file has no sensor column")
        return table, n_rows
    column = table.pop(SENSOR_FIELD)
    present = sorted(set(np.unique(column).tolist()))
    if sensor is None:
        if len(present) == 1:
            return table, n_rows
        shown = ", ".join(f"{v:g}" for v in present)
        raise UserError(f"{path}: holds {len(present)} sensors (sensor {shown}); import one at a time with --sensor N")
    keep = column == sensor
    if not keep.any():
        raise UserError(f"{path}: no rows of sensor {sensor:g} (sensors: {', '.join(f'{v:g}' for v in present)})")
    return {f: v[keep] for f, v in table.items()}, int(keep.sum())


def _check_length(index: np.ndarray, rate: float, path: Path) -> None:
    seconds = (int(index[-1]) + 1) / rate
    if seconds < MIN_IMPORT_S:
        raise UserError(f"{path}: only {len(index)} samples ({seconds:.2f} s at {rate:g} Hz); an import needs at least "
                        f"{MIN_IMPORT_S:g} s of samples to hold a stride")


def _check_options(rate_hz: float | None, mount: str, leg: str, sensor_range_g: float | None) -> None:
    """UserError for an option out of its range (before the file is read)."""
    import numpy as np

    if rate_hz is not None and not (np.isfinite(rate_hz) and 1.0 <= rate_hz <= 10000.0):
        raise UserError(f"--rate {rate_hz:g} Hz is not a plausible sampling rate (1..10000)")
    if mount not in ("shin", "thigh"):
        raise UserError(f"--mount {mount!r}: shin or thigh")
    if leg not in ("left", "right"):
        raise UserError(f"--leg {leg!r}: left or right")
    if sensor_range_g is not None and not sensor_range_g > 0:
        raise UserError(f"--sensor-range {sensor_range_g:g} g must be positive")


def _physical(table: dict[str, np.ndarray], refs: dict[str, ColumnRef],
              unit: dict[str, str]) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """(acc (n, 3) g, gyr (n, 3) deg/s or None, t (n,) s or None): the columns read, signs flipped
    as --columns says and converted from the --units given."""
    import numpy as np

    def values(field: str) -> np.ndarray:
        v = table[field]
        return -v if refs[field].negate else v

    acc = np.column_stack([values(f) for f in ACC_FIELDS]) * ACC_UNITS[unit["acc"]]
    has_gyro = all(f in refs for f in GYR_FIELDS)
    gyr = np.column_stack([values(f) for f in GYR_FIELDS]) * GYR_UNITS[unit["gyr"]] if has_gyro else None
    t = values("t") * TIME_UNITS[unit["t"]] if "t" in refs else None
    return acc, gyr, t


@dataclass(frozen=True)
class _Counts:
    """The samples as the sensor would store them: int16 raw (n, 6) at the chosen ranges."""

    raw: np.ndarray
    accel_g: int
    gyro_code: int  # x 125 dps; 0 marks an accelerometer-only sensor
    has_gyro: bool
    clipped_acc: int  # values beyond the widest accelerometer range
    clipped_gyr: int
    saturated_values: int  # values where the source sensor was at its full scale
    at_full_scale: int  # samples with an accelerometer axis at full scale here


def _to_counts(acc: np.ndarray, gyr: np.ndarray | None, sensor_range_g: float | None) -> _Counts:
    import numpy as np

    has_gyro = gyr is not None
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
    return _Counts(raw, accel_g, gyro_code, has_gyro, clipped_acc, clipped_gyr, int(saturated.sum()), at_full_scale)


def _write_run(out: Path, metadata: dict, index: np.ndarray, rate: float, counts: _Counts) -> int:
    """Write the run file: the samples in one-second chunks, each hole in the time column as a
    missing range, and the closing summary.  The number of missing samples."""
    import numpy as np
    from stridecue.link.samples import SampleBlock
    from stridecue.record.runfile import RunWriter

    missing = int(index[-1] + 1 - len(index))
    raw = counts.raw
    with RunWriter(out, metadata, sync_interval=3600.0) as writer:
        chunk = max(1, int(round(rate)))
        for s in range(0, len(index), chunk):
            writer.write_samples(SampleBlock(index=index[s:s + chunk], raw=raw[s:s + chunk], rate=rate,
                                             accel_g=counts.accel_g, gyro_code=counts.gyro_code, sensor=0))
        # holes in the time column: samples that will never arrive, recorded as such
        holes = np.flatnonzero(np.diff(index) > 1)
        for k in holes:
            writer.write_missing(0, int(index[k] + 1), int(index[k + 1] - index[k] - 1))
        writer.close(summary={"imported": True, "samples": len(index), "missing_samples": missing,
                              "sensor_clipped": counts.at_full_scale})
    return missing


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
