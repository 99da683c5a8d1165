"""The retraining programme: 8 sessions over about 2 weeks, 15 -> 30 minutes, feedback faded over
the last 4, then retention runs without any cue 1 week and 1 month after the last session
(Willy, Scholz & Davis 2012; Crowell & Davis 2011; Bowser et al. 2018: docs/coaching.md).

What a runner has done comes from the recorded runs, never from a counter: every run recorded
under a programme carries `settings.programme` in its metadata (which programme, by its start
time; which session or retention run it was planned as; its planned length), and the store's
runs of the profile are counted again each time (`progress`).  A run counts when it holds at
least MIN_RUNNING_STRIDES running strides and lasted at least MIN_SHARE_OF_PLAN of its planned
length.

The programme itself is one small file, <data dir>/programme.json, one entry per profile:
{"version": 1, "programmes": {"anna": {"started": ISO time, "load": false, "minute_s": 60}}},
replaced in one rename (write_programmes), so a crash never leaves half a file.  The settings
file is not touched.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from stridecue.coach.policy import CoachSettings, faded_fraction
from stridecue.errors import UserError

PROGRAMME_FILE = "programme.json"
FILE_VERSION = 1
SESSIONS = 8
FIRST_MIN, LAST_MIN = 15.0, 30.0  # Bowser et al. 2018: "progressing from 15 to 30 min"
SPAN_DAYS = 14  # "8 sessions over 2 weeks"
RETENTION_DAYS = (7, 30)  # the retention runs, days after the last session
RETENTION_MIN = FIRST_MIN
LOAD_TARGET_PCT = 30.0  # Bowser et al. 2018: tibial shock 32 % lower after retraining
MIN_RUNNING_STRIDES = 40  # the coach's warm-up + baseline strides (10 + 30): a run that could not form a baseline
MIN_SHARE_OF_PLAN = 0.5
MINUTE_S = 60.0


@dataclass(frozen=True)
class Programme:
    """One runner's programme as programme.json keeps it."""

    profile: str
    started: dt.datetime  # aware, UTC
    load: bool = False  # the landing-load loop (--load)
    minute_s: float = MINUTE_S  # seconds in a planned minute (shorter only to try it with --simulate)

    @property
    def key(self) -> str:
        """How a run names its programme: the start time (a programme started again is another)."""
        return self.started.isoformat()


@dataclass(frozen=True)
class Step:
    """What a run under the programme is: a session, a retention run, a free run or nothing left."""

    kind: str  # "session", "retention", "free" (after session 8, before a retention run is due), "complete"
    number: int | None  # session 1..8, retention 1 (1 week) or 2 (1 month)
    planned_min: float | None
    feedback_share: float  # share of cues spoken (0: none)
    due: dt.datetime | None  # a session's suggested day, a retention run's first day

    @property
    def label(self) -> str:
        if self.kind == "session":
            return f"session {self.number} of {SESSIONS}"
        if self.kind == "retention":
            return f"retention run {self.number} ({retention_name(self.number)}, no cues)"
        if self.kind == "free":
            return "a free run (no cues; not part of the programme's count)"
        return "programme complete"

    def metadata(self, programme: Programme) -> dict:
        """`settings.programme` of a run's metadata."""
        return {"started": programme.key, "kind": self.kind, "number": self.number,
                "planned_s": None if self.planned_min is None else round(self.planned_min * programme.minute_s, 3),
                "feedback_share": self.feedback_share, "load": programme.load, "minute_s": programme.minute_s}


@dataclass(frozen=True)
class Progress:
    """The programme's runs as counted from the store, and the next step."""

    sessions: tuple  # the counted session runs (store run dicts), oldest first, at most SESSIONS
    retention: dict  # 1, 2 -> the counted retention run, or None
    not_counted: int  # programme runs that did not count (too short, no running)
    next: Step
    retention_due: tuple  # (due 1, due 2), or () before session 8


# -- the plan -------------------------------------------------------------------------------------


def planned_minutes(session: int) -> float:
    """15 -> 30 min in equal steps, rounded to the minute: 15, 17, 19, 21, 24, 26, 28, 30 (the studies
    give the first and last; the steps between are a straight line of ours)."""
    return float(round(FIRST_MIN + (LAST_MIN - FIRST_MIN) * (session - 1) / (SESSIONS - 1)))


def suggested_day(session: int) -> int:
    """Days after the start a session is suggested for: 8 sessions spread over 2 weeks."""
    return round((session - 1) * (SPAN_DAYS - 1) / (SESSIONS - 1))


def retention_name(number: int) -> str:
    return {1: "1 week", 2: "1 month"}[number]


def session_step(programme: Programme, session: int, schedule) -> Step:
    return Step("session", session, planned_minutes(session), faded_fraction(session, schedule),
                programme.started + dt.timedelta(days=suggested_day(session)))


# -- counting the recorded runs ----------------------------------------------------------------------


