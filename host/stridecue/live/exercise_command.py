"""Record an exercise session with live "knee out" cues: single-leg squat, step-down, single-leg
balance or single-leg bridge, at a level (docs/exercises.md).

The session is a run file like a run's (its metadata says "activity": "exercise"): `summary`,
`export` and `replay` take it by name.  The plan is spoken: leg swings on each leg first (they
give the sensor its flexion axis; without them knee motion is not measured), then a set on each
leg.  `--list` shows the exercises and their levels; without --level the level suggested by your
earlier sessions of the exercise is taken.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from pathlib import Path

from stridecue.errors import UserError


def configure(parser) -> None:
    from stridecue.live.options import add_sensor_options

    parser.add_argument("name", nargs="?", metavar="NAME", help="the exercise (see --list)")
    parser.add_argument("--list", action="store_true", help="list the exercises and their levels, and exit")
    parser.add_argument("--level", type=int, metavar="N", help="the level, 1-4 (default: the one your earlier sessions suggest)")
    parser.add_argument("--reps", type=int, metavar="N", help="reps a set (holds: seconds), instead of the level's")
    parser.add_argument("--profile", metavar="NAME", help="whose session (default: default)")
    parser.add_argument("--quiet", action="store_true", help="print the summary only")
    add_sensor_options(parser)
    for action in parser._actions:
        if action.dest == "simulate":
            action.help = "a virtual exerciser wearing virtual sensors instead of real hardware"
    g = parser.add_argument_group("virtual exerciser (with --simulate)")
    g.add_argument("--seed", type=int, default=1, help="random seed of the virtual exerciser (default 1)")
    g.add_argument("--faults", default="", metavar="SPEC", help="radio faults, as for `run --simulate`")


def main(args, base: Path) -> int:
    from stridecue.live.options import parse_speed

    if args.list:
        from stridecue.exercise.catalogue import describe_catalogue

        print(describe_catalogue())
        return 0
    if not args.name:
        raise UserError("which exercise? give its name (`stridecue exercise --list` lists them)")
    args.speed = parse_speed(args.speed)
    return asyncio.run(exercise_command(args, base))


def _level(args, base: Path, name: str) -> tuple[int, str | None]:
    """(the level, why) from --level or the earlier sessions."""
    if args.level is not None:
        return args.level, None
    from stridecue.painload.sessions import session_pains
    from stridecue.record.exercise_sessions import earlier_sessions, suggest
    from stridecue.record.store import open_store

    with open_store(base, quiet=True) as store:
        store.sync()
        sessions = earlier_sessions(store, args.profile or "default", name)
        if not sessions:
            return 1, None
        s = suggest(sessions, int(sessions[-1][0].get("level") or 1), session_pains(store, [run for run, _ in sessions]))
        return s.level, s.why


def _policy(base: Path, args, name: str, mount: str):
    from stridecue.coach.knee_out import KneeOutPolicy
    from stridecue.exercise.summary import SMALLEST_CHANGE
    from stridecue.record.exercise_sessions import baselines, earlier_sessions
    from stridecue.record.store import open_store

    with open_store(base, quiet=True) as store:
        sessions = earlier_sessions(store, args.profile or "default", name)
    return KneeOutPolicy(baselines=baselines(sessions, mount), margin_deg=SMALLEST_CHANGE["knee_motion_deg"][mount])


async def exercise_command(args, base: Path) -> int:
    from stridecue.live.exercise_session import (ExerciseCoaching, ExercisePipeline, ExerciseVoice, plan_from_args,
                                                 session_metadata, simulated_exercise)
    from stridecue.live.recording import ConsoleCues, Wiring, sensors_metadata
    from stridecue.live.session import choose_sensors, sensor_setups
    from stridecue.live.stopping import StopSignals
    from stridecue.paths import check_dir, runs_dir

    check_dir(runs_dir(base))
    plan = plan_from_args(args)
    level, why = _level(args, base, plan.ex.name)
    if args.level is None:
        args.level = level
        plan = plan_from_args(args)
        if why and not args.quiet:
            print(f"level {level}: {why}")
    setups = sensor_setups(args)
    sim, exerciser, clock = None, None, None
    if args.simulate:
        sim, exerciser = simulated_exercise(args, plan, setups)
        clock = sim.air.clock
    else:
        from stridecue.clock import WallClock

        if args.speed not in (None, 1.0):
            raise UserError("--speed only applies to --simulate (a real session happens in real time)")
        clock = WallClock()
    found = await choose_sensors(args, setups, sim.scanner_backend if sim else None)
    policy = _policy(base, args, plan.ex.name, args.mount)
    coaching = ExerciseCoaching(policy)
    start = dt.datetime.now(dt.timezone.utc)
    sensors_meta = sensors_metadata(setups, found)
    voice = ExerciseVoice(args.quiet, speak=not args.simulate or args.speed == 1.0)
    if voice.note and not args.quiet:
        print(f"note: {voice.note}")
    sinks = [ConsoleCues(quiet=args.quiet), voice]
    wiring = Wiring(setups, found, coaching, None, None, sinks, sim, clock)
    metadata = session_metadata(args, start, plan, sensors_meta, policy)
    from stridecue.record.runfile import open_new_run

    with StopSignals(asyncio.Event()) as signals:
        writer = open_new_run(base, start, found[0].name, metadata)
        pipeline = ExercisePipeline(setups, plan.ex, policy, writer=writer, cue_sinks=sinks)
        with writer:
            path = signals.path = writer.path
            try:
                totals = await _record(args, plan, pipeline, wiring, writer, exerciser, signals, voice)
            finally:
                voice.close()
        signals.saved = True
    return _print_end(base, path, totals, pipeline, args)


async def _record(args, plan, pipeline, w, writer, exerciser, signals, voice) -> dict:
    from stridecue.live.exercise_session import follow_plan
    from stridecue.live.recording import connect_links, feeders, sensor_links

    on_event, on_items = feeders(pipeline, None)
    links = sensor_links(w, lambda slot: on_items, lambda slot: on_event, encoding=args.stream)
    await connect_links(links, w.found, on_event, args.quiet)
    if not args.quiet:
        print(f"recording to {writer.path}")
    supervisors = [asyncio.ensure_future(link.supervise()) for link in links]
    await w.clock.sleep(1.0)  # the first samples: the sensors' clock for the plan's marks
    plan_task = asyncio.ensure_future(follow_plan(plan, pipeline, voice, w.clock, exerciser))
    stopper = asyncio.ensure_future(signals.stop.wait())
    try:
        done, _ = await asyncio.wait({plan_task, stopper, *supervisors}, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not stopper:
                task.result()  # a link's LinkError, a plan's error
    finally:
        plan_task.cancel()
        stopper.cancel()
        try:
            if pipeline._open is not None:  # stopped mid-set: the set so far
                pipeline.mark("exercise_set", "end", pipeline._open.leg, pipeline._open.index)
                pipeline.end_set()
        finally:
            totals = await _save(pipeline, links, supervisors, w, writer, exerciser)
    return totals


async def _save(pipeline, links, supervisors, w, writer, exerciser) -> dict:
    from stridecue.live.exercise_session import exercise_truth
    from stridecue.live.recording import stop_and_save

    extra = {"exercise": {"reps": sum(1 for r in pipeline.reps if r.kind == "rep"),
                          "holds": sum(1 for r in pipeline.reps if r.kind == "hold"), "problems": pipeline.problems}}
    if exerciser is not None:
        extra["simulation_truth"] = exercise_truth(exerciser, pipeline.reps)
    totals, _ = await stop_and_save(writer.path, writer, links, supervisors, pipeline, w, extra=extra)
    return totals


def _print_end(base: Path, path: Path, totals: dict, pipeline, args) -> int:
    from stridecue.review.exercise_summary import exercise_figures, format_exercise
    from stridecue.record.store import open_store

    print(f"session saved: {path}")
    lost = totals["missing_samples"]
    print(f"samples: {lost}/{totals['samples'] + lost} lost, {totals['reconnects']} reconnects; {totals['cues']} knee-out cues")
    for problem in pipeline.problems:
        print(f"warning: {problem}", file=sys.stderr)
    with open_store(base, quiet=True) as store:
        run = store.run(store.ingest(path))
        s = exercise_figures(store, run)
    print(format_exercise(s))
    if totals.get("data_problem"):
        print(f"WARNING: {totals['data_problem']}", file=sys.stderr, flush=True)
        return 1
    if not s["reps"]:
        print("warning: no reps or holds found in this session (is the sensor on the exercising leg?)", file=sys.stderr)
        return 1
    from stridecue.painload.prompt import ask_pain

    ask_pain(base, path.stem, _start(run), activity="session")  # on a terminal only (painload/prompt.py)
    return 0


def _start(run: dict) -> dt.datetime:
    from stridecue.painload.load import parse_time

    return parse_time(run.get("start_time")) or dt.datetime.now(dt.timezone.utc)
