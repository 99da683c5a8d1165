"""The run file: round trips, crash safety (a real kill -9), damaged and foreign files, naming."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import struct
import subprocess
import sys
import textwrap
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stridecue.record.runfile import RunWriter, run_file_path
from stridecue.record.runreader import RunReader, open_run
from stridecue.record.runformat import FILE_HEADER_SIZE, MAGIC, RunFileError
from stridecue.link.samples import SampleBlock

RATE = 416.0
META = {
    "start_time": "2026-11-22T15:00:00+00:00",
    "simulated": True,
    "sensors": [
        {"slot": 0, "name": "StrideCue-A1", "address": "AA:BB", "board": "xiao", "firmware": "0.1.0", "protocol_version": 1,
         "imu": "LSM6DSO32", "accel_g": 16, "gyro_dps": 2000, "mount": "shin", "leg": "left"},
    ],
    "settings": {"coach": {"wobble_deg": 8}},
}


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def now(self):
        return self.t


def make_block(first, n, sensor=0, rng=None, qdiv=4, gaps_at=(), rate=RATE, accel_g=16, gyro_code=16, stream_id=1):
    rng = rng or np.random.default_rng(first + 7 * sensor)
    index = np.arange(first, first + n, dtype=np.int64)
    for g in gaps_at:  # shift everything from position g on by 3 (a gap of 3 inside the block)
        index[g:] += 3
    raw = rng.integers(-32768, 32768, size=(n, 6), dtype=np.int16)
    qi = index[index % qdiv == 0]
    qr = rng.integers(-16384, 16385, size=(len(qi), 4), dtype=np.int16)
    return SampleBlock(index=index, raw=raw, rate=rate, accel_g=accel_g, gyro_code=gyro_code, quat_index=qi, quat_raw=qr,
                       stream_id=stream_id, sensor=sensor)


def same_block(a: SampleBlock, b: SampleBlock):
    np.testing.assert_array_equal(a.index, b.index)
    np.testing.assert_array_equal(a.raw, b.raw)
    np.testing.assert_array_equal(a.quat_index, b.quat_index)
    np.testing.assert_array_equal(a.quat_raw, b.quat_raw)
    assert a.raw.dtype == np.int16 and a.quat_raw.dtype == np.int16 and a.index.dtype == np.int64
    assert (a.rate, a.accel_g, a.gyro_code, a.stream_id, a.sensor) == (b.rate, b.accel_g, b.gyro_code, b.stream_id, b.sensor)


# ---------------------------------------------------------------------------------------------
# Round trips


@st.composite
def sensor_streams(draw):
    """Per sensor (1 or 2 sensors): a list of blocks with increasing indices, gaps between and inside blocks."""
    streams = {}
    for sensor in range(draw(st.integers(1, 2))):
        nxt = draw(st.integers(0, 10**12))
        blocks = []
        for _ in range(draw(st.integers(0, 12))):
            nxt += draw(st.sampled_from([0, 0, 0, 1, 5, 1000]))  # gap before the block
            n = draw(st.integers(0, 300))
            seed = draw(st.integers(0, 2**32 - 1))
            inner = [draw(st.integers(1, n - 1))] if n > 2 and draw(st.booleans()) else []
            block = make_block(nxt, n, sensor, np.random.default_rng(seed), qdiv=draw(st.sampled_from([1, 4, 8])), gaps_at=inner,
                               stream_id=draw(st.sampled_from([1, 1, 2])))
            if n or len(block.quat_index):
                blocks.append(block)
            nxt = int(block.index[-1]) + 1 if n else nxt
        streams[sensor] = blocks
    return streams


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(streams=sensor_streams(), chunk_seconds=st.sampled_from([0.01, 0.3, 1.0, 5.0]), data=st.data())
def test_round_trip_random_blocks(tmp_path_factory, streams, chunk_seconds, data):
    path = tmp_path_factory.mktemp("rt") / "run.scrun"
    clock = FakeClock()
    # interleave the sensors' blocks in a random order that keeps each sensor's order
    order = data.draw(st.permutations([s for s, bl in streams.items() for _ in bl]))
    cursors = {s: 0 for s in streams}
    with RunWriter(path, META, clock=clock, chunk_seconds=chunk_seconds) as w:
        for s in order:
            w.write_samples(streams[s][cursors[s]])
            cursors[s] += 1
            clock.t += data.draw(st.sampled_from([0.0, 0.01, 0.7]))
        w.close(summary={"ok": True})
    r = RunReader(path)
    assert r.closed and r.truncated_bytes == 0 and r.summary == {"ok": True}
    assert r.metadata["sensors"] == META["sensors"] and r.metadata["format_version"] == 1
    for s, blocks in streams.items():
        got = list(r.blocks(s))
        assert all(b.sensor == s for b in got)
        if not blocks:
            assert got == [] and len(r.samples(s)) == 0
            continue
        # chunk boundaries may differ from the blocks written, but the data and its order are the same
        want = SampleBlock.concat(blocks)
        have = SampleBlock.concat(got)
        np.testing.assert_array_equal(have.index, want.index)
        np.testing.assert_array_equal(have.raw, want.raw)
        np.testing.assert_array_equal(have.quat_index, want.quat_index)
        np.testing.assert_array_equal(have.quat_raw, want.quat_raw)
        assert [b.stream_id for b in got][0] == blocks[0].stream_id
        # each chunk keeps its block's stream id
        ids_written = np.concatenate([np.full(len(b), b.stream_id) for b in blocks])
        ids_read = np.concatenate([np.full(len(b), b.stream_id) for b in got])
        np.testing.assert_array_equal(ids_read, ids_written)
        joined = r.samples(s)
        np.testing.assert_array_equal(joined.index, want.index)  # already sorted and unique
        np.testing.assert_array_equal(joined.raw, want.raw)
    assert sum(len(list(r.blocks(s))) for s in streams) == len(list(r.blocks()))


def test_exact_block_round_trip_and_contiguous_storage(tmp_path):
    path = tmp_path / "run.scrun"
    a = make_block(0, 100)
    b = make_block(100, 50, gaps_at=[10])  # not contiguous: stored with an index array
    with RunWriter(path, META, chunk_seconds=0.0001) as w:  # every block its own chunk
        w.write_samples(a)
        w.write_samples(b)
    r = open_run(path)
    got = list(r.blocks())
    assert len(got) == 2
    same_block(got[0], a)
    same_block(got[1], b)
    # the contiguous block costs 12 bytes a sample plus quaternions, no index array
    size_a = 16 + 32 + 100 * 12 + 25 * 16
    size_b = 16 + 32 + 50 * 8 + 50 * 12 + len(b.quat_index) * 16
    assert path.stat().st_size == FILE_HEADER_SIZE + len(_meta_chunk(path)) + size_a + size_b + _end_chunk_size(path)


def _meta_chunk(path):
    data = path.read_bytes()
    (length,) = struct.unpack_from("<I", data, FILE_HEADER_SIZE + 4)
    return data[FILE_HEADER_SIZE : FILE_HEADER_SIZE + 16 + length]


def _end_chunk_size(path):
    data = path.read_bytes()
    pos = FILE_HEADER_SIZE
    last = 0
    while pos < len(data):
        (length,) = struct.unpack_from("<I", data, pos + 4)
        last = 16 + length
        pos += last
    return last


def test_samples_sorts_and_drops_duplicates(tmp_path):
    path = tmp_path / "run.scrun"
    late = make_block(200, 50)  # a resent range that arrives after later samples
    with RunWriter(path, META) as w:
        w.write_samples(make_block(0, 200))
        w.write_samples(make_block(250, 50))
        w.write_samples(late)
        w.write_samples(make_block(240, 20))  # overlaps both neighbours: duplicates
    s = RunReader(path).samples(0)
    np.testing.assert_array_equal(s.index, np.arange(300))
    np.testing.assert_array_equal(s.raw[200:250], late.raw)
    np.testing.assert_array_equal(s.raw[250:260], make_block(250, 50).raw[:10])  # first recorded copy wins
    assert np.all(np.diff(s.quat_index) > 0)


def test_events_missing_metadata_updates_and_summary(tmp_path):
    path = tmp_path / "run.scrun"
    events = [
        {"kind": "connected", "sensor": 0, "t": 0.0, "imu": "LSM6DSO32"},
        {"kind": "cue", "t": 12.5, "cue": "wobble", "reason": "knee wobble 11° > 8°", "values": {"wobble_deg": np.float64(11.2), "n": np.int64(5)}},
        {"kind": "reconnect", "sensor": 1, "t": 30.0, "after_s": 2.5},
        {"kind": "status", "t": 60.0, "battery_pct": 80, "dropped": 0},
    ]
    with RunWriter(path, META) as w:
        w.write_samples(make_block(0, 10, sensor=0))
        for e in events[:2]:
            w.write_event(e)
        w.write_missing(0, 10, 20)
        w.write_missing(1, 0, 5)
        w.write_missing(1, 7, 0)  # nothing missing: not recorded
        w.write_metadata({"sensors_seen": 2})
        for e in events[2:]:
            w.write_event(e)
        w.write_samples(make_block(30, 10, sensor=0))
        w.close(summary={"samples": 20, "cues": 1})
    r = RunReader(path)
    assert r.events()[1]["values"] == {"wobble_deg": 11.2, "n": 5}
    assert r.events()[1]["reason"] == "knee wobble 11° > 8°"
    assert [e["kind"] for e in r.events()] == ["connected", "cue", "reconnect", "status"]
    assert r.missing() == [(0, 10, 20), (1, 0, 5)]
    assert r.missing(1) == [(1, 0, 5)]
    assert r.metadata["sensors_seen"] == 2 and r.metadata["start_time"] == META["start_time"]
    assert r.closed and r.summary == {"samples": 20, "cues": 1}
    assert r.end["totals"]["samples"] == {"0": 20}
    assert r.end["totals"]["missing"] == {"0": 20, "1": 5}
    dt.datetime.fromisoformat(r.end["end_time"])
    np.testing.assert_array_equal(r.samples(0).index, np.r_[0:10, 30:40])


def test_exception_in_context_still_closes_the_file(tmp_path):
    path = tmp_path / "run.scrun"
    with pytest.raises(KeyError):
        with RunWriter(path, META) as w:
            w.write_samples(make_block(0, 100))
            raise KeyError("boom")
    r = RunReader(path)
    assert r.closed and "KeyError" in r.end["error"]
    assert len(r.samples(0)) == 100


def test_writer_refuses_overwrite(tmp_path):
    path = tmp_path / "run.scrun"
    path.write_bytes(b"precious")
    with pytest.raises(RunFileError, match=r"run\.scrun: already exists"):
        RunWriter(path, META)
    assert path.read_bytes() == b"precious"
    with RunWriter(tmp_path / "b.scrun", META):
        pass
    before = (tmp_path / "b.scrun").read_bytes()
    with pytest.raises(RunFileError):
        RunWriter(tmp_path / "b.scrun", META)
    assert (tmp_path / "b.scrun").read_bytes() == before


def test_write_after_close_is_an_error(tmp_path):
    w = RunWriter(tmp_path / "r.scrun", META)
    w.close()
    w.close()  # idempotent
    with pytest.raises(RunFileError, match="closed"):
        w.write_event({"kind": "x"})


# ---------------------------------------------------------------------------------------------
# Durability


def test_syncs_by_clock_so_an_open_run_is_readable(tmp_path, monkeypatch):
    """With an injected clock: after each second of data the file on disk holds all but the last second."""
    path = tmp_path / "run.scrun"
    fsyncs = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (fsyncs.append(fd), real_fsync(fd)))
    clock = FakeClock()
    w = RunWriter(path, META, clock=clock, sync_interval=1.0)
    handed = 0
    for i in range(5 * 26):  # 5 s of 16-sample packets at 416 Hz
        w.write_samples(make_block(handed, 16))
        handed += 16
        clock.t += 16 / RATE
        r = RunReader(path)  # a second reader while the writer is open
        assert not r.closed and r.truncated_bytes == 0
        on_disk = len(r.samples(0))
        assert handed - on_disk <= RATE * 1.0 + 16, (i, handed, on_disk)
    assert len(fsyncs) >= 5
    w.close()
    assert len(RunReader(path).samples(0)) == handed


CHILD = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from stridecue.record.runfile import RunWriter
    from stridecue.link.samples import SampleBlock

    path = sys.argv[1]
    rate = 416.0
    w = RunWriter(path, {"start_time": "2026-11-22T15:00:00+00:00", "simulated": True, "sensors": []})
    handed = 0
    start = time.monotonic()
    last_print = -1.0
    while True:
        n = 16
        index = np.arange(handed, handed + n, dtype=np.int64)
        raw = np.empty((n, 6), np.int16)
        raw[:] = (index % 30000).astype(np.int16)[:, None]
        qi = index[index % 4 == 0]
        qr = np.tile((qi % 16384).astype(np.int16)[:, None], (1, 4))
        w.write_samples(SampleBlock(index, raw, rate, 16, 16, qi, qr, stream_id=3, sensor=0))
        handed += n
        now = time.monotonic()
        if now - last_print >= 0.1:
            print(handed, flush=True)
            last_print = now
        # real time: the next packet is due when its samples have been measured
        due = start + handed / rate
        if due > now:
            time.sleep(due - now)
    """
)


