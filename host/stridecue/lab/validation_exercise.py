"""Exercise mode against the virtual exerciser's truth (`stridecue validate --suite exercise`).

Held-out exercisers only: the detector's parameters were set while looking at seeds 0-99 (the
development seeds, DEV_SEEDS); the figures come from seeds 1000 on, never looked at while tuning.
Each exerciser is drawn widely (sim/exercise_body.py), its sensors strapped at random
orientations and offsets, their signals quantised to the sensor's counts.  Per exercise and
sensor set-up: rep F1 (a rep matched to a true one within 0.8 s of its bottom), depth error, knee
motion error (mean and 95 % limits of agreement), tempo error; for the balance hold the error of
the time to the first loss of balance and of the sway; and the smallest detectable change of a
session's mean knee motion: 1.96 x sqrt(2) x the SD of the per-set mean error.
"""

from __future__ import annotations

import math

import numpy as np

from stridecue.lab.evaluation import Figure, f1_score, match_events

DEV_SEEDS = range(0, 100)
HELD_OUT_FIRST = 1000
CASES = (  # (exercise, level, mounts)
    ("single-leg-squat", 2, ("shin",)), ("single-leg-squat", 3, ("thigh",)), ("single-leg-squat", 4, ("shin", "thigh")),
    ("step-down", 2, ("shin",)), ("bridge", 2, ("thigh",)), ("single-leg-balance", 3, ("shin",)),
)


def session_results(name: str, level: int, mounts: tuple, seed: int, legs: tuple = ("left", "right")):
    """(found reps/holds, truth, mount key) of one simulated session (both legs by default)."""
    from stridecue.exercise.analysis import ExerciseAnalysis, SensorData, SetWindow
    from stridecue.sim.exerciser import VirtualExerciser, record_session

    rec = record_session(VirtualExerciser(name, level=level, seed=seed), legs=legs, mounts=mounts)
    sensors = [SensorData(i, leg, mount, c.t, c.acc, c.gyr) for i, (leg, mount, c) in enumerate(rec.sensors)]
    swings = [SetWindow(leg, 0, go, end) for leg, go, end in rec.swings]
    sets = [SetWindow(leg, 0, go, end) for leg, go, end in rec.sets]
    found = ExerciseAnalysis(name).analyse(sets, sensors, swings).reps_
    return found, rec.truth, ("thigh+shin" if len(mounts) > 1 else mounts[0])


class Tally:
    def __init__(self):
        self.tp = self.fp = self.fn = 0
        self.depth, self.knee, self.down, self.set_knee = [], [], [], []
        self.loss, self.sway, self.loss_tp, self.loss_fp, self.loss_fn = [], [], 0, 0, 0

    def add_reps(self, found, truth, key) -> None:
        for leg in ("left", "right"):
            f = [r for r in found if r.leg == leg and r.kind == "rep"]
            t = [x for x in truth if x.leg == leg and hasattr(x, "depth_deg")]
            m = match_events([r.bottom_t for r in f], [x.bottom_t for x in t], 0.8)
            self.tp, self.fp, self.fn = self.tp + m.tp, self.fp + m.fp, self.fn + m.fn
            errs = []
            for i, j in m.pairs:
                self.depth.append(f[i].depth_deg - t[j].depth_deg)
                self.down.append(f[i].down_s - t[j].down_s)
                if f[i].knee_motion_deg is not None:
                    errs.append(f[i].knee_motion_deg - t[j].knee_motion_deg[key])
            self.knee += errs
            if errs:
                self.set_knee.append(float(np.mean(errs)))

    def add_holds(self, found, truth, key) -> None:
        for leg in ("left", "right"):
            f = next((h for h in found if h.leg == leg and h.kind == "hold"), None)
            t = next((x for x in truth if x.leg == leg and not hasattr(x, "depth_deg")), None)
            if f is None or t is None:
                self.fn += t is not None
                continue
            self.tp += 1
            if t.loss_s is not None and f.loss_s is not None:
                self.loss.append(f.loss_s - t.loss_s)
                self.loss_tp += abs(f.loss_s - t.loss_s) <= 1.0
                self.loss_fp += abs(f.loss_s - t.loss_s) > 1.0
            else:
                self.loss_fp += f.loss_s is not None
                self.loss_fn += t.loss_s is not None
            if math.isfinite(t.sway_deg[key]) and math.isfinite(f.sway_deg):
                self.sway.append(f.sway_deg - t.sway_deg[key])


