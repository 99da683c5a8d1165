"""Coaching a run: the runner's profile (settings file and flags), the coach or the guided
hip-or-foot protocol, faded feedback from the runner's session count, a saved baseline from
earlier runs, cue sounds rendered once, an audio output (or a note that there is none), the cue
track and the live view.  The same for live, simulated and replayed runs (live/session.py, live/replay.py).
"""

from __future__ import annotations

import importlib.util
import math
import struct
from dataclasses import asdict, dataclass, field
from pathlib import Path

from stridecue.analysis.stride import Stride
from stridecue.coach.guided import GuidedProtocol, GuidedSettings
from stridecue.coach.policy import Coach, CoachSettings, faded_fraction
from stridecue.errors import UserError
from stridecue.paths import runs_dir
from stridecue.coach.settings import Profile, apply, load_profile


# -- coaching: profile, policy, sounds, outputs ----------------------------------------------------


_FLAG_KEYS = {  # args attribute -> (flag, settings key(s))
    "threshold_deg": ("--threshold-deg", lambda v: {"threshold": "absolute", "absolute_deg": v}),
    "k": ("--k", lambda v: {"threshold": "baseline", "k": v}),
    "baseline": ("--baseline", lambda v: {"baseline": v}),
    "volume": ("--volume", lambda v: {"volume": v}),
    "sound": ("--sound", lambda v: {"sound": v}),
    "audio": ("--audio", lambda v: {"audio": v}),
    "load_cue": ("--load-cue", lambda v: {"load_cue": v}),
    "cadence_cue": ("--cadence-cue", lambda v: {"cadence_cue": v}),
    "cadence_target": ("--cadence-target", lambda v: {"cadence_cue": True, "cadence_target_spm": v}),
    "fading": ("--fading/--no-fading", lambda v: {"fading": v}),
}


def profile_from_args(args, base: Path) -> Profile:
    """The settings file's profile with the command line's flags over it."""
    profile = load_profile(getattr(args, "settings", None), getattr(args, "profile", None), base)
    return apply_flags(profile, args)


def planned_run_length(args, base: Path) -> float | None:
    """`run` without --duration under a programme: the step's planned length in seconds (the run
    stops and saves itself then), else None."""
    from stridecue.coach.programme import plan_for_run

    profile = profile_from_args(args, base)
    plan = plan_for_run(base, profile.name, profile.fading_schedule)
    if plan is None or plan.step.planned_min is None:
        return None
    return plan.step.planned_min * plan.programme.minute_s


def apply_flags(profile: Profile, args) -> Profile:
    if getattr(args, "threshold_deg", None) is not None and getattr(args, "k", None) is not None:
        raise UserError("--threshold-deg and --k: choose one (an absolute threshold, or baseline + k x spread)")
    for attr, (flag, keys) in _FLAG_KEYS.items():
        value = getattr(args, attr, None)
        if value is None:
            continue
        try:
            profile = apply(profile, keys(value), where="flag")
        except UserError as e:
            allowed = str(e).split("(must be ", 1)[-1].rstrip(")").replace(' or "auto"', "")
            raise UserError(f"{flag.split('/')[0]} {value!r}: not allowed (must be {allowed})") from None
    return profile


