"""Turn a CSV recording of another IMU (lab sensor, phone, another logger) into a StrideCue run,
so that summary, replay, export and validate work on it like on any recorded run.

Columns (--columns): comma-separated FIELD=COLUMN pairs.  FIELD is one of
  t            time stamp (optional; with it, gaps and the rate are checked)
  ax ay az     acceleration (required)
  gx gy gz     angular rate (optional: all three or none; without them the run is accel-only)
  sensor       which sensor a row is from (optional; a column named "sensor" is read anyway):
               a file of two sensors, like `stridecue export --format csv` of a two-sensor run,
               becomes one run of both (slots 0 and 1 in the order of their numbers); --sensor N
               imports one.  Columns named mount and leg (the export writes them) say how each
               was worn; without them give --leg both (left, right) or --mount thigh+shin
               (shin, thigh), as `stridecue run` takes two sensors.  Sensors of one file share a rate.
COLUMN is a header name, or a 1-based column position as a number (a header name wins).
A leading '-' flips the sign of that axis.  Examples:
  --columns t=time,ax=AccX,ay=AccY,az=AccZ,gx=GyrX,gy=GyrY,gz=GyrZ
  --columns ax=2,ay=3,az=4                 (no gyroscope; positions)
StrideCue's own samples export needs no --columns (they default to t=t_s,ax=ax_g,...,gz=gz_dps).

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
    EXPORT_COLUMNS,
    G,
    GYR_FIELDS,
    GYR_UNITS,
    TIME_UNITS,
    ColumnRef,
    is_our_export,
    parse_columns,
    parse_units,
    read_columns,
    read_header,
)
from stridecue.record.import_counts import Counts, saturated_samples, to_counts  # noqa: F401 (saturated_samples: lab)
from stridecue.record.import_sensors import LEGS, MOUNTS, SensorRows, split_sensors

# numpy is imported inside the functions that use it: `stridecue --help` imports this module to
# build its options, and must stay fast.

EPOCH_2000 = 946684800.0  # a time column above this is taken as Unix epoch seconds


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (__doc__ or "").strip().split("\n\n", 1)[1]
    parser.add_argument("file", metavar="FILE", help="the recording: CSV (or .csv.gz), one row per sample; or a StrideCue run file"
                                                     " (.scrun), copied into the data directory and so added to history")
    parser.add_argument("--columns", metavar="SPEC",
                        help="which column holds what, e.g. t=time,ax=AccX,ay=AccY,az=AccZ[,gx=..,gy=..,gz=..] "
                             "(required for a CSV other than StrideCue's own samples export)")
    parser.add_argument("--rate", type=float, metavar="HZ",
                        help="sampling rate in Hz (required unless a t column is given)")
    parser.add_argument("--units", default="", metavar="SPEC",
                        help="e.g. acc=m/s2,gyr=rad/s,t=ms (default acc=g,gyr=dps,t=s)")
    parser.add_argument("--mount", choices=MOUNTS, help="where the IMU was worn (default: the file's mount column, else shin); "
                                                        "thigh+shin: a file of two sensors, shin then thigh of one leg")
    parser.add_argument("--leg", choices=LEGS, help="which leg (default: the file's leg column, else left); "
                                                    "both: a file of two sensors, left then right")
    parser.add_argument("--name", metavar="NAME", help="sensor name in the run (default: the file's name)")
    parser.add_argument("--start", metavar="ISO-TIME",
                        help="when the recording began (default: from an epoch time column, else the file's time)")
    parser.add_argument("--delimiter", metavar="CHAR", help="field separator (default: detected among , ; tab)")
    parser.add_argument("--no-header", action="store_true", help="the first row is data (columns by position only)")
    parser.add_argument("--sensor-range", type=float, metavar="G",
                        help="the recording accelerometer's full scale in g: readings at it are marked clipped "
                             "(default: detected where readings sit at a standard full scale)")
    parser.add_argument("--sensor", type=float, metavar="N",
                        help="with a sensor column: import the rows of sensor N only (default: every sensor, "
                             "one or two, into one run)")
    parser.add_argument("--skip-unit-check", action="store_true",
                        help="import even when the values do not look like the units given")


def main(args: argparse.Namespace, base: Path) -> int:
    if str(args.file).endswith(".scrun"):
        return _import_run_file(args, base)
    columns = args.columns
    if not columns:
        if args.no_header or not is_our_export(read_header(Path(args.file), args.delimiter)):
            raise UserError("--columns is required for a CSV recording (e.g. --columns t=time,ax=AccX,ay=AccY,az=AccZ)")
        columns = EXPORT_COLUMNS
    result = import_csv(
        args.file, base, columns=columns, rate_hz=args.rate, units=args.units, mount=args.mount,
        leg=args.leg, name=args.name, start=args.start, delimiter=args.delimiter,
        header=not args.no_header, check_units=not args.skip_unit_check, sensor_range_g=args.sensor_range,
        sensor=args.sensor,
    )
    sensors = f"{len(result.sensors)} sensors ({', '.join(result.sensors)}), " if len(result.sensors) > 1 else ""
    print(f"imported {sensors}{result.samples} samples ({result.duration_s:.1f} s at {result.rate_hz:g} Hz,"
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
    sensors: tuple = ()  # how each sensor was worn, in slot order ("left shin", ...)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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


def _sample_indices(t: np.ndarray, rate: float | None, path: Path,
                    origin: float | None = None) -> tuple[np.ndarray, float]:
    """Sample counters from time stamps (gaps leave holes), counted from origin (default: the first
    time stamp); checks the rate against them."""
    import numpy as np
    dt_s = np.diff(t)
    if len(dt_s) and np.any(dt_s <= 0):
        k = int(np.flatnonzero(dt_s <= 0)[0])
        raise UserError(f"{path}: time does not increase at data row {k + 2} ({float(t[k])!r} then {float(t[k + 1])!r})")
    if len(dt_s) == 0:
        if rate is None:
            raise UserError(f"{path}: one sample and no --rate")
        return np.full(1, 0 if origin is None else round((float(t[0]) - origin) * rate), np.int64), rate
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
    # counted from the first stamp, then moved by the offset to origin rounded once: a sensor half
    # a sample out of step with another cannot round two of its rows onto one counter
    index = np.rint((t - t[0]) * rate).astype(np.int64) + (0 if origin is None else round((float(t[0]) - origin) * rate))
    if np.any(np.diff(index) <= 0):
        k = int(np.flatnonzero(np.diff(index) <= 0)[0])
        raise UserError(f"{path}: data rows {k + 1} and {k + 2} fall on the same sample at {rate:g} Hz")
    return index, rate


@dataclass(frozen=True)
class _Sensor:
    """One sensor of the file, ready to be written: where it came from, its sample counters on the
    run's clock, its counts, the warnings to keep."""

    rows: SensorRows
    index: np.ndarray
    counts: Counts
    warnings: list


