"""`stridecue export`: CSV and Parquet tables against the store and the run file, a FIT
activity decoded by fitdecode (a FIT decoder from PyPI) with its CRCs checked, no overwrites."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import subprocess
import sys

import fitdecode
import numpy as np
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from stride_records import make_stride
from test_summary_support import START, make_run, store_with

from stridecue.errors import UserError
from stridecue.review.export import STRIDE_COLUMNS, export_run
from stridecue.review.fit import DEV_FIELDS, FitWriter, UINT8, activity_file, crc16
from stridecue.record.runreader import RunReader


def cli(*args):
    return subprocess.run([sys.executable, "-m", "stridecue.cli", *args], capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    base = tmp_path_factory.mktemp("data")
    path = make_run(base, START, 5, legs=("left", "right"), cue_times=(60, 150), clip_every=25, missing=[(0, 700, 20)], seed=3,
                    other_cues=((200, "cadence", "Quicker steps"),))
    with store_with(base) as store:
        run = store.find(path.stem)
        strides = store.strides(run["id"])
    return base, path, run, strides


def test_csv_and_parquet_hold_the_same_tables(stored, tmp_path):
    base, path, run, strides = stored
    with store_with(base) as store:
        csv_paths = export_run(store, run, "csv", tmp_path / "csv")
        pq_paths = export_run(store, run, "parquet", tmp_path / "pq")
    assert [p.name for p in csv_paths] == [f"{path.stem}-{t}.csv" for t in ("strides", "samples", "cues")]
    tables = {p.name.rsplit("-", 1)[1]: pacsv.read_csv(p) for p in csv_paths}
    ptables = {p.name.rsplit("-", 1)[1]: pq.read_table(p) for p in pq_paths}
    s = tables["strides.csv"]
    assert s.column_names[: len(STRIDE_COLUMNS)] == list(STRIDE_COLUMNS) and s.num_rows == len(strides)
    assert np.allclose(s["wobble_deg"].to_numpy(), [x.wobble_deg for x in strides])
    assert s["ic_utc"][0].as_py() == START + dt.timedelta(seconds=strides[0].ic_t)
    assert s["stride_time_s"].null_count == 2  # the first stride of each leg has none
    assert s["clipped"].to_pylist() == [x.clipped for x in strides]
    p = ptables["strides.parquet"]
    assert p.num_rows == s.num_rows and np.allclose(p["pta_axial_g"].to_numpy(), s["pta_axial_g"].to_numpy())
    # samples: every recorded sample of both sensors, in physical units
    reader = RunReader(path)
    b0 = reader.samples(0)
    samples = ptables["samples.parquet"]
    assert samples.num_rows == len(b0) + len(reader.samples(1))
    first = samples.filter(samples["sensor"].to_numpy() == 0)
    assert np.array_equal(first["index"].to_numpy(), b0.index)
    assert np.allclose(first["ax_g"].to_numpy(), b0.acc[:, 0]) and np.allclose(first["gz_dps"].to_numpy(), b0.gyr[:, 2])
    csv_samples = tables["samples.csv"]
    assert csv_samples.num_rows == samples.num_rows
    assert np.allclose(csv_samples["gy_dps"].to_numpy(), samples["gy_dps"].to_numpy())
    assert b"stridecue.scales" in pq.read_schema(pq_paths[1]).metadata
    assert tables["cues.csv"]["t"].to_pylist() == [60.0, 150.0, 200.0]


def _decode(path):
    msgs = []
    with fitdecode.FitReader(str(path), check_crc=fitdecode.CrcCheck.ENABLED) as fit:
        for frame in fit:
            if isinstance(frame, fitdecode.FitDataMessage):
                msgs.append(frame)
    return msgs


def test_fit_activity_decodes_with_developer_fields(stored, tmp_path):
    base, path, run, strides = stored
    with store_with(base) as store:
        (fit,) = export_run(store, run, "fit", tmp_path)
    assert fit.name == f"{path.stem}.fit"
    mask = os.umask(0)
    os.umask(mask)
    assert fit.stat().st_mode & 0o777 == 0o666 & ~mask
    msgs = _decode(fit)
    names = [m.name for m in msgs]
    assert names[0] == "file_id" and names[-1] == "activity"
    assert {"developer_data_id", "field_description", "event", "record", "lap", "session"} <= set(names)
    file_id = msgs[0]
    assert file_id.get_value("type") == "activity"
    records = [m for m in msgs if m.name == "record"]
    running = [s for s in strides if s.kind == "run"]
    seconds = sorted({int(s.ic_t) for s in running})
    assert len(records) == len(seconds)
    # a record's developer fields: the largest wobble and landing load of the strides in its second
    r = records[10]
    sec = seconds[10]
    group = [s for s in running if int(s.ic_t) == sec]
    assert r.get_value("timestamp") == START + dt.timedelta(seconds=sec)
    assert r.get_value("knee_wobble") == pytest.approx(max(s.wobble_deg for s in group), abs=1e-4)
    assert r.get_value("landing_load") == pytest.approx(max(s.pta_axial_g for s in group), abs=1e-4)
    assert r.get_field("knee_wobble").units == "deg" and r.get_field("landing_load").units == "g"
    assert r.get_value("cadence") == 85 and r.get_value("stance_time") == pytest.approx(250.0)
    session = next(m for m in msgs if m.name == "session")
    assert session.get_value("sport") == "running"
    assert session.get_value("knee_wobble_median") == pytest.approx(np.median([s.wobble_deg for s in running]), abs=0.06)
    assert session.get_value("wobble_cues") == 2
    assert session.get_value("total_elapsed_time") == pytest.approx(np.ceil(run["duration_s"]))
    activity = msgs[-1]
    assert activity.get_value("num_sessions") == 1


def test_fit_activity_passes_garmins_own_decoder(stored, tmp_path):
    """The FIT SDK's Python decoder (garmin-fit-sdk): integrity (CRCs, sizes) and no decode errors."""
    from garmin_fit_sdk import Decoder, Stream

    base, _path, run, strides = stored
    with store_with(base) as store:
        (fit,) = export_run(store, run, "fit", tmp_path)
    assert Decoder(Stream.from_file(str(fit))).check_integrity()
    messages, errors = Decoder(Stream.from_file(str(fit))).read()
    assert errors == []
    assert len(messages["session_mesgs"]) == 1 and messages["session_mesgs"][0]["sport"] == "running"
    assert len(messages["field_description_mesgs"]) == len(DEV_FIELDS)
    record = messages["record_mesgs"][0]
    assert {0, 1, 2} <= set(record["developer_fields"])  # knee_wobble, landing_load, loading_rate
    first = min(s.ic_t for s in strides if s.kind == "run")
    group = [s for s in strides if s.kind == "run" and int(s.ic_t) == int(first)]
    assert record["developer_fields"][0] == pytest.approx(max(s.wobble_deg for s in group), abs=1e-4)