def run_programme(run: dict, programme: Programme) -> dict | None:
    """The run's `settings.programme` when it was recorded under this programme."""
    meta = (run.get("metadata") or {}).get("settings") or {}
    tag = meta.get("programme") if isinstance(meta, dict) else None
    if isinstance(tag, dict) and tag.get("started") == programme.key:
        return tag
    return None


def counts(run: dict, tag: dict) -> bool:
    """Whether a programme run counts: enough running, and at least half its planned length."""
    planned = tag.get("planned_s") or 0.0
    return (int(run.get("running_strides") or 0) >= MIN_RUNNING_STRIDES
            and float(run.get("duration_s") or 0.0) >= MIN_SHARE_OF_PLAN * float(planned))


def run_time(run: dict) -> dt.datetime | None:
    try:
        t = dt.datetime.fromisoformat(run.get("start_time") or "")
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def progress(programme: Programme, runs: list[dict], now: dt.datetime, schedule) -> Progress:
    """Where the runner is, from the profile's runs (store.runs(profile), oldest first)."""
    sessions, retention, skipped = [], {1: None, 2: None}, 0
    for run in runs:
        tag = run_programme(run, programme)
        if tag is None or tag.get("kind") not in ("session", "retention"):
            continue
        if not counts(run, tag):
            skipped += 1
        elif tag["kind"] == "session" and len(sessions) < SESSIONS:
            sessions.append(run)
        elif tag["kind"] == "retention" and tag.get("number") in retention and retention[tag["number"]] is None:
            retention[tag["number"]] = run
    if len(sessions) < SESSIONS:
        step = session_step(programme, len(sessions) + 1, schedule)
        return Progress(tuple(sessions), retention, skipped, step, ())
    last = run_time(sessions[-1]) or programme.started
    due = tuple(last + dt.timedelta(days=d) for d in RETENTION_DAYS)
    return Progress(tuple(sessions), retention, skipped, _after_sessions(retention, due, now), due)


def _after_sessions(retention: dict, due: tuple, now: dt.datetime) -> Step:
    """After session 8: the retention run that is due (the 1-month one first, if both are), a free
    run while none is, or complete once the 1-month one is done."""
    if retention[2] is not None:
        return Step("complete", None, None, 0.0, None)
    if now >= due[1]:
        return Step("retention", 2, RETENTION_MIN, 0.0, due[1])
    if retention[1] is None and now >= due[0]:
        return Step("retention", 1, RETENTION_MIN, 0.0, due[0])
    return Step("free", None, None, 0.0, due[0] if retention[1] is None else due[1])


# -- the coach under a step -------------------------------------------------------------------------


def step_settings(settings: CoachSettings, step: Step, programme: Programme, load_target_g: float | None) -> CoachSettings:
    """The coach's settings for a run that is this step: the session's share of cues, none at all in
    a retention or free run; with the landing-load loop, "Land softer" aiming LOAD_TARGET_PCT below
    the first session's load baseline (load_target_g; in session 1, below the run's own)."""
    if step.kind != "session":
        return replace(settings, feedback_fraction=0.0)
    out = replace(settings, feedback_fraction=step.feedback_share)
    if programme.load:
        if load_target_g is not None:
            out = replace(out, load_cue=True, load_threshold_g=load_target_g, load_target_pct=None)
        else:
            out = replace(out, load_cue=True, load_threshold_g=None, load_target_pct=LOAD_TARGET_PCT)
    return out


def baseline_window(strides, metric: str, warmup: int, count: int, before_t: float = math.inf) -> dict[str, list[float]]:
    """Per segment ("left shin", ...): the values of `metric` the coach's baseline is formed on, the
    running strides with a finite value after `warmup` of them, `count` of them, all known before
    before_t (the run's first cue).  Also the same window of a retention run."""
    out: dict[str, list[float]] = {}
    seen: dict[str, int] = {}
    for s in sorted(strides, key=lambda s: s.known_t):
        value = getattr(s, metric)
        if s.kind != "run" or value is None or not math.isfinite(value) or s.known_t >= before_t:
            continue
        key = f"{s.leg} {s.mount}"
        seen[key] = seen.get(key, 0) + 1
        if warmup < seen[key] <= warmup + count:
            out.setdefault(key, []).append(float(value))
    return out


def first_session_load_target(store, session_one: dict) -> float | None:
    """LOAD_TARGET_PCT below session 1's load baseline (the mean over segments of the median peak
    tibial acceleration of its baseline strides), or None when it has none."""
    import statistics

    coach = ((session_one.get("metadata") or {}).get("settings") or {}).get("coach") or {}
    cues = store.cues(session_one["id"])
    window = baseline_window(store.strides(session_one["id"]), "pta_axial_g", int(coach.get("warmup_strides", 10)),
                             int(coach.get("baseline_strides", 30)), min((c["t"] for c in cues), default=math.inf))
    medians = [statistics.median(v) for v in window.values() if v]
    if not medians:
        return None
    return round(sum(medians) / len(medians) * (1.0 - LOAD_TARGET_PCT / 100.0), 3)


