"""`stridecue exercise NAME`: a session of one exercise, recorded exactly as a run is.

The same sensors, links, run file and closing totals as `run` (recording.py): only the pipeline
differs.  ExercisePipeline is a RunPipeline whose per-sensor source keeps the samples instead of
finding strides, and whose sets are analysed by stridecue.exercise as they go (the knee-out cue
after a rep) and when they end.  The session follows a spoken plan: the set-up, leg swings on each
leg (they give each sensor its flexion axis), then a set on each leg in the leg order; every step
is an event in the run file ("exercise_calibrate", "exercise_set"), at the sensors' sample clock,
so `summary`, ingest and `replay` find the same sets.  With --simulate the virtual exerciser
(sim/exerciser.py) hears the same words and does the sets.
"""

from __future__ import annotations

import datetime as dt
import platform
import sys
from dataclasses import dataclass, field, replace

from stridecue import __version__
from stridecue.clock import Clock
from stridecue.coach.knee_out import KneeOutPolicy
from stridecue.errors import UserError
from stridecue.exercise.analysis import ExerciseAnalysis, SensorData, SetWindow
from stridecue.exercise.catalogue import Exercise, check_mount, exercise
from stridecue.link.samples import SampleBlock
from stridecue.live.pipeline import RunPipeline, SensorSetup

CALIBRATE_S = 6.0  # s given to the leg swings
REST_S = 4.0  # s between sets
LIVE_EVERY_S = 1.0  # the set so far is analysed this often for the cue


class Collector:
    """A sensor's samples kept for the exercise analysis (the StrideSource a RunPipeline wants)."""

    def __init__(self, setup: SensorSetup, rate: float):
        self.setup = setup
        self.blocks: list[SampleBlock] = []

    def push(self, block: SampleBlock) -> list:
        self.blocks.append(block)
        return []

    def gap(self, first: int, count: int) -> None:
        pass

    def finish(self) -> list:
        return []

    def data(self) -> SensorData | None:
        if not self.blocks:
            return None
        b = SampleBlock.concat(self.blocks)
        self.blocks = [b]
        return SensorData(self.setup.slot, self.setup.leg, self.setup.mount, b.t, b.acc, b.gyr)


class ExerciseVoice:
    """Says the session's words and cues: printed, and spoken (espeak-ng, coach/audio.py's
    players) when the session runs in real time; print only when no audio output works."""

    def __init__(self, quiet: bool, speak: bool = False):
        self.quiet = quiet
        self.player = None
        self.note: str | None = None
        if speak:
            from stridecue.coach.audio import open_player

            self.player, self.note = open_player("auto")

    def say(self, t: float, words: str) -> None:
        if not self.quiet:
            m, s = divmod(int(max(t, 0.0)), 60)
            print(f"  {m:3d}:{s:02d}  \"{words}\"", flush=True)
        self._play(words)

    def speak(self, cue) -> None:  # a cue sink: the run's ConsoleCues prints it
        self._play(cue.words)

    def _play(self, words: str) -> None:
        if self.player is None or self.player.name == "none":
            return
        from stridecue.coach.audio import speak_to_array
        from stridecue.errors import UserError

        try:
            self.player.play(speak_to_array(words))
        except UserError as e:  # no espeak-ng: the words stay printed
            self.note, self.player = str(e), None

    def close(self) -> None:
        if self.player is not None:
            self.player.close()


class ExercisePipeline(RunPipeline):
    """The run pipeline of an exercise session: samples recorded, sets analysed, knee-out cues."""

    def __init__(self, setups: list[SensorSetup], ex: Exercise, policy: KneeOutPolicy, writer=None, cue_sinks=None):
        super().__init__(setups, Collector, coach=None, writer=writer, cue_sinks=cue_sinks)
        self.analysis = ExerciseAnalysis(ex.name)
        self.policy = policy
        self.swings: list[SetWindow] = []
        self.reps: list = []
        self.problems: list[str] = []
        self.latest_t = 0.0
        self._open: SetWindow | None = None
        self._seen: set = set()

    def feed(self, items) -> None:
        super().feed(items)
        for item in items:
            if isinstance(item, SampleBlock) and len(item):
                self.latest_t = max(self.latest_t, float(item.index[-1] + 1) / item.rate)

    def sensor_data(self) -> list[SensorData]:
        return [d for d in (c.data() for c in self._sources.values()) if d is not None]

    def mark(self, kind: str, phase: str, leg: str, index: int, t: float | None = None) -> float:
        """Write a calibrate/set event at the sensors' clock now (or at t: a replay's recorded
        event); the time written."""
        t = self.latest_t if t is None else t
        self.event({"kind": kind, "phase": phase, "leg": leg, "set": index, "t": round(t, 4)})
        if kind == "exercise_calibrate" and phase == "go":
            self._swing_go = t
        elif kind == "exercise_calibrate":
            self.swings.append(SetWindow(leg, index, self._swing_go, t))
        elif phase == "go":
            self._open = SetWindow(leg, index, t, t)
        return t

    def live_check(self) -> None:
        """Analyse the set so far: a finished rep not cued yet may earn its cue."""
        if self._open is None or self.latest_t < self._open.go_t + 2.0:
            return
        for rep in self._analyse(replace(self._open, end_t=self.latest_t)):
            if rep.kind == "rep" and rep.end_t < self.latest_t - 0.4:
                self._judge(rep)

    def end_set(self, t: float | None = None) -> list:
        """The open set's reps (every rep judged once; the stored reps are the offline analysis's)."""
        w = replace(self._open, end_t=self.latest_t if t is None else t)
        self._open = None
        reps = self._analyse(w)
        for rep in reps:
            if rep.kind == "rep":
                self._judge(rep)
        self.reps.extend(reps)
        return reps

    def _analyse(self, w: SetWindow) -> list:
        self.analysis.reps_, self.analysis.problems_ = [], []
        data = self.sensor_data()
        self.analysis.axes_ = self.analysis.flexion_axes(self.swings, data)
        out = self.analysis.analyse_set(w, data)
        self.problems.extend(p for p in self.analysis.problems_ if p not in self.problems)
        return out

    def _judge(self, rep) -> None:
        key = (rep.leg, round(rep.bottom_t, 1))
        if key in self._seen:
            return
        self._seen.add(key)
        cue = self.policy.on_rep(rep)
        if cue is None:
            return
        self.stats.cues += 1
        self.event({"kind": "cue", "t": cue.t, "cue": cue.kind, "words": cue.words, "reason": cue.reason, "values": cue.values})
        for sink in self.cue_sinks:
            sink.speak(cue)


