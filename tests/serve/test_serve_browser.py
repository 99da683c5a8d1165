"""`serve` in real headless Chromium at a phone's size (390 x 844): the run list, a report and the
live page, served by uvicorn on a free localhost port; their DOM has the expected content and
their screenshots are drawn."""

from __future__ import annotations

import struct
import time

import pytest
from serve_support import TOKEN, ServerThread, app_for, chromium, make_data, needs_chromium
from test_report import _Page
from test_summary_support import store_with

from stridecue.live.status_feed import CueStatus, LegStatus, LinkStatus, LiveStatus, LiveStatusWriter, feed_path

PHONE = "--window-size=390,844"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("data")
    paths = make_data(base)
    writer = LiveStatusWriter(feed_path(base))
    writer.start(LiveStatus(
        seq=1, state="running", run=paths["fresh"].stem, wall_time=time.time() + 3600,  # stays fresh while the tests run
        run_t=754.0, cues=3, lost_samples=12, lost_pct=0.1,
        legs=[LegStatus("left", "shin", 7.9, 6.4, 8.2, 168.0, 512, 22.0), LegStatus("right", "shin", 5.1, 6.6, 7.7, 168.0, 509, 4.0)],
        sensors=[LinkStatus(0, "StrideCue-L", "connected", 81), LinkStatus(1, "StrideCue-R", "reconnecting", 64)],
        recent_cues=[CueStatus(300.0, "wobble", "Squeeze your glutes"), CueStatus(702.5, "wobble", "Knees apart")]))
    writer.close()
    with ServerThread(app_for(base)) as s:
        yield s, paths


def _dom(server, path: str, tmp) -> _Page:
    done = chromium(["--dump-dom", server.url(f"{path}{'&' if '?' in path else '?'}token={TOKEN}")], tmp)
    assert done.returncode == 0, done.stderr[-2000:]
    page = _Page()
    page.feed(done.stdout)
    return page


def _text(page: _Page) -> str:
    return " ".join(" ".join(page.text).split())


def _screenshot(server, path: str, tmp, name: str) -> bytes:
    png = tmp / f"{name}.png"
    url = server.url(f"{path}?token={TOKEN}") if path else "data:text/html,<html><body></body></html>"
    done = chromium([PHONE, f"--screenshot={png}", url], tmp)
    assert done.returncode == 0 and png.exists(), done.stderr[-2000:]
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (390, 844)  # IHDR: the phone's size
    return data


@needs_chromium
def test_run_list_at_phone_width(server, tmp_path):
    s, paths = server
    page = _dom(s, "/", tmp_path)
    text = _text(page)
    assert "Your runs" in text and "Run in progress" in text
    assert page.count("a", "run") == 5  # four runs and the run in progress
    for path in paths.values():
        assert path.stem in text
    shot = _screenshot(s, "/", tmp_path, "runs")
    blank = _screenshot(s, "", tmp_path, "blank")
    assert len(shot) > 5 * len(blank)


@needs_chromium
def test_report_at_phone_width(server, tmp_path):
    s, paths = server
    with store_with(paths["run2"].parents[2]) as store:  # ingested before serve started: the same id there
        run_id = f"/runs/{store.find(paths['run2'].stem)['id']}"
    page = _dom(s, run_id, tmp_path)
    text = _text(page)
    assert "Run report:" in text and "Over the run" in text and "Left and right" in text
    assert page.count("svg", "wobble-time") == 1
    assert "← Runs Run file FIT CSV Parquet" in text
    shot = _screenshot(s, run_id, tmp_path, "report")
    assert len(shot) > 10 * len(_screenshot(s, "", tmp_path, "blank"))


@needs_chromium
def test_live_page_at_phone_width(server, tmp_path):
    s, _ = server
    page = _dom(s, "/live", tmp_path)
    text = _text(page)
    assert "Recording" in text and "12:34" in text
    assert "7.9°" in text and "threshold 6.4°" in text and "5.1°" in text
    assert "“Knees apart”" in text and "3 cues" in text
    assert "StrideCue-R · reconnecting" in text and "64%" in text and "lost 12 samples" in text
    assert page.count("div", "meter") == 2 and page.count("div", "over") == 1  # the left leg is over its threshold
    shot = _screenshot(s, "/live", tmp_path, "live")
    assert len(shot) > 5 * len(_screenshot(s, "", tmp_path, "blank"))