def _both_decoders(path):
    """The FIT file's messages as fitdecode and as Garmin's FIT SDK read them (no errors in either)."""
    from garmin_fit_sdk import Decoder, Stream

    messages, errors = Decoder(Stream.from_file(str(path))).read()
    assert errors == []
    return _decode(path), messages


def test_fit_session_is_the_run_with_legs_and_cues(stored, tmp_path):
    """The session starts at the run's start (it started at the first stride), each leg has its
    fields, and each cue is an event marker (a cadence cue FIT's cadence-low alert)."""
    base, _path, run, strides = stored
    with store_with(base) as store:
        (fit,) = export_run(store, run, "fit", tmp_path)
    msgs, sdk = _both_decoders(fit)
    session = next(m for m in msgs if m.name == "session")
    assert session.get_value("start_time") == START == sdk["session_mesgs"][0]["start_time"]
    assert msgs[0].get_value("time_created") == START
    timer = [m for m in msgs if m.name == "event" and m.get_value("event") == "timer"]
    assert [m.get_value("timestamp") for m in timer] == [START, START + dt.timedelta(seconds=np.ceil(run["duration_s"]))]
    assert session.get_value("total_elapsed_time") == pytest.approx(np.ceil(run["duration_s"]))
    running = [s for s in strides if s.kind == "run"]
    for leg in ("left", "right"):
        wobble = [s.wobble_deg for s in running if s.leg == leg]
        assert session.get_value(f"knee_wobble_median_{leg}") == pytest.approx(np.median(wobble), abs=1e-4)
    assert 49.0 < session.get_value("avg_stance_time_balance") < 51.0  # both legs' contact 250 ms
    record = next(m for m in msgs if m.name == "record" and m.get_value("knee_wobble_right") is not None)
    assert record.get_value("knee_wobble_left") is not None and record.get_value("stance_time_balance") == pytest.approx(50.0)
    cues = [m for m in msgs if m.name == "event" and m.get_value("event_type") == "marker"]
    assert [(m.get_value("timestamp"), m.get_value("event"), m.get_value("cue_kind")) for m in cues] == [
        (START + dt.timedelta(seconds=60), "user_marker", "wobble"), (START + dt.timedelta(seconds=150), "user_marker", "wobble"),
        (START + dt.timedelta(seconds=200), "cad_low_alert", "cadence")]
    assert cues[2].get_value("cue") == "Quicker steps"
    sdk_cues = [m for m in sdk["event_mesgs"] if m["event_type"] == "marker"]
    assert [m["event"] for m in sdk_cues] == ["user_marker", "user_marker", "cad_low_alert"]
    # records and events in time order
    stamps = [m.get_value("timestamp") for m in msgs if m.name in ("record", "event")]
    assert stamps == sorted(stamps)


