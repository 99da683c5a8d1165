"""The `scan` and `run` commands: wiring sensors, pipeline, recorder and coach.

A simulated run differs from a live one in exactly two places: the bleak backend (the virtual
sensor instead of the platform's radio) and the clock (the simulated air's time); simulated.py
sets both up.  Everything from BleakClient on is the same code.  `replay` (replay.py) feeds a
recording through the same RunPipeline.

Coaching (coach/setup.py: profile, coach or guided protocol, faded feedback, saved baseline, cue
sounds, audio output, cue track, live view) is prepared the same way for all three.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from pathlib import Path

from stridecue.clock import Clock, WallClock
from stridecue.coach.setup import Coaching, describe_coaching, guided_overrides, make_view, prepare_coaching, profile_from_args
from stridecue.coach.settings import Profile
from stridecue.errors import UserError
from stridecue.link.client import scan
from stridecue.live.pipeline import SensorSetup
from stridecue.live.recording import (Wiring, connect_links, cue_sinks, feeders, open_run, run_metadata, sensor_links, sensors_metadata,
                                      stop_and_save, until_done)
from stridecue.live.recording import make_source as _make_source  # noqa: F401 (bench and tests import it from here)
from stridecue.live.simulated import Simulation, scan_air, show_progress, simulation
from stridecue.live.stopping import StopSignals
from stridecue.live.status_feed import attach_live_status  # serve's live page hook (see run_command)
from stridecue.painload.prompt import ask_pain


# -- scan -----------------------------------------------------------------------------------------


async def scan_command(args) -> int:
    scanner_backend = None
    if args.simulate:
        scanner_backend = scan_air()
        args.timeout = min(args.timeout, 0.5)
    try:
        found = await scan(args.timeout, backend=scanner_backend)
    except Exception as e:  # no adapter, no permission: bleak raises platform errors
        raise UserError(f"cannot scan: {_bluetooth_problem(e)}") from None
    if not found:
        print("no StrideCue sensors found (is the sensor on and near? `stridecue doctor` checks Bluetooth)")
        return 1
    print(f"{'name':<16} {'address':<18} {'signal':>7} {'battery':>8} {'firmware':>9} {'protocol':>9}")
    for s in found:
        battery = f"{s.battery_pct}%" if s.battery_pct is not None else "?"
        print(f"{s.name:<16} {s.address:<18} {s.rssi:>4} dBm {battery:>8} {s.firmware or '?':>9} {s.protocol_version or '?':>9}")
    return 0


def _bluetooth_problem(e: Exception) -> str:
    text = str(e) or type(e).__name__
    if "org.bluez" in text or "No Bluetooth adapters" in text or "not found" in text.lower() or isinstance(e, FileNotFoundError):
        return "no Bluetooth adapter found (is BlueZ running and an adapter present?)"
    return text.splitlines()[0]


# -- run ------------------------------------------------------------------------------------------


def sensor_setups(args) -> list[SensorSetup]:
    """The sensors of this run, one SensorSetup per slot (the one place that decides them).

    One sensor; or two: one on each leg (--leg both), or thigh and shin of one leg (--mount thigh+shin).
    """
    if args.leg == "both" and args.mount == "thigh+shin":
        raise UserError("--leg both with --mount thigh+shin would need four sensors; StrideCue records one or two")
    if args.leg == "both":
        setups = [SensorSetup(slot=0, mount=args.mount, leg="left"), SensorSetup(slot=1, mount=args.mount, leg="right")]
    elif args.mount == "thigh+shin":
        setups = [SensorSetup(slot=0, mount="shin", leg=args.leg), SensorSetup(slot=1, mount="thigh", leg=args.leg)]
    else:
        setups = [SensorSetup(slot=0, mount=args.mount, leg=args.leg)]
    named = args.sensor or []
    if len(named) > len(setups):
        raise UserError(f"--sensor given {len(named)} times for {len(setups)} sensor(s) (two sensors: --leg both or --mount thigh+shin)")
    if len(set(named)) < len(named):
        raise UserError("--sensor names the same sensor twice")
    return setups


def _names(want: str, found) -> bool:
    """--sensor WANT names this sensor: its address, its name, or its name as advertised (a name
    over 11 bytes reaches a scan shortened, so "StrideCue-Left" is seen as "StrideCue-L")."""
    if want.upper() == found.address.upper() or want == found.name:
        return True
    return len(found.name.encode()) == 11 and want.startswith(found.name)


def _describe(setup: SensorSetup) -> str:
    return f"{setup.leg} {setup.mount}"


async def choose_sensors(args, setups: list[SensorSetup], backend) -> list:
    """One found sensor per setup: by --sensor (in setup order), else by the mount each advertises,
    else the strongest one when a single sensor is wanted."""
    try:
        found = await scan(0.5 if args.simulate else 5.0, backend=backend)
    except Exception as e:
        raise UserError(f"cannot scan: {_bluetooth_problem(e)}") from None
    named = args.sensor or []
    chosen = []
    for want in named:
        match = next((s for s in found if _names(want, s)), None)
        if match is None:
            raise UserError(f"sensor {want!r} not found (`stridecue scan` lists the sensors in range)")
        chosen.append(match)
    if len(chosen) == len(setups):
        return chosen
    if not found:
        raise UserError("no StrideCue sensor found (is it on and near? `stridecue scan` lists sensors in range)")
    rest = [s for s in found if s not in chosen]
    if len(setups) == 1:
        return [rest[0]]
    for setup in setups[len(chosen):]:
        match = next((s for s in rest if s.mount == (setup.mount, setup.leg)), None)
        if match is None:
            if len(found) < len(setups):
                raise UserError(f"this run needs {len(setups)} sensors and {len(found)} is in range (`stridecue scan` lists them)")
            raise UserError(f"which sensor is the {_describe(setup)}? name both with --sensor, in the order "
                            f"{', '.join(_describe(s) for s in setups)} (`stridecue scan` lists them)")
        chosen.append(match)
        rest.remove(match)
    return chosen


async def run_command(args, base: Path) -> int:
    """`stridecue run`: connect (or simulate), record, coach, stop and save, and the closing lines."""
    from stridecue.paths import check_dir, runs_dir

    check_dir(runs_dir(base))  # a data directory that cannot hold the run, before anything connects
    profile = profile_from_args(args, base)  # settings errors before anything connects
    setups = sensor_setups(args)
    sim, clock = connect_or_simulate(args, setups)
    found = await choose_sensors(args, setups, sim.scanner_backend if sim else None)
    coaching = _prepare_coaching(args, profile, base, setups)
    start = dt.datetime.now(dt.timezone.utc)
    sensors_meta = sensors_metadata(setups, found)
    dashboard, on_stride = make_view(args, coaching, sensors_meta)
    wiring = Wiring(setups, found, coaching, dashboard, on_stride, cue_sinks(args, coaching, dashboard, sim, clock), sim, clock,
                    args.stream)
    wiring = attach_live_status(wiring, base)  # serve's live page: live/status_feed.py (hook; remove this line to unhook)
    metadata = run_metadata(args, start, profile, sensors_meta, coaching)
    _print_coaching(args, coaching, dashboard)
    with StopSignals(asyncio.Event()) as signals:  # Ctrl-C, SIGTERM: stop and save
        try:
            path, totals, track_path = await _record(args, base, start, metadata, wiring, signals)
        finally:
            coaching.close()
        signals.saved = True  # a late second Ctrl-C has nothing left to abort
        _print_end(path, totals, track_path)
    ask_pain(base, path.stem, start)  # on a terminal only (painload/prompt.py)
    return 1 if totals["silent_sensors"] else 0


def connect_or_simulate(args, setups: list[SensorSetup]) -> tuple[Simulation | None, Clock]:
    """(simulation, clock): with --simulate the virtual runner's air and its clock; else the
    platform's radio in real time."""
    if args.simulate:
        sim = simulation(args, setups)
        return sim, sim.air.clock
    if args.speed not in (None, 1.0):
        raise UserError("--speed only applies to --simulate (a real run happens in real time)")
    return None, WallClock()


