"""`stridecue daemon`: hands-free runs on a pocket computer, with spoken prompts and no keyboard.
It waits for the paired sensor(s), connects and says so, asks the runner to stand still and says
"ready" once the analysis has its standstill.  A run starts when the runner moves and ends after
standing still for --stop-after seconds, or at once on a double tap on the sensor; then the run
is saved, one spoken line sums it up and asks for a pain rating on the phone (`stridecue serve`'s
pain form), and the daemon waits for the next run.  A dropped sensor,
its return and a low battery are said too.  Ctrl-C or SIGTERM saves a run in progress and exits 0.
`stridecue service install` runs it at boot.

Each run file holds the run, not the standing before it: the sensors are watched without
recording and the file begins shortly before the movement (pocket/watch.py).  What the daemon is
doing is kept in <data dir>/daemon.json for `stridecue service status`; every prompt it speaks is
also a `prompt:` line on stdout (the journal keeps it).  The prompts are pocket/prompts.py's,
played through the same audio output as the cues.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import statistics
from pathlib import Path
from typing import Callable

from stridecue.analysis.stride import Stride
from stridecue.errors import UserError

RETRY_S = 5.0  # between scans while waiting for the sensors, and after a failed connection
MAX_RUNS = 10_000


# Said after the run's summary: the runner rates the pain on `stridecue serve`'s pain form (/pain).
PAIN_PROMPT = "Rate your pain on the phone, zero to ten."
TIME_DONE = "Session time done. Walk, then stand still to save the run."


class Daemon:
    """The daemon's loop.  Results: `spoken` (every prompt: (kind, words), in order), `runs` (saved
    run files).  on_prompt(kind, words) is called as each prompt is spoken."""

    def __init__(self, args, base: Path, on_prompt: Callable[[str, str], None] | None = None):
        self.args = args
        self.base = Path(base)
        self.on_prompt = on_prompt
        self.spoken: list[tuple[str, str]] = []
        self.runs: list[Path] = []
        self.stop = asyncio.Event()
        self.signals = None
        self._announce = True  # say which sensors connected (after waiting for them or losing them)
        self._battery_told: set[str] = set()
        self._idle_since = 0.0
        self._problem: str | None = None  # the last connection problem printed

    # -- the loop ------------------------------------------------------------------------

    async def run(self) -> int:
        from stridecue.live.stopping import StopSignals

        self._prepare()
        with StopSignals(self.stop) as signals:
            self.signals = signals
            try:
                while not self.stop.is_set() and len(self.runs) < (self.args.runs or MAX_RUNS):
                    found = await self._wait_for_sensors()
                    if found is None or self.stop.is_set():
                        break
                    await self._session(found)
            finally:
                self._set("stopped")
                self.player.close()
            signals.saved = True
        return 0

    def _prepare(self) -> None:
        """The settings, the sensors, the virtual runner, the audio output and the prompts: all
        that can fail on bad input fails here, before the daemon says anything."""
        from stridecue.coach.audio import NullPlayer, open_player
        from stridecue.coach.programme import read_programmes
        from stridecue.coach.setup import profile_from_args
        from stridecue.live.session import connect_or_simulate, sensor_setups
        from stridecue.paths import check_dir, runs_dir
        from stridecue.pocket.prompts import Prompts
        from stridecue.pocket.state import DaemonState

        check_dir(runs_dir(self.base))
        profile = profile_from_args(self.args, self.base)
        read_programmes(self.base)  # a damaged programme.json is the error now, not at the first run
        self.setups = sensor_setups(self.args)
        self.sim, self.clock = connect_or_simulate(self.args, self.setups)
        self.end_s = self._simulated_end() if self.sim else None
        realtime = not self.args.simulate or self.args.speed == 1.0
        self.player, note = open_player(profile.audio) if realtime else (NullPlayer(), None)
        self.prompts = Prompts(self.base / "prompts", voice=profile.voice, volume=profile.volume).prepare()
        fast = None if realtime else "simulated faster than real time: prompts and cues are printed, not played"
        for line in (note, self.prompts.note_, fast):
            if line:
                print(f"note: {line}", flush=True)
        sensors = " and ".join(f"{s.leg} {s.mount}" for s in self.setups)
        print(f"daemon: profile {profile.name!r}, {sensors} sensor; a run starts when the runner moves and ends after "
              f"{self.args.stop_after:g} s standing still or a double tap on the sensor", flush=True)
        self.state = DaemonState()
        self._idle_since = self.clock.now()

    def _simulated_end(self) -> float:
        from stridecue.live.simulated import simulated_length

        length, _ = simulated_length(None, self.args.segments, None)
        print(f"simulated runner: the daemon stops after {length:g} s of the runner's time, when its schedule ends", flush=True)
        return length

    async def _wait_for_sensors(self) -> list | None:
        """The scanned sensors, once every one is found; None when stopped or idle for too long."""
        from stridecue.live.session import choose_sensors

        self._set("waiting for sensors")
        told, problem = False, None
        while not self.stop.is_set():
            try:
                return await choose_sensors(self.args, self.setups, self.sim.scanner_backend if self.sim else None)
            except UserError as e:
                if str(e) != problem:
                    problem = str(e)
                    print(f"waiting: {problem}", flush=True)
            if not told:
                self.say("waiting")
                told = self._announce = True
            if self._idle_left() == 0.0:
                self._end(f"no run for {self.args.idle_timeout:g} s")
                return None
            await self._pause(RETRY_S)
        return None

    async def _session(self, found: list) -> None:
        """One connection of the sensors: watch, record a run if the runner moves, save it."""
        from stridecue.coach.setup import profile_from_args
        from stridecue.link.client import LinkError
        from stridecue.pocket.watch import Watch, place

        profile = profile_from_args(self.args, self.base)  # the settings file may have changed since the last run
        wiring = self._wiring(profile, found)
        watch = Watch(wiring, self.args.stop_after, self._on_link, self.end_s)
        self._set("connecting")
        try:
            await watch.connect()
        except LinkError as e:
            if str(e) != self._problem:  # retried every RETRY_S: said once, not every time
                self._problem = str(e)
                print(f"cannot connect: {e}", flush=True)
            await watch.close()
            await self._pause(RETRY_S)
            return
        self._problem = None
        self._set("connecting", sensors=[f.name for f in found])
        if self._announce:  # not after the quiet reconnect that follows a saved run
            for setup in self.setups:
                self.say("connected", place(setup))
            self.say("stand still")
            self._announce = False
        try:
            moving = await self._until_moving(watch)
        except LinkError as e:
            print(f"sensor lost: {e}", flush=True)
            self._announce = True
            moving = None
        if moving is None:
            await watch.close()
            return
        await self._record(watch, moving, profile)

    async def _until_moving(self, watch):
        """The MOVING event that starts a run, or None (stopped, idle, the simulated schedule over)."""
        from stridecue.analysis.activity import MOVING
        from stridecue.pocket.watch import READY, SCHEDULE_OVER

        while True:
            event = await watch.next_event(self.stop, self._idle_left())
            if event == READY:
                self._set("ready")
                self.say("ready")
            elif event == SCHEDULE_OVER:
                self._end("the simulated runner's schedule is over")
                return None
            elif event == "idle":
                self._end(f"no run for {self.args.idle_timeout:g} s")
                return None
            elif event == "stopped":
                return None
            elif event.kind == MOVING:
                return event

    async def _record(self, watch, moving, profile) -> None:
        from stridecue.live.recording import run_metadata, sample_clock_end, sensors_metadata

        start = dt.datetime.now(dt.timezone.utc)
        meta = run_metadata(self.args, start, profile, sensors_metadata(self.setups, watch.wiring.found), watch.wiring.coaching)
        meta["daemon"] = {"started_by": "moving", "stop_after_s": self.args.stop_after}
        path = self.signals.path = watch.start_recording(self.base, start, meta, moving)
        self._set("running")
        self.say("go")
        plan = watch.wiring.coaching.programme
        if plan is not None:  # a retraining programme's step: which one, and how long
            from stridecue.coach.programme import spoken

            self.say("programme", text=spoken(plan))
        print(f"recording to {path}", flush=True)
        planned_s = (plan.step.metadata(plan.programme).get("planned_s") if plan is not None else None) or None
        ended = await self._until_end(watch, planned_s)
        self._set("saving")
        totals, track = await watch.save({"ended_by": ended})
        self.signals.path = None
        seconds = (sample_clock_end(watch.links) or watch.start_s) - watch.start_s
        line = spoken_summary(seconds, totals, watch.pipeline.strides)
        self.runs.append(path)
        print(f"run saved: {path} (ended by {ended}){f'; cue track: {track.name}' if track else ''}", flush=True)
        self._set("waiting for sensors", runs=len(self.runs), last_run=path.name, last_summary=line)
        self.say("saved", text=f"{line} {PAIN_PROMPT}")
        self._idle_since = self.clock.now()

    async def _until_end(self, watch, planned_s: float | None = None) -> str:
        """What ended the run: "still", "double tap", "stop signal", "sensor lost" or "schedule over".
        With a programme session's planned length, "time done" is said once it has passed (the run
        still ends when the runner stands still: a runner mid-road is not cut off)."""
        from stridecue.analysis.activity import DOUBLE_TAP, STILL
        from stridecue.link.client import LinkError
        from stridecue.pocket.watch import SCHEDULE_OVER

        time_done = None if planned_s is None else self.clock.now() + planned_s
        while True:
            left = None if time_done is None else max(time_done - self.clock.now(), 0.0)
            try:
                event = await watch.next_event(self.stop, left)
            except LinkError as e:
                print(f"sensor lost: {e}; saving the run", flush=True)
                self._announce = True
                return "sensor lost"
            if event == "stopped":
                return "stop signal"
            if event == "idle":  # the planned length has passed
                self.say("time done", text=TIME_DONE)
                time_done = None
                continue
            if event == SCHEDULE_OVER:
                self._end("the simulated runner's schedule is over")
                return "schedule over"
            if getattr(event, "kind", None) in (STILL, DOUBLE_TAP):
                return event.kind

    # -- pieces ----------------------------------------------------------------------------

    def _wiring(self, profile, found: list):
        """The next run's coaching (a fresh coach: its own baseline and session number), cue sinks
        and serve's live page, prepared before "ready" so the run starts at once."""
        from stridecue.coach.audio import AudioCues
        from stridecue.coach.setup import guided_overrides, prepare_coaching
        from stridecue.live.recording import Wiring, cue_sinks
        from stridecue.live.status_feed import attach_live_status

        coaching = prepare_coaching(profile, self.base, guided=self.args.guided, play=False, track=not self.args.no_cue_track,
                                    mounts={setup.mount for setup in self.setups},
                                    guided_settings=guided_overrides(self.args.guided_segment))
        coaching.audio = AudioCues(coaching.sounds, self.player)  # the daemon's one output, shared with the prompts
        wiring = Wiring(self.setups, found, coaching, None, None, cue_sinks(self.args, coaching, None, self.sim, self.clock),
                        self.sim, self.clock, self.args.stream)
        return attach_live_status(wiring, self.base)

    def say(self, kind: str, place: str | None = None, text: str | None = None) -> None:
        """Speak a prompt (or `text`, for the run's summary line), log it and print it."""
        from stridecue.coach.audio import _resample
        from stridecue.pocket.prompts import phrase

        words = text if text is not None else phrase(kind, place)
        clip = self.prompts.say(words, kind, keep=text is None)  # a summary line is new each run: not cached
        rate = getattr(self.player, "rate_hz", self.prompts.rate_hz)
        self.player.play(clip if rate == self.prompts.rate_hz else _resample(clip, self.prompts.rate_hz, rate))
        self.spoken.append((kind, words))
        print(f"prompt: {words}", flush=True)
        if self.on_prompt is not None:
            self.on_prompt(kind, words)

    def _on_link(self, kind: str, slot: int, link) -> None:
        from stridecue.pocket.watch import place

        where = place(next(s for s in self.setups if s.slot == slot))
        if kind in ("lost", "back"):
            self.say(kind, where)
        elif link.status is not None and link.status.low_battery and where not in self._battery_told:
            self._battery_told.add(where)
            self.say("battery low", where)

    def _set(self, state: str, **changes) -> None:
        """The state file, at each change (a data directory that cannot take it is said once)."""
        from stridecue.pocket.state import write_state

        self.state.state = state
        for name, value in changes.items():
            setattr(self.state, name, value)
        try:
            write_state(self.base, self.state)
        except OSError as e:
            if not getattr(self, "_state_problem", False):
                self._state_problem = True
                print(f"note: cannot write the state file: {e.strerror or e}", flush=True)

    def _idle_left(self) -> float | None:
        if self.args.idle_timeout is None:
            return None
        return max(self.args.idle_timeout - (self.clock.now() - self._idle_since), 0.0)

    async def _pause(self, seconds: float) -> None:
        """Sleep on the daemon's clock, or until stopped."""
        sleeper = asyncio.ensure_future(self.clock.sleep(seconds))
        stopper = asyncio.ensure_future(self.stop.wait())
        await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
        sleeper.cancel()
        stopper.cancel()

    def _end(self, why: str) -> None:
        print(f"{why}: stopping", flush=True)
        self.stop.set()