def test_kill_9_loses_at_most_the_last_second(tmp_path):
    path = tmp_path / "killed.scrun"
    env = dict(os.environ)
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, text=True, env=env)
    reported = 0
    try:
        t0 = time.monotonic()
        for line in child.stdout:
            reported = int(line)
            if time.monotonic() - t0 > 2.5 and reported > 0:
                break
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    assert reported > 416  # the child did run for a while

    r = RunReader(path)
    assert not r.closed
    assert r.end is None and r.summary is None
    s = r.samples(0)
    n = len(s)
    # a prefix: samples 0 .. n-1, exactly as written
    np.testing.assert_array_equal(s.index, np.arange(n))
    np.testing.assert_array_equal(s.raw, np.repeat((np.arange(n) % 30000).astype(np.int16)[:, None], 6, axis=1))
    assert s.stream_id == 3 and s.rate == 416.0
    np.testing.assert_array_equal(s.quat_index, np.arange(0, n, 4))
    # within the last second (plus one 0.1 s report interval and a packet) of what was handed over
    assert n >= reported - 416 * 1.0 - 0.1 * 416 - 16, (n, reported)


def test_torn_tail_at_every_byte_is_tolerated(tmp_path):
    path = tmp_path / "full.scrun"
    with RunWriter(path, META, chunk_seconds=0.05) as w:
        for k in range(8):
            w.write_samples(make_block(k * 30, 30))
            w.write_event({"kind": "status", "t": k})
        w.close(summary={"x": 1})
    data = path.read_bytes()
    meta_end = FILE_HEADER_SIZE + len(_meta_chunk(path))
    full = RunReader(path)
    total = len(full.samples(0))
    previous = -1
    for cut in range(meta_end, len(data) + 1):
        p = tmp_path / f"cut{cut}.scrun"
        p.write_bytes(data[:cut])
        r = RunReader(p)
        s = r.samples(0)
        np.testing.assert_array_equal(s.index, np.arange(len(s)))  # always a prefix
        assert len(s) >= previous
        previous = len(s)
        if cut < len(data):
            assert not r.closed
            assert (r.truncated_bytes == 0) == _ends_on_chunk(data, cut), cut
        p.unlink()
    assert previous == total
    # zeros after the last good chunk (a crash on some file systems) are a torn tail too
    p = tmp_path / "zeros.scrun"
    p.write_bytes(data[:-10] + bytes(4096))
    r = RunReader(p)
    assert not r.closed and r.truncated_bytes > 0 and len(r.samples(0)) == total