def _limits(errors) -> tuple[float | None, float | None, float | None]:
    """(mean, lower, upper 95 % limits of agreement)."""
    e = np.asarray(errors, float)
    if len(e) < 2:
        return None, None, None
    m, sd = float(e.mean()), float(e.std(ddof=1))
    return round(m, 2), round(m - 1.96 * sd, 2), round(m + 1.96 * sd, 2)


def _sdc(per_set) -> float | None:
    return round(1.96 * math.sqrt(2.0) * float(np.std(per_set, ddof=1)), 2) if len(per_set) > 2 else None


def case_figures(name: str, level: int, mounts: tuple, n: int) -> tuple[list[Figure], dict]:
    tally = Tally()
    key = "thigh+shin" if len(mounts) > 1 else mounts[0]
    for seed in range(HELD_OUT_FIRST, HELD_OUT_FIRST + n):
        found, truth, key = session_results(name, level, mounts, seed)
        (tally.add_holds if name == "single-leg-balance" else tally.add_reps)(found, truth, key)
    g = f"exercise {name} L{level} {key}"
    figs = []
    if name == "single-leg-balance":
        loss, sway = _limits(tally.loss), _limits(tally.sway)
        figs += [Figure(g, "hold found", f1_score(tally.tp, tally.fp, tally.fn), "", at_least=0.99),
                 Figure(g, "loss of balance F1", _r(f1_score(tally.loss_tp, tally.loss_fp, tally.loss_fn)), "", at_least=0.9),
                 Figure(g, "time to first loss error, mean", loss[0], "s", note=f"95% limits {loss[1]}..{loss[2]} s"),
                 Figure(g, "sway error, mean", sway[0], "deg", note=f"95% limits {sway[1]}..{sway[2]} deg"),
                 Figure(g, "sway smallest detectable change", _sdc(tally.sway), "deg")]
        return figs, {"exercisers": n, "holds": tally.tp}
    depth, knee, down = _limits(tally.depth), _limits(tally.knee), _limits(tally.down)
    figs += [Figure(g, "rep F1", _r(f1_score(tally.tp, tally.fp, tally.fn)), "", at_least=0.97),
             Figure(g, "depth error, mean", depth[0], "deg", note=f"95% limits {depth[1]}..{depth[2]} deg"),
             Figure(g, "knee motion error, mean", knee[0], "deg", note=f"95% limits {knee[1]}..{knee[2]} deg"),
             Figure(g, "knee motion error, 95% limits half-width", _r((knee[2] - knee[1]) / 2 if knee[0] is not None else None),
                    "deg", at_most=6.0),
             Figure(g, "knee motion smallest detectable change", _sdc(tally.set_knee), "deg",
                    note="1.96 x sqrt(2) x SD of the per-set mean error"),
             Figure(g, "depth smallest detectable change", _sdc(tally.depth), "deg"),
             Figure(g, "tempo (down) error, mean", down[0], "s", note=f"95% limits {down[1]}..{down[2]} s")]
    return figs, {"exercisers": n, "reps_true": tally.tp + tally.fn, "reps_found": tally.tp + tally.fp}


def _r(v, digits: int = 4):
    return None if v is None else round(float(v), digits)


def validate_exercise(quick: bool = False):
    """Figures and details of every case over held-out exercisers (quick: 2 each, else 30)."""
    n = 2 if quick else 30
    figs, details = [], {"held_out_seeds": f"{HELD_OUT_FIRST}-{HELD_OUT_FIRST + n - 1}",
                         "development_seeds": f"{DEV_SEEDS.start}-{DEV_SEEDS.stop - 1}", "cases": {}}
    for name, level, mounts in CASES:
        f, d = case_figures(name, level, mounts, n)
        figs += f
        details["cases"][f"{name} L{level} {'+'.join(mounts)}"] = d
    return figs, details
