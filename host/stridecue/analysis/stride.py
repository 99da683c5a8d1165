"""One stride as every stage sees it: the record the analysis emits (docs/metrics.md).

The analysis (streaming.py, run.py) makes `Stride` objects; the coach, the run store, the
review and the lab read them.  The store and the exports keep strides as rows: `as_row()` and
`Stride.from_row()` are the one place that says which columns, in which order, so stored
history, CSV/Parquet exports and the record agree (ROW_FIELDS is the strides table's and the
export's column order, unchanged since schema version 3).

Derived figures of another stage (the knee angle of two sensors, a summary) are records of
their own (e.g. combine.KneeStance), not extra fields here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields


@dataclass(frozen=True, slots=True)
class Stride:
    """One stance of one sensor and the gait cycle before it.

    Times are seconds of the sensor's own sample clock (sample index / rate).

    sensor                the sensor's slot in the run
    leg                   "left" or "right"
    mount                 "shin" or "thigh"
    kind                  "run" or "walk"
    ic_t                  s, initial contact
    to_t                  s, toe-off
    known_t               s, when a live run could have known the stride: the last sample its
                          decision needed
    contact_time_s        s, TO - IC
    stride_time_s         s, this IC - the previous IC of the same leg; None for the first of a
                          bout, or across a pause or a long gap
    cadence_spm           steps/min, 120 / stride_time_s (both legs' steps); None with it
    wobble_deg            deg, max over stance of the frontal-plane angle minus its value at IC
                          (>= 0, positive = knee end medial); None when withheld
    wobble_note           why wobble is withheld ("frame settling", "no gait cycle before
                          contact", "implausible"), else None (also for accelerometer-only data,
                          whose wobble is never measured)
    wobble_rate_dps       deg/s, max over stance of the frontal-plane angle's rate (valgus
                          direction, >= 0); None when wobble is withheld
    pta_axial_g           g, peak acceleration along the long axis over [IC, IC + 0.5 contact]
                          (gravity included)
    pta_resultant_g       g, peak of |a| over the same window
    loading_rate_gps      g/s, (pta_axial_g - a_L(IC)) / (t_peak - t_IC)
    clipped               the accelerometer was at full scale in [IC, TO]: PTA and loading rate
                          are lower bounds
    gap                   samples were lost inside the stride's window and bridged
    accel_only            no gyroscope: events from the accelerometer alone, wobble not measured
    alignment_confidence  0..1, how far the sensor's frame is trusted

    The analysis always gives the non-optional floats; a stride read back from a store row that
    lacks one (SQLite keeps no NaN) has NaN there.
    """

    sensor: int
    leg: str
    mount: str
    kind: str
    ic_t: float
    to_t: float
    known_t: float
    contact_time_s: float
    stride_time_s: float | None
    cadence_spm: float | None
    wobble_deg: float | None
    wobble_note: str | None
    wobble_rate_dps: float | None
    pta_axial_g: float
    pta_resultant_g: float
    loading_rate_gps: float
    clipped: bool
    gap: bool
    accel_only: bool
    alignment_confidence: float

    def as_row(self) -> tuple:
        """The stride as a stored/exported row, in ROW_FIELDS order: plain ints, strs, bools,
        and floats, a missing or non-finite number as None (SQLite and CSV have no NaN)."""
        return tuple(_to_cell(name, getattr(self, name)) for name in ROW_FIELDS)

    @classmethod
    def from_row(cls, row) -> "Stride":
        """A stride from a row in ROW_FIELDS order (a tuple, or an sqlite3.Row of those columns)."""
        return cls(**{name: _from_cell(name, row[i]) for i, name in enumerate(ROW_FIELDS)})


# The strides table's and the CSV/Parquet export's columns, in their order: the record's fields,
# with wobble_note last (the column migration 3 added).
ROW_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Stride) if f.name != "wobble_note") + ("wobble_note",)
TEXT_FIELDS = ("leg", "mount", "kind", "wobble_note")
BOOL_FIELDS = ("clipped", "gap", "accel_only")
OPTIONAL_FIELDS = ("stride_time_s", "cadence_spm", "wobble_deg", "wobble_rate_dps")


def _to_cell(name: str, value):
    if name in TEXT_FIELDS:
        return None if value is None else str(value)
    if name in BOOL_FIELDS:
        return bool(value)
    if name == "sensor":
        return int(value)
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _from_cell(name: str, cell):
    if name in TEXT_FIELDS:
        return None if cell is None else str(cell)
    if name in BOOL_FIELDS:
        return bool(cell)  # (NULL in a row older than the column: not flagged)
    if name == "sensor":
        return int(cell or 0)
    if cell is None:
        return None if name in OPTIONAL_FIELDS else math.nan
    return float(cell)