def import_csv(file, base: Path, *, columns: str, rate_hz: float | None = None, units: str = "",
               mount: str | None = None, leg: str | None = None, name: str | None = None, start: str | None = None,
               delimiter: str | None = None, header: bool = True, check_units: bool = True,
               sensor_range_g: float | None = None, sensor: float | None = None) -> ImportResult:
    """Import one CSV recording as a new run file under base (one sensor, or the one or two of a
    sensor column: record/import_sensors.py); returns what was written.  mount/leg: None takes the
    file's word, else shin/left."""
    from stridecue.record.runfile import open_new_run

    path = Path(file)
    _check_options(rate_hz, mount, leg, sensor_range_g)
    refs = parse_columns(columns)
    unit = parse_units(units)
    if "t" not in refs and rate_hz is None:
        raise UserError("--rate is required when no time column is given (--columns t=...)")
    names, table, n_rows, resolved, words = read_columns(path, refs, delimiter=delimiter, header=header)
    found = split_sensors(table, words, path, sensor=sensor, mount=mount, leg=leg)
    where = [f"{path} (sensor {s.number:g})" if len(found) > 1 else path for s in found]
    physical = [_physical(s.table, refs, unit) for s in found]
    if check_units:
        for (acc, gyr, _t), w in zip(physical, where):
            _check_units(acc, gyr, unit, w)
    times = [t for *_, t in physical]
    # our own export's t_s is the sensor's sample counter / rate: from time zero, the counters come
    # back as recorded (the analysis' windows fall where they fell in the original run)
    ours = names is not None and "index" in names and names[resolved["t"]] == "t_s" if "t" in refs else False
    indices, rate = _clock(times, [len(acc) for acc, *_ in physical], rate_hz, where, path, from_zero=ours)
    sensors = []
    for s, (acc, gyr, _t), index, w in zip(found, physical, indices, where):
        _check_length(index, rate, w)
        warnings = _check_rate(acc, gyr, rate, w, check_band=check_units)
        sensors.append(_Sensor(s, index, to_counts(acc, gyr, sensor_range_g), warnings))

    start_time = _start_time(start, min(float(t[0]) for t in times) if times[0] is not None else None, path)
    sensor_name = name or re.sub(r"\.csv(\.gz)?$", "", path.name, flags=re.I)
    mapping = {f: ("-" if r.negate else "") + (names[resolved[f]] if names is not None else f"#{resolved[f] + 1}")
               for f, r in refs.items()}
    imported = _imported(path, n_rows, sensor, mapping, unit, rate, "time column" if times[0] is not None and rate_hz is None
                         else "--rate", sensor_range_g, sensors)
    metadata = {"start_time": start_time.isoformat(), "simulated": False, "imported": imported,
                "sensors": [_sensor_entry(k, sensor_name, s, rate, len(sensors)) for k, s in enumerate(sensors)]}
    with open_new_run(base, start_time, f"import-{sensor_name}", metadata, sync_interval=3600.0) as writer:
        missing = _write_samples(writer, sensors, rate)
    return ImportResult(path=writer.path, samples=sum(len(s.index) for s in sensors), missing=missing, rate_hz=rate,
                        duration_s=max(int(s.index[-1]) + 1 for s in sensors) / rate,
                        accel_g=max(s.counts.accel_g for s in sensors),
                        gyro_dps=max(s.counts.gyro_code for s in sensors) * 125, has_gyro=sensors[0].counts.has_gyro,
                        clipped=sum(s.counts.at_full_scale for s in sensors),
                        warnings=tuple(w for s in sensors for w in s.warnings),
                        sensors=tuple(s.rows.describe() for s in sensors))


