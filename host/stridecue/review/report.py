"""The HTML run report: one self-contained file that opens offline.

Everything is inline (CSS, SVG charts drawn by charts.py); no scripts, fonts or images are fetched.
Sections: key figures, plain-language notes, wobble, landing load and cadence over time with a
marker per cue (coloured by kind), each leg's distributions, the thigh's, shin's and knee's
figures side by side (thigh + shin on one leg), the guided hip-or-foot result (when the run was
one), per-minute table, left and right, this runner's previous runs and trends, data quality.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from stridecue.analysis.stride import Stride
from stridecue.errors import UserError
from stridecue.analysis.combine import counted_strides
from stridecue.review.charts import LEG_COLOURS, _e, _fmt, cue_colour, histogram, segment_bars, time_chart, trend_chart
from stridecue.review.effect import interval_sign
from stridecue.review.summary_text import cue_effect_words

def notes(s: dict, previous: list[dict]) -> list[str]:
    """Plain-language notes for a runner and their physio."""
    out = [f"Warning: {w}." for w in s.get("warnings", [])]
    if "contact_time_ms" in s.get("approximate", {}):
        out.append(f"Contact time is {s['approximate']['contact_time_ms']}.")
    w = s["wobble_deg"]
    if not s["running_strides"]:
        return out + ["No running strides were found in this recording, so there is nothing to summarise yet."]
    if w["median"] is None:
        return out + ["Wobble is not measured in this recording (no gyroscope)."]
    guided = s.get("guided")
    if guided:  # the protocol, not the wobble coach, spoke in this run
        out.append("This was a guided hip-or-foot run: the instructions came in segments, so the figures below mix normal "
                   "running with the two focuses.")
    elif w["over_threshold_pct"] is not None:
        out.append(f"Your knee wobble was under your threshold on {100 - w['over_threshold_pct']:.0f}% of strides "
                   f"(typical {w['median']:.1f}°, on your wobbliest tenth of strides {_fmt(w['p90'])}°).")
    out.extend(_cue_notes(s["cues"], s["running_strides"] and not guided))
    out.extend(_fatigue_notes(s.get("fatigue")))
    out.extend(_asymmetry_notes(s.get("asymmetry")))
    out.extend(_trend_notes(s, previous))
    if guided:
        out.append(guided["verdict"])
    q = s["data_quality"]
    if q.get("missing_pct") and q["missing_pct"] > 1.0:
        out.append(f"{q['missing_pct']:.1f}% of the samples were lost over Bluetooth; strides across a gap are marked and left out of the figures.")
    if s["landing_load_g"]["clipped_strides"]:
        out.append(f"{s['landing_load_g']['clipped_strides']} landings hit the sensor's range, so their landing load is a lower bound.")
    out.append("Wobble is the frontal-plane sway of the shin or thigh while the foot is on the ground, a proxy for the knee caving in, "
               "not a joint angle; compare it with your own earlier runs rather than with other runners.")
    return out


def _cue_notes(c: dict, coached: bool) -> list[str]:
    """Did wobble drop after the cues more than it does anyway?  coached: a wobble-coached run with
    running strides.  "Helped" only when the interval of the effect is below zero (review/effect.py)."""
    if c["count"] and c["wobble_before_deg"] is not None:
        if c["verdict"] == "lower":
            lo, hi = c["effect_ci95_deg"]
            return [f"The cues helped in this run: after a cue wobble fell {-c['effect_deg']:.1f}° more than at moments of similar "
                    f"wobble without a cue (95% CI {-hi:.1f}° to {-lo:.1f}°, {c['matched']} cues). This shows the drop came "
                    "with the cues; it cannot show that it lasts without them."]
        if c["verdict"] == "not enough cues":
            return [f"Whether the cues helped cannot be told from this run: only {c['matched']} of {c['measured']} cues had moments "
                    "of similar wobble without a cue to compare with (at least 3 are needed). Wobble usually drops after a "
                    "high patch anyway, so a drop after a cue alone shows nothing."]
        opening = "The cues did not help" if c["verdict"] == "higher" else "No clear effect of the cues"
        return [f"{opening}: {cue_effect_words(c)}. Wobble usually drops after a high patch anyway, so a "
                "drop after a cue alone shows nothing. Try the other cue wording, or the guided hip-or-foot run to find a "
                "focus that works for you."]
    if c["count"] == 0 and coached:
        return ["No wobble cues were needed in this run."]
    return []


def _fatigue_notes(f: dict | None) -> list[str]:
    """Wobble from the first to the last part of the run, said as a rise or fall only when its
    interval excludes zero (review/effect.py)."""
    if not (f and f.get("wobble_change_ci95_deg")):
        return []
    change, (lo, hi) = f["wobble_change_deg"], f["wobble_change_ci95_deg"]
    sign = interval_sign(f["wobble_change_ci95_deg"])
    interval = f"95% CI {lo:+.1f}° to {hi:+.1f}°".replace("-", "−")
    if sign > 0:
        return [f"Wobble rose by {change:.1f}° ({interval}) from the {f['compared'].split(' vs ')[0]} to the last part of the run: "
                "the hip muscles may tire. Hip strength work and building distance gradually help here."]
    if sign < 0:
        return [f"Wobble fell by {-change:.1f}° ({interval}) over the run: you settled into a steadier stride."]
    return [f"Wobble stayed about the same from start to finish (change {change:+.1f}°, {interval}).".replace("-", "−")]


def _asymmetry_notes(a: dict | None) -> list[str]:
    if a and a["wobble_deg"]["symmetry_index_pct"] is not None and abs(a["wobble_deg"]["symmetry_index_pct"]) >= 15:
        worse = "left" if a["wobble_deg"]["symmetry_index_pct"] > 0 else "right"
        return [f"Your {worse} knee wobbled more than the other ({a['wobble_deg']['left']:.1f}° left, {a['wobble_deg']['right']:.1f}° right)."]
    return []


def _trend_notes(s: dict, previous: list[dict]) -> list[str]:
    """This run's wobble and landing load against the runner's last five runs."""
    prev = [r for r in previous if r.get("wobble_median_deg") is not None]
    if not prev:
        return []
    ref = float(np.median([r["wobble_median_deg"] for r in prev[-5:]]))
    d = s["wobble_deg"]["median"] - ref
    trend = "lower than" if d < -0.3 else "higher than" if d > 0.3 else "about the same as"
    out = [f"Compared with your previous {min(len(prev), 5)} runs (typical wobble {ref:.1f}°), this run was {trend} usual."]
    lref = [r["landing_load_median_g"] for r in prev[-5:] if r.get("landing_load_median_g") is not None]
    if lref and s["landing_load_g"]["median"] is not None:
        ld = s["landing_load_g"]["median"] - float(np.median(lref))
        if abs(ld) >= 0.5:
            out.append(f"Landing load was {abs(ld):.1f} g {'lower' if ld < 0 else 'higher'} than in your recent runs.")
    return out


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:900px;color:#222;line-height:1.45}
h1{font-size:1.5em;margin-bottom:0}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
.sub{color:#666;margin-top:2px}.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{border:1px solid #ddd;border-radius:6px;padding:8px 12px;min-width:120px}.card b{display:block;font-size:1.3em}
.card span{color:#666;font-size:.85em}table{border-collapse:collapse;font-size:.9em}td,th{padding:3px 8px;border-bottom:1px solid #eee;text-align:right}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}.tick{font-size:11px;fill:#555}.label{font-size:12px;fill:#333}
.row{display:flex;flex-wrap:wrap;gap:10px}.legend span{margin-right:14px}.verdict{font-weight:600}
.empty{color:#888}.warn{color:#a33}
"""