# -- the spoken summary ----------------------------------------------------------------------------


def spoken_summary(seconds: float, totals: dict, strides: list[Stride]) -> str:
    """One line for the ear: "Run saved. 32 minutes, 4310 strides. Left knee wobble 6 degrees. 12 cues." """
    if seconds < 60:
        length = _count(int(round(seconds)), "second")
    else:
        length = _count(int(round(seconds / 60)), "minute")
    parts = [f"Run saved. {length}, {_count(totals.get('running_strides', 0), 'stride')}."]
    wobble = wobble_by_leg(strides)
    if wobble:
        said = [f"{leg.capitalize() if i == 0 else leg} knee wobble {_count(round(deg), 'degree')}"
                for i, (leg, deg) in enumerate(wobble.items())]
        parts.append(", ".join(said) + ".")
    cues = totals.get("cues", 0)
    parts.append("No cues." if cues == 0 else f"{_count(cues, 'cue')}.")
    return " ".join(parts)


def wobble_by_leg(strides: list[Stride]) -> dict[str, float]:
    """The median wobble of each leg's running strides, left first (the shin's where a leg has
    both sensors: the knee's wobble as the coach measures it)."""
    by_leg: dict[str, dict[str, list[float]]] = {}
    for stride in strides:
        wobble = stride.wobble_deg
        if stride.kind != "run" or wobble is None or not math.isfinite(wobble):
            continue
        mounts = by_leg.setdefault(stride.leg, {})
        mounts.setdefault(stride.mount, []).append(float(wobble))
    out = {}
    for leg in sorted(by_leg):
        mounts = by_leg[leg]
        values = mounts.get("shin") or next(iter(mounts.values()))
        out[leg] = statistics.median(values)
    return out


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


