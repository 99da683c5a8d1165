"""The run's numbers in words: the lines `stridecue summary` prints (figures.py makes the numbers)."""

from __future__ import annotations

from pathlib import Path

from stridecue.review.guided import format_guided


def format_summary(path: Path, s: dict) -> str:
    """The summary's lines for the figures of summarize(), one topic a line."""
    lines = _head(path, s)
    lines.append(_wobble_line(s["wobble_deg"]))
    ll = s["landing_load_g"]
    lines.append(f"  landing load   median {_v(ll['median'], ' g')}, p90 {_v(ll['p90'], ' g')}, loading rate {_v(ll['loading_rate_median_gps'], ' g/s', 0)}; {ll['clipped_strides']} strides clipped")
    lines.append(_cue_line(s["cues"]))
    for line in (_fatigue_line(s["fatigue"]), _asymmetry_line(s.get("asymmetry")), _thigh_line(s.get("thigh")), _knee_line(s.get("knee")),
                 _programme_line(s.get("programme"))):
        if line:
            lines.append(line)
    lines.extend(_quality_lines(s))
    if "guided" in s:
        lines.extend(format_guided(s["guided"]))
    if "pain_and_load" in s:
        from stridecue.painload.timeline import guidance_lines

        lines.extend(guidance_lines(s["pain_and_load"]))
    if "simulation_truth" in s:
        truth = s["simulation_truth"]
        lines.append(f"  virtual runner truth: {truth.get('running_strides')} running strides"
                     + (f", mean wobble {truth['wobble_deg_mean']:.1f}°" if truth.get("wobble_deg_mean") is not None else ""))
    return "\n".join(lines)


def _programme_line(p: dict | None) -> str | None:
    """Which step of the retraining programme the run was planned as (`stridecue programme`)."""
    if not p:
        return None
    planned = f", {p['planned_s'] / 60:.0f} min planned" if p.get("planned_s") and p.get("minute_s", 60) == 60 else ""
    if p.get("kind") == "session":
        return f"  programme      session {p.get('number')} of 8{planned}, {p.get('feedback_share', 1.0):.0%} of cues spoken"
    if p.get("kind") == "retention":
        return f"  programme      retention run {p.get('number')} ({'1 week' if p.get('number') == 1 else '1 month'}), no cues{planned}"
    return "  programme      a free run between session 8 and a retention run, no cues"


def _v(v, unit="", nd=1):
    return "–" if v is None else f"{v:.{nd}f}{unit}"


def _head(path: Path, s: dict) -> list[str]:
    """The run, its date, duration and sensors, warnings, strides, cadence and contact time."""
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
        f"  cadence        {_v(s['cadence_spm'], ' steps/min', 0)}",
        f"  contact time   {_v(s['contact_time_ms'], ' ms', 0)}"
        + (f" ({s['approximate']['contact_time_ms']})" if "contact_time_ms" in s.get("approximate", {}) else ""),
    ]
    lines[3:3] = [f"  warning        {w}" for w in s.get("warnings", [])]
    return lines


def _wobble_line(w: dict) -> str:
    thr = ", ".join(f"{leg} {v:.1f}°" for leg, v in w["threshold"].items()) or "not formed"
    return f"  wobble         median {_v(w['median'], '°')}, p90 {_v(w['p90'], '°')}; threshold {thr}; {_v(w['over_threshold_pct'], '%', 0)} of strides over"


def _cue_line(c: dict) -> str:
    other = {k: v for k, v in c.get("all_kinds", {}).items() if k != "wobble"}
    extra = (" (+ " + ", ".join(f"{v} {k}" for k, v in other.items()) + ")") if other else ""
    line = f"  cues           {c['count']} wobble cue{'' if c['count'] == 1 else 's'}{extra}, {_v(c['per_minute'], '/min', 2)}"
    if c["wobble_before_deg"] is None:
        return line
    line += (f"; wobble {_v(c['wobble_before_deg'], '°')} in the {c['window_strides']} strides before a cue, {_v(c['wobble_after_deg'], '°')} after"
             f" (lower after {c['followed_by_less_wobble']} of {c['measured']})")
    return line + "\n" + " " * 17 + cue_effect_words(c)


def cue_effect_words(c: dict) -> str:
    """The cues' effect against what happens without a cue (review/effect.py), as the summary and the report say it."""
    if c["effect_ci95_deg"] is None:
        return (f"effect of the cues not measured: {c['matched']} of {c['measured']} cues had moments of similar wobble "
                "without a cue to compare with (at least 3 needed)")
    lo, hi = c["effect_ci95_deg"]
    said = {"lower": "wobble fell more after the cues: a clear effect", "higher": "wobble rose more after the cues",
            "no clear effect": "no clear effect: the interval includes zero"}[c["verdict"]]
    return (f"after a cue wobble changed {_signed(c['change_deg'], '°')}, without a cue from as high a wobble"
            f" {_signed(c['expected_change_deg'], '°')} ({c['matched']} cues compared): effect {_signed(c['effect_deg'], '°')} (95% CI {_signed(lo)} to {_signed(hi)}); {said}")