def render_report(run: dict, s: dict, strides: list[Stride], cues: list[dict], history_rows: list[dict]) -> str:
    """The whole report as one HTML string.  With a thigh and a shin sensor on one leg the charts
    are the shin's strides (each step once, as every count in the report) and the thigh and the
    knee have a section of their own."""
    name = run.get("name") or Path(run["path"]).stem
    previous = [r for r in history_rows if r["id"] != run.get("id") and (r.get("start_time") or "") < (run.get("start_time") or "~")]
    strides = counted_strides(strides)
    marker_cues = [x for x in cues if not (x.get("values") or {}).get("reminder")]
    body = [
        f"<h1>Run report: {_e(name)}</h1>",
        f'<p class="sub">{_e(_date(s["start_time"]))} · profile {_e(s.get("profile", "default"))}'
        + (" · simulated run" if s["simulated"] else "") + "</p>",
        '<section id="figures"><div class="cards">' + "".join(f'<div class="card"><b>{_e(v)}</b><span>{_e(k)}</span></div>'
                                                             for k, v in _cards(s, cues)) + "</div></section>",
        '<section id="notes"><h2>What happened</h2><ul>' + "".join(f"<li>{_e(n)}</li>" for n in notes(s, previous)) + "</ul></section>",
        _over_time(strides, marker_cues, s["wobble_deg"]["threshold"]),
        _distributions(strides, s["wobble_deg"]["threshold"]),
    ]
    if s.get("thigh") or s.get("knee"):
        body.append(_thigh_and_shin_section(s))
    if s.get("guided"):
        body.append(_guided_section(s["guided"]))
    body.append(_per_minute_table(s["per_minute"]))
    if s.get("asymmetry"):
        body.append(_asymmetry_section(s["asymmetry"]))
    if s.get("pain_and_load"):
        body.append(_pain_section(s["pain_and_load"]))
    body.append(_history_section(history_rows, run.get("id")))
    body.append(_quality_section(s["data_quality"]))
    body.append(f'<p class="sub">StrideCue report generated {_e(dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))} from {_e(Path(run["path"]).name)}.</p>')
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>StrideCue run report {_e(name)}</title><style>{_CSS}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def _cards(s: dict, cues: list[dict]) -> list[tuple[str, str]]:
    """The key figures.  Counts are the ones the tables add up to: running strides (each step once)
    and every cue spoken, by kind."""
    m, sec = divmod(int(s["duration_s"]), 60)
    wob, ll = s["wobble_deg"], s["landing_load_g"]
    approximate = "contact_time_ms" in s.get("approximate", {})
    kinds = s["cues"].get("all_kinds") or {}
    by_kind = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items(), key=lambda kv: -kv[1]))
    return [
        ("duration", f"{m}:{sec:02d}"), ("running strides", str(s["running_strides"])),
        ("cadence", _fmt(s["cadence_spm"], 0, " spm")),
        ("contact time" + (" (approximate)" if approximate else ""),
         ("≈" if approximate and s["contact_time_ms"] is not None else "") + _fmt(s["contact_time_ms"], 0, " ms")),
        ("wobble median", _fmt(wob["median"], 1, "°")), ("wobble p90", _fmt(wob["p90"], 1, "°")),
        ("over threshold", _fmt(wob["over_threshold_pct"], 0, "%")), ("landing load median", _fmt(ll["median"], 1, " g")),
        ("landing load p90", _fmt(ll["p90"], 1, " g")), ("cues" + (f" ({by_kind})" if len(kinds) > 1 else ""), str(len(cues))),
    ]


