"""Downloads from the phone: the run file as recorded, FIT (decoded by fitdecode, CRCs checked),
CSV and Parquet (zips of export.py's three tables, read back with pyarrow)."""

from __future__ import annotations

import io
import re
import zipfile

import fitdecode
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from serve_support import client_for, make_data
from test_summary_support import store_with

from stridecue.analysis.stride import Stride
from stridecue.review.export import STRIDE_COLUMNS


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    base = tmp_path_factory.mktemp("data")
    paths = make_data(base)
    with client_for(base) as c:
        ids = {name: None for name in paths}
        listing = c.get("/").text
        for run_id in re.findall(r'href="/runs/(\d+)"', listing):
            report = c.get(f"/runs/{run_id}").text
            for name, path in paths.items():
                if path.stem in report.split("Run report:")[1][:200]:
                    ids[name] = int(run_id)
        yield base, paths, ids, c


def _strides(base, path) -> list[Stride]:
    with store_with(base) as store:
        run = store.find(path.stem)
        return store.strides(run["id"])


def test_fit_download_decodes_with_a_record_per_second(served):
    base, paths, ids, c = served
    r = c.get(f"/runs/{ids['run2']}/export/fit")
    assert r.status_code == 200 and r.headers["content-type"] == "application/vnd.ant.fit"
    assert f'filename="{paths["run2"].stem}.fit"' in r.headers["content-disposition"]
    kinds = {}
    with fitdecode.FitReader(io.BytesIO(r.content), check_crc=fitdecode.CrcCheck.ENABLED) as fit:
        for frame in fit:
            if isinstance(frame, fitdecode.FitDataMessage):
                kinds[frame.name] = kinds.get(frame.name, 0) + 1
    assert kinds["session"] == 1 and kinds["activity"] == 1
    assert kinds["record"] >= 7 * 60  # an 8-minute run: about one record a second


def test_csv_download_is_the_three_tables(served):
    base, paths, ids, c = served
    r = c.get(f"/runs/{ids['fresh']}/export/csv")  # the run the on-disk store has not analysed yet
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    stem = paths["fresh"].stem
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        assert sorted(z.namelist()) == sorted(f"{stem}-{t}.csv" for t in ("strides", "samples", "cues"))
        strides = pacsv.read_csv(io.BytesIO(z.read(f"{stem}-strides.csv")))
        cues = pacsv.read_csv(io.BytesIO(z.read(f"{stem}-cues.csv")))
        samples = pacsv.read_csv(io.BytesIO(z.read(f"{stem}-samples.csv")))
    expected = _strides(base, paths["fresh"])
    assert strides.num_rows == len(expected) > 0
    assert set(STRIDE_COLUMNS) <= set(strides.column_names)
    assert strides.column("wobble_deg").to_pylist() == pytest.approx([s.wobble_deg for s in expected])
    assert cues.column("t").to_pylist() == [200.0]
    assert samples.num_rows == 6 * 60 * 52  # 6 minutes at the synthetic runs' 52 Hz


def test_parquet_download_is_the_three_tables(served):
    base, paths, ids, c = served
    r = c.get(f"/runs/{ids['run2']}/export/parquet")
    assert r.status_code == 200
    stem = paths["run2"].stem
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        strides = pq.read_table(io.BytesIO(z.read(f"{stem}-strides.parquet")))
        samples = pq.read_table(io.BytesIO(z.read(f"{stem}-samples.parquet")))
    assert strides.num_rows == len(_strides(base, paths["run2"]))
    assert sorted(set(samples.column("sensor").to_pylist())) == [0, 1]  # both legs
    assert b"stridecue.run" in strides.schema.metadata


def test_run_file_download_is_the_recording(served):
    base, paths, ids, c = served
    report = c.get(f"/runs/{ids['run0']}").text
    href = re.search(r'href="(/files/runs/[^"]+\.scrun)"', report).group(1)
    r = c.get(href)
    assert r.status_code == 200 and r.content == paths["run0"].read_bytes()


def test_exports_leave_no_temporary_files(served, tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    base, paths, ids, c = served
    for fmt in ("fit", "csv", "parquet"):
        assert c.get(f"/runs/{ids['run1']}/export/{fmt}").status_code == 200
    assert list(tmp_path.iterdir()) == []
