"""`stridecue service install|status|uninstall`: the pocket host's daemon as a systemd service.

A user unit (the default) runs as the runner's own account, with the runner's audio session and
keys file; it starts at boot only with lingering on (`loginctl enable-linger USER`, said after
install).  A system unit (`--system`, as root) names the account in User= and joins the audio and
bluetooth groups.  Either restarts the daemon on failure, and the daemon writes plain lines that
the journal keeps (`journalctl --user -u stridecue`).
"""

from __future__ import annotations

import getpass
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from stridecue.errors import UserError

UNIT_NAME = "stridecue.service"


def unit_text(base: Path, *, system: bool, user: str | None = None, python: str | None = None,
              daemon_options: tuple[str, ...] = ()) -> str:
    """The unit file: the daemon of this Python and this data directory, with daemon_options."""
    python = python or sys.executable
    command = " ".join([f"{shlex.quote(python)} -m stridecue.cli --data-dir {shlex.quote(str(base))} daemon",
                        *map(shlex.quote, daemon_options)])
    lines = [
        "[Unit]",
        "Description=StrideCue pocket host: hands-free runs with live cues",
        "After=bluetooth.target sound.target",
        "Wants=bluetooth.target",
        "",
        "[Service]",
        "Type=simple",
        f"ExecStart={command}",
        "Restart=on-failure",
        "RestartSec=5",
        # plain, unbuffered lines: the journal keeps each as it is written
        "Environment=PYTHONUNBUFFERED=1",
        "Environment=NO_COLOR=1",
    ]
    if system:
        account = user or os.environ.get("SUDO_USER") or getpass.getuser()
        lines += [f"User={account}", "SupplementaryGroups=audio bluetooth"]
    lines += ["", "[Install]", f"WantedBy={'multi-user.target' if system else 'default.target'}", ""]
    return "\n".join(lines)


def unit_dir(system: bool) -> Path:
    if system:
        return Path("/etc/systemd/system")
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "systemd" / "user"


def _systemctl(system: bool, *words: str) -> subprocess.CompletedProcess | None:
    """systemctl [--user] WORDS, or None where there is no systemctl."""
    exe = shutil.which("systemctl")
    if exe is None:
        return None
    command = [exe] + ([] if system else ["--user"]) + list(words)
    return subprocess.run(command, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)


def checked_daemon_options(text: str | None) -> tuple[str, ...]:
    """--daemon-options as the unit passes them to `stridecue daemon`, checked by the daemon's own
    parser now rather than by a service that fails at boot; UserError naming what is wrong."""
    if not text:
        return ()
    try:
        words = tuple(shlex.split(text))
    except ValueError as e:
        raise UserError(f"--daemon-options {text!r}: {e}") from None
    if any(w == "--simulate" or w.startswith("--data-dir") for w in words):
        raise UserError("--daemon-options: a service runs real sensors in this data directory (no --simulate or --data-dir)")
    from stridecue.cli import build_parser
    from stridecue.pocket.daemon import check_options

    def refuse(message: str):
        raise UserError(f"--daemon-options {text!r}: {message}")

    parser = build_parser(["daemon"])
    for p in (parser, *_subparsers(parser)):
        p.error = refuse  # argparse would print its usage and exit
    args = parser.parse_args(["daemon", *words])
    check_options(args)
    return words


def _subparsers(parser) -> list:
    return [p for action in parser._actions if hasattr(action, "choices") and isinstance(action.choices, dict)
            for p in action.choices.values()]