# -- the command ----------------------------------------------------------------------------------


def configure(parser) -> None:
    from stridecue.live.options import add_coaching_options, add_sensor_options, add_sim_options  # the same flags as `run`

    add_sensor_options(parser)
    parser.add_argument("--stop-after", type=float, default=20.0, metavar="S",
                        help="standing still this long ends a run (default 20); a double tap on the sensor ends it at once")
    parser.add_argument("--runs", type=int, default=None, metavar="N", help="exit after N runs (default: run until stopped)")
    parser.add_argument("--idle-timeout", type=float, default=None, metavar="S",
                        help="exit (status 0: systemd leaves it stopped) when no run has started for S seconds (default: never)")
    add_coaching_options(parser)
    add_sim_options(parser)
    parser.set_defaults(quiet=False, duration=None)


def check_options(args) -> None:
    """One-line errors for options out of range, before anything starts."""
    from stridecue.live.options import parse_speed

    args.speed = parse_speed(args.speed)
    if not (math.isfinite(args.stop_after) and 1.0 <= args.stop_after <= 3600.0):
        raise UserError(f"--stop-after {args.stop_after:g}: give the seconds of standing that end a run, 1 to 3600")
    if args.runs is not None and not 1 <= args.runs <= MAX_RUNS:
        raise UserError(f"--runs {args.runs}: give how many runs before the daemon exits, 1 or more")
    if args.idle_timeout is not None and not (math.isfinite(args.idle_timeout) and args.idle_timeout > 0):
        raise UserError(f"--idle-timeout {args.idle_timeout:g}: give a positive number of seconds")
    if args.simulate:
        from stridecue.live.simulated import parse_faults, parse_segments, parse_taps

        from stridecue.sim.radio import parse_radio

        parse_faults(args.faults)
        parse_radio(args.radio)
        parse_taps(args.taps)
        if args.segments:
            parse_segments(args.segments)


def main(args, base: Path) -> int:
    check_options(args)
    return asyncio.run(Daemon(args, base).run())
