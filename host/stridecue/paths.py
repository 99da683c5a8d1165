"""Where StrideCue keeps its data: --data-dir, else $STRIDECUE_DATA_DIR, else the platform's
user data directory (~/.local/share/stridecue on Linux)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

ENV_VAR = "STRIDECUE_DATA_DIR"


def data_dir(override: str | os.PathLike | None = None) -> Path:
    if override:
        return Path(override).expanduser()
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("stridecue", appauthor=False))


def runs_dir(base: Path) -> Path:
    return base / "runs"
