"""Whether something had an effect: the one statistic the summary, the report and the guided run
use before they say so.

An effect is a difference with a percentile bootstrap interval; an interval that includes zero is
"no clear effect" (interval_sign 0), whatever the size of the difference.

The cues: a cue is given when the moving average of wobble is high, so wobble tends to be lower
a few strides later with no cue at all (regression to the mean; fatigue and pace move it too).
The change after a cue (mean of the n strides after it - the n before) is therefore compared with
the same change at moments of the same run and leg with no cue in the INFLUENCE_S before them.
What happens without a cue is the straight line of the change on the mean before, fitted over
those cue-free moments (a moment that starts from a higher wobble falls further); a cue is
compared only where such moments start from within MATCH_DEG of it (its matched moments).  The
effect is the mean over cues of (change after the cue - the line at its mean before), with a
bootstrap interval that resamples both the cues and the cue-free stretches (2n strides each,
since neighbouring moments share strides).  It tells whether wobble fell more after a cue than
it does anyway in this run; it cannot tell why, nor whether the runner keeps it without cues.
A run that cues so often that few moments are cue-free gets no interval ("not enough cues").
"""

from __future__ import annotations

import numpy as np

from stridecue.analysis.stride import Stride

CONFIDENCE = 0.95
N_BOOT = 2000
CUE_WINDOW = 10  # strides after a cue against the strides before it
MATCH_DEG = 0.5  # a matched moment's mean before is this close to the cue's
MIN_BLOCKS = 4  # cue-free stretches (of 2n strides) a leg needs to say what happens without a cue
INFLUENCE_S = 120.0  # a cue may change wobble for this long (hold, then fade): no matched moment within it
MIN_CUES = 3  # fewer matched cues give no interval


def percentile_interval(boot, confidence: float = CONFIDENCE) -> list[float]:
    """The central `confidence` interval of bootstrap replicates."""
    return [float(np.percentile(boot, 50 * (1 - confidence))), float(np.percentile(boot, 50 * (1 + confidence)))]


def interval_sign(ci) -> int:
    """+1 when the whole interval is above zero, -1 when below, 0 when it includes zero (no clear effect)."""
    if ci is None:
        return 0
    return 1 if ci[0] > 0 else -1 if ci[1] < 0 else 0


