"""The live status feed (live/status_feed.py) and the live page's server-sent events: the reader
takes only whole lines, follows a new run's file, and every status a run writes reaches the page;
driven by real simulated runs (`stridecue run --simulate`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import httpx2
from serve_support import TOKEN, ServerThread, app_for

from stridecue.live.status_feed import STALE_S, LegStatus, LiveStatus, LiveStatusReader, LiveStatusWriter, feed_path


def _status(seq: int, state: str = "running", **kw) -> LiveStatus:
    return LiveStatus(seq=seq, state=state, run="r", wall_time=time.time(), run_t=float(seq), **kw)


def test_reader_takes_whole_lines_only_and_follows_a_new_file(tmp_path):
    path = tmp_path / "live" / "status.jsonl"
    reader = LiveStatusReader(path)
    assert reader.read_new() == []  # no feed yet
    writer = LiveStatusWriter(path)
    writer.start(_status(1, legs=[LegStatus("left", "shin", 6.5, None, 8.0, 170.0, 12, None)]))
    line = _status(2).to_json().encode()
    with open(path, "ab") as f:  # half a line, as a reader may catch a write in flight
        f.write(line[:20])
    got = reader.read_new()
    assert [s.seq for s in got] == [1] and got[0].legs[0].wobble_deg == 6.5
    with open(path, "ab") as f:
        f.write(line[20:] + b"\n" + b"{not json\n")
    assert [s.seq for s in reader.read_new()] == [2]  # the damaged line is skipped
    writer.append(_status(3))
    writer.close()
    assert [s.seq for s in reader.read_new()] == [3]
    LiveStatusWriter(path).start(_status(1))  # the next run starts the file anew
    assert [s.seq for s in reader.read_new()] == [1]


def test_reader_with_a_tail_starts_near_the_end(tmp_path):
    path = tmp_path / "status.jsonl"
    writer = LiveStatusWriter(path)
    writer.start(_status(1))
    for seq in range(2, 400):
        writer.append(_status(seq))
    writer.close()
    got = LiveStatusReader(path, tail_bytes=2000).read_new()
    assert got[-1].seq == 399 and 0 < len(got) < 20
    assert [s.seq for s in got] == list(range(got[0].seq, 400))


def test_stale_and_round_trip():
    s = _status(5)
    assert LiveStatus.from_dict(json.loads(s.to_json())) == s
    assert not s.stale() and s.stale(now=s.wall_time + STALE_S + 1)
    assert not _status(6, state="ended").stale(now=time.time() + 3600)


def _run(base, seconds: float, speed: str, *extra) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen([sys.executable, "-m", "stridecue.cli", "--data-dir", str(base), "run", "--simulate", "--duration", str(seconds),
                             "--speed", speed, "--quiet", "--audio", "none", "--no-cue-track", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, stdin=subprocess.DEVNULL)


def test_a_simulated_run_writes_the_feed(tmp_path):
    """`stridecue run --simulate` through session.py's hook: statuses in order, legs and sensors
    filled in, a last status "ended" with the run's name, and the run's own output unchanged."""
    run = _run(tmp_path, 40, "4", "--threshold-deg", "5", "--wobble", "8")
    out, err = run.communicate(timeout=300)
    assert run.returncode == 0, err
    statuses = LiveStatusReader(feed_path(tmp_path)).read_new()
    assert [s.seq for s in statuses] == list(range(1, len(statuses) + 1)) and len(statuses) >= 3
    last = statuses[-1]
    assert last.state == "ended" and all(s.state == "running" for s in statuses[:-1])
    assert f"{last.run}.scrun" in out
    assert [leg.leg for leg in last.legs] == ["left"] and last.legs[0].strides > 20
    assert last.legs[0].threshold_deg == 5.0 and last.legs[0].wobble_deg is not None
    assert last.sensors[0].state == "connected" and last.sensors[0].battery_pct is not None
    assert last.cues >= 1 and last.recent_cues and last.recent_cues[-1].words
    assert last.run_t >= 35.0  # the run's 40 s, less its connecting
    assert [s.run_t for s in statuses] == sorted(s.run_t for s in statuses)


def _read_events(url: str, events: list, stop: threading.Event) -> None:
    """An event-stream client: (arrival time, event data) for each status event, until stop or the run ends."""
    with httpx2.Client(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=httpx2.Timeout(60.0)) as client:
        with client.stream("GET", url) as response:
            assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
            kind = None
            for line in response.iter_lines():
                if line.startswith("event:"):
                    kind = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and kind == "status":
                    data = json.loads(line[5:])
                    events.append((time.monotonic(), data))
                    if data["status"]["state"] == "ended" or stop.is_set():
                        return


def test_every_written_status_reaches_the_live_page(tmp_path):
    """A writer here writes a status about every 0.3 s; the page's event stream brings each one,
    in order, with the panel rendered.  (Whether events arrive at least once a second follows:
    every written status arrives, and they are written faster than that.)"""
    with ServerThread(app_for(tmp_path)) as server:
        events, stop = [], threading.Event()
        writer = LiveStatusWriter(feed_path(tmp_path))
        written = []

        def write(seq):
            status = _status(seq, state="ended" if seq == 12 else "running",
                             legs=[LegStatus("left", "shin", 5.0 + seq / 10, 6.0, 8.0, 170.0, seq, 0.0)])
            writer.start(status) if seq == 1 else writer.append(status)
            written.append(time.monotonic())

        # the page starts with the newest status: the first one is written before the page opens
        # and the rest once it has arrived, so a page that connects late under load misses none
        write(1)
        reader = threading.Thread(target=_read_events, args=(server.url("/live/events"), events, stop), daemon=True)
        reader.start()
        for _ in range(600):
            if events or not reader.is_alive():
                break
            stop.wait(0.1)
        for seq in range(2, 13):
            write(seq)
            stop.wait(0.3)
        writer.close()
        reader.join(60)
        stop.set()
    got = [d["status"]["seq"] for _, d in events]
    assert got == list(range(1, 13))
    assert f"{5.0 + 12 / 10:.1f}°" in events[-1][1]["html"] and events[-1][1]["state"] == "ended"
    arrivals = [t for t, _ in events]
    assert all(a >= w for a, w in zip(arrivals, written))  # each arrived after it was written: none made up


def test_the_live_page_follows_a_simulated_run(tmp_path):
    """serve and a real `stridecue run --simulate` (two processes, sharing only the feed file): the
    event stream carries the run's statuses, in order, until its last one, "ended"."""
    with ServerThread(app_for(tmp_path)) as server:
        events, stop = [], threading.Event()
        reader = threading.Thread(target=_read_events, args=(server.url("/live/events"), events, stop), daemon=True)
        reader.start()
        run = _run(tmp_path, 8, "1")
        out, err = run.communicate(timeout=300)
        reader.join(60)
        stop.set()
    assert run.returncode == 0, err
    written = [s.seq for s in LiveStatusReader(feed_path(tmp_path)).read_new()]
    got = [d["status"]["seq"] for _, d in events]
    assert got and got[-1] == written[-1] and events[-1][1]["state"] == "ended"
    assert got == written[written.index(got[0]):]  # from the first one it saw, every status, in order
    assert len(got) >= 8  # an 8-second run at real time: two statuses a second
