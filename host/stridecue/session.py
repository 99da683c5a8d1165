"""The `scan`, `run` and `replay` commands: wiring sensors, pipeline, recorder and coach.

A simulated run differs from a live one in exactly two places: the bleak backend (the virtual
sensor instead of the platform's radio) and the clock (the simulated air's time).  Everything
from BleakClient on is the same code.  A replay feeds the recorded sample stream into the same
RunPipeline.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import platform
import sys
from dataclasses import asdict
from pathlib import Path

from . import __version__
from .clock import Clock, WallClock
from .coach import Coach, CoachSettings, Cue
from .errors import UserError
from .link import LinkError, SensorLink, scan
from .paths import runs_dir
from .pipeline import RunPipeline, SensorSetup


class ConsoleCues:
    """Prints each cue as it is spoken (audio output comes with the coach's audio module)."""

    def __init__(self, quiet: bool = False):
        self.quiet = quiet

    def speak(self, cue: Cue) -> None:
        if not self.quiet:
            m, s = divmod(int(cue.t), 60)
            print(f"  {m:3d}:{s:02d}  cue: \"{cue.words}\"  ({cue.reason})", flush=True)


class VirtualRunnerEar:
    """With --simulate, the virtual runner hears the cues (and may respond to them)."""

    def __init__(self, runner):
        self.runner = runner

    def speak(self, cue: Cue) -> None:
        self.runner.cue(cue.t)


class ProgressLine:
    """A line per minute of run time while running (the full live view is `stridecue run` without --quiet)."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self._next_minute = 1
        self.count = 0

    def __call__(self, stride: dict) -> None:
        if stride.get("kind") != "run":
            return
        self.count += 1
        if self.quiet or stride["known_t"] < self._next_minute * 60:
            return
        self._next_minute = int(stride["known_t"] // 60) + 1
        print(
            f"  {int(stride['known_t'] // 60):3d}:00  strides {self.count:5d}  wobble {stride['wobble_deg']:5.1f} deg"
            f"  landing {stride.get('pta_axial_g', float('nan')):5.1f} g  cadence {stride.get('cadence_spm', float('nan')):5.0f}",
            flush=True,
        )


def _make_source(setup: SensorSetup, rate: float):
    from .analysis.streaming import StreamingStrideAnalyzer

    return StreamingStrideAnalyzer(mount=setup.mount, leg=setup.leg, rate_hz=rate)


def parse_faults(spec: str):
    from .sim.air import FaultPlan

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


def _simulation(args):
    """The virtual runner, its sensor and the air they live in."""
    from .sim import RunnerSettings, VirtualRunner
    from .sim.air import VirtualAir, set_current_air
    from .sim.ble_backend import VirtualBleakClient, VirtualBleakScanner

    if not 1.5 <= args.run_speed <= 7.0:
        raise UserError(f"--run-speed {args.run_speed} m/s is outside the virtual runner's 2-6 m/s")
    settings = RunnerSettings(
        speed_mps=args.run_speed,
        cadence_spm=args.cadence,
        wobble_deg=args.wobble,
        wobble_fatigue_deg_per_10min=args.fatigue,
        cue_compliance=args.cue_compliance,
    )
    runner = VirtualRunner(settings, seed=args.seed)
    air = VirtualAir(speed=args.speed, faults=parse_faults(args.faults), seed=args.seed)
    stream = runner.sensor(leg=args.leg, mount=args.mount, rotation="random")
    name = f"StrideCue-{args.leg[0].upper()}{args.mount[0].upper()}"
    air.add_sensor(name, "5C:1D:00:00:00:01", stream)
    set_current_air(air)
    return runner, stream, air, VirtualBleakScanner, VirtualBleakClient


async def scan_command(args) -> int:
    scanner_backend = None
    if args.simulate:
        from .sim import RunnerSettings, VirtualRunner
        from .sim.air import VirtualAir, set_current_air
        from .sim.ble_backend import VirtualBleakScanner

        air = VirtualAir()
        runner = VirtualRunner(RunnerSettings(), seed=1)
        air.add_sensor("StrideCue-LS", "5C:1D:00:00:00:01", runner.sensor(leg="left", mount="shin"))
        air.add_sensor("StrideCue-RS", "5C:1D:00:00:00:02", runner.sensor(leg="right", mount="shin"))
        set_current_air(air)
        scanner_backend = VirtualBleakScanner
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


async def _choose_sensor(args, backend) -> object:
    try:
        found = await scan(0.5 if args.simulate else 5.0, backend=backend)
    except Exception as e:
        raise UserError(f"cannot scan: {_bluetooth_problem(e)}") from None
    if args.sensor:
        for s in found:
            if args.sensor in (s.name, s.address):
                return s
        raise UserError(f"sensor {args.sensor!r} not found (`stridecue scan` lists the sensors in range)")
    if not found:
        raise UserError("no StrideCue sensor found (is it on and near? `stridecue scan` lists sensors in range)")
    return found[0]


def _new_run_path(base: Path, start: dt.datetime, name: str) -> Path:
    from .runfile import run_file_path

    return run_file_path(base, start, name)


async def run_command(args, base: Path) -> int:
    from .runfile import RunWriter

    runner = stream = None
    scanner_backend = client_backend = None
    clock: Clock = WallClock()
    if args.simulate:
        runner, stream, air, scanner_backend, client_backend = _simulation(args)
        clock = air.clock
    elif args.speed not in (None, 1.0):
        raise UserError("--speed only applies to --simulate (a real run happens in real time)")

    found = await _choose_sensor(args, scanner_backend)
    start = dt.datetime.now(dt.timezone.utc)
    path = _new_run_path(base, start, found.name)
    setup = SensorSetup(slot=0, mount=args.mount, leg=args.leg)
    coach = Coach(CoachSettings())
    sinks = [ConsoleCues(quiet=args.quiet)]
    if runner is not None:
        sinks.append(VirtualRunnerEar(runner))
    progress = ProgressLine(args.quiet)
    metadata = {
        "start_time": start.isoformat(),
        "simulated": bool(args.simulate),
        "host": {"stridecue": __version__, "python": sys.version.split()[0], "platform": platform.platform()},
        "sensors": [{"slot": 0, "name": found.name, "address": found.address, "mount": args.mount, "leg": args.leg,
                     "firmware": found.firmware, "protocol_version": found.protocol_version}],
        "settings": {"coach": asdict(coach.settings)},
    }
    if args.simulate:
        metadata["simulation"] = {"seed": args.seed, "run_speed_mps": args.run_speed, "wobble_deg": args.wobble,
                                  "fatigue_deg_per_10min": args.fatigue, "cue_compliance": args.cue_compliance, "faults": args.faults}

    link = None
    with RunWriter(path, metadata) as writer:
        pipeline = RunPipeline([setup], _make_source, coach, writer=writer, cue_sinks=sinks, on_stride=progress)
        link = SensorLink(found.device or found.address, slot=0, mount=args.mount, leg=args.leg, backend=client_backend,
                          clock=clock, on_items=pipeline.feed, on_event=pipeline.event)
        status = await link.open()
        writer.write_event({"kind": "connected", "sensor": 0, "t": 0.0, "imu": status.imu_model, "firmware": status.firmware,
                            "rate": status.rate, "accel_g": status.accel_g, "gyro_dps": status.gyro_dps})
        if not args.quiet:
            print(f"recording to {path}")
            print(f"{found.name}: {status.imu_model}, {status.rate} Hz, ±{status.accel_g} g, ±{status.gyro_dps} dps, firmware {status.firmware}, battery {status.battery_pct}%")
        supervisor = asyncio.ensure_future(link.supervise())
        try:
            waiter = asyncio.ensure_future(clock.sleep(args.duration) if args.duration else asyncio.Event().wait())
            done, _ = await asyncio.wait({supervisor, waiter}, return_when=asyncio.FIRST_COMPLETED)
            if supervisor in done:
                supervisor.result()  # raises the LinkError
            waiter.cancel()
        finally:
            supervisor.cancel()
            await link.close()
            pipeline.finish()
            totals = _totals(link, pipeline)
            if stream is not None:
                totals["simulation_truth"] = _sim_truth(stream)
            writer.close(summary=totals)
    _print_end(path, totals, args.quiet)
    return 0


def _totals(link: SensorLink, pipeline: RunPipeline) -> dict:
    c = link.stream.counters
    return {
        "samples": pipeline.stats.samples,
        "missing_samples": pipeline.stats.missing,
        "recovered_samples": c.recovered,
        "duplicate_samples": c.duplicates,
        "resend_requests": c.resend_requests,
        "corrupt_notifications": c.corrupt,
        "sensor_restarts": c.restarts,
        "reconnects": link.counters.connects - 1,
        "strides": pipeline.stats.strides,
        "running_strides": pipeline.stats.running_strides,
        "cues": pipeline.stats.cues,
        "sensor_dropped": link.status.dropped if link.status else None,
        "sensor_clipped": link.status.clipped if link.status else None,
    }


def _sim_truth(stream) -> dict:
    truth = [s for s in stream.truth if s.kind == "run"]
    return {"running_strides": len(truth), "wobble_deg_mean": float(sum(s.wobble_deg for s in truth) / max(len(truth), 1))}


def _print_end(path: Path, totals: dict, quiet: bool) -> None:
    lost = totals["missing_samples"]
    total = totals["samples"] + lost
    print(f"run saved: {path}")
    print(f"samples: {lost}/{total} lost, {totals['recovered_samples']} recovered by resend, {totals['reconnects']} reconnects;"
          f" {totals['running_strides']} running strides, {totals['cues']} cues")


async def replay_command(args, base: Path) -> int:
    from .runfile import RunReader

    reader = RunReader(args.file)
    meta = reader.metadata
    setups = [SensorSetup(slot=s["slot"], mount=s.get("mount", "shin"), leg=s.get("leg", "left")) for s in meta.get("sensors", [])]
    if not setups:
        setups = [SensorSetup(0, "shin", "left")]
    coach = Coach(CoachSettings())
    pipeline = RunPipeline(setups, _make_source, coach, cue_sinks=[ConsoleCues(quiet=args.quiet)], on_stride=ProgressLine(args.quiet))
    clock = WallClock()
    started = clock.now()
    for block in reader.blocks():
        if args.speed:
            ahead = float(block.index[0] / block.rate) / args.speed - (clock.now() - started)
            if ahead > 0:
                await clock.sleep(ahead)
        pipeline.feed([block])
    for sensor, first, count in reader.missing():
        pass  # gaps are visible to the analysis as jumps in the sample counter
    pipeline.finish()
    print(f"replayed {args.file}: {pipeline.stats.samples} samples, {pipeline.stats.running_strides} running strides, {pipeline.stats.cues} cues")
    return 0