@dataclass
class ExerciseCoaching:
    """What recording.stop_and_save asks of a run's coaching, for an exercise session."""

    coach: KneeOutPolicy
    notes: list = field(default_factory=list)
    audio: object = None
    track: object = None

    def totals(self) -> dict:
        return {"cues": len(self.coach.cues_), "baselines": self.coach.baselines}

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class Plan:
    ex: Exercise
    level: int
    legs: tuple[str, ...]
    reps: int  # per set (reps), or seconds (holds)

    def set_s(self, exerciser=None) -> float:
        if exerciser is not None:
            return exerciser.set_length_s()
        lv = self.ex.level(self.level)
        if self.ex.kind == "hold":
            return float(self.reps) + 1.0
        return 3.0 + self.reps * (lv.down_s + lv.up_s + 1.5)

    def length_s(self, exerciser=None) -> float:
        return 4.0 + len(self.legs) * (CALIBRATE_S + self.set_s(exerciser) + REST_S) + 2.0


def plan_from_args(args) -> Plan:
    ex = exercise(args.name)
    check_mount(ex, args.mount)
    if args.level is not None and not 1 <= args.level <= len(ex.levels):
        raise UserError(f"{ex.name} has levels 1-{len(ex.levels)}, not {args.level}")
    legs = ("left", "right") if args.leg == "both" else (args.leg,)
    if args.reps is not None and not 1 <= args.reps <= 50:
        raise UserError(f"--reps {args.reps}: give 1 to 50 ({'seconds held' if ex.kind == 'hold' else 'reps a set'})")
    level = args.level or 1
    return Plan(ex, level, legs, args.reps if args.reps is not None else ex.level(level).reps)


async def follow_plan(plan: Plan, pipeline: ExercisePipeline, voice: ExerciseVoice, clock: Clock, exerciser=None) -> None:
    """Speak the set-up, the leg swings and the sets, marking each in the run file."""
    lv = plan.ex.level(plan.level)
    voice.say(pipeline.latest_t, f"{plan.ex.title}, level {plan.level}: {lv.what}.")
    await clock.sleep(4.0)
    for leg in plan.legs:
        voice.say(pipeline.latest_t, "Lying, lift the straight {leg} leg and lower it, three times." if plan.ex.lying
                  else f"Stand on the other leg; swing the {leg} leg forward and back, three times.")
        t = pipeline.mark("exercise_calibrate", "go", leg, 0)
        if exerciser is not None:
            exerciser.calibrate(t, leg)
        await clock.sleep(CALIBRATE_S)
        pipeline.mark("exercise_calibrate", "end", leg, 0)
    for i, leg in enumerate(plan.legs):
        voice.say(pipeline.latest_t, plan.ex.setup.format(leg=leg))
        unit = "seconds" if plan.ex.kind == "hold" else "reps"
        voice.say(pipeline.latest_t, f"{leg.capitalize()} leg: {plan.reps} {unit}. Go.")
        t = pipeline.mark("exercise_set", "go", leg, 0)
        if exerciser is not None:
            exerciser.go(t, leg)
        end = clock.now() + plan.set_s(exerciser)
        while clock.now() < end:
            await clock.sleep(min(LIVE_EVERY_S, end - clock.now()))
            pipeline.live_check()
        pipeline.mark("exercise_set", "end", leg, 0)
        reps = pipeline.end_set()
        voice.say(pipeline.latest_t, f"Stop. {leg.capitalize()} leg done: " +
                  (f"{len(reps)} reps." if plan.ex.kind == "rep" else "hold over."))
        if i + 1 < len(plan.legs):
            await clock.sleep(REST_S)


