"""`stridecue` command line.

Every user-facing error is one line on stderr and a non-zero exit status; no tracebacks.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import os
import sys

from stridecue import __version__
from stridecue.errors import UserError
from stridecue.live.options import add_coaching_options, add_sensor_options, add_sim_options, parse_duration, parse_speed

# Commands that live in a module of their own: the module has
#   configure(parser: argparse.ArgumentParser) -> None   (adds its options)
#   main(args: argparse.Namespace, base: Path) -> int    (base: the data directory)
# and keeps heavy imports inside main(), so `stridecue --help` stays fast.  build_parser imports
# the module of the command that runs only (see there).
# A command whose module does not exist yet says so in one line and exits non-zero.
_MODULE_COMMANDS = {
    "history": ("stridecue.review.history", "trends across runs; delete a run", 7),
    "log": ("stridecue.painload.command", "log pain 0-10 during or after a run; runs, exercise sessions and pain on one timeline", 18),
    "export": ("stridecue.review.export", "export a run as CSV, Parquet or FIT", 7),
    "import": ("stridecue.record.importer", "add a run to history: a .scrun run file, or another IMU's CSV recording", 5),
    "repair": ("stridecue.record.repair", "write a clean copy of a damaged run file (the original is only read)", 16),
    "validate": ("stridecue.lab.validation", "accuracy against the virtual runner and real recordings", 5),
    "bench": ("stridecue.lab.bench", "speed, memory and latency benchmarks", 5),
    "flash": ("stridecue.device.flash", "deploy the firmware to a board with mpremote", 3),
    "pair": ("stridecue.device.pair", "pair a sensor with this computer (pairing window, device secret)", 13),
    "doctor": ("stridecue.device.doctor", "check Bluetooth, audio, board and data directory", 8),
    "daemon": ("stridecue.pocket.daemon", "hands-free runs: wait for the sensor, start on moving, stop on standing, spoken prompts", 17),
    "service": ("stridecue.pocket.service", "run the hands-free daemon as a systemd service (install, status)", 17),
    "report": ("stridecue.review.physio", "the physiotherapist's report: runs, exercises, pain and load over the last weeks (HTML)", 18),
    "programme": ("stridecue.review.programme", "the retraining programme: start, where you are, what is next, its outcome", 18),
    "exercise": ("stridecue.live.exercise_command", "an exercise session with live cues: squat, step-down, balance, bridge", 18),
    "serve": ("stridecue.serve.command", "review on your phone: runs, reports, trends, downloads, settings, live page", 17),
}


def not_built() -> dict[str, tuple[str, int]]:
    """Module commands whose module is not there yet: name -> (what, issue)."""
    return {
        name: (what, issue)
        for name, (module, what, issue) in _MODULE_COMMANDS.items()
        if importlib.util.find_spec(module) is None
    }


def command_in(argv: list[str]) -> str | None:
    """The command `argv` names (its first word that is not a top-level option), or None."""
    words = iter(argv)
    for word in words:
        if len(word) > 2 and "--data-dir".startswith(word):  # argparse takes --data, --da ... too
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The whole parser (argv None), or, for `argv`, one whose only fully built command is the one
    argv names: a command's module is imported only when that command runs (or shows its help), so
    `stridecue daemon` does not load the summary's, the simulator's or the bench's modules."""
    command = None if argv is None else command_in(argv)

    def wanted(name: str) -> bool:
        return argv is None or name == command

    parser = argparse.ArgumentParser(
        prog="stridecue",
        description="Real-time knee-wobble and landing-load feedback for runners with knee pain.",
    )
    parser.add_argument("--version", action="version", version=f"stridecue {__version__}")
    parser.add_argument("--data-dir", metavar="DIR",
                        help="where runs are kept (default: $STRIDECUE_DATA_DIR if set and not empty, else the user data directory)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("scan", help="list nearby StrideCue sensors", description="List nearby StrideCue sensors: name, address, signal, battery, firmware and protocol version.")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds to listen (default 5)")
    p.add_argument("--simulate", action="store_true", help="scan the virtual sensors instead of the radio")

    p = sub.add_parser("run", help="record a run with live cues",
                       description="Connect to the sensor, record every sample, analyse each stride and speak cues. "
                                   "Ctrl-C (or SIGTERM) stops the run and saves it (exit 0); Ctrl-C twice within a second "
                                   "aborts at once. A run in which a sensor sent nothing exits 1; one that lost more than "
                                   "5% of its samples ends with a warning. Both are marked in `stridecue history`.")
    add_sensor_options(p)
    p.add_argument("--duration", type=float, default=None, metavar="S", help="stop after this many seconds of run time (default: until Ctrl-C, which saves the run)")
    p.add_argument("--quiet", action="store_true", help="no live view; cues are still logged")
    add_coaching_options(p)
    add_sim_options(p)

    p = sub.add_parser("replay", help="feed a recorded run through the live pipeline", description="Feed a recording through the exact live pipeline (segmentation, metrics, coach), in real time or faster.")
    if wanted("replay"):
        from stridecue.record.runref import RUN_HELP

        p.add_argument("run", nargs="?", metavar="RUN", help=RUN_HELP)
        p.add_argument("--speed", default="max", metavar="N|max", help="N times real time, or as fast as possible (default max)")
        p.add_argument("--quiet", action="store_true", help="no live view")
        add_coaching_options(p, replay=True)

    p = sub.add_parser("summary", help="summary of a run (terminal, --json or --html report)",
                       description="Summary of a recorded run (default: the latest): in the terminal, as JSON, or as a self-contained HTML report.")
    if wanted("summary"):
        from stridecue.review.summary import configure as configure_summary

        configure_summary(p)

    _add_module_commands(sub, wanted)
    return parser


