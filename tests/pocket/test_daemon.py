"""`stridecue daemon`: hands-free runs.  A virtual runner stands, runs, stands, runs again; the
daemon starts each run on moving, coaches it, ends it on standing still (or a double tap), saves
it and says so, all without a keyboard.  The daemon runs in this process on the simulated clock
(--speed max), so nothing here waits on wall time."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import wave
from pathlib import Path
from types import SimpleNamespace

import pytest
from stride_records import make_stride

from stridecue.cli import build_parser, main
from stridecue.coach.audio import NullPlayer
from stridecue.pocket.daemon import PAIN_PROMPT, Daemon, check_options, spoken_summary, wobble_by_leg
from stridecue.pocket.prompts import Prompts
from stridecue.pocket.state import read_state
from stridecue.record.runreader import RunReader

TWO_RUNS = "stand:40,run:60,stop:3,stand:40,run:60,stop:3,stand:40"
SECOND_RUN_AT = 40 + 60 + 3 + 40  # s of the runner's time


def _daemon(data: Path, *options: str, on_prompt=None) -> Daemon:
    args = build_parser().parse_args(["--data-dir", str(data), "daemon", "--simulate", "--speed", "max", "--audio", "none",
                                      "--threshold-deg", "4", *options])
    check_options(args)
    return Daemon(args, data, on_prompt=on_prompt)


def _runs(data: Path) -> list[Path]:
    return sorted((data / "runs").rglob("*.scrun"))


def _first_and_last_s(path: Path) -> tuple[float, float]:
    samples = RunReader(path).samples(0)
    return samples.index[0] / samples.rate, (samples.index[-1] + 1) / samples.rate


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    daemon = _daemon(data, "--runs", "2", "--segments", TWO_RUNS)
    assert asyncio.run(daemon.run()) == 0
    return data, daemon


def test_a_run_starts_on_moving_and_ends_on_standing_and_the_next_one_follows(two_runs):
    data, daemon = two_runs
    kinds = [kind for kind, _ in daemon.spoken]
    assert kinds == ["connected", "stand still", "ready", "go", "saved", "ready", "go", "saved"], daemon.spoken
    assert daemon.spoken[0][1] == "Left shin sensor connected."
    for kind, words in daemon.spoken:
        if kind == "saved":  # one line: how long, how many strides, the wobble, the cues
            assert words.startswith("Run saved. ") and " strides. Left knee wobble " in words and " degrees. " in words
            assert words.endswith(" " + PAIN_PROMPT)  # then the pain rating is asked for, on the phone
            words = words.removesuffix(" " + PAIN_PROMPT)
            assert words.endswith(" cues.") or words.endswith(" cue.")
    runs = _runs(data)
    assert runs == sorted(daemon.runs) and len(runs) == 2
    for run, moved_at in zip(runs, (40.0, SECOND_RUN_AT)):
        first, last = _first_and_last_s(run)
        assert moved_at - 12.0 <= first <= moved_at - 5.0  # the pre-roll's standstill, not the time since connecting
        summary = RunReader(run).summary
        assert summary["ended_by"] == "still" and summary["running_strides"] > 60
        assert moved_at + 63 + 15 <= last <= moved_at + 63 + 30  # after standing --stop-after (20 s)
    assert sum(RunReader(run).summary["cues"] for run in runs) > 0


def test_both_runs_are_in_history_and_the_state_file_says_what_happened(two_runs, capsys):
    data, daemon = two_runs
    assert main(["--data-dir", str(data), "history", "--json"]) == 0
    names = [r["name"] for r in json.loads(capsys.readouterr().out)["runs"]]
    assert sorted(names) == [run.stem for run in _runs(data)]
    state = read_state(data)
    assert state.state == "stopped" and state.runs == 2 and state.last_run == _runs(data)[-1].name
    assert f"{state.last_summary} {PAIN_PROMPT}" == daemon.spoken[-1][1]


def test_the_second_runs_cue_track_starts_with_the_run_not_with_the_first(two_runs):
    data, _ = two_runs
    second = _runs(data)[1]
    summary = RunReader(second).summary
    first, last = _first_and_last_s(second)
    assert summary["cue_track_start_s"] == pytest.approx(first, abs=0.01)
    if summary["cue_track"] is None:
        pytest.fail("the second run had no cues: the threshold of 4 deg should give some")
    with wave.open(str(second.with_name(summary["cue_track"]))) as track:
        seconds = track.getnframes() / track.getframerate()
    assert seconds == pytest.approx(last - first, abs=1.0)


def test_a_double_tap_ends_the_run_at_once(tmp_path):
    daemon = _daemon(tmp_path, "--runs", "1", "--segments", "stand:30,run:40,stop:3,stand:30", "--taps", "76,76.3")
    assert asyncio.run(daemon.run()) == 0
    [run] = _runs(tmp_path)
    assert RunReader(run).summary["ended_by"] == "double tap"
    _, last = _first_and_last_s(run)
    assert 76.3 <= last <= 78.0  # at the tap, not 20 s of standing later
    assert [kind for kind, _ in daemon.spoken][-2:] == ["go", "saved"]


def test_a_dropped_sensor_is_said_and_so_is_its_return(tmp_path):
    daemon = _daemon(tmp_path, "--runs", "1", "--segments", "stand:20,run:40,stop:3,stand:30",
                     "--faults", "disconnect-every=45,disconnect-for=2")
    assert asyncio.run(daemon.run()) == 0
    kinds = [kind for kind, _ in daemon.spoken]
    assert kinds[:4] == ["connected", "stand still", "ready", "go"]
    assert kinds.index("lost") < kinds.index("back") < kinds.index("saved")
    assert ("lost", "Left shin sensor lost.") in daemon.spoken
    assert RunReader(_runs(tmp_path)[0]).summary["reconnects"] >= 1


def test_sigterm_during_a_run_saves_it_and_exits_0(tmp_path):
    def on_prompt(kind, words):
        if kind == "go":
            os.kill(os.getpid(), signal.SIGTERM)

    daemon = _daemon(tmp_path, "--segments", "stand:20,run", on_prompt=on_prompt)
    try:
        assert asyncio.run(daemon.run()) == 0
    finally:  # StopSignals leaves a saved run's signals ignored until the process exits: not this one's
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    [run] = _runs(tmp_path)
    reader = RunReader(run)
    assert reader.closed and reader.summary["ended_by"] == "stop signal"
    assert [kind for kind, _ in daemon.spoken][-2:] == ["go", "saved"]
    assert read_state(tmp_path).state == "stopped"


@pytest.mark.parametrize("options, words", [
    (["--stop-after=-1"], "--stop-after"),
    (["--stop-after", "nan"], "--stop-after"),
    (["--runs", "0"], "--runs 0"),
    (["--idle-timeout", "0"], "--idle-timeout"),
    (["--taps", "soon"], "--taps"),
])
def test_bad_options_are_one_line_and_touch_nothing(tmp_path, capsys, options, words):
    assert main(["--data-dir", str(tmp_path), "daemon", "--simulate", "--speed", "max", *options]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0] and "Traceback" not in err[0]
    assert list(tmp_path.iterdir()) == []


def test_the_spoken_summary_is_one_line_in_words():
    strides = [make_stride(kind="run", leg="left", mount="shin", wobble_deg=w) for w in (5.6, 6.2, 6.4)]
    strides += [make_stride(kind="run", leg="right", mount="shin", wobble_deg=4.9), make_stride(kind="walk", leg="left", wobble_deg=20.0),
                make_stride(kind="run", leg="left", mount="shin", wobble_deg=None, wobble_note="frame settling")]
    line = spoken_summary(32 * 60 + 10, {"running_strides": 4310, "cues": 12}, strides)
    assert line == "Run saved. 32 minutes, 4310 strides. Left knee wobble 6 degrees, right knee wobble 5 degrees. 12 cues."
    assert spoken_summary(45, {"running_strides": 1, "cues": 0}, []) == "Run saved. 45 seconds, 1 stride. No cues."
    both = [make_stride(kind="run", leg="left", mount="thigh", wobble_deg=2.0), make_stride(kind="run", leg="left", mount="shin", wobble_deg=7.0)]
    assert wobble_by_leg(both) == {"left": 7.0}  # the shin's, as the coach measures the knee


def test_a_low_battery_is_said_once_per_sensor(tmp_path):
    daemon = _daemon(tmp_path)
    daemon.prompts, daemon.player = Prompts(tmp_path / "prompts"), NullPlayer()
    daemon.setups = [SimpleNamespace(slot=0, leg="left", mount="shin")]
    low = SimpleNamespace(status=SimpleNamespace(low_battery=True))
    for _ in range(3):
        daemon._on_link("status", 0, low)
    daemon._on_link("status", 0, SimpleNamespace(status=SimpleNamespace(low_battery=False)))
    assert daemon.spoken == [("battery low", "Left shin sensor battery low.")]


def test_with_no_run_for_the_idle_timeout_the_daemon_exits(tmp_path):
    daemon = _daemon(tmp_path, "--idle-timeout", "30", "--segments", "stand:100,run")
    assert asyncio.run(daemon.run()) == 0
    assert [kind for kind, _ in daemon.spoken] == ["connected", "stand still", "ready"]
    assert _runs(tmp_path) == [] and read_state(tmp_path).state == "stopped"


def test_a_programme_session_says_its_length_and_when_its_time_is_done(tmp_path):
    """Under the retraining programme the daemon says the session and, once its planned length has
    passed, that the time is done; the run still ends only when the runner stands still."""
    data = tmp_path / "data"
    assert main(["--data-dir", str(data), "programme", "start", "--minute-s", "2"]) == 0  # session 1: 15 x 2 s = 30 s
    daemon = _daemon(data, "--runs", "1", "--segments", "stand:40,run:60,stop:3,stand:40")
    assert asyncio.run(daemon.run()) == 0
    kinds = [kind for kind, _ in daemon.spoken]
    assert kinds[kinds.index("go"):] == ["go", "programme", "time done", "saved"], daemon.spoken
    assert dict(daemon.spoken)["programme"] == "Session 1 of 8. 15 minutes."
    summary = RunReader(_runs(data)[0]).summary
    assert summary["ended_by"] == "still" and summary["running_strides"] > 60  # ran on past the 30 s to the end
