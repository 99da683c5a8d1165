"""--simulate: the virtual runner, its sensors and the air they share, set up for `scan` and `run`.

A simulated run differs from a live one in exactly two places: the bleak backend (the virtual
sensor instead of the platform's radio) and the clock (the simulated air's time).  This module
builds both, parses the virtual runner's options (--segments, --faults), lets the runner hear
the cues (VirtualRunnerEar) and keeps its own count of the run (simulation_truth).
"""

from __future__ import annotations

from dataclasses import dataclass

from stridecue.clock import Clock
from stridecue.coach.policy import Cue
from stridecue.errors import UserError
from stridecue.live.pipeline import SensorSetup


@dataclass
class Simulation:
    """What `run --simulate` connects to instead of real sensors."""

    runner: object  # sim.VirtualRunner
    streams: list  # one virtual sensor stream per setup, with its truth
    air: object  # sim.air.VirtualAir: its clock is the run's clock
    scanner_backend: type
    client_backend: type


class VirtualRunnerEar:
    """With --simulate, the virtual runner hears the cues (and may respond to them).

    clock: the simulation's clock, so the runner hears the cue at the moment it is played
    (its own time line); without one, at the cue's decision time on the sample clock.
    """

    def __init__(self, runner, clock: Clock | None = None):
        self.runner = runner
        self.clock = clock

    def speak(self, cue: Cue) -> None:
        from stridecue.sim.runner import CUE_KINDS

        if cue.kind not in CUE_KINDS:  # e.g. the guided protocol's neutral announcements ("guide")
            return
        t = self.clock.now() if self.clock is not None else cue.t
        self.runner.cue(t, kind=cue.kind)


def parse_segments(spec: str) -> tuple[tuple[str, float], ...]:
    """--segments stand:3,run:600,walk:60,stop:20,run (a last segment without seconds lasts until the end)."""
    import math

    out = []
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    for i, part in enumerate(parts):
        kind, _, secs = part.partition(":")
        if kind not in ("stand", "walk", "run", "stop"):
            raise UserError(f"--segments: {kind!r} is not stand, walk, run or stop")
        if not secs:
            if i != len(parts) - 1:
                raise UserError(f"--segments: {part!r} needs seconds (only the last segment may go on until the end)")
            out.append((kind, math.inf))
            continue
        try:
            seconds = float(secs)
        except ValueError:
            raise UserError(f"--segments: {secs!r} in {part!r} is not a number of seconds") from None
        out.append((kind, seconds))
    if not out:
        raise UserError("--segments: no segments given")
    return tuple(out)


def parse_taps(spec: str) -> tuple[float, ...]:
    """--taps 76,76.3: run times in seconds at which the virtual runner taps its sensor."""
    import math

    out = []
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        try:
            t = float(part)
        except ValueError:
            raise UserError(f"--taps: {part!r} is not a number of seconds") from None
        if not (math.isfinite(t) and t >= 0):
            raise UserError(f"--taps: {part!r} is not a time of the run (0 or more seconds)")
        out.append(t)
    return tuple(out)


# A simulated run at --speed max runs as fast as the CPU allows, so nothing but its length stops
# it; 3 hours of run time is about 75 MB of run file, 180 MB of cue track and 10 minutes of CPU.
MAX_SIMULATED_S = 3 * 3600.0
DEFAULT_SIMULATED_S = 600.0  # without --duration, guided protocol or a finite --segments
GUIDED_MARGIN_S = 15.0  # after the guided protocol's last segment: its "done" announcement


def _clock(seconds: float) -> str:
    """m:ss or h:mm:ss."""
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else f"{seconds // 60}:{seconds % 60:02d}"


