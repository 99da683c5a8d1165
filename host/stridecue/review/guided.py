"""Hip or foot? The analysis of a guided troubleshooting run.

The protocol itself (coach/guided.py) speaks the two internal focuses, hip and foot, between
neutral segments of running.  Each focus segment is compared with the neutral segments on either
side of it (an A-B-A design), so a steady drift such as fatigue does not favour the focus that
comes first.  The first `settle_s` of each segment are left out (the runner is changing), and
the first `carryover_s` of normal running right after a focus (a focus lingers for a while).

analyse_guided() reads the strides and the cue events of the run back and says which focus
lowered wobble and landing load more, with a bootstrap confidence interval.
"""

from __future__ import annotations

import numpy as np

from stridecue.analysis.stride import Stride
from stridecue.review.effect import boot_medians, interval_sign, percentile_interval

FOCUS_NAMES = {"hip": "hip focus (glutes and core)", "foot": "foot focus (toes into the ground)"}

# Exercise sets (after the hip- and foot-focused programmes for patellofemoral pain:
# Willy et al. 2019 clinical practice guideline; Mølgaard et al. 2018 for foot exercises).
EXERCISES = {
    "hip": {
        "title": "Glute activation and hip stability",
        "items": [
            "Side-lying hip abduction, 3 x 15 each side",
            "Clamshells with a band, 3 x 15 each side",
            "Single-leg glute bridge, 3 x 10 each side",
            "Lateral band walks, 3 x 10 steps each way",
            "Single-leg squat to a box in front of a mirror, knee over the second toe, 3 x 8",
        ],
    },
    "foot": {
        "title": "Toe and arch strengthening, single-leg balance",
        "items": [
            "Short-foot (arch doming) holds, 3 x 10 of 5 s each foot",
            "Towel curls with the toes, 3 x 30 s each foot",
            "Toe yoga (big toe up, small toes down and back), 3 x 10",
            "Single-leg heel raises, slow down, 3 x 12 each side",
            "Single-leg balance, eyes closed or on a cushion, 3 x 30 s each side",
        ],
    },
}

NEUTRAL = ("baseline", "normal", "recheck")


def guided_segments(cues: list[dict]) -> list[dict]:
    """The protocol's segments as run: [{"segment", "index", "start_t", "end_t"}] from the cue events."""
    seen: dict[int, dict] = {}
    for c in cues:
        v = c.get("values") or {}
        if v.get("protocol") != "guided" or v.get("segment") == "done":
            continue
        i = int(v.get("segment_index", len(seen)))
        if i not in seen:
            seen[i] = {"segment": v["segment"], "index": i, "start_t": float(v["start_t"]), "end_t": float(v["end_t"])}
    return [seen[i] for i in sorted(seen)]


def is_guided(cues: list[dict]) -> bool:
    return any((c.get("values") or {}).get("protocol") == "guided" for c in cues)


def _values(strides: list[Stride], seg: dict, settle_s: float, key: str) -> np.ndarray:
    lo, hi = seg["start_t"] + seg.get("skip_s", settle_s), seg["end_t"]
    v = np.array([getattr(s, key) for s in strides if s.kind == "run" and lo <= s.ic_t < hi], float)
    return v[np.isfinite(v)]