def _ends_on_chunk(data, cut):
    pos = FILE_HEADER_SIZE
    while pos < cut:
        (length,) = struct.unpack_from("<I", data, pos + 4)
        pos += 16 + length
    return pos == cut


def test_truncated_bytes_reported(tmp_path):
    path = tmp_path / "r.scrun"
    with RunWriter(path, META) as w:
        w.write_samples(make_block(0, 100))
    data = path.read_bytes()
    (tmp_path / "t.scrun").write_bytes(data[:-7])
    r = RunReader(tmp_path / "t.scrun")
    assert not r.closed and r.truncated_bytes == _end_chunk_size(path) - 7
    assert len(r.samples(0)) == 100


# ---------------------------------------------------------------------------------------------
# Damaged and foreign files


def _good_file(tmp_path) -> bytes:
    path = tmp_path / "good.scrun"
    with RunWriter(path, META, chunk_seconds=0.01) as w:
        for k in range(5):
            w.write_samples(make_block(k * 100, 100))
    return path.read_bytes()


def _expect_error(path, pattern):
    with pytest.raises(RunFileError) as info:
        RunReader(path)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith(path.name + ": "), msg
    assert re.search(pattern, msg), msg
    return msg


def test_truncated_header(tmp_path):
    data = _good_file(tmp_path)
    for cut in (1, 8, 10, FILE_HEADER_SIZE - 1):
        p = tmp_path / f"head{cut}.scrun"
        p.write_bytes(data[:cut])
        _expect_error(p, "truncated header")


