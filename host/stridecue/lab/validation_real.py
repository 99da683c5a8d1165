"""`validate` on real recordings (../shared/data, see its README; cite the sources with the
figures): bach2022's force plate (accelerometer-only path, leave-one-subject-out, landing load),
grouvel2023's motion capture (whether its IMU columns share the capture's clock), and the
25-minute adept run outdoors."""

from __future__ import annotations

from typing import TYPE_CHECKING

import inspect
import time

from stridecue.lab.evaluation import (PLAUSIBLE_CADENCE_SPM, Figure, _analysis, _fmt_ms, _ms, _pct, _r, _running,
                                      f1_score, match_events, mean_abs, to_sample_block)

if TYPE_CHECKING:  # numpy for the annotations; the functions import it (`--help` stays fast)
    import numpy as np

# ============================================================================================
# bach2022: shank accelerometer with force plate


def bach_block(trial):
    """A bach2022 trial as the sensor would store it: +-8 g int16, saturated readings clipped."""
    from stridecue.record.importer import saturated_samples

    return to_sample_block(trial.acc, None, trial.rate_hz, accel_g=8, saturated=saturated_samples(trial.acc))


def validate_bach2022(quick: bool) -> tuple[list[Figure], dict]:
    import numpy as np
    from stridecue.lab import validation_accel
    from stridecue.lab.datasets.bach2022 import load_bach2022

    analyse_block = _analysis()
    trials = load_bach2022()
    running = [t for t in trials if t.running]
    walking = [t for t in trials if not t.running]
    if quick:
        running, walking = running[:2], walking[:1]
    tp = fp = fn = 0
    ic_err, to_err, per_trial = [], [], []
    subjects = validation_accel.bach_subjects(trials)
    landing = []
    for t in running:
        strides = _running(analyse_block(bach_block(t), "shin", "left", sensor=0))
        landing += validation_accel.landing_pairs(t, strides, subjects[t.number], match_events)
        m = match_events([s.ic_t for s in strides], t.ic_t)
        tp, fp, fn = tp + m.tp, fp + m.fp, fn + m.fn
        errs = m.errors([s.ic_t for s in strides], t.ic_t)
        ic_err.extend(errs)
        to_err.extend(m.errors([s.to_t for s in strides], t.to_t))
        per_trial.append({"trial": t.number, "contacts": len(t.ic_t), "detected": len(strides), "tp": m.tp, "fp": m.fp,
                          "fn": m.fn, "ic_mae_ms": _r(_ms(mean_abs(errs)), 1)})
    walk_as_run = walk_total = 0
    for t in walking:
        strides = analyse_block(bach_block(t), "shin", "left", sensor=0)
        walk_as_run += sum(1 for s in strides if s.kind == "run")
        walk_total += len(t.ic_t)
    figs = [
        Figure("bach2022", "stride F1 vs force plate", _r(f1_score(tp, fp, fn), 4), "", at_least=0.98,
               note=f"{tp} matched, {fp} extra, {fn} missed; {len(running)} running trials, accel only"),
        Figure("bach2022", "IC timing MAE vs force plate", _r(_ms(mean_abs(ic_err)), 1), "ms", at_most=20.0,
               note=f"bias {_fmt_ms(np.mean(ic_err) if ic_err else None)}; {1000 / running[0].rate_hz:.0f} ms per sample"),
        Figure("bach2022", "TO timing MAE vs force plate", _r(_ms(mean_abs(to_err)), 1), "ms",
               note=f"bias {_fmt_ms(np.mean(to_err) if to_err else None)}"),
        Figure("bach2022", "walking contacts counted as running", walk_as_run, "", at_most=0,
               note=f"of {walk_total} walking contacts in {len(walking)} walking trials"),
    ]
    loso_figs, loso_details = bach_loso_figures(trials, subjects, analyse_block, quick)
    land_figs, land_details = landing_load_figures(landing)
    figs += loso_figs + land_figs
    return figs, {"running_trials": per_trial, "subjects": {str(k): v for k, v in subjects.items()},
                  "loso": loso_details, "landing_load": land_details}