def simulated_length(duration: float | None, segments_spec: str, guided_s: float | None) -> tuple[float, str | None]:
    """(seconds of run time a simulated run lasts, a note saying why when --duration did not say).

    Every simulated run ends: at --duration (at most MAX_SIMULATED_S), else when the guided
    protocol is done, else when a finite --segments schedule ends, else after DEFAULT_SIMULATED_S.
    """
    limit = f"a simulated run lasts at most {_clock(MAX_SIMULATED_S)} ({MAX_SIMULATED_S:g} s)"
    if duration is not None:
        if duration > MAX_SIMULATED_S:
            raise UserError(f"--duration {duration:g}: {limit}")
        return duration, None
    import math

    segments = parse_segments(segments_spec) if segments_spec else (("stand", 3.0), ("run", math.inf))
    runs = [i for i, (kind, _) in enumerate(segments) if kind == "run"]
    schedule_s = sum(seconds for _, seconds in segments)
    if guided_s is not None and runs:
        length = sum(seconds for _, seconds in segments[: runs[0]]) + guided_s + GUIDED_MARGIN_S
        if length > MAX_SIMULATED_S:
            raise UserError(f"the guided protocol takes {_clock(length)} here; {limit}")
        why = "when the guided protocol is done"
    elif math.isfinite(schedule_s):
        length, why = min(schedule_s, MAX_SIMULATED_S), "when --segments ends"
    else:
        length, why = DEFAULT_SIMULATED_S, "the default for a simulation"
    return length, f"simulated run: stops after {_clock(length)} of run time, {why} (--duration sets another length)"


