"""The HTML run report: one self-contained file that opens offline.

Everything is inline (CSS, SVG charts drawn here); no scripts, fonts or images are fetched.
Sections: key figures, plain-language notes, wobble and landing load over time with cue
markers, distributions, the guided hip-or-foot result (when the run was one), per-minute
table, this runner's previous runs and trends, data quality.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from pathlib import Path

import numpy as np

from stridecue.analysis.stride import Stride
from stridecue.errors import UserError

LEG_COLOURS = {"left": "#1f6fb2", "right": "#c2571a"}
CUE_COLOUR = "#7a2a9a"
W, H = 860, 240
PAD_L, PAD_R, PAD_T, PAD_B = 56, 16, 14, 36


def _e(v) -> str:
    return html.escape(str(v), quote=True)


def _fmt(v, nd=1, unit="") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    return f"{v:.{nd}f}{unit}"


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if not math.isfinite(lo) or not math.isfinite(hi):
        return []
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=raw)
    start = math.ceil(lo / step) * step
    return [round(start + i * step, 10) for i in range(int((hi - start) / step) + 1)]


class _Axes:
    def __init__(self, x0, x1, y0, y1, w=W, h=H):
        self.x0, self.x1 = x0, (x1 if x1 > x0 else x0 + 1.0)
        self.y0, self.y1 = y0, (y1 if y1 > y0 else y0 + 1.0)
        self.w, self.h = w, h

    def x(self, v):
        return PAD_L + (v - self.x0) / (self.x1 - self.x0) * (self.w - PAD_L - PAD_R)

    def y(self, v):
        return self.h - PAD_B - (v - self.y0) / (self.y1 - self.y0) * (self.h - PAD_T - PAD_B)

    def frame(self, xlabel: str, ylabel: str, xfmt=lambda v: f"{v:g}") -> list[str]:
        out = [f'<rect x="{PAD_L}" y="{PAD_T}" width="{self.w - PAD_L - PAD_R}" height="{self.h - PAD_T - PAD_B}" fill="#fafafa" stroke="#ccc"/>']
        for v in _nice_ticks(self.y0, self.y1):
            y = self.y(v)
            out.append(f'<line x1="{PAD_L}" x2="{self.w - PAD_R}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e4e4e4"/>')
            out.append(f'<text x="{PAD_L - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{v:g}</text>')
        for v in _nice_ticks(self.x0, self.x1, 8):
            x = self.x(v)
            out.append(f'<text x="{x:.1f}" y="{self.h - PAD_B + 16}" text-anchor="middle" class="tick">{_e(xfmt(v))}</text>')
        out.append(f'<text x="{(PAD_L + self.w - PAD_R) / 2:.0f}" y="{self.h - 4}" text-anchor="middle" class="label">{_e(xlabel)}</text>')
        out.append(f'<text x="14" y="{(PAD_T + self.h - PAD_B) / 2:.0f}" text-anchor="middle" class="label" '
                   f'transform="rotate(-90 14 {(PAD_T + self.h - PAD_B) / 2:.0f})">{_e(ylabel)}</text>')
        return out


def _svg(parts: list[str], title: str, cls: str, w=W, h=H) -> str:
    return (f'<svg class="chart {cls}" role="img" aria-label="{_e(title)}" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
            f'xmlns="http://www.w3.org/2000/svg"><title>{_e(title)}</title>' + "".join(parts) + "</svg>")


def _rolling_median(t: np.ndarray, v: np.ndarray, window_s: float = 30.0, step_s: float = 10.0):
    if len(t) == 0:
        return np.zeros(0), np.zeros(0)
    centres = np.arange(t[0], t[-1] + 1e-9, step_s)
    out = []
    for c in centres:
        sel = v[(t >= c - window_s / 2) & (t < c + window_s / 2)]
        sel = sel[np.isfinite(sel)]
        out.append(np.median(sel) if len(sel) >= 3 else np.nan)
    return centres, np.array(out)


def time_chart(strides: list[Stride], key: str, cues: list[dict], title: str, ylabel: str, hlines: dict | None = None,
               cls: str = "") -> str:
    """Per-stride dots (per leg), a 30-s rolling median, threshold lines and cue markers."""
    run = [s for s in strides if s.kind == "run" and getattr(s, key) is not None and math.isfinite(getattr(s, key))]
    if not run:
        return f'<p class="empty">No running strides with {ylabel.lower()}.</p>'
    t = np.array([s.ic_t for s in run]) / 60.0
    v = np.array([getattr(s, key) for s in run], float)
    lo, hi = np.percentile(v, [0.5, 99.5])
    margin = 0.1 * (hi - lo or 1.0)
    ax = _Axes(float(t.min()), float(t.max()), float(min(lo - margin, 0.0 if lo > 0 and lo < 2 * margin else lo - margin)), float(hi + margin))
    parts = ax.frame("run time (min)", ylabel)
    for leg, colour in LEG_COLOURS.items():
        sel = [i for i, s in enumerate(run) if s.leg == leg]
        dots = "".join(f'<circle cx="{ax.x(t[i]):.1f}" cy="{ax.y(min(max(v[i], ax.y0), ax.y1)):.1f}" r="1.6"/>' for i in sel)
        if dots:
            parts.append(f'<g class="dots {leg}" fill="{colour}" fill-opacity="0.35">{dots}</g>')
        if sel:
            ct, cm = _rolling_median(t[sel] * 60.0, v[sel])
            pts = " ".join(f"{ax.x(a / 60.0):.1f},{ax.y(b):.1f}" for a, b in zip(ct, cm) if np.isfinite(b))
            if pts:
                parts.append(f'<polyline class="trend {leg}" points="{pts}" fill="none" stroke="{colour}" stroke-width="2"/>')
    for name, value in (hlines or {}).items():
        if value is not None and ax.y0 <= value <= ax.y1:
            y = ax.y(value)
            parts.append(f'<line class="threshold" x1="{PAD_L}" x2="{W - PAD_R}" y1="{y:.1f}" y2="{y:.1f}" stroke="#b00" stroke-dasharray="5 4"/>')
            parts.append(f'<text x="{W - PAD_R - 4}" y="{y - 4:.1f}" text-anchor="end" class="tick" fill="#b00">{_e(name)}</text>')
    for c in cues:
        x = ax.x(c["t"] / 60.0)
        if PAD_L <= x <= W - PAD_R:
            parts.append(f'<line class="cue-marker" data-t="{c["t"]:.1f}" x1="{x:.1f}" x2="{x:.1f}" y1="{PAD_T}" y2="{H - PAD_B}" '
                         f'stroke="{CUE_COLOUR}" stroke-width="1"><title>{_e(c.get("words") or c.get("cue"))} at {c["t"] / 60:.1f} min</title></line>')
    return _svg(parts, title, cls)


def histogram(values, title: str, xlabel: str, marker: float | None = None, marker_label: str = "", cls: str = "", bins: int = 30) -> str:
    v = np.asarray([x for x in values if x is not None], float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return f'<p class="empty">No values for {_e(xlabel)}.</p>'
    lo, hi = np.percentile(v, [0.5, 99.5])
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    counts, edges = np.histogram(np.clip(v, lo, hi), bins=bins, range=(lo, hi))
    w, h = 420, 220
    ax = _Axes(float(lo), float(hi), 0.0, float(counts.max()) * 1.1, w, h)
    parts = ax.frame(xlabel, "strides")
    for c, a, b in zip(counts, edges[:-1], edges[1:]):
        if c:
            parts.append(f'<rect class="bar" x="{ax.x(a):.1f}" y="{ax.y(c):.1f}" width="{max(ax.x(b) - ax.x(a) - 1, 1):.1f}" '
                         f'height="{ax.y(0) - ax.y(c):.1f}" fill="#5a8fbf"/>')
    if marker is not None and lo <= marker <= hi:
        x = ax.x(marker)
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{PAD_T}" y2="{h - PAD_B}" stroke="#b00" stroke-dasharray="5 4"/>')
        parts.append(f'<text x="{x + 4:.1f}" y="{PAD_T + 12}" class="tick" fill="#b00">{_e(marker_label)}</text>')
    return _svg(parts, title, cls, w, h)


def trend_chart(rows: list[dict], key: str, title: str, ylabel: str, current_id: int | None = None, cls: str = "") -> str:
    pts = [(i, r[key]) for i, r in enumerate(rows) if r.get(key) is not None]
    if len(pts) < 2:
        return ""
    w, h = 420, 200
    vals = [p[1] for p in pts]
    span = (max(vals) - min(vals)) or 1.0
    ax = _Axes(-0.5, len(rows) - 0.5, min(vals) - 0.15 * span, max(vals) + 0.15 * span, w, h)
    parts = ax.frame("run", ylabel, xfmt=lambda v: str(int(v) + 1) if float(v).is_integer() and 0 <= v < len(rows) else "")
    parts.append(f'<polyline points="{" ".join(f"{ax.x(i):.1f},{ax.y(y):.1f}" for i, y in pts)}" fill="none" stroke="#1f6fb2" stroke-width="2"/>')
    for i, y in pts:
        current = rows[i].get("id") == current_id
        parts.append(f'<circle class="run-point{" current" if current else ""}" cx="{ax.x(i):.1f}" cy="{ax.y(y):.1f}" r="{5 if current else 3.5}" '
                     f'fill="{"#b00" if current else "#1f6fb2"}"><title>{_e(rows[i].get("date"))}: {y:g}</title></circle>')
    return _svg(parts, title, cls, w, h)


SEGMENT_COLOURS = {"hip": "#2e8b57", "foot": "#c2571a"}


def segment_bars(segments: list[dict], key: str, title: str, ylabel: str, cls: str) -> str:
    """One bar per guided segment (median of its strides); focus segments coloured."""
    shown = [x for x in segments if x.get(key) is not None and x["segment"] != "warmup"]
    if not shown:
        return ""
    w, h = 420, 220
    vals = [x[key] for x in shown]
    lo = min(vals) - 0.2 * ((max(vals) - min(vals)) or 1.0)
    ax = _Axes(-0.5, len(shown) - 0.5, max(lo, 0.0), max(vals) * 1.05, w, h)
    parts = ax.frame("segment", ylabel, xfmt=lambda v: "")
    bw = (ax.x(1) - ax.x(0)) * 0.7
    for i, x in enumerate(shown):
        cx = ax.x(i)
        parts.append(f'<rect class="segment-bar {_e(x["segment"])}" x="{cx - bw / 2:.1f}" y="{ax.y(x[key]):.1f}" width="{bw:.1f}" '
                     f'height="{ax.y(ax.y0) - ax.y(x[key]):.1f}" fill="{SEGMENT_COLOURS.get(x["segment"], "#8aa")}"><title>{_e(x["segment"])}: '
                     f'{x[key]:.2f}</title></rect>')
        parts.append(f'<text x="{cx:.1f}" y="{h - PAD_B + 16}" text-anchor="middle" class="tick">{_e(x["segment"])}</text>')
    return _svg(parts, title, cls, w, h)


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
    """Did wobble drop after the cues?  coached: a wobble-coached run with running strides."""
    if c["count"] and c["wobble_before_deg"] is not None:
        diff = c["wobble_before_deg"] - c["wobble_after_deg"]
        if diff > 0.2:
            return [f"The cues helped: in the {c['window_strides']} strides after a cue wobble was {diff:.1f}° lower than in the strides "
                    f"before it (lower after {c['followed_by_less_wobble']} of {c['measured']} cues)."]
        return [f"Wobble did not clearly drop after the cues ({c['wobble_before_deg']:.1f}° before, {c['wobble_after_deg']:.1f}° after). "
                "Try the other cue wording, or the guided hip-or-foot run to find a focus that works for you."]
    if c["count"] == 0 and coached:
        return ["No wobble cues were needed in this run."]
    return []


def _fatigue_notes(f: dict | None) -> list[str]:
    if not (f and f["wobble_deg"][0] is not None and f["wobble_deg"][1] is not None):
        return []
    rise = f["wobble_deg"][1] - f["wobble_deg"][0]
    if rise >= 1.0:
        return [f"Wobble rose by {rise:.1f}° from the {f['compared'].split(' vs ')[0]} to the last part of the run: the hip muscles "
                "tire. Hip strength work and building distance gradually help here."]
    if rise <= -1.0:
        return [f"Wobble fell by {-rise:.1f}° over the run: you settled into a steadier stride."]
    return ["Wobble stayed about the same from start to finish."]


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
    """The whole report as one HTML string."""
    name = run.get("name") or Path(run["path"]).stem
    previous = [r for r in history_rows if r["id"] != run.get("id") and (r.get("start_time") or "") < (run.get("start_time") or "~")]
    m, sec = divmod(int(s["duration_s"]), 60)
    wob, ll, c = s["wobble_deg"], s["landing_load_g"], s["cues"]
    thr = wob["threshold"]
    thr_lines = {f"threshold {leg} {v:.1f}°": v for leg, v in thr.items()}
    wobble_cues = [x for x in cues if x.get("cue", "wobble") == "wobble"]
    marker_cues = wobble_cues or [x for x in cues if not (x.get("values") or {}).get("reminder")]
    cards = [
        ("duration", f"{m}:{sec:02d}"), ("running strides", str(s["running_strides"])),
        ("cadence", _fmt(s["cadence_spm"], 0, " spm")), ("contact time" + (" (approximate)" if "contact_time_ms" in s.get("approximate", {}) else ""),
                                                       ("≈" if "contact_time_ms" in s.get("approximate", {}) and s["contact_time_ms"] is not None else "")
                                                       + _fmt(s["contact_time_ms"], 0, " ms")),
        ("wobble median", _fmt(wob["median"], 1, "°")), ("wobble p90", _fmt(wob["p90"], 1, "°")),
        ("over threshold", _fmt(wob["over_threshold_pct"], 0, "%")), ("landing load median", _fmt(ll["median"], 1, " g")),
        ("landing load p90", _fmt(ll["p90"], 1, " g")), ("cues", str(c["count"])),
    ]
    body = [
        f"<h1>Run report: {_e(name)}</h1>",
        f'<p class="sub">{_e(_date(s["start_time"]))} · profile {_e(s.get("profile", "default"))}'
        + (" · simulated run" if s["simulated"] else "") + "</p>",
        '<section id="figures"><div class="cards">' + "".join(f'<div class="card"><b>{_e(v)}</b><span>{_e(k)}</span></div>' for k, v in cards) + "</div></section>",
        '<section id="notes"><h2>What happened</h2><ul>' + "".join(f"<li>{_e(n)}</li>" for n in notes(s, previous)) + "</ul></section>",
        '<section id="over-time"><h2>Over the run</h2>',
        '<p class="legend">' + "".join(f'<span style="color:{col}">● {leg} leg</span>' for leg, col in LEG_COLOURS.items()
                                      if any(x.leg == leg for x in strides)) + f'<span style="color:{CUE_COLOUR}">│ cue</span> lines: 30-s median</p>',
        time_chart(strides, "wobble_deg", marker_cues, "Wobble over time", "wobble (°)", thr_lines, "wobble-time"),
        time_chart(strides, "pta_axial_g", marker_cues, "Landing load over time", "landing load (g)", None, "load-time"),
        "</section>",
        '<section id="distributions"><h2>Distributions</h2><div class="row">',
        histogram([x.wobble_deg for x in strides if x.kind == "run"], "Wobble distribution", "wobble (°)",
                  min(thr.values()) if thr else None, "threshold", "wobble-hist"),
        histogram([x.pta_axial_g for x in strides if x.kind == "run"], "Landing load distribution", "landing load (g)", cls="load-hist"),
        "</div></section>",
    ]
    if s.get("guided"):
        body.append(_guided_section(s["guided"]))
    body.append(_per_minute_table(s["per_minute"]))
    if s.get("asymmetry"):
        a = s["asymmetry"]
        rows = "".join(f"<tr><td>{_e(label)}</td><td>{_fmt(a[k]['left'], nd)}</td><td>{_fmt(a[k]['right'], nd)}</td><td>{_fmt(a[k]['symmetry_index_pct'], 0, '%')}</td></tr>"
                       for k, label, nd in (("wobble_deg", "wobble (°)", 1), ("landing_load_g", "landing load (g)", 1), ("contact_time_ms", "contact time (ms)", 0)))
        body.append(f'<section id="asymmetry"><h2>Left and right</h2><table><tr><th></th><th>left</th><th>right</th><th>symmetry index</th></tr>{rows}</table></section>')
    body.append(_history_section(history_rows, run.get("id")))
    body.append(_quality_section(s["data_quality"]))
    body.append(f'<p class="sub">StrideCue report generated {_e(dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))} from {_e(Path(run["path"]).name)}.</p>')
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>StrideCue run report {_e(name)}</title><style>{_CSS}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


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
    from stridecue.review.guided import FOCUS_NAMES

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
        u = "°" if mres["unit"] == "deg" else " g"
        parts.append(f'<p class="effect {metric}">{label} fell by {mres["hip"]["reduction"]:.2f}{u} with the {FOCUS_NAMES["hip"]} '
                     f'({pct}% CI {mres["hip"]["reduction_ci"][0]:.2f} to {mres["hip"]["reduction_ci"][1]:.2f}) and by {mres["foot"]["reduction"]:.2f}{u} '
                     f'with the {FOCUS_NAMES["foot"]} ({mres["foot"]["reduction_ci"][0]:.2f} to {mres["foot"]["reduction_ci"][1]:.2f}); '
                     f'difference hip − foot {mres["hip_minus_foot"]:.2f}{u} ({pct}% CI {mres["hip_minus_foot_ci"][0]:.2f} to {mres["hip_minus_foot_ci"][1]:.2f}).</p>')
    parts.append(f'<p class="verdict" data-focus="{_e(g.get("focus") or "none")}">{_e(g["verdict"])}</p>')
    if "exercises" in g:
        ex = g["exercises"]
        parts.append(f'<h3>Suggested exercises: {_e(ex["title"])}</h3><ul class="exercises">' + "".join(f"<li>{_e(i)}</li>" for i in ex["items"]) + "</ul>")
    parts.append('<p class="sub">Each focus is compared with the normal running just before and after it; intervals are percentile '
                 'bootstrap intervals over strides.</p></section>')
    return "".join(parts)


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
    text = render_report(run, s, store.strides(run["id"]), store.cues(run["id"]), rows)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "x", encoding="utf-8") as f:
            f.write(text)
    except FileExistsError:
        raise UserError(f"{out}: already exists; a report is never overwritten (choose another --out)") from None
    except OSError as e:
        raise UserError(f"{out}: cannot write: {e.strerror or e}") from None
    return out
