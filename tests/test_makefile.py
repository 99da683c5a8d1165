"""Issue 16 item 16: `make demo` shows the run and its summary, not pages of pip's warnings.

The Makefile runs here against a stand-in Python whose pip only talks (on stderr, as pip's
warnings do): installing prints one line per step and keeps pip's words in .venv/install.log,
which it shows only when a step fails."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FAKE_PYTHON = """#!/bin/sh
# a stand-in python: `-m venv DIR` makes DIR/bin/python (this script); `-m pip ...` only talks
if [ "$1 $2" = "-m venv" ]; then mkdir -p "$3/bin" && cp "$0" "$3/bin/python" && exit 0; fi
echo "WARNING: pip says something a new user cannot act on" >&2
echo "Requirement already satisfied: numpy" 
[ -n "$FAKE_PIP_FAILS" ] && { echo "ERROR: no matching distribution for scipy" >&2; exit 1; }
exit 0
"""


@pytest.fixture
def checkout(tmp_path):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    fake = tmp_path / "fakepython"
    fake.write_text(FAKE_PYTHON)
    fake.chmod(0o755)
    return tmp_path


def make(checkout: Path, *args, fail=False):
    env = {"PATH": "/usr/bin:/bin", **({"FAKE_PIP_FAILS": "1"} if fail else {})}
    return subprocess.run(["make", "--no-print-directory", f"PYTHON={checkout / 'fakepython'}", *args], cwd=checkout,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, env=env)


def test_install_is_quiet_and_keeps_pips_words_in_a_log(checkout):
    out = make(checkout, "install")
    assert out.returncode == 0, out.stderr
    shown = out.stdout + out.stderr
    assert "WARNING" not in shown and "Requirement already" not in shown, shown
    assert len(shown.splitlines()) <= 3, shown  # one line per step
    assert "WARNING: pip says" in (checkout / ".venv" / "install.log").read_text()


def test_a_failed_install_shows_what_went_wrong(checkout):
    out = make(checkout, "install", fail=True)
    assert out.returncode != 0
    assert "ERROR: no matching distribution for scipy" in out.stderr and "install.log" in out.stderr
