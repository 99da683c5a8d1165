"""Run/replay wiring: profile history (sessions, saved baseline), coaching set-up, replay order."""

import argparse
import datetime as dt

import numpy as np
import pytest

from stridecue.coach import setup as coach_setup
from stridecue.live import replay, simulated
from stridecue.coach.policy import Coach, CoachSettings
from stridecue.record.runfile import RunWriter, run_file_path
from stridecue.link.samples import SampleBlock
from stridecue.coach.settings import Profile
from stridecue.link.stream import Missing


def make_run(base, profile="anna", minute=0, baseline=None, simulated=False, settings=None, mount="shin"):
    start = dt.datetime(2026, 11, 20, 8, minute, tzinfo=dt.timezone.utc)
    path = run_file_path(base, start, "StrideCue-LS")
    meta = {"start_time": start.isoformat(), "profile": profile, "simulated": simulated,
            "sensors": [{"slot": 0, "mount": mount, "leg": "left"}], "settings": settings or {}}
    with RunWriter(path, meta) as w:
        w.close(summary={"coach": {"baseline": baseline or {}}})
    return path


def test_metadata_is_read_without_the_samples(tmp_path):
    path = make_run(tmp_path)
    assert coach_setup.read_metadata(path)["profile"] == "anna"
    broken = tmp_path / "broken.scrun"
    broken.write_bytes(path.read_bytes()[:40])
    assert coach_setup.read_metadata(broken) is None
    (tmp_path / "text.scrun").write_text("not a run")
    assert coach_setup.read_metadata(tmp_path / "text.scrun") is None


def test_profile_runs_newest_first_and_only_that_profile(tmp_path):
    make_run(tmp_path, "anna", 1)
    make_run(tmp_path, "ben", 2)
    make_run(tmp_path, "anna", 3)
    names = [p.name for p, _ in coach_setup._profile_runs(tmp_path, "anna")]
    assert len(names) == 2 and names[0] > names[1]


def test_saved_baseline_comes_from_the_latest_real_run_that_formed_one(tmp_path):
    make_run(tmp_path, "anna", 1, baseline={"left": {"median_deg": 5.0, "spread_deg": 0.8}})
    newest_real = make_run(tmp_path, "anna", 2, baseline={"left": {"median_deg": 6.0, "spread_deg": 0.6},
                                                          "right": {"median_deg": 7.0, "spread_deg": 0.9}})
    make_run(tmp_path, "anna", 3, baseline={"left": {"median_deg": 20.0, "spread_deg": 3.0}}, simulated=True)
    make_run(tmp_path, "anna", 4)  # a run too short to form one
    median, spread, name = coach_setup.saved_baseline(tmp_path, "anna")
    assert (median, spread, name) == (6.5, 0.9, newest_real.name)
    thigh = make_run(tmp_path, "anna", 5, baseline={"left": {"median_deg": 3.0, "spread_deg": 0.5}}, mount="thigh")
    assert coach_setup.saved_baseline(tmp_path, "anna", {"thigh"}) == (3.0, 0.5, thigh.name)
    assert coach_setup.saved_baseline(tmp_path, "anna", {"shin"})[2] == newest_real.name  # a thigh baseline never coaches a shin
    assert coach_setup.saved_baseline(tmp_path, "ben") is None


def test_prepare_coaching_fades_by_session_and_uses_the_saved_baseline(tmp_path, monkeypatch):
    monkeypatch.setattr(coach_setup, "session_count", lambda base, profile: 4)  # this is the 5th session
    make_run(tmp_path, "anna", 1, baseline={"left": {"median_deg": 5.0, "spread_deg": 0.8}})
    profile = Profile(name="anna", fading=True, baseline="saved")
    coaching = coach_setup.prepare_coaching(profile, tmp_path, play=False, track=True)
    coach = coaching.coach
    assert isinstance(coach, Coach)
    assert coaching.session == 5 and coaching.feedback_fraction == 0.5 and coach.settings.feedback_fraction == 0.5
    assert coach.settings.baseline_deg == 5.0 and coach.settings.baseline_spread_deg == 0.8
    assert coach.threshold("left") == pytest.approx(6.6)
    assert any("session 5" in n for n in coaching.notes)
    meta = coaching.metadata()
    assert meta["session"] == 5 and meta["coach"]["feedback_fraction"] == 0.5 and meta["profile"]["name"] == "anna"
    assert meta["baseline_from"] and not meta["guided"]


