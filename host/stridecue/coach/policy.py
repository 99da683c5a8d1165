"""The coach: decides, stride by stride, when to speak a cue.

Policy (after the gait-retraining studies: Noehren et al. 2011, Willy et al. 2012 for
real-time frontal-plane feedback with faded schedules; Crowell & Davis 2011 for tibial
acceleration feedback):
- a personal baseline of wobble from the first strides of the run (or a saved one);
  threshold = baseline median + k x robust spread, or an absolute value in degrees;
- decide on the moving average of the last `window` strides (of the worse leg with two
  sensors), with hysteresis (re-armed only once the average falls below threshold - hysteresis,
  or a reminder when it stays over `repeat_s` after a cue), a cool-down between cues and a cap
  on cues per minute;
- faded feedback: a fraction of the eligible cues is spoken, set per session by a schedule;
- optional cues for landing load and cadence.
Every cue carries its reason and the metric values behind it, for the run log.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from statistics import median as _median


@dataclass(frozen=True)
class Cue:
    t: float  # run time the decision was made (s)
    kind: str  # "wobble", "load", "cadence"
    words: str
    reason: str
    values: dict


@dataclass
class CoachSettings:
    threshold: str = "baseline"  # "baseline" or "absolute"
    k: float = 2.0  # baseline + k x spread
    absolute_deg: float = 8.0
    baseline_strides: int = 30  # per leg, after the warm-up
    warmup_strides: int = 10
    baseline_deg: float | None = None  # a saved baseline (median) ...
    baseline_spread_deg: float | None = None  # ... and spread; both skip the baseline phase
    min_spread_deg: float = 0.5  # a very steady runner still gets a usable threshold
    window: int = 5
    hysteresis_deg: float = 0.5
    cooldown_s: float = 20.0
    repeat_s: float = 60.0  # still over threshold this long after a cue: a reminder (0: never)
    max_per_minute: float = 3.0
    feedback_fraction: float = 1.0  # faded feedback: share of eligible cues that are spoken
    wobble_words: tuple[str, ...] = ("Squeeze your glutes", "Knees apart")
    load_cue: bool = False
    load_threshold_g: float | None = None  # None: baseline + k x spread of peak tibial acceleration
    load_target_pct: float | None = None  # instead: this many % below the run's own load baseline (a retraining target)
    load_words: str = "Land softer"
    cadence_cue: bool = False
    cadence_target_spm: float | None = None  # None: the runner's baseline cadence + cadence_increase_pct
    cadence_increase_pct: float = 7.5  # Heiderscheit et al. 2011: +5-10 % cadence unloads the knee
    cadence_words: str = "Quicker steps"


@dataclass
class _Signal:
    """One metric's baseline, moving average and hysteresis state (per leg)."""

    values: list = field(default_factory=list)
    recent: deque = field(default_factory=lambda: deque(maxlen=5))
    baseline: float | None = None
    spread: float | None = None
    armed: bool = True
    cued_t: float = -math.inf  # when this signal's last cue (or silent faded episode) was