@dataclass
class Coaching:
    """Everything that coaches one run (live, simulated or replayed)."""

    profile: Profile
    coach: object  # Coach, or GuidedProtocol
    session: int | None = None  # this run's number among the profile's sessions
    feedback_fraction: float = 1.0
    baseline_from: str | None = None  # the run a saved baseline came from
    notes: list[str] = field(default_factory=list)
    sounds: object = None  # audio.CueSounds
    audio: object = None  # audio.AudioCues
    track: object = None  # audio.CueTrack
    programme: object = None  # programme.RunPlan: the retraining programme's step this run is, if any

    def metadata(self) -> dict:
        """The settings section of the run's metadata."""
        settings = getattr(self.coach, "settings", None)
        out = {
            "coach": asdict(settings) if isinstance(settings, CoachSettings) else asdict(self.profile.coach),
            "profile": self.profile.as_dict(),
            "session": self.session,
            "feedback_fraction": self.feedback_fraction,
            "baseline_from": self.baseline_from,
            "guided": not isinstance(self.coach, Coach),
        }
        if self.programme is not None:
            out["programme"] = self.programme.step.metadata(self.programme.programme)
        if out["guided"] and settings is not None:
            try:
                out["guided_protocol"] = asdict(settings)
            except TypeError:
                pass
        return out

    def totals(self) -> dict:
        """What the coach did, for the run's closing summary."""
        out = {"cues": len(getattr(self.coach, "cues_", []))}
        if isinstance(self.coach, Coach):
            out.update(baseline=self.coach.baselines_, postponed=self.coach.postponed_, silenced_by_fading=self.coach.suppressed_)
        if self.audio is not None:
            lat = sorted(self.audio.latency_ms_())
            out["audio"] = {
                "output": self.audio.player.name,
                "played": len(lat),
                "start_latency_ms_p50": _pct(lat, 50),
                "start_latency_ms_max": round(lat[-1], 2) if lat else None,
                "output_latency_ms": _round(self.audio.output_latency_ms_()),
            }
        return out

    def close(self) -> None:
        if self.audio is not None:
            self.audio.close()


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    import numpy as np

    return round(float(np.percentile(values, q)), 2)


def _round(v, nd=2):
    return None if v is None else round(float(v), nd)


def prepare_coaching(profile: Profile, base: Path, *, guided: bool = False, play: bool = True, track: bool = True,
                     fading_session: bool = True, mounts: set[str] | None = None, guided_settings: dict | None = None) -> Coaching:
    """The coach and its outputs for a run with this profile.

    play: open an audio output (False: replay at full speed, tests).  track: keep a cue track.
    fading_session: a new run: look up the runner's retraining programme or session number for
    faded feedback (a replay keeps the fraction recorded with the run; a guided run is no programme
    session).  mounts: the run's sensor mounts (a saved baseline only comes from a run with the same
    ones: thigh and shin wobble differ).
    """
    from stridecue.coach.audio import AudioCues, CueSounds, CueTrack, NullPlayer, open_player

    coaching = Coaching(profile=profile, coach=None)
    settings = _session_settings(coaching, base, fading_session, programme=not guided)
    first_session = coaching.programme is not None and coaching.programme.step.number == 1 and coaching.session == 1
    # the programme's first session forms its own baseline: the no-cue stretch its outcome is measured against
    if profile.baseline == "saved" and settings.threshold == "baseline" and settings.baseline_deg is None and not first_session:
        saved = saved_baseline(base, profile.name, mounts)
        if saved is None:
            coaching.notes.append(f"no saved baseline for profile {profile.name!r} yet: this run forms one from its first strides")
        else:
            median, spread, run_name = saved
            settings = _with(settings, baseline_deg=median, baseline_spread_deg=spread)
            coaching.baseline_from = run_name
    extra_words: dict[str, list[str]] = {}
    if guided:
        coaching.coach = make_guided(guided_settings) if guided_settings else make_guided()
        extra_words = GuidedProtocol.phrases()
    else:
        coaching.coach = Coach(settings)
    coaching.sounds = CueSounds(settings, sound=profile.sound, voice=profile.voice, volume=profile.volume,
                                extra_words=extra_words).render()
    if coaching.sounds.note_:
        coaching.notes.append(coaching.sounds.note_)
    if play:
        player, note = open_player(profile.audio)
        if note:
            coaching.notes.append(note)
        coaching.audio = AudioCues(coaching.sounds, player)
    else:
        coaching.audio = AudioCues(coaching.sounds, NullPlayer())
    if track:
        coaching.track = CueTrack(coaching.sounds)
    return coaching


