"""Honest figures for the accelerometer-only path (issue 14, point 3), used by `stridecue validate`:

- bach2022 leave-one-subject-out: the accelerometer-only rules were tuned on bach2022 (git log:
  4cfd244, b1bfef7, 43edf90), so the figures on all of it are not held out.  Here the rules'
  parameters (SegmentationSettings) are chosen by a small grid search on the other subjects only,
  and the figure is that of the held-out subject.  bach2022 does not name its subjects: trials of
  one person share sex, mass and height in walk+run_INFO.csv, so they are grouped by those.
- landing load against the force plate: per stride, the analysis's landing load (pta_axial_g) and
  loading rate (loading_rate_gps) against the vertical average loading rate (VALR) of the ground
  reaction force of the same contact; strides with a clipped accelerometer reading are counted
  and reported both ways.
- adept, strides counted twice: a stride much shorter than the median of its neighbours.

The evaluation never looks at what the analysis does inside; it gets strides and scores them.
"""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING
from dataclasses import dataclass, field, fields, replace

import numpy as np

from stridecue.lab.evaluation import EventTally

if TYPE_CHECKING:
    from stridecue.analysis.stride import Stride

G = 9.80665

# ============================================================================================
# subjects of bach2022


def bach_subjects(trials) -> dict[int, str]:
    """Trial number -> subject label ("S1", "S2", ... in order of first trial).

    Trials of one person share sex, mass and height in the trial table; the data set names no
    subject, so that is the grouping (it gives the 4 running and 5 walking people the data's README
    speaks of)."""
    labels: dict[tuple, str] = {}
    out = {}
    for t in sorted(trials, key=lambda t: t.number):
        key = (t.sex, float(t.mass_kg), float(t.height_cm))
        if key not in labels:
            labels[key] = f"S{len(labels) + 1}"
        out[t.number] = labels[key]
    return out


# ============================================================================================
# leave-one-subject-out


#: The accelerometer-only parameters searched per fold (SegmentationSettings field -> values).  The
#: defaults are in every list; each was set while looking at bach2022 or bears on what it scores.
LOSO_GRID = {
    "impact_fraction": (0.25, 0.35, 0.45),  # impact threshold: share of the recent impacts
    "impact_onset_accel": (0.05, 0.1, 0.2),  # IC: the jerk's share of its peak that marks the onset
    "run_max_stride_s": (0.85, 0.90, 0.95),  # longer strides are walking
    "run_first_impact_g": (2.0, 3.0, 4.0),  # the first stride of a bout is running above this impact
    "accel_walk_checks": (True, False),  # the walking rules of b1bfef7/43edf90
}
#: --quick: the two parameters that change most, 6 combinations.
LOSO_GRID_QUICK = {
    "impact_fraction": (0.25, 0.35, 0.45),
    "accel_walk_checks": (True, False),
}


def grid_settings(grid: dict) -> list[dict]:
    """Every combination of the grid, as keyword dicts for SegmentationSettings."""
    names = list(grid)
    return [dict(zip(names, values)) for values in itertools.product(*(grid[n] for n in names))]


@dataclass
class TrialScore:
    """What one set of rules did on one trial."""

    running: bool
    tp: int = 0
    fp: int = 0
    fn: int = 0
    ic_err: list = field(default_factory=list)  # seconds, matched strides
    walk_as_run: int = 0  # walking trial: contacts detected as running strides
    walk_contacts: int = 0


def score_trial(trial, strides: list[Stride], match_events) -> TrialScore:
    run = sorted((s for s in strides if s.kind == "run"), key=lambda s: s.ic_t)
    if trial.running:
        m = match_events([s.ic_t for s in run], trial.ic_t)
        return TrialScore(True, m.tp, m.fp, m.fn, list(m.errors([s.ic_t for s in run], trial.ic_t)))
    return TrialScore(False, walk_as_run=len(run), walk_contacts=len(trial.ic_t))


