"""What the command line does when the data directory is unusable or a run is interrupted,
empty or imported: one line naming the problem, a non-zero exit, nothing lost or overwritten."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def stridecue(*args, env=None, **kw):
    return subprocess.run([sys.executable, "-m", "stridecue.cli", *args], capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL, env=env, **kw)


def isolated_env(tmp_path) -> dict:
    """An environment whose default data directory is inside tmp_path (a fallback would land there)."""
    env = dict(os.environ)
    env.pop("STRIDECUE_DATA_DIR", None)
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg")
    env["HOME"] = str(tmp_path / "home")
    return env


def one_line_error(out, *words):
    assert out.returncode != 0
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])


COMMANDS = [["summary"], ["history"], ["run", "--simulate", "--quiet", "--speed", "max", "--duration", "5"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_data_dir_that_is_a_file_is_one_line_naming_it(tmp_path, command):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("my notes\n")
    for data in (blocker, blocker / "sub"):
        out = stridecue("--data-dir", str(data), *command)
        one_line_error(out, str(blocker), "is a file, not a directory")
    assert blocker.read_text() == "my notes\n"


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_an_empty_data_dir_is_refused_not_the_default(tmp_path, command):
    env = isolated_env(tmp_path)
    out = stridecue("--data-dir", "", *command, env=env)
    one_line_error(out, "--data-dir is empty")
    assert not (tmp_path / "xdg").exists() and not (tmp_path / "home").exists()


def test_an_empty_environment_variable_counts_as_unset(tmp_path, monkeypatch):
    from stridecue.paths import data_dir

    monkeypatch.setenv("STRIDECUE_DATA_DIR", "")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert data_dir() == tmp_path / "xdg" / "stridecue"


def test_a_read_only_data_dir_is_named_before_a_run_starts(tmp_path, monkeypatch, capsys):
    """A read-only file system or directory (os.access says so; a test as root cannot chmod one)."""
    from stridecue.cli import main

    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if str(p).startswith(str(tmp_path)) else real_access(p, mode, **kw))
    rc = main(["--data-dir", str(tmp_path), "run", "--simulate", "--quiet", "--speed", "max", "--duration", "5"])
    err = capsys.readouterr().err
    assert rc != 0 and "read-only" in err and "move it aside" not in err
    assert not list(tmp_path.rglob("*.scrun"))