def _session_settings(coaching: Coaching, base: Path, new_run: bool, programme: bool = True) -> CoachSettings:
    """The coach's settings for this run of the profile: a retraining programme's step
    (coach/programme.py), else faded feedback by the profile's session number, else as they are."""
    from stridecue.coach.programme import announce, plan_for_run, step_settings

    profile = coaching.profile
    settings = profile.coach
    plan = plan_for_run(base, profile.name, profile.fading_schedule) if new_run and programme else None
    if plan is not None:
        coaching.programme = plan
        settings = step_settings(settings, plan.step, plan.programme, plan.load_target_g)
        coaching.feedback_fraction = settings.feedback_fraction
        coaching.session = plan.step.number if plan.step.kind == "session" else None
        coaching.notes.append(announce(plan))
    elif profile.fading and new_run:
        coaching.session = session_count(base, profile.name) + 1
        coaching.feedback_fraction = faded_fraction(coaching.session, profile.fading_schedule)
        settings = _with(settings, feedback_fraction=coaching.feedback_fraction)
        coaching.notes.append(f"session {coaching.session} of profile {profile.name!r}: "
                              f"{coaching.feedback_fraction:.0%} of cues spoken (faded feedback)")
    return settings


def describe_coaching(coaching: Coaching) -> str:
    """One line: who is coached, how, from which settings."""
    p = coaching.profile
    source = f" ({p.source})" if p.source else " (built-in defaults)"
    if not isinstance(coaching.coach, Coach):
        return f"coaching: profile {p.name!r}{source}; guided hip-or-foot protocol"
    s = coaching.coach.settings
    if s.threshold == "absolute":
        rule = f"wobble over {s.absolute_deg:g}°"
    elif s.baseline_deg is not None:
        rule = f"wobble over {s.baseline_deg:.1f}° + {s.k:g} x {max(s.baseline_spread_deg or 0, s.min_spread_deg):.1f}° (saved baseline)"
    else:
        rule = f"wobble over your baseline + {s.k:g} x spread (from strides {s.warmup_strides + 1}-{s.warmup_strides + s.baseline_strides})"
    extra = [x for x, on in (("landing load", s.load_cue), ("cadence", s.cadence_cue)) if on]
    share = "" if s.feedback_fraction >= 1.0 else f"; {s.feedback_fraction:.0%} of cues spoken"
    return (f"coaching: profile {p.name!r}{source}; {rule}" + (f", also {' and '.join(extra)}" if extra else "")
            + f"; at most {s.max_per_minute:g}/min, {s.cooldown_s:g} s apart{share}")


def _with(settings: CoachSettings, **changes) -> CoachSettings:
    from dataclasses import replace

    return replace(settings, **changes)


def make_guided(overrides: dict | None = None):
    """The guided hip-or-foot protocol; overrides: GuidedSettings fields (segment lengths, order)."""
    known = GuidedSettings.__dataclass_fields__
    clean = {k: v for k, v in (overrides or {}).items() if k in known}
    try:
        return GuidedProtocol(GuidedSettings(**clean))
    except (TypeError, ValueError) as e:
        raise UserError(f"--guided: {e}") from None


def guided_overrides(segment_s: float | None) -> dict | None:
    """--guided-segment S: every segment S seconds long (the warm-up at most a minute)."""
    if segment_s is None:
        return None
    if not math.isfinite(segment_s):
        raise UserError(f"--guided-segment {segment_s:g}: give a number of seconds, 60 or more")
    if not segment_s >= 60:
        # A runner needs time to take up a focus and to let it go; shorter segments blur one into
        # the next (the virtual runner's verdicts turned unreliable below a minute).
        raise UserError(f"--guided-segment {segment_s:g}: each segment needs at least 60 s of running to compare")
    return {"warmup_s": min(60.0, segment_s), "baseline_s": segment_s, "focus_s": segment_s, "normal_s": segment_s}


# -- the runner's history: sessions and saved baselines ---------------------------------------------


def session_count(base: Path, profile: str) -> int:
    """Sessions the profile has run so far (the history store's count when it is there)."""
    if importlib.util.find_spec("stridecue.record.store") is not None:
        from stridecue.record.store import RunStore

        store = RunStore.open(base)
        try:
            return int(store.session_count(profile))
        finally:
            store.close()
    return sum(1 for _path, meta in _profile_runs(base, profile))


