"""Bad input, the way a careless user types it: every case is the real CLI in a subprocess, and
must end with exit status != 0, exactly one line on stderr (no traceback) and the data
directory byte for byte as it was.

CASES is a table: append a case (an id, the arguments after `--data-dir DIR`, and a few words
the error must hold) to cover more.  Arguments may use {csv_dir}, where the CSV files of
`csv_files()` are, and {data}, the data directory.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SIM = ("run", "--simulate", "--speed", "max", "--quiet", "--audio", "none")
IMPORT_COLUMNS = "t=t,ax=ax,ay=ay,az=az,gx=gx,gy=gy,gz=gz"

CASES = [
    # (id, arguments, words the one-line error holds)
    ("duration negative", [*SIM, "--duration=-10"], "--duration"),
    ("duration zero", [*SIM, "--duration", "0"], "--duration"),
    ("duration nan", [*SIM, "--duration", "nan"], "--duration"),
    ("duration inf", [*SIM, "--duration", "inf"], "--duration"),
    ("duration beyond a simulation", [*SIM, "--duration", "1e9"], "at most"),
    ("speed nan", [*SIM, "--duration", "5", "--speed", "nan"], "--speed"),
    ("loss of 2", [*SIM, "--duration", "5", "--faults", "loss=2"], "loss=2"),
    ("loss nan", [*SIM, "--duration", "5", "--faults", "loss=nan"], "loss=nan"),
    ("radio unknown", [*SIM, "--duration", "5", "--radio", "pi-zero-3"], "unknown radio 'pi-zero-3'"),
    ("radio interval 1 ms", [*SIM, "--duration", "5", "--radio", "pi-zero-2w,interval-ms=1"], "interval-ms=1"),
    ("daemon radio bad value", ["daemon", "--simulate", "--radio", "dle,packets=many"], "bad value 'many'"),
    ("guided segment inf", [*SIM, "--guided", "--guided-segment", "inf"], "--guided-segment"),
    ("exercise unknown", ["exercise", "pistol-squat", "--simulate"], "unknown exercise"),
    ("exercise level 9", ["exercise", "step-down", "--level", "9", "--simulate"], "levels 1-4"),
    ("exercise bridge on the shin", ["exercise", "bridge", "--mount", "shin", "--simulate"], "thigh"),
    ("exercise no reps", ["exercise", "single-leg-squat", "--reps", "0", "--simulate"], "--reps 0"),
    ("exercise no name", ["exercise", "--simulate"], "which exercise"),
    ("history last 0", ["history", "--last", "0"], "--last 0"),
    ("history last negative", ["history", "--last=-3"], "--last -3"),
    ("import at 416 kHz", ["import", "{csv_dir}/run.csv", "--columns", IMPORT_COLUMNS, "--units", "t=ms"], "416000"),
    ("import 3 rows", ["import", "{csv_dir}/three.csv", "--columns", IMPORT_COLUMNS], "3 samples"),
    ("import a NaN row", ["import", "{csv_dir}/nan.csv", "--columns", IMPORT_COLUMNS], "row 52"),
    ("import two sensors at once", ["import", "{csv_dir}/two.csv", "--columns", IMPORT_COLUMNS], "--sensor"),
    ("import a sensor not there", ["import", "{csv_dir}/two.csv", "--columns", IMPORT_COLUMNS, "--sensor", "7"], "sensor 7"),
    ("import three sensors as one run", ["import", "{csv_dir}/three_sensors.csv", "--columns", IMPORT_COLUMNS, "--leg", "both"],
     "holds 3 sensors"),
    ("import sensors at two rates", ["import", "{csv_dir}/rates.csv", "--columns", IMPORT_COLUMNS, "--leg", "both"],
     "different rates"),
    ("import thigh+shin of one sensor", ["import", "{csv_dir}/two.csv", "--columns", IMPORT_COLUMNS, "--sensor", "1",
                                         "--mount", "thigh+shin"], "two sensors"),
    ("import both legs of a file of one", ["import", "{csv_dir}/run.csv", "--columns", IMPORT_COLUMNS, "--leg", "both"],
     "two sensors"),
    ("repair a missing file", ["repair", "{data}/nope.scrun"], "no such run file"),
    ("replay of a foreign file", ["replay", "{csv_dir}/run.csv", "--quiet"], "run.csv"),
    ("daemon stop-after negative", ["daemon", "--simulate", "--speed", "max", "--stop-after=-1"], "--stop-after"),
    ("daemon runs 0", ["daemon", "--simulate", "--runs", "0"], "--runs 0"),
    ("pain 11", ["log", "pain", "11"], "pain 11"),
    ("pain of an unknown run", ["log", "pain", "3", "--run", "no-such-run"], "no-such-run"),
    ("pain at a bad --when", ["log", "pain", "3", "--when", "soon"], "--when"),
]


def csv_files(folder: Path) -> None:
    """A plausible 416 Hz recording in g and deg/s, and the broken variants of it."""
    rng = np.random.default_rng(5)
    n = 416 * 6
    t = np.arange(n) / 416.0
    acc = np.column_stack([np.sin(2 * np.pi * 1.4 * t) * 2, rng.normal(0, 0.3, n), 1 + np.cos(2 * np.pi * 2.8 * t) * 3])
    gyr = np.column_stack([rng.normal(0, 30, n), np.sin(2 * np.pi * 1.4 * t) * 300, rng.normal(0, 30, n)])
    rows = [f"{a:.6f},{b[0]:.4f},{b[1]:.4f},{b[2]:.4f},{c[0]:.3f},{c[1]:.3f},{c[2]:.3f}" for a, b, c in zip(t, acc, gyr)]
    header = "t,ax,ay,az,gx,gy,gz"
    (folder / "run.csv").write_text("\n".join([header, *rows]) + "\n")
    (folder / "three.csv").write_text("\n".join([header, *rows[:3]]) + "\n")
    nan = [*rows[:50], rows[50].replace(rows[50].split(",")[1], "nan", 1), *rows[51:]]
    (folder / "nan.csv").write_text("\n".join([header, *nan]) + "\n")
    two = [f"{k % 2},{r}" for k, r in enumerate(rows)]
    (folder / "two.csv").write_text("\n".join(["sensor," + header, *two]) + "\n")
    three = [f"{k % 3},{r}" for k, r in enumerate(rows)]
    (folder / "three_sensors.csv").write_text("\n".join(["sensor," + header, *three]) + "\n")
    # sensor 0 every row (416 Hz), sensor 1 every other row (208 Hz)
    rates = [f"0,{r}" for r in rows] + [f"1,{r}" for r in rows[::2]]
    (folder / "rates.csv").write_text("\n".join(["sensor," + header, *rates]) + "\n")


def tree_hash(folder: Path) -> dict[str, str]:
    """Every file and folder under folder: relative path -> sha256 of its bytes ("dir" for a folder)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        out[str(p.relative_to(folder))] = "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """A data directory with a run in it (and its store), as a user's would be."""
    data = tmp_path_factory.mktemp("data")
    out = subprocess.run([sys.executable, "-m", "stridecue.cli", "--data-dir", str(data), *SIM, "--duration", "20",
                          "--no-cue-track"], capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr
    history = subprocess.run([sys.executable, "-m", "stridecue.cli", "--data-dir", str(data), "history"],
                             capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert history.returncode == 0, history.stderr
    return data


@pytest.fixture(scope="module")
def csv_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("csv")
    csv_files(folder)
    return folder


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_nonzero_and_writes_nothing(case, data_dir, csv_dir, tmp_path):
    _, args, words = case
    args = [a.format(csv_dir=csv_dir, data=data_dir) for a in args]
    before = tree_hash(data_dir)
    out = subprocess.run([sys.executable, "-m", "stridecue.cli", "--data-dir", str(data_dir), *args], capture_output=True,
                         text=True, timeout=120, stdin=subprocess.DEVNULL, cwd=tmp_path)
    assert out.returncode != 0, (out.stdout, out.stderr)
    assert "Traceback" not in out.stderr, out.stderr
    assert len(out.stderr.splitlines()) == 1 and out.stderr.endswith("\n"), out.stderr
    assert words in out.stderr, out.stderr
    assert tree_hash(data_dir) == before, "the data directory changed"
    assert list(tmp_path.iterdir()) == [], "something was written to the current directory"
