"""The daemon's spoken status: short prompts rendered once with espeak-ng and kept on disk, so a
small computer is ready in seconds after a reboot and says each one without delay.

A prompt is a kind and, for the sensor prompts, the sensor's place ("left shin").  The words are
here; the sound is coach/audio.py's (speak_to_array); clips are WAV files under
<data dir>/prompts/, named by a hash of voice and words, written whole and renamed into place.
Where espeak-ng is missing, each prompt is a tone pattern of its own (the runner still hears
that something happened).
"""

from __future__ import annotations

import hashlib
import io
import shutil
import wave
from pathlib import Path

import numpy as np

from stridecue.coach.audio import SPEECH_RATE_HZ, _tone, _wav_bytes, speak_to_array
from stridecue.errors import UserError

WORDS = {
    "waiting": "Waiting for the sensor.",
    "connected": "{place} sensor connected.",
    "stand still": "Stand still.",
    "ready": "Ready. Start running when you like.",
    "go": "Go.",
    "lost": "{place} sensor lost.",
    "back": "{place} sensor back.",
    "battery low": "{place} sensor battery low.",
    "saved": "Run saved.",
}
PLACES = tuple(f"{leg} {mount}" for leg in ("left", "right") for mount in ("shin", "thigh"))
_TONE_HZ = {"waiting": 440.0, "connected": 660.0, "stand still": 550.0, "ready": 880.0, "go": 990.0,
            "lost": 330.0, "back": 770.0, "battery low": 300.0, "saved": 1100.0}


def phrase(kind: str, place: str | None = None) -> str:
    words = WORDS[kind]
    if "{place}" in words:
        if place is None:
            raise ValueError(f"the {kind!r} prompt names a sensor")
        return words.format(place=place.capitalize())
    return words


class Prompts:
    """Every prompt clip, from the cache or rendered into it.  clip(kind, place) -> float32 samples.

    Results: `rendered_` (clips rendered this time, not found in the cache), `note_` (why speech
    fell back to tones, if it did)."""

    def __init__(self, cache_dir: Path, voice: str = "en", volume: float = 1.0, rate_hz: int = SPEECH_RATE_HZ):
        self.cache_dir = Path(cache_dir)
        self.voice = voice
        self.volume = volume
        self.rate_hz = rate_hz
        self.rendered_ = 0
        self.note_: str | None = None
        self._clips: dict[str, np.ndarray] = {}

    def prepare(self) -> "Prompts":
        """Every fixed prompt, for every place: from the cache, or rendered now and kept."""
        if shutil.which("espeak-ng") is None:
            self.note_ = "espeak-ng is not installed: prompts are tones (apt-get install espeak-ng)"
        for kind, words in WORDS.items():
            for place in (PLACES if "{place}" in words else (None,)):
                self.clip(kind, place)
        return self

    def clip(self, kind: str, place: str | None = None) -> np.ndarray:
        return self.say(phrase(kind, place), kind)

    def say(self, text: str, kind: str = "saved", keep: bool = True) -> np.ndarray:
        """Any words.  keep=False: rendered now and not written to the cache (the spoken summary is
        new each run; kept, the cache would grow by a file per run)."""
        found = self._clips.get(text)
        if found is None:
            found = self._load_or_render(text, kind, keep)
            if keep:
                self._clips[text] = found
        return found

    def _load_or_render(self, text: str, kind: str, keep: bool = True) -> np.ndarray:
        spoken = self.note_ is None
        path = self.cache_dir / f"{_key(self.voice if spoken else 'tone', text, self.rate_hz)}.wav"
        if path.exists():
            try:
                return _read_wav(path) * self.volume
            except (OSError, EOFError, wave.Error):
                pass  # a damaged cache file is rendered again
        pcm = self._render(text, kind)
        self.rendered_ += 1
        if not keep:
            return pcm * self.volume
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(".tmp")
            temporary.write_bytes(_wav_bytes(pcm, self.rate_hz))
            temporary.replace(path)
        except OSError:
            pass  # no cache (read-only data dir): the prompt still plays, rendered each start
        return pcm * self.volume

    def _render(self, text: str, kind: str) -> np.ndarray:
        if self.note_ is None:
            try:
                return speak_to_array(text, self.voice, self.rate_hz)
            except UserError as e:
                self.note_ = f"{e}: prompts are tones"
        return _tone(_TONE_HZ.get(kind, 880.0), self.rate_hz, beeps=3 if kind in ("lost", "battery low") else 1)


def _key(voice: str, text: str, rate_hz: int) -> str:
    return hashlib.sha1(f"{voice}|{rate_hz}|{text}".encode()).hexdigest()[:16]


def _read_wav(path: Path) -> np.ndarray:
    with wave.open(io.BytesIO(path.read_bytes())) as w:
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768.0
