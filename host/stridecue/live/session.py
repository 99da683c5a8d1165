"""The `scan`, `run` and `replay` commands: wiring sensors, pipeline, recorder and coach.

A simulated run differs from a live one in exactly two places: the bleak backend (the virtual
sensor instead of the platform's radio) and the clock (the simulated air's time).  Everything
from BleakClient on is the same code.  A replay feeds the recorded sample stream into the same
RunPipeline, coached by the recorded settings unless others are asked for.

Coaching (coaching.py: profile, coach or guided protocol, faded feedback, saved baseline, cue
sounds, audio output, cue track, live view) is prepared the same way for all three.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import platform
import sys
from pathlib import Path

from stridecue import __version__
from stridecue.clock import Clock, WallClock
from stridecue.coach.policy import Cue
from stridecue.coach.setup import (
    _profile_of,
    apply_flags,
    describe_coaching,
    guided_overrides,
    make_view,
    prepare_coaching,
    profile_from_args,
)
from stridecue.errors import UserError
from stridecue.link.client import SensorLink, scan
from stridecue.live.pipeline import RunPipeline, SensorSetup
from stridecue.coach.settings import Profile
from stridecue.link.stream import Missing


class ConsoleCues:
    """Prints each cue as it is spoken."""

    def __init__(self, quiet: bool = False):
        self.quiet = quiet

    def speak(self, cue: Cue) -> None:
        if not self.quiet:
            m, s = divmod(int(cue.t), 60)
            print(f"  {m:3d}:{s:02d}  cue: \"{cue.words}\"  ({cue.reason})", flush=True)


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


def _make_source(setup: SensorSetup, rate: float):
    from stridecue.analysis.streaming import StreamingStrideAnalyzer

    return StreamingStrideAnalyzer(mount=setup.mount, leg=setup.leg, rate_hz=rate, sensor=setup.slot)


# -- scan -----------------------------------------------------------------------------------------


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


def _simulation(args, setups: list[SensorSetup]):
    """The virtual runner, its sensors and the air they live in."""
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
    return runner, streams, air, VirtualBleakScanner, VirtualBleakClient


async def scan_command(args) -> int:
    scanner_backend = None
    if args.simulate:
        from stridecue.sim import RunnerSettings, VirtualRunner
        from stridecue.sim.air import VirtualAir, set_current_air
        from stridecue.sim.ble_backend import VirtualBleakScanner

        air = VirtualAir()
        runner = VirtualRunner(RunnerSettings(), seed=1)
        air.add_sensor("StrideCueLS", "5C:1D:00:00:00:01", runner.sensor(leg="left", mount="shin"))
        air.add_sensor("StrideCueRS", "5C:1D:00:00:00:02", runner.sensor(leg="right", mount="shin"))
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


async def _choose_sensors(args, setups: list[SensorSetup], backend) -> list:
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


def _new_run_path(base: Path, start: dt.datetime, name: str) -> Path:
    from stridecue.record.runfile import run_file_path

    return run_file_path(base, start, name)


async def run_command(args, base: Path) -> int:
    from stridecue.record.runfile import RunWriter

    profile = profile_from_args(args, base)  # settings errors before anything connects
    setups = sensor_setups(args)
    runner = None
    streams: list = []
    scanner_backend = client_backend = None
    clock: Clock = WallClock()
    if args.simulate:
        runner, streams, air, scanner_backend, client_backend = _simulation(args, setups)
        clock = air.clock
    elif args.speed not in (None, 1.0):
        raise UserError("--speed only applies to --simulate (a real run happens in real time)")

    found = await _choose_sensors(args, setups, scanner_backend)
    realtime = not args.simulate or args.speed == 1.0
    coaching = prepare_coaching(profile, base, guided=args.guided, play=realtime, track=not args.no_cue_track,
                                mounts={setup.mount for setup in setups},
                                guided_settings=guided_overrides(getattr(args, "guided_segment", None)))
    if not realtime:
        coaching.notes.append("simulated faster than real time: cues are printed and logged, not played")
    start = dt.datetime.now(dt.timezone.utc)
    path = _new_run_path(base, start, found[0].name)
    sensors_meta = [{"slot": setup.slot, "name": f.name, "address": f.address, "mount": setup.mount, "leg": setup.leg,
                     "firmware": f.firmware, "protocol_version": f.protocol_version} for setup, f in zip(setups, found)]
    dashboard, on_stride = make_view(args, coaching, sensors_meta)
    sinks: list = [ConsoleCues(quiet=args.quiet), coaching.audio]
    if coaching.track is not None:
        sinks.append(coaching.track)
    if dashboard is not None:
        sinks.append(dashboard)
    if runner is not None:
        sinks.append(VirtualRunnerEar(runner, clock))
    metadata = {
        "start_time": start.isoformat(),
        "simulated": bool(args.simulate),
        "profile": profile.name,
        "host": {"stridecue": __version__, "python": sys.version.split()[0], "platform": platform.platform()},
        "sensors": sensors_meta,
        "settings": coaching.metadata(),
    }
    if args.simulate:
        metadata["simulation"] = {"seed": args.seed, "run_speed_mps": args.run_speed, "wobble_deg": args.wobble,
                                  "fatigue_deg_per_10min": args.fatigue, "cue_compliance": args.cue_compliance, "faults": args.faults,
                                  "focus_response": args.focus_response, "segments": args.segments or "stand:3,run"}
    if not args.quiet:
        print(describe_coaching(coaching))
    if not args.quiet and dashboard is None:
        for note in coaching.notes:
            print(f"note: {note}")
    elif args.quiet and any("no audio output" in n for n in coaching.notes):
        print(f"note: {next(n for n in coaching.notes if 'no audio output' in n)}")

    links: list[SensorLink] = []
    track_path = None
    try:
        with RunWriter(path, metadata) as writer:
            pipeline = RunPipeline(setups, _make_source, coaching.coach, writer=writer, cue_sinks=sinks, on_stride=on_stride)
            for note in coaching.notes:
                writer.write_event({"kind": "note", "t": 0.0, "text": note})

            def on_event(event: dict) -> None:
                pipeline.event(event)
                if dashboard is not None:
                    dashboard.on_event(event)

            def on_items(items) -> None:
                pipeline.feed(items)
                if dashboard is not None:
                    for item in items:
                        if isinstance(item, Missing):
                            dashboard.on_missing(item.count)

            for setup, f in zip(setups, found):
                links.append(SensorLink(f.device or f.address, slot=setup.slot, mount=setup.mount, leg=setup.leg,
                                        backend=client_backend, clock=clock, on_items=on_items, on_event=on_event))
            for link, f in zip(links, found):
                status = await link.open()
                on_event({"kind": "connected", "sensor": link.slot, "t": 0.0, "imu": status.imu_model, "firmware": status.firmware,
                          "rate": status.rate, "accel_g": status.accel_g, "gyro_dps": status.gyro_dps,
                          "battery_pct": status.battery_pct, "ring_s": round(status.ring_s, 1)})
                if not args.quiet:
                    print(f"{f.name}: {status.imu_model}, {status.rate} Hz, ±{status.accel_g} g, ±{status.gyro_dps} dps,"
                          f" firmware {status.firmware}, battery {status.battery_pct}%, ring {status.ring_s:.1f} s")
            if not args.quiet:
                print(f"recording to {path}")
            if dashboard is not None:
                dashboard.start()
            supervisors = [asyncio.ensure_future(link.supervise()) for link in links]
            try:
                waiter = asyncio.ensure_future(clock.sleep(args.duration) if args.duration else asyncio.Event().wait())
                done, _ = await asyncio.wait({*supervisors, waiter}, return_when=asyncio.FIRST_COMPLETED)
                for sup in supervisors:
                    if sup in done:
                        sup.result()  # raises the LinkError
                waiter.cancel()
            finally:
                for sup in supervisors:
                    sup.cancel()
                for link in links:
                    await link.close()
                pipeline.finish()
                if dashboard is not None:
                    dashboard.stop()
                for cue in getattr(coaching.coach, "silenced_", []):
                    writer.write_event({"kind": "cue_silenced", "t": cue.t, "cue": cue.kind, "words": cue.words,
                                        "reason": cue.reason, "values": cue.values})
                totals = _totals(links, pipeline)
                totals["coach"] = coaching.totals()
                if streams:
                    totals["simulation_truth"] = _sim_truth(streams)
                if coaching.track is not None:
                    track_path = coaching.track.write(path, duration_s=_duration(links))
                    totals["cue_track"] = track_path.name if track_path else None
                writer.close(summary=totals)
    finally:
        coaching.close()
    _print_end(path, totals, track_path)
    return 0


def _duration(links: list[SensorLink]) -> float | None:
    """Seconds of the run on the sensors' sample clock (the cue track's length)."""
    ends = [link.stream.next_index / link.status.rate for link in links
            if link.stream.next_index is not None and link.status is not None and link.status.rate]
    return max(ends) if ends else None


def _totals(links: list[SensorLink], pipeline: RunPipeline) -> dict:
    def total(get):
        return sum(get(link) for link in links)

    first = links[0]
    return {
        "samples": pipeline.stats.samples,
        "missing_samples": pipeline.stats.missing,
        "recovered_samples": total(lambda link: link.stream.counters.recovered),
        "duplicate_samples": total(lambda link: link.stream.counters.duplicates),
        "resend_requests": total(lambda link: link.stream.counters.resend_requests),
        "corrupt_notifications": total(lambda link: link.stream.counters.corrupt),
        "sensor_restarts": total(lambda link: link.stream.counters.restarts),
        "reconnects": total(lambda link: link.counters.connects - 1),
        "strides": pipeline.stats.strides,
        "running_strides": pipeline.stats.running_strides,
        "cues": pipeline.stats.cues,
        "sensor_dropped": first.status.dropped if first.status else None,
        "sensor_clipped": first.status.clipped if first.status else None,
        "decision_ms_max": round(max(pipeline.stats.decision_ms), 3) if pipeline.stats.decision_ms else None,
    }


def _sim_truth(streams) -> dict:
    """The virtual runner's own count, as the summary counts: each stride once (with thigh + shin
    on one leg, the shin's)."""
    both = {leg for leg in ("left", "right") if {"shin", "thigh"} <= {st.mount for st in streams if st.leg == leg}}
    truth = [s for stream in streams for s in stream.truth
             if s.kind == "run" and not (stream.leg in both and stream.mount == "thigh")]
    return {"running_strides": len(truth), "wobble_deg_mean": float(sum(s.wobble_deg for s in truth) / max(len(truth), 1))}


