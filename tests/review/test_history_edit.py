"""Which runs history holds changes only by explicit acts: `stridecue import FILE.scrun` adds one,
`stridecue history delete RUN` takes one out (with its files, after asking); reading a file with
`summary` or `export` adds nothing."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest


def cli(*args, input=None):
    return subprocess.run([sys.executable, "-m", "stridecue.cli", *args], capture_output=True, text=True, timeout=300,
                          input=input, stdin=None if input is not None else subprocess.DEVNULL)


def history_names(base) -> list[str]:
    out = cli("--data-dir", str(base), "history", "--json")
    if out.returncode != 0:
        assert "no runs" in out.stderr, out.stderr
        return []
    return [r["name"] for r in json.loads(out.stdout)["runs"]]


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    """Two short simulated runs (the real analysis needs real-looking samples), to copy from."""
    base = tmp_path_factory.mktemp("recorded")
    for seed in (1, 2):
        out = cli("--data-dir", str(base), "run", "--simulate", "--quiet", "--speed", "max", "--duration", "10",
                  "--seed", str(seed), "--no-cue-track")
        assert out.returncode == 0, out.stderr
    return sorted(base.rglob("*.scrun"))


@pytest.fixture
def outside(tmp_path, simulated):
    """A run file recorded elsewhere (not under the data directory) and an empty data directory."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    path = elsewhere / simulated[0].name
    shutil.copyfile(simulated[0], path)
    base = tmp_path / "data"
    base.mkdir()
    return base, path


def test_summary_of_a_file_outside_the_data_dir_does_not_add_it_to_history(outside):
    base, path = outside
    before = path.read_bytes()
    out = cli("--data-dir", str(base), "summary", str(path))
    assert out.returncode == 0, out.stderr
    assert path.stem in out.stdout
    assert history_names(base) == []
    assert path.read_bytes() == before
    assert not (base / "runs").exists()


def test_import_adds_a_run_file_to_history_as_a_copy_and_only_once(outside):
    base, path = outside
    before = path.read_bytes()
    out = cli("--data-dir", str(base), "import", str(path))
    assert out.returncode == 0, out.stderr
    assert "imported: run 1" in out.stdout
    copies = list((base / "runs").rglob("*.scrun"))
    assert [c.name for c in copies] == [path.name] and copies[0].read_bytes() == before
    assert history_names(base) == [path.stem]
    again = cli("--data-dir", str(base), "import", str(path))
    assert again.returncode == 0 and "already in history: run 1" in again.stdout
    assert len(list((base / "runs").rglob("*.scrun"))) == 1
    assert path.read_bytes() == before


def test_importing_a_damaged_file_is_one_line_and_copies_nothing(tmp_path):
    bad = tmp_path / "bad.scrun"
    bad.write_bytes(b"not a run file at all" * 10)
    out = cli("--data-dir", str(tmp_path / "data"), "import", str(bad))
    assert out.returncode != 0 and "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert not list((tmp_path / "data").rglob("*.scrun"))


@pytest.fixture
def two_runs(tmp_path, simulated):
    folder = tmp_path / "runs" / "2026"
    folder.mkdir(parents=True)
    a, b = (folder / p.name for p in simulated)
    for src, dest in zip(simulated, (a, b)):
        shutil.copyfile(src, dest)
    track = a.with_name(a.name.replace(".scrun", ".cues.wav"))
    track.write_bytes(b"RIFF")
    assert history_names(tmp_path) == [a.stem, b.stem]
    return tmp_path, a, b, track


def test_delete_without_yes_and_without_stdin_refuses_in_one_line(two_runs):
    base, a, b, track = two_runs
    out = cli("--data-dir", str(base), "history", "delete", a.stem)
    assert out.returncode != 0 and "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines() == ["stridecue history: nothing deleted: no answer on stdin (give --yes to delete without asking)"]
    assert a.exists() and track.exists() and history_names(base) == [a.stem, b.stem]


def test_delete_asks_and_a_no_keeps_everything(two_runs):
    base, a, b, track = two_runs
    out = cli("--data-dir", str(base), "history", "delete", a.stem, input="n\n")
    assert out.returncode == 1 and "not deleted" in out.stdout
    assert a.exists() and track.exists() and history_names(base) == [a.stem, b.stem]


@pytest.mark.parametrize("how", [["--yes"], []], ids=["yes-flag", "answered-y"])
def test_delete_removes_the_run_and_its_files_and_nothing_else(two_runs, how):
    base, a, b, track = two_runs
    out = cli("--data-dir", str(base), "history", "delete", a.stem, *how, input=None if how else "y\n")
    assert out.returncode == 0, out.stderr
    assert str(a) in out.stdout and str(track) in out.stdout
    assert not a.exists() and not track.exists() and b.exists()
    assert history_names(base) == [b.stem]  # and a sync does not bring it back


def test_delete_of_a_run_whose_file_is_outside_the_data_dir_leaves_the_file(outside):
    """A run an older StrideCue put into history by reading it: deleting it keeps the user's file."""
    base, path = outside
    from stridecue.record.store import RunStore

    with RunStore.open(base) as store:
        store.ingest(path)  # as `summary FILE` used to
    out = cli("--data-dir", str(base), "history", "delete", path.stem, "--yes")
    assert out.returncode == 0, out.stderr
    assert "kept" in out.stdout and path.exists()
    assert history_names(base) == []


def test_export_of_a_file_outside_the_data_dir_does_not_add_it_to_history(outside, tmp_path):
    base, path = outside
    out = cli("--data-dir", str(base), "export", str(path), "--format", "csv", "--out", str(tmp_path / "out"))
    assert out.returncode == 0, out.stderr
    assert history_names(base) == []
