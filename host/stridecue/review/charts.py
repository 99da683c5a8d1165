"""The report's charts: inline SVG drawn here (no scripts, fonts or images), so the report
opens offline.  Each function returns one <svg> element (or a short <p> when there is nothing
to draw).
"""

from __future__ import annotations

import html
import math

import numpy as np

from stridecue.analysis.stride import Stride

LEG_COLOURS = {"left": "#1f6fb2", "right": "#c2571a"}
CUE_COLOUR = "#7a2a9a"
CUE_COLOURS = {"wobble": CUE_COLOUR, "load": "#2e7d32", "cadence": "#b8860b"}
LABEL_GAP = 13  # px between two labels' baselines: 11-px text does not overlap
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
    parts.extend(_threshold_lines(ax, hlines or {}))
    parts.extend(_cue_markers(ax, cues))
    return _svg(parts, title, cls)


def _threshold_lines(ax: _Axes, hlines: dict) -> list[str]:
    """Dashed threshold lines, each labelled at the right; labels closer than a line of text
    are moved apart (two legs' thresholds are often a few tenths of a degree apart)."""
    shown = sorted(((ax.y(v), name) for name, v in hlines.items() if v is not None and ax.y0 <= v <= ax.y1), reverse=True)
    out, label_y = [], []
    for y, _name in shown:  # bottom to top: each label at least LABEL_GAP above the one below it
        want = y - 4
        label_y.append(min(want, label_y[-1] - LABEL_GAP) if label_y else want)
    if label_y and label_y[-1] < PAD_T + 10:  # pushed out of the top: shift all down, below the lines if need be
        shift = PAD_T + 10 - label_y[-1]
        label_y = [v + shift for v in label_y]
    for (y, name), ly in zip(shown, label_y):
        out.append(f'<line class="threshold" x1="{PAD_L}" x2="{ax.w - PAD_R}" y1="{y:.1f}" y2="{y:.1f}" stroke="#b00" stroke-dasharray="5 4"/>')
        out.append(f'<text class="tick threshold-label" x="{ax.w - PAD_R - 4}" y="{ly:.1f}" text-anchor="end" fill="#b00">{_e(name)}</text>')
    return out


def _cue_markers(ax: _Axes, cues: list[dict]) -> list[str]:
    """A vertical line per cue, coloured by its kind (wobble, load, cadence, guided)."""
    out = []
    for c in cues:
        x = ax.x(c["t"] / 60.0)
        kind = str(c.get("cue") or "wobble")
        if PAD_L <= x <= ax.w - PAD_R:
            out.append(f'<line class="cue-marker {_e(kind)}" data-t="{c["t"]:.1f}" x1="{x:.1f}" x2="{x:.1f}" y1="{PAD_T}" '
                       f'y2="{ax.h - PAD_B}" stroke="{cue_colour(kind)}" stroke-width="2"><title>{_e(c.get("words") or kind)} at '
                       f'{c["t"] / 60:.1f} min</title></line>')
    return out


def cue_colour(kind: str) -> str:
    return CUE_COLOURS.get(kind, CUE_COLOUR)


