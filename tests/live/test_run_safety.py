"""`stridecue run` when things go wrong: two runs started in the same second, Ctrl-C or SIGTERM
mid-run, a sensor that sends nothing or loses much of what it sends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest


def test_a_run_whose_name_another_run_takes_in_the_same_second_gets_the_next_name(tmp_path, monkeypatch, capsys):
    import stridecue.record.runfile as runfile
    from stridecue.cli import main

    real = runfile.run_file_path
    taken = []

    def another_run_takes_it_first(*args, **kw):
        path = real(*args, **kw)
        if not taken:  # another process, started the same second, creates this name first
            path.write_bytes(b"the other run")
            taken.append(path)
        return path

    monkeypatch.setattr(runfile, "run_file_path", another_run_takes_it_first)
    rc = main(["--data-dir", str(tmp_path), "run", "--simulate", "--quiet", "--speed", "max", "--duration", "5", "--no-cue-track"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert taken and taken[0].read_bytes() == b"the other run"
    runs = sorted(tmp_path.rglob("*.scrun"))
    assert len(runs) == 2
    mine = next(p for p in runs if p != taken[0])
    assert mine.stem == taken[0].stem + "-2"
    assert f"run saved: {mine}" in out.out
    from stridecue.record.runreader import RunReader

    assert RunReader(mine).closed


def test_new_run_files_of_the_same_second_never_share_a_name(tmp_path):
    import datetime as dt

    from stridecue.record.runfile import open_new_run

    start = dt.datetime(2026, 5, 1, 6, 0, 0, tzinfo=dt.timezone.utc)
    writers = [open_new_run(tmp_path, start, "StrideCue-LS", {"start_time": start.isoformat()}) for _ in range(3)]
    names = [w.path.name for w in writers]
    for w in writers:
        w.close()
    assert len(set(names)) == 3


def _start_run(tmp_path, *extra):
    return subprocess.Popen([sys.executable, "-m", "stridecue.cli", "--data-dir", str(tmp_path), "run", "--simulate",
                             "--speed", "5", "--quiet", "--no-cue-track", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)


def _wait_for_samples(tmp_path, proc, size=60_000):
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        runs = list((tmp_path / "runs").rglob("*.scrun")) if (tmp_path / "runs").exists() else []
        if runs and runs[0].stat().st_size > size:
            return runs[0]
        time.sleep(0.1)
    raise AssertionError("the run file did not grow")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_ends_the_run_in_order_and_says_it_was_saved(tmp_path, sig):
    from stridecue.record.runreader import RunReader

    proc = _start_run(tmp_path)
    try:
        path = _wait_for_samples(tmp_path, proc)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "interrupted" not in err
    assert f"run saved: {path}" in out
    assert "samples: 0/" in out and "running strides" in out
    reader = RunReader(path)
    assert reader.closed and reader.summary["samples"] > 0


class _FakeClock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def _signals(out):
    import asyncio
    import io

    from stridecue.live.stopping import StopSignals

    clock, aborted = _FakeClock(), []
    stop = asyncio.Event()
    signals = StopSignals(stop, clock=clock, abort=aborted.append, out=out if out is not None else io.StringIO())
    return signals, stop, clock, aborted


def test_a_second_ctrl_c_within_a_second_aborts_and_a_later_one_only_reminds():
    import io

    out = io.StringIO()
    signals, stop, clock, aborted = _signals(out)
    signals.path = "/data/runs/2026/x.scrun"
    signals.on_signal(signal.SIGINT)
    assert stop.is_set() and signals.received == "Ctrl-C" and aborted == []
    clock.t += 3.0
    signals.on_signal(signal.SIGINT)  # a while later: the save goes on
    assert aborted == [] and "still saving" in out.getvalue()
    clock.t += 0.4
    signals.on_signal(signal.SIGINT)  # twice quickly: abort now
    assert aborted == [130] and "x.scrun is left as recorded so far" in out.getvalue()


def test_sigterm_then_ctrl_c_does_not_abort_and_nothing_aborts_once_saved():
    signals, stop, clock, aborted = _signals(None)
    signals.on_signal(signal.SIGTERM)
    assert stop.is_set() and signals.received == "SIGTERM"
    clock.t += 0.1
    signals.on_signal(signal.SIGINT)
    assert aborted == []
    signals.saved = True
    clock.t += 0.1
    signals.on_signal(signal.SIGINT)
    assert aborted == []


def _cli(tmp_path, *args):
    return subprocess.run([sys.executable, "-m", "stridecue.cli", "--data-dir", str(tmp_path), *args], capture_output=True,
                          text=True, timeout=300, stdin=subprocess.DEVNULL)


def test_a_run_in_which_the_sensor_sent_nothing_says_so_fails_and_is_marked_in_history(tmp_path):
    import json

    out = _cli(tmp_path, "run", "--simulate", "--quiet", "--speed", "max", "--duration", "10", "--faults", "loss=1", "--no-cue-track")
    assert out.returncode == 1, out.stderr
    assert "run saved:" in out.stdout and "Traceback" not in out.stderr
    assert "WARNING: no samples recorded: the sensor sent nothing" in out.stderr
    history = _cli(tmp_path, "history", "--json")
    assert history.returncode == 0, history.stderr
    [row] = json.loads(history.stdout)["runs"]
    assert "sent nothing" in row["data_problem"]
    assert "sent nothing" in _cli(tmp_path, "history").stdout
    assert "sent nothing" in _cli(tmp_path, "summary").stderr


def test_a_run_that_lost_more_than_the_limit_says_so_and_is_marked_in_history(tmp_path):
    import json

    out = _cli(tmp_path, "run", "--simulate", "--quiet", "--speed", "max", "--duration", "20", "--faults", "loss=0.9", "--no-cue-track")
    assert out.returncode == 0, out.stderr  # something was recorded: kept, and flagged
    assert "WARNING:" in out.stderr and "of samples lost (more than 5%)" in out.stderr
    [row] = json.loads(_cli(tmp_path, "history", "--json").stdout)["runs"]
    assert "of samples lost" in row["data_problem"]


def test_a_clean_run_has_no_data_problem(tmp_path):
    import json

    out = _cli(tmp_path, "run", "--simulate", "--quiet", "--speed", "max", "--duration", "10", "--no-cue-track")
    assert out.returncode == 0 and "WARNING" not in out.stderr, out.stderr
    [row] = json.loads(_cli(tmp_path, "history", "--json").stdout)["runs"]
    assert row["data_problem"] is None