def _over_time(strides: list[Stride], cues: list[dict], thresholds: dict) -> str:
    kinds = sorted({str(x.get("cue") or "wobble") for x in cues})
    legend = ("".join(f'<span style="color:{col}">● {leg} leg</span>' for leg, col in LEG_COLOURS.items() if any(x.leg == leg for x in strides))
              + "".join(f'<span class="cue-legend {_e(k)}" style="color:{cue_colour(k)}">│ {_e(k)} cue</span>' for k in kinds)
              + " lines: 30-s median")
    return "".join([
        '<section id="over-time"><h2>Over the run</h2>', f'<p class="legend">{legend}</p>',
        time_chart(strides, "wobble_deg", cues, "Wobble over time", "wobble (°)",
                   {f"threshold {leg} {v:.1f}°": v for leg, v in thresholds.items()}, "wobble-time"),
        time_chart(strides, "pta_axial_g", cues, "Landing load over time", "landing load (g)", None, "load-time"),
        time_chart(strides, "cadence_spm", cues, "Cadence over time", "cadence (steps/min)", None, "cadence-time"),
        "</section>"])


def _distributions(strides: list[Stride], thresholds: dict) -> str:
    run = [x for x in strides if x.kind == "run"]
    legs = [leg for leg in LEG_COLOURS if any(x.leg == leg for x in run)]
    return "".join([
        '<section id="distributions"><h2>Distributions</h2><div class="row">',
        histogram({leg: [x.wobble_deg for x in run if x.leg == leg] for leg in legs}, "Wobble distribution", "wobble (°)",
                  thresholds, "wobble-hist"),
        histogram({leg: [x.pta_axial_g for x in run if x.leg == leg] for leg in legs}, "Landing load distribution",
                  "landing load (g)", cls="load-hist"),
        "</div></section>"])


