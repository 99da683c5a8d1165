"""The `replay` command: a recorded run's sample stream fed through the same RunPipeline as a
live run, coached by the recorded settings unless others are asked for.

Coaching (coach/setup.py: profile, coach or guided protocol, cue sounds, audio output, live
view) is prepared the same way as for `run`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from stridecue.clock import WallClock
from stridecue.coach.settings import Profile
from stridecue.coach.setup import _profile_of, apply_flags, make_view, prepare_coaching, profile_from_args
from stridecue.link.stream import Missing
from stridecue.live.pipeline import RunPipeline, SensorSetup
from stridecue.live.recording import ConsoleCues, make_source as _make_source
from stridecue.review.figures import coach_settings_from


def replay_profile(args, base: Path, meta: dict) -> tuple[Profile, bool]:
    """(profile, recorded): the run's own recorded settings, unless --settings or --profile is given;
    flags apply over either."""
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
    from stridecue.record.runreader import RunReader
    from stridecue.record.runref import run_file

    path = run_file(base, args.run)
    reader = RunReader(path)
    if reader.damage_line():
        print(f"warning: {path.name}: {reader.damage_line()}", file=sys.stderr)
    meta = reader.metadata
    if meta.get("activity") == "exercise":  # a session: its own pipeline (live/exercise_session.py)
        from stridecue.live.exercise_session import replay_exercise

        return await replay_exercise(reader, _recorded_items(reader), args, WallClock())
    setups = [SensorSetup(slot=s["slot"], mount=s.get("mount", "shin"), leg=s.get("leg", "left")) for s in meta.get("sensors", [])]
    if not setups:
        setups = [SensorSetup(0, "shin", "left")]
    profile, recorded = replay_profile(args, base, meta)
    recorded_settings = meta.get("settings") or {}
    guided = args.guided or (recorded and bool(recorded_settings.get("guided")))
    protocol = recorded_settings.get("guided_protocol") if recorded and isinstance(recorded_settings.get("guided_protocol"), dict) else None
    coaching = prepare_coaching(profile, base, guided=guided, play=args.speed is not None, track=False, fading_session=False,
                                guided_settings=protocol)
    dashboard, on_stride = make_view(args, coaching, [{"slot": s.slot, "name": f"sensor {s.slot}", "mount": s.mount, "leg": s.leg} for s in setups])
    sinks: list = [ConsoleCues(quiet=args.quiet), coaching.audio]
    if dashboard is not None:
        sinks.append(dashboard)
    pipeline = RunPipeline(setups, _make_source, coaching.coach, cue_sinks=sinks, on_stride=on_stride)
    if not args.quiet:
        print(f"replaying {path.name} with " + ("its recorded settings" if recorded else f"profile {profile.name!r}"))
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
    print(f"replayed {path}: {pipeline.stats.samples} samples, {pipeline.stats.missing} missing,"
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