def bach_loso_figures(trials, subjects: dict, analyse_block, quick: bool) -> tuple[list[Figure], dict]:
    """bach2022 leave-one-subject-out: per subject, the accelerometer-only rules' parameters chosen by
    a grid search on the other subjects' trials, scored on the subject's own (validation_accel)."""
    import numpy as np
    from stridecue.lab import validation_accel

    g = "bach2022"
    if "settings" not in inspect.signature(analyse_block).parameters:
        note = "the analysis takes no SegmentationSettings: its rules cannot be re-tuned per fold"
        return [Figure(g, "LOSO stride F1 (held-out subjects)", None, "", at_least=0.98, note=note)], {"error": note}
    # every subject's trials, also with --quick (fewer trials would leave no split); --quick searches fewer rule sets
    grid = validation_accel.LOSO_GRID_QUICK if quick else validation_accel.LOSO_GRID
    combos = validation_accel.grid_settings(grid)
    default = validation_accel.default_index(combos)
    table = validation_accel.evaluate_grid(trials, combos, analyse_block, bach_block, match_events)
    folds = validation_accel.loso_folds(table, subjects, default)
    held = validation_accel.pool([])
    dflt = validation_accel.pool([])
    rows = []
    for f in folds:
        for name in ("tp", "fp", "fn", "walk_as_run", "walk_contacts", "running_trials", "walking_trials"):
            setattr(held, name, getattr(held, name) + getattr(f["held_out"], name))
            setattr(dflt, name, getattr(dflt, name) + getattr(f["default"], name))
        held.ic += f["held_out"].ic
        dflt.ic += f["default"].ic
        h, d = f["held_out"], f["default"]
        rows.append({"subject": f["subject"], "test_trials": f["test"], "train_trials": f["train"],
                     "chosen": combos[f["chosen"]], "chosen_differs": validation_accel.changed(combos[f["chosen"]]),
                     "held_out": {"f1": _r(h.f1, 4), "tp": h.tp, "fp": h.fp, "fn": h.fn,
                                  "ic_mae_ms": _r(_ms(h.ic_mae_s), 1), "walk_as_run": h.walk_as_run,
                                  "walk_contacts": h.walk_contacts},
                     "default_rules": {"f1": _r(d.f1, 4), "ic_mae_ms": _r(_ms(d.ic_mae_s), 1),
                                       "walk_as_run": d.walk_as_run}})
    n_subj = len(folds)
    n_run_subj = sum(1 for f in folds if f["held_out"].running_trials)
    search = (f"{len(combos)} rule sets ({', '.join(grid)}) scored on the other subjects' running and walking "
              f"trials (F1 with walking contacts taken for running as false positives, then IC error)")
    per_subject = "; ".join(
        f"{r['subject']} (trials {','.join(map(str, r['test_trials']))}): "
        + (f"F1 {r['held_out']['f1']}, IC {r['held_out']['ic_mae_ms']} ms" if r["held_out"]["tp"] + r["held_out"]["fn"]
           else "walking only")
        + f", walk as run {r['held_out']['walk_as_run']}/{r['held_out']['walk_contacts']} [{r['chosen_differs']}]"
        for r in rows)
    figs = [
        Figure(g, "LOSO stride F1 (held-out subjects)", _r(held.f1, 4), "", at_least=0.98,
               note=f"{held.tp} matched, {held.fp} extra, {held.fn} missed over {n_run_subj} running subjects, each "
                    f"scored with rules chosen on the other {n_subj - 1} of {n_subj}; {search}. Default rules on the "
                    f"same trials (chosen on all of bach2022, not held out): F1 {_r(dflt.f1, 4)}"),
        Figure(g, "LOSO IC timing MAE (held-out subjects)", _r(_ms(held.ic_mae_s), 1), "ms", at_most=20.0,
               note=f"bias {_fmt_ms(np.mean(held.ic) if held.ic else None)}; default rules "
                    f"{_fmt_ms(dflt.ic_mae_s, signed=False)}"),
        Figure(g, "LOSO walking contacts counted as running (held-out)", held.walk_as_run, "", at_most=0,
               note=f"of {held.walk_contacts} walking contacts of {n_subj} subjects; default rules {dflt.walk_as_run}. "
                    f"Per held-out subject: {per_subject}. Only the numeric thresholds and the walking rules' "
                    f"on/off are re-chosen; the rules' form was written while looking at all of bach2022"),
    ]
    return figs, {"grid": {k: list(v) for k, v in grid.items()}, "rule_sets": len(combos), "folds": rows}