def test_fit_fractional_cadence_never_reaches_a_whole_stride(tmp_path):
    """82.999 strides/min was written as 82 + 128/128 (decoded fractional_cadence 1.0); it is 83 + 0."""
    stride = make_stride(kind="run", leg="left", mount="shin", ic_t=5.2, to_t=5.45, known_t=5.5, cadence_spm=165.999,
                         contact_time_s=0.25, wobble_deg=6.0, pta_axial_g=8.0, loading_rate_gps=160.0)
    summary = {"cadence_spm": 165.999, "wobble_deg": {}, "landing_load_g": {}, "cues": {"count": 0}}
    path = tmp_path / "c.fit"
    path.write_bytes(activity_file(START, [stride, dataclasses.replace(stride, ic_t=6.0, cadence_spm=170.6)], summary, duration_s=10.0))
    msgs, sdk = _both_decoders(path)
    records = [m for m in msgs if m.name == "record"]
    assert [(m.get_value("cadence"), m.get_value("fractional_cadence")) for m in records] == [(83, 0.0), (85, 0.296875)]
    assert [(m["cadence"], m["fractional_cadence"]) for m in sdk["record_mesgs"]] == [(83, 0.0), (85, 0.296875)]
    session = next(m for m in msgs if m.name == "session")
    assert (session.get_value("avg_running_cadence"), session.get_value("avg_fractional_cadence")) == (83, 0.0)


def test_fit_crc_is_checked_by_the_decoder(stored, tmp_path):
    base, _path, run, _ = stored
    with store_with(base) as store:
        (fit,) = export_run(store, run, "fit", tmp_path)
    data = bytearray(fit.read_bytes())
    data[200] ^= 0x01
    damaged = tmp_path / "damaged.fit"
    damaged.write_bytes(bytes(data))
    with pytest.raises(fitdecode.FitError):
        _decode(damaged)


def test_fit_crc16_reference_value():
    assert crc16(b"123456789") == 0xBB3D  # CRC-16/ARC check value, the FIT CRC
    w = FitWriter()
    w.define(0, 0, [(0, UINT8)])
    w.write(0, [4])
    data = w.finish()
    assert data[8:12] == b".FIT" and crc16(data) == 0  # a file with its CRC appended checks to zero


def test_exports_never_overwrite(stored, tmp_path):
    base, path, run, _ = stored
    (tmp_path / f"{path.stem}-samples.csv").write_text("mine")
    with store_with(base) as store:
        with pytest.raises(UserError, match="already exists"):
            export_run(store, run, "csv", tmp_path)
    assert (tmp_path / f"{path.stem}-samples.csv").read_text() == "mine"
    assert not (tmp_path / f"{path.stem}-strides.csv").exists()  # nothing half-written either
    assert [p.name for p in tmp_path.iterdir()] == [f"{path.stem}-samples.csv"]


def test_cli_export_and_bad_input(stored, tmp_path):
    base, path, run, _ = stored
    out = cli("--data-dir", str(base), "export", path.stem, "--format", "fit", "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert (tmp_path / f"{path.stem}.fit").exists() and "written:" in out.stdout
    again = cli("--data-dir", str(base), "export", str(run["id"]), "--format", "fit", "--out", str(tmp_path))
    assert again.returncode == 1 and "already exists" in again.stderr and "Traceback" not in again.stderr
    for args, words in ((["nonesuch", "--format", "csv"], "no run"), ([path.stem, "--format", "xls"], "invalid choice")):
        bad = cli("--data-dir", str(base), "export", *args)
        assert bad.returncode != 0 and words in bad.stderr and "Traceback" not in bad.stderr
    afile = tmp_path / "afile"
    afile.write_text("x")
    bad = cli("--data-dir", str(base), "export", path.stem, "--format", "csv", "--out", str(afile))
    assert bad.returncode == 1 and "not a directory" in bad.stderr