def _thigh_and_shin_section(s: dict) -> str:
    """The shin's, the thigh's and the knee's figures side by side (thigh + shin on one leg)."""
    thigh, knee, wob = s.get("thigh") or {}, s.get("knee") or {}, s["wobble_deg"]
    leg = thigh.get("leg") or knee.get("leg") or ""
    rows = [("running strides (knee: stances seen by both)", str(s["running_strides"]), str(thigh.get("running_strides", "–")),
             str(knee.get("stances", "–"))),
            ("wobble median (knee: excursion)", _fmt(wob["median"], 1, "°"), _fmt(thigh.get("wobble_median_deg"), 1, "°"),
             _fmt(knee.get("excursion_median_deg"), 1, "°")),
            ("wobble p90 (knee: excursion)", _fmt(wob["p90"], 1, "°"), _fmt(thigh.get("wobble_p90_deg"), 1, "°"),
             _fmt(knee.get("excursion_p90_deg"), 1, "°")),
            ("knee angle at contact", "", "", _fmt(knee.get("angle_at_contact_median_deg"), 1, "°"))]
    table = "".join(f'<tr class="segment-row"><td>{_e(r[0])}</td><td>{_e(r[1])}</td><td>{_e(r[2])}</td><td>{_e(r[3])}</td></tr>' for r in rows)
    return (f'<section id="thigh-shin"><h2>Thigh and shin ({_e(leg)} leg)</h2><table><tr><th></th><th>shin</th><th>thigh</th>'
            f'<th>knee</th></tr>{table}</table><p class="sub">Both sensors see the same steps: each is counted once (the shin\'s). '
            "The knee figure is the frontal-plane angle between the two segments' axes, not the joint's anatomical valgus "
            "angle.</p></section>")


def _asymmetry_section(a: dict) -> str:
    rows = "".join(f"<tr><td>{_e(label)}</td><td>{_fmt(a[k]['left'], nd)}</td><td>{_fmt(a[k]['right'], nd)}</td><td>{_fmt(a[k]['symmetry_index_pct'], 0, '%')}</td></tr>"
                   for k, label, nd in (("wobble_deg", "wobble (°)", 1), ("landing_load_g", "landing load (g)", 1), ("contact_time_ms", "contact time (ms)", 0)))
    return f'<section id="asymmetry"><h2>Left and right</h2><table><tr><th></th><th>left</th><th>right</th><th>symmetry index</th></tr>{rows}</table></section>'


def _date(iso) -> str:
    try:
        return dt.datetime.fromisoformat(str(iso)).strftime("%A %d %B %Y, %H:%M %Z").strip()
    except (TypeError, ValueError):
        return str(iso or "unknown date")


def _per_minute_table(rows: list[dict]) -> str:
    head = "<tr><th>minute</th><th>strides</th><th>wobble median (°)</th><th>wobble p90 (°)</th><th>landing load (g)</th><th>cadence (spm)</th><th>contact (ms)</th><th>cues</th></tr>"
    body = "".join(
        f'<tr class="minute"><td>{r["minute"]}</td><td>{r["strides"]}</td><td>{_fmt(r["wobble_median_deg"])}</td><td>{_fmt(r["wobble_p90_deg"])}</td>'
        f'<td>{_fmt(r["landing_load_median_g"])}</td><td>{_fmt(r["cadence_spm"], 0)}</td><td>{_fmt(r["contact_time_ms"], 0)}</td><td>{r["cues"]}</td></tr>'
        for r in rows)
    return f'<section id="per-minute"><h2>Minute by minute</h2><table>{head}{body}</table></section>'