#: Lowest within-subject correlation of distal-tibia peak acceleration with VALR that Zhang et al.
#: found across treadmill speeds and slopes (r = 0.486-0.913; Zhang, An, Au, Chen, Cheung, "Comparison
#: of the correlations between impact loading rates and peak accelerations measured at two different
#: body sites: intra- and inter-subject analysis", Gait & Posture).
LANDING_R_TARGET = 0.49


def landing_load_figures(rows: list[dict]) -> tuple[list[Figure], dict]:
    """Per-stride correlation of the analysis's landing load and loading rate with the force
    plate's vertical average loading rate (validation_accel.valr), clipped strides counted."""
    import numpy as np
    from stridecue.lab import validation_accel

    g = "bach2022"
    figs, details = [], {"strides": rows}
    for metric, label in (("pta_axial_g", "landing load (PTA)"), ("loading_rate_gps", "loading rate")):
        c = validation_accel.correlations(rows, metric)
        details[metric] = c
        a, u = c["all"], c["unclipped"]
        per = "; ".join(f"{s}: r {_r(v['pearson'], 2)} (n {v['n']}, unclipped r "
                        f"{_r(u['per_subject'].get(s, {}).get('pearson'), 2)}, n {u['per_subject'].get(s, {}).get('n', 0)})"
                        for s, v in a["per_subject"].items())
        per_r = [v["pearson"] for v in a["per_subject"].values() if v["pearson"] is not None]
        figs.append(Figure(
            g, f"{label} vs GRF loading rate: per-stride r, within subject (median)",
            _r(float(np.median(per_r)), 3) if per_r else None, "", at_least=LANDING_R_TARGET,
            note=f"Pearson r of {metric} with the vertical average loading rate (20-80 % of the impact peak, or "
                 f"of the force at 13 % of stance without one; BW/s) per subject: {per}. {c['clipped']} of {c['n']} "
                 f"matched strides have a clipped (+-8 g) reading, kept here and left out in 'unclipped'; "
                 f"{c['no_valr']} contacts without a VALR. Target: the lowest within-subject r of Zhang et al."))
        figs.append(Figure(
            g, f"{label} vs GRF loading rate: per-stride r, pooled", _r(a["pearson"], 3), "",
            note=f"all {a['n']} strides of every subject: Pearson {_r(a['pearson'], 3)}, Spearman "
                 f"{_r(a['spearman'], 3)}; unclipped only ({u['n']}): Pearson {_r(u['pearson'], 3)}, Spearman "
                 f"{_r(u['spearman'], 3)}; pooled r mixes subjects (Zhang et al. warn against between-subject use)"))
    return figs, details


# ============================================================================================
# grouvel2023: shank and thigh IMUs with motion capture


#: The IMU and motion capture share a clock when the shank's stride period agrees within this.
CLOCK_RATIO_RANGE = (0.8, 1.25)


def stride_period_s(gyr_dps: np.ndarray, rate_hz: float, max_s: float = 1.5) -> tuple[float | None, float]:
    """(period in s, autocorrelation) of the angular-rate magnitude over its active span.

    The shank swings once per stride, so this is the stride time as the IMU's clock sees it."""
    import numpy as np
    g = np.linalg.norm(np.asarray(gyr_dps, float), axis=1)
    active = np.flatnonzero(g > 60.0)
    if len(active) < 10:
        return None, 0.0
    x = g[active[0]:active[-1] + 1]
    x = x - x.mean()
    ac = np.correlate(x, x, "full")[len(x) - 1:]
    if ac[0] <= 0:
        return None, 0.0
    ac = ac / ac[0]
    lo = max(2, int(0.04 * rate_hz))
    hi = min(len(ac) - 1, int(max_s * rate_hz))
    if hi <= lo:
        return None, 0.0
    # the first clear peak after the lag-0 lobe: a stride, not a multiple of one
    from scipy.signal import find_peaks

    peaks, _ = find_peaks(ac[lo:hi + 1], height=0.2)
    if len(peaks) == 0:
        return None, 0.0
    best = lo + int(peaks[np.argmax(ac[lo + peaks] >= 0.8 * ac[lo + peaks].max())])
    return best / rate_hz, float(ac[best])


