"""`summary` of a run still being recorded says so, rather than that its host stopped unexpectedly
(found by the soak: bench --only soak)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest


def _cli(base, *args, **kw):
    return subprocess.Popen([sys.executable, "-m", "stridecue.cli", "--data-dir", str(base), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, **kw)


@pytest.mark.realtime  # the run is paced by the wall clock
def test_summary_of_a_run_in_progress_says_it_is_still_being_recorded(tmp_path):
    live = _cli(tmp_path, "run", "--simulate", "--quiet", "--speed", "1", "--duration", "120", "--no-cue-track")
    try:
        deadline = time.monotonic() + 90
        while not list(tmp_path.glob("runs/*/*.scrun")) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(6)  # a few seconds of samples to summarise
        out, err = _cli(tmp_path, "summary").communicate(timeout=120)
        assert "still being recorded: the figures so far" in out and "did not close cleanly" not in out, out + err
    finally:
        live.send_signal(signal.SIGINT)  # stop and save
        live.communicate(timeout=60)
    assert live.returncode == 0
    out, _ = _cli(tmp_path, "summary").communicate(timeout=120)
    assert "still being recorded" not in out and "did not close cleanly" not in out
