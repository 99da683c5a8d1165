"""Post-run summary: what happened in a run, at a glance.

The strides come from the run store (host/stridecue/record/store.py), which analysed the recorded
samples once with the offline driver of the same stride algorithm the live run used; cues and
link statistics come from the run file's events and closing chunk.  `stridecue summary` prints
it, `--json` gives the same figures as data, `--html` writes the self-contained report
(report.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from stridecue.coach.policy import Coach, CoachSettings
from stridecue.errors import UserError
from stridecue.paths import runs_dir

CUE_WINDOW = 10  # strides after a cue against the strides before it
FATIGUE_WINDOW_S = 600.0
MIN_RUN_STRIDES = 6  # fewer strides that look like running are not reported as a run
ACCEL_ONLY_TO_LATE_MS = 80  # bach2022: the accelerometer-only toe-off is 80-100 ms late (docs/validation.md)
APPROXIMATE_NOTE = (f"approximate: accelerometer only, toe-off found ~{ACCEL_ONLY_TO_LATE_MS}-100 ms late, "
                    "so contact time reads long")


def configure(parser) -> None:
    """The summary command's options (cli.py's "summary" subparser)."""
    parser.add_argument("run", nargs="?", metavar="RUN", help="a run file, run id or run name (default: the latest run)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--html", action="store_true", help="write the self-contained HTML report instead")
    parser.add_argument("--out", metavar="FILE", help="with --html: the report file (default: <run name>.html in the current directory); never overwritten")


def latest_run(base: Path) -> Path:
    runs = sorted(runs_dir(base).rglob("*.scrun"))
    if not runs:
        raise UserError(f"no runs in {runs_dir(base)} (record one with `stridecue run`, or `stridecue run --simulate`)")
    return max(runs, key=lambda p: (p.name, p.stat().st_mtime))


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


def summarize(strides: list[dict], cues: list[dict], totals: dict, meta: dict, coach_settings: CoachSettings,
              sensors: list[dict] | None = None, duration_s: float | None = None) -> dict:
    """All figures of the summary as plain data (the --json output).

    strides: stride dicts (analysis contract); cues: the run's cue events; totals: the closing
    chunk's summary (link counters) plus "closed"; sensors: per-sensor rows of the store
    (samples, missing_samples, gaps, clipped_samples)."""
    from stridecue.review.guided import analyse_guided

    strides = sorted(strides, key=lambda s: s["ic_t"])
    # Thigh + shin on one leg: both sensors see the same strides.  The headline figures are the
    # shin's (landing load is a tibial measure; each stride counted once); the thigh's wobble is
    # given apart, and the knee from the two together (knee_summary).
    second = _second_segment(strides)
    if second is not None:
        thigh_strides = [s for s in strides if s.get("leg") == second and s.get("mount") == "thigh"]
        strides = [s for s in strides if not (s.get("leg") == second and s.get("mount") == "thigh")]
    run = [s for s in strides if s.get("kind") == "run"]
    if duration_s is None:
        t_all = [s["ic_t"] for s in strides]
        duration_s = (max(t_all) - min(t_all)) if t_all else 0.0
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
    approximate = {}
    if any(s.get("accel_only") for s in run):
        approximate["contact_time_ms"] = APPROXIMATE_NOTE
    wobble = np.array([s["wobble_deg"] for s in run], float)
    pta = np.array([_f(s.get("pta_axial_g")) for s in run], float)
    clipped = int(sum(1 for s in run if s.get("clipped")))
    wobble_cues = [c for c in cues if c.get("cue", "wobble") == "wobble"]

    # The threshold exactly as the coach formed it: replay the strides through a coach.
    coach = Coach(coach_settings)
    over = 0
    judged = 0
    thresholds = {}
    for s in run:
        coach.on_stride(s["known_t"], s["leg"], s["wobble_deg"], _f(s.get("pta_axial_g")), _f(s.get("cadence_spm")))
        thr = coach.threshold(s["leg"])
        if thr is not None and np.isfinite(s["wobble_deg"]):
            thresholds[s["leg"]] = thr
            judged += 1
            over += bool(s["wobble_deg"] > thr)

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
        "approximate": approximate,
        "cadence_spm": _round(_median([_f(s.get("cadence_spm")) for s in run])),
        "contact_time_ms": _round(_scale(_median([_f(s.get("contact_time_s")) for s in run]), 1000)),
        "wobble_deg": {
            "median": _round(_median(wobble)),
            "p90": _round(_pct(wobble, 90)),
            "threshold": {leg: round(v, 2) for leg, v in thresholds.items()},
            "over_threshold_pct": _round(100.0 * over / judged if judged else None),
        },
        "landing_load_g": {
            "median": _round(_median(pta)),
            "p90": _round(_pct(pta, 90)),
            "loading_rate_median_gps": _round(_median([_f(s.get("loading_rate_gps")) for s in run]), 0),
            "clipped_strides": clipped,
        },
        "cues": _cue_effect(wobble_cues, run),
        "fatigue": _fatigue(run),
        "asymmetry": _asymmetry(run),
        "per_minute": _per_minute(run, cues),
        "data_quality": _quality(strides, totals, sensors),
    }
    if second is not None:
        thigh_run = np.array([s["wobble_deg"] for s in thigh_strides if s.get("kind") == "run"], float)
        out["thigh"] = {"leg": second, "running_strides": len(thigh_run), "wobble_median_deg": _round(_median(thigh_run)),
                        "wobble_p90_deg": _round(_pct(thigh_run, 90))}
    out["cues"]["all_kinds"] = _count_kinds(cues)
    out["cues"]["per_minute"] = round(len(wobble_cues) / minutes, 2) if minutes else None
    guided = analyse_guided(strides, cues)
    if guided is not None:
        out["guided"] = guided
    if "simulation_truth" in totals:
        out["simulation_truth"] = totals["simulation_truth"]
    return out


def _clock(seconds: float | None) -> str:
    m, sec = divmod(int(round(seconds or 0.0)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def _second_segment(strides: list[dict]) -> str | None:
    """The leg that carries both a shin and a thigh sensor, if any."""
    for leg in ("left", "right"):
        mounts = {s.get("mount") for s in strides if s.get("leg") == leg}
        if {"shin", "thigh"} <= mounts:
            return leg
    return None


def _profile(meta: dict) -> str:
    from stridecue.record.store import profile_name

    return profile_name(meta)


def _f(v) -> float:
    return np.nan if v is None else float(v)


def _withheld(strides: list[dict]) -> dict:
    """Running strides whose wobble the analysis withheld, by reason (analysis.metrics notes)."""
    out: dict[str, int] = {}
    for s in strides:
        note = s.get("wobble_note")
        if s.get("kind") == "run" and note and not s.get("accel_only"):
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


def _cue_effect(cues: list[dict], run: list[dict], n: int = CUE_WINDOW) -> dict:
    """Wobble in the n strides after each cue against the n strides before it, on the leg the
    cue was about (values.leg) when it says, else on all running strides."""
    by_leg: dict[str | None, tuple[np.ndarray, np.ndarray]] = {}
    for leg in {s["leg"] for s in run} | {None}:
        chosen = [s for s in run if leg is None or s["leg"] == leg]
        by_leg[leg] = (np.array([s["known_t"] for s in chosen]), np.array([s["wobble_deg"] for s in chosen], float))
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


def _fatigue(run: list[dict]) -> dict | None:
    """First against last 10 minutes; thirds of the run when it is shorter than 20 minutes
    (two 10-minute windows would overlap)."""
    if len(run) < 30:
        return None
    t = np.array([s["ic_t"] for s in run])
    span = t[-1] - t[0]
    if span >= 2 * FATIGUE_WINDOW_S:
        window, label = FATIGUE_WINDOW_S, "first vs last 10 min"
    else:
        window, label = span / 3, "first vs last third"
    first = [s for s in run if s["ic_t"] <= t[0] + window]
    last = [s for s in run if s["ic_t"] >= t[-1] - window]

    def med(group, key):
        return _round(_median([_f(s.get(key)) for s in group]))

    out = {"compared": label, "window_s": round(float(window), 1)}
    for key, name in (("wobble_deg", "wobble_deg"), ("pta_axial_g", "landing_load_g"), ("cadence_spm", "cadence_spm"),
                      ("contact_time_s", "contact_time_s")):
        out[name] = [med(first, key), med(last, key)]
    out["contact_time_ms"] = [_round(_scale(v, 1000), 0) for v in out.pop("contact_time_s")]
    return out


def _asymmetry(run: list[dict], min_strides: int = 10) -> dict | None:
    """Per-leg medians and the symmetry index 100 x (left - right) / mean of both, with two legs."""
    legs = {leg: [s for s in run if s["leg"] == leg] for leg in ("left", "right")}
    if any(len(v) < min_strides for v in legs.values()):
        return None
    out = {}
    for key, name, k in (("wobble_deg", "wobble_deg", 1), ("pta_axial_g", "landing_load_g", 1), ("contact_time_s", "contact_time_ms", 1000),
                         ("wobble_rate_dps", "wobble_rate_dps", 1)):
        left = _median([_f(s.get(key)) for s in legs["left"]])
        right = _median([_f(s.get(key)) for s in legs["right"]])
        si = None
        if left is not None and right is not None and (left + right) != 0:
            si = 100.0 * (left - right) / ((left + right) / 2.0)
        out[name] = {"left": _round(_scale(left, k), 2), "right": _round(_scale(right, k), 2), "symmetry_index_pct": _round(si)}
    out["strides"] = {leg: len(v) for leg, v in legs.items()}
    return out


def _per_minute(run: list[dict], cues: list[dict]) -> list[dict]:
    if not run:
        return []
    t = np.array([s["ic_t"] for s in run])
    start = float(np.floor(t[0] / 60.0) * 60.0)
    rows = []
    minute = 0
    while start + 60.0 * minute <= t[-1]:
        lo, hi = start + 60.0 * minute, start + 60.0 * (minute + 1)
        group = [s for s in run if lo <= s["ic_t"] < hi]
        rows.append({
            "minute": minute + 1,
            "start_s": round(lo, 1),
            "strides": len(group),
            "wobble_median_deg": _round(_median([s["wobble_deg"] for s in group]), 2),
            "wobble_p90_deg": _round(_pct([s["wobble_deg"] for s in group], 90), 2),
            "landing_load_median_g": _round(_median([_f(s.get("pta_axial_g")) for s in group]), 2),
            "cadence_spm": _round(_median([_f(s.get("cadence_spm")) for s in group]), 0),
            "contact_time_ms": _round(_scale(_median([_f(s.get("contact_time_s")) for s in group]), 1000), 0),
            "cues": sum(1 for c in cues if lo <= c["t"] < hi),
        })
        minute += 1
    return rows


def _quality(strides: list[dict], totals: dict, sensors: list[dict]) -> dict:
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
        "clipped_strides": sum(1 for s in strides if s.get("clipped")),
        "strides_with_gap": sum(1 for s in strides if s.get("gap")),
        "accel_only_strides": sum(1 for s in strides if s.get("accel_only")),
        "low_alignment_strides": sum(1 for s in strides if _f(s.get("alignment_confidence")) < 0.5),
        "wobble_withheld": _withheld(strides),
        "closed_cleanly": bool(totals.get("closed", True)),
        "error": totals.get("error"),
    }


def format_summary(path: Path, s: dict) -> str:
    def f(v, unit="", nd=1):
        return "–" if v is None else f"{v:.{nd}f}{unit}"

    m, sec = divmod(int(s["duration_s"]), 60)
    h, m = divmod(m, 60)
    duration = f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"
    sensors = ", ".join(f"{x.get('leg')} {x.get('mount')}" for x in s.get("sensors", [])) or "–"
    lines = [
        f"Run {path.name}" + ("  (simulated)" if s["simulated"] else ""),
        f"  date           {s['start_time']}",
        f"  duration       {duration}   sensors: {sensors}",
        f"  strides        {s['running_strides']} running" + (f", {s['other_strides']} walking/other" if s["other_strides"] else "")
        + (f", {s['unconfirmed_running_strides']} unconfirmed" if s.get("unconfirmed_running_strides") else ""),
        f"  cadence        {f(s['cadence_spm'], ' steps/min', 0)}",
        f"  contact time   {f(s['contact_time_ms'], ' ms', 0)}"
        + (f" ({s['approximate']['contact_time_ms']})" if "contact_time_ms" in s.get("approximate", {}) else ""),
    ]
    lines[3:3] = [f"  warning        {w}" for w in s.get("warnings", [])]
    w = s["wobble_deg"]
    thr = ", ".join(f"{leg} {v:.1f}°" for leg, v in w["threshold"].items()) or "not formed"
    lines.append(f"  wobble         median {f(w['median'], '°')}, p90 {f(w['p90'], '°')}; threshold {thr}; {f(w['over_threshold_pct'], '%', 0)} of strides over")
    ll = s["landing_load_g"]
    lines.append(f"  landing load   median {f(ll['median'], ' g')}, p90 {f(ll['p90'], ' g')}, loading rate {f(ll['loading_rate_median_gps'], ' g/s', 0)}; {ll['clipped_strides']} strides clipped")
    c = s["cues"]
    effect = ""
    if c["wobble_before_deg"] is not None:
        effect = (f"; wobble {c['wobble_before_deg']:.1f}° in the {c['window_strides']} strides before a cue, {c['wobble_after_deg']:.1f}° after"
                  f" (lower after {c['followed_by_less_wobble']} of {c['measured']}"
                  + (f"; change {c['change_deg']:+.1f}°, 95% CI {c['change_ci95_deg'][0]:+.1f} to {c['change_ci95_deg'][1]:+.1f}" if c.get("change_ci95_deg") else "")
                  + ")")
    other = {k: v for k, v in c.get("all_kinds", {}).items() if k != "wobble"}
    extra = (" (+ " + ", ".join(f"{v} {k}" for k, v in other.items()) + ")") if other else ""
    lines.append(f"  cues           {c['count']} wobble cue{'' if c['count'] == 1 else 's'}{extra}, {f(c['per_minute'], '/min', 2)}{effect}")
    fat = s["fatigue"]
    if fat:
        lines.append(
            f"  fatigue        {fat['compared']}: wobble {f(fat['wobble_deg'][0], '°')} -> {f(fat['wobble_deg'][1], '°')},"
            f" landing {f(fat['landing_load_g'][0], ' g')} -> {f(fat['landing_load_g'][1], ' g')},"
            f" cadence {f(fat['cadence_spm'][0], '', 0)} -> {f(fat['cadence_spm'][1], '', 0)}"
        )
    a = s.get("asymmetry")
    if a:
        lines.append(
            f"  left/right     wobble {f(a['wobble_deg']['left'], '°')} / {f(a['wobble_deg']['right'], '°')} (SI {f(a['wobble_deg']['symmetry_index_pct'], '%', 0)}),"
            f" landing {f(a['landing_load_g']['left'], ' g')} / {f(a['landing_load_g']['right'], ' g')} (SI {f(a['landing_load_g']['symmetry_index_pct'], '%', 0)}),"
            f" contact {f(a['contact_time_ms']['left'], ' ms', 0)} / {f(a['contact_time_ms']['right'], ' ms', 0)}"
        )
    th = s.get("thigh")
    if th:
        lines.append(f"  thigh          {th['leg']} thigh wobble median {f(th['wobble_median_deg'], '°')}, p90 {f(th['wobble_p90_deg'], '°')}"
                     f" over {th['running_strides']} strides (the lines above are the shin's)")
    k = s.get("knee")
    if k:
        lines.append(
            f"  knee           {k['leg']} leg, thigh + shin: frontal-plane excursion median {f(k['excursion_median_deg'], '°')},"
            f" p90 {f(k['excursion_p90_deg'], '°')} over {k['stances']} stances; angle at contact {f(k['angle_at_contact_median_deg'], '°')}"
            " (segment axes projected on the frontal plane, not the joint's anatomical valgus)"
        )
    q = s["data_quality"]
    total = (q["samples"] or 0) + (q["missing_samples"] or 0)
    gaps = f" in {q['gaps']} gaps" if q.get("gaps") else ""
    lines.append(
        f"  data quality   {_n(q['missing_samples'])}/{total} samples lost{gaps}, {_n(q['recovered_by_resend'])} recovered by resend"
        f" ({_n(q['resend_requests'])} requests), {_n(q['reconnects'])} reconnects, {_n(q['clipped_samples'])} clipped samples"
        f" ({q['clipped_strides']} strides)" + ("" if q["closed_cleanly"] else "; the run did not close cleanly")
    )
    if q.get("low_alignment_strides") is not None and s["running_strides"]:
        low = q["low_alignment_strides"]
        verdict = "steady" if low <= 0.05 * s["running_strides"] else "check the strap: the sensor may be loose or bouncing"
        lines.append(f"  mounting       {low} of {s['running_strides']} strides with alignment confidence below 0.5 ({verdict})")
    withheld = q.get("wobble_withheld") or {}
    if withheld:
        why = ", ".join(f"{n} {_WITHHELD_WORDS.get(k, k)}" for k, n in sorted(withheld.items(), key=lambda kv: -kv[1]))
        lines.append(f"  wobble         withheld for {sum(withheld.values())} strides (counted, no cue): {why}")
    if "guided" in s:
        from stridecue.review.guided import format_guided

        lines.extend(format_guided(s["guided"]))
    if "simulation_truth" in s:
        truth = s["simulation_truth"]
        lines.append(f"  virtual runner truth: {truth.get('running_strides')} running strides"
                     + (f", mean wobble {truth['wobble_deg_mean']:.1f}°" if truth.get("wobble_deg_mean") is not None else ""))
    return "\n".join(lines)


_WITHHELD_WORDS = {
    "frame settling": "while the sensor's frame settled (warm-up)",
    "no gait cycle before contact": "with no whole gait cycle before the contact (start or gap)",
    "implausible": "implausible (beyond what a leg does in running)",
}


def _n(v) -> str:
    return "?" if v is None else str(v)


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
               if k["kind"] == "run"]
    excursion = np.array([k["knee_excursion_deg"] for k in stances], float)
    at_ic = np.array([k["knee_angle_ic_deg"] for k in stances], float)
    return {
        "leg": leg,
        "stances": len(stances),
        "excursion_median_deg": _round(_median(excursion)),
        "excursion_p90_deg": _round(_pct(excursion[np.isfinite(excursion)], 90)),
        "angle_at_contact_median_deg": _round(_median(at_ic)),
    }


def resolve_run(store, ref: str | None, base: Path) -> dict:
    if ref:
        return store.find(ref)
    run = store.latest()
    if run is None:
        raise UserError(f"no runs in {runs_dir(base)} (record one with `stridecue run`, or `stridecue run --simulate`)")
    return run


def summary_command(args, base: Path) -> int:
    from stridecue.record.store import open_store

    store = open_store(base)  # warnings go to stderr, so --json output stays clean
    try:
        run = resolve_run(store, args.run, base)
        s = load_summary(store, run)
        path = Path(run["path"])
        if getattr(args, "html", False):
            from stridecue.review.report import write_report

            out = write_report(store, run, s, Path(args.out) if getattr(args, "out", None) else None)
            print(f"report written: {out}")
            return 0
        if getattr(args, "out", None):
            raise UserError("--out goes with --html")
        if args.json:
            print(json.dumps({"run": str(path), "run_id": run["id"], **s}, indent=2, default=_json_default))
        else:
            print(format_summary(path, s))
        return 0
    finally:
        store.close()


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


main = summary_command