async def show_progress(clock: Clock, duration_s: float, console=None) -> None:
    """A progress bar of a simulated run on stderr (a terminal only; it disappears at the end),
    for --quiet runs at --speed max that otherwise show nothing for minutes.  Cancel to stop."""
    import asyncio

    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    console = console or Console(stderr=True)
    if not console.is_terminal:
        return
    columns = (TextColumn("simulating"), BarColumn(), TextColumn("{task.fields[at]} of " + _clock(duration_s)), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("run", total=duration_s, at="0:00")
        while True:
            now = min(max(clock.now(), 0.0), duration_s)
            bar.update(task, completed=now, at=_clock(now))
            await asyncio.sleep(0.25)


def parse_faults(spec: str):
    from stridecue.sim.air import FaultPlan

    plan = FaultPlan()
    if not spec:
        return plan
    names = {
        "loss": ("loss", float),
        "corrupt": ("corrupt", float),
        "duplicate": ("duplicate", float),
        "reorder": ("reorder", float),
        "disconnect-every": ("disconnect_every_s", float),
        "disconnect-for": ("disconnect_for_s", float),
        "reboot-at": ("reboot_at_s", lambda v: tuple(float(x) for x in v.split("/"))),
        "seed": ("seed", int),
    }
    for part in spec.split(","):
        key, _, value = part.partition("=")
        key = key.strip()
        if key not in names:
            raise UserError(f"--faults: unknown fault {key!r} (known: {', '.join(names)})")
        attr, conv = names[key]
        try:
            setattr(plan, attr, conv(value))
        except ValueError:
            raise UserError(f"--faults: bad value {value!r} for {key}") from None
        _check_fault(key, getattr(plan, attr))
    return plan


def _check_fault(key: str, value) -> None:
    """UserError for a fault value outside what it means: a chance (0..1) or seconds (finite)."""
    import math

    if key in ("loss", "corrupt", "duplicate", "reorder"):
        # loss=1 is allowed: a sensor whose every notification is lost is a case the run must report
        if not (0.0 <= value <= 1.0):
            raise UserError(f"--faults: {key}={value:g} is not a chance per notification: give 0 to 1")
    elif key in ("disconnect-every", "disconnect-for"):
        if not (math.isfinite(value) and value > 0):
            raise UserError(f"--faults: {key}={value:g} must be a positive number of seconds")
    elif key == "reboot-at":
        if not all(math.isfinite(t) and t >= 0 for t in value):
            raise UserError(f"--faults: reboot-at={'/'.join(f'{t:g}' for t in value)} must be seconds of the run (0 or more)")


def simulation(args, setups: list[SensorSetup]) -> Simulation:
    """The virtual runner, its sensors and the air they live in (`run --simulate`)."""
    from stridecue.sim import RunnerSettings, VirtualRunner
    from stridecue.sim.air import VirtualAir, set_current_air
    from stridecue.sim.ble_backend import VirtualBleakClient, VirtualBleakScanner
    from stridecue.sim.radio import parse_radio

    if not 2.0 <= args.run_speed <= 6.0:
        raise UserError(f"--run-speed {args.run_speed} m/s is outside the virtual runner's 2-6 m/s")
    if not 0.0 <= args.cue_compliance <= 1.0:
        raise UserError(f"--cue-compliance {args.cue_compliance} is not a probability (0..1)")
    settings = RunnerSettings(
        speed_mps=args.run_speed,
        cadence_spm=args.cadence,
        wobble_deg=args.wobble,
        wobble_fatigue_deg_per_10min=args.fatigue,
        cue_compliance=args.cue_compliance,
        focus_response=args.focus_response,
        **({"segments": parse_segments(args.segments)} if args.segments else {}),
        taps_s=parse_taps(getattr(args, "taps", "")),
    )
    runner = VirtualRunner(settings, seed=args.seed)
    air = VirtualAir(speed=args.speed, faults=parse_faults(args.faults), seed=args.seed, radio=parse_radio(getattr(args, "radio", None)))
    streams = []
    for i, setup in enumerate(setups):
        stream = runner.sensor(leg=setup.leg, mount=setup.mount, rotation="random")
        name = f"StrideCue{setup.leg[0].upper()}{setup.mount[0].upper()}"  # 11 bytes: advertised in full
        sensor = air.add_sensor(name, f"5C:1D:00:00:00:{i + 1:02X}", stream)
        sensor.strap_on(setup.mount, setup.leg)  # as the runner set it up before the run
        streams.append(stream)
    set_current_air(air)
    return Simulation(runner, streams, air, VirtualBleakScanner, VirtualBleakClient)


def scan_air():
    """`scan --simulate`: two virtual sensors, one on each shin, in the air; its scanner backend."""
    from stridecue.sim import RunnerSettings, VirtualRunner
    from stridecue.sim.air import VirtualAir, set_current_air
    from stridecue.sim.ble_backend import VirtualBleakScanner

    air = VirtualAir()
    runner = VirtualRunner(RunnerSettings(), seed=1)
    air.add_sensor("StrideCueLS", "5C:1D:00:00:00:01", runner.sensor(leg="left", mount="shin"))
    air.add_sensor("StrideCueRS", "5C:1D:00:00:00:02", runner.sensor(leg="right", mount="shin"))
    set_current_air(air)
    return VirtualBleakScanner


def simulation_metadata(args) -> dict:
    """The virtual runner's options, kept in the run's metadata."""
    return {"seed": args.seed, "run_speed_mps": args.run_speed, "wobble_deg": args.wobble,
            "fatigue_deg_per_10min": args.fatigue, "cue_compliance": args.cue_compliance, "faults": args.faults,
            "focus_response": args.focus_response, "segments": args.segments or "stand:3,run",
            **({"radio": args.radio} if getattr(args, "radio", "none") != "none" else {}),
            **({"taps": args.taps} if getattr(args, "taps", "") else {})}


def simulation_truth(streams) -> dict:
    """The virtual runner's own count, as the summary counts: each stride once (with thigh + shin
    on one leg, the shin's)."""
    both = {leg for leg in ("left", "right") if {"shin", "thigh"} <= {st.mount for st in streams if st.leg == leg}}
    truth = [s for stream in streams for s in stream.truth
             if s.kind == "run" and not (stream.leg in both and stream.mount == "thigh")]
    return {"running_strides": len(truth), "wobble_deg_mean": float(sum(s.wobble_deg for s in truth) / max(len(truth), 1))}
