"""What the daemon is doing, in a small file of the data directory (daemon.json): written whole
and renamed into place, so `stridecue service status` (another process) never reads half of it."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

STATE_FILE = "daemon.json"
STATES = ("starting", "waiting for sensors", "connecting", "ready", "running", "saving", "stopped")


@dataclass
class DaemonState:
    """state: one of STATES; sensors: the connected ones' names; last_run: the last saved run's
    file name and spoken summary; pid and updated (Unix time) say whether it is current."""

    state: str = "starting"
    sensors: list[str] = field(default_factory=list)
    last_run: str | None = None
    last_summary: str | None = None
    runs: int = 0
    pid: int = field(default_factory=os.getpid)
    updated: float = field(default_factory=time.time)

    def line(self) -> str:
        age = time.time() - self.updated
        alive = _alive(self.pid)
        text = f"{self.state}" + (f" ({', '.join(self.sensors)})" if self.sensors else "")
        text += f"; {self.runs} runs this start" + (f"; last: {self.last_run}" if self.last_run else "")
        if not alive:
            text += f"; not running (pid {self.pid} gone, last word {age:.0f} s ago)"
        return text


def write_state(base: Path, state: DaemonState) -> None:
    state.updated = time.time()
    path = Path(base) / STATE_FILE
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(asdict(state)))
    temporary.replace(path)


def read_state(base: Path) -> DaemonState | None:
    path = Path(base) / STATE_FILE
    try:
        data = json.loads(path.read_text())
        return DaemonState(**{k: v for k, v in data.items() if k in DaemonState.__dataclass_fields__})
    except (OSError, ValueError, TypeError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
