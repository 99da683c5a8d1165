"""How every command names a run (`summary`, `replay`, `export`): RUN is

    a run's name, or a unique start of it     2026-11-01T073000Z-stridecue-ls, 2026-11-01
    the name with .scrun                      2026-11-01T073000Z-stridecue-ls.scrun
    a path to a run file                      ~/runs/2026/2026-11-01T073000Z-stridecue-ls.scrun
    its id (`stridecue history` lists them)   12
    latest, or RUN left out                   the latest run

A name with .scrun is a path only when such a file is there; otherwise it is the run of that
name in the data directory.
"""

from __future__ import annotations

from pathlib import Path

from stridecue.errors import UserError
from stridecue.paths import runs_dir

LATEST = "latest"
RUN_HELP = ('the run: its name (or a unique start of it), NAME.scrun, a path to a run file, its id, or "latest" '
            "(default: the latest run)")


def find_run(store, ref: str | None) -> dict:
    """The store's row of the run RUN names (module docstring)."""
    text = (ref or "").strip()
    if not text or text == LATEST:
        run = store.latest()
        if run is None:
            raise UserError(f"no runs in {runs_dir(store.base)} (record one with `stridecue run`, or `stridecue run --simulate`)")
        return run
    path = Path(text).expanduser()
    if path.suffix == ".scrun" and not path.exists() and len(path.parts) == 1:
        text = path.stem  # NAME.scrun of a run in the data directory
    return store.find(text)


def read_named_run(store, ref: str | None) -> tuple:
    """(the store that holds it, the run) for RUN: a run of history as find_run finds it, or a run
    file outside the data directory read into a scratch store without adding it to history
    (record/store.read_run; the caller closes that store when it is not `store`)."""
    from stridecue.record.store import read_run

    text = (ref or "").strip()
    if not text or text == LATEST:
        return store, find_run(store, ref)
    path = Path(text).expanduser()
    if path.suffix == ".scrun" and not path.exists() and len(path.parts) == 1:
        text = path.stem  # NAME.scrun of a run in the data directory
    return read_run(store, text)


def run_file(base: Path, ref: str | None) -> Path:
    """The run file RUN names.  A path to a file is taken as it is (not added to the run store);
    anything else is looked up in the store of data directory `base`."""
    path = Path(ref).expanduser() if ref else None
    if path is not None and path.is_file():
        return path
    from stridecue.record.store import RunStore

    with RunStore.open(base) as store:
        store.sync()
        return Path(find_run(store, ref)["path"])
