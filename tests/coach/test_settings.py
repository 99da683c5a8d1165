"""Settings file (TOML, a profile per runner) and flags: values reach the coach, mistakes are one clear line."""

import argparse
import json
import subprocess
import sys

import pytest

from stridecue.errors import UserError
from stridecue.coach.setup import apply_flags, profile_from_args
from stridecue.coach.settings import DEFAULT_FADING, Profile, load_profile

GOOD = """
default_profile = "anna"

[profile.anna]
threshold = "baseline"
k = 2.5
wobble_words = ["Squeeze your glutes", "Knees out"]
volume = 0.6
sound = "both"
fading = true
fading_schedule = [[3, 1.0], [5, 0.5]]
load_cue = true
load_threshold_g = 9.5
cadence_cue = true
cadence_target_spm = "auto"

[profile.ben]
threshold = "absolute"
absolute_deg = 7.0
baseline = "saved"
cooldown_s = 30
max_per_minute = 2
"""


def write(tmp_path, text, name="settings.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_no_file_gives_the_defaults(tmp_path):
    p = load_profile(None, None, tmp_path)
    assert p.name == "default" and p.source is None
    assert p.coach.threshold == "baseline" and p.coach.k == 2.0 and not p.fading
    assert p.fading_schedule == DEFAULT_FADING


def test_default_file_in_the_data_directory_and_its_default_profile(tmp_path):
    write(tmp_path, GOOD)
    p = load_profile(None, None, tmp_path)
    assert p.name == "anna" and p.source == str(tmp_path / "settings.toml")
    assert p.coach.k == 2.5 and p.coach.wobble_words == ("Squeeze your glutes", "Knees out")
    assert p.volume == 0.6 and p.sound == "both" and p.fading and p.fading_schedule == ((3, 1.0), (5, 0.5))
    assert p.coach.load_cue and p.coach.load_threshold_g == 9.5
    assert p.coach.cadence_cue and p.coach.cadence_target_spm is None  # "auto": from the runner's baseline


def test_profile_by_name_from_an_explicit_file(tmp_path):
    path = write(tmp_path, GOOD, "other.toml")
    p = load_profile(path, "ben", tmp_path)
    assert p.name == "ben" and p.baseline == "saved"
    assert p.coach.threshold == "absolute" and p.coach.absolute_deg == 7.0
    assert p.coach.cooldown_s == 30.0 and p.coach.max_per_minute == 2.0
    json.dumps(p.as_dict())  # recorded in the run metadata


@pytest.mark.parametrize(
    "text, expected",
    [
        ('[profile.a]\ntresh = 3\n', ["profile.a.tresh", "unknown key", "threshold"]),
        ('[profile.a]\nthreshold = "high"\n', ["profile.a.threshold", "'high'", "'baseline', 'absolute'"]),
        ('[profile.a]\nvolume = 1.5\n', ["profile.a.volume", "from 0 to 1"]),
        ('[profile.a]\nwindow = 2.5\n', ["profile.a.window", "integer"]),
        ('[profile.a]\nload_cue = "yes"\n', ["profile.a.load_cue", "true or false"]),
        ('[profile.a]\nfading_schedule = [[4, 1.0], [2, 0.5]]\n', ["profile.a.fading_schedule", "increasing"]),
        ('[profile.a]\nwobble_words = []\n', ["profile.a.wobble_words", "non-empty"]),
        ('[profile.a]\nk = "auto"\n', ["profile.a.k", "'auto'"]),
        ('colour = "red"\n', ["colour", "unknown key"]),
        ('[profile.a]\nk = \n', ["not valid TOML"]),
    ],
)
def test_a_wrong_key_or_value_is_named(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(UserError) as e:
        load_profile(path, None, tmp_path)
    message = str(e.value)
    assert "\n" not in message and message.startswith("settings.toml")
    for part in expected:
        assert part in message, (part, message)


def test_a_typo_in_another_profile_is_caught_too(tmp_path):
    path = write(tmp_path, GOOD + '\n[profile.carl]\nvolumen = 0.5\n')
    with pytest.raises(UserError, match=r"profile\.carl\.volumen: unknown key"):
        load_profile(path, "anna", tmp_path)


def test_missing_file_and_unknown_profile(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_profile(tmp_path / "nope.toml", None, tmp_path)
    path = write(tmp_path, GOOD)
    with pytest.raises(UserError, match=r"no profile 'zoe' \(profiles: anna, ben\)"):
        load_profile(path, "zoe", tmp_path)


def test_flags_win_over_the_profile_and_are_checked(tmp_path):
    write(tmp_path, GOOD)
    args = argparse.Namespace(settings=None, profile=None, threshold_deg=9.0, volume=0.3, fading=False, k=None)
    p = profile_from_args(args, tmp_path)
    assert p.name == "anna" and p.coach.threshold == "absolute" and p.coach.absolute_deg == 9.0
    assert p.volume == 0.3 and p.fading is False
    with pytest.raises(UserError, match=r"^--volume 3\.0: not allowed \(must be a number from 0 to 1\)$"):
        apply_flags(Profile(), argparse.Namespace(volume=3.0))
    with pytest.raises(UserError, match="choose one"):
        apply_flags(Profile(), argparse.Namespace(threshold_deg=8.0, k=2.0))


def test_cli_reports_a_bad_settings_file_in_one_line(tmp_path):
    write(tmp_path, '[profile.a]\ncooldown_s = -5\n')
    out = subprocess.run([sys.executable, "-m", "stridecue.cli", "--data-dir", str(tmp_path), "run", "--simulate", "--duration", "5"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "profile.a.cooldown_s" in lines[0] and "from 0 to 3600" in lines[0], out.stderr
    assert not (tmp_path / "runs").exists()  # nothing recorded
