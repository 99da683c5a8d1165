"""The one stride record (analysis/stride.py): what the analysis hands on, and its row in the
run store and the exports (stored history and earlier exports must keep loading)."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import math

import pytest

from stridecue.analysis.run import analyse_block, analyse_run, block_from_arrays
from stridecue.analysis.stride import BOOL_FIELDS, ROW_FIELDS, TEXT_FIELDS, Stride
from stridecue.analysis.streaming import StreamingStrideAnalyzer
from stridecue.link.samples import SampleBlock
from stridecue.sim import RunnerSettings, VirtualRunner
from stride_records import make_stride, same_strides

# The strides table's columns (schema version 3) and the export's first columns, as shipped:
# the record may gain fields, but these names and this order are what stored data has.
SHIPPED_COLUMNS = (
    "sensor", "leg", "mount", "kind", "ic_t", "to_t", "known_t", "contact_time_s", "stride_time_s", "cadence_spm",
    "wobble_deg", "wobble_rate_dps", "pta_axial_g", "pta_resultant_g", "loading_rate_gps", "clipped", "gap",
    "accel_only", "alignment_confidence", "wobble_note",
)
START = dt.datetime(2026, 11, 1, 7, 30, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def block() -> SampleBlock:
    stream = VirtualRunner(RunnerSettings(speed_mps=3.3), seed=4).sensor(leg="left", mount="shin", rotation="random")
    chunk = stream.read(int(20.0 * stream.rate))
    return block_from_arrays(stream.rate, chunk.acc, chunk.gyr)


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


def test_the_analysis_hands_on_stride_records(block):
    strides = analyse_block(block, "shin", "left", sensor=1)
    assert len(strides) > 15
    assert all(type(s) is Stride for s in strides)
    assert all(s.sensor == 1 and s.leg == "left" and s.mount == "shin" for s in strides)
    assert any(s.wobble_deg is not None for s in strides) and any(s.wobble_note for s in strides)


def test_what_the_live_pipeline_gives_the_coach_is_the_offline_stride(block):
    """Live (12 samples a notification, through the run pipeline) = offline, stride for stride."""
    from stridecue.coach.policy import Coach, CoachSettings
    from stridecue.live.pipeline import RunPipeline, SensorSetup

    seen = []
    pipeline = RunPipeline([SensorSetup(0, "shin", "left")],
                           lambda setup, rate: StreamingStrideAnalyzer(mount=setup.mount, leg=setup.leg, rate_hz=rate,
                                                                       sensor=setup.slot),
                           Coach(CoachSettings()), on_stride=seen.append)
    for i in range(0, len(block), 12):
        pipeline.feed([SampleBlock(block.index[i:i + 12], block.raw[i:i + 12], block.rate, block.accel_g, block.gyro_code)])
    pipeline.finish()
    assert seen == pipeline.strides
    same_strides(analyse_block(block, "shin", "left"), pipeline.strides)


def _run_file(tmp_path, block):
    from stridecue.record.runfile import RunWriter

    path = tmp_path / "runs" / "run.scrun"
    path.parent.mkdir(parents=True)
    meta = {"start_time": START.isoformat(), "sensors": [{"slot": 0, "mount": "shin", "leg": "left"}]}
    with RunWriter(path, meta) as w:
        for i in range(0, len(block), 400):
            w.write_samples(SampleBlock(block.index[i:i + 400], block.raw[i:i + 400], block.rate, block.accel_g,
                                        block.gyro_code))
        w.close(summary={})
    return path


def _csv_cell(name: str, cell: str):
    if cell == "":
        return None
    if name in BOOL_FIELDS:
        return {"true": True, "false": False}[cell]
    return cell if name in TEXT_FIELDS else float(cell)


def test_store_and_csv_export_give_back_the_analysis_strides(tmp_path, block):
    from stridecue.record.runreader import RunReader
    from stridecue.record.store import RunStore
    from stridecue.review.export import export_run

    path = _run_file(tmp_path, block)
    analysed = analyse_run(RunReader(path))
    with RunStore.open(tmp_path) as store:
        run = store.run(store.ingest(path))
        stored = store.strides(run["id"])
        written = export_run(store, run, "csv", tmp_path / "out")
    assert all(type(s) is Stride for s in stored)
    same_strides(analysed, stored)
    with open(next(p for p in written if p.name.endswith("-strides.csv")), newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[: len(ROW_FIELDS)] == list(ROW_FIELDS)
    exported = [Stride.from_row([_csv_cell(k, r[k]) for k in ROW_FIELDS]) for r in rows]
    same_strides(analysed, exported)