def histogram(values_by_leg: dict[str, list], title: str, xlabel: str, markers: dict[str, float] | None = None,
              cls: str = "", bins: int = 30) -> str:
    """The distribution of each leg's values, side by side in shared bins (one colour per leg),
    with a marker line per leg (its threshold)."""
    legs = {leg: _finite_array(v) for leg, v in values_by_leg.items()}
    legs = {leg: v for leg, v in legs.items() if len(v)}
    if not legs:
        return f'<p class="empty">No values for {_e(xlabel)}.</p>'
    lo, hi = np.percentile(np.concatenate(list(legs.values())), [0.5, 99.5])
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    counts = {leg: np.histogram(np.clip(v, lo, hi), bins=bins, range=(lo, hi)) for leg, v in legs.items()}
    w, h = 420, 220
    ax = _Axes(float(lo), float(hi), 0.0, float(max(c.max() for c, _ in counts.values())) * 1.1, w, h)
    parts = ax.frame(xlabel, "strides")
    for k, (leg, (c, edges)) in enumerate(counts.items()):
        for n, a, b in zip(c, edges[:-1], edges[1:]):
            width = (ax.x(b) - ax.x(a)) / len(counts)
            if n:
                parts.append(f'<rect class="bar {_e(leg)}" data-count="{int(n)}" x="{ax.x(a) + k * width:.1f}" y="{ax.y(n):.1f}" '
                             f'width="{max(width - 0.5, 0.5):.1f}" height="{ax.y(0) - ax.y(n):.1f}" fill="{LEG_COLOURS.get(leg, "#5a8fbf")}"/>')
    label_y = PAD_T + 12
    for leg, value in sorted((markers or {}).items(), key=lambda kv: kv[1]):
        if value is None or not lo <= value <= hi:
            continue
        x = ax.x(value)
        right_half = x > (PAD_L + w - PAD_R) / 2  # a label near the right edge goes to the line's left, inside the plot
        parts.append(f'<line class="threshold {_e(leg)}" x1="{x:.1f}" x2="{x:.1f}" y1="{PAD_T}" y2="{h - PAD_B}" '
                     f'stroke="{LEG_COLOURS.get(leg, "#b00")}" stroke-dasharray="5 4"/>')
        parts.append(f'<text class="tick threshold-label" x="{x - 4 if right_half else x + 4:.1f}" y="{label_y}" '
                     f'text-anchor="{"end" if right_half else "start"}" fill="{LEG_COLOURS.get(leg, "#b00")}">threshold {_e(leg)}</text>')
        label_y += LABEL_GAP
    return _svg(parts, title, cls, w, h)


def _finite_array(values) -> np.ndarray:
    v = np.asarray([x for x in values if x is not None], float)
    return v[np.isfinite(v)]


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


def day_chart(series: dict[str, list[tuple[float, float]]], days: float, title: str, ylabel: str, colours: dict[str, str],
              cls: str = "", bars: dict[str, list[tuple[float, float]]] | None = None) -> str:
    """Values over a period of `days` (x: days from its start): one line of points per series,
    optional bars (e.g. minutes run per week, each bar (day, value) a week wide)."""
    values = [y for pts in list(series.values()) + list((bars or {}).values()) for _, y in pts]
    if not values:
        return f'<p class="empty">{_e(title)}: nothing in this period.</p>'
    w, h = 420, 220
    lo, hi = min(values + ([0.0] if bars else [])), max(values)
    span = (hi - lo) or 1.0
    last = max([d for pts in series.values() for d, _ in pts] + [0.0])
    ax = _Axes(0.0, max(float(days), last + 0.5), lo - (0.0 if bars else 0.15 * span), hi + 0.15 * span, w, h)
    parts = ax.frame("days into the period", ylabel)
    for name, pts in (bars or {}).items():
        width = (ax.x(7) - ax.x(0)) * 0.8
        for d, y in pts:
            parts.append(f'<rect class="bar {_e(name)}" x="{ax.x(d + 3.5) - width / 2:.1f}" y="{ax.y(y):.1f}" width="{width:.1f}" '
                         f'height="{ax.y(ax.y0) - ax.y(y):.1f}" fill="{colours.get(name, "#bbb")}" fill-opacity="0.45">'
                         f'<title>{_e(name)}: {y:g}</title></rect>')
    for name, pts in series.items():
        colour = colours.get(name, "#1f6fb2")
        pts = sorted(pts)
        if len(pts) > 1:
            parts.append(f'<polyline class="series {_e(name)}" points="{" ".join(f"{ax.x(d):.1f},{ax.y(y):.1f}" for d, y in pts)}" '
                         f'fill="none" stroke="{colour}" stroke-width="1.5"/>')
        parts.extend(f'<circle class="point {_e(name)}" cx="{ax.x(d):.1f}" cy="{ax.y(y):.1f}" r="3.5" fill="{colour}">'
                     f'<title>{_e(name)}, day {d:.0f}: {y:g}</title></circle>' for d, y in pts)
    legend, x = [], PAD_L + 6
    for n in list(series) + list(bars or {}):
        legend.append(f'<text x="{x}" y="{PAD_T + 12}" class="tick" style="fill:{colours.get(n, "#1f6fb2")}">● {_e(n)}</text>')
        x += 7 * len(n) + 24  # 11-px text: about 6.5 px a character
    legend = "".join(legend)
    return _svg(parts + [legend], title, cls, w, h)