def _autocorrelation_at(gyr_dps: np.ndarray, lag_s: float | None, rate_hz: float) -> float | None:
    """Autocorrelation of the active angular-rate magnitude at one lag (near 0: no rhythm there)."""
    import numpy as np
    g = np.linalg.norm(np.asarray(gyr_dps, float), axis=1)
    active = np.flatnonzero(g > 60.0)
    if lag_s is None or len(active) < 10:
        return None
    x = g[active[0]:active[-1] + 1]
    x = x - x.mean()
    lag = int(round(lag_s * rate_hz))
    if lag >= len(x) or not np.any(x):
        return None
    return float(np.dot(x[:-lag], x[lag:]) / np.dot(x, x)) if lag > 0 else 1.0


def mocap_stride_s(ic_left, ic_right) -> float | None:
    """Stride time from the markers: the same foot's ICs, else twice the left-right step time."""
    import numpy as np
    same = [np.diff(np.sort(ic)) for ic in (ic_left, ic_right) if len(ic) >= 2]
    if same:
        return float(np.median(np.concatenate(same)))
    both = np.sort(np.concatenate([ic_left, ic_right]))
    return float(2 * np.median(np.diff(both))) if len(both) >= 2 else None


def _new_participant() -> dict:
    """One participant's running totals over their passes."""
    return {"stances": 0, "matched": 0, "detected": 0, "wobble_err": [], "truth": {"shin": [], "thigh": []},
            "measured": [], "ic_err": [], "passes": 0, "synced": 0, "ratios": []}


def _clock_check(trial) -> tuple[dict, float | None, bool]:
    """Whether a pass's IMU columns share the capture's clock: the shank IMU's stride period
    against the markers' stride time.  Returns the check's row, the ratio and the verdict."""
    mocap = mocap_stride_s(trial.legs["left"].ic_t, trial.legs["right"].ic_t)
    imu_period, strength = stride_period_s(trial.imus["LS"].gyr, trial.rate_hz)
    ratio = mocap / imu_period if mocap and imu_period else None
    synced = ratio is not None and CLOCK_RATIO_RANGE[0] <= ratio <= CLOCK_RATIO_RANGE[1]
    row = {"trial": trial.name, "mocap_stride_s": _r(mocap), "imu_stride_s": _r(imu_period),
           "autocorrelation": _r(strength, 2), "ratio": _r(ratio, 2),
           "imu_autocorrelation_at_mocap_stride": _r(_autocorrelation_at(trial.imus["LS"].gyr, mocap,
                                                                         trial.rate_hz), 2),
           "same_clock": synced}
    return row, ratio, synced


def _compare_pass(trial, p: dict, synced: bool, analyse_block, rows: list[dict]) -> None:
    """Add one pass's shank and thigh IMUs to the participant's totals `p`; the mocap excursions
    always count (they describe the truth), the stance-by-stance comparison only on one clock."""
    for code, imu in sorted(trial.imus.items()):
        if imu.segment not in ("shin", "thigh"):
            continue
        truth = trial.legs[imu.leg]
        excursions = truth.excursions(imu.segment, trial.rate_hz)
        p["truth"][imu.segment].extend(excursions)
        p["stances"] += len(truth.ic_t)
        if not synced:
            continue
        block = to_sample_block(imu.acc, imu.gyr, trial.rate_hz)
        strides = _running(analyse_block(block, imu.segment, imu.leg, sensor=0))
        m = match_events([s.ic_t for s in strides], truth.ic_t)
        p["detected"] += len(strides)
        p["matched"] += m.tp
        p["ic_err"].extend(m.errors([s.ic_t for s in strides], truth.ic_t))
        for i, j in m.pairs:
            w = strides[i].wobble_deg
            if w is not None:
                p["wobble_err"].append(w - excursions[j])
                p["measured"].append(w)
        rows.append({"trial": trial.name, "imu": code, "stances": len(truth.ic_t), "detected": len(strides),
                     "matched": m.tp, "truth_excursion_deg": [round(float(x), 2) for x in excursions],
                     "measured_deg": [_r(strides[i].wobble_deg, 2) for i, _ in m.pairs]})


