"""The one stride record (analysis/stride.py) and its row in the run store and the exports
(stored history and earlier exports must keep loading)."""

from __future__ import annotations

import dataclasses
import math

import pytest

from stridecue.analysis.stride import ROW_FIELDS, Stride
from stride_records import make_stride

# The strides table's columns (schema version 3) and the export's first columns, as shipped:
# the record may gain fields, but these names and this order are what stored data has.
SHIPPED_COLUMNS = (
    "sensor", "leg", "mount", "kind", "ic_t", "to_t", "known_t", "contact_time_s", "stride_time_s", "cadence_spm",
    "wobble_deg", "wobble_rate_dps", "pta_axial_g", "pta_resultant_g", "loading_rate_gps", "clipped", "gap",
    "accel_only", "alignment_confidence", "wobble_note",
)


def test_the_row_keeps_the_shipped_columns_and_order():
    assert ROW_FIELDS == SHIPPED_COLUMNS
    assert {f.name for f in dataclasses.fields(Stride)} == set(SHIPPED_COLUMNS)


def test_a_stride_is_frozen_and_has_no_room_for_extra_keys():
    s = make_stride()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.wobble_deg = 1.0
    with pytest.raises((AttributeError, TypeError)):
        s.knee_deg = 1.0  # derived figures are records of their own, not extra fields here


def test_row_round_trip_keeps_every_field_and_missing_values_stay_none():
    measured = make_stride(sensor=2, leg="right", mount="thigh", clipped=True)
    withheld = make_stride(kind="walk", stride_time_s=None, cadence_spm=None, wobble_deg=None, wobble_rate_dps=None,
                           wobble_note="frame settling", accel_only=True)
    for s in (measured, withheld):
        row = s.as_row()
        assert len(row) == len(ROW_FIELDS)
        assert Stride.from_row(row) == s
    row = dict(zip(ROW_FIELDS, withheld.as_row()))
    assert row["wobble_deg"] is None and row["cadence_spm"] is None and row["wobble_note"] == "frame settling"
    assert row["accel_only"] is True and type(row["sensor"]) is int


def test_a_row_never_carries_nan_and_an_old_rows_nulls_read_back():
    row = dict(zip(ROW_FIELDS, make_stride(wobble_deg=math.nan, pta_axial_g=math.inf).as_row()))
    assert row["wobble_deg"] is None and row["pta_axial_g"] is None  # SQLite and CSV have no NaN
    # a version-1 database row: only some columns were written, the rest are NULL
    old = Stride.from_row((0, "left", None, "run", 1.0, None, None, None, None, None, 5.0, None, None, None, None,
                           None, None, None, None, None))
    assert old.wobble_deg == 5.0 and old.mount is None and old.cadence_spm is None and old.wobble_note is None
    assert math.isnan(old.to_t) and math.isnan(old.pta_axial_g)  # always given by the analysis: NaN, not None
    assert old.clipped is False and old.gap is False and old.accel_only is False