def test_empty_and_missing_file(tmp_path):
    p = tmp_path / "empty.scrun"
    p.write_bytes(b"")
    _expect_error(p, "empty file")
    _expect_error(tmp_path / "nope.scrun", "no such run file")


def test_foreign_file(tmp_path):
    p = tmp_path / "notes.scrun"
    p.write_text("these are my running notes, not a run\n" * 3)
    before = p.read_bytes()
    _expect_error(p, r"not a StrideCue run file \(bad magic\)")
    assert p.read_bytes() == before  # never modified
    q = tmp_path / "png.scrun"
    q.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    _expect_error(q, "bad magic")


def test_future_format_version(tmp_path):
    data = bytearray(_good_file(tmp_path))
    struct.pack_into("<H", data, 8, 2)
    struct.pack_into("<I", data, 12, zlib.crc32(bytes(data[:12])))
    p = tmp_path / "future.scrun"
    p.write_bytes(bytes(data))
    _expect_error(p, "format version 2 is newer")


def test_corrupt_header_crc(tmp_path):
    data = bytearray(_good_file(tmp_path))
    data[10] ^= 0xFF  # header flags, CRC not updated
    p = tmp_path / "hdr.scrun"
    p.write_bytes(bytes(data))
    _expect_error(p, "corrupt file header")