class GuidedAnalysis:
    """Which focus lowered wobble and landing load more, relative to the neutral running
    around it (A-B-A), with percentile bootstrap confidence intervals over strides."""

    def __init__(self, n_boot: int = 2000, confidence: float = 0.95, settle_s: float = 10.0, carryover_s: float = 30.0,
                 min_strides: int = 10, seed: int = 0):
        self.n_boot = n_boot
        self.confidence = confidence
        self.settle_s = settle_s  # the start of every segment is left out (the runner is changing) ...
        self.carryover_s = carryover_s  # ... and more of normal running right after a focus (it lingers)
        self.min_strides = min_strides
        self.seed = seed

    def analyse(self, strides: list[Stride], cues: list[dict]) -> "GuidedAnalysis":
        segments = guided_segments(cues)
        for prev, seg in zip([None] + segments[:-1], segments):
            after_focus = prev is not None and prev["segment"] in ("hip", "foot")
            seg["skip_s"] = min(max(self.settle_s, self.carryover_s if after_focus else 0.0), 0.5 * (seg["end_t"] - seg["start_t"]))
        self.segments_ = segments
        self.result_ = self._result(strides, segments)
        return self

    def _reference(self, segments: list[dict], i: int) -> list[dict]:
        """The neutral segments right before and right after segment i."""
        out = []
        for j in (i - 1, i + 1):
            if 0 <= j < len(segments) and segments[j]["segment"] in NEUTRAL:
                out.append(segments[j])
        return out

    def _result(self, strides: list[Stride], segments: list[dict]) -> dict:
        rng = np.random.default_rng(self.seed)
        out: dict = {"segments": [], "metrics": {}, "complete": False, "confidence": self.confidence, "bootstrap": self.n_boot}
        focus_at = {seg["segment"]: i for i, seg in enumerate(segments) if seg["segment"] in ("hip", "foot")}
        for seg in segments:
            w = _values(strides, seg, self.settle_s, "wobble_deg")
            p = _values(strides, seg, self.settle_s, "pta_axial_g")
            out["segments"].append({**seg, "strides": int(len(w)), "wobble_median_deg": _r(np.median(w)) if len(w) else None,
                                    "landing_load_median_g": _r(np.median(p)) if len(p) else None})
        missing = [f for f in ("hip", "foot") if f not in focus_at]
        if missing:
            out["problem"] = f"the {' and '.join(missing)} segment{'s were' if len(missing) > 1 else ' was'} not reached"
            return out
        for metric, key, unit in (("wobble", "wobble_deg", "deg"), ("landing_load", "pta_axial_g", "g")):
            effects, boots, problem = {}, {}, None
            for focus in ("hip", "foot"):
                i = focus_at[focus]
                refs = self._reference(segments, i)
                fv = _values(strides, segments[i], self.settle_s, key)
                rvs = [_values(strides, r, self.settle_s, key) for r in refs]
                rvs = [r for r in rvs if len(r) >= self.min_strides]
                if len(fv) < self.min_strides or not rvs:
                    problem = f"too few strides in the {focus} segment or the running around it"
                    break
                ref = np.mean([np.median(r) for r in rvs])
                effects[focus] = {"reference": _r(ref), "during": _r(np.median(fv)), "reduction": _r(ref - np.median(fv)),
                                  "reduction_pct": _r(100.0 * (ref - np.median(fv)) / ref) if ref else None, "strides": int(len(fv))}
                ref_boot = np.mean([boot_medians(r, self.n_boot, rng) for r in rvs], axis=0)
                boots[focus] = ref_boot - boot_medians(fv, self.n_boot, rng)
                effects[focus]["reduction_ci"] = percentile_interval(boots[focus], self.confidence)
            if problem:
                out["metrics"][metric] = {"problem": problem}
                continue
            diff = boots["hip"] - boots["foot"]
            ci = percentile_interval(diff, self.confidence)
            out["metrics"][metric] = {
                "unit": unit, "hip": effects["hip"], "foot": effects["foot"],
                "hip_minus_foot": _r(effects["hip"]["reduction"] - effects["foot"]["reduction"]), "hip_minus_foot_ci": ci,
                "better": _better(effects, ci),
            }
        out["complete"] = all("problem" not in m for m in out["metrics"].values())
        out["focus"], out["verdict"] = _verdict(out["metrics"])
        if out["focus"] in EXERCISES:
            out["exercises"] = EXERCISES[out["focus"]]
        return out


def _better(effects: dict, ci: list) -> str:
    """"hip" or "foot" when the difference's interval excludes 0 and the better focus itself
    lowered the metric (its interval above 0); "both", "neither" or "unclear" otherwise."""
    lowered = {f: interval_sign(effects[f]["reduction_ci"]) > 0 for f in ("hip", "foot")}
    if interval_sign(ci) > 0 and lowered["hip"]:
        return "hip"
    if interval_sign(ci) < 0 and lowered["foot"]:
        return "foot"
    if lowered["hip"] and lowered["foot"]:
        return "both"
    if not lowered["hip"] and not lowered["foot"]:
        return "neither"
    return "unclear"