def _prepare_coaching(args, profile: Profile, base: Path, setups: list[SensorSetup]) -> Coaching:
    """The coach and its outputs; cues are played only when the run goes in real time."""
    realtime = not args.simulate or args.speed == 1.0
    coaching = prepare_coaching(profile, base, guided=args.guided, play=realtime, track=not args.no_cue_track,
                                mounts={setup.mount for setup in setups},
                                guided_settings=guided_overrides(getattr(args, "guided_segment", None)))
    if not realtime:
        coaching.notes.append("simulated faster than real time: cues are printed and logged, not played")
    return coaching


def _print_coaching(args, coaching: Coaching, dashboard) -> None:
    if not args.quiet:
        print(describe_coaching(coaching))
    if not args.quiet and dashboard is None:
        for note in coaching.notes:
            print(f"note: {note}")
    elif args.quiet and any("no audio output" in n for n in coaching.notes):
        print(f"note: {next(n for n in coaching.notes if 'no audio output' in n)}")


async def _record(args, base: Path, start: dt.datetime, metadata: dict, w: Wiring,
                  signals: StopSignals) -> tuple[Path, dict, Path | None]:
    """Create the run file, connect the sensors, record until --duration, a stop signal or a link
    giving up, then stop and save: (the run file, the run's totals, the cue track)."""
    writer, pipeline = open_run(base, start, metadata, w)
    with writer:
        path = signals.path = writer.path
        on_event, on_items = feeders(pipeline, w.dashboard)
        links = sensor_links(w, lambda slot: on_items, lambda slot: on_event)
        await connect_links(links, w.found, on_event, args.quiet)
        if not args.quiet:
            print(f"recording to {path}")
        if w.dashboard is not None:
            w.dashboard.start()
        supervisors = [asyncio.ensure_future(link.supervise()) for link in links]
        progress = _progress(args, w)
        try:
            await until_done(supervisors, w.clock, args.duration, signals.stop)
        finally:
            if progress is not None:
                progress.cancel()
            # a sensor that was on before the run starts its samples late: the track starts with them
            totals, track_path = await stop_and_save(path, writer, links, supervisors, pipeline, w,
                                                     track_start_s=pipeline.stats.first_t or 0.0)
    return path, totals, track_path


def _progress(args, w: Wiring):
    """A quiet simulated run shows its progress on a terminal's stderr (it may take minutes)."""
    if w.sim is None or w.dashboard is not None or not args.duration:
        return None
    return asyncio.ensure_future(show_progress(w.clock, args.duration))


def _print_end(path: Path, totals: dict, track_path: Path | None) -> None:
    lost = totals["missing_samples"]
    total = totals["samples"] + lost
    print(f"run saved: {path}")
    print(f"samples: {lost}/{total} lost, {totals['recovered_samples']} recovered by resend, {totals['reconnects']} reconnects;"
          f" {totals['running_strides']} running strides, {totals['cues']} cues")
    if track_path is not None:
        print(f"cue track: {track_path}")
    if totals.get("data_problem"):
        hint = " (is the sensor on, charged and near? `stridecue doctor` checks)" if totals["silent_sensors"] else ""
        print(f"WARNING: {totals['data_problem']}{hint}", file=sys.stderr, flush=True)
