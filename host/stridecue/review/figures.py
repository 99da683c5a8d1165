"""The run's numbers: what happened in a run, as plain data (the `summary --json` output).

The strides come from the run store (host/stridecue/record/store.py), which analysed the recorded
samples once with the offline driver of the same stride algorithm the live run used; cues and
link statistics come from the run file's events and closing chunk.  summarize() turns them into
the figures; summary_text.py words them, summary.py is the `stridecue summary` command.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stridecue.analysis.combine import counted_strides, repeated_segments
from stridecue.analysis.stride import Stride
from stridecue.coach.policy import Coach, CoachSettings
from stridecue.review.effect import cue_effect, median_shift
from stridecue.review.guided import analyse_guided

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
        "duration_s": float(duration_s),
        "sensors": [{k: s.get(k) for k in ("slot", "name", "mount", "leg")} for s in sensors],
        "running_strides": len(run),
        "other_strides": len(strides) - len(run) - unconfirmed,
        "unconfirmed_running_strides": unconfirmed,
        "warnings": warnings,
        "approximate": {"contact_time_ms": APPROXIMATE_NOTE} if any(s.accel_only for s in run) else {},
        "cadence_spm": _num(_median([_f(s.cadence_spm) for s in run])),
        "contact_time_ms": _num(_scale(_median([_f(s.contact_time_s) for s in run]), 1000)),
        "wobble_deg": _wobble(run, coach_settings),
        "landing_load_g": _landing_load(run),
        "cues": cue_effect(wobble_cues, run, all_cues=cues),
        "fatigue": _fatigue(run),
        "asymmetry": _asymmetry(run),
        "per_minute": _per_minute(run, cues),
        "data_quality": _quality(strides, totals, sensors),
    }
    if second is not None:
        out["thigh"] = _thigh(thigh_strides, second)
    out["cues"]["all_kinds"] = _count_kinds(cues)
    out["cues"]["per_minute"] = len(wobble_cues) / minutes if minutes else None
    guided = analyse_guided(strides, cues)
    if guided is not None:
        out["guided"] = guided
    if "simulation_truth" in totals:
        out["simulation_truth"] = totals["simulation_truth"]
    programme = (meta.get("settings") or {}).get("programme")
    if isinstance(programme, dict):  # a retraining programme's session or retention run (coach/programme.py)
        out["programme"] = programme
    return out


def _apart_thigh(strides: list[Stride]) -> tuple[list[Stride], str | None, list[Stride]]:
    """(strides, leg, thigh strides): with thigh + shin on one leg both sensors see the same
    strides.  The headline figures are the shin's (analysis.combine.counted_strides: landing load
    is a tibial measure; each stride counted once); the thigh's wobble is given apart (_thigh),
    and the knee from the two together (knee_summary)."""
    repeated = repeated_segments((s.leg, s.mount) for s in strides)
    if not repeated:
        return strides, None, []
    leg = min(leg for leg, _mount in repeated)
    thigh = [s for s in strides if (s.leg, s.mount) == (leg, "thigh")]
    return counted_strides(strides), leg, thigh


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
        "median": _num(_median(wobble)),
        "p90": _num(_pct(wobble, 90)),
        "threshold": {leg: float(v) for leg, v in thresholds.items()},
        "over_threshold_pct": _num(100.0 * over / judged if judged else None),
    }


def _landing_load(run: list[Stride]) -> dict:
    pta = np.array([_f(s.pta_axial_g) for s in run], float)
    return {
        "median": _num(_median(pta)),
        "p90": _num(_pct(pta, 90)),
        "loading_rate_median_gps": _num(_median([_f(s.loading_rate_gps) for s in run])),
        "clipped_strides": int(sum(1 for s in run if s.clipped)),
    }


def _thigh(thigh_strides: list[Stride], leg: str) -> dict:
    thigh_run = np.array([s.wobble_deg for s in thigh_strides if s.kind == "run"], float)
    return {"leg": leg, "running_strides": len(thigh_run), "wobble_median_deg": _num(_median(thigh_run)),
            "wobble_p90_deg": _num(_pct(thigh_run, 90))}


def _clock(seconds: float | None) -> str:
    m, sec = divmod(int(round(seconds or 0.0)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


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


def _num(v) -> float | None:
    """A figure as data: full precision, None when missing (text and HTML round at display)."""
    return None if v is None or not np.isfinite(v) else float(v)


def _count_kinds(cues: list[dict]) -> dict:
    counts: dict[str, int] = {}
    for c in cues:
        k = c.get("cue", "wobble")
        counts[k] = counts.get(k, 0) + 1
    return counts


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
        return _num(_median([_f(getattr(s, key)) for s in group]))

    out = {"compared": label, "window_s": float(window)}
    for key, name in (("wobble_deg", "wobble_deg"), ("pta_axial_g", "landing_load_g"), ("cadence_spm", "cadence_spm"),
                      ("contact_time_s", "contact_time_s")):
        out[name] = [med(first, key), med(last, key)]
    out["contact_time_ms"] = [_num(_scale(v, 1000)) for v in out.pop("contact_time_s")]
    # the rise or fall of wobble is said only with its interval: a few noisy strides move a median
    shift = median_shift([s.wobble_deg for s in first], [s.wobble_deg for s in last])
    out["wobble_change_deg"], out["wobble_change_ci95_deg"] = shift if shift is not None else (None, None)
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
        out[name] = {"left": _num(_scale(left, k)), "right": _num(_scale(right, k)), "symmetry_index_pct": _num(si)}
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
            "start_s": float(lo),
            "strides": len(group),
            "wobble_median_deg": _num(_median([s.wobble_deg for s in group])),
            "wobble_p90_deg": _num(_pct([s.wobble_deg for s in group], 90)),
            "landing_load_median_g": _num(_median([_f(s.pta_axial_g) for s in group])),
            "cadence_spm": _num(_median([_f(s.cadence_spm) for s in group])),
            "contact_time_ms": _num(_scale(_median([_f(s.contact_time_s) for s in group]), 1000)),
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
        "missing_pct": _num(100.0 * missing / (samples + missing)) if samples and missing is not None else None,
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
    from stridecue.painload.timeline import run_guidance

    out["pain_and_load"] = run_guidance(store, run)  # load, pain entries and guidance (painload/)
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
    from stridecue.record.runreader import RunReader

    reader = RunReader(path)
    stances = [k for k in knee_from_blocks(reader.samples(by_mount["thigh"]), reader.samples(by_mount["shin"]), leg)
               if k.kind == "run"]
    excursion = np.array([k.knee_excursion_deg for k in stances], float)
    at_ic = np.array([k.knee_angle_ic_deg for k in stances], float)
    return {
        "leg": leg,
        "stances": len(stances),
        "excursion_median_deg": _num(_median(excursion)),
        "excursion_p90_deg": _num(_pct(excursion[np.isfinite(excursion)], 90)),
        "angle_at_contact_median_deg": _num(_median(at_ic)),
    }