def _profile_runs(base: Path, profile: str):
    """(path, metadata) of the profile's run files, newest first."""
    folder = runs_dir(base)
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*.scrun"), key=lambda p: p.name, reverse=True):
        meta = read_metadata(path)
        if meta is not None and _profile_of(meta) == profile:
            yield path, meta


def _profile_of(meta: dict) -> str:
    p = meta.get("profile")
    if isinstance(p, dict):
        p = p.get("name")
    return str(p) if p else "default"


def read_metadata(path: Path) -> dict | None:
    """The metadata chunk of a run file without reading its samples (None if unreadable)."""
    import json
    import zlib

    from stridecue.record.runformat import CHUNK_HEADER_SIZE, CHUNK_META, FILE_HEADER_SIZE, MAGIC

    try:
        with open(path, "rb") as f:
            head = f.read(FILE_HEADER_SIZE + CHUNK_HEADER_SIZE)
            if len(head) < FILE_HEADER_SIZE + CHUNK_HEADER_SIZE or not head.startswith(MAGIC):
                return None
            kind, _slot, _flags, length, crc = struct.unpack_from("<BBHII", head, FILE_HEADER_SIZE)
            if kind != CHUNK_META or length > (16 << 20):
                return None
            payload = f.read(length)
            stored = f.read(4)
        if len(payload) != length or len(stored) != 4 or zlib.crc32(payload) & 0xFFFFFFFF != struct.unpack("<I", stored)[0]:
            return None
        return json.loads(payload)
    except (OSError, ValueError):
        return None


def saved_baseline(base: Path, profile: str, mounts: set[str] | None = None) -> tuple[float, float, str] | None:
    """(median, spread, run name) of the wobble baseline of the profile's latest real run that formed
    one, with the same sensor mounts when `mounts` is given."""
    from stridecue.record.runreader import RunReader

    for path, meta in _profile_runs(base, profile):
        if meta.get("simulated"):
            continue
        if mounts is not None and {s.get("mount", "shin") for s in meta.get("sensors", [])} != set(mounts):
            continue
        try:
            summary = RunReader(path).summary or {}
        except UserError:
            continue
        legs = (summary.get("coach") or {}).get("baseline") or {}
        if legs:
            medians = [v["median_deg"] for v in legs.values()]
            spreads = [v["spread_deg"] for v in legs.values()]
            return float(sum(medians) / len(medians)), float(max(spreads)), path.name
    return None


# -- the live view --------------------------------------------------------------------------------


class ProgressLine:
    """A line per minute of run time (the live view when the output is not a terminal)."""

    def __init__(self, quiet: bool, sensors: list[dict] = ()):
        from stridecue.analysis.combine import repeated_segments

        self.quiet = quiet
        self._next_minute = 1
        self.count = 0
        self._repeated = repeated_segments((s["leg"], s["mount"]) for s in sensors if s.get("mount") and s.get("leg"))

    def __call__(self, stride: Stride) -> None:
        if stride.kind != "run" or (stride.leg, stride.mount) in self._repeated:
            return
        self.count += 1
        if self.quiet or stride.known_t < self._next_minute * 60:
            return
        self._next_minute = int(stride.known_t // 60) + 1
        print(
            f"  {int(stride.known_t // 60):3d}:00  strides {self.count:5d}  wobble {_num(stride.wobble_deg):5.1f} deg"
            f"  landing {_num(stride.pta_axial_g):5.1f} g  cadence {_num(stride.cadence_spm):5.0f}",
            flush=True,
        )


def _num(v) -> float:
    return float("nan") if v is None else float(v)



def make_view(args, coaching: Coaching, sensors: list[dict]):
    """(dashboard or None, on_stride hook): the rich dashboard on a terminal, a line a minute otherwise."""
    if args.quiet:
        return None, ProgressLine(True, sensors)
    from rich.console import Console

    console = Console()
    if not console.is_terminal:
        return None, ProgressLine(False, sensors)
    from stridecue.coach.live_view import Dashboard

    dash = Dashboard(coaching.coach, console=console, profile=coaching.profile.name, sensors=sensors)
    for note in coaching.notes:
        dash.note(note)
    return dash, dash.on_stride