def session_metadata(args, start: dt.datetime, plan: Plan, sensors_meta: list[dict], policy: KneeOutPolicy) -> dict:
    meta = {
        "start_time": start.isoformat(), "simulated": bool(args.simulate), "profile": args.profile or "default",
        "activity": "exercise", "exercise": plan.ex.name, "level": plan.level, "legs": list(plan.legs), "reps": plan.reps,
        "host": {"stridecue": __version__, "python": sys.version.split()[0], "platform": platform.platform()},
        "sensors": sensors_meta,
        "settings": {"exercise": {"knee_out_baselines": policy.baselines, "margin_deg": policy.margin_deg,
                                  "absolute_deg": policy.absolute_deg}},
    }
    if args.simulate:
        meta["simulation"] = {"seed": args.seed, "faults": args.faults, "exerciser": True}
    return meta


def simulated_exercise(args, plan: Plan, setups: list[SensorSetup]):
    """(Simulation, exerciser): the virtual exerciser wearing the setups' sensors, in the air."""
    from stridecue.live.simulated import Simulation, parse_faults
    from stridecue.sim.air import VirtualAir, set_current_air
    from stridecue.sim.ble_backend import VirtualBleakClient, VirtualBleakScanner
    from stridecue.sim.exerciser import VirtualExerciser

    if args.seed < 0:
        raise UserError(f"--seed {args.seed} is not a non-negative whole number")
    exerciser = VirtualExerciser(plan.ex.name, level=plan.level, seed=args.seed)
    if args.reps is not None:
        exerciser.level = replace(exerciser.level, reps=args.reps)
    air = VirtualAir(speed=args.speed, faults=parse_faults(args.faults), seed=args.seed)
    for i, setup in enumerate(setups):
        stream = exerciser.sensor(leg=setup.leg, mount=setup.mount)
        name = f"StrideCue{setup.leg[0].upper()}{setup.mount[0].upper()}"
        air.add_sensor(name, f"5C:1D:00:00:01:{i + 1:02X}", stream).strap_on(setup.mount, setup.leg)
    set_current_air(air)
    return Simulation(exerciser, [], air, VirtualBleakScanner, VirtualBleakClient), exerciser


def exercise_truth(exerciser, reps: list) -> dict:
    """The virtual exerciser's own count, beside what the session found (the totals keep both)."""
    truth = exerciser.truth()
    return {"reps": sum(1 for t in truth if hasattr(t, "depth_deg")), "holds": sum(1 for t in truth if not hasattr(t, "depth_deg")),
            "found": len(reps)}



async def replay_exercise(reader, items, args, clock) -> int:
    """`replay` of a session: its samples through an ExercisePipeline, its recorded plan marks at
    their times, the cue policy as recorded; prints the cues and the reps found."""
    from stridecue.live.recording import ConsoleCues

    meta = reader.metadata
    ex = exercise(meta.get("exercise") or "")
    setups = [SensorSetup(slot=s["slot"], mount=s.get("mount", "shin"), leg=s.get("leg", "left")) for s in meta.get("sensors", [])]
    recorded = (meta.get("settings") or {}).get("exercise") or {}
    policy = KneeOutPolicy(baselines=recorded.get("knee_out_baselines") or {}, margin_deg=recorded.get("margin_deg", 3.0))
    pipeline = ExercisePipeline(setups or [SensorSetup(0, "shin", "left")], ex, policy, cue_sinks=[ConsoleCues(quiet=args.quiet)])
    marks = sorted((e for e in reader.events() if e.get("kind") in ("exercise_calibrate", "exercise_set")), key=lambda e: e["t"])
    started = clock.now()
    for item in items:
        if len(getattr(item, "index", ())) and args.speed:
            ahead = float(item.index[0] / item.rate) / args.speed - (clock.now() - started)
            if ahead > 0:
                await clock.sleep(ahead)
        pipeline.feed([item])
        while marks and marks[0]["t"] <= pipeline.latest_t:
            _replay_mark(pipeline, marks.pop(0))
    for e in marks:
        _replay_mark(pipeline, e)
    found = [r for r in pipeline.reps if r.kind == ex.kind]
    print(f"replayed {reader.path}: {pipeline.stats.samples} samples, {len(found)} {'holds' if ex.kind == 'hold' else 'reps'},"
          f" {pipeline.stats.cues} knee-out cues (the session had {sum(1 for e in reader.events() if e.get('kind') == 'cue')})")
    return 0


def _replay_mark(pipeline: ExercisePipeline, e: dict) -> None:
    pipeline.mark(e["kind"], e.get("phase"), e.get("leg"), int(e.get("set") or 0), t=float(e["t"]))
    if e["kind"] == "exercise_set" and e.get("phase") == "end" and pipeline._open is not None:
        pipeline.end_set(t=float(e["t"]))