def test_corrupt_chunk_in_the_middle(tmp_path):
    data = _good_file(tmp_path)
    # find the third chunk (second samples chunk) and flip a byte of its payload, then of its header
    pos = FILE_HEADER_SIZE
    starts = []
    while pos < len(data):
        starts.append(pos)
        (length,) = struct.unpack_from("<I", data, pos + 4)
        pos += 16 + length
    third = starts[2]
    bad = bytearray(data)
    bad[third + 12 + 40] ^= 0x01
    p = tmp_path / "bitflip.scrun"
    p.write_bytes(bytes(bad))
    # the damaged chunk is skipped, the rest read; its samples are counted as missing
    r = RunReader(p)
    assert [(d.first_byte, d.end_byte) for d in r.damage] == [(third, starts[3])]
    assert r.missing() == [(0, 100, 100)] and len(list(r.blocks())) == 4
    assert "run file damaged" in r.damage_line() and "~100 samples lost" in r.damage_line()
    bad = bytearray(data)
    bad[third + 5] ^= 0x40  # the length field
    p2 = tmp_path / "badlen.scrun"
    p2.write_bytes(bytes(bad))
    assert [(d.first_byte, d.end_byte) for d in RunReader(p2).damage] == [(third, starts[3])]
    # the same damage in the last chunk, with nothing after it, is a torn tail
    last = starts[-1]
    bad = bytearray(data)
    bad[-2] ^= 0x01
    p3 = tmp_path / "lastflip.scrun"
    p3.write_bytes(bytes(bad))
    r = RunReader(p3)
    assert not r.closed and r.truncated_bytes == len(data) - last