def _add_module_commands(sub, wanted) -> None:
    """_MODULE_COMMANDS' parsers: configured by their module where wanted(name), else listed only."""
    missing = not_built()
    for name, (module, what, issue) in _MODULE_COMMANDS.items():
        if name in missing:
            p = sub.add_parser(name, help=f"{what} (not built yet)", description=f"{what[0].upper()}{what[1:]}. Not built yet.")
            p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
            continue
        if not wanted(name):  # listed in `stridecue --help`; its module is not imported
            sub.add_parser(name, help=what)
            continue
        mod = importlib.import_module(module)
        doc = (mod.__doc__ or what).strip()
        p = sub.add_parser(name, help=what, description=doc.split("\n\n")[0],
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        mod.configure(p)


def _simulated_duration(args: argparse.Namespace) -> float:
    """A simulated run always ends (live/simulated.simulated_length); says when, if the user did not."""
    from stridecue.live.simulated import parse_faults, simulated_length
    from stridecue.sim.radio import parse_radio

    parse_faults(args.faults)  # a bad --faults is the error, before any note
    parse_radio(args.radio)

    guided_s = None
    if args.guided:
        from stridecue.coach.guided import GuidedSettings
        from stridecue.coach.setup import guided_overrides

        guided_s = GuidedSettings(**(guided_overrides(args.guided_segment) or {})).duration_s
    duration, note = simulated_length(args.duration, args.segments, guided_s)
    if note:
        print(note, flush=True)
    return duration


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return _dispatch(args)
    except BrokenPipeError:  # output piped into `head` and the like: not an error of ours
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
    except UserError as e:
        print(f"stridecue {args.command}: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"stridecue {args.command}: interrupted", file=sys.stderr)
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    from stridecue.paths import data_dir

    base = data_dir(args.data_dir)
    if args.command in _MODULE_COMMANDS:
        missing = not_built()
        if args.command in missing:
            what, issue = missing[args.command]
            print(f"stridecue {args.command}: not built yet ({what}; issue #{issue})", file=sys.stderr)
            return 3
        return importlib.import_module(_MODULE_COMMANDS[args.command][0]).main(args, base)
    if args.command == "scan":
        from stridecue.live.session import scan_command

        return asyncio.run(scan_command(args))
    if args.command == "run":
        from stridecue.live.session import run_command

        args.speed = parse_speed(args.speed)
        args.duration = parse_duration(args.duration)
        if args.duration is None and not args.guided:  # a retraining programme's session has its length
            from stridecue.coach.setup import planned_run_length

            args.duration = planned_run_length(args, base)
        if args.simulate:
            args.duration = _simulated_duration(args)
        return asyncio.run(run_command(args, base))
    if args.command == "replay":
        from stridecue.live.replay import replay_command

        args.speed = parse_speed(args.speed)
        return asyncio.run(replay_command(args, base))
    if args.command == "summary":
        from stridecue.review.summary import summary_command

        return summary_command(args, base)
    raise UserError(f"unknown command {args.command}")


if __name__ == "__main__":
    sys.exit(main())
