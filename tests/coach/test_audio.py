"""Cue audio: sounds rendered once, outputs found in order (or one clear note), the cue track WAV."""

import os
import shutil
import subprocess
import sys
import textwrap
import wave

import numpy as np
import pytest

from stridecue.coach.audio import AudioCues, CommandPlayer, CueSounds, CueTrack, NullPlayer, open_player, track_path
from stridecue.coach.policy import CoachSettings, Cue

@pytest.fixture
def _espeak():
    if shutil.which("espeak-ng") is None:  # installed by `make test` (tools/apt-packages.txt): fail, never skip
        pytest.fail("espeak-ng is not installed (Debian package from tools/apt-packages.txt; `make test` installs it)")


needs_espeak = pytest.mark.usefixtures("_espeak")


def cue(t, kind="wobble", words="Squeeze your glutes"):
    return Cue(t=t, kind=kind, words=words, reason="test", values={})


@needs_espeak
def test_speech_is_rendered_once_for_every_cue_the_run_can_give():
    sounds = CueSounds(CoachSettings(wobble_words=("Squeeze your glutes", "Knees apart"))).render()
    assert sounds.note_ is None
    # wobble and load cues name the leg: each phrase once per leg
    assert set(sounds.clips_) == {("wobble", "Left knee: squeeze your glutes"), ("wobble", "Left knee: knees apart"),
                                  ("wobble", "Right knee: squeeze your glutes"), ("wobble", "Right knee: knees apart"),
                                  ("load", "Left leg: land softer"), ("load", "Right leg: land softer"), ("cadence", "Quicker steps")}
    clip = sounds.clip(cue(1.0, words="Right knee: squeeze your glutes"))
    assert clip.dtype == np.float32 and 0.6 < len(clip) / sounds.rate_hz < 3.0  # a short phrase
    assert 0.5 < np.max(np.abs(clip)) <= 1.0
    assert sounds.clip(cue(2.0, words="Right knee: squeeze your glutes")) is clip  # no rendering at cue time


def test_tones_volume_and_a_note_without_espeak(monkeypatch):
    loud = CueSounds(sound="tone", volume=1.0).render()
    soft = CueSounds(sound="tone", volume=0.25).render()
    a, b = loud.clip(cue(0)), soft.clip(cue(0))
    assert len(a) == len(b) and np.allclose(b, 0.25 * a, atol=1e-6)
    assert not np.allclose(loud.clip(cue(0)), loud.clip(cue(0, "load", "Land softer"))[: len(a)])  # a tone per kind
    monkeypatch.setattr(shutil, "which", lambda name: None)
    fallback = CueSounds(sound="speech").render()
    assert "espeak-ng is not installed" in fallback.note_
    assert len(fallback.clip(cue(0))) > 0  # still audible: a tone


def test_no_output_at_all_gives_one_note_and_cues_still_flow(monkeypatch):
    player, note = open_player("none")
    assert isinstance(player, NullPlayer) and "logged and printed" in note
    sink = AudioCues(CueSounds(sound="tone").render(), player)
    sink.speak(cue(3.0))
    assert sink.latency_ms_() == [] and sink.output_latency_ms_() is None


def _fake_command(tmp_path, name, body):
    script = tmp_path / name
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(0o755)
    return script


def test_falls_back_to_aplay_then_reports_why_none_worked(tmp_path, monkeypatch):
    log = tmp_path / "played.txt"
    _fake_command(tmp_path, "aplay", f'echo "$@" >> {log}; exit 0')
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    player, note = open_player("aplay")
    assert isinstance(player, CommandPlayer) and note is None
    sink = AudioCues(CueSounds(sound="tone").render(), player)
    sink.speak(cue(1.0))
    sink.close()
    # the probe and the cue, each played quietly (count whole arguments: the temporary folder's
    # random name can hold "-q" too)
    assert [line.split()[0] for line in log.read_text().splitlines()] == ["-q", "-q"]
    assert len(sink.latency_ms_()) == 1

    _fake_command(tmp_path, "aplay", 'echo "aplay: main:831: audio open error: No such file or directory" >&2; exit 1')
    player, note = open_player("aplay")
    assert isinstance(player, NullPlayer)
    assert "no audio output" in note and "audio open error" in note and "\n" not in note