def test_cut_off_before_metadata(tmp_path):
    data = _good_file(tmp_path)
    p = tmp_path / "early.scrun"
    p.write_bytes(data[: FILE_HEADER_SIZE + 5])
    _expect_error(p, "no run metadata")


def test_error_is_a_user_error():
    from stridecue.errors import UserError

    assert issubclass(RunFileError, UserError)
    assert MAGIC.startswith(b"SCRUN")


# ---------------------------------------------------------------------------------------------
# Speed


def test_a_long_run_in_notification_sized_blocks_reads_back_exactly(tmp_path):
    # Reading speed is a benchmark, not a timed test; here: a long run written as the link hands
    # it over (a block per notification) comes back as one exact array.
    path = tmp_path / "long.scrun"
    clock = FakeClock()
    n_total = int(600 * RATE)
    per = 12
    rng = np.random.default_rng(1)
    raw = rng.integers(-32768, 32768, size=(n_total, 6), dtype=np.int16)
    quat = rng.integers(-16384, 16385, size=(n_total // 4, 4), dtype=np.int16)
    with RunWriter(path, META, clock=clock) as w:
        for first in range(0, n_total, per):
            idx = np.arange(first, min(first + per, n_total), dtype=np.int64)
            qi = idx[idx % 4 == 0]
            w.write_samples(SampleBlock(idx, raw[first : first + len(idx)], RATE, 16, 16, qi, quat[qi // 4], stream_id=1))
            clock.t = (first + per) / RATE
    r = RunReader(path)
    s = r.samples(0)
    assert len(s) == n_total
    np.testing.assert_array_equal(s.raw, raw)
    np.testing.assert_array_equal(s.quat_raw, quat)
    # samples are batched (written out at each 0.5 s sync), not one chunk per notification
    assert len(list(r.blocks(0))) <= n_total / RATE * 2 + 2


# ---------------------------------------------------------------------------------------------
# Naming


def test_run_file_path(tmp_path):
    start = dt.datetime(2026, 11, 22, 16, 5, 9, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    p = run_file_path(tmp_path, start, "StrideCue A1 / Knee")
    assert p == tmp_path / "runs" / "2026" / "2026-11-22T150509Z-stridecue-a1-knee.scrun"
    assert p.parent.is_dir() and not p.exists()
    with RunWriter(p, META):
        pass
    p2 = run_file_path(tmp_path, start, "StrideCue A1 / Knee")
    assert p2.name == "2026-11-22T150509Z-stridecue-a1-knee-2.scrun"
    p2.write_bytes(b"x")
    assert run_file_path(tmp_path, start, "StrideCue A1 / Knee").name.endswith("-knee-3.scrun")
    assert run_file_path(tmp_path, dt.datetime(2027, 1, 1), "").name == "2027-01-01T000000Z-run.scrun"
    assert run_file_path(tmp_path, start, "Läufer").name.endswith("-laufer.scrun")


def test_a_run_being_written_is_told_from_one_whose_host_stopped(tmp_path):
    """A run file without its end chunk is a run in progress while a writer (of any process) has it
    open, and a stopped host's leftover once that process is gone: summary says which."""
    from stridecue.record.runfile import is_being_written

    path = tmp_path / "run.scrun"
    w = RunWriter(path, META)
    assert is_being_written(path)
    w.close()
    assert not is_being_written(path)
    killed = tmp_path / "killed.scrun"
    code = f"from stridecue.record.runfile import RunWriter; import os; RunWriter({str(killed)!r}, {META!r}); os._exit(0)"
    subprocess.run([sys.executable, "-c", code], check=True)  # gone without closing it
    assert killed.stat().st_size > 0 and not is_being_written(killed)
    assert not is_being_written(tmp_path / "absent.scrun")
