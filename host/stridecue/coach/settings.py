"""Coaching settings: a TOML file with one profile per runner, plus command-line flags.

The file (default: <data directory>/settings.toml; `--settings FILE` for another) looks like

    default_profile = "anna"

    [profile.anna]
    threshold = "baseline"        # "baseline" (baseline + k x spread) or "absolute"
    k = 2.0
    absolute_deg = 8.0            # with threshold = "absolute"
    baseline = "run"              # "run": first strides of each run; "saved": from earlier runs
    wobble_words = ["Squeeze your glutes", "Knees apart"]
    volume = 0.8                  # 0..1
    sound = "speech"              # "speech", "tone" or "both"
    fading = true                 # faded feedback across sessions ...
    fading_schedule = [[4, 1.0], [6, 0.5], [8, 0.25]]   # ... (up to session n, share spoken)
    load_cue = true               # "Land softer" when landing load passes its threshold
    cadence_cue = true            # "Quicker steps" below the target
    cadence_target_spm = 172

Every key is optional; `KEYS` lists them with their allowed values.  A wrong key or value
raises UserError naming the file, the key path and what is allowed.  Flags given on the
command line win over the profile.  `Profile.as_dict()` is what a run records in its metadata.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from stridecue.coach.policy import CoachSettings
from stridecue.errors import UserError

SETTINGS_FILE = "settings.toml"
DEFAULT_PROFILE = "default"
DEFAULT_FADING = ((4, 1.0), (6, 0.5), (8, 0.25))  # Willy et al. 2012: continuous, then faded, then none


@dataclass
class Profile:
    """Everything a run needs to coach one runner."""

    name: str = DEFAULT_PROFILE
    coach: CoachSettings = field(default_factory=CoachSettings)
    baseline: str = "run"  # "run" or "saved"
    fading: bool = False  # off unless a runner's retraining plan asks for it
    fading_schedule: tuple[tuple[int, float], ...] = DEFAULT_FADING
    volume: float = 1.0
    sound: str = "speech"  # "speech", "tone", "both"
    voice: str = "en"  # espeak-ng voice
    audio: str = "auto"  # "auto", "sounddevice", "aplay", "paplay", "none"
    source: str | None = None  # the settings file it came from, None for built-in defaults

    def as_dict(self) -> dict:
        d = asdict(self)
        d["fading_schedule"] = [list(x) for x in self.fading_schedule]
        return d


# -- the schema ---------------------------------------------------------------------------------


def _number(lo: float | None = None, hi: float | None = None, integer: bool = False, lo_open: bool = False):
    what = "an integer" if integer else "a number"
    if lo is not None and hi is not None:
        what += f" > {lo:g} and <= {hi:g}" if lo_open else f" from {lo:g} to {hi:g}"
    elif lo is not None:
        what += f" > {lo:g}" if lo_open else f" >= {lo:g}"

    def check(v):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or (integer and not isinstance(v, int)):
            return None
        if not math.isfinite(v):
            return None
        if lo is not None and (v <= lo if lo_open else v < lo):
            return None
        if hi is not None and v > hi:
            return None
        return int(v) if integer else float(v)

    check.what = what
    return check


def _choice(*options: str):
    def check(v):
        return v if isinstance(v, str) and v in options else None

    check.what = "one of " + ", ".join(repr(o) for o in options)
    return check


def _boolean(v):
    return v if isinstance(v, bool) else None


_boolean.what = "true or false"


def _words(v):
    return v.strip() if isinstance(v, str) and v.strip() and len(v) <= 200 else None


_words.what = "a non-empty string"


def _word_list(v):
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list) or not v or not all(_words(x) for x in v):
        return None
    return tuple(x.strip() for x in v)


_word_list.what = "a non-empty list of non-empty strings"


def _schedule(v):
    if not isinstance(v, list) or not v:
        return None
    out = []
    last = 0
    for item in v:
        if not (isinstance(item, list) and len(item) == 2):
            return None
        n, frac = item
        if isinstance(n, bool) or not isinstance(n, int) or n <= last:
            return None
        if isinstance(frac, bool) or not isinstance(frac, (int, float)) or not 0.0 <= frac <= 1.0:
            return None
        out.append((n, float(frac)))
        last = n
    return tuple(out)


_schedule.what = "a list of [last session, share 0..1] pairs with increasing sessions, e.g. [[4, 1.0], [6, 0.5], [8, 0.25]]"


def _optional(check):
    """A value that may also be "auto" (= computed from the run)."""

    def inner(v):
        if v == "auto":
            return None
        out = check(v)
        return _INVALID if out is None else out

    inner.what = check.what + ' or "auto"'
    return inner


_INVALID = object()

# key -> (validator, where it goes: "coach" for CoachSettings, "profile" for Profile)
KEYS = {
    "threshold": (_choice("baseline", "absolute"), "coach"),
    "k": (_number(0.0, 10.0), "coach"),
    "absolute_deg": (_number(0.0, 45.0, lo_open=True), "coach"),
    "baseline": (_choice("run", "saved"), "profile"),
    "baseline_deg": (_optional(_number(0.0, 45.0)), "coach"),
    "baseline_spread_deg": (_optional(_number(0.0, 20.0)), "coach"),
    "warmup_strides": (_number(0, 1000, integer=True), "coach"),
    "baseline_strides": (_number(5, 1000, integer=True), "coach"),
    "min_spread_deg": (_number(0.0, 20.0), "coach"),
    "window": (_number(1, 50, integer=True), "coach"),
    "hysteresis_deg": (_number(0.0, 20.0), "coach"),
    "cooldown_s": (_number(0.0, 3600.0), "coach"),
    "repeat_s": (_number(0.0, 3600.0), "coach"),
    "max_per_minute": (_number(0.0, 60.0, lo_open=True), "coach"),
    "wobble_words": (_word_list, "coach"),
    "load_cue": (_boolean, "coach"),
    "load_threshold_g": (_optional(_number(1.0, 100.0)), "coach"),
    "load_words": (_words, "coach"),
    "cadence_cue": (_boolean, "coach"),
    "cadence_target_spm": (_optional(_number(100.0, 260.0)), "coach"),
    "cadence_increase_pct": (_number(0.0, 30.0), "coach"),
    "cadence_words": (_words, "coach"),
    "fading": (_boolean, "profile"),
    "fading_schedule": (_schedule, "profile"),
    "volume": (_number(0.0, 1.0), "profile"),
    "sound": (_choice("speech", "tone", "both"), "profile"),
    "voice": (_words, "profile"),
    "audio": (_choice("auto", "sounddevice", "aplay", "paplay", "none"), "profile"),
}
TOP_KEYS = ("default_profile", "profile")


def default_path(base: Path) -> Path:
    return Path(base) / SETTINGS_FILE


def load_profile(path: str | Path | None, profile: str | None, base: Path, overrides: dict | None = None) -> Profile:
    """The profile to coach with.

    path: --settings FILE (must exist), or None for <base>/settings.toml (may be absent: defaults).
    profile: --profile NAME, else the file's default_profile, else its only profile, else "default".
    overrides: key -> value from command-line flags (same keys and checks as the file).
    """
    explicit = path is not None
    file = Path(path).expanduser() if explicit else default_path(base)
    doc: dict = {}
    if file.exists():
        doc = read_settings(file)
    elif explicit:
        raise UserError(f"settings file {file} does not exist")
    profiles = doc.get("profile", {})
    name = profile or doc.get("default_profile")
    if name is None:
        name = next(iter(profiles)) if len(profiles) == 1 else DEFAULT_PROFILE
    if name in profiles:
        table = profiles[name]
    elif profile is not None and profiles:
        raise UserError(f"{file.name}: no profile {profile!r} (profiles: {', '.join(profiles)})")
    elif doc.get("default_profile") is not None and doc["default_profile"] not in profiles:
        raise UserError(f"{file.name}: default_profile {name!r} is not a [profile.{name}] table (profiles: {', '.join(profiles) or 'none'})")
    else:
        table = {}
    result = build_profile(name, table, where=f"{file.name}: profile.{name}")
    result.source = str(file) if file.exists() else None
    if overrides:
        result = apply(result, overrides, where="command line")
    return result


def read_settings(file: Path) -> dict:
    """Parse and check the whole file (every profile), so a typo is caught whichever profile runs."""
    try:
        with open(file, "rb") as f:
            doc = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"{file.name}: not valid TOML ({e})") from None
    except OSError as e:
        raise UserError(f"{file}: cannot read ({e.strerror or e})") from None
    for key in doc:
        if key not in TOP_KEYS:
            raise UserError(f"{file.name}: {key}: unknown key (allowed at the top: {', '.join(TOP_KEYS)})")
    if "default_profile" in doc and not isinstance(doc["default_profile"], str):
        raise UserError(f"{file.name}: default_profile: must be a profile name (a string)")
    profiles = doc.get("profile", {})
    if not isinstance(profiles, dict) or not all(isinstance(v, dict) for v in profiles.values()):
        raise UserError(f"{file.name}: profile: must be tables, e.g. [profile.anna]")
    for name, table in profiles.items():
        build_profile(name, table, where=f"{file.name}: profile.{name}")
    return doc


def build_profile(name: str, table: dict, where: str) -> Profile:
    return apply(Profile(name=name), table, where)


def apply(profile: Profile, table: dict, where: str) -> Profile:
    """A copy of profile with the keys of table set, each checked."""
    coach_changes, profile_changes = {}, {}
    for key, value in table.items():
        if key not in KEYS:
            raise UserError(f"{where}.{key}: unknown key (known: {', '.join(KEYS)})")
        check, target = KEYS[key]
        out = check(value)
        if out is _INVALID or (out is None and value != "auto") or (value == "auto" and not check.what.endswith('"auto"')):
            raise UserError(f"{where}.{key}: {value!r} is not allowed (must be {check.what})")
        (coach_changes if target == "coach" else profile_changes)[key] = out
    coach = replace(profile.coach, **coach_changes)
    if coach.baseline_spread_deg is not None and coach.baseline_deg is None:
        raise UserError(f"{where}.baseline_spread_deg: needs baseline_deg too")
    return replace(profile, coach=coach, **profile_changes)


