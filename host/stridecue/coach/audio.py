"""Cue audio: sounds rendered once at the start, played at once when the coach decides.

- CueSounds renders every cue the run can give before the first stride: speech with espeak-ng
  (the words from the settings, wobble and load cues once per leg since they name it) and/or a
  short tone per cue kind, at the volume asked for.
- open_player() finds an output: sounddevice (PortAudio; one output stream kept open so a cue
  starts within one audio block), else `aplay`, else `paplay`, else none.  With no output
  there is one clear note (AudioCues.note) and cues are still logged and printed by the others.
- AudioCues is the pipeline's cue sink that plays them and records, per cue, how long from the
  decision to the start of playback (`latency_ms_`) and the output's own latency apart.
- CueTrack keeps the cues of a run and writes them as a WAV aligned to the run's time line,
  next to the run file, never overwriting anything.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
import threading
import time
import wave
from collections import deque
from pathlib import Path

import numpy as np

from stridecue.coach.policy import LEGS, Cue, CoachSettings, leg_words
from stridecue.errors import UserError

SPEECH_RATE_HZ = 22050  # espeak-ng's native rate
TRACK_RATE_HZ = 8000  # cue track: speech-band quality, ~58 MB per hour of run
TONES_HZ = {"wobble": 880.0, "hip": 880.0, "foot": 660.0, "load": 440.0, "cadence": 1320.0}


class CueSounds:
    """Every cue sound of a run, rendered once.  clip(cue) -> float32 mono samples at rate_hz."""

    def __init__(self, settings: CoachSettings | None = None, sound: str = "speech", voice: str = "en", volume: float = 1.0,
                 rate_hz: int = SPEECH_RATE_HZ, extra_words: dict[str, list[str]] | None = None):
        if sound not in ("speech", "tone", "both"):
            raise ValueError(f"sound must be speech, tone or both, not {sound!r}")
        if not 0.0 <= volume <= 1.0:
            raise ValueError(f"volume must be 0..1, not {volume}")
        self.settings = settings or CoachSettings()
        self.sound = sound
        self.voice = voice
        self.volume = volume
        self.rate_hz = rate_hz
        self.extra_words = extra_words or {}
        self.note_: str | None = None  # why speech fell back to tones, if it did
        self.clips_: dict[tuple[str, str], np.ndarray] = {}
        self.render_ms_: float | None = None

    def words(self) -> dict[str, list[str]]:
        """Every phrase the run can speak, by cue kind: wobble and load cues once per leg (they name it)."""
        s = self.settings
        words = {"wobble": [leg_words(leg, "knee", w) for leg in LEGS for w in s.wobble_words],
                 "load": [leg_words(leg, "leg", s.load_words) for leg in LEGS], "cadence": [s.cadence_words]}
        for kind, extra in self.extra_words.items():
            words.setdefault(kind, [])
            words[kind] += [w for w in extra if w not in words[kind]]
        return words

    def render(self) -> "CueSounds":
        started = time.perf_counter()
        if self.sound in ("speech", "both") and shutil.which("espeak-ng") is None:
            self.note_ = "espeak-ng is not installed: cues are tones instead of words (apt-get install espeak-ng)"
        for kind, phrases in self.words().items():
            for phrase in phrases:
                self.clips_[(kind, phrase)] = self._render_one(kind, phrase)
        self.render_ms_ = (time.perf_counter() - started) * 1000.0
        return self

    def _render_one(self, kind: str, phrase: str) -> np.ndarray:
        speech = self.sound in ("speech", "both") and self.note_ is None
        said = np.zeros(0, np.float32)
        if speech:
            try:
                said = speak_to_array(phrase, self.voice, self.rate_hz)
            except UserError as e:
                self.note_ = f"{e}: cues are tones instead of words"
                speech = False
        tone = np.zeros(0, np.float32)
        if self.sound in ("tone", "both") or not speech:
            tone = _tone(TONES_HZ.get(kind, 880.0), self.rate_hz)
        gap = np.zeros(int(0.05 * self.rate_hz) if len(tone) and len(said) else 0, np.float32)
        return (np.concatenate([tone, gap, said]) * self.volume).astype(np.float32)

    def clip(self, cue: Cue) -> np.ndarray:
        found = self.clips_.get((cue.kind, cue.words))
        if found is None:  # words not known at start (a protocol's own words): rendered once, now
            found = self.clips_[(cue.kind, cue.words)] = self._render_one(cue.kind, cue.words)
        return found


def speak_to_array(text: str, voice: str = "en", rate_hz: int = SPEECH_RATE_HZ) -> np.ndarray:
    """espeak-ng's rendering of text as float32 mono at rate_hz (peak-normalised to 0.9)."""
    try:
        out = subprocess.run(["espeak-ng", "-v", voice, "--stdout", text], capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise UserError(f"espeak-ng failed ({e})") from None
    if out.returncode != 0 or not out.stdout:
        problem = (out.stderr.decode(errors="replace").strip().splitlines() or ["no output"])[0]
        raise UserError(f"espeak-ng cannot say {text!r} with voice {voice!r} ({problem})")
    with wave.open(io.BytesIO(out.stdout)) as w:
        rate = w.getframerate()
        pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768.0
        if w.getnchannels() > 1:
            pcm = pcm.reshape(-1, w.getnchannels()).mean(axis=1)
    if rate != rate_hz:
        pcm = _resample(pcm, rate, rate_hz)
    peak = float(np.max(np.abs(pcm))) if len(pcm) else 0.0
    return (pcm * (0.9 / peak) if peak > 0 else pcm).astype(np.float32)


def _tone(freq: float, rate_hz: int, seconds: float = 0.12, beeps: int = 2) -> np.ndarray:
    """Short beeps with 10 ms fades (no clicks)."""
    n = int(seconds * rate_hz)
    t = np.arange(n) / rate_hz
    beep = 0.6 * np.sin(2 * np.pi * freq * t)
    fade = min(int(0.01 * rate_hz), n // 2)
    ramp = np.linspace(0.0, 1.0, fade)
    beep[:fade] *= ramp
    beep[n - fade :] *= ramp[::-1]
    gap = np.zeros(int(0.06 * rate_hz))
    parts = []
    for i in range(beeps):
        parts += [beep] + ([gap] if i < beeps - 1 else [])
    return np.concatenate(parts).astype(np.float32)


def _resample(x: np.ndarray, src: int, dst: int) -> np.ndarray:
    """x from src to dst Hz, band-limited, by the FFT method (scipy.signal.resample's) in numpy:
    the clips are converted to the output's rate before a run starts, and scipy.signal takes longer
    to import than that on a Pi Zero (issue 17).  A clip begins and ends in near silence, so the
    method's wrap-around at the ends is inaudible."""
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    if int(src) == int(dst) or n == 0:
        return x.astype(np.float32)
    m = max(int(round(n * int(dst) / int(src))), 1)
    spectrum = np.fft.rfft(x)
    kept = np.zeros(m // 2 + 1, dtype=complex)
    keep = min(len(spectrum), len(kept))
    kept[:keep] = spectrum[:keep]
    return (np.fft.irfft(kept, m) * (m / n)).astype(np.float32)


def _wav_bytes(pcm: np.ndarray, rate_hz: int) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate_hz)
        w.writeframes(_to_int16(pcm).tobytes())
    return buf.getvalue()


def _to_int16(pcm: np.ndarray) -> np.ndarray:
    return (np.clip(pcm, -1.0, 1.0) * 32767.0).astype("<i2")


# -- players --------------------------------------------------------------------------------------


class Playback:
    """One cue being played: when it was asked for and when its first sample went to the output."""

    __slots__ = ("asked", "started", "output_latency_s")

    def __init__(self, asked: float):
        self.asked = asked  # perf_counter
        self.started: float | None = None  # perf_counter when playback began (None: not yet / unknown)
        self.output_latency_s: float | None = None  # the output's own delay to the speaker, when known


class NullPlayer:
    """No audio output: nothing is played."""

    name = "none"
    output_latency_s = None

    def play(self, pcm: np.ndarray) -> Playback | None:
        return None

    def close(self) -> None:
        pass


class SoundDevicePlayer:
    """PortAudio via sounddevice: one output stream opened at start; play() queues a clip that the
    audio callback starts within one block (~6 ms)."""

    name = "sounddevice"

    def __init__(self, rate_hz: int = SPEECH_RATE_HZ, blocksize: int = 128, device=None):
        import sounddevice as sd  # raises OSError without PortAudio

        self._queue: deque = deque()
        self._current: tuple[np.ndarray, int] | None = None
        self._lock = threading.Lock()
        try:
            self.stream = self._open(sd, rate_hz, blocksize, device)
        except sd.PortAudioError:  # a device without this rate: its own default rate, clips resampled
            default = int(sd.query_devices(device, kind="output")["default_samplerate"])
            self.stream = self._open(sd, default, max(blocksize * default // rate_hz, 64), device)
        self.rate_hz = int(self.stream.samplerate)
        self.stream.start()
        self.output_latency_s = float(self.stream.latency)

    def _open(self, sd, rate_hz: int, blocksize: int, device):
        return sd.OutputStream(samplerate=rate_hz, channels=1, dtype="float32", blocksize=blocksize, latency="low",
                               callback=self._callback, device=device)

    def play(self, pcm: np.ndarray) -> Playback:
        handle = Playback(time.perf_counter())
        with self._lock:
            self._queue.append((pcm, handle))
        return handle

    def _callback(self, outdata, frames, time_info, status) -> None:  # PortAudio's thread
        out = outdata[:, 0]
        out.fill(0.0)
        pos = 0
        with self._lock:
            while pos < frames:
                if self._current is None:
                    if not self._queue:
                        return
                    pcm, handle = self._queue.popleft()
                    handle.started = time.perf_counter()
                    try:
                        handle.output_latency_s = float(time_info.outputBufferDacTime - time_info.currentTime) + pos / self.rate_hz
                    except (AttributeError, TypeError):
                        handle.output_latency_s = self.output_latency_s
                    self._current = (pcm, 0)
                pcm, at = self._current
                n = min(frames - pos, len(pcm) - at)
                out[pos : pos + n] = pcm[at : at + n]
                pos += n
                at += n
                self._current = None if at >= len(pcm) else (pcm, at)

    def close(self) -> None:
        try:
            self.stream.stop()
            self.stream.close()
        except Exception:  # closing a dead device must not hide the run's own result
            pass


class CommandPlayer:
    """`aplay` or `paplay` on pre-written WAV files; play() starts the process and returns."""

    def __init__(self, command: str, rate_hz: int = SPEECH_RATE_HZ):
        self.name = command
        self.rate_hz = rate_hz
        self.output_latency_s = None  # not reported by these tools
        self._dir = tempfile.TemporaryDirectory(prefix="stridecue-cues-")
        self._files: dict[int, str] = {}
        self._procs: list[subprocess.Popen] = []
        self.argv = [command, "-q"] if command == "aplay" else [command]

    def prepare(self, pcm: np.ndarray) -> str:
        key = id(pcm)
        path = self._files.get(key)
        if path is None:
            path = str(Path(self._dir.name) / f"cue{len(self._files)}.wav")
            Path(path).write_bytes(_wav_bytes(pcm, self.rate_hz))
            self._files[key] = path
        return path

    def check(self) -> str | None:
        """None when the command plays a short silence; else why not (one line)."""
        path = self.prepare(np.zeros(int(0.02 * self.rate_hz), np.float32))
        try:
            out = subprocess.run(self.argv + [path], capture_output=True, timeout=5)
        except (OSError, subprocess.TimeoutExpired) as e:
            return f"{self.name}: {e}"
        if out.returncode != 0:
            lines = out.stderr.decode(errors="replace").strip().splitlines()
            return f"{self.name}: {lines[-1] if lines else f'exit status {out.returncode}'}"
        return None

    def play(self, pcm: np.ndarray) -> Playback:
        handle = Playback(time.perf_counter())
        self._procs = [p for p in self._procs if p.poll() is None]
        self._procs.append(subprocess.Popen(self.argv + [self.prepare(pcm)], stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        handle.started = time.perf_counter()  # the process is running; its own buffering is unknown
        return handle

    def close(self) -> None:
        for p in self._procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
        self._dir.cleanup()


def open_player(choice: str = "auto", rate_hz: int = SPEECH_RATE_HZ):
    """(player, note): the first output that works; note says why others did not (None if fine)."""
    if choice not in ("auto", "sounddevice", "aplay", "paplay", "none"):
        raise UserError(f"audio output {choice!r} unknown (auto, sounddevice, aplay, paplay, none)")
    if choice == "none":
        return NullPlayer(), "audio off: cues are logged and printed only"
    problems = []
    if choice in ("auto", "sounddevice"):
        try:
            return SoundDevicePlayer(rate_hz), None
        except Exception as e:  # OSError (no PortAudio), PortAudioError (no device), ...
            problems.append(f"sounddevice: {_first_line(e)}")
    for command in ("aplay", "paplay"):
        if choice not in ("auto", command):
            continue
        if shutil.which(command) is None:
            problems.append(f"{command}: not installed")
            continue
        player = CommandPlayer(command, rate_hz)
        problem = player.check()
        if problem is None:
            return player, None
        player.close()
        problems.append(problem)
    return NullPlayer(), "no audio output (" + "; ".join(problems) + "): cues are logged and printed only"


def _first_line(e: Exception) -> str:
    text = str(e) or type(e).__name__
    return text.strip().splitlines()[0] if text.strip() else type(e).__name__


class AudioCues:
    """The cue sink that plays cues.  latency_ms_: per played cue, decision -> playback start."""

    def __init__(self, sounds: CueSounds, player):
        self.sounds = sounds
        self.player = player
        self.playbacks_: list[Playback] = []
        self._converted: dict[int, np.ndarray] = {}
        for clip in sounds.clips_.values():  # converted before the run, not at cue time
            self._for_output(clip)

    @property
    def note(self) -> str | None:
        return self.sounds.note_

    def _for_output(self, clip: np.ndarray) -> np.ndarray:
        """The clip at the output's rate (converted once per clip)."""
        rate = getattr(self.player, "rate_hz", self.sounds.rate_hz)
        if rate == self.sounds.rate_hz:
            return clip
        key = id(clip)
        converted = self._converted.get(key)
        if converted is None:
            converted = self._converted[key] = _resample(clip, self.sounds.rate_hz, rate)
        return converted

    def speak(self, cue: Cue) -> None:
        handle = self.player.play(self._for_output(self.sounds.clip(cue)))
        if handle is not None:
            self.playbacks_.append(handle)

    def latency_ms_(self) -> list[float]:
        return [(p.started - p.asked) * 1000.0 for p in self.playbacks_ if p.started is not None]

    def output_latency_ms_(self) -> float | None:
        known = [p.output_latency_s for p in self.playbacks_ if p.output_latency_s is not None]
        if known:
            return float(np.median(known)) * 1000.0
        return None if self.player.output_latency_s is None else self.player.output_latency_s * 1000.0

    def close(self) -> None:
        self.player.close()


class CueTrack:
    """The run's cues as one WAV on the run's time line: the track's 0 is `start_s` on the sensor's
    clock (0 by default: the sensor's first sample; a run that begins later on a sensor that stays
    on, as the pocket daemon's runs do, sets it to its own first sample, or its track would begin
    with all the time before the run as silence)."""

    def __init__(self, sounds: CueSounds, rate_hz: int = TRACK_RATE_HZ, start_s: float = 0.0):
        self.sounds = sounds
        self.rate_hz = rate_hz
        self.start_s = start_s
        self.cues: list[Cue] = []
        self._clips: dict[tuple[str, str], np.ndarray] = {}

    def speak(self, cue: Cue) -> None:
        self.cues.append(cue)

    def _clip(self, cue: Cue) -> np.ndarray:
        key = (cue.kind, cue.words)
        if key not in self._clips:
            self._clips[key] = _resample(self.sounds.clip(cue), self.sounds.rate_hz, self.rate_hz)
        return self._clips[key]

    def write(self, run_path: str | Path, duration_s: float | None = None) -> Path | None:
        """Write <run>.cues.wav (or -2, -3 ... if taken); None when the run had no cues."""
        if not self.cues:
            return None
        path = track_path(run_path)
        cues = sorted(self.cues, key=lambda c: c.t)
        end_s = max((duration_s or 0.0) - self.start_s, max(self._at(c) + len(self._clip(c)) / self.rate_hz for c in cues))
        total = int(round(end_s * self.rate_hz)) + 1
        silence = np.zeros(self.rate_hz, "<i2")
        try:
            f = open(path, "xb")
        except FileExistsError:  # lost a race: never overwrite
            raise UserError(f"{path}: already exists; a cue track is never overwritten") from None
        with f, wave.open(f, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(self.rate_hz)
            pos = 0

            def pad_to(frame: int) -> int:
                nonlocal pos
                while pos < frame:
                    n = min(frame - pos, len(silence))
                    w.writeframes(silence[:n].tobytes())
                    pos += n
                return pos

            for cue in cues:
                start = max(int(round(self._at(cue) * self.rate_hz)), pos)  # overlapping cues play one after the other
                pad_to(start)
                clip = _to_int16(self._clip(cue))
                w.writeframes(clip.tobytes())
                pos += len(clip)
            pad_to(total)
        return path

    def _at(self, cue: Cue) -> float:
        """Seconds into the track (a cue is never placed before it begins)."""
        return max(cue.t - self.start_s, 0.0)


def track_path(run_path: str | Path) -> Path:
    run_path = Path(run_path)
    stem = run_path.name[: -len(run_path.suffix)] if run_path.suffix else run_path.name
    path = run_path.with_name(stem + ".cues.wav")
    n = 2
    while path.exists():
        path = run_path.with_name(f"{stem}.cues-{n}.wav")
        n += 1
    return path
