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
    return plan


def simulation(args, setups: list[SensorSetup]) -> Simulation:
    """The virtual runner, its sensors and the air they live in (`run --simulate`)."""
    from stridecue.sim import RunnerSettings, VirtualRunner
    from stridecue.sim.air import VirtualAir, set_current_air
    from stridecue.sim.ble_backend import VirtualBleakClient, VirtualBleakScanner

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
    )
    runner = VirtualRunner(settings, seed=args.seed)
    air = VirtualAir(speed=args.speed, faults=parse_faults(args.faults), seed=args.seed)
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
            "focus_response": args.focus_response, "segments": args.segments or "stand:3,run"}


def simulation_truth(streams) -> dict:
    """The virtual runner's own count, as the summary counts: each stride once (with thigh + shin
    on one leg, the shin's)."""
    both = {leg for leg in ("left", "right") if {"shin", "thigh"} <= {st.mount for st in streams if st.leg == leg}}
    truth = [s for stream in streams for s in stream.truth
             if s.kind == "run" and not (stream.leg in both and stream.mount == "thigh")]
    return {"running_strides": len(truth), "wobble_deg_mean": float(sum(s.wobble_deg for s in truth) / max(len(truth), 1))}
