"""Adding run files to history and taking them out: the two explicit acts that change which runs
the data directory holds (`stridecue import FILE.scrun`, `stridecue history delete RUN`).

Reading a run file (summary, export, replay) never adds it: history is the run files under
<data dir>/runs, and a file joins them only by being imported, as a copy (the original is only
read).  Deleting removes a run from the store and its files from <data dir>/runs; a file
elsewhere (imported into history by an older StrideCue that added every file it read) is left
where it is.
"""

from __future__ import annotations

import datetime as dt
import filecmp
import os
import shutil
from pathlib import Path

from stridecue.errors import UserError
from stridecue.paths import ensure_dir, runs_dir
from stridecue.record.runformat import SUFFIX


def import_run_file(base: Path, source: str | os.PathLike) -> tuple[Path, bool]:
    """Copy a run file into <base>/runs/YYYY/ (never overwriting): (the copy, whether it is new).
    A file already there (the same bytes under the same name) is not copied again."""
    from stridecue.record.runreader import RunReader

    src = Path(source).expanduser()
    if not src.is_file():
        raise UserError(f"{src}: no such run file")
    reader = RunReader(src)  # a damaged or foreign file fails here, before anything is copied
    if src.resolve().is_relative_to(runs_dir(base).resolve()):
        return src.resolve(), False
    folder = ensure_dir(runs_dir(base) / f"{_start_year(reader.metadata, src):04d}")
    stem = src.name[: -len(SUFFIX)] if src.name.endswith(SUFFIX) else src.stem
    for n in range(1, 1000):
        dest = folder / (f"{stem}{SUFFIX}" if n == 1 else f"{stem}-{n}{SUFFIX}")
        if dest.exists():
            if filecmp.cmp(src, dest, shallow=False):
                return dest, False
            continue
        try:
            _copy_new(src, dest)
        except FileExistsError:  # another import took the name meanwhile
            continue
        return dest, True
    raise UserError(f"{src}: no free name for it in {folder}")


def _start_year(meta: dict, src: Path) -> int:
    try:
        return dt.datetime.fromisoformat(str(meta.get("start_time"))).astimezone(dt.timezone.utc).year
    except (TypeError, ValueError):
        return dt.datetime.fromtimestamp(src.stat().st_mtime, dt.timezone.utc).year


def _copy_new(src: Path, dest: Path) -> None:
    """Copy src to a new file dest, synced to disk; a half-written copy is removed."""
    try:
        with open(src, "rb") as fin, open(dest, "xb") as fout:
            try:
                shutil.copyfileobj(fin, fout, 1 << 20)
                fout.flush()
                os.fsync(fout.fileno())
            except BaseException:
                fout.close()
                dest.unlink(missing_ok=True)
                raise
    except FileExistsError:
        raise
    except OSError as e:
        raise UserError(f"{dest}: cannot copy the run file there: {e.strerror or e}") from None


def run_files(base: Path, run: dict) -> tuple[list[Path], list[Path]]:
    """(files of a stored run that deleting it removes, files it leaves): the run file and its
    cue tracks, removed only from under <base>/runs."""
    path = Path(run["path"])
    tracks = sorted(path.parent.glob(f"{_glob_escape(path.stem)}.cues*.wav")) if path.parent.is_dir() else []
    files = [*tracks, path]  # the run file last: a deletion that stops half-way leaves the run whole
    files = [f for f in files if f.exists()]
    inside = runs_dir(base).resolve()
    return [f for f in files if f.resolve().is_relative_to(inside)], [f for f in files if not f.resolve().is_relative_to(inside)]


def _glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def delete_run(store, run: dict) -> list[Path]:
    """Delete a run's files under <data dir>/runs, then its rows: the files deleted.  Files go
    first: should one resist, the run stays in history and nothing else has changed."""
    removed, _kept = run_files(store.base, run)
    for f in removed:
        try:
            f.unlink()
        except FileNotFoundError:
            pass
        except OSError as e:
            raise UserError(f"{f}: cannot delete: {e.strerror or e}; the run stays in history") from None
    store.delete(run["id"])
    return removed