def test_without_fading_every_cue_is_spoken_and_no_saved_baseline_is_a_note(tmp_path):
    coaching = coach_setup.prepare_coaching(Profile(name="zoe", baseline="saved"), tmp_path, play=False)
    assert coaching.coach.settings.feedback_fraction == 1.0 and coaching.session is None
    assert any("no saved baseline" in n for n in coaching.notes)


def test_guided_replaces_the_coach():
    coaching = coach_setup.prepare_coaching(Profile(), None, guided=True, play=False, track=False)
    assert type(coaching.coach).__name__ == "GuidedProtocol"
    assert coaching.metadata()["guided"]


def test_replay_uses_the_recorded_settings_unless_told_otherwise(tmp_path):
    recorded = Profile(name="anna", volume=0.4)
    recorded.coach = CoachSettings(threshold="absolute", absolute_deg=7.5, feedback_fraction=0.25)
    meta = {"profile": "anna", "settings": {"coach": recorded.coach.__dict__, "profile": recorded.as_dict()}}
    args = argparse.Namespace(settings=None, profile=None, guided=False)
    profile, from_run = replay.replay_profile(args, tmp_path, meta)
    assert from_run and profile.name == "anna" and profile.volume == 0.4
    assert profile.coach.absolute_deg == 7.5 and profile.coach.feedback_fraction == 0.25 and not profile.fading
    args = argparse.Namespace(settings=None, profile=None, guided=False, k=3.0)
    profile, _ = replay.replay_profile(args, tmp_path, meta)
    assert profile.coach.threshold == "baseline" and profile.coach.k == 3.0  # a flag over the recorded settings
    (tmp_path / "settings.toml").write_text('[profile.ben]\nk = 1.5\n')
    profile, from_run = replay.replay_profile(argparse.Namespace(settings=None, profile="ben"), tmp_path, meta)
    assert not from_run and profile.name == "ben" and profile.coach.k == 1.5


class _Reader:
    def __init__(self, blocks, missing):
        self._blocks, self._missing = blocks, missing

    def blocks(self):
        return iter(self._blocks)

    def missing(self):
        return list(self._missing)


def _block(first, n, sensor=0):
    return SampleBlock(index=np.arange(first, first + n), raw=np.zeros((n, 6), np.int16), rate=416.0, accel_g=32,
                       gyro_code=16, sensor=sensor)


def test_replay_gives_the_missing_ranges_in_sample_order():
    reader = _Reader([_block(0, 10), _block(15, 10), _block(0, 5, sensor=1), _block(30, 5)], [(0, 10, 5), (0, 25, 5), (1, 5, 3)])
    items = list(replay._recorded_items(reader))
    kinds = [(type(i).__name__, i.sensor, i.first if isinstance(i, Missing) else int(i.index[0])) for i in items]
    assert kinds == [("SampleBlock", 0, 0), ("Missing", 0, 10), ("SampleBlock", 0, 15), ("SampleBlock", 1, 0),
                     ("Missing", 0, 25), ("SampleBlock", 0, 30), ("Missing", 1, 5)]




