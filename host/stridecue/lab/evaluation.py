"""Evaluation helpers, kept apart from the algorithms they judge: matching detected events to
truth, F1, mean absolute errors, and the Figure every validate suite reports (value, unit, target,
met, note).  numpy is imported inside the functions: `stridecue --help` stays fast."""

from __future__ import annotations

from typing import TYPE_CHECKING

import importlib.util
import math
from dataclasses import asdict, dataclass, field

if TYPE_CHECKING:  # numpy and the analysis for the annotations; the functions import them (`--help` stays fast)
    import numpy as np

    from stridecue.analysis.stride import Stride


# ============================================================================================
# Evaluation helpers (kept apart from the algorithms they judge)

#: A detected initial contact matches a true one within this (and each is used once).
MATCH_TOLERANCE_S = 0.100
#: A stride whose initial contact follows the previous one of the same leg this soon was counted twice.
DOUBLE_COUNT_FRACTION = 0.6
PLAUSIBLE_CADENCE_SPM = (150.0, 200.0)


def to_sample_block(acc_g, gyr_dps=None, rate_hz: float = 416.0, *, first_index: int = 0, accel_g: int = 32,
                    gyro_code: int = 16, sensor: int = 0, saturated=None):
    """Float accel (g) / gyro (deg/s) -> SampleBlock of int16 counts, as the sensor quantises.

    Values beyond the full scale clip to it (and read back as clipped).  gyr_dps None -> zeros
    (accelerometer only, gyro_code 0).  saturated: optional (n, 3) bool of readings where the source sensor
    was pinned at its own full scale; they are set to full scale here so they read as clipped.
    """
    import numpy as np
    from stridecue.analysis.run import block_from_arrays

    block = block_from_arrays(rate_hz, acc_g, gyr_dps, accel_g=accel_g, gyro_code=gyro_code, sensor=sensor,
                              first_index=first_index)
    if saturated is not None:
        acc = np.asarray(acc_g, float)
        sat = np.asarray(saturated, bool)
        block.raw[:, :3][sat & (acc > 0)] = 32767
        block.raw[:, :3][sat & (acc < 0)] = -32768
    return block


@dataclass
class Matching:
    """One-to-one matching of detected to true events (times in seconds)."""

    pairs: list[tuple[int, int]]  # (detected index, truth index)
    unmatched_detected: list[int]
    unmatched_truth: list[int]

    @property
    def tp(self) -> int:
        return len(self.pairs)

    @property
    def fp(self) -> int:
        return len(self.unmatched_detected)

    @property
    def fn(self) -> int:
        return len(self.unmatched_truth)

    def errors(self, detected, truth) -> np.ndarray:
        """detected - truth for each matched pair (same units as the inputs)."""
        import numpy as np
        d, t = np.asarray(detected, float), np.asarray(truth, float)
        return np.array([d[i] - t[j] for i, j in self.pairs], float)


def match_events(detected, truth, tolerance_s: float = MATCH_TOLERANCE_S) -> Matching:
    """Pair each true event with at most one detected event within tolerance, closest pairs first."""
    import numpy as np
    d = np.asarray(detected, float).ravel()
    t = np.asarray(truth, float).ravel()
    candidates = []
    if len(d) and len(t):
        order = np.argsort(t)
        ts = t[order]
        for i, x in enumerate(d):
            lo = np.searchsorted(ts, x - tolerance_s, side="left")
            hi = np.searchsorted(ts, x + tolerance_s, side="right")
            for k in range(lo, hi):
                candidates.append((abs(x - ts[k]), i, int(order[k])))
    candidates.sort()
    used_d, used_t, pairs = set(), set(), []
    for _, i, j in candidates:
        if i not in used_d and j not in used_t:
            used_d.add(i)
            used_t.add(j)
            pairs.append((i, j))
    pairs.sort()
    return Matching(pairs, [i for i in range(len(d)) if i not in used_d], [j for j in range(len(t)) if j not in used_t])