def _guided_section(g: dict) -> str:
    from stridecue.review.guided import FOCUS_NAMES, moved_words

    rows = "".join(f'<tr><td>{_e(x["segment"])}</td><td>{x["start_t"] / 60:.1f}–{x["end_t"] / 60:.1f}</td><td>{x["strides"]}</td>'
                   f'<td>{_fmt(x["wobble_median_deg"], 2)}</td><td>{_fmt(x["landing_load_median_g"], 2)}</td></tr>' for x in g["segments"])
    parts = ['<section id="guided"><h2>Hip or foot? Guided run</h2>',
             '<div class="row">' + segment_bars(g["segments"], "wobble_median_deg", "Wobble by segment", "wobble (°)", "guided-wobble")
             + segment_bars(g["segments"], "landing_load_median_g", "Landing load by segment", "landing load (g)", "guided-load") + "</div>",
             f'<table><tr><th>segment</th><th>min</th><th>strides</th><th>wobble (°)</th><th>landing load (g)</th></tr>{rows}</table>']
    if "problem" in g:
        parts.append(f'<p class="warn">Incomplete: {_e(g["problem"])}.</p></section>')
        return "".join(parts)
    pct = round(100 * g["confidence"])
    for metric, label in (("wobble", "Wobble"), ("landing_load", "Landing load")):
        mres = g["metrics"].get(metric, {})
        if "problem" in mres:
            parts.append(f"<p>{label}: {_e(mres['problem'])}.</p>")
            continue
        u, nd = ("°", 1) if mres["unit"] == "deg" else (" g", 2)
        hip, foot = mres["hip"], mres["foot"]
        # a rise is said as a rise: "fell by -0.35" read as a fall
        parts.append(f'<p class="effect {metric}">{label} {moved_words(hip["reduction"], u, nd)} with the {FOCUS_NAMES["hip"]} '
                     f'({pct}% CI of the fall {hip["reduction_ci"][0]:.2f} to {hip["reduction_ci"][1]:.2f}) and '
                     f'{moved_words(foot["reduction"], u, nd)} with the {FOCUS_NAMES["foot"]} '
                     f'({foot["reduction_ci"][0]:.2f} to {foot["reduction_ci"][1]:.2f}); '
                     f'difference hip − foot {mres["hip_minus_foot"]:.2f}{u} ({pct}% CI {mres["hip_minus_foot_ci"][0]:.2f} to {mres["hip_minus_foot_ci"][1]:.2f}).</p>')
    parts.append(f'<p class="verdict" data-focus="{_e(g.get("focus") or "none")}">{_e(g["verdict"])}</p>')
    if "exercises" in g:
        ex = g["exercises"]
        parts.append(f'<h3>Suggested exercises: {_e(ex["title"])}</h3><ul class="exercises">' + "".join(f"<li>{_e(i)}</li>" for i in ex["items"]) + "</ul>")
    parts.append('<p class="sub">Each focus is compared with the normal running just before and after it; intervals are percentile '
                 'bootstrap intervals over strides.</p></section>')
    return "".join(parts)


def _pain_section(guide: dict) -> str:
    """Load, pain and guidance (painload/timeline.run_guidance), with the sources in full."""
    from stridecue.painload.guidance import SOURCES

    load = guide["load"]
    pain = ", ".join(f"{p['score']}/10 {p['kind'].replace('_', ' ')}" for p in guide["pain"]) or "not logged"
    items = "".join(f'<li class="{_e(a["level"]).replace(" ", "-")}">{_e(a["text"])}' + (f" <i>({_e(a['source'])})</i>" if a["source"] else "")
                    + "</li>" for a in guide["guidance"])
    cited = sorted({a["source"] for a in guide["guidance"] if a["source"]})
    return ('<section id="pain"><h2>Pain and load</h2>'
            f"<p>{load['running_min']:.1f} min running of {load['recorded_min']:.1f} min recorded, {load['running_strides']}"
            f" running strides; distance not available (the sensor does not measure speed). Pain: {_e(pain)}.</p>"
            f"<ul>{items}</ul><p class=\"sub\">Guidance, not a diagnosis. "
            + " ".join(_e(SOURCES[c]) + "." for c in cited) + "</p></section>")


