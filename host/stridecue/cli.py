"""`stridecue` command line.

Every user-facing error is one line on stderr and a non-zero exit status; no tracebacks.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import math
import os
import sys

from stridecue import __version__
from stridecue.errors import UserError

# Commands that live in a module of their own: the module has
#   configure(parser: argparse.ArgumentParser) -> None   (adds its options)
#   main(args: argparse.Namespace, base: Path) -> int    (base: the data directory)
# and keeps heavy imports inside main(), so `stridecue --help` stays fast.
# A command whose module does not exist yet says so in one line and exits non-zero.
_MODULE_COMMANDS = {
    "history": ("stridecue.review.history", "trends across runs; delete a run", 7),
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
    "serve": ("stridecue.serve.command", "review on your phone: runs, reports, trends, downloads, settings, live page", 17),
}


def not_built() -> dict[str, tuple[str, int]]:
    """Module commands whose module is not there yet: name -> (what, issue)."""
    return {
        name: (what, issue)
        for name, (module, what, issue) in _MODULE_COMMANDS.items()
        if importlib.util.find_spec(module) is None
    }


def _add_sim_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("virtual runner (with --simulate)")
    g.add_argument("--run-speed", type=float, default=3.3, metavar="M/S", help="running speed, 2-6 m/s (default 3.3)")
    g.add_argument("--cadence", type=float, default=None, metavar="SPM", help="steps per minute (default: from speed)")
    g.add_argument("--wobble", type=float, default=6.0, metavar="DEG", help="frontal-plane excursion at the start (default 6)")
    g.add_argument("--fatigue", type=float, default=1.5, metavar="DEG", help="wobble drift per 10 minutes (default 1.5)")
    g.add_argument("--cue-compliance", type=float, default=0.8, metavar="P", help="chance the runner responds to a cue (default 0.8)")
    g.add_argument("--focus-response", choices=["hip", "foot"], default=None,
                   help="which guided-protocol focus lowers the runner's wobble and landing load (default: neither)")
    g.add_argument("--segments", default="", metavar="SPEC",
                   help="what the runner does, in order, e.g. stand:10,walk:60,run:600,stop:20,run (default stand:3,run)")
    g.add_argument("--taps", default="", metavar="S,S...",
                   help="run times (s) at which the runner taps the sensor's case, e.g. 76,76.3: a double tap")
    g.add_argument("--seed", type=int, default=1, help="random seed of the virtual runner (default 1)")
    g.add_argument("--faults", default="", metavar="SPEC",
                   help="inject link faults, e.g. loss=0.05,disconnect-every=120,disconnect-for=2,corrupt=0.01,duplicate=0.01,reorder=0.01,reboot-at=300")


def _add_coaching_options(p, replay: bool = False) -> None:
    """The coaching flags of `run` and `replay` (they win over the settings file's profile)."""
    g = p.add_argument_group("coaching (flags win over the settings file)")
    g.add_argument("--settings", metavar="FILE", help="settings file with a [profile.NAME] per runner (default: <data dir>/settings.toml)")
    g.add_argument("--profile", metavar="NAME", help="which runner's profile (default: the file's default_profile)")
    if replay:
        g.description = "without --settings or --profile a replay uses the settings recorded with the run"
    g.add_argument("--guided", action="store_true", help="the guided hip-or-foot protocol instead of the wobble coach")
    if not replay:
        g.add_argument("--guided-segment", type=float, metavar="S",
                       help="with --guided: each segment S seconds, at least 60 (default: 2 minutes each, about 11 minutes in all)")
    g.add_argument("--threshold-deg", type=float, metavar="DEG", help="absolute wobble threshold in degrees (instead of baseline + k x spread)")
    g.add_argument("--k", type=float, metavar="K", help="threshold = baseline + K x spread (default 2)")
    g.add_argument("--baseline", choices=["run", "saved"], help="baseline from this run's first strides, or saved from earlier runs")
    g.add_argument("--load-cue", action="store_true", default=None, help='also cue "Land softer" on high landing load')
    g.add_argument("--cadence-cue", action="store_true", default=None, help='also cue "Quicker steps" below the target cadence')
    g.add_argument("--cadence-target", type=float, metavar="SPM", help="target cadence (default: your baseline + 7.5%%)")
    g.add_argument("--fading", action=argparse.BooleanOptionalAction, default=None, help="faded feedback across sessions (per profile)")
    g.add_argument("--volume", type=float, metavar="0..1", help="cue volume")
    g.add_argument("--sound", choices=["speech", "tone", "both"], help="spoken words, tones, or both")
    g.add_argument("--audio", choices=["auto", "sounddevice", "aplay", "paplay", "none"],
                   help="audio output (default auto: sounddevice, then aplay, then paplay)")
    if not replay:
        g.add_argument("--no-cue-track", action="store_true", help="do not write the cue track WAV next to the run file")


def build_parser() -> argparse.ArgumentParser:
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
    p.add_argument("--sensor", metavar="NAME|ADDRESS", action="append",
                   help="which sensor (default: the strongest in range); give it twice for two sensors, in the order of --leg/--mount")
    p.add_argument("--mount", choices=["shin", "thigh", "thigh+shin"], default="shin",
                   help="where the sensor is strapped (default shin); thigh+shin: two sensors on one leg")
    p.add_argument("--leg", choices=["left", "right", "both"], default="left",
                   help="which leg (default left); both: one sensor on each leg")
    p.add_argument("--simulate", action="store_true", help="a virtual runner wearing a virtual sensor instead of real hardware")
    p.add_argument("--duration", type=float, default=None, metavar="S", help="stop after this many seconds of run time (default: until Ctrl-C, which saves the run)")
    p.add_argument("--speed", default="1", metavar="N|max", help="with --simulate: run time passes N times faster than real time, or as fast as possible (default 1)")
    p.add_argument("--quiet", action="store_true", help="no live view; cues are still logged")
    _add_coaching_options(p)
    _add_sim_options(p)

    p = sub.add_parser("replay", help="feed a recorded run through the live pipeline", description="Feed a recording through the exact live pipeline (segmentation, metrics, coach), in real time or faster.")
    from stridecue.record.runref import RUN_HELP

    p.add_argument("run", nargs="?", metavar="RUN", help=RUN_HELP)
    p.add_argument("--speed", default="max", metavar="N|max", help="N times real time, or as fast as possible (default max)")
    p.add_argument("--quiet", action="store_true", help="no live view")
    _add_coaching_options(p, replay=True)

    p = sub.add_parser("summary", help="summary of a run (terminal, --json or --html report)",
                       description="Summary of a recorded run (default: the latest): in the terminal, as JSON, or as a self-contained HTML report.")
    from stridecue.review.summary import configure as configure_summary

    configure_summary(p)

    missing = not_built()
    for name, (module, what, issue) in _MODULE_COMMANDS.items():
        if name in missing:
            p = sub.add_parser(name, help=f"{what} (not built yet)", description=f"{what[0].upper()}{what[1:]}. Not built yet.")
            p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
            continue
        mod = importlib.import_module(module)
        doc = (mod.__doc__ or what).strip()
        p = sub.add_parser(name, help=what, description=doc.split("\n\n")[0],
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        mod.configure(p)
    return parser


def _speed(value: str) -> float | None:
    if value == "max":
        return None
    try:
        speed = float(value)
    except ValueError:
        raise UserError(f"--speed must be a number or 'max', not {value!r}") from None
    if not math.isfinite(speed) or speed <= 0:
        raise UserError(f"--speed must be a positive number or 'max', not {value!r}")
    return speed


def _duration(value: float | None) -> float | None:
    """--duration in seconds: a positive, finite number (None: until Ctrl-C)."""
    if value is None:
        return None
    if not math.isfinite(value) or value <= 0:
        raise UserError(f"--duration must be a positive number of seconds, not {value!r}")
    return value


def _simulated_duration(args: argparse.Namespace) -> float:
    """A simulated run always ends (live/simulated.simulated_length); says when, if the user did not."""
    from stridecue.live.simulated import parse_faults, simulated_length

    parse_faults(args.faults)  # a bad --faults is the error, before any note

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
    parser = build_parser()
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

        args.speed = _speed(args.speed)
        args.duration = _duration(args.duration)
        if args.simulate:
            args.duration = _simulated_duration(args)
        return asyncio.run(run_command(args, base))
    if args.command == "replay":
        from stridecue.live.replay import replay_command

        args.speed = _speed(args.speed)
        return asyncio.run(replay_command(args, base))
    if args.command == "summary":
        from stridecue.review.summary import summary_command

        return summary_command(args, base)
    raise UserError(f"unknown command {args.command}")


if __name__ == "__main__":
    sys.exit(main())
