"""Reading another IMU's CSV for `stridecue import`: the --columns and --units specs, and the
selected columns of the file as floats.  What the numbers become (counts, ranges, a run file)
is importer.py's.

numpy is imported inside the functions that use it: `stridecue --help` imports this module
(through importer.py) to build its options, and must stay fast.
"""

from __future__ import annotations

import csv
import gzip
import math
import re
from dataclasses import dataclass
from pathlib import Path

from stridecue.errors import UserError

ACC_FIELDS = ("ax", "ay", "az")
GYR_FIELDS = ("gx", "gy", "gz")
SENSOR_FIELD = "sensor"  # which sensor a row is from (StrideCue's own CSV export holds every sensor of a run)
FIELDS = ("t",) + ACC_FIELDS + GYR_FIELDS + (SENSOR_FIELD,)
TEXT_FIELDS = ("mount", "leg")  # how a sensor was worn: read by header name when the file has them (our export does)
# StrideCue's own samples export (review/export.py): its columns, so importing it needs no --columns
EXPORT_COLUMNS = "t=t_s,ax=ax_g,ay=ay_g,az=az_g,gx=gx_dps,gy=gy_dps,gz=gz_dps"

G = 9.80665
ACC_UNITS = {"g": 1.0, "m/s2": 1 / G, "m/s^2": 1 / G, "mps2": 1 / G, "ms2": 1 / G, "m/s²": 1 / G}
GYR_UNITS = {"dps": 1.0, "deg/s": 1.0, "°/s": 1.0, "rad/s": 180 / math.pi, "rads": 180 / math.pi}
TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6}


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


class _ContentLines:
    """The lines of a text file that hold data (comment lines, #, and blank lines skipped);
    number is the 1-based line number of the last one given."""

    def __init__(self, fh):
        self._fh = enumerate(fh, start=1)
        self.number = 0

    def __iter__(self):
        return self

    def __next__(self) -> str:
        for number, line in self._fh:
            if line.strip() and not line.lstrip().startswith("#"):
                self.number = number
                return line
        raise StopIteration


def _delimiter(first: str, delimiter: str | None) -> str:
    """The field separator: the one given (tab as \\t or tab), else the most frequent of , ; tab
    in the first line (a comma when none is there)."""
    if delimiter is None:
        delimiter = max([",", ";", "\t"], key=first.count)
        if first.count(delimiter) == 0:
            delimiter = ","
    elif delimiter in ("\\t", "tab"):
        delimiter = "\t"
    return delimiter


def read_table(path: Path, *, delimiter: str | None, header: bool, select, texts: dict[str, dict[str, int]] | None = None,
               chunk_rows: int = 50_000) -> tuple[list[str] | None, dict[str, "np.ndarray"], int]:
    """Read the selected columns of a CSV as floats, streaming (a long recording never sits in
    memory as text).  Comment lines (#) and blank lines are skipped.

    select(names or None, width) -> {field: column index} is called once the header is known.
    texts: {field: {}} for selected fields that hold words: each becomes an array of codes, and its
    dict is filled with {word: code}.
    Returns (header names or None, {field: values}, number of data rows).  Errors name the file,
    the line and the column.
    """
    import numpy as np

    try:
        with _open_text(path) as fh:
            lines = _ContentLines(fh)
            first = next(lines, None)
            if first is None:
                raise UserError(f"{path}: no data rows")
            delimiter = _delimiter(first, delimiter)
            first_cells = next(csv.reader([first], delimiter=delimiter))
            names = None
            pending = []
            if header and not all(_is_number(c) for c in first_cells if c.strip()):
                names = [c.strip() for c in first_cells]
            else:
                pending.append((lines.number, first_cells))
            width = len(names) if names is not None else len(first_cells)
            index_of = select(names, width)
            labels = {f: repr(names[i]) if names is not None else str(i + 1) for f, i in index_of.items()}
            parts, rows = _read_rows(csv.reader(lines, delimiter=delimiter), lines, pending, index_of, labels,
                                     path, chunk_rows, texts or {})
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:
        if isinstance(exc, FileNotFoundError):
            raise UserError(f"{path}: no such file") from None
        if isinstance(exc, IsADirectoryError):
            raise UserError(f"{path}: is a directory, not a CSV file") from None
        raise UserError(f"{path}: cannot read as CSV text ({exc})") from None
    if rows == 0:
        raise UserError(f"{path}: a header but no data rows")
    return names, {f: np.concatenate(v) for f, v in parts.items()}, rows


