"""Hip or foot? The guided troubleshooting run's protocol, spoken by voice.

Running coaches sort knee-wobble runners into two groups by trying two internal focuses:
"tighten your glutes and core right before landing" (the hip controls the thigh) and "curl
your toes into the ground as you land" (the foot and arch control the shank).  Whichever
makes the knee steadier points to the exercise set that helps.

The protocol, on the run clock from the first running stride:

    warm-up | baseline | focus 1 (+ reminders) | run normally | focus 2 (+ reminders) | run normally

The order of the two focuses is a setting (alternate it between runs to balance out
learning).  GuidedProtocol has the Coach interface (on_stride -> Cue | None, settings, cues_),
so RunPipeline drives it like the coach.  Each cue's values say which segment it opens, so the
analysis of the run afterwards (review/guided.py) needs only the run's events.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stridecue.coach.policy import Cue

HIP_WORDS = "Tighten your glutes and core right before landing"
FOOT_WORDS = "Curl your toes into the ground as you land"
HIP_REMINDER = "Glutes and core, right before landing"
FOOT_REMINDER = "Toes into the ground as you land"


@dataclass
class GuidedSettings:
    """Durations in seconds of run time."""

    warmup_s: float = 60.0  # running before the baseline starts (get into a rhythm)
    baseline_s: float = 120.0
    focus_s: float = 120.0  # each focus segment
    normal_s: float = 120.0  # running normally between and after the focus segments
    reminder_s: float = 30.0  # a focus is repeated this often during its segment
    settle_s: float = 10.0  # the start of each segment is left out of the analysis
    order: tuple[str, str] = ("hip", "foot")

    def __post_init__(self):
        self.order = tuple(self.order)
        if sorted(self.order) != ["foot", "hip"]:
            raise ValueError(f"order must be ('hip', 'foot') or ('foot', 'hip'), not {self.order!r}")
        for name in ("warmup_s", "baseline_s", "focus_s", "normal_s", "reminder_s", "settle_s"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0")
        if self.reminder_s <= 0:
            raise ValueError("reminder_s must be > 0")

    def plan(self) -> list[tuple[str, float, float]]:
        """(segment, start, end) in seconds after the first running stride."""
        first, second = self.order
        lengths = [("warmup", self.warmup_s), ("baseline", self.baseline_s), (first, self.focus_s),
                   ("normal", self.normal_s), (second, self.focus_s), ("recheck", self.normal_s)]
        out, t = [], 0.0
        for name, length in lengths:
            out.append((name, t, t + length))
            t += length
        return out

    @property
    def duration_s(self) -> float:
        return self.plan()[-1][2]


_ANNOUNCE = {
    "warmup": "Guided run: hip or foot. Run at your easy pace; the baseline starts in a moment",
    "baseline": "Baseline: run normally",
    "hip": HIP_WORDS,
    "foot": FOOT_WORDS,
    "normal": "Relax and run normally",
    "recheck": "Relax and run normally",
    "done": "Guided run done. Carry on as you like",
}
_REMIND = {"hip": HIP_REMINDER, "foot": FOOT_REMINDER}


class GuidedProtocol:
    """Speaks the guided hip-or-foot protocol; drop-in for Coach in RunPipeline.

    Cue kinds: "hip" and "foot" for the focus instructions and their reminders, "guide" for
    the neutral announcements (baseline, run normally, done).  Each cue's values say which
    segment it opens: {"protocol": "guided", "segment", "segment_index", "start_t", "end_t",
    "reminder"} with times on the run clock, so the analysis needs only the run's events.
    """

    def __init__(self, settings: GuidedSettings | None = None):
        self.settings = settings or GuidedSettings()
        self.cues_: list[Cue] = []
        self.t0_: float | None = None  # run time of the first running stride
        self._plan = self.settings.plan()
        self._next_segment = 0
        self._segment = -1
        self._next_reminder = np.inf
        self._done = False

    @classmethod
    def phrases(cls) -> dict[str, list[str]]:
        """Every phrase the protocol speaks, by cue kind (so audio can render them before the run)."""
        neutral = [w for k, w in _ANNOUNCE.items() if k not in _REMIND]
        return {"hip": [HIP_WORDS, HIP_REMINDER], "foot": [FOOT_WORDS, FOOT_REMINDER], "guide": list(dict.fromkeys(neutral))}

    def threshold(self, leg: str) -> float | None:  # the Coach interface; no wobble threshold here
        return None

    @property
    def segment_(self) -> str | None:
        """The segment being run now (None before the first stride, "done" after the last)."""
        if self._done:
            return "done"
        return self._plan[self._segment][0] if self._segment >= 0 else None

    def on_stride(self, t: float, leg: str, wobble_deg: float, pta_g: float | None = None, cadence_spm: float | None = None) -> Cue | None:
        if self._done:
            return None
        if self.t0_ is None:
            self.t0_ = float(t)
        rel = t - self.t0_
        if self._next_segment < len(self._plan) and rel >= self._plan[self._next_segment][1]:
            # skip segments of zero length (or ones a long gap jumped over) to the current one
            while self._next_segment + 1 < len(self._plan) and rel >= self._plan[self._next_segment + 1][1]:
                self._next_segment += 1
            self._segment = self._next_segment
            self._next_segment += 1
            name, start, end = self._plan[self._segment]
            self._next_reminder = rel + self.settings.reminder_s if name in _REMIND else np.inf
            return self._say(t, name, _ANNOUNCE[name], start, end, reminder=False)
        if rel >= self._plan[-1][2]:
            self._done = True
            return self._say(t, "done", _ANNOUNCE["done"], self._plan[-1][2], self._plan[-1][2], reminder=False)
        name, start, end = self._plan[self._segment]
        if rel >= self._next_reminder and rel < end - self.settings.reminder_s / 3:
            self._next_reminder = rel + self.settings.reminder_s
            return self._say(t, name, _REMIND[name], start, end, reminder=True)
        return None

    def _say(self, t: float, segment: str, words: str, start: float, end: float, reminder: bool) -> Cue:
        kind = segment if segment in _REMIND else "guide"
        values = {"protocol": "guided", "segment": segment, "segment_index": self._segment if segment != "done" else len(self._plan),
                  "start_t": round(self.t0_ + start, 3), "end_t": round(self.t0_ + end, 3), "reminder": reminder}
        reason = f"guided run: {'reminder, ' if reminder else ''}{segment} segment"
        cue = Cue(t=t, kind=kind, words=words, reason=reason, values=values)
        self.cues_.append(cue)
        return cue