@dataclass
class Pooled(EventTally):
    """Trials pooled: running trials' matched contacts (EventTally) and walking trials' contacts
    taken for running."""

    walk_as_run: int = 0
    walk_contacts: int = 0
    running_trials: int = 0
    walking_trials: int = 0

    def add(self, s: TrialScore) -> "Pooled":
        if s.running:
            self.tp += s.tp
            self.fp += s.fp
            self.fn += s.fn
            self.ic += s.ic_err
            self.running_trials += 1
        else:
            self.walk_as_run += s.walk_as_run
            self.walk_contacts += s.walk_contacts
            self.walking_trials += 1
        return self

    @property
    def ic_mae_s(self) -> float | None:
        return float(np.mean(np.abs(self.ic))) if self.ic else None

    def objective(self) -> tuple:
        """Larger is better: F1 of running strides where walking contacts taken for running are
        false positives too, then the smaller IC error."""
        d = 2 * self.tp + self.fp + self.fn + self.walk_as_run
        f1 = 2 * self.tp / d if d else 0.0
        return (round(f1, 6), -(self.ic_mae_s or 0.0))


def pool(scores) -> Pooled:
    p = Pooled()
    for s in scores:
        p.add(s)
    return p


def loso_folds(table: dict[int, dict[int, TrialScore]], subjects: dict[int, str], default: int) -> list[dict]:
    """Leave-one-subject-out over a table of scores.

    table[k][trial] is the score of rule set k on a trial (every rule set on every trial, computed
    once).  For each subject: the rule set with the best objective pooled over the OTHER subjects'
    trials (ties: the default, then the lowest index), and that rule set's score on the subject's
    own trials.  Returns one dict per subject: subject, train (trial numbers), test (trial
    numbers), chosen (index), held_out (Pooled), default (Pooled: the default rules on the same
    trials, for comparison; not held out)."""
    folds = []
    for subject in sorted(set(subjects.values()), key=lambda s: int(s[1:]) if s[1:].isdigit() else s):
        test = sorted(n for n, s in subjects.items() if s == subject)
        train = sorted(n for n, s in subjects.items() if s != subject)
        best, best_key = None, None
        for k in sorted(table):
            key = pool(table[k][n] for n in train).objective()
            if best is None or key > best_key or (key == best_key and k == default):
                best, best_key = k, key
        folds.append({"subject": subject, "train": train, "test": test, "chosen": best,
                      "held_out": pool(table[best][n] for n in test),
                      "default": pool(table[default][n] for n in test)})
    return folds


def evaluate_grid(trials, combos: list[dict], analyse, block_of, match_events) -> dict[int, dict[int, TrialScore]]:
    """Every rule set of `combos` on every trial: table[k][trial number] -> TrialScore."""
    from stridecue.analysis.segmentation import SegmentationSettings

    base = SegmentationSettings()
    blocks = {t.number: block_of(t) for t in trials}
    table = {}
    for k, combo in enumerate(combos):
        settings = replace(base, **combo)
        table[k] = {t.number: score_trial(t, analyse(blocks[t.number], "shin", "left", sensor=0, settings=settings),
                                          match_events) for t in trials}
    return table


def default_index(combos: list[dict]) -> int:
    from stridecue.analysis.segmentation import SegmentationSettings

    base = SegmentationSettings()
    for k, combo in enumerate(combos):
        if all(getattr(base, name) == value for name, value in combo.items()):
            return k
    raise ValueError("the grid does not contain the default settings")


def changed(combo: dict) -> str:
    """The parameters of a rule set that differ from the defaults ('defaults' if none)."""
    from stridecue.analysis.segmentation import SegmentationSettings

    base = SegmentationSettings()
    diff = [f"{n}={v:g}" if isinstance(v, float) else f"{n}={v}" for n, v in combo.items() if getattr(base, n) != v]
    return ", ".join(diff) or "defaults"


def settings_names() -> set[str]:
    from stridecue.analysis.segmentation import SegmentationSettings

    return {f.name for f in fields(SegmentationSettings)}


# ============================================================================================
# landing load against the force plate


#: Share of the contact at which the force stands in for the impact peak when there is none
#: (Blackmore, Willy & Creaby 2016, J Biomech 49:479).
NO_PEAK_SHARE = 0.13