# -- programme.json ---------------------------------------------------------------------------------


def programme_path(base: Path) -> Path:
    return Path(base) / PROGRAMME_FILE


def read_programmes(base: Path) -> dict[str, Programme]:
    """Every profile's programme; {} without the file.  UserError naming the file when it is damaged."""
    path = programme_path(base)
    if not path.exists():
        return {}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or doc.get("version") != FILE_VERSION or not isinstance(doc.get("programmes"), dict):
            raise ValueError(f"expected {{\"version\": {FILE_VERSION}, \"programmes\": {{...}}}}")
        return {name: _programme(name, entry) for name, entry in doc["programmes"].items()}
    except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError) as e:
        why = getattr(e, "strerror", None) or str(e) or type(e).__name__
        raise UserError(f"{path}: not a readable programme file ({why}); move it aside to start the programme again"
                        " (the runs stay in history)") from None


def _programme(name: str, entry: dict) -> Programme:
    started = dt.datetime.fromisoformat(entry["started"])
    if started.tzinfo is None:
        raise ValueError(f"{name}: started has no time zone")
    minute_s = float(entry.get("minute_s", MINUTE_S))
    if not (isinstance(entry.get("load", False), bool) and 1.0 <= minute_s <= MINUTE_S):
        raise ValueError(f"{name}: load must be true or false and minute_s 1 to 60")
    return Programme(name, started, entry.get("load", False), minute_s)


def write_programmes(base: Path, programmes: dict[str, Programme]) -> None:
    """Replace programme.json in one rename (a crash leaves the old file or the new, never half)."""
    path = programme_path(base)
    doc = {"version": FILE_VERSION, "programmes": {
        p.profile: {"started": p.key, "load": p.load, "minute_s": p.minute_s} for p in programmes.values()}}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".programme-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def start_programme(base: Path, profile: str, load: bool, minute_s: float, now: dt.datetime) -> Programme:
    if not (math.isfinite(minute_s) and 1.0 <= minute_s <= MINUTE_S):
        raise UserError(f"--minute-s {minute_s:g}: give the seconds in a planned minute, 1 to 60 (60 for a real programme)")
    programmes = read_programmes(base)
    if profile in programmes:
        raise UserError(f"profile {profile!r} already has a programme (started {programmes[profile].started:%Y-%m-%d});"
                        " `stridecue programme stop` ends it first")
    programmes[profile] = Programme(profile, now.astimezone(dt.timezone.utc).replace(microsecond=0), load, minute_s)
    write_programmes(base, programmes)
    return programmes[profile]


def stop_programme(base: Path, profile: str) -> Programme:
    programmes = read_programmes(base)
    if profile not in programmes:
        raise UserError(f"profile {profile!r} has no programme to stop (`stridecue programme start` starts one)")
    stopped = programmes.pop(profile)
    write_programmes(base, programmes)
    return stopped


# -- a run under the programme ----------------------------------------------------------------------


@dataclass(frozen=True)
class RunPlan:
    """What prepare_coaching needs for a run of a profile with a programme."""

    programme: Programme
    step: Step
    load_target_g: float | None


def plan_for_run(base: Path, profile: str, schedule, now: dt.datetime | None = None) -> RunPlan | None:
    """The step a new run of the profile is, from the store; None without a programme or once it is complete."""
    programme = read_programmes(base).get(profile)
    if programme is None:
        return None
    from stridecue.record.store import RunStore

    with RunStore.open(base) as store:
        store.sync()
        done = progress(programme, store.runs(profile), now or dt.datetime.now(dt.timezone.utc), schedule)
        if done.next.kind == "complete":
            return None
        target = None
        if programme.load and done.sessions and done.next.kind == "session":
            target = first_session_load_target(store, done.sessions[0])
    return RunPlan(programme, done.next, target)


def announce(plan: RunPlan) -> str:
    """The line a run under the programme starts with."""
    step = plan.step
    if step.kind == "session":
        share = f"{step.feedback_share:.0%} of cues spoken"
        load = ""
        if plan.programme.load:
            load = (f"; landing load target {plan.load_target_g:g} g" if plan.load_target_g is not None
                    else f"; landing load target {LOAD_TARGET_PCT:g} % below this run's baseline")
        return f"programme: {step.label}, {step.planned_min:g} minutes, {share}{load}"
    if step.kind == "retention":
        return f"programme: {step.label}, {step.planned_min:g} minutes, run as you normally do"
    return f"programme: {step.label}"


def spoken(plan: RunPlan) -> str:
    """The daemon's prompt for a run under the programme ("Session 3 of 8. 19 minutes.")."""
    step = plan.step
    if step.kind == "session":
        return f"Session {step.number} of {SESSIONS}. {step.planned_min:g} minutes."
    if step.kind == "retention":
        return f"Retention run, {retention_name(step.number)}. No cues. {step.planned_min:g} minutes."
    return "Free run. No cues."
