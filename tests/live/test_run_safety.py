"""`stridecue run` when things go wrong: two runs started in the same second, Ctrl-C or SIGTERM
mid-run, a sensor that sends nothing or loses much of what it sends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest


def test_a_run_whose_name_another_run_takes_in_the_same_second_gets_the_next_name(tmp_path, monkeypatch, capsys):
    import stridecue.record.runfile as runfile
    from stridecue.cli import main

    real = runfile.run_file_path
    taken = []

    def another_run_takes_it_first(*args, **kw):
        path = real(*args, **kw)
        if not taken:  # another process, started the same second, creates this name first
            path.write_bytes(b"the other run")
            taken.append(path)
        return path

    monkeypatch.setattr(runfile, "run_file_path", another_run_takes_it_first)
    rc = main(["--data-dir", str(tmp_path), "run", "--simulate", "--quiet", "--speed", "max", "--duration", "5", "--no-cue-track"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert taken and taken[0].read_bytes() == b"the other run"
    runs = sorted(tmp_path.rglob("*.scrun"))
    assert len(runs) == 2
    mine = next(p for p in runs if p != taken[0])
    assert mine.stem == taken[0].stem + "-2"
    assert f"run saved: {mine}" in out.out
    assert runfile.RunReader(mine).closed


def test_new_run_files_of_the_same_second_never_share_a_name(tmp_path):
    import datetime as dt

    from stridecue.record.runfile import open_new_run

    start = dt.datetime(2026, 5, 1, 6, 0, 0, tzinfo=dt.timezone.utc)
    writers = [open_new_run(tmp_path, start, "StrideCue-LS", {"start_time": start.isoformat()}) for _ in range(3)]
    names = [w.path.name for w in writers]
    for w in writers:
        w.close()
    assert len(set(names)) == 3
