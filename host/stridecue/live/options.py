"""The options of the commands that run the live path (`run`, `replay`, `daemon`): the virtual
runner's, the coaching flags, and --speed / --duration read into numbers.  cli.py and
pocket/daemon.py build their parsers from these, so the flags mean the same everywhere."""

from __future__ import annotations

import argparse
import math

from stridecue.errors import UserError


def add_sensor_options(p: argparse.ArgumentParser) -> None:
    """Which sensors, where they are worn, and --simulate / --speed (`run` and `daemon`)."""
    p.add_argument("--sensor", metavar="NAME|ADDRESS", action="append",
                   help="which sensor (default: the strongest in range); give it twice for two sensors, in the order of --leg/--mount")
    p.add_argument("--mount", choices=["shin", "thigh", "thigh+shin"], default="shin",
                   help="where the sensor is strapped (default shin); thigh+shin: two sensors on one leg")
    p.add_argument("--leg", choices=["left", "right", "both"], default="left",
                   help="which leg (default left); both: one sensor on each leg")
    p.add_argument("--simulate", action="store_true", help="a virtual runner wearing a virtual sensor instead of real hardware")
    p.add_argument("--speed", default="1", metavar="N|max",
                   help="with --simulate: run time passes N times faster than real time, or as fast as possible (default 1)")
    p.add_argument("--stream", choices=["full", "delta"], default="full",
                   help="data packets: full (12 bytes a sample) or delta (lossless, about half the bytes: for a controller "
                        "without Data Length Extension such as the Pi Zero 2 W's); a sensor whose firmware does not know delta "
                        "streams full, with a warning (default full)")


# --radio's presets are sim/radio.py's PRESETS; the text is here so that building the parser of a
# real run does not import the simulator (tests/pocket/test_live_imports.py).
RADIO_HELP = ("model the Bluetooth link layer: none (default: every notification arrives at once), pi-zero-2w "
              "(27-byte link-layer packets, no Data Length Extension, 50 ms interval, 15 packets per interval shared by the "
              "sensors: an assumption) or dle (251-byte packets); adjust with ,interval-ms=N,packets=N,queue=N,payload=N")


def add_sim_options(p: argparse.ArgumentParser) -> None:
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
    g.add_argument("--radio", default="none", metavar="NAME[,K=V...]", help=RADIO_HELP)
    g.add_argument("--faults", default="", metavar="SPEC",
                   help="inject link faults, e.g. loss=0.05,disconnect-every=120,disconnect-for=2,corrupt=0.01,duplicate=0.01,reorder=0.01,reboot-at=300")


def add_coaching_options(p, replay: bool = False) -> None:
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


def parse_speed(value: str) -> float | None:
    if value == "max":
        return None
    try:
        speed = float(value)
    except ValueError:
        raise UserError(f"--speed must be a number or 'max', not {value!r}") from None
    if not math.isfinite(speed) or speed <= 0:
        raise UserError(f"--speed must be a positive number or 'max', not {value!r}")
    return speed


def parse_duration(value: float | None) -> float | None:
    """--duration in seconds: a positive, finite number (None: until Ctrl-C)."""
    if value is None:
        return None
    if not math.isfinite(value) or value <= 0:
        raise UserError(f"--duration must be a positive number of seconds, not {value!r}")
    return value
