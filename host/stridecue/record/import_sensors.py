"""Which sensors a CSV for `stridecue import` holds, and how each was worn.

A file with a sensor column (StrideCue's own `export --format csv`, or a logger of two IMUs) holds
the rows of one or two sensors; they become one run with a sensor in slot 0 and one in slot 1, in
the order of their numbers, as `stridecue run` records two sensors.  --sensor N picks one.

Mount and leg of each sensor come from the file's mount and leg columns when it has them (our
export writes them), else from --mount/--leg, which take two sensors as `run` does: --leg both is
left, right; --mount thigh+shin is shin, thigh (one leg).  An option that contradicts the file is
refused, so is a third sensor: a run has one or two.

numpy is imported inside the functions that use it (`stridecue --help` imports this module).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stridecue.errors import UserError
from stridecue.record.csv_columns import SENSOR_FIELD, TEXT_FIELDS

MOUNTS = ("shin", "thigh", "thigh+shin")
LEGS = ("left", "right", "both")
TWO_SENSORS = {"mount": {"thigh+shin": ("shin", "thigh")}, "leg": {"both": ("left", "right")}}
DEFAULTS = {"mount": "shin", "leg": "left"}


@dataclass(frozen=True)
class SensorRows:
    """The rows of one sensor of the file: its number there (None without a sensor column), its
    numeric columns and how it was worn."""

    number: float | None
    table: dict
    mount: str
    leg: str

    def describe(self) -> str:
        return f"{self.leg} {self.mount}"


def _numbers(values) -> str:
    return ", ".join(f"{v:g}" for v in values)


def split_sensors(table: dict, words: dict[str, list[str]], path: Path, *, sensor: float | None = None,
                  mount: str | None = None, leg: str | None = None) -> list[SensorRows]:
    """The file's rows as one SensorRows per sensor to import (one or two).  table: {field: values}
    as read (the sensor column and the mount/leg codes are taken out); words: the mount/leg words
    by code.  UserError for a choice the file or the options cannot make."""
    import numpy as np

    table = dict(table)
    column = table.pop(SENSOR_FIELD, None)
    codes = {f: table.pop(f) for f in TEXT_FIELDS if f in table}
    if column is None:
        if sensor is not None:
            raise UserError(f"{path}: --sensor {sensor:g} given but the file has no sensor column")
        keeps = {None: None}
    else:
        present = np.unique(column).tolist()
        if sensor is not None:
            if sensor not in present:
                raise UserError(f"{path}: no rows of sensor {sensor:g} (sensors: {_numbers(present)})")
            present = [sensor]
        elif len(present) > 2:
            raise UserError(f"{path}: holds {len(present)} sensors (sensor {_numbers(present)}); a run has one or two: "
                            f"import one at a time with --sensor N")
        keeps = {number: column == number for number in present}
    worn = _worn(keeps, codes, words, path, mount, leg, picked=sensor is not None)
    return [SensorRows(number, table if keep is None else {f: v[keep] for f, v in table.items()}, m, lg)
            for (number, keep), (m, lg) in zip(keeps.items(), worn)]


def _from_file(keeps: dict, codes: dict, words: dict[str, list[str]], path: Path, field: str) -> list[str | None]:
    """What the file's mount or leg column says of each sensor (None: no column, or empty)."""
    import numpy as np

    if field not in codes:
        return [None] * len(keeps)
    said = []
    for number, keep in keeps.items():
        values = {words[field][int(c)] for c in np.unique(codes[field] if keep is None else codes[field][keep])}
        values.discard("")
        if len(values) > 1:
            which = "its rows" if number is None else f"the rows of sensor {number:g}"
            raise UserError(f"{path}: {which} name more than one {field} ({', '.join(sorted(values))})")
        word = values.pop() if values else None
        if word is not None and word not in (MOUNTS if field == "mount" else LEGS)[:2]:
            raise UserError(f"{path}: {field} {word!r} is not one of {', '.join((MOUNTS if field == 'mount' else LEGS)[:2])}")
        said.append(word)
    return said


def _from_option(option: str | None, n: int, picked: bool, field: str) -> list[str | None]:
    """--mount/--leg for each of n sensors: a value for two sensors (thigh+shin, both) splits."""
    if option in TWO_SENSORS[field]:
        if n != 2:
            raise UserError(f"--{field} {option} is for two sensors; this import has one"
                            + (" (--sensor picks one)" if picked else " (the file has no second sensor)"))
        return list(TWO_SENSORS[field][option])
    return [option] * n


def _worn(keeps: dict, codes: dict, words: dict[str, list[str]], path: Path,
          mount: str | None, leg: str | None, picked: bool) -> list[tuple[str, str]]:
    """(mount, leg) of each sensor: the file's word, else the option's, else shin/left."""
    if mount in TWO_SENSORS["mount"] and leg in TWO_SENSORS["leg"]:
        raise UserError(f"--leg {leg} with --mount {mount} would need four sensors; a run has one or two")
    chosen = {}
    for field, option in (("mount", mount), ("leg", leg)):
        said, wanted = _from_file(keeps, codes, words, path, field), _from_option(option, len(keeps), picked, field)
        for number, s, w in zip(keeps, said, wanted):
            if s is not None and w is not None and s != w:
                which = "the file" if number is None else f"the file's sensor {number:g}"
                raise UserError(f"{path}: {which} was worn with {field} {s}, --{field} says {w}")
        chosen[field] = [s or w or DEFAULTS[field] for s, w in zip(said, wanted)]
    worn = list(zip(chosen["mount"], chosen["leg"]))
    if len(worn) == 2 and worn[0] == worn[1]:
        raise UserError(f"{path}: holds 2 sensors (sensor {_numbers(keeps)}) and does not say where each was worn: "
                        f"give --leg both (left, right) or --mount thigh+shin (shin, thigh), or import one with --sensor N")
    return worn
