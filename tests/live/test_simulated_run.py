"""`stridecue run --simulate` end to end through the CLI: virtual runner -> firmware -> bleak
backend -> decoder -> stream -> analysis -> coach -> run file -> summary; then replay of the same
file through the same pipeline, and a host killed mid-run."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from stridecue.record.runreader import RunReader


def stridecue(*args, timeout=600, **kw):
    return subprocess.run([sys.executable, "-m", "stridecue.cli", *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, **kw)


@pytest.fixture(scope="module")
def simulated_run(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    out = stridecue("--data-dir", str(data), "run", "--simulate", "--duration", "180", "--speed", "max", "--quiet", "--seed", "7")
    assert out.returncode == 0, out.stderr
    runs = sorted((data / "runs").rglob("*.scrun"))
    assert len(runs) == 1
    return data, runs[0], out


def test_simulated_run_records_every_sample_and_closes(simulated_run):
    data, path, out = simulated_run
    assert "Traceback" not in out.stderr
    reader = RunReader(path)
    assert reader.closed and reader.truncated_bytes == 0
    assert reader.metadata["simulated"] is True
    samples = reader.samples(0)
    assert len(samples) == pytest.approx(180 * 416, rel=0.02)
    assert reader.missing() == []
    assert "0/" in out.stdout and "lost" in out.stdout  # lost/total printed


def test_summary_stride_count_is_within_2_percent_of_the_virtual_runners_truth(simulated_run):
    data, path, _ = simulated_run
    out = stridecue("--data-dir", str(data), "summary", "--json")
    assert out.returncode == 0, out.stderr
    s = json.loads(out.stdout)
    truth = s["simulation_truth"]["running_strides"]
    assert truth > 100
    assert abs(s["running_strides"] - truth) <= 0.02 * truth, (s["running_strides"], truth)
    assert 150 <= s["cadence_spm"] <= 200
    assert s["wobble_deg"]["median"] is not None and s["landing_load_g"]["median"] > 2


def test_replay_goes_through_the_same_pipeline(simulated_run):
    data, path, live = simulated_run
    out = stridecue("--data-dir", str(data), "replay", str(path), "--speed", "max", "--quiet")
    assert out.returncode == 0, out.stderr
    reader = RunReader(path)
    live_strides = reader.summary["running_strides"]
    assert f"{live_strides} running strides" in out.stdout


def test_replay_of_a_corrupt_file_is_one_line(tmp_path):
    bad = tmp_path / "bad.scrun"
    bad.write_bytes(b"not a run file at all")
    out = stridecue("replay", str(bad))
    assert out.returncode != 0 and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "bad.scrun" in out.stderr


def test_a_killed_host_leaves_a_readable_run(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "stridecue.cli", "--data-dir", str(tmp_path), "run", "--simulate",
                             "--duration", "3600", "--speed", "20", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        path = None
        while time.monotonic() < deadline:
            runs = list((tmp_path / "runs").rglob("*.scrun")) if (tmp_path / "runs").exists() else []
            if runs and runs[0].stat().st_size > 200_000:  # several seconds of samples written
                path = runs[0]
                break
            time.sleep(0.2)
        assert path is not None, "the run file did not grow"
        time.sleep(1.0)
        written_before_kill = path.stat().st_size
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    reader = RunReader(path)
    assert not reader.closed
    assert len(reader.samples(0)) > 0
    # fsync at least every 0.5 s: what reached the disk before the kill is all readable
    assert path.stat().st_size >= written_before_kill


@pytest.mark.parametrize("pair, expected", [(["--leg", "both"], [("shin", "left"), ("shin", "right")]),
                                            (["--mount", "thigh+shin"], [("shin", "left"), ("thigh", "left")])])
def test_two_sensors_at_once(tmp_path, pair, expected):
    out = stridecue("--data-dir", str(tmp_path), "run", "--simulate", "--duration", "40", "--speed", "max", "--quiet", *pair)
    assert out.returncode == 0, out.stderr
    reader = RunReader(next((tmp_path / "runs").rglob("*.scrun")))
    assert [(s["mount"], s["leg"]) for s in reader.metadata["sensors"]] == expected
    for slot in (0, 1):
        assert len(reader.samples(slot)) == pytest.approx(40 * 416, rel=0.03)
    assert reader.missing() == []
    s = json.loads(stridecue("--data-dir", str(tmp_path), "summary", "--json").stdout)
    if "--leg" in pair:
        assert s["asymmetry"] and "knee" not in s
    else:
        # thigh + shin: the knee's frontal-plane excursion, about the two segments' wobble together
        # each stride counted once (the shin's), the thigh's wobble apart
        truth = s["simulation_truth"]["running_strides"]
        assert abs(s["running_strides"] - truth) <= max(2, 0.02 * truth)
        assert abs(s["thigh"]["running_strides"] - truth) <= max(2, 0.02 * truth) and s["thigh"]["wobble_median_deg"] > 0
        knee = s["knee"]
        assert knee["leg"] == "left" and knee["stances"] >= 0.8 * s["running_strides"]
        assert 1.5 * s["wobble_deg"]["median"] < knee["excursion_median_deg"] < 2.5 * s["wobble_deg"]["median"]


def test_thigh_and_shin_count_each_step_once_everywhere(tmp_path):
    """One leg wearing a thigh and a shin sensor: the run's closing line, its minute line, history,
    the FIT file and the HTML report all give the summary's stride count (the shin's), not twice
    it; the report gives the thigh's and the knee's figures beside the shin's."""
    import fitdecode

    out = stridecue("--data-dir", str(tmp_path), "run", "--simulate", "--mount", "thigh+shin", "--duration", "75", "--speed", "max",
                    "--audio", "none", "--no-cue-track", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    s = json.loads(stridecue("--data-dir", str(tmp_path), "summary", "--json").stdout)
    n = s["running_strides"]
    assert n > 60 and s["thigh"]["running_strides"] > 0.9 * n
    assert f"; {n} running strides" in out.stdout  # the closing line (it said 2 n)
    minute = next(line for line in out.stdout.splitlines() if line.strip().startswith("1:00"))
    assert 0.5 * n < int(minute.split("strides")[1].split()[0]) < n  # a minute's strides of 75 s, not two minutes' worth
    history = json.loads(stridecue("--data-dir", str(tmp_path), "history", "--json").stdout)
    assert history["runs"][0]["running_strides"] == n
    assert history["runs"][0]["wobble_median_deg"] == pytest.approx(s["wobble_deg"]["median"], abs=0.051)
    assert stridecue("--data-dir", str(tmp_path), "export", "1", "--format", "fit", "--out", str(tmp_path)).returncode == 0
    with fitdecode.FitReader(str(next(tmp_path.glob("*.fit")))) as fit:
        session = next(f for f in fit if isinstance(f, fitdecode.FitDataMessage) and f.name == "session")
    assert session.get_value("total_strides") == n
    assert session.get_value("thigh_wobble_median") == pytest.approx(s["thigh"]["wobble_median_deg"], abs=0.01)
    report = tmp_path / "report.html"
    assert stridecue("--data-dir", str(tmp_path), "summary", "--html", "--out", str(report)).returncode == 0
    text = report.read_text()
    assert f"<b>{n}</b><span>running strides</span>" in text
    assert '<section id="thigh-shin">' in text and f"{s['knee']['excursion_median_deg']:.1f}°" in text
    assert sum(int(x) for x in re.findall(r'<tr class="minute"><td>\d+</td><td>(\d+)</td>', text)) == n


def test_two_sensor_mistakes_are_one_line(tmp_path):
    for args in (["--leg", "both", "--mount", "thigh+shin"], ["--sensor", "A", "--sensor", "B", "--sensor", "C", "--leg", "both"],
                 ["--sensor", "StrideCue-XX"]):
        out = stridecue("--data-dir", str(tmp_path), "run", "--simulate", "--duration", "5", "--speed", "max", "--quiet", *args)
        assert out.returncode != 0 and "Traceback" not in out.stderr, out.stderr
        assert len(out.stderr.strip().splitlines()) == 1, out.stderr


def test_guided_run_from_the_command_line_names_the_focus_the_runner_responds_to(tmp_path):
    out = stridecue("--data-dir", str(tmp_path), "run", "--simulate", "--guided", "--guided-segment", "60", "--focus-response", "foot",
                    "--duration", "400", "--speed", "max", "--quiet", "--audio", "none", "--no-cue-track", "--seed", "3")
    assert out.returncode == 0, out.stderr
    s = json.loads(stridecue("--data-dir", str(tmp_path), "summary", "--json").stdout)
    assert s["guided"]["complete"] and s["guided"]["focus"] == "foot", s["guided"]["verdict"]
    too_short = stridecue("--data-dir", str(tmp_path), "run", "--simulate", "--guided", "--guided-segment", "30", "--duration", "5",
                          "--speed", "max", "--quiet")
    assert too_short.returncode != 0 and "at least 60 s" in too_short.stderr and "Traceback" not in too_short.stderr


def test_a_sensor_named_longer_than_an_advertisement_holds_is_still_found_by_its_full_name(tmp_path):
    from stridecue.live.session import _names
    from stridecue.link.client import FoundSensor

    seen = FoundSensor("5C:1D:00:00:00:09", "StrideCue-L", -60, 1, "0.2.0", 90)
    assert _names("StrideCue-Left", seen) and _names("5c:1d:00:00:00:09", seen) and not _names("StrideCue-Right", seen)
    assert not _names("StrideCue-LeftX", FoundSensor("A", "StrideCue", -60, 1, "0.2.0", 90))


def test_standing_walking_and_stopping_are_not_counted_as_running(tmp_path):
    out = stridecue("--data-dir", str(tmp_path), "run", "--simulate", "--segments", "stand:10,walk:40,run:60,stop:15,run",
                    "--duration", "150", "--speed", "max", "--quiet")
    assert out.returncode == 0, out.stderr
    s = json.loads(stridecue("--data-dir", str(tmp_path), "summary", "--json").stdout)
    truth = s["simulation_truth"]["running_strides"]
    assert abs(s["running_strides"] - truth) <= max(2, 0.02 * truth)
    assert s["other_strides"] >= 20  # the walk was seen, and kept apart
    bad = stridecue("--data-dir", str(tmp_path), "run", "--simulate", "--segments", "jog:4", "--duration", "5", "--speed", "max")
    assert bad.returncode != 0 and "--segments" in bad.stderr and "Traceback" not in bad.stderr


def test_every_command_names_a_run_and_reads_out_the_same_way(tmp_path):
    """RUN: a name, NAME.scrun, a path, an id, "latest" or nothing (the latest) in summary, replay
    and export alike; --out: a directory, or the one file's name; conflicting flags refused in one line."""
    data, work = tmp_path / "data", tmp_path / "work"
    work.mkdir()
    assert stridecue("--data-dir", str(data), "run", "--simulate", "--duration", "20", "--speed", "max", "--quiet").returncode == 0
    path = next((data / "runs").rglob("*.scrun"))
    name = path.stem

    def sc(*args):
        return stridecue("--data-dir", str(data), *args, cwd=work)

    for ref in ([name], [f"{name}.scrun"], [str(path)], ["1"], ["latest"], []):
        out = sc("summary", *ref, "--json")
        assert out.returncode == 0 and json.loads(out.stdout)["run"] == str(path.resolve()), (ref, out.stderr)
        replay = sc("replay", *ref, "--quiet")
        assert replay.returncode == 0 and f"replayed {path.resolve() if ref != [str(path)] else path}:" in replay.stdout, (ref, replay.stderr)
    exported = sc("export", "--format", "fit")  # no RUN: the latest, into the current directory
    assert exported.returncode == 0 and (work / f"{name}.fit").exists(), exported.stderr
    assert sc("export", f"{name}.scrun", "--format", "fit", "--out", "mine.fit").returncode == 0 and (work / "mine.fit").exists()
    assert sc("export", "--format", "csv", "--out", "tables").returncode == 0 and (work / "tables" / f"{name}-strides.csv").exists()
    assert sc("summary", "--html", "--out", "reports").returncode == 0 and (work / "reports" / f"{name}.html").exists()
    assert sc("summary", "latest", "--html", "--out", "r.html").returncode == 0 and (work / "r.html").exists()
    before = sorted(p.name for p in work.iterdir())
    for args, words in ((["summary", "--json", "--html"], "--json and --html"), (["summary", "--json", "--out", "x.html"], "--out goes with --html"),
                        (["export", "--format", "csv", "--out", "x.csv"], "--out is a directory"),
                        (["summary", "nonesuch.scrun"], "no run"), (["replay", "nonesuch", "--quiet"], "no run"),
                        (["summary", "--html", "--out", "r.html"], "already exists")):
        bad = sc(*args)
        assert bad.returncode != 0 and words in bad.stderr and len(bad.stderr.strip().splitlines()) == 1, (args, bad.stderr)
        assert "Traceback" not in bad.stderr
    assert sorted(p.name for p in work.iterdir()) == before  # nothing written or overwritten
    for command in ("summary", "replay", "export"):
        helptext = " ".join(sc(command, "--help").stdout.split())
        assert '"latest" (default: the latest run)' in helptext, command
        if command != "replay":
            assert "--out OUT" in helptext and "a directory (made if missing" in helptext, command
