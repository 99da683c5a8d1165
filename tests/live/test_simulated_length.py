"""Issue 16 item 8: every simulated run ends, and a long one shows its progress.

A guided run at --speed max without --duration used to run on until Ctrl-C (hours of
simulation, a 100 MB run file and a 237 MB cue track): it now stops when the protocol is done."""

from __future__ import annotations

import io
import math
import subprocess
import sys

import pytest

from stridecue.errors import UserError
from stridecue.live.simulated import DEFAULT_SIMULATED_S, GUIDED_MARGIN_S, MAX_SIMULATED_S, simulated_length
from stridecue.record.runreader import RunReader


def test_every_simulated_run_has_a_length():
    assert simulated_length(90.0, "", None) == (90.0, None)
    length, note = simulated_length(None, "", 378.0)
    assert length == 3.0 + 378.0 + GUIDED_MARGIN_S and "guided protocol is done" in note
    length, note = simulated_length(None, "stand:10,walk:40,run:60,stop:15,run", 378.0)
    assert length == 10.0 + 40.0 + 378.0 + GUIDED_MARGIN_S  # the protocol starts at the first running stride
    assert simulated_length(None, "stand:5,run:60", None)[0] == 65.0
    length, note = simulated_length(None, "", None)
    assert length == DEFAULT_SIMULATED_S and "--duration" in note
    assert all(math.isfinite(simulated_length(None, spec, g)[0]) for spec in ("", "run", "walk:5,run") for g in (None, 400.0))
    with pytest.raises(UserError, match="at most"):
        simulated_length(MAX_SIMULATED_S + 1, "", None)
    with pytest.raises(UserError, match="at most"):
        simulated_length(None, "", MAX_SIMULATED_S)


def test_a_guided_simulation_at_full_speed_stops_when_the_protocol_is_done(tmp_path):
    out = subprocess.run([sys.executable, "-m", "stridecue.cli", "--data-dir", str(tmp_path), "run", "--simulate", "--speed", "max",
                          "--guided", "--guided-segment", "60", "--quiet", "--audio", "none"],
                         capture_output=True, text=True, timeout=400, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr
    assert "stops after 6:18 of run time, when the guided protocol is done" in out.stdout
    (path,) = (tmp_path / "runs").rglob("*.scrun")
    reader = RunReader(path)
    seconds = len(reader.samples(0)) / reader.samples(0).rate
    assert 370 < seconds < 385
    cues = [e for e in reader.events() if e.get("kind") == "cue"]
    assert cues[-1]["values"]["segment"] == "done"
    (track,) = (tmp_path / "runs").rglob("*.wav")
    assert track.stat().st_size < 10_000_000


def test_progress_is_shown_on_a_terminal_only():
    import asyncio

    from rich.console import Console

    from stridecue.live.simulated import show_progress

    class Clock:
        def now(self):
            return 150.0

    async def briefly(console):
        task = asyncio.ensure_future(show_progress(Clock(), 600.0, console=console))
        await asyncio.sleep(0.05)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass

    terminal = io.StringIO()
    asyncio.run(briefly(Console(file=terminal, force_terminal=True, width=100)))
    assert "simulating" in terminal.getvalue() and "2:30 of 10:00" in terminal.getvalue()
    pipe = io.StringIO()
    asyncio.run(briefly(Console(file=pipe, force_terminal=False)))
    assert pipe.getvalue() == ""