def install(base: Path, *, system: bool, directory: Path | None, enable: bool, force: bool,
            daemon_options: tuple[str, ...] = ()) -> list[str]:
    """Write the unit (never over a different one without --force); enable and start it.  The lines to print."""
    if system and directory is None and os.geteuid() != 0:
        raise UserError("service install --system writes /etc/systemd/system: run it as root (sudo), or leave out --system")
    target_dir = directory or unit_dir(system)
    path = target_dir / UNIT_NAME
    text = unit_text(base, system=system, daemon_options=daemon_options)
    if path.exists() and path.read_text() != text and not force:
        raise UserError(f"{path} exists and differs: --force replaces it (or `stridecue service uninstall` first)")
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(text)
        temporary.replace(path)
    except OSError as e:
        raise UserError(f"cannot write {path}: {e.strerror or e}") from None
    lines = [f"unit written: {path}"]
    scope = "" if system else "--user "
    if not enable:
        return lines + [f"enable it with: systemctl {scope}daemon-reload && systemctl {scope}enable --now stridecue"]
    for words in (("daemon-reload",), ("enable", "--now", "stridecue")):
        done = _systemctl(system, *words)
        if done is None or done.returncode != 0:
            why = "no systemctl here" if done is None else (done.stderr.strip().splitlines() or ["failed"])[-1]
            raise UserError(f"unit written to {path}, but `systemctl {scope}{' '.join(words)}` did not work: {why}")
    lines.append("service enabled and started")
    if not system:
        lines.append(f"to start it at boot without logging in: sudo loginctl enable-linger {getpass.getuser()}")
    return lines


def uninstall(*, system: bool, directory: Path | None) -> list[str]:
    path = (directory or unit_dir(system)) / UNIT_NAME
    if not path.exists():
        raise UserError(f"no unit at {path}: nothing to uninstall")
    if directory is None:
        _systemctl(system, "disable", "--now", "stridecue")
    path.unlink()
    return [f"unit removed: {path}"]


def status(base: Path, *, system: bool, directory: Path | None) -> list[str]:
    """Whether the unit is installed and running, and what the daemon last said (pocket/state.py)."""
    from stridecue.pocket.state import read_state

    path = (directory or unit_dir(system)) / UNIT_NAME
    lines = [f"unit: {path}" if path.exists() else f"unit: not installed (looked in {path.parent})"]
    done = _systemctl(system, "is-active", "stridecue") if path.exists() and directory is None else None
    if done is not None:
        lines.append(f"systemd: {done.stdout.strip() or done.stderr.strip() or 'unknown'}")
    state = read_state(base)
    if state is None:
        lines.append("daemon: has not run with this data directory")
    else:
        lines.append(f"daemon: {state.line()}")
    return lines


def configure(parser) -> None:
    parser.add_argument("action", choices=["install", "status", "uninstall"],
                        help="install: write the unit, enable and start it; status: is it installed and running, "
                             "and what the daemon last did; uninstall: stop, disable and remove it")
    parser.add_argument("--system", action="store_true",
                        help="a system unit in /etc/systemd/system (as root; runs as the invoking user) "
                             "instead of a user unit in ~/.config/systemd/user")
    parser.add_argument("--unit-dir", metavar="DIR", help="write the unit here and do not touch systemd (for images and tests)")
    parser.add_argument("--no-enable", action="store_true", help="write the unit only; print the systemctl commands")
    parser.add_argument("--force", action="store_true", help="replace a unit file that differs")
    parser.add_argument("--daemon-options", metavar="'OPTIONS'",
                        help="with install: options the service gives `stridecue daemon`, checked now; e.g. "
                             "--daemon-options='--stream delta' (written with '=', as the value starts with --) for two "
                             "sensors on a Pi Zero 2 W's radio (hardware/README.md)")


def main(args, base: Path) -> int:
    directory = Path(args.unit_dir) if args.unit_dir else None
    if args.daemon_options and args.action != "install":
        raise UserError(f"--daemon-options goes with install, not {args.action}")
    if args.action == "install":
        enable = not args.no_enable and directory is None
        lines = install(base, system=args.system, directory=directory, enable=enable, force=args.force,
                        daemon_options=checked_daemon_options(args.daemon_options))
    elif args.action == "uninstall":
        lines = uninstall(system=args.system, directory=directory)
    else:
        lines = status(base, system=args.system, directory=directory)
    print("\n".join(lines))
    return 0
