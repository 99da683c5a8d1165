"""The pages of `stridecue serve` through Starlette's TestClient: runs, report, trends, live,
and that reading never writes to the store."""

from __future__ import annotations

import hashlib
import os

import pytest
from serve_support import client_for, make_data

from stridecue.live.status_feed import LiveStatus, LegStatus, LiveStatusWriter, feed_path


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    base = tmp_path_factory.mktemp("data")
    return base, make_data(base)


@pytest.fixture(scope="module")
def client(data):
    with client_for(data[0]) as c:
        yield c


def _run_ids(client) -> list[int]:
    import re

    return [int(x) for x in re.findall(r'href="/runs/(\d+)"', client.get("/").text)]


def test_run_list_shows_every_run_newest_first_including_one_not_analysed_yet(client, data):
    _, paths = data
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    names = [p.stem for p in paths.values()]
    for name in names:
        assert name in r.text
    assert r.text.index(paths["fresh"].stem) < r.text.index(paths["run0"].stem)  # newest first
    assert len(_run_ids(client)) == 4
    assert 'name="viewport" content="width=device-width' in r.text


def test_report_is_the_review_report_with_downloads(client, data):
    _, paths = data
    for run_id in _run_ids(client):
        r = client.get(f"/runs/{run_id}")
        assert r.status_code == 200
        assert "Run report:" in r.text and 'id="downloads"' in r.text
        for fmt in ("fit", "csv", "parquet"):
            assert f'/runs/{run_id}/export/{fmt}' in r.text
        assert 'href="/files/runs/' in r.text
        assert "svg.chart{max-width:100%" in r.text  # report.py's charts shrink to a phone's width


def test_history_page_has_trend_charts_and_profiles(client):
    r = client.get("/history")
    assert r.status_code == 200
    for cls in ("trend-wobble_median_deg", "trend-landing_load_median_g", "trend-cues_per_min"):
        assert cls in r.text
    assert r.text.count('class="run-point') >= 4
    assert client.get("/history?profile=nobody").status_code == 200


def test_unknown_run_and_format_are_404(client):
    assert client.get("/runs/999").status_code == 404
    ids = _run_ids(client)
    assert client.get(f"/runs/{ids[0]}/export/exe").status_code == 404
    assert client.get("/nothing-here").status_code == 404


def test_live_page_without_a_run_and_with_one(tmp_path):
    base = tmp_path / "data"
    base.mkdir()
    with client_for(base) as c:
        assert "No run has been recorded" in c.get("/live").text
        writer = LiveStatusWriter(feed_path(base))
        import time

        writer.start(LiveStatus(seq=1, state="running", run="r", wall_time=time.time(), run_t=75.0,
                                legs=[LegStatus("left", "shin", 7.5, 6.0, 8.1, 170.0, 40, 35.0)]))
        writer.close()
        page = c.get("/live").text
        assert "Recording" in page and "1:15" in page and "7.5°" in page and "threshold 6.0°" in page
        assert 'class="meter over"' in page  # over threshold: drawn red
        assert '<script src="/live.js">' in page
        js = c.get("/live.js")
        assert js.status_code == 200 and "EventSource('/live/events')" in js.text
        assert "Run in progress" in c.get("/").text


def _tree(base):
    out = {}
    for folder, dirs, files in os.walk(base):
        for name in files:
            p = os.path.join(folder, name)
            st = os.stat(p)
            out[p] = (st.st_size, st.st_mtime_ns, hashlib.sha256(open(p, "rb").read()).hexdigest())
        for name in dirs:
            out[os.path.join(folder, name)] = "dir"
    return out


def test_reading_never_writes_to_the_data_directory(tmp_path):
    """Every page and download, and the data directory (store included) is byte for byte as before:
    no new rows, no -wal or -shm files, not even a touched modification time."""
    base = tmp_path / "data"
    base.mkdir()
    make_data(base)
    before = _tree(base)
    assert any(p.endswith("stridecue.db") for p in before)
    with client_for(base) as c:
        ids = _run_ids(c)
        pages = ["/", "/history", "/live", "/settings", "/live.js"] + [f"/runs/{i}" for i in ids]
        pages += [f"/runs/{ids[0]}/export/{fmt}" for fmt in ("fit", "csv", "parquet")]
        for page in pages:
            assert c.get(page).status_code == 200, page
    assert _tree(base) == before


def test_physio_page_is_the_report_for_the_physiotherapist_with_the_nav(client):
    r = client.get("/physio?weeks=4&until=2026-11-10")
    assert r.status_code == 200
    assert "StrideCue report for the physiotherapist" in r.text and 'href="/physio?weeks=8"' in r.text
    assert r.text.count('class="run-line"') == 4  # the four runs of 1-8 November
    assert 'id="exercises"' in r.text and 'id="pain"' in r.text
    for bad in ("weeks=0", "weeks=x", "until=2026-13-01"):
        r = client.get(f"/physio?{bad}")
        assert r.status_code == 400 and bad.split("=")[0] in r.text, (bad, r.status_code)