def _imported(path: Path, n_rows: int, sensor: float | None, mapping: dict, unit: dict, rate: float, rate_from: str,
              sensor_range_g: float | None, sensors: list[_Sensor]) -> dict:
    """The run metadata's "imported": where the samples came from and what became of them."""
    return {
        "source_file": str(path.resolve()),
        "source_sha256": _sha256(path),
        "rows": n_rows,
        "sensor": sensor,
        "columns": mapping,
        "units": unit,
        "rate_hz": rate,
        "rate_from": rate_from,
        "accel_clipped_values": sum(s.counts.clipped_acc for s in sensors),
        "source_saturated_values": sum(s.counts.saturated_values for s in sensors),
        "source_range_g": sensor_range_g,
        "gyro_clipped_values": sum(s.counts.clipped_gyr for s in sensors),
        "has_gyro": sensors[0].counts.has_gyro,
        "warnings": [w for s in sensors for w in s.warnings],
        "imported_at": dt.datetime.now(dt.timezone.utc).isoformat(),
    }


def _sensor_entry(slot: int, name: str, sensor: _Sensor, rate: float, count: int) -> dict:
    """The run metadata's entry of one sensor (slot 0, or 0 and 1)."""
    c, number = sensor.counts, sensor.rows.number
    entry = {
        "slot": slot, "name": name if count == 1 else f"{name}-{number:g}", "imu": "imported", "rate": rate,
        "accel_g": c.accel_g, "gyro_dps": c.gyro_code * 125 if c.has_gyro else None, "has_gyro": c.has_gyro,
        "mount": sensor.rows.mount, "leg": sensor.rows.leg,
    }
    if number is not None:
        entry["source_sensor"] = number
    return entry