class Coach:
    """Feed it per-stride metrics in time order; it returns the cues to speak."""

    def __init__(self, settings: CoachSettings | None = None):
        self.settings = settings or CoachSettings()
        s = self.settings
        self._wobble: dict[str, _Signal] = {}
        self._load: dict[str, _Signal] = {}
        self._cadence: deque = deque(maxlen=max(s.window, 1) * 2)
        self._cadence_first: list[float] = []
        self._cadence_baseline: float | None = None
        self._cadence_armed = True
        self._last_cue_t = -math.inf
        self._latest: dict = {}
        self._cue_times: deque = deque()
        self._spoken_credit = 0.0
        self.cues_: list[Cue] = []
        self.suppressed_: int = 0  # episodes left silent by faded feedback
        self.silenced_: list[Cue] = []  # ... the cues they would have been, for the run log
        self.postponed_: int = 0  # decisions held back by the cool-down or the cap

    def threshold(self, leg: str, mount: str | None = None) -> float | None:
        """The current wobble threshold (deg) for this leg (and segment), None while the baseline is forming."""
        s = self.settings
        if s.threshold == "absolute":
            return s.absolute_deg
        sig = self._signal(self._wobble, leg, mount)
        if sig is None or sig.baseline is None:
            if s.baseline_deg is not None:
                return s.baseline_deg + s.k * max(s.baseline_spread_deg or s.min_spread_deg, s.min_spread_deg)
            return None
        return sig.baseline + s.k * sig.spread

    def baseline(self, leg: str, mount: str | None = None) -> tuple[float, float] | None:
        sig = self._signal(self._wobble, leg, mount)
        if sig is None or sig.baseline is None:
            return None
        return sig.baseline, sig.spread

    @property
    def baselines_(self) -> dict[str, dict]:
        """Wobble baseline per leg as formed (or given), for the run log and later runs."""
        return {leg: {"median_deg": round(sig.baseline, 3), "spread_deg": round(sig.spread, 3)}
                for leg, sig in self._wobble.items() if sig.baseline is not None}

    def cadence_target(self) -> float | None:
        s = self.settings
        if s.cadence_target_spm is not None:
            return s.cadence_target_spm
        if self._cadence_baseline is None:
            return None
        return self._cadence_baseline * (1.0 + s.cadence_increase_pct / 100.0)

    def on_stride(self, t: float, leg: str, wobble_deg: float, pta_g: float | None = None, cadence_spm: float | None = None,
                  mount: str | None = None) -> Cue | None:
        """One running stride's metrics (t = when they became known); return a cue or None.

        mount: give it when one leg may carry two sensors (thigh and shin): each segment then has
        its own baseline and moving average, named "left thigh", "left shin" in the cue values.
        """
        s = self.settings
        key = leg if mount is None else f"{leg} {mount}"
        wob = self._update(self._wobble, key, wobble_deg, s.baseline_deg, s.baseline_spread_deg)
        if pta_g is not None and _finite(pta_g):
            self._update(self._load, key, pta_g, None, None)
        if cadence_spm is not None and _finite(cadence_spm):
            self._cadence.append(cadence_spm)
            if self._cadence_baseline is None:
                self._cadence_first.append(cadence_spm)
                if len(self._cadence_first) >= s.warmup_strides + s.baseline_strides:
                    self._cadence_baseline = float(_median(self._cadence_first[s.warmup_strides :]))
                    self._cadence_first = []
        self._latest = {"leg": leg, "wobble_deg": _r(wobble_deg), "pta_g": _r(pta_g), "cadence_spm": _r(cadence_spm, 1)}

        # a stride whose wobble is withheld (frame settling, implausible) never prompts a wobble cue
        cue = self._check_wobble(t, key, wob) if _finite(wobble_deg) else None
        if cue is None and s.load_cue:
            cue = self._check_load(t, key)
        if cue is None and s.cadence_cue:
            cue = self._check_cadence(t)
        return cue

    # -- internals --------------------------------------------------------------------

    @staticmethod
    def _signal(table: dict, leg: str, mount: str | None) -> "_Signal | None":
        if mount is not None and f"{leg} {mount}" in table:
            return table[f"{leg} {mount}"]
        sig = table.get(leg)
        if sig is None:  # strides given with their mount, asked for by leg: that leg's first segment
            sig = next((v for k, v in table.items() if k.startswith(leg + " ")), None)
        return sig

    def _update(self, table: dict, leg: str, value: float, saved_base, saved_spread) -> _Signal:
        s = self.settings
        sig = table.get(leg)
        if sig is None:
            sig = table[leg] = _Signal(recent=deque(maxlen=s.window))
            if saved_base is not None:
                sig.baseline = saved_base
                sig.spread = max(saved_spread or s.min_spread_deg, s.min_spread_deg)
        if not _finite(value):
            return sig
        sig.recent.append(value)
        if sig.baseline is None:
            sig.values.append(value)
            need = s.warmup_strides + s.baseline_strides
            if len(sig.values) >= need:
                base = sig.values[s.warmup_strides :]
                median = float(_median(base))
                spread = 1.4826 * float(_median([abs(v - median) for v in base]))  # robust SD
                sig.baseline = median
                sig.spread = max(spread, s.min_spread_deg)
                sig.values = []
        return sig

    def _worst_average(self, table: dict) -> tuple[str, float, float] | None:
        """(leg, moving average, threshold) of the leg furthest over its threshold."""
        best = None
        for leg, sig in table.items():
            thr = self._wobble_threshold(sig) if table is self._wobble else self._load_threshold(sig)
            if thr is None or len(sig.recent) < sig.recent.maxlen:
                continue
            avg = _mean(sig.recent)
            if best is None or avg - thr > best[1] - best[2]:
                best = (leg, avg, thr)
        return best

    def _wobble_threshold(self, sig: _Signal) -> float | None:
        s = self.settings
        if s.threshold == "absolute":
            return s.absolute_deg
        if sig.baseline is None:
            return None
        return sig.baseline + s.k * sig.spread

    def _load_threshold(self, sig: _Signal) -> float | None:
        s = self.settings
        if s.load_threshold_g is not None:
            return s.load_threshold_g
        if sig.baseline is None:
            return None
        if s.load_target_pct is not None:  # Crowell & Davis 2011: a target below the runner's baseline
            return sig.baseline * (1.0 - s.load_target_pct / 100.0)
        return sig.baseline + s.k * sig.spread

    def _check_wobble(self, t: float, leg: str, sig: _Signal) -> Cue | None:
        worst = self._worst_average(self._wobble)
        if worst is None:
            return None
        wleg, avg, thr = worst
        wsig = self._wobble[wleg]
        if avg < thr - self.settings.hysteresis_deg:
            wsig.armed = True
            return None
        reminder = not wsig.armed and self.settings.repeat_s > 0 and t - wsig.cued_t >= self.settings.repeat_s
        if avg <= thr or not (wsig.armed or reminder):
            return None
        kinds = sum(1 for c in self.cues_ if c.kind == "wobble")
        words = leg_words(wleg, "knee", self.settings.wobble_words[kinds % len(self.settings.wobble_words)])
        values = {"leg": wleg, "wobble_avg_deg": round(avg, 2), "threshold_deg": round(thr, 2), "window": wsig.recent.maxlen,
                  "wobble_window_deg": [round(float(v), 2) for v in wsig.recent], "stride": self._latest}
        if wsig.baseline is not None:
            values["baseline_deg"], values["spread_deg"] = round(wsig.baseline, 2), round(wsig.spread, 2)
        reason = f"{wleg} wobble {avg:.1f} deg over threshold {thr:.1f} deg (mean of last {wsig.recent.maxlen} strides)"
        if reminder:
            reason += f"; still over {t - wsig.cued_t:.0f} s after the last cue"
            values["reminder"] = True
        cue, consumed = self._emit(t, "wobble", words, reason, values)
        if consumed:
            wsig.armed = False
            wsig.cued_t = t
        return cue

    def _check_load(self, t: float, leg: str) -> Cue | None:
        worst = self._worst_average(self._load)
        if worst is None:
            return None
        wleg, avg, thr = worst
        sig = self._load[wleg]
        if avg < thr * 0.95:
            sig.armed = True
            return None
        if avg <= thr or not sig.armed:
            return None
        values = {"leg": wleg, "pta_avg_g": round(avg, 2), "threshold_g": round(thr, 2),
                  "pta_window_g": [round(float(v), 2) for v in sig.recent], "stride": self._latest}
        cue, consumed = self._emit(t, "load", leg_words(wleg, "leg", self.settings.load_words), f"{wleg} landing load {avg:.1f} g over {thr:.1f} g", values)
        if consumed:
            sig.armed = False
        return cue

    def _check_cadence(self, t: float) -> Cue | None:
        target = self.cadence_target()
        if target is None or len(self._cadence) < self._cadence.maxlen:
            return None
        avg = _mean(self._cadence)
        if avg >= target * 0.99:
            self._cadence_armed = True
            return None
        if avg >= target * 0.97 or not self._cadence_armed:
            return None
        values = {"cadence_avg_spm": round(avg, 1), "target_spm": round(target, 1), "stride": self._latest}
        if self._cadence_baseline is not None:
            values["baseline_spm"] = round(self._cadence_baseline, 1)
        cue, consumed = self._emit(t, "cadence", self.settings.cadence_words, f"cadence {avg:.0f} below target {target:.0f} steps/min", values)
        if consumed:
            self._cadence_armed = False
        return cue

    def _emit(self, t: float, kind: str, words: str, reason: str, values: dict) -> tuple[Cue | None, bool]:
        """(the cue to speak or None, whether this episode is used up).

        Cool-down and the cap only postpone a cue; fading decides to leave an episode silent.
        """
        s = self.settings
        while self._cue_times and self._cue_times[0] <= t - 60.0:
            self._cue_times.popleft()
        if t - self._last_cue_t < s.cooldown_s or len(self._cue_times) + 1 > s.max_per_minute:
            self.postponed_ += 1
            return None, False
        # Faded feedback: speak a steady share of the eligible cues (credit accumulates).
        self._spoken_credit += s.feedback_fraction
        if self._spoken_credit < 1.0 - 1e-9:
            self.suppressed_ += 1
            self.silenced_.append(Cue(t=t, kind=kind, words=words, reason=reason + "; left silent (faded feedback)", values=values))
            return None, True
        self._spoken_credit -= 1.0
        cue = Cue(t=t, kind=kind, words=words, reason=reason, values=values)
        self._last_cue_t = t
        self._cue_times.append(t)
        self.cues_.append(cue)
        return cue, True