def _print_end(path: Path, totals: dict, track_path: Path | None) -> None:
    lost = totals["missing_samples"]
    total = totals["samples"] + lost
    print(f"run saved: {path}")
    print(f"samples: {lost}/{total} lost, {totals['recovered_samples']} recovered by resend, {totals['reconnects']} reconnects;"
          f" {totals['running_strides']} running strides, {totals['cues']} cues")
    if track_path is not None:
        print(f"cue track: {track_path}")


# -- replay ---------------------------------------------------------------------------------------


def replay_profile(args, base: Path, meta: dict) -> tuple[Profile, bool]:
    """(profile, recorded): the run's own recorded settings, unless --settings or --profile is given;
    flags apply over either."""
    from stridecue.review.figures import coach_settings_from

    if getattr(args, "settings", None) or getattr(args, "profile", None):
        return profile_from_args(args, base), False
    profile = Profile(name=_profile_of(meta))
    recorded = (meta.get("settings") or {}).get("profile")
    if isinstance(recorded, dict):
        for key in ("volume", "sound", "voice", "audio"):
            if key in recorded:
                setattr(profile, key, recorded[key])
    profile.coach = coach_settings_from(meta)  # as the run used them: saved baseline and faded share included
    profile.baseline, profile.fading = "run", False
    return apply_flags(profile, args), True