def _clock(times: list, lengths: list[int], rate_hz: float | None, where: list, path: Path,
           from_zero: bool = False) -> tuple[list, float]:
    """The sample counters of each sensor on one clock (counter 0: the first time stamp of any
    sensor, so two sensors keep their offset; with from_zero, time 0 when no stamp is below it),
    and the rate they share."""
    import numpy as np

    if times[0] is None:
        return [np.arange(n, dtype=np.int64) for n in lengths], float(rate_hz)
    rates = [_sample_indices(t, rate_hz, w)[1] for t, w in zip(times, where)]
    if max(rates) > 1.001 * min(rates):
        each = ", ".join(f"{r:.4g} Hz" for r in rates)
        raise UserError(f"{path}: its sensors run at different rates ({each}); one run's sensors share a rate: "
                        f"import them one at a time with --sensor N")
    rate = rates[0] if len(rates) == 1 else float(f"{np.mean(rates):.9g}")
    origin = min(float(t[0]) for t in times)
    origin = min(origin, 0.0) if from_zero else origin
    return [_sample_indices(t, rate, w, origin)[0] for t, w in zip(times, where)], rate


MIN_IMPORT_S = 1.0  # a running stride takes about 0.7 s; less than this holds none to analyse


def _check_length(index: np.ndarray, rate: float, path: Path) -> None:
    seconds = (int(index[-1]) - int(index[0]) + 1) / rate
    if seconds < MIN_IMPORT_S:
        raise UserError(f"{path}: only {len(index)} samples ({seconds:.2f} s at {rate:g} Hz); an import needs at least "
                        f"{MIN_IMPORT_S:g} s of samples to hold a stride")


def _check_options(rate_hz: float | None, mount: str | None, leg: str | None, sensor_range_g: float | None) -> None:
    """UserError for an option out of its range (before the file is read)."""
    import numpy as np

    if rate_hz is not None and not (np.isfinite(rate_hz) and 1.0 <= rate_hz <= 10000.0):
        raise UserError(f"--rate {rate_hz:g} Hz is not a plausible sampling rate (1..10000)")
    if mount is not None and mount not in MOUNTS:
        raise UserError(f"--mount {mount!r}: {', '.join(MOUNTS)}")
    if leg is not None and leg not in LEGS:
        raise UserError(f"--leg {leg!r}: {', '.join(LEGS)}")
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


def _write_samples(writer, sensors: list[_Sensor], rate: float) -> int:
    """Write the samples, one second of every sensor at a time (as a recording interleaves them),
    each hole in a sensor's time column as a missing range, and the closing summary.  The number
    of missing samples."""
    import numpy as np
    from stridecue.link.samples import SampleBlock

    chunk = max(1, int(round(rate)))
    for first in range(0, max(int(s.index[-1]) for s in sensors) + 1, chunk):
        for slot, s in enumerate(sensors):
            a, b = np.searchsorted(s.index, [first, first + chunk])
            if b > a:
                writer.write_samples(SampleBlock(index=s.index[a:b], raw=s.counts.raw[a:b], rate=rate,
                                                 accel_g=s.counts.accel_g, gyro_code=s.counts.gyro_code, sensor=slot))
    missing = 0
    for slot, s in enumerate(sensors):
        # holes in the time column: samples that will never arrive, recorded as such
        for k in np.flatnonzero(np.diff(s.index) > 1):
            writer.write_missing(slot, int(s.index[k] + 1), int(s.index[k + 1] - s.index[k] - 1))
        missing += int(s.index[-1] - s.index[0] + 1 - len(s.index))
    writer.close(summary={"imported": True, "samples": sum(len(s.index) for s in sensors), "missing_samples": missing,
                          "sensor_clipped": sum(s.counts.at_full_scale for s in sensors)})
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
