"""`stridecue exercise --simulate` end to end: virtual exerciser -> firmware -> radio -> the run's
live path -> run file -> store -> summary and export; and sessions are not runs in history."""

import json
import subprocess
import sys

import pytest


def stridecue(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "stridecue.cli", *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    out = stridecue("--data-dir", str(data), "exercise", "single-leg-squat", "--level", "2", "--reps", "3",
                    "--simulate", "--speed", "max", "--seed", "2030")
    return data, out


def test_a_simulated_session_counts_the_exerciser_s_reps(session):
    data, out = session
    assert out.returncode == 0, out.stderr
    assert "single-leg squat, level 2" in out.stdout and "left : 3 reps" in out.stdout, out.stdout
    assert "next: level 2" in out.stdout
    files = sorted((data / "runs").rglob("*.scrun"))
    assert len(files) == 1
    from stridecue.record.runreader import RunReader

    reader = RunReader(files[0])
    assert reader.metadata["activity"] == "exercise" and reader.metadata["exercise"] == "single-leg-squat"
    assert reader.summary["simulation_truth"]["reps"] == 3 and reader.summary["exercise"]["reps"] == 3
    assert [e["phase"] for e in reader.events() if e.get("kind") == "exercise_set"] == ["go", "end"]


def test_summary_export_and_history_of_a_session(session, tmp_path):
    data, _ = session
    out = stridecue("--data-dir", str(data), "summary", "1", "--json")
    assert out.returncode == 0, out.stderr
    s = json.loads(out.stdout)
    assert s["exercise"] == "single-leg-squat" and s["legs"]["left"]["reps"] == 3 and "running_strides" not in s
    out = stridecue("--data-dir", str(data), "export", "1", "--format", "csv", "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr
    reps = next(tmp_path.glob("*-reps.csv")).read_text().splitlines()
    assert reps[0].startswith('"kind","sensor","leg"') and len(reps) == 4
    out = stridecue("--data-dir", str(data), "export", "1", "--format", "fit", "--out", str(tmp_path))
    assert out.returncode == 1 and len(out.stderr.strip().splitlines()) == 1 and "FIT is for runs" in out.stderr
    from stridecue.record.store import RunStore

    with RunStore.open(data) as store:  # history and trends: a session is not a run
        assert store.runs() == [] and store.latest() is None
        assert [r["exercise"] for r in store.runs(activity="exercise")] == ["single-leg-squat"]


def test_replay_of_a_session_finds_the_same_reps(session):
    data, _ = session
    out = stridecue("--data-dir", str(data), "replay", "1", "--quiet")
    assert out.returncode == 0, out.stderr
    assert "3 reps" in out.stdout


def test_list_shows_the_exercises():
    out = stridecue("exercise", "--list")
    assert out.returncode == 0 and "bridge" in out.stdout and "level 4" in out.stdout