def _participant_figure(name: str, p: dict) -> Figure:
    """A participant's wobble error, or why it is not comparable (no pass on one clock)."""
    import numpy as np
    truth_txt = (f"mocap excursion mean shank {_r(np.mean(p['truth']['shin']), 1) if p['truth']['shin'] else '–'} deg, "
                 f"thigh {_r(np.mean(p['truth']['thigh']), 1) if p['truth']['thigh'] else '–'} deg")
    if p["synced"]:
        note = (f"{p['matched']}/{p['stances']} stances matched ({p['detected']} detected); {truth_txt}; "
                f"measured mean {_r(np.mean(p['measured']), 1) if p['measured'] else '–'} deg; IC vs markers "
                f"{_fmt_ms(mean_abs(p['ic_err']), signed=False)} MAE")
    else:
        ratios = ", ".join(f"{r:.1f}" for r in p["ratios"]) or "–"
        note = (f"not comparable: in {p['passes']} pass(es) the IMU columns are not on the capture's clock "
                f"(mocap stride / IMU stride = {ratios}); {truth_txt}")
    return Figure("grouvel2023", f"{name} wobble error vs mocap (MAE)",
                  _r(mean_abs(p["wobble_err"]), 2) if p["synced"] else None, "deg", note=note)


def _plate_figure(trials) -> Figure | None:
    """The truth checked against itself: marker stance events vs the force plates (None without plates)."""
    import numpy as np
    plate_ic, plate_to = [], []
    for trial in trials:
        for fp in trial.force_plates or []:
            if fp.leg in trial.legs and len(trial.legs[fp.leg].ic_t):
                legs = trial.legs[fp.leg]
                k = int(np.argmin(np.abs(legs.ic_t - fp.ic_t)))
                plate_ic.append(legs.ic_t[k] - fp.ic_t)
                plate_to.append(legs.to_t[k] - fp.to_t)
    if not plate_ic:
        return None
    return Figure("grouvel2023", "truth check: marker stance vs force plate", _r(_ms(mean_abs(plate_ic + plate_to)), 1),
                  "ms", note=f"{len(plate_ic)} plate contact(s) of P01: IC {_fmt_ms(np.mean(plate_ic))}, "
                             f"TO {_fmt_ms(np.mean(plate_to))} (marker minus plate)")


def validate_grouvel2023(quick: bool) -> tuple[list[Figure], dict]:
    """Wobble against mocap segment angles, where the IMU columns share the mocap's clock.

    Each pass is first checked: the shank IMU's stride period (autocorrelation of its angular
    rate) must match the stride time of the foot markers.  Where it does not, the IMU samples are
    not on the capture's time base and no stance-by-stance comparison is made (said per pass)."""
    from stridecue.lab.datasets.grouvel2023 import load_grouvel2023

    analyse_block = _analysis()
    trials = load_grouvel2023(participants=["P01", "P02"] if quick else None)
    per: dict[str, dict] = {}
    rows, clocks = [], []
    for trial in trials:
        p = per.setdefault(trial.participant, _new_participant())
        p["passes"] += 1
        clock, ratio, synced = _clock_check(trial)
        clocks.append(clock)
        if ratio is not None:
            p["ratios"].append(ratio)
        _compare_pass(trial, p, synced, analyse_block, rows)
        p["synced"] += synced
    figs = [_participant_figure(name, p) for name, p in sorted(per.items())]
    n_synced = sum(c["same_clock"] for c in clocks)
    figs.append(Figure("grouvel2023", "passes with IMU on the capture's clock", n_synced, "",
                       note=f"of {len(clocks)}; the shank IMU's stride period against the markers' stride time "
                            f"(a ratio within {CLOCK_RATIO_RANGE[0]:g}-{CLOCK_RATIO_RANGE[1]:g} counts as one clock)"))
    plate = _plate_figure(trials)
    if plate is not None:
        figs.append(plate)

    all_err = [e for p in per.values() for e in p["wobble_err"]]
    if n_synced:
        figs.append(Figure("grouvel2023", "all participants wobble error (MAE)", _r(mean_abs(all_err), 2), "deg",
                           note=f"{len(all_err)} stances of {n_synced} passes on one clock"))
    return figs, {"passes": rows, "clock_check": clocks}