def test_simulated_run_logs_cues_with_settings_and_a_cue_track_and_replay_reproduces_them(tmp_path):
    import json
    import subprocess
    import sys

    from stridecue.record.runreader import RunReader

    (tmp_path / "settings.toml").write_text('[profile.anna]\nthreshold = "absolute"\nabsolute_deg = 3.0\ncooldown_s = 15\n')
    cmd = [sys.executable, "-m", "stridecue.cli", "--data-dir", str(tmp_path)]
    out = subprocess.run(cmd + ["run", "--simulate", "--duration", "75", "--speed", "max", "--quiet", "--audio", "none"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "no audio output" not in out.stderr and "Traceback" not in out.stderr
    runs = sorted((tmp_path / "runs").rglob("*.scrun"))
    assert len(runs) == 1
    reader = RunReader(runs[0])
    meta = reader.metadata
    assert meta["profile"] == "anna" and meta["settings"]["coach"]["absolute_deg"] == 3.0
    assert meta["settings"]["profile"]["audio"] == "none"
    first_index = int(next(reader.blocks()).index[0])
    assert reader.summary["running_strides"] > 50, f"the live path found no running strides (stream starts at sample {first_index})"
    cues = [e for e in reader.events() if e.get("kind") == "cue"]
    assert cues, "a 3 degree threshold must be passed by a 6 degree runner"
    for c in cues:
        assert c["reason"] and c["values"]["threshold_deg"] == 3.0 and c["values"]["wobble_avg_deg"] > 3.0
    times = [c["t"] for c in cues]
    assert all(b - a >= 15.0 for a, b in zip(times, times[1:]))
    summary = reader.summary
    assert summary["cues"] == len(cues) and summary["coach"]["cues"] == len(cues)
    track = runs[0].with_name(runs[0].name.replace(".scrun", ".cues.wav"))
    assert track.exists() and summary["cue_track"] == track.name
    assert f"cue track: {track}" in out.stdout

    replay = subprocess.run(cmd + ["replay", str(runs[0]), "--quiet"], capture_output=True, text=True, timeout=300)
    assert replay.returncode == 0, replay.stderr
    assert f"{len(cues)} cues (the run had {len(cues)})" in replay.stdout
    json.dumps(meta)


class _Runner:
    def __init__(self):
        self.heard = []

    def cue(self, t, kind="wobble"):
        self.heard.append((t, kind))
        return True


class _Clock:
    def now(self):
        return 42.0


def test_the_virtual_runner_hears_cues_it_knows_when_they_are_played():
    from stridecue.coach.policy import Cue

    runner = _Runner()
    ear = simulated.VirtualRunnerEar(runner)
    ear.speak(Cue(t=10.0, kind="wobble", words="Squeeze your glutes", reason="", values={}))
    ear.speak(Cue(t=12.0, kind="guide", words="Relax and run normally", reason="", values={}))
    simulated.VirtualRunnerEar(runner, _Clock()).speak(Cue(t=13.0, kind="hip", words="Glutes", reason="", values={}))
    assert runner.heard == [(10.0, "wobble"), (42.0, "hip")]


def test_run_and_replay_offer_the_coaching_flags():
    from stridecue.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["run", "--simulate", "--settings", "s.toml", "--profile", "anna", "--guided", "--threshold-deg", "7",
                              "--load-cue", "--no-fading", "--volume", "0.5", "--audio", "none", "--no-cue-track"])
    assert (args.settings, args.profile, args.guided, args.threshold_deg, args.load_cue, args.fading, args.volume, args.audio,
            args.no_cue_track) == ("s.toml", "anna", True, 7.0, True, False, 0.5, "none", True)
    args = parser.parse_args(["replay", "x.scrun", "--profile", "ben", "--k", "3"])
    assert args.profile == "ben" and args.k == 3.0 and args.fading is None and not args.guided


def test_no_audio_output_is_one_note_at_the_start_and_the_run_goes_on(tmp_path):
    import subprocess
    import sys

    from stridecue.coach.audio import open_player

    player, note = open_player("auto")
    player.close()
    if note is None:
        pytest.skip(f"this machine has an audio output ({player.name})")
    out = subprocess.run([sys.executable, "-m", "stridecue.cli", "--data-dir", str(tmp_path), "run", "--simulate", "--duration", "3"],
                         capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr
    notes = [line for line in out.stdout.splitlines() if "no audio output" in line]
    assert len(notes) == 1 and notes[0].startswith("note: no audio output (") and "cues are logged and printed only" in notes[0]
    assert "run saved:" in out.stdout
    assert "Traceback" not in out.stderr


def test_the_coaching_is_described_in_one_line(tmp_path):
    coaching = coach_setup.prepare_coaching(Profile(name="anna"), tmp_path, play=False, track=False)
    line = coach_setup.describe_coaching(coaching)
    assert "\n" not in line and "profile 'anna' (built-in defaults)" in line and "baseline + 2 x spread" in line
    p = Profile(name="ben")
    p.coach = CoachSettings(threshold="absolute", absolute_deg=7.0, load_cue=True)
    line = coach_setup.describe_coaching(coach_setup.prepare_coaching(p, tmp_path, play=False, track=False))
    assert "wobble over 7°" in line and "also landing load" in line and "at most 3/min, 20 s apart" in line


def test_guided_simulated_run_speaks_the_protocol(tmp_path):
    import subprocess
    import sys

    from stridecue.record.runreader import RunReader

    out = subprocess.run([sys.executable, "-m", "stridecue.cli", "--data-dir", str(tmp_path), "run", "--simulate", "--guided",
                          "--duration", "90", "--speed", "max", "--quiet", "--audio", "none"],
                         capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr
    reader = RunReader(next((tmp_path / "runs").rglob("*.scrun")))
    assert reader.metadata["settings"]["guided"] is True and "guided_protocol" in reader.metadata["settings"]
    cues = [e for e in reader.events() if e.get("kind") == "cue"]
    assert cues and all(c["values"].get("protocol") == "guided" for c in cues)
    assert cues[0]["values"]["segment"] == "warmup"
