"""`stridecue validate --suite population`: the analysis over a population of virtual bodies.

The `virtual` suite runs one body (the default) over many speeds and sensor imperfections.  This
suite runs many bodies (`stridecue.sim.bodies.population`): each its own speed, cadence, contact
time, strike, posture at contact (none at the analysis's priors), valgus excursion, stance twist of
the shank, soft tissue, and a strap of its own (site, side, any rotation), with a shin and a thigh
sensor on one leg.  Each sensor's samples go through the analysis as users get it
(`analysis.run.analyse_block`, int16 counts at 416 Hz) and are matched to the runner's truth as in
the virtual suite.  Per body (both sensors pooled) it scores stride F1, IC timing MAE, wobble MAE
and PTA error, and reports the median body and the worst body, with the worst body's parameters.

docs/validation.md explains the matching; sim/bodies.py gives the ranges and their sources.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from stridecue.lab.evaluation import EventTally

if TYPE_CHECKING:
    from stridecue.analysis.stride import Stride

# lab/validation.py loads this module only when the suite runs; the helpers it takes from
# lab/evaluation.py are imported where they are used.

POPULATION_SEED = 2026
FULL = (30, 60.0)  # bodies, seconds of each run (3 s standing, then running)
QUICK = (8, 20.0)
RATE_HZ = 416.0
MOUNTS = ("shin", "thigh")

#: (metric, unit, better, target for the median body, target for the worst body).  The median's
#: targets are the virtual suite's; the worst body's are twice as wide (a bound to watch, not a
#: published one).
METRICS = (
    ("stride F1", "", "high", 0.99, 0.95),
    ("IC timing MAE", "ms", "low", 10.0, 20.0),
    ("wobble MAE", "deg", "low", 1.0, 2.0),
    ("PTA error (mean abs)", "%", "low", 5.0, 10.0),
)
_KEYS = {"stride F1": "f1", "IC timing MAE": "ic_mae_ms", "wobble MAE": "wobble_mae_deg",
         "PTA error (mean abs)": "pta_err_pct"}


@dataclass
class Score(EventTally):
    """Matched errors of one or more runs (s, deg, fractions)."""

    wobble: list = field(default_factory=list)
    pta: list = field(default_factory=list)

    def add(self, strides: list[Stride], truth: list, offset: float) -> "Score":
        from stridecue.lab.evaluation import match_events

        detected, true = [s.ic_t + offset for s in strides], [tr.ic_t for tr in truth]
        m = match_events(detected, true)
        self.count(m, detected, true)
        for i, j in m.pairs:
            s, tr = strides[i], truth[j]
            if s.wobble_deg is not None:
                self.wobble.append(s.wobble_deg - tr.wobble_deg)
            if not s.clipped and s.pta_axial_g is not None and tr.pta_axial_g:
                self.pta.append((s.pta_axial_g - tr.pta_axial_g) / tr.pta_axial_g)
        return self

    def merged(self, other: "Score") -> "Score":
        return Score(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn, self.ic + other.ic,
                     self.wobble + other.wobble, self.pta + other.pta)

    def figures(self) -> dict:
        import numpy as np

        from stridecue.lab.evaluation import _ms, _pct, _r, mean_abs

        return {"f1": _r(self.f1, 4), "ic_mae_ms": _r(_ms(mean_abs(self.ic)), 2),
                "wobble_mae_deg": _r(mean_abs(self.wobble), 3), "pta_err_pct": _r(_pct(mean_abs(self.pta)), 2),
                "wobble_bias_deg": _r(float(np.mean(self.wobble)) if self.wobble else None, 3),
                "tp": self.tp, "fp": self.fp, "fn": self.fn}


def simulate_member(member, duration_s: float, mounts=MOUNTS, segments: tuple | None = None) -> dict:
    """{mount: (SampleBlock, running truths, time offset s)} of one population runner: one body,
    one sensor per mount on the same leg, each strapped as the runner's strap says.  segments: the
    runner's schedule (default: stand 3 s, then run)."""
    import numpy as np
    from stridecue.sim import VirtualRunner

    from stridecue.lab.evaluation import to_sample_block

    runner = VirtualRunner(member.settings(segments), seed=member.seed)
    streams = {m: runner.sensor(leg=member.leg, mount=m, rate_hz=RATE_HZ, **member.sensor_kwargs(m)) for m in mounts}
    n = int(duration_s * RATE_HZ)
    parts = {m: [] for m in mounts}
    for k in range(0, n, 4160):  # the sensors read side by side, as on a runner
        for m in mounts:
            parts[m].append(streams[m].read(min(4160, n - k)))
    out = {}
    for m in mounts:
        t = np.concatenate([c.t for c in parts[m]])
        block = to_sample_block(np.concatenate([c.acc for c in parts[m]]), np.concatenate([c.gyr for c in parts[m]]),
                                RATE_HZ, accel_g=32)
        truth = [s for s in streams[m].truth if s.kind == "run" and s.to_t <= t[-1]]
        out[m] = (block, truth, float(t[0]))
    return out