@dataclass
class EventTally:
    """Detected events against true ones over one or more recordings: matched (tp), extra (fp),
    missed (fn), and the timing error of each matched event (ic, s).  The validate suites' tallies
    add what they measure beside it."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    ic: list = field(default_factory=list)

    def count(self, m: Matching, detected=None, truth=None) -> None:
        """Add a matching; with detected and truth times also each matched pair's timing error."""
        self.tp += m.tp
        self.fp += m.fp
        self.fn += m.fn
        if detected is not None:
            self.ic += list(m.errors(detected, truth))

    @property
    def f1(self) -> float | None:
        return f1_score(self.tp, self.fp, self.fn)


def f1_score(tp: int, fp: int, fn: int) -> float | None:
    """2 TP / (2 TP + FP + FN); None when there is nothing to score."""
    denom = 2 * tp + fp + fn
    return None if denom == 0 else 2 * tp / denom


def mean_abs(values) -> float | None:
    import numpy as np
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    return float(np.mean(np.abs(v))) if len(v) else None


def double_counted(ic_t) -> int:
    """Strides of one sensor whose IC follows the previous within DOUBLE_COUNT_FRACTION of the median stride.

    No longer a figure: the analysis refuses intervals under 0.45 s, above 0.6 x a running stride,
    so on its output this cannot fail; `validate` uses validation_accel.counted_twice instead."""
    import numpy as np
    ic = np.sort(np.asarray(ic_t, float))
    if len(ic) < 3:
        return 0
    gaps = np.diff(ic)
    typical = float(np.median(gaps))
    return int(np.count_nonzero(gaps < DOUBLE_COUNT_FRACTION * typical))


@dataclass
class Figure:
    """One line of the report: value against target (at_most / at_least)."""

    group: str
    name: str
    value: float | int | None
    unit: str = ""
    at_most: float | None = None
    at_least: float | None = None
    note: str = ""
    met: bool | None = field(default=None)

    def __post_init__(self):
        if self.value is None or (isinstance(self.value, float) and not math.isfinite(self.value)):
            self.met = None if self.at_most is None and self.at_least is None else False
        elif self.at_most is not None or self.at_least is not None:
            ok = True
            if self.at_most is not None:
                ok &= self.value <= self.at_most
            if self.at_least is not None:
                ok &= self.value >= self.at_least
            self.met = bool(ok)

    @property
    def target(self) -> str:
        if self.at_most is not None and self.at_least is not None:
            return f"{self.at_least:g}..{self.at_most:g} {self.unit}".strip()
        if self.at_most is not None:
            return f"<= {self.at_most:g} {self.unit}".strip()
        if self.at_least is not None:
            return f">= {self.at_least:g} {self.unit}".strip()
        return ""

    def as_dict(self) -> dict:
        d = asdict(self)
        d["target"] = self.target
        return d


def _r(v, nd=3):
    return None if v is None else round(float(v), nd)


def _analysis():
    if importlib.util.find_spec("stridecue.analysis") is None or importlib.util.find_spec("stridecue.analysis.run") is None:
        raise RuntimeError("the stride analysis (stridecue.analysis.run) is not built yet")
    from stridecue.analysis.run import analyse_block

    return analyse_block


def _running(strides: list[Stride]) -> list[Stride]:
    return sorted((s for s in strides if s.kind == "run"), key=lambda s: s.ic_t)



def _close(a, b) -> bool:
    if a is None or b is None or isinstance(a, str):
        return a == b
    return abs(float(a) - float(b)) <= 1e-6 * max(1.0, abs(float(a)))


def _ms(v):
    return None if v is None else v * 1000.0


def _pct(v):
    return None if v is None else v * 100.0


def _fmt_ms(v, signed: bool = True):
    """Seconds -> '+3.2 ms' (a bias) or '3.2 ms' (an absolute error)."""
    if v is None:
        return "–"
    return f"{v * 1000:+.1f} ms" if signed else f"{v * 1000:.1f} ms"


