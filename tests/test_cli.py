"""The CLI skeleton: every command is listed; those not built yet say so in one line and fail."""

import subprocess
import sys

import pytest


COMMANDS = ["scan", "run", "replay", "summary", "history", "export", "import", "validate", "bench", "flash", "doctor"]


def stridecue(*args, **kw):
    return subprocess.run([sys.executable, "-m", "stridecue.cli", *args], capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, **kw)


def test_help_lists_every_command():
    out = stridecue("--help")
    assert out.returncode == 0
    for name in COMMANDS:
        assert name in out.stdout


def test_every_command_has_help():
    for name in COMMANDS:
        out = stridecue(name, "--help")
        assert out.returncode == 0, name
        assert "usage: stridecue " + name in out.stdout


def test_not_built_commands_fail_with_one_clear_line():
    from stridecue.cli import not_built

    for name in not_built():
        out = stridecue(name)
        assert out.returncode != 0
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and "not built yet" in lines[0], (name, out.stderr)
        assert "Traceback" not in out.stderr


def test_bad_option_value_is_one_line_not_a_traceback(tmp_path):
    out = stridecue("--data-dir", str(tmp_path), "run", "--simulate", "--speed", "fast")
    assert out.returncode != 0
    assert "Traceback" not in out.stderr
    assert "--speed" in out.stderr


def test_summary_without_runs_says_so(tmp_path):
    out = stridecue("--data-dir", str(tmp_path), "summary")
    assert out.returncode == 1
    assert "no runs" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize("flags, named", [
    (["--duration", "nan"], "--duration"), (["--duration", "-5"], "--duration"), (["--duration", "0"], "--duration"),
    (["--duration", "inf"], "--duration"), (["--speed", "nan"], "--speed"), (["--speed", "-1"], "--speed"),
])
def test_run_refuses_impossible_durations_and_speeds_in_one_line(tmp_path, flags, named):
    args = ["run", "--simulate", "--quiet", "--speed", "max", "--duration", "5"]
    for k in range(0, len(flags), 2):
        i = args.index(flags[k])
        args[i + 1] = flags[k + 1]
    out = stridecue("--data-dir", str(tmp_path / "d"), *args)
    assert out.returncode == 1 and named in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "d" / "runs").exists(), "nothing recorded"


def test_the_running_command_is_found_past_the_top_level_options():
    """cli.py configures only the command that runs (its module alone is imported): it must find
    that command whatever comes before it, or the command's own options would be refused."""
    from stridecue.cli import build_parser, command_in

    assert command_in(["--data-dir", "/runs/summary", "daemon", "--simulate"]) == "daemon"
    assert command_in(["--data", "history", "run"]) == "run"  # argparse's abbreviation of --data-dir
    assert command_in(["--data-dir=/x", "history", "--json"]) == "history"
    assert command_in(["--version"]) is None
    for argv in (["--data", "summary", "daemon", "--stop-after", "5"], ["--data-dir", "x", "summary", "--json", "latest"]):
        args = build_parser(argv).parse_args(argv)
        assert args.command == argv[2]