# ============================================================================================
# adept: 25 minutes of outdoor running, accelerometer at the ankle


def reference_activity(acc: np.ndarray, rate_hz: float, window_s: float = 10.0) -> list[dict]:
    """Per window, from the signal alone: still or moving, and the stride cadence by autocorrelation.

    Independent of the analysis: still when |a| varies less than 0.05 g; otherwise the period of
    |a| is the lag (0.5-1.0 s: one ankle's stride) of the highest autocorrelation, cadence = 120 / period
    in steps per minute, and periodicity = that autocorrelation (running ~0.5 and more).
    """
    import numpy as np
    mag = np.linalg.norm(acc, axis=1)
    w = int(window_s * rate_hz)
    out = []
    lo, hi = int(0.5 * rate_hz), int(1.0 * rate_hz)
    for k in range(0, len(mag) - w + 1, w):
        seg = mag[k:k + w]
        entry = {"t0": k / rate_hz, "still": bool(seg.std() < 0.05), "cadence_spm": None, "periodicity": 0.0}
        if not entry["still"]:
            x = seg - seg.mean()
            ac = np.correlate(x, x, "full")[len(x) - 1:]
            ac = ac / ac[0]
            lag = lo + int(np.argmax(ac[lo:hi + 1]))
            entry["cadence_spm"] = 120.0 * rate_hz / lag
            entry["periodicity"] = float(ac[lag])
        out.append(entry)
    return out


#: --quick takes the first 8 minutes of adept: running, a walk, and a stop in minute 7.
QUICK_ADEPT_S = 480.0