def valr(force_n: np.ndarray, rate_hz: float, i0: int, i1: int, body_weight_n: float) -> dict | None:
    """Vertical average loading rate of one contact, BW/s.

    force_n: vertical force, positive up; contact [i0, i1).  The impact peak is the first local
    maximum in the first 40 % of the contact that is followed by a dip of at least 5 % before the
    active peak; without one, the force at 13 % of the contact (Blackmore et al. 2016).  VALR is the
    mean slope between 20 % and 80 % of that force (Milner et al. 2006, Med Sci Sports Exerc 38:323),
    with the crossing times interpolated linearly between samples.  None when the rise is too short
    to place both crossings."""
    f = np.asarray(force_n[i0:i1], float)
    if len(f) < 6:
        return None
    n = len(f)
    early = max(3, int(0.4 * n))
    peak_i = None
    for i in range(1, early):
        if f[i] >= f[i - 1] and f[i] > f[i + 1]:
            rest = f[i + 1:]
            later = int(np.argmax(rest))
            if later > 0 and rest[:later + 1].min() <= 0.95 * f[i]:
                peak_i = i
            break
    if peak_i is not None:
        t_peak, f_peak, kind = peak_i / rate_hz, float(f[peak_i]), "impact peak"
    else:
        t_peak = NO_PEAK_SHARE * n / rate_hz
        f_peak = float(np.interp(t_peak * rate_hz, np.arange(n), f))
        kind = "13 % of stance"
    if not f_peak > 0:
        return None
    t = np.arange(n) / rate_hz

    def crossing(level):
        stop = int(math.floor(t_peak * rate_hz)) + 1
        for i in range(1, min(stop + 1, n)):
            if f[i - 1] < level <= f[i]:
                return t[i - 1] + (level - f[i - 1]) / (f[i] - f[i - 1]) / rate_hz
        return None

    t20, t80 = crossing(0.2 * f_peak), crossing(0.8 * f_peak)
    if t20 is None or t80 is None or t80 <= t20:
        return None
    return {"valr_bw_s": (0.6 * f_peak / body_weight_n) / (t80 - t20), "impact_bw": f_peak / body_weight_n,
            "peak": kind}


def pearson(x, y) -> float | None:
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 3 or np.std(x) == 0 or np.std(y) == 0:
        return None
    return float(np.corrcoef(x, y)[0, 1])


def spearman(x, y) -> float | None:
    from scipy.stats import rankdata

    if len(x) < 3:
        return None
    return pearson(rankdata(x), rankdata(y))


def landing_pairs(trial, strides: list[Stride], subject: str, match_events) -> list[dict]:
    """One row per detected running stride matched (within 100 ms) to a force-plate contact."""
    run = sorted((s for s in strides if s.kind == "run"), key=lambda s: s.ic_t)
    m = match_events([s.ic_t for s in run], trial.ic_t)
    force = -np.asarray(trial.grf, float)
    bw = trial.mass_kg * G
    rows = []
    for i, j in m.pairs:
        s = run[i]
        i0 = int(round(trial.ic_t[j] * trial.rate_hz))
        i1 = int(round(trial.to_t[j] * trial.rate_hz))
        v = valr(force, trial.rate_hz, i0, i1, bw)
        rows.append({"trial": trial.number, "subject": subject, "ic_t": round(float(trial.ic_t[j]), 4),
                     "pta_axial_g": s.pta_axial_g, "loading_rate_gps": s.loading_rate_gps,
                     "clipped": bool(s.clipped), "valr_bw_s": None if v is None else v["valr_bw_s"],
                     "impact": None if v is None else v["peak"]})
    return rows


