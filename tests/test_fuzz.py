"""Issue 16: what users and radios hand us, fuzzed.  Run files with bytes flipped and cut off,
packets with bytes flipped, CSV recordings and settings files made of odd text: each is read
without a traceback (only the project's own errors: UserError, stridewire.ProtocolError), without
hanging (a deadline per example), and leaves no partial file behind.

Kept small (about 50-150 examples each, a few seconds in all) so the suite stays fast."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import stridewire
from stridecue.errors import UserError
from stridecue.link.decoder import decode_data, decode_status
from stridecue.link.samples import SampleBlock
from stridecue.record.runfile import RunWriter
from stridecue.record.runreader import RunReader
from stridecue.record.runformat import FILE_HEADER_SIZE

FUZZ = settings(max_examples=120, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow])


@pytest.fixture(scope="module")
def run_bytes(tmp_path_factory) -> bytes:
    """A small closed run file of two sensors: samples, an event, a missing range, the end."""
    path = tmp_path_factory.mktemp("run") / "small.scrun"
    rng = np.random.default_rng(16)
    with RunWriter(path, {"start_time": dt.datetime(2026, 1, 1).isoformat(), "sensors": [{"slot": 0}, {"slot": 1}]},
                   chunk_seconds=0.05) as w:
        for k in range(8):
            for sensor in (0, 1):
                index = np.arange(k * 40, k * 40 + 40, dtype=np.int64)
                raw = rng.integers(-2000, 2000, (40, 6), dtype=np.int16)
                w.write_samples(SampleBlock(index, raw, 416.0, 16, 16, index[::4].copy(),
                                            rng.integers(-100, 100, (10, 4), dtype=np.int16), stream_id=1, sensor=sensor))
            w.write_event({"kind": "note", "t": k * 0.1, "text": "x"})
        w.write_missing(0, 400, 5)
    return path.read_bytes()


def _read_everything(path) -> None:
    r = RunReader(path)
    for sensor in r.sensors:
        r.samples(sensor)
    r.events(), r.missing(), r.damage_line()


@FUZZ
@given(flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=12),
       cut=st.one_of(st.none(), st.integers(0, 10**6)))
def test_a_damaged_run_file_reads_or_fails_in_one_line(run_bytes, tmp_path, flips, cut):
    data = bytearray(run_bytes)
    for pos, value in flips:
        data[pos % len(data)] = value
    if cut is not None:
        del data[cut % (len(data) + 1):]
    path = tmp_path / "fuzzed.scrun"
    path.write_bytes(bytes(data))
    try:
        _read_everything(path)
    except UserError as e:
        assert "\n" not in str(e)
    assert path.read_bytes() == bytes(data)  # a reader never changes the file


@FUZZ
@given(start=st.integers(FILE_HEADER_SIZE + 200, 10**6), length=st.integers(1, 600), seed=st.integers(0, 2**16))
def test_a_damaged_middle_is_repaired_into_a_clean_file(run_bytes, tmp_path, start, length, seed):
    from stridecue.record.repair import repaired_bytes

    data = bytearray(run_bytes)
    start %= len(data)
    junk = np.random.default_rng(seed).integers(0, 256, length, dtype=np.uint8).tobytes()
    data[start : start + length] = junk[: len(data) - start]
    path = tmp_path / "damaged.scrun"
    path.write_bytes(bytes(data))
    try:
        reader = RunReader(path)
    except UserError:
        return  # the damage reached the run metadata: refused by name
    copy = tmp_path / "copy.scrun"
    copy.write_bytes(repaired_bytes(bytes(data), reader))
    clean = RunReader(copy)
    assert not clean.damage and clean.truncated_bytes == 0
    for sensor in reader.sensors:
        assert len(clean.samples(sensor)) == len(reader.samples(sensor))


@settings(max_examples=150, deadline=1000)
@given(data=st.binary(max_size=300))
def test_random_notifications_decode_or_fail_by_name(data):
    for decode in (decode_data, decode_status):
        try:
            decode(data)
        except stridewire.ProtocolError as e:
            assert e.reason


_CELL = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr), st.integers(-10**6, 10**6).map(str),
                  st.sampled_from(["", "nan", "inf", "-", "1e400", "0x10", " 1 ", "a,b", '"', "1;2", "\t"]),
                  st.text(max_size=6))


@settings(max_examples=80, deadline=5000, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=st.lists(st.lists(_CELL, min_size=3, max_size=8), max_size=30),
       regular=st.integers(0, 2000), units=st.sampled_from(["", "t=ms", "t=us", "acc=m/s2", "gyr=rad/s"]))
def test_odd_csv_files_import_or_fail_in_one_line(tmp_path_factory, rows, regular, units):
    from stridecue.record.importer import import_csv

    folder = tmp_path_factory.mktemp("csv")
    t = np.arange(regular) / 100.0
    good = [f"{x:.3f},0,0,1,0,0,0" for x in t]  # a plausible head, so the odd rows are reached
    text = "\n".join(["t,ax,ay,az,gx,gy,gz", *good, *(",".join(r) for r in rows)]) + "\n"
    src = folder / "odd.csv"
    src.write_bytes(text.encode("utf-8", "replace"))
    base = folder / "data"
    try:
        import_csv(src, base, columns="t=t,ax=ax,ay=ay,az=az,gx=gx,gy=gy,gz=gz", units=units)
    except UserError as e:
        assert "\n" not in str(e)
        leftovers = [p for p in base.rglob("*") if p.is_file()] if base.exists() else []
        assert leftovers == [], leftovers  # a refused import writes nothing


_TOML_VALUE = st.one_of(st.integers(-10**9, 10**9).map(str), st.floats(allow_nan=True).map(repr),
                        st.text(max_size=8).map(lambda s: '"' + s.replace("\\", "").replace('"', "") + '"'),
                        st.sampled_from(["true", "false", "[]", "[1, 2]", "{}", "nan", "-inf", "'x'", "[[1]]"]))
_KEY = st.sampled_from(["wobble_threshold_deg", "k", "baseline", "volume", "sound", "audio", "load_cue", "cadence_target_spm",
                        "fading", "baseline_deg", "baseline_spread_deg", "nonsense", "default_profile"])


@settings(max_examples=120, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=st.lists(st.tuples(_KEY, _TOML_VALUE), max_size=8), junk=st.text(max_size=40), top=st.booleans())
def test_odd_settings_files_load_or_fail_in_one_line(tmp_path_factory, entries, junk, top):
    from stridecue.coach.settings import load_profile

    folder = tmp_path_factory.mktemp("settings")
    body = "\n".join(f"{k} = {v}" for k, v in entries)
    text = (body + "\n" + junk) if top else ("[profile.anna]\n" + body + "\n" + junk)
    path = folder / "settings.toml"
    path.write_bytes(text.encode("utf-8", "replace"))
    before = sorted(p.name for p in folder.iterdir())
    try:
        load_profile(path, None, folder)
    except UserError as e:
        assert "\n" not in str(e)
    assert sorted(p.name for p in folder.iterdir()) == before