@pytest.mark.skipif(sys.platform != "linux", reason="ALSA null device")
def test_sounddevice_starts_playback_within_one_block(tmp_path):
    """PortAudio on ALSA's null device (no sound card here): the clip starts within 50 ms."""
    try:
        import sounddevice  # noqa: F401
    except OSError:
        pytest.fail("PortAudio is not installed (libportaudio2 from tools/apt-packages.txt; `make test` installs it)")
    conf = tmp_path / "asound.conf"
    conf.write_text("pcm.!default { type null }\nctl.!default { type hw card 0 }\n")
    code = textwrap.dedent("""
        import time
        from stridecue.coach.audio import SoundDevicePlayer, _tone
        player = SoundDevicePlayer()
        handle = player.play(_tone(880.0, player.rate_hz))
        deadline = time.perf_counter() + 2.0
        while handle.started is None and time.perf_counter() < deadline:
            time.sleep(0.001)
        player.close()
        print((handle.started - handle.asked) * 1000.0)
    """)
    env = {**os.environ, "ALSA_CONFIG_PATH": str(conf)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    assert float(out.stdout.strip().splitlines()[-1]) < 50.0


def _read_wav(path):
    with wave.open(str(path)) as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2
        return w.getframerate(), np.frombuffer(w.readframes(w.getnframes()), "<i2")


def test_cue_track_is_aligned_to_the_run_and_never_overwrites(tmp_path):
    run = tmp_path / "2026-11-23T080000Z-stridecue-ls.scrun"
    run.write_bytes(b"run")
    sounds = CueSounds(sound="tone").render()
    track = CueTrack(sounds)
    for t in (10.0, 40.5):
        track.speak(cue(t))
    path = track.write(run, duration_s=60.0)
    assert path == tmp_path / "2026-11-23T080000Z-stridecue-ls.cues.wav"
    rate, pcm = _read_wav(path)
    assert abs(len(pcm) / rate - 60.0) < 0.01
    loud = np.flatnonzero(np.abs(pcm) > 100)
    starts = [loud[0]] + [b for a, b in zip(loud[:-1], loud[1:]) if b - a > rate]
    assert len(starts) == 2
    assert np.allclose(np.array(starts) / rate, [10.0, 40.5], atol=0.01)

    before = path.read_bytes()
    again = track.write(run, duration_s=60.0)
    assert again == tmp_path / "2026-11-23T080000Z-stridecue-ls.cues-2.wav"
    assert path.read_bytes() == before
    assert track_path(run) == tmp_path / "2026-11-23T080000Z-stridecue-ls.cues-3.wav"
    assert CueTrack(sounds).write(run) is None  # no cues: no track


def test_clips_are_converted_to_the_outputs_rate_before_the_run():
    class Player48k:
        name, rate_hz, output_latency_s = "fake", 48000, None

        def __init__(self):
            self.played = []

        def play(self, pcm):
            self.played.append(pcm)

        def close(self):
            pass

    sounds = CueSounds(sound="tone").render()
    player = Player48k()
    sink = AudioCues(sounds, player)
    assert len(sink._converted) == len(sounds.clips_)
    sink.speak(cue(1.0))
    src = sounds.clip(cue(1.0))
    assert abs(len(player.played[0]) - len(src) * 48000 / sounds.rate_hz) <= 2


@pytest.mark.parametrize("dst", [48000, 44100, 16000, 8000])
def test_resampling_matches_scipys_polyphase_filter(dst):
    """The numpy resampler against scipy.signal.resample_poly (the one it replaces on the live path)
    on a speech-like clip: a tone and noise under fades, as espeak's clips begin and end quietly."""
    from math import gcd

    from scipy.signal import resample_poly

    from stridecue.coach.audio import _resample

    rng = np.random.default_rng(7)
    src = 22050
    t = np.arange(int(0.8 * src)) / src
    clip = np.sin(2 * np.pi * 440 * t) + 0.3 * np.sin(2 * np.pi * 2300 * t) + 0.1 * rng.standard_normal(len(t))
    clip *= np.hanning(len(t))
    ours = _resample(clip, src, dst)
    g = gcd(src, dst)
    theirs = resample_poly(clip, dst // g, src // g)
    assert len(ours) == len(theirs)
    # below the lower Nyquist both keep the same signal; noise above it is cut by both
    assert np.sqrt(np.mean((ours - theirs) ** 2)) < 0.02 * np.sqrt(np.mean(theirs ** 2))


def test_converting_clips_does_not_load_scipy_signal():
    """The pocket daemon converts its clips to the output's rate before a run: without scipy.signal,
    slow to import on a Pi Zero (issue 17)."""
    code = textwrap.dedent("""
        import sys
        import numpy as np
        from stridecue.coach.audio import AudioCues, CueSounds, CueTrack, _resample
        class Player:
            name, rate_hz, output_latency_s = "fake", 48000, None
            def play(self, pcm): pass
            def close(self): pass
        AudioCues(CueSounds(sound="tone").render(), Player())
        _resample(np.ones(1000), 22050, 8000)
        print("scipy.signal" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_a_cue_track_that_starts_later_on_the_sensor_clock_begins_at_its_own_start(tmp_path):
    """A run on a sensor that was on before it (the pocket daemon's second run) starts far from the
    sensor clock's 0: its track begins at the run's first sample, not with that time as silence."""
    run = tmp_path / "2026-11-23T090000Z-stridecue-ls.scrun"
    run.write_bytes(b"run")
    track = CueTrack(CueSounds(sound="tone").render(), start_s=3000.0)
    track.speak(cue(3010.0))
    rate, pcm = _read_wav(track.write(run, duration_s=3060.0))
    assert abs(len(pcm) / rate - 60.0) < 0.01
    assert abs(np.flatnonzero(np.abs(pcm) > 100)[0] / rate - 10.0) < 0.01