def _cadence_per_minute(ic, cad, duration: float) -> list[dict]:
    """Running strides and their median cadence, minute by minute of the recording."""
    import numpy as np
    minutes = int(duration // 60 + (duration % 60 >= 30))  # a last part-minute counts from 30 s
    per_minute = []
    for k in range(minutes):
        sel = (ic >= 60 * k) & (ic < 60 * (k + 1))
        c = cad[sel]
        c = c[np.isfinite(c)]
        per_minute.append({"minute": k, "running_strides": int(sel.sum()),
                           "median_cadence_spm": _r(np.median(c), 1) if len(c) else None})
    return per_minute


def _activity_windows(acc, rate_hz: float, ic) -> tuple[list[dict], int, list[dict], int]:
    """Running vs stopping, against the signal's own 10-s activity windows: the still windows,
    how many of them hold running strides, the periodic running windows and how many hold strides."""
    import numpy as np
    lo, hi = PLAUSIBLE_CADENCE_SPM
    activity = reference_activity(acc, rate_hz)
    still = [a for a in activity if a["still"]]
    still_with_strides = sum(1 for a in still if np.any((ic >= a["t0"]) & (ic < a["t0"] + 10.0)))
    running_ref = [a for a in activity if not a["still"] and a["periodicity"] > 0.4 and a["cadence_spm"]
                   and lo - 10 <= a["cadence_spm"] <= hi + 10]
    found = sum(1 for a in running_ref if np.count_nonzero((ic >= a["t0"]) & (ic < a["t0"] + 10.0)) >= 5)
    return still, still_with_strides, running_ref, found


def _cadence_agreement(running_ref: list[dict], ic, cad) -> list[float]:
    """Per running window with enough strides: the analysis's median cadence minus the window's
    autocorrelation cadence."""
    import numpy as np
    agree = []
    for a in running_ref:
        sel = (ic >= a["t0"]) & (ic < a["t0"] + 10.0) & np.isfinite(cad)
        if sel.sum() >= 5:
            agree.append(np.median(cad[sel]) - a["cadence_spm"])
    return agree


def _counted_twice_figure(ic) -> tuple[Figure, list[dict]]:
    """Strides counted twice (off the local rhythm), with the first few listed; also the list."""
    from stridecue.lab import validation_accel as va
    from stridecue.analysis.segmentation import SegmentationSettings

    floor = SegmentationSettings().min_stride_s
    twice = va.off_rhythm_strides(ic)
    vacuous = va.vacuous_share(ic, floor)
    figure = Figure("adept", "strides counted twice", sum(e["extra"] for e in twice), "", at_most=0,
                    note=f"running strides shorter than {va.OFF_RHYTHM_FRACTION:g} x the median of the "
                         f"{va.OFF_RHYTHM_NEIGHBOURS} strides either side (a duplicate or an extra contact; steady "
                         f"running varies by a few %); the analysis itself refuses intervals under {floor:g} s, which "
                         f"this threshold exceeds for {_r(_pct(1 - vacuous) if vacuous is not None else None, 1)} % of the "
                         f"checked strides (local median over {floor / va.OFF_RHYTHM_FRACTION:.2f} s); "
                         + ("; ".join(f"at {x['t']:.1f} s: {'+'.join(f'{v:.2f}' for v in x['intervals_s'])} s vs "
                                      f"{x['local_median_s']:.2f} s" for x in twice[:5]) or "none found")
                         + ("; ..." if len(twice) > 5 else ""))
    return figure, twice


def validate_adept(quick: bool) -> tuple[list[Figure], dict]:
    """The adept run end to end: cadence per minute and per stride, strides counted twice, and
    running vs stopping against the signal's own activity windows."""
    import numpy as np
    from stridecue.lab.datasets.adept import load_adept
    from stridecue.record.importer import saturated_samples

    analyse_block = _analysis()
    rec = load_adept()["left_ankle"]
    acc = rec.acc[: int(QUICK_ADEPT_S * rec.rate_hz)] if quick else rec.acc
    block = to_sample_block(acc, None, rec.rate_hz, accel_g=8, saturated=saturated_samples(acc))
    start = time.perf_counter()
    strides = analyse_block(block, "shin", "left", sensor=0)
    seconds = time.perf_counter() - start
    run = _running(strides)
    ic = np.array([s.ic_t for s in run])
    cad = np.array([s.cadence_spm or np.nan for s in run], float)
    duration = len(acc) / rec.rate_hz
    lo, hi = PLAUSIBLE_CADENCE_SPM
    per_minute = _cadence_per_minute(ic, cad, duration)
    run_minutes = [m for m in per_minute if m["running_strides"] >= 10 and m["median_cadence_spm"] is not None]
    plausible = [m for m in run_minutes if lo <= m["median_cadence_spm"] <= hi]
    finite = cad[np.isfinite(cad)]
    stride_plausible = float(np.mean((finite >= lo) & (finite <= hi))) if len(finite) else None
    still, still_with_strides, running_ref, found = _activity_windows(acc, rec.rate_hz, ic)
    twice_figure, twice = _counted_twice_figure(ic)
    agree = _cadence_agreement(running_ref, ic, cad)
    figs = [
        Figure("adept", "processed end to end", f"{duration / 60:.0f} min" if strides is not None else None, "",
               note=f"{len(run)} running strides, {len(strides) - len(run)} other, in {seconds:.2f} s"),
        Figure("adept", "running minutes with plausible cadence", _r(_pct(len(plausible) / len(run_minutes)) if run_minutes else None, 1),
               "%", at_least=100.0, note=f"{len(plausible)} of {len(run_minutes)} minutes with running in {lo:g}-{hi:g} spm"),
        Figure("adept", "running strides with plausible cadence", _r(_pct(stride_plausible), 1), "%",
               note=f"{lo:g}-{hi:g} steps/min, stride by stride"),
        twice_figure,
        Figure("adept", "still windows with running strides", still_with_strides, "", at_most=0,
               note=f"of {len(still)} still 10-s windows (|a| std < 0.05 g)"),
        Figure("adept", "running windows with strides found", _r(_pct(found / len(running_ref)) if running_ref else None, 1), "%",
               note=f"of {len(running_ref)} periodic 10-s windows; cadence vs autocorrelation "
                    f"{_r(mean_abs(agree), 1) if agree else '–'} spm MAE"),
    ]
    return figs, {"per_minute": per_minute, "counted_twice": twice}