def score_runs(member, sims: dict, analyse_block=None) -> dict[str, Score]:
    """{mount: Score} of a runner's simulated sensors through the analysis."""
    from stridecue.lab.evaluation import _analysis, _running

    analyse_block = analyse_block or _analysis()
    return {m: Score().add(_running(analyse_block(block, m, member.leg, sensor=0)), truth, offset)
            for m, (block, truth, offset) in sims.items()}


def summarise(per_body: list[dict]) -> dict:
    """{metric key: (median over bodies, worst row)} of rows that hold the figures of each body."""
    import numpy as np

    out = {}
    for name, _, better, _, _ in METRICS:
        key = _KEYS[name]
        rows = [r for r in per_body if r[key] is not None]
        if not rows:
            out[key] = (None, None)
            continue
        values = np.array([r[key] for r in rows], float)
        worst = rows[int(np.argmin(values) if better == "high" else np.argmax(values))]
        out[key] = (float(np.median(values)), worst)
    return out


def _brief(params: dict) -> str:
    return (f"{params['name']}: {params['strike']}, {params['speed_mps']:.2f} m/s, {params['cadence_spm']:.0f} spm, "
            f"contact {params['contact_time_s'] * 1000:.0f} ms, shank/thigh at contact {params['shank_ic_deg']:+.1f}/"
            f"{params['thigh_ic_deg']:+.1f} deg, valgus {params['wobble_deg']:.1f} deg, stance twist "
            f"{params['stance_twist_deg']:.1f} deg, {params['leg']} leg")


def population_rows(quick: bool, analyse_block=None, members=None) -> tuple[list[dict], float]:
    """Per-body rows (pooled and per mount) and the run length used."""
    from stridecue.sim.population import population

    n, duration = QUICK if quick else FULL
    members = population(n, POPULATION_SEED) if members is None else members
    rows = []
    for member in members:
        scores = score_runs(member, simulate_member(member, duration), analyse_block)
        pooled = scores["shin"].merged(scores["thigh"])
        rows.append({"body": member.body.name, **pooled.figures(),
                     **{f"{m}": scores[m].figures() for m in MOUNTS}, "parameters": member.describe()})
    return rows, duration


def validate_population(quick: bool) -> tuple[list, dict]:
    from stridecue.lab.evaluation import Figure, _r

    rows, duration = population_rows(quick)
    summary = summarise(rows)
    figs = []
    worst_out = {}
    for name, unit, better, median_target, worst_target in METRICS:
        key = _KEYS[name]
        median, worst = summary[key]
        bound = {"at_least": median_target} if better == "high" else {"at_most": median_target}
        wbound = {"at_least": worst_target} if better == "high" else {"at_most": worst_target}
        figs.append(Figure("population", f"{name}, median body", _r(median, 4), unit, **bound,
                           note=f"{len(rows)} bodies, shin + thigh, {duration:g} s each"))
        figs.append(Figure("population", f"{name}, worst body", None if worst is None else worst[key], unit, **wbound,
                           note="" if worst is None else _brief(worst["parameters"])))
        if worst is not None:
            worst_out[key] = {"body": worst["body"], "value": worst[key], "parameters": worst["parameters"]}
    for mount in MOUNTS:  # the wobble per mount: the shank's stance twist acts on the shin
        per = [{"wobble_mae_deg": r[mount]["wobble_mae_deg"], "body": r["body"], "parameters": r["parameters"]}
               for r in rows if r[mount]["wobble_mae_deg"] is not None]
        median, worst = summarise_one(per, "wobble_mae_deg")
        figs.append(Figure("population", f"{mount}: wobble MAE, median body", _r(median, 3), "deg", at_most=1.0,
                           note="" if worst is None else f"worst {worst['wobble_mae_deg']} deg ({worst['body']})"))
    return figs, {"bodies": rows, "worst": worst_out, "seed": POPULATION_SEED, "seconds_per_run": duration}


def summarise_one(rows: list[dict], key: str) -> tuple[float | None, dict | None]:
    import numpy as np

    if not rows:
        return None, None
    values = np.array([r[key] for r in rows], float)
    return float(np.median(values)), rows[int(np.argmax(values))]
