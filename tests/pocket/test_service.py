"""`stridecue service`: the unit systemd would run, checked by systemd-analyze; status; refusals."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from stridecue.cli import main
from stridecue.pocket.state import DaemonState, write_state

ANALYZE = shutil.which("systemd-analyze")


def _install(tmp_path, *extra):
    return main(["--data-dir", str(tmp_path / "data"), "service", "install", "--unit-dir", str(tmp_path / "units"), *extra])


def test_the_unit_passes_systemd_analyze_verify(tmp_path, capsys):
    if ANALYZE is None:  # installed by `make test` (tools/apt-packages.txt: systemd): fail, never skip
        pytest.fail("systemd-analyze is not installed (Debian package systemd, tools/apt-packages.txt)")
    (tmp_path / "data").mkdir()
    assert _install(tmp_path) == 0
    unit = tmp_path / "units" / "stridecue.service"
    text = unit.read_text()
    assert "Restart=on-failure" in text and f"ExecStart={sys.executable} -m stridecue.cli --data-dir" in text
    assert text.rstrip().endswith("WantedBy=default.target")
    done = subprocess.run([ANALYZE, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "" and done.stderr.strip() == "", done.stderr
    assert "systemctl --user enable --now stridecue" in capsys.readouterr().out


def test_a_different_unit_is_not_replaced_without_force(tmp_path, capsys):
    (tmp_path / "units").mkdir()
    unit = tmp_path / "units" / "stridecue.service"
    unit.write_text("[Service]\nExecStart=/bin/true\n")
    assert _install(tmp_path) == 1
    assert "exists and differs" in capsys.readouterr().err
    assert unit.read_text() == "[Service]\nExecStart=/bin/true\n"
    assert _install(tmp_path, "--force") == 0
    assert "daemon" in unit.read_text()


def test_a_system_unit_runs_as_an_account_in_the_audio_and_bluetooth_groups(tmp_path):
    assert _install(tmp_path, "--system") == 0
    text = (tmp_path / "units" / "stridecue.service").read_text()
    assert "User=" in text and "SupplementaryGroups=audio bluetooth" in text and "WantedBy=multi-user.target" in text


def test_status_says_what_the_daemon_last_did(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    assert main(["--data-dir", str(data), "service", "status", "--unit-dir", str(tmp_path / "units")]) == 0
    out = capsys.readouterr().out
    assert "not installed" in out and "has not run" in out
    write_state(data, DaemonState(state="waiting for sensors", runs=2, last_run="2026-12-07_0700.scrun", pid=2**22 + 12345))
    _install(tmp_path)
    capsys.readouterr()
    main(["--data-dir", str(data), "service", "status", "--unit-dir", str(tmp_path / "units")])
    out = capsys.readouterr().out
    assert "unit: " + str(tmp_path / "units" / "stridecue.service") in out
    assert "waiting for sensors; 2 runs" in out and "not running" in out  # that pid does not exist


def test_the_daemon_the_unit_starts_is_a_command():
    from stridecue.cli import build_parser

    assert build_parser().parse_args(["daemon"]).command == "daemon"


def test_daemon_options_go_into_the_unit_and_are_checked_first(tmp_path, capsys):
    """Two sensors on a Pi's radio want `--stream delta`: the service passes it on; a wrong option
    is refused now (one line, no unit written), not by a service failing at boot."""
    data, units = tmp_path / "data", tmp_path / "units"
    base = ["--data-dir", str(data), "service", "install", "--unit-dir", str(units)]
    assert main([*base, "--daemon-options=--stream delta --stop-after 30"]) == 0
    assert (units / "stridecue.service").read_text().count("daemon --stream delta --stop-after 30\n") == 1
    for bad, word in (("--stream bogus", "invalid choice"), ("--simulate", "no --simulate"), ("--nope", "unrecognized"),
                      ("--stop-after -3", "--stop-after -3"), ("'open", "No closing quotation")):
        assert main([*base[:-2], "--unit-dir", str(tmp_path / "other"), f"--daemon-options={bad}"]) != 0
        err = capsys.readouterr().err
        assert word in err and len(err.strip().splitlines()) == 1, err
        assert not (tmp_path / "other").exists()