LEGS = ("left", "right")


def leg_words(leg_key: str, part: str, phrase: str) -> str:
    """The cue's words naming the leg it is about ("Left knee: squeeze your glutes"): with a
    sensor on each leg, or one on either, the runner cannot tell from the phrase alone which knee
    caved.  leg_key is the coach's key: "left", or "left shin" with two segments on one leg."""
    leg = leg_key.split()[0]
    first = phrase[:1].lower() if phrase[1:2].islower() else phrase[:1]  # "Squeeze" -> "squeeze"; "OK" stays
    return f"{leg.capitalize()} {part}: {first}{phrase[1:]}"


def _mean(values) -> float:
    return sum(values) / len(values)  # a few floats: plain Python beats numpy's call overhead


def _finite(v) -> bool:
    try:
        return math.isfinite(v)
    except TypeError:
        return False


def _r(v, nd=2):
    return None if v is None or not _finite(v) else round(float(v), nd)


def faded_fraction(session_number: int, schedule: tuple[tuple[int, float], ...] = ((4, 1.0), (6, 0.5), (8, 0.25))) -> float:
    """Share of cues to speak in the n-th retraining session (1-based).

    Default after Willy et al. 2012: continuous feedback for the first sessions, then faded,
    then none: (up to session 4: all), (5-6: half), (7-8: a quarter), later: none.
    """
    for last_session, fraction in schedule:
        if session_number <= last_session:
            return fraction
    return 0.0
