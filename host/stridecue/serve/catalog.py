"""The runs as `serve` sees them: a read-only view of the run store, and the data directory's files.

Reading never writes to the store: the on-disk stridecue.db is opened read-only and copied into
an in-memory RunStore, and run files not analysed yet are ingested into that copy only (they are
analysed again after a restart of `serve`, or once `summary` or `history` has stored them).  The
copy is refreshed when the database or a run file changes, at most every REFRESH_S.

SQLite connections belong to one thread, so every use of the store goes through Catalog.call(),
which runs it on the catalog's own single thread.

Only runs whose file lies under <data dir>/runs (symlinks resolved) are shown: the store may also
know files elsewhere (`summary /some/where.scrun` ingests them), and nothing outside the data
directory is served.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

from stridecue.paths import runs_dir
from stridecue.record.painlog import journal_path
from stridecue.record.schema import migrate
from stridecue.record.store import DB_NAME, RunStore

REFRESH_S = 2.0
SERVED_SUFFIXES = (".scrun", ".wav")  # run files and their cue tracks


class NotServed(LookupError):
    """No such run or file in the data directory (the app answers 404)."""


class Catalog:
    def __init__(self, base: Path, analyse: Callable | None = None, refresh_s: float = REFRESH_S):
        self.base = Path(base).resolve()
        self.runs_root = runs_dir(self.base).resolve()
        self.analyse = analyse
        self.refresh_s = refresh_s
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stridecue-serve-store")
        self._store: RunStore | None = None
        self._db_key = self._files_key = None
        self._checked = -float("inf")

    async def call(self, fn: Callable, *args):
        """fn(store, *args) on the store's thread, with a fresh store copy."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(self._fresh(), *args))

    def close(self) -> None:
        def shut():
            if self._store is not None:
                self._store.close()
                self._store = None

        self._executor.submit(shut).result()
        self._executor.shutdown()

    # -- the in-memory copy (store thread only) ---------------------------------------------------

    def _fresh(self) -> RunStore:
        now = time.monotonic()
        if self._store is not None and now - self._checked < self.refresh_s:
            return self._store
        self._checked = now
        db = self.base / DB_NAME
        db_key = _stat_key(db, db.with_name(DB_NAME + "-wal"))
        if self._store is None or db_key != self._db_key:
            store = RunStore(Path(":memory:"), base=self.base, analyse=self.analyse)
            _copy_read_only(db, store.db)
            migrate(store.db, db)
            if self._store is not None:
                self._store.close()
            self._store, self._db_key, self._files_key = store, db_key, None
        files_key = (_files_key(self.runs_root), _stat_key(journal_path(self.base)))  # run files and the pain journal
        if files_key != self._files_key:
            self._store.sync()
            self._files_key = files_key
        return self._store

    # -- what may be served -------------------------------------------------------------------------

    def inside(self, path: str | os.PathLike) -> bool:
        try:
            return Path(path).resolve().is_relative_to(self.runs_root)
        except (OSError, RuntimeError):  # a symlink loop
            return False

    def runs(self, store: RunStore, profile: str | None = None) -> list[dict]:
        """The runs under <data dir>/runs, oldest first."""
        return [r for r in store.runs(profile) if self.inside(r["path"])]

    def run(self, store: RunStore, run_id: int) -> dict:
        row = store.db.execute("SELECT id FROM runs WHERE id = ?", (int(run_id),)).fetchone()
        if row is None:
            raise NotServed(f"no run {run_id}")
        run = store.run(run_id)
        if not self.inside(run["path"]):
            raise NotServed(f"no run {run_id}")
        return run

    def file(self, relative: str) -> Path:
        """A run file or cue track under <data dir>/runs by its path relative to the data directory."""
        parts = relative.split("/")
        if (not relative or relative.startswith("/") or "\\" in relative or "\x00" in relative
                or any(p in ("", ".", "..") for p in parts) or parts[0] != "runs"):
            raise NotServed("not a file of the data directory")
        try:
            real = (self.base / relative).resolve(strict=True)
        except (OSError, RuntimeError):
            raise NotServed("no such file") from None
        if not real.is_relative_to(self.runs_root) or not real.is_file() or real.suffix not in SERVED_SUFFIXES:
            raise NotServed("not a file of the data directory")
        return real

    def relative(self, path: str | os.PathLike) -> str:
        """The address part of a run's file (for /files/...)."""
        return Path(path).resolve().relative_to(self.base).as_posix()


def _stat_key(*paths: Path) -> tuple:
    out = []
    for p in paths:
        try:
            st = p.stat()
            out.append((st.st_size, st.st_mtime_ns, st.st_ino))
        except OSError:
            out.append(None)
    return tuple(out)


def _files_key(folder: Path) -> tuple:
    if not folder.is_dir():
        return ()
    return tuple(sorted((str(p), *_stat_key(p)) for p in folder.rglob("*.scrun")))


def _copy_read_only(db: Path, dest: sqlite3.Connection, tries: int = 3) -> None:
    """Copy the on-disk store into dest without writing to it.

    With no write-ahead log beside it the file is opened immutable, which also keeps SQLite
    from creating -wal and -shm files in the data directory; with one (a writer is at work)
    read-only through the log.  A file that changed while it was copied is copied again."""
    if not db.exists():
        return
    wal = db.with_name(db.name + "-wal")
    for _ in range(tries):
        before = _stat_key(db, wal)
        query = "mode=ro" if wal.exists() else "mode=ro&immutable=1"
        try:
            src = sqlite3.connect(f"{db.as_uri()}?{query}", uri=True)
            try:
                src.backup(dest)
            finally:
                src.close()
        except sqlite3.DatabaseError:
            if _stat_key(db, wal) == before:
                raise
            continue
        if _stat_key(db, wal) == before:
            return