def _history_section(rows: list[dict], current_id) -> str:
    if len(rows) < 2:
        return '<section id="history"><h2>Your runs</h2><p class="empty">This is the first run of this profile; later reports compare against it.</p></section>'
    shown = rows[-20:]
    table = "".join(
        f'<tr class="history-run{" current" if r["id"] == current_id else ""}"><td>{_e(r["date"])}</td><td>{_fmt(r["duration_min"], 0)}</td><td>{r["running_strides"]}</td>'
        f'<td>{_fmt(r["wobble_median_deg"])}</td><td>{_fmt(r["wobble_p90_deg"])}</td><td>{_fmt(r["landing_load_median_g"])}</td>'
        f'<td>{_fmt(r["cadence_spm"], 0)}</td><td>{_fmt(r["cues_per_min"], 2)}</td></tr>'
        for r in shown)
    charts = "".join(x for x in (
        trend_chart(shown, "wobble_median_deg", "Wobble median per run", "wobble (°)", current_id, "trend-wobble"),
        trend_chart(shown, "landing_load_median_g", "Landing load median per run", "landing load (g)", current_id, "trend-load"),
        trend_chart(shown, "cadence_spm", "Cadence per run", "cadence (spm)", current_id, "trend-cadence"),
        trend_chart(shown, "cues_per_min", "Cues per minute per run", "cues/min", current_id, "trend-cues")) if x)
    return (f'<section id="history"><h2>Your runs</h2><div class="row">{charts}</div>'
            '<table><tr><th>date</th><th>min</th><th>strides</th><th>wobble (°)</th><th>wobble p90 (°)</th><th>landing load (g)</th>'
            f'<th>cadence</th><th>cues/min</th></tr>{table}</table></section>')


def _quality_section(q: dict) -> str:
    items = [
        f"{_n(q['missing_samples'])} of {_n((q['samples'] or 0) + (q['missing_samples'] or 0))} samples lost"
        + (f" in {q['gaps']} gaps" if q.get("gaps") else ""),
        f"{_n(q['recovered_by_resend'])} samples recovered by resend ({_n(q['resend_requests'])} requests)",
        f"{_n(q['reconnects'])} reconnects, {_n(q.get('sensor_restarts'))} sensor restarts",
        f"{_n(q['clipped_samples'])} clipped samples, {q['clipped_strides']} clipped strides, {q['strides_with_gap']} strides across a gap",
    ]
    withheld = q.get("wobble_withheld") or {}
    if withheld:
        items.append(f"wobble withheld for {sum(withheld.values())} strides (counted, no cue): "
                     + ", ".join(f"{n} {why}" for why, n in sorted(withheld.items(), key=lambda kv: -kv[1])))
    if not q["closed_cleanly"]:
        items.append("The recording did not close cleanly (the host stopped unexpectedly); everything up to then is included.")
    return '<section id="quality"><h2>Data quality</h2><ul>' + "".join(f"<li>{_e(i)}</li>" for i in items) + "</ul></section>"


def _n(v) -> str:
    return "?" if v is None else str(v)


def write_report(store, run: dict, s: dict, out: Path | None = None) -> Path:
    """Render the report of a stored run and write it to `out` (never overwriting)."""
    from stridecue.review.history import trend_rows

    out = Path(out) if out is not None else Path.cwd() / f"{run['name']}.html"
    if out.exists():
        raise UserError(f"{out}: already exists; a report is never overwritten (choose another --out)")
    if out.suffix.lower() not in (".html", ".htm"):
        raise UserError(f"{out}: a report file name ends in .html")
    rows = trend_rows(store, profile=s.get("profile"), upto=run)
    return write_html(out, render_report(run, s, store.strides(run["id"]), store.cues(run["id"]), rows))


def write_html(out: Path, text: str) -> Path:
    """Write a report page to `out`, never overwriting a file that is there."""
    if out.suffix.lower() not in (".html", ".htm"):
        raise UserError(f"{out}: a report file name ends in .html")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "x", encoding="utf-8") as f:
            f.write(text)
    except FileExistsError:
        raise UserError(f"{out}: already exists; a report is never overwritten (choose another --out)") from None
    except OSError as e:
        raise UserError(f"{out}: cannot write: {e.strerror or e}") from None
    return out
