"""What a real run's live path imports before it connects to a sensor: `stridecue daemon` and
`stridecue run` without --simulate, in a fresh interpreter, up to the first SensorLink.open().

No radio is touched: the scan "finds" the sensors the options name (live/session.choose_sensors
is replaced), and the first connection ends the process after printing sys.modules.  No sound is
played either: the audio output is a silent one at 48 kHz, a common rate of a real output (the
clips are converted to it before the run, as they would be).  Everything else before the first
connection (the command line, the settings, the prompts, the coaching, the run's wiring and
serve's live feed) is the real code.  Used by the pocket bench (the import time of a
real run, with -X importtime) and by tests/pocket/test_live_imports.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

MARK = "LIVE_PATH_MODULES "
# What a run with real sensors never needs, and why it would be there
NOT_ON_LIVE_PATH = {
    "stridecue.sim": "the virtual runner and sensors (--simulate only)",
    "scipy.spatial": "the virtual runner's rotations (--simulate only)",
    "scipy.signal": "coach/audio._resample, for a clip at another rate than the output's",
    "stridecue.review.summary": "the summary command (cli.py imports a command's module only when it runs)",
}

# Run in the child with `python -c`: not through a module of the bench, whose own imports would count
_CHILD = """
import json, os, sys
import stridecue.coach.audio as audio
import stridecue.live.session as session
from stridecue.link.client import FoundSensor, SensorLink

class Output48k:
    name, rate_hz, output_latency_s = "a silent 48 kHz output", 48000, None
    def play(self, pcm): return None
    def close(self): pass

async def found(args, setups, backend):
    return [FoundSensor(f"5C:1D:00:00:00:{s.slot + 1:02X}", f"StrideCue{s.slot}", -60, None, None, None) for s in setups]

async def stop_at_the_radio(self, *a, **k):
    print(%r + json.dumps(sorted(sys.modules)), flush=True)
    os._exit(0)

session.choose_sensors = found
audio.open_player = lambda *args, **kwargs: (Output48k(), None)
SensorLink.open = stop_at_the_radio
from stridecue import cli
sys.exit(cli.main(sys.argv[1:]))
""" % MARK


def live_path(base: Path, command: list[str], importtime: bool = False, timeout_s: float = 120.0) -> tuple[list[str], str]:
    """(modules loaded when `stridecue --data-dir base COMMAND...` first opens a sensor link, its stderr).
    RuntimeError when it never got there."""
    flags = ["-X", "importtime"] if importtime else []
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    done = subprocess.run([sys.executable, *flags, "-c", _CHILD, "--data-dir", str(base), *command], capture_output=True,
                          text=True, timeout=timeout_s, env=env, stdin=subprocess.DEVNULL)
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARK)]
    if not lines:
        shown = [line for line in done.stderr.splitlines() if not line.startswith("import time:")][-3:]
        raise RuntimeError(f"`{' '.join(command)}` never reached a sensor link (exit {done.returncode}): {' / '.join(shown)}")
    return json.loads(lines[0][len(MARK):]), done.stderr


def not_needed(modules: list[str]) -> dict[str, list[str]]:
    """{NOT_ON_LIVE_PATH entry: the loaded modules under it}, for those loaded."""
    out = {}
    for name in NOT_ON_LIVE_PATH:
        seen = [m for m in modules if m == name or m.startswith(name + ".")]
        if seen:
            out[name] = seen
    return out