def boot_means(values, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    values = np.asarray(values, float)
    return values[rng.integers(0, len(values), size=(n_boot, len(values)))].mean(axis=1)


def boot_medians(values, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    values = np.asarray(values, float)
    return np.median(values[rng.integers(0, len(values), size=(n_boot, len(values)))], axis=1)


def median_shift(first, last, confidence: float = CONFIDENCE, n_boot: int = N_BOOT, seed: int = 0) -> tuple[float, list[float]] | None:
    """(median of last - median of first, its bootstrap interval over values), None without values."""
    first = np.asarray(first, float)
    last = np.asarray(last, float)
    first, last = first[np.isfinite(first)], last[np.isfinite(last)]
    if not len(first) or not len(last):
        return None
    rng = np.random.default_rng(seed)
    boot = boot_medians(last, n_boot, rng) - boot_medians(first, n_boot, rng)
    return float(np.median(last) - np.median(first)), percentile_interval(boot, confidence)


def _window_means(w: np.ndarray, k: int) -> np.ndarray:
    """Mean of the finite values of w[i:i+k] for i = 0 .. len(w)-k (NaN where none is finite)."""
    finite = np.isfinite(w)
    sums = np.r_[0.0, np.cumsum(np.where(finite, w, 0.0))]
    counts = np.r_[0, np.cumsum(finite)]
    n = counts[k:] - counts[:-k]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, (sums[k:] - sums[:-k]) / np.maximum(n, 1), np.nan)


class _Leg:
    """One leg's strides as the moments a cue could have come: for index j (the strides before j
    were known), the mean of the n strides before j, of the n from j on, and the change."""

    def __init__(self, t: np.ndarray, w: np.ndarray, n: int):
        self.t, self.n = t, n
        m = len(w)
        self.before = np.full(m + 1, np.nan)
        self.after = np.full(m + 1, np.nan)
        if m >= n:
            self.before[n:] = _window_means(w, n)
            self.after[: m - n + 1] = _window_means(w, n)
        self.change = self.after - self.before

    def index(self, t: float) -> int:
        return int(np.searchsorted(self.t, t, side="right"))

    def cue_free(self, cue_times: np.ndarray) -> np.ndarray:
        """Moments with no cue in the INFLUENCE_S up to them.  A cue later, within their strides
        after, does not exclude them: that would keep only the moments whose wobble stayed low
        enough not to prompt a cue, and make a cue look better than it is."""
        m = len(self.t)
        free = np.zeros(m + 1, bool)
        j = np.arange(self.n, m - self.n + 1)
        end = self.t[j - 1]
        start = end - INFLUENCE_S
        times = np.sort(cue_times)
        free[j] = np.searchsorted(times, start, side="left") == np.searchsorted(times, end, side="right")
        return free & np.isfinite(self.change)

    def matches(self, i: int, free: np.ndarray) -> np.ndarray:
        """The cue-free moments whose mean of the n strides before is within MATCH_DEG of the cue's."""
        return np.flatnonzero(free & (np.abs(self.before - self.before[i]) <= MATCH_DEG))

    def line_replicates(self, free: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray | None:
        """(n_boot + 1, 2): intercept and slope of change on the mean before over the cue-free
        moments, fitted once as measured (row 0) and on n_boot resamplings of the stretches;
        None with fewer than MIN_BLOCKS stretches."""
        j = np.flatnonzero(free)
        blocks, block_of = np.unique(j // (2 * self.n), return_inverse=True)
        if len(blocks) < MIN_BLOCKS:
            return None
        picks = rng.integers(0, len(blocks), size=(n_boot, len(blocks)))
        counts = np.zeros((n_boot + 1, len(blocks)))
        counts[0] = 1.0
        np.add.at(counts[1:], (np.arange(n_boot)[:, None], picks), 1.0)
        weight = counts[:, block_of]
        x, y = self.before[j], self.change[j]
        sw, sx, sy = weight.sum(1), weight @ x, weight @ y
        sxx, sxy = weight @ (x * x), weight @ (x * y)
        var = sw * sxx - sx * sx
        slope = np.divide(sw * sxy - sx * sy, var, out=np.zeros_like(var), where=var > 1e-12)
        return np.c_[(sy - slope * sx) / sw, slope]


def cue_effect(cues: list[dict], run: list[Stride], all_cues: list[dict] | None = None, n: int = CUE_WINDOW,
               seed: int = 0) -> dict:
    """The wobble cues' effect against what happens without a cue (module docstring).

    cues: the wobble cues; run: the running strides (their known_t, leg and wobble_deg); all_cues: every cue
    of the run (none of them may fall near a cue-free moment), default cues."""
    rng = np.random.default_rng(seed)
    times = np.array([c["t"] for c in (cues if all_cues is None else all_cues)], float)
    legs: dict[str | None, _Leg] = {}
    # in a fixed order: the legs share one random generator, and a set's order changes between
    # processes (string hashing), which changed the interval about one run in six
    for leg in [*sorted({s.leg for s in run}), None]:
        chosen = [s for s in run if leg is None or s.leg == leg]
        legs[leg] = _Leg(np.array([s.known_t for s in chosen], float), np.array([s.wobble_deg for s in chosen], float), n)
    free = {leg: series.cue_free(times) for leg, series in legs.items()}
    lines = {leg: series.line_replicates(free[leg], N_BOOT, rng) for leg, series in legs.items()}
    each, expected = [], []
    for cue in cues:
        leg = (cue.get("values") or {}).get("leg")
        leg = leg.split()[0] if isinstance(leg, str) else None  # "left shin" with two segments on one leg
        leg = leg if leg in legs else None
        series = legs[leg]
        i = series.index(cue["t"])
        if not (n <= i <= len(series.t) - n and np.isfinite(series.change[i])):
            continue
        matched = series.matches(i, free[leg])
        line = lines[leg] if len(matched) else None
        each.append({"t": float(cue["t"]), "leg": leg, "before_deg": float(series.before[i]), "after_deg": float(series.after[i]),
                     "matched_moments": int(len(matched)),
                     "expected_change_deg": None if line is None else float(line[0, 0] + line[0, 1] * series.before[i])})
        if line is not None:
            expected.append(line[:, 0] + line[:, 1] * series.before[i])
    figures = _cue_figures(each, np.array(expected).T if expected else None, rng)
    return {"count": len(cues), "per_minute": None, "window_strides": n, **figures, "each": each}


def _cue_figures(each: list[dict], expected: np.ndarray | None, rng: np.random.Generator) -> dict:
    """The change after the cues, the change expected without one, and the effect with its interval.
    expected: (N_BOOT + 1, matched cues), row 0 as measured, the others from resampled stretches."""
    before = np.array([e["before_deg"] for e in each], float)
    after = np.array([e["after_deg"] for e in each], float)
    matched = [e for e in each if e["expected_change_deg"] is not None]
    ci = effect = None
    if matched:
        change = np.array([e["after_deg"] - e["before_deg"] for e in matched], float)
        effect = float(np.mean(change - expected[0]))
        if len(matched) >= MIN_CUES:  # cues resampled, and with them the line fitted on resampled stretches
            picks = rng.integers(0, len(matched), size=(N_BOOT, len(matched)))
            ci = percentile_interval((change[picks] - np.take_along_axis(expected[1:], picks, axis=1)).mean(axis=1))
    return {
        "measured": len(each),
        "wobble_before_deg": float(np.mean(before)) if len(each) else None,
        "wobble_after_deg": float(np.mean(after)) if len(each) else None,
        "followed_by_less_wobble": int(np.sum(after < before)) if len(each) else None,
        "change_deg": float(np.mean(after - before)) if len(each) else None,
        "matched": len(matched),
        "expected_change_deg": float(np.mean([e["expected_change_deg"] for e in matched])) if matched else None,
        "effect_deg": effect,
        "effect_ci95_deg": ci,
        "verdict": cue_verdict(ci),
    }


def cue_verdict(ci) -> str:
    """"lower" (wobble fell more after the cues than it does without one: the interval below zero),
    "higher", "no clear effect" (the interval includes zero) or "not enough cues" (no interval)."""
    if ci is None:
        return "not enough cues"
    return {-1: "lower", 1: "higher", 0: "no clear effect"}[interval_sign(ci)]
