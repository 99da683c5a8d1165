"""The run's numbers: what happened in a run, as plain data (the `summary --json` output).

The strides come from the run store (host/stridecue/record/store.py), which analysed the recorded
samples once with the offline driver of the same stride algorithm the live run used; cues and
link statistics come from the run file's events and closing chunk.  summarize() turns them into
the figures; summary_text.py words them, summary.py is the `stridecue summary` command.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stridecue.analysis.stride import Stride
from stridecue.coach.policy import Coach, CoachSettings
from stridecue.review.guided import analyse_guided

CUE_WINDOW = 10  # strides after a cue against the strides before it
FATIGUE_WINDOW_S = 600.0
MIN_RUN_STRIDES = 6  # fewer strides that look like running are not reported as a run
ACCEL_ONLY_TO_LATE_MS = 80  # bach2022: the accelerometer-only toe-off is 80-100 ms late (docs/validation.md)
APPROXIMATE_NOTE = (f"approximate: accelerometer only, toe-off found ~{ACCEL_ONLY_TO_LATE_MS}-100 ms late, "
                    "so contact time reads long")


def _pct(values: np.ndarray, q: float) -> float | None:
    values = np.asarray(values, float)
    values = values[np.isfinite(values)]
    return float(np.percentile(values, q)) if len(values) else None


def _median(values) -> float | None:
    values = np.asarray(values, float)
    values = values[np.isfinite(values)]
    return float(np.median(values)) if len(values) else None


def coach_settings_from(meta: dict) -> CoachSettings:
    saved = meta.get("settings", {}).get("coach")
    if saved is None and isinstance(meta.get("profile"), dict):
        saved = meta["profile"].get("coach")
    saved = dict(saved or {})
    known = CoachSettings.__dataclass_fields__
    clean = {k: (tuple(v) if isinstance(v, list) else v) for k, v in saved.items() if k in known}
    try:
        return CoachSettings(**clean)
    except (TypeError, ValueError):
        return CoachSettings()


def summarize(strides: list[Stride], cues: list[dict], totals: dict, meta: dict, coach_settings: CoachSettings,
              sensors: list[dict] | None = None, duration_s: float | None = None) -> dict:
    """All figures of the summary as plain data (the --json output).

    strides: the run's Stride records; cues: the run's cue events; totals: the closing
    chunk's summary (link counters) plus "closed"; sensors: per-sensor rows of the store
    (samples, missing_samples, gaps, clipped_samples)."""
    strides = sorted(strides, key=lambda s: s.ic_t)
    strides, second, thigh_strides = _apart_thigh(strides)
    if duration_s is None:
        t_all = [s.ic_t for s in strides]
        duration_s = (max(t_all) - min(t_all)) if t_all else 0.0
    run, unconfirmed, warnings = _running(strides, duration_s, meta)
    wobble_cues = [c for c in cues if c.get("cue", "wobble") == "wobble"]
    sensors = sensors or []
    minutes = duration_s / 60.0 if duration_s else 0.0
    out = {
        "start_time": meta.get("start_time"),
        "simulated": bool(meta.get("simulated", False)),
        "profile": _profile(meta),
        "duration_s": round(float(duration_s), 1),
        "sensors": [{k: s.get(k) for k in ("slot", "name", "mount", "leg")} for s in sensors],
        "running_strides": len(run),
        "other_strides": len(strides) - len(run) - unconfirmed,
        "unconfirmed_running_strides": unconfirmed,
        "warnings": warnings,
        "approximate": {"contact_time_ms": APPROXIMATE_NOTE} if any(s.accel_only for s in run) else {},
        "cadence_spm": _round(_median([_f(s.cadence_spm) for s in run])),
        "contact_time_ms": _round(_scale(_median([_f(s.contact_time_s) for s in run]), 1000)),
        "wobble_deg": _wobble(run, coach_settings),
        "landing_load_g": _landing_load(run),
        "cues": _cue_effect(wobble_cues, run),
        "fatigue": _fatigue(run),
        "asymmetry": _asymmetry(run),
        "per_minute": _per_minute(run, cues),
        "data_quality": _quality(strides, totals, sensors),
    }
    if second is not None:
        out["thigh"] = _thigh(thigh_strides, second)
    out["cues"]["all_kinds"] = _count_kinds(cues)
    out["cues"]["per_minute"] = round(len(wobble_cues) / minutes, 2) if minutes else None
    guided = analyse_guided(strides, cues)
    if guided is not None:
        out["guided"] = guided
    if "simulation_truth" in totals:
        out["simulation_truth"] = totals["simulation_truth"]
    return out


def _apart_thigh(strides: list[Stride]) -> tuple[list[Stride], str | None, list[Stride]]:
    """(strides, leg, thigh strides): with thigh + shin on one leg both sensors see the same
    strides.  The headline figures are the shin's (landing load is a tibial measure; each stride
    counted once); the thigh's wobble is given apart (_thigh), and the knee from the two
    together (knee_summary)."""
    second = _second_segment(strides)
    if second is None:
        return strides, None, []
    thigh = [s for s in strides if s.leg == second and s.mount == "thigh"]
    rest = [s for s in strides if not (s.leg == second and s.mount == "thigh")]
    return rest, second, thigh


def _running(strides: list[Stride], duration_s: float, meta: dict) -> tuple[list[Stride], int, list[str]]:
    """(running strides, unconfirmed running strides, warnings): a few strides that look like
    running are not a run."""
    run = [s for s in strides if s.kind == "run"]
    warnings = []
    if not strides:
        warnings.append(f"no stride found in {_clock(duration_s)} of recording: the sensor saw no running or walking "
                        "(standing still, not worn on a leg, or wrong --columns/--rate when imported)")
    unconfirmed = 0
    if 0 < len(run) < MIN_RUN_STRIDES:
        # one or two strides that happen to look like running (a short recording, a few steps) are not a run:
        # their figures would be read as the run's
        unconfirmed = len(run)
        warnings.append(f"not a run: only {len(run)} stride{'' if len(run) == 1 else 's'} looked like running in "
                        f"{_clock(duration_s)} of recording (a run needs at least {MIN_RUN_STRIDES}); no running figures are given")
        run = []
    warnings.extend(str(w) for w in ((meta.get("imported") or {}).get("warnings") or []))
    return run, unconfirmed, warnings


def _wobble(run: list[Stride], coach_settings: CoachSettings) -> dict:
    """Median and p90 of wobble, and the share of strides over the threshold exactly as the coach
    formed it: the strides replayed through a coach."""
    wobble = np.array([s.wobble_deg for s in run], float)
    coach = Coach(coach_settings)
    over = 0
    judged = 0
    thresholds = {}
    for s in run:
        coach.on_stride(s.known_t, s.leg, s.wobble_deg, _f(s.pta_axial_g), _f(s.cadence_spm))
        thr = coach.threshold(s.leg)
        if thr is not None and s.wobble_deg is not None and np.isfinite(s.wobble_deg):
            thresholds[s.leg] = thr
            judged += 1
            over += bool(s.wobble_deg > thr)
    return {
        "median": _round(_median(wobble)),
        "p90": _round(_pct(wobble, 90)),
        "threshold": {leg: round(v, 2) for leg, v in thresholds.items()},
        "over_threshold_pct": _round(100.0 * over / judged if judged else None),
    }


def _landing_load(run: list[Stride]) -> dict:
    pta = np.array([_f(s.pta_axial_g) for s in run], float)
    return {
        "median": _round(_median(pta)),
        "p90": _round(_pct(pta, 90)),
        "loading_rate_median_gps": _round(_median([_f(s.loading_rate_gps) for s in run]), 0),
        "clipped_strides": int(sum(1 for s in run if s.clipped)),
    }


def _thigh(thigh_strides: list[Stride], leg: str) -> dict:
    thigh_run = np.array([s.wobble_deg for s in thigh_strides if s.kind == "run"], float)
    return {"leg": leg, "running_strides": len(thigh_run), "wobble_median_deg": _round(_median(thigh_run)),
            "wobble_p90_deg": _round(_pct(thigh_run, 90))}


def _clock(seconds: float | None) -> str:
    m, sec = divmod(int(round(seconds or 0.0)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def _second_segment(strides: list[Stride]) -> str | None:
    """The leg that carries both a shin and a thigh sensor, if any."""
    for leg in ("left", "right"):
        mounts = {s.mount for s in strides if s.leg == leg}
        if {"shin", "thigh"} <= mounts:
            return leg
    return None


def _profile(meta: dict) -> str:
    from stridecue.record.store import profile_name

    return profile_name(meta)


def _f(v) -> float:
    return np.nan if v is None else float(v)


def _withheld(strides: list[Stride]) -> dict:
    """Running strides whose wobble the analysis withheld, by reason (analysis.metrics notes)."""
    out: dict[str, int] = {}
    for s in strides:
        note = s.wobble_note
        if s.kind == "run" and note and not s.accel_only:
            out[note] = out.get(note, 0) + 1
    return out


def _scale(v, k):
    return None if v is None else v * k


def _round(v, nd=1):
    return None if v is None or not np.isfinite(v) else round(float(v), nd)


def _count_kinds(cues: list[dict]) -> dict:
    counts: dict[str, int] = {}
    for c in cues:
        k = c.get("cue", "wobble")
        counts[k] = counts.get(k, 0) + 1
    return counts


def _cue_effect(cues: list[dict], run: list[Stride], n: int = CUE_WINDOW) -> dict:
    """Wobble in the n strides after each cue against the n strides before it, on the leg the
    cue was about (values.leg) when it says, else on all running strides."""
    by_leg: dict[str | None, tuple[np.ndarray, np.ndarray]] = {}
    for leg in {s.leg for s in run} | {None}:
        chosen = [s for s in run if leg is None or s.leg == leg]
        by_leg[leg] = (np.array([s.known_t for s in chosen]), np.array([s.wobble_deg for s in chosen], float))
    each = []
    for cue in cues:
        leg = (cue.get("values") or {}).get("leg")
        t, w = by_leg.get(leg, by_leg[None])
        i = int(np.searchsorted(t, cue["t"], side="right"))
        if i >= n and i + n <= len(w):
            b, a = np.nanmean(w[i - n : i]), np.nanmean(w[i : i + n])
            each.append({"t": round(float(cue["t"]), 1), "leg": leg, "before_deg": _round(b, 2), "after_deg": _round(a, 2)})
    before = np.array([e["before_deg"] for e in each], float)
    after = np.array([e["after_deg"] for e in each], float)
    change_ci = None
    if len(each) >= 3:  # percentile bootstrap over cues of the mean change (after - before)
        diff = after - before
        idx = np.random.default_rng(0).integers(0, len(diff), size=(2000, len(diff)))
        change_ci = [_round(v, 2) for v in np.percentile(diff[idx].mean(axis=1), [2.5, 97.5])]
    return {
        "count": len(cues),
        "per_minute": None,
        "measured": len(each),
        "window_strides": n,
        "wobble_before_deg": _round(np.mean(before)) if len(each) else None,
        "wobble_after_deg": _round(np.mean(after)) if len(each) else None,
        "followed_by_less_wobble": int(np.sum(after < before)) if len(each) else None,
        "change_deg": _round(np.mean(after - before), 2) if len(each) else None,
        "change_ci95_deg": change_ci,
        "each": each,
    }


def _fatigue(run: list[Stride]) -> dict | None:
    """First against last 10 minutes; thirds of the run when it is shorter than 20 minutes
    (two 10-minute windows would overlap)."""
    if len(run) < 30:
        return None
    t = np.array([s.ic_t for s in run])
    span = t[-1] - t[0]
    if span >= 2 * FATIGUE_WINDOW_S:
        window, label = FATIGUE_WINDOW_S, "first vs last 10 min"
    else:
        window, label = span / 3, "first vs last third"
    first = [s for s in run if s.ic_t <= t[0] + window]
    last = [s for s in run if s.ic_t >= t[-1] - window]

    def med(group, key):
        return _round(_median([_f(getattr(s, key)) for s in group]))

    out = {"compared": label, "window_s": round(float(window), 1)}
    for key, name in (("wobble_deg", "wobble_deg"), ("pta_axial_g", "landing_load_g"), ("cadence_spm", "cadence_spm"),
                      ("contact_time_s", "contact_time_s")):
        out[name] = [med(first, key), med(last, key)]
    out["contact_time_ms"] = [_round(_scale(v, 1000), 0) for v in out.pop("contact_time_s")]
    return out


def _asymmetry(run: list[Stride], min_strides: int = 10) -> dict | None:
    """Per-leg medians and the symmetry index 100 x (left - right) / mean of both, with two legs."""
    legs = {leg: [s for s in run if s.leg == leg] for leg in ("left", "right")}
    if any(len(v) < min_strides for v in legs.values()):
        return None
    out = {}
    for key, name, k in (("wobble_deg", "wobble_deg", 1), ("pta_axial_g", "landing_load_g", 1), ("contact_time_s", "contact_time_ms", 1000),
                         ("wobble_rate_dps", "wobble_rate_dps", 1)):
        left = _median([_f(getattr(s, key)) for s in legs["left"]])
        right = _median([_f(getattr(s, key)) for s in legs["right"]])
        si = None
        if left is not None and right is not None and (left + right) != 0:
            si = 100.0 * (left - right) / ((left + right) / 2.0)
        out[name] = {"left": _round(_scale(left, k), 2), "right": _round(_scale(right, k), 2), "symmetry_index_pct": _round(si)}
    out["strides"] = {leg: len(v) for leg, v in legs.items()}
    return out


def _per_minute(run: list[Stride], cues: list[dict]) -> list[dict]:
    if not run:
        return []
    t = np.array([s.ic_t for s in run])
    start = float(np.floor(t[0] / 60.0) * 60.0)
    rows = []
    minute = 0
    while start + 60.0 * minute <= t[-1]:
        lo, hi = start + 60.0 * minute, start + 60.0 * (minute + 1)
        group = [s for s in run if lo <= s.ic_t < hi]
        rows.append({
            "minute": minute + 1,
            "start_s": round(lo, 1),
            "strides": len(group),
            "wobble_median_deg": _round(_median([s.wobble_deg for s in group]), 2),
            "wobble_p90_deg": _round(_pct([s.wobble_deg for s in group], 90), 2),
            "landing_load_median_g": _round(_median([_f(s.pta_axial_g) for s in group]), 2),
            "cadence_spm": _round(_median([_f(s.cadence_spm) for s in group]), 0),
            "contact_time_ms": _round(_scale(_median([_f(s.contact_time_s) for s in group]), 1000), 0),
            "cues": sum(1 for c in cues if lo <= c["t"] < hi),
        })
        minute += 1
    return rows


def _quality(strides: list[Stride], totals: dict, sensors: list[dict]) -> dict:
    samples = sum(int(s.get("samples") or 0) for s in sensors) if sensors else totals.get("samples")
    missing = sum(int(s.get("missing_samples") or 0) for s in sensors) if sensors else totals.get("missing_samples")
    return {
        "samples": samples,
        "missing_samples": missing,
        "missing_pct": _round(100.0 * missing / (samples + missing), 3) if samples and missing is not None else None,
        "gaps": sum(int(s.get("gaps") or 0) for s in sensors) if sensors else None,
        "recovered_by_resend": totals.get("recovered_samples"),
        "resend_requests": totals.get("resend_requests"),
        "duplicates_dropped": totals.get("duplicate_samples"),
        "corrupt_notifications": totals.get("corrupt_notifications"),
        "reconnects": totals.get("reconnects"),
        "sensor_restarts": totals.get("sensor_restarts"),
        "dropped_on_sensor": totals.get("sensor_dropped"),
        "clipped_samples": sum(int(s.get("clipped_samples") or 0) for s in sensors) if sensors else totals.get("sensor_clipped"),
        "clipped_strides": sum(1 for s in strides if s.clipped),
        "strides_with_gap": sum(1 for s in strides if s.gap),
        "accel_only_strides": sum(1 for s in strides if s.accel_only),
        "low_alignment_strides": sum(1 for s in strides if _f(s.alignment_confidence) < 0.5),
        "wobble_withheld": _withheld(strides),
        "closed_cleanly": bool(totals.get("closed", True)),
        "error": totals.get("error"),
    }


def load_summary(store, run: dict) -> dict:
    """The summary of a stored run (a store.runs() row)."""
    strides = store.strides(run["id"])
    cues = store.cues(run["id"])
    meta = run["metadata"]
    out = summarize(strides, cues, run["totals"], meta, coach_settings_from(meta), sensors=store.sensors(run["id"]),
                    duration_s=run.get("duration_s"))
    knee = knee_summary(Path(run["path"]), meta)
    if knee is not None:
        out["knee"] = knee
    return out


def knee_summary(path: Path, meta: dict) -> dict | None:
    """With a thigh and a shin sensor on one leg: the knee's frontal-plane angle over stance
    (analysis.combine), from the recorded samples.  None for other runs."""
    sensors = [s for s in meta.get("sensors", []) if isinstance(s, dict)]
    for leg in ("left", "right"):
        by_mount = {s.get("mount"): s.get("slot") for s in sensors if s.get("leg") == leg}
        if "thigh" in by_mount and "shin" in by_mount:
            break
    else:
        return None
    from stridecue.analysis.combine import knee_from_blocks
    from stridecue.record.runfile import RunReader

    reader = RunReader(path)
    stances = [k for k in knee_from_blocks(reader.samples(by_mount["thigh"]), reader.samples(by_mount["shin"]), leg)
               if k.kind == "run"]
    excursion = np.array([k.knee_excursion_deg for k in stances], float)
    at_ic = np.array([k.knee_angle_ic_deg for k in stances], float)
    return {
        "leg": leg,
        "stances": len(stances),
        "excursion_median_deg": _round(_median(excursion)),
        "excursion_p90_deg": _round(_pct(excursion[np.isfinite(excursion)], 90)),
        "angle_at_contact_median_deg": _round(_median(at_ic)),
    }