def _read_rows(reader, lines: _ContentLines, pending: list, index_of: dict[str, int], labels: dict[str, str],
               path: Path, chunk_rows: int, texts: dict[str, dict[str, int]]) -> tuple[dict[str, list], int]:
    """The selected columns of the remaining rows, converted chunk_rows rows at a time:
    ({field: [arrays]}, number of rows, pending ones included)."""
    parts: dict[str, list] = {f: [] for f in index_of}
    rows = 0

    def flush(chunk):
        for field, col in index_of.items():
            if field in texts:
                parts[field].append(_codes(chunk, col, texts[field]))
            else:
                parts[field].append(_numbers(chunk, col, labels[field], path))

    chunk = pending
    for cells in reader:
        chunk.append((lines.number, cells))
        if len(chunk) >= chunk_rows:
            flush(chunk)
            rows += len(chunk)
            chunk = []
    if chunk:
        flush(chunk)
        rows += len(chunk)
    return parts, rows


def read_columns(path: Path, refs: dict[str, ColumnRef], *, delimiter: str | None, header: bool
                 ) -> tuple[list[str] | None, dict[str, "np.ndarray"], int, dict[str, int], dict[str, list[str]]]:
    """read_table with the columns that refs name: (header names or None, {field: values},
    number of data rows, {field: column index}, {text field: its words, by code}).  Columns named
    sensor, mount and leg are read without asking (rows of two sensors never mix); mount and leg as
    codes into their words.  Two fields may not read one column."""
    resolved: dict[str, int] = {}
    texts: dict[str, dict[str, int]] = {f: {} for f in TEXT_FIELDS}

    def select(names: list[str] | None, width: int) -> dict[str, int]:
        index_of = {f: _column_index(r, names, width, path) for f, r in refs.items()}
        for field in (SENSOR_FIELD, *TEXT_FIELDS):
            if field not in index_of and names is not None and field in names:
                index_of[field] = names.index(field)
        readers: dict[int, list[str]] = {}
        for f, i in index_of.items():
            readers.setdefault(i, []).append(f)
        for fs in readers.values():
            if len(fs) > 1:
                raise UserError(f"--columns: {' and '.join(fs)} both read column {refs[fs[0]].column!r}")
        resolved.update(index_of)
        return index_of

    names, columns, n_rows = read_table(path, delimiter=delimiter, header=header, select=select, texts=texts)
    words = {f: sorted(codes, key=codes.get) for f, codes in texts.items() if f in columns}
    return names, columns, n_rows, resolved, words


def read_header(path: Path, delimiter: str | None) -> list[str]:
    """The names in the first line that holds data ([] when the file cannot be read: the import
    itself then says why)."""
    try:
        with _open_text(path) as fh:
            first = next(_ContentLines(fh), "")
    except (OSError, EOFError, UnicodeDecodeError):
        return []
    return [c.strip() for c in next(csv.reader([first], delimiter=_delimiter(first, delimiter)), [])]


def is_our_export(names: list[str]) -> bool:
    """The header of StrideCue's own samples export (`stridecue export --format csv`)."""
    wanted = [part.split("=")[1] for part in EXPORT_COLUMNS.split(",")]
    return SENSOR_FIELD in names and all(n in names for n in wanted)


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


def _codes(chunk: list[tuple[int, list[str]]], col: int, codes: dict[str, int]) -> "np.ndarray":
    """A column of words as int codes into codes (new words added); a short row reads as ''."""
    import numpy as np

    return np.fromiter((codes.setdefault(row[col].strip() if col < len(row) else "", len(codes)) for _, row in chunk),
                       dtype=np.int32, count=len(chunk))


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