def _verdict(metrics: dict) -> tuple[str | None, str]:
    w = metrics.get("wobble", {}).get("better")
    p = metrics.get("landing_load", {}).get("better")
    if w is None and p is None:
        return None, "The protocol did not produce enough strides to compare the two focuses."
    if w in ("hip", "foot"):
        focus = w
        text = f"Wobble fell more with the {FOCUS_NAMES[w]}"
        if p == w:
            text += ", and so did landing load."
        elif p in ("hip", "foot"):
            text += f"; landing load fell more with the {FOCUS_NAMES[p]}. Wobble decides here: it is what the exercises target."
        else:
            text += "; landing load did not differ clearly between the two."
        return focus, text
    words = {"both": "both focuses lowered it by similar amounts", "neither": "neither focus lowered it clearly",
             "unclear": "the difference between them is within the noise", None: "it could not be measured"}
    if p in ("hip", "foot"):
        return p, f"For wobble {words.get(w, w)}; landing load fell more with the {FOCUS_NAMES[p]}, so that is the focus to train."
    return None, (f"No clear winner: for wobble {words.get(w, w)}; for landing load {words.get(p, p)}. "
                  "Repeat the guided run (with the focuses in the other order) before choosing.")


def analyse_guided(strides: list[Stride], cues: list[dict], **kw) -> dict | None:
    """The guided-run result for a run's strides and cue events; None for a run without the protocol."""
    if not is_guided(cues):
        return None
    return GuidedAnalysis(**kw).analyse(strides, cues).result_


def format_guided(g: dict) -> list[str]:
    """Terminal lines for the summary."""
    lines = ["  guided run     hip or foot?"]
    for seg in g["segments"]:
        lines.append(f"    {seg['segment']:<9} {seg['start_t'] / 60:5.1f}-{seg['end_t'] / 60:4.1f} min  {seg['strides']:4d} strides"
                     f"  wobble {_fmt(seg['wobble_median_deg'], '°')}  landing {_fmt(seg['landing_load_median_g'], ' g')}")
    if "problem" in g:
        lines.append(f"    incomplete: {g['problem']}")
        return lines
    pct = round(100 * g["confidence"])
    for metric, label in (("wobble", "wobble"), ("landing_load", "landing load")):
        m = g["metrics"].get(metric, {})
        if "problem" in m:
            lines.append(f"    {label}: {m['problem']}")
            continue
        u, nd = ("°", 1) if m["unit"] == "deg" else (" g", 2)
        lo, hi = m["hip_minus_foot_ci"]
        lines.append(
            f"    {label:<13} {moved_words(m['hip']['reduction'], u, nd)} with hip, {moved_words(m['foot']['reduction'], u, nd)} with foot;"
            f" hip − foot {_signed(m['hip_minus_foot'], u, nd)} ({pct}% CI {_signed(lo, '', nd)} to {_signed(hi, '', nd)}; above 0: hip lowered it more)"
        )
    lines.append(f"    verdict        {g['verdict']}")
    if "exercises" in g:
        lines.append(f"    exercises      {g['exercises']['title']}: " + "; ".join(g["exercises"]["items"]))
    return lines


def moved_words(reduction: float, unit: str, nd: int) -> str:
    """A reduction in words, unsigned: "fell 2.3°", "rose 0.4°" (never "fell -0.4°")."""
    if round(reduction, nd) == 0:
        return "stayed the same"
    return f"{'fell' if reduction > 0 else 'rose'} {abs(reduction):.{nd}f}{unit}"


def _signed(v: float, unit: str, nd: int) -> str:
    return f"{v:+.{nd}f}{unit}".replace("-", "−")


def _fmt(v, unit):
    return "–" if v is None else f"{v:.1f}{unit}"


def _r(v, nd=3):
    return None if v is None or not np.isfinite(v) else round(float(v), nd)
