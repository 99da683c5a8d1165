"""Post-run summary: what happened in a run, at a glance.

The summary re-analyses the recorded samples with the offline driver of the same stride
algorithm the live run used, and reads cues and link statistics from the run file's events.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .coach import Coach, CoachSettings
from .errors import UserError
from .paths import runs_dir


def latest_run(base: Path) -> Path:
    runs = sorted(runs_dir(base).rglob("*.scrun"))
    if not runs:
        raise UserError(f"no runs in {runs_dir(base)} (record one with `stridecue run`, or `stridecue run --simulate`)")
    return max(runs, key=lambda p: (p.name, p.stat().st_mtime))


def _pct(values: np.ndarray, q: float) -> float | None:
    return float(np.percentile(values, q)) if len(values) else None


def _median(values) -> float | None:
    values = np.asarray(values, float)
    values = values[np.isfinite(values)]
    return float(np.median(values)) if len(values) else None


def coach_settings_from(meta: dict) -> CoachSettings:
    saved = dict(meta.get("settings", {}).get("coach", {}))
    known = CoachSettings.__dataclass_fields__
    clean = {k: (tuple(v) if isinstance(v, list) else v) for k, v in saved.items() if k in known}
    return CoachSettings(**clean)


def summarize(strides: list[dict], cues: list[dict], totals: dict, meta: dict, coach_settings: CoachSettings) -> dict:
    """All figures of the summary as plain data (the --json output)."""
    run = [s for s in strides if s.get("kind") == "run"]
    t_all = [s["ic_t"] for s in strides]
    duration = (max(t_all) - min(t_all)) if t_all else 0.0
    wobble = np.array([s["wobble_deg"] for s in run], float)
    pta = np.array([s.get("pta_axial_g", np.nan) for s in run], float)
    clipped = int(sum(1 for s in run if s.get("clipped")))

    # The threshold exactly as the coach formed it: replay the strides through a coach.
    coach = Coach(coach_settings)
    over = 0
    thresholds = {}
    for s in run:
        coach.on_stride(s["known_t"], s["leg"], s["wobble_deg"], s.get("pta_axial_g"), s.get("cadence_spm"))
        thr = coach.threshold(s["leg"])
        if thr is not None:
            thresholds[s["leg"]] = thr
            over += s["wobble_deg"] > thr
    judged = sum(1 for s in run if s["leg"] in thresholds)

    out = {
        "start_time": meta.get("start_time"),
        "simulated": meta.get("simulated", False),
        "duration_s": round(duration, 1),
        "running_strides": len(run),
        "other_strides": len(strides) - len(run),
        "cadence_spm": _round(_median([s.get("cadence_spm", np.nan) for s in run])),
        "contact_time_ms": _round(_scale(_median([s.get("contact_time_s", np.nan) for s in run]), 1000)),
        "wobble_deg": {
            "median": _round(_median(wobble)),
            "p90": _round(_pct(wobble[np.isfinite(wobble)], 90)),
            "threshold": {leg: round(v, 2) for leg, v in thresholds.items()},
            "over_threshold_pct": _round(100.0 * over / judged if judged else None),
        },
        "landing_load_g": {
            "median": _round(_median(pta)),
            "p90": _round(_pct(pta[np.isfinite(pta)], 90)),
            "clipped_strides": clipped,
        },
        "cues": _cue_effect(cues, run),
        "fatigue": _fatigue(run),
        "data_quality": {
            "missing_samples": totals.get("missing_samples"),
            "samples": totals.get("samples"),
            "recovered_by_resend": totals.get("recovered_samples"),
            "resend_requests": totals.get("resend_requests"),
            "reconnects": totals.get("reconnects"),
            "clipped_samples": totals.get("sensor_clipped"),
            "closed_cleanly": totals.get("closed", True),
        },
    }
    if "simulation_truth" in totals:
        out["simulation_truth"] = totals["simulation_truth"]
    return out


def _scale(v, k):
    return None if v is None else v * k


def _round(v, nd=1):
    return None if v is None else round(float(v), nd)


def _cue_effect(cues: list[dict], run: list[dict], n: int = 10) -> dict:
    """Wobble in the n strides after each cue against the n strides before it."""
    t = np.array([s["known_t"] for s in run])
    w = np.array([s["wobble_deg"] for s in run])
    before, after = [], []
    for cue in cues:
        i = int(np.searchsorted(t, cue["t"], side="right"))
        if i >= n and i + n <= len(w):
            before.append(np.mean(w[i - n : i]))
            after.append(np.mean(w[i : i + n]))
    return {
        "count": len(cues),
        "per_minute": None,
        "wobble_before_deg": _round(np.mean(before)) if before else None,
        "wobble_after_deg": _round(np.mean(after)) if after else None,
    }


def _fatigue(run: list[dict]) -> dict | None:
    """First against last 10 minutes (thirds of the run when shorter than 30 minutes)."""
    if len(run) < 30:
        return None
    t = np.array([s["known_t"] for s in run])
    span = t[-1] - t[0]
    window = 600.0 if span >= 1800 else span / 3
    first = [s for s in run if s["known_t"] <= t[0] + window]
    last = [s for s in run if s["known_t"] >= t[-1] - window]
    label = "first vs last 10 min" if span >= 1800 else "first vs last third"

    def med(group, key):
        return _round(_median([s.get(key, np.nan) for s in group]))

    return {
        "compared": label,
        "wobble_deg": [med(first, "wobble_deg"), med(last, "wobble_deg")],
        "landing_load_g": [med(first, "pta_axial_g"), med(last, "pta_axial_g")],
        "cadence_spm": [med(first, "cadence_spm"), med(last, "cadence_spm")],
    }


def format_summary(path: Path, s: dict) -> str:
    def f(v, unit="", nd=1):
        return "–" if v is None else f"{v:.{nd}f}{unit}"

    m, sec = divmod(int(s["duration_s"]), 60)
    lines = [
        f"Run {path.name}" + ("  (simulated)" if s["simulated"] else ""),
        f"  date           {s['start_time']}",
        f"  duration       {m}:{sec:02d}",
        f"  strides        {s['running_strides']} running" + (f", {s['other_strides']} walking/other" if s["other_strides"] else ""),
        f"  cadence        {f(s['cadence_spm'], ' steps/min', 0)}",
        f"  contact time   {f(s['contact_time_ms'], ' ms', 0)}",
    ]
    w = s["wobble_deg"]
    thr = ", ".join(f"{leg} {v:.1f}°" for leg, v in w["threshold"].items()) or "not formed"
    lines.append(f"  wobble         median {f(w['median'], '°')}, p90 {f(w['p90'], '°')}; threshold {thr}; {f(w['over_threshold_pct'], '%', 0)} of strides over")
    ll = s["landing_load_g"]
    lines.append(f"  landing load   median {f(ll['median'], ' g')}, p90 {f(ll['p90'], ' g')}; {ll['clipped_strides']} strides clipped")
    c = s["cues"]
    effect = ""
    if c["wobble_before_deg"] is not None:
        effect = f"; wobble {c['wobble_before_deg']:.1f}° in the 10 strides before a cue, {c['wobble_after_deg']:.1f}° after"
    lines.append(f"  cues           {c['count']}{effect}")
    fat = s["fatigue"]
    if fat:
        lines.append(
            f"  fatigue        {fat['compared']}: wobble {f(fat['wobble_deg'][0], '°')} -> {f(fat['wobble_deg'][1], '°')},"
            f" landing {f(fat['landing_load_g'][0], ' g')} -> {f(fat['landing_load_g'][1], ' g')},"
            f" cadence {f(fat['cadence_spm'][0], '', 0)} -> {f(fat['cadence_spm'][1], '', 0)}"
        )
    q = s["data_quality"]
    total = (q["samples"] or 0) + (q["missing_samples"] or 0)
    lines.append(
        f"  data quality   {q['missing_samples']}/{total} samples lost, {q['recovered_by_resend']} recovered by resend,"
        f" {q['reconnects']} reconnects, {q['clipped_samples']} clipped samples" + ("" if q["closed_cleanly"] else "; the run did not close cleanly")
    )
    if "simulation_truth" in s:
        lines.append(f"  virtual runner truth: {s['simulation_truth']['running_strides']} running strides")
    return "\n".join(lines)


def summary_command(args, base: Path) -> int:
    path = Path(args.run) if args.run else latest_run(base)
    if not path.exists():
        raise UserError(f"{path}: no such run file")
    from .analysis.run import analyse_run
    from .runfile import RunReader

    reader = RunReader(path)
    strides = analyse_run(reader)
    cues = [e for e in reader.events() if e.get("kind") == "cue"]
    totals = dict(reader.summary or {})
    totals["closed"] = reader.closed
    s = summarize(strides, cues, totals, reader.metadata, coach_settings_from(reader.metadata))
    if s["duration_s"]:
        s["cues"]["per_minute"] = round(s["cues"]["count"] / (s["duration_s"] / 60.0), 2)
    if args.json:
        print(json.dumps({"run": str(path), **s}, indent=2))
    else:
        print(format_summary(path, s))
    return 0