def correlations(rows: list[dict], metric: str) -> dict:
    """Pearson and Spearman r of `metric` with VALR, all strides and unclipped only, pooled and per subject."""
    usable = [r for r in rows if r["valr_bw_s"] is not None and r.get(metric) is not None
              and np.isfinite(r[metric])]
    out = {"n": len(usable), "clipped": sum(r["clipped"] for r in usable),
           "no_valr": sum(r["valr_bw_s"] is None for r in rows)}
    for label, sel in (("all", usable), ("unclipped", [r for r in usable if not r["clipped"]])):
        x = [r[metric] for r in sel]
        y = [r["valr_bw_s"] for r in sel]
        per = {}
        for subject in sorted({r["subject"] for r in sel}):
            mine = [r for r in sel if r["subject"] == subject]
            per[subject] = {"n": len(mine), "pearson": pearson([r[metric] for r in mine], [r["valr_bw_s"] for r in mine]),
                            "spearman": spearman([r[metric] for r in mine], [r["valr_bw_s"] for r in mine])}
        out[label] = {"n": len(sel), "pearson": pearson(x, y), "spearman": spearman(x, y), "per_subject": per}
    return out


# ============================================================================================
# adept: strides counted twice


#: A stride this much shorter than the median of its neighbours is counted twice (an extra contact
#: inside a stride): steady running varies by a few percent from one stride to the next.
OFF_RHYTHM_FRACTION = 0.75
OFF_RHYTHM_NEIGHBOURS = 5  # strides on either side
OFF_RHYTHM_MAX_GAP_S = 1.2  # a longer interval is a pause, not a stride: it is no neighbour


def off_rhythm_strides(ic_t, fraction: float = OFF_RHYTHM_FRACTION, neighbours: int = OFF_RHYTHM_NEIGHBOURS,
                       max_gap_s: float = OFF_RHYTHM_MAX_GAP_S) -> list[dict]:
    """Strides counted twice: intervals between consecutive ICs of one sensor shorter than `fraction`
    of the median of the `neighbours` intervals either side (pauses longer than max_gap_s left out
    of the median; at least 4 neighbours needed).

    A duplicate IC gives one interval near 0; an extra IC inside a stride splits it into two short
    ones; an extra IC the analysis kept while refusing the real one after it (it drops intervals
    under min_stride_s) gives a short interval and then a long one.  Consecutive short intervals are
    one event; its extra ICs = the short intervals less the whole strides they add up to (at least
    one).  Returns one dict per event: t (IC ending its first short interval), intervals_s,
    local_median_s, extra."""
    ic = np.sort(np.asarray(ic_t, float))
    gaps = np.diff(ic)
    short = []
    for i, g in enumerate(gaps):
        near = np.r_[gaps[max(0, i - neighbours):i], gaps[i + 1:i + 1 + neighbours]]
        near = near[near <= max_gap_s]
        if len(near) < 4:
            continue
        med = float(np.median(near))
        if g < fraction * med:
            short.append((i, float(g), med))
    out: list[dict] = []
    for i, g, med in short:
        if out and out[-1]["_last"] == i - 1:
            out[-1]["intervals_s"].append(g)
            out[-1]["_last"] = i
        else:
            out.append({"t": float(ic[i + 1]), "intervals_s": [g], "local_median_s": med, "_last": i})
    for e in out:
        del e["_last"]
        e["extra"] = max(1, len(e["intervals_s"]) - int(round(sum(e["intervals_s"]) / e["local_median_s"])))
    return out


def counted_twice(ic_t, **kw) -> int:
    """Extra ICs found by off_rhythm_strides (0 when every stride keeps the local rhythm)."""
    return sum(e["extra"] for e in off_rhythm_strides(ic_t, **kw))


def vacuous_share(ic_t, floor_s: float, fraction: float = OFF_RHYTHM_FRACTION,
                  neighbours: int = OFF_RHYTHM_NEIGHBOURS, max_gap_s: float = OFF_RHYTHM_MAX_GAP_S) -> float | None:
    """Share of the checked intervals where fraction x local median is at or below the analysis's
    own floor (min_stride_s): there the check could not find what the analysis already refuses."""
    ic = np.sort(np.asarray(ic_t, float))
    gaps = np.diff(ic)
    checked = vacuous = 0
    for i in range(len(gaps)):
        near = np.r_[gaps[max(0, i - neighbours):i], gaps[i + 1:i + 1 + neighbours]]
        near = near[near <= max_gap_s]
        if len(near) < 4:
            continue
        checked += 1
        vacuous += fraction * float(np.median(near)) <= floor_s
    return vacuous / checked if checked else None
