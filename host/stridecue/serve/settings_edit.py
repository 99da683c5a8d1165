"""Editing the runner's settings file from the phone: threshold, cue words, voice, sound, volume.

The form's values go into the profile's table of <data dir>/settings.toml (tomlkit keeps the
file's comments and layout), and the whole new file is checked by coach/settings.py's own
reader before it replaces the old one; anything it refuses is a UserError naming the key and
what is allowed, and the file is left untouched.  An empty field removes the key (the default
applies again).
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import tomlkit

from stridecue.coach.settings import SETTINGS_FILE, Profile, default_path, load_profile, read_settings
from stridecue.errors import UserError

NUMBERS = ("k", "absolute_deg", "volume")
CHOICES = ("threshold", "sound")
TEXTS = ("voice",)
LINES = ("wobble_words",)
EDITABLE = CHOICES + NUMBERS + TEXTS + LINES
MAX_FIELD = 2000


@dataclass
class SettingsView:
    """What the settings page shows: the profile in force (defaults filled in), the file's profiles."""

    profile: Profile
    profiles: list[str]
    path: Path
    problem: str | None  # the file's own error, if it has one


def current(base: Path, name: str | None = None) -> SettingsView:
    path = default_path(base)
    try:
        names = list(read_settings(path).get("profile", {})) if path.exists() else []
        profile = load_profile(None, name if name in names else None, base)
        return SettingsView(profile, names or [profile.name], path, None)
    except UserError as e:
        return SettingsView(Profile(name=name or "default"), [name or "default"], path, str(e))


def form_values(profile: Profile) -> dict[str, str]:
    """The form's fields as text, from a profile."""
    c = profile.coach
    return {"threshold": c.threshold, "k": f"{c.k:g}", "absolute_deg": f"{c.absolute_deg:g}", "volume": f"{profile.volume:g}",
            "sound": profile.sound, "voice": profile.voice, "wobble_words": "\n".join(c.wobble_words)}


def parse_form(form: dict[str, str]) -> dict[str, object]:
    """Form text -> settings values (None: remove the key).  UserError for text that is not even
    of the right kind (a number field that holds no number); the ranges are the settings module's."""
    out: dict[str, object] = {}
    for key in EDITABLE:
        if key not in form:
            continue
        text = form[key]
        if len(text) > MAX_FIELD:
            raise UserError(f"{key}: longer than {MAX_FIELD} characters")
        text = text.strip()
        if not text:
            out[key] = None
        elif key in NUMBERS:
            try:
                value = float(text.replace(",", "."))
            except ValueError:
                raise UserError(f"{key}: {text!r} is not a number") from None
            if not math.isfinite(value):
                raise UserError(f"{key}: {text!r} is not a finite number")
            out[key] = value
        elif key in LINES:
            out[key] = [line.strip() for line in text.splitlines() if line.strip()]
        else:
            out[key] = text
    return out


def save(base: Path, profile_name: str, form: dict[str, str]) -> Profile:
    """Write the form's values into the profile's table; the profile as it now stands."""
    changes = parse_form(form)
    path = default_path(base)
    doc = _document(path)
    profiles = doc.setdefault("profile", tomlkit.table(is_super_table=True))
    if profile_name not in profiles:
        if not (0 < len(profile_name) <= 100 and profile_name.replace("-", "").replace("_", "").isalnum()):
            raise UserError(f"profile: {profile_name!r} is not a profile name (letters, digits, - and _)")
        profiles[profile_name] = tomlkit.table()
    table = profiles[profile_name]
    for key, value in changes.items():
        if value is None:
            table.pop(key, None)
        else:
            table[key] = value
    _replace_checked(path, tomlkit.dumps(doc))
    return load_profile(None, profile_name, base)


def _document(path: Path):
    if not path.exists():
        return tomlkit.document()
    try:
        return tomlkit.parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"{path.name}: cannot read ({getattr(e, 'strerror', None) or e})") from None
    except tomlkit.exceptions.ParseError as e:
        raise UserError(f"{path.name}: not valid TOML ({e})") from None


def _replace_checked(path: Path, text: str) -> None:
    """Check the new text with the settings reader, then put it in place in one rename.
    It is checked under the settings file's own name, so a refusal names that file."""
    folder = Path(tempfile.mkdtemp(prefix=".settings-", dir=path.parent))
    try:
        candidate = folder / SETTINGS_FILE
        candidate.write_text(text, encoding="utf-8")
        read_settings(candidate)  # raises UserError naming the key; the old file is untouched
        if path.exists():
            shutil.copymode(path, candidate)
        os.replace(candidate, path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