def _signed(v, unit="", nd=1):
    return "–" if v is None else f"{v:+.{nd}f}{unit}".replace("-", "−")


def _fatigue_line(fat: dict | None) -> str | None:
    if not fat:
        return None
    return (f"  fatigue        {fat['compared']}: wobble {_v(fat['wobble_deg'][0], '°')} -> {_v(fat['wobble_deg'][1], '°')},"
            f" landing {_v(fat['landing_load_g'][0], ' g')} -> {_v(fat['landing_load_g'][1], ' g')},"
            f" cadence {_v(fat['cadence_spm'][0], '', 0)} -> {_v(fat['cadence_spm'][1], '', 0)},"
            f" contact {_v(fat['contact_time_ms'][0], ' ms', 0)} -> {_v(fat['contact_time_ms'][1], ' ms', 0)}"
            + (f"; wobble change {_signed(fat['wobble_change_deg'], '°')} (95% CI {_signed(fat['wobble_change_ci95_deg'][0])}"
               f" to {_signed(fat['wobble_change_ci95_deg'][1])})" if fat.get("wobble_change_ci95_deg") else ""))


def _asymmetry_line(a: dict | None) -> str | None:
    if not a:
        return None
    return (f"  left/right     wobble {_v(a['wobble_deg']['left'], '°')} / {_v(a['wobble_deg']['right'], '°')} (SI {_v(a['wobble_deg']['symmetry_index_pct'], '%', 0)}),"
            f" landing {_v(a['landing_load_g']['left'], ' g')} / {_v(a['landing_load_g']['right'], ' g')} (SI {_v(a['landing_load_g']['symmetry_index_pct'], '%', 0)}),"
            f" contact {_v(a['contact_time_ms']['left'], ' ms', 0)} / {_v(a['contact_time_ms']['right'], ' ms', 0)}")


def _thigh_line(th: dict | None) -> str | None:
    if not th:
        return None
    return (f"  thigh          {th['leg']} thigh wobble median {_v(th['wobble_median_deg'], '°')}, p90 {_v(th['wobble_p90_deg'], '°')}"
            f" over {th['running_strides']} strides (the lines above are the shin's)")


def _knee_line(k: dict | None) -> str | None:
    if not k:
        return None
    return (f"  knee           {k['leg']} leg, thigh + shin: frontal-plane excursion median {_v(k['excursion_median_deg'], '°')},"
            f" p90 {_v(k['excursion_p90_deg'], '°')} over {k['stances']} stances; angle at contact {_v(k['angle_at_contact_median_deg'], '°')}"
            " (segment axes projected on the frontal plane, not the joint's anatomical valgus)")


def _quality_lines(s: dict) -> list[str]:
    """Data quality, the mounting verdict and the strides whose wobble was withheld."""
    q = s["data_quality"]
    total = (q["samples"] or 0) + (q["missing_samples"] or 0)
    gaps = f" in {q['gaps']} gaps" if q.get("gaps") else ""
    lines = [
        f"  data quality   {_n(q['missing_samples'])}/{total} samples lost{gaps}, {_n(q['recovered_by_resend'])} recovered by resend"
        f" ({_n(q['resend_requests'])} requests), {_n(q['reconnects'])} reconnects, {_n(q['clipped_samples'])} clipped samples"
        f" ({q['clipped_strides']} strides)" + ("" if q["closed_cleanly"] else "; still being recorded: the figures so far"
                                                   if q.get("still_recording") else "; the run did not close cleanly")
    ]
    if q.get("low_alignment_strides") is not None and s["running_strides"]:
        low = q["low_alignment_strides"]
        verdict = "steady" if low <= 0.05 * s["running_strides"] else "check the strap: the sensor may be loose or bouncing"
        lines.append(f"  mounting       {low} of {s['running_strides']} strides with alignment confidence below 0.5 ({verdict})")
    withheld = q.get("wobble_withheld") or {}
    if withheld:
        why = ", ".join(f"{n} {_WITHHELD_WORDS.get(k, k)}" for k, n in sorted(withheld.items(), key=lambda kv: -kv[1]))
        lines.append(f"  wobble         withheld for {sum(withheld.values())} strides (counted, no cue): {why}")
    return lines


_WITHHELD_WORDS = {
    "frame settling": "while the sensor's frame settled (warm-up)",
    "no gait cycle before contact": "with no whole gait cycle before the contact (start or gap)",
    "implausible": "implausible (beyond what a leg does in running)",
}


def _n(v) -> str:
    return "?" if v is None else str(v)