async def replay_command(args, base: Path) -> int:
    from stridecue.record.runfile import RunReader

    reader = RunReader(args.file)
    meta = reader.metadata
    setups = [SensorSetup(slot=s["slot"], mount=s.get("mount", "shin"), leg=s.get("leg", "left")) for s in meta.get("sensors", [])]
    if not setups:
        setups = [SensorSetup(0, "shin", "left")]
    profile, recorded = replay_profile(args, base, meta)
    recorded_settings = meta.get("settings") or {}
    guided = args.guided or (recorded and bool(recorded_settings.get("guided")))
    protocol = recorded_settings.get("guided_protocol") if recorded and isinstance(recorded_settings.get("guided_protocol"), dict) else None
    coaching = prepare_coaching(profile, base, guided=guided, play=args.speed is not None, track=False, fading_session=False,
                                guided_settings=protocol)
    dashboard, on_stride = make_view(args, coaching, [{"slot": s.slot, "name": f"sensor {s.slot}"} for s in setups])
    sinks: list = [ConsoleCues(quiet=args.quiet), coaching.audio]
    if dashboard is not None:
        sinks.append(dashboard)
    pipeline = RunPipeline(setups, _make_source, coaching.coach, cue_sinks=sinks, on_stride=on_stride)
    if not args.quiet:
        print(f"replaying {Path(args.file).name} with " + ("its recorded settings" if recorded else f"profile {profile.name!r}"))
        if dashboard is None:
            for note in coaching.notes:
                print(f"note: {note}")
    clock = WallClock()
    started = clock.now()
    try:
        if dashboard is not None:
            for slot in dashboard.connection:
                dashboard.connection[slot] = "replay"
            dashboard.start()
        for item in _recorded_items(reader):
            if args.speed and not isinstance(item, Missing):
                ahead = float(item.index[0] / item.rate) / args.speed - (clock.now() - started)
                if ahead > 0:
                    await clock.sleep(ahead)
            pipeline.feed([item])
        pipeline.finish()
    finally:
        if dashboard is not None:
            dashboard.stop()
        coaching.close()
    recorded_cues = sum(1 for e in reader.events() if e.get("kind") == "cue")
    print(f"replayed {args.file}: {pipeline.stats.samples} samples, {pipeline.stats.missing} missing,"
          f" {pipeline.stats.running_strides} running strides, {pipeline.stats.cues} cues (the run had {recorded_cues})")
    return 0


def _recorded_items(reader):
    """The run's sample blocks with its missing ranges in sample order, per sensor, as the live stream gave them."""
    pending: dict[int, list[tuple[int, int]]] = {}
    for sensor, first, count in sorted(reader.missing()):
        pending.setdefault(sensor, []).append((first, count))
    for block in reader.blocks():
        gaps = pending.get(block.sensor, [])
        while gaps and len(block) and gaps[0][0] < int(block.index[0]):
            first, count = gaps.pop(0)
            yield Missing(block.sensor, first, count)
        yield block
    for sensor, gaps in pending.items():
        for first, count in gaps:
            yield Missing(sensor, first, count)
