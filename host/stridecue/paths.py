"""Where StrideCue keeps its data: --data-dir, else $STRIDECUE_DATA_DIR, else the platform's
user data directory (~/.local/share/stridecue on Linux).

An empty --data-dir is an error (it would silently mean the default directory); an empty
$STRIDECUE_DATA_DIR counts as unset, as the XDG variables do.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import platformdirs

from stridecue.errors import UserError

ENV_VAR = "STRIDECUE_DATA_DIR"


def data_dir(override: str | os.PathLike | None = None) -> Path:
    if override is not None:
        if not str(override).strip():
            raise UserError("--data-dir is empty: give a directory, or leave the option out for the default one")
        return Path(override).expanduser()
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("stridecue", appauthor=False))


def runs_dir(base: Path) -> Path:
    return base / "runs"


def ensure_dir(folder: Path) -> Path:
    """Create folder (and its parents) if missing and check it can be written: UserError naming
    the problem (a file in the way, no permission, a read-only file system)."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = _file_in_the_way(folder)
        where = "" if blocker == folder else f"{folder}: "
        raise UserError(f"{where}{blocker} is a file, not a directory; choose another --data-dir") from None
    except OSError as e:
        raise UserError(f"{folder}: cannot create the directory: {_reason(e)}; choose another --data-dir") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UserError(f"{folder}: the directory is read-only; fix its permissions or choose another --data-dir")
    return folder


def check_dir(folder: Path) -> Path:
    """ensure_dir() without creating anything: UserError when folder could not be created or
    written (a file in the way, a read-only directory); the run command checks before it connects."""
    folder = Path(folder)
    blocker = _file_in_the_way(folder)
    if blocker.exists() and not blocker.is_dir():
        where = "" if blocker == folder else f"{folder}: "
        raise UserError(f"{where}{blocker} is a file, not a directory; choose another --data-dir")
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(f"{folder}: {'the directory' if existing == folder else existing} is read-only;"
                        f" fix its permissions or choose another --data-dir")
    return folder


def _file_in_the_way(folder: Path) -> Path:
    """The nearest of folder and its parents that exists and is not a directory."""
    for p in (folder, *folder.parents):
        if p.exists() and not p.is_dir():
            return p
    return folder


def _reason(e: OSError) -> str:
    if e.errno == errno.EROFS:
        return "the file system is read-only"
    if e.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return e.strerror or str(e)
