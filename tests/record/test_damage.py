"""Issue 16 item 3: a damaged region in the middle of a run file costs only what it held.

A simulated run has 5 kB of its middle overwritten: `summary` and `replay` still read it (with a
one-line warning naming the time and samples lost), and `repair` writes a clean copy elsewhere
whose bytes differ from the original only where the damage was, leaving the original alone."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from stridecue.record.runfile import RunWriter
from stridecue.record.runreader import RunReader
from stridecue.record.runformat import FILE_HEADER_SIZE, ChunkWalk

DAMAGE = 5000


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "stridecue.cli", *args], capture_output=True, text=True, timeout=600,
                          stdin=subprocess.DEVNULL, cwd=cwd)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def damaged_run(tmp_path_factory):
    """(data dir, the damaged run file, its running strides before the damage, where the damage starts)."""
    data = tmp_path_factory.mktemp("data")
    out = cli("--data-dir", str(data), "run", "--simulate", "--duration", "120", "--speed", "max", "--quiet",
              "--audio", "none", "--no-cue-track")
    assert out.returncode == 0, out.stderr
    before = json.loads(cli("--data-dir", str(data), "summary", "--json").stdout)["running_strides"]
    (path,) = sorted((data / "runs").rglob("*.scrun"))
    raw = bytearray(path.read_bytes())
    middle = len(raw) // 2
    raw[middle : middle + DAMAGE] = np.random.default_rng(16).integers(0, 256, DAMAGE, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(raw))
    return data, path, before, middle


def test_summary_reads_around_the_damage_and_says_what_was_lost(damaged_run):
    data, path, before, _ = damaged_run
    out = cli("--data-dir", str(data), "summary", str(path), "--json")
    assert out.returncode == 0, out.stderr
    assert out.stderr.count("\n") == 1 and "run file damaged:" in out.stderr, out.stderr
    assert " kB unreadable at " in out.stderr and " samples lost" in out.stderr
    strides = json.loads(out.stdout)["running_strides"]
    assert before - 6 <= strides <= before  # 5 kB is about a second of samples: a few strides at most


def test_replay_reads_around_the_damage(damaged_run):
    data, path, _, _ = damaged_run
    out = cli("--data-dir", str(data), "replay", str(path), "--quiet", "--audio", "none")
    assert out.returncode == 0, out.stderr
    assert "run file damaged:" in out.stderr and "Traceback" not in out.stderr


def test_the_reader_counts_the_lost_samples_as_missing(damaged_run):
    _, path, _, middle = damaged_run
    r = RunReader(path)
    assert r.closed and len(r.damage) == 1
    d = r.damage[0]
    assert d.first_byte <= middle and d.end_byte >= middle + DAMAGE
    assert 0 < d.samples_lost < 3 * 416  # at most the chunks the damage touched
    assert r.missing() == [*[m for m in r.missing() if m not in d.lost], *d.lost]
    blocks = r.samples(0)
    assert len(blocks.index) + d.samples_lost == blocks.index[-1] + 1 - blocks.index[0]


def test_repair_writes_a_clean_copy_and_leaves_the_original_alone(damaged_run, tmp_path):
    data, path, _, _ = damaged_run
    original = sha(path)
    out = cli("--data-dir", str(data), "repair", str(path), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    (copy,) = tmp_path.glob("*-repaired.scrun")
    assert str(copy) in out.stdout and sha(path) == original
    repaired = RunReader(copy)
    assert not repaired.damage and repaired.truncated_bytes == 0 and repaired.closed
    # the copy is the original with the damaged bytes swapped for a few chunks that say what they held
    d = RunReader(path).damage[0]
    old, new = path.read_bytes(), copy.read_bytes()
    assert new.startswith(old[: d.first_byte]) and new.endswith(old[d.end_byte :])
    inserted = new[d.first_byte : len(new) - (len(old) - d.end_byte)]
    assert _kinds(inserted) == [0x04, 0x05]  # missing samples, then the "repaired" metadata update
    assert set(d.lost) <= set(repaired.missing(0))
    assert repaired.metadata["repaired"]["samples_lost"] == d.samples_lost
    # never overwrites: a second repair to the same place refuses, and writes nothing
    again = cli("--data-dir", str(data), "repair", str(path), cwd=tmp_path)
    assert again.returncode != 0 and "already exists" in again.stderr and again.stderr.count("\n") == 1
    assert sha(copy) == hashlib.sha256(new).hexdigest() and sha(path) == original
    assert sorted(p.name for p in tmp_path.iterdir()) == [copy.name]


def _kinds(chunks: bytes) -> list[int]:
    """Chunk types of a run of whole chunks (no file header)."""
    walk = ChunkWalk(bytes(FILE_HEADER_SIZE) + chunks, "inserted")
    return [kind for _, kind, *_ in walk]


def test_an_intact_file_needs_no_repair(tmp_path):
    path = tmp_path / "ok.scrun"
    with RunWriter(path, {"sensors": []}):
        pass
    out = cli("repair", str(path), cwd=tmp_path)
    assert out.returncode == 0 and "nothing to repair" in out.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.scrun"]


def test_damage_in_the_run_metadata_is_still_an_error(tmp_path):
    from stridecue.record.runformat import RunFileError

    path = tmp_path / "meta.scrun"
    with RunWriter(path, {"sensors": []}) as w:
        w.write_event({"kind": "note", "t": 0.0})
    raw = bytearray(path.read_bytes())
    raw[FILE_HEADER_SIZE + 20] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(RunFileError, match="corrupt run metadata chunk"):
        RunReader(path)
