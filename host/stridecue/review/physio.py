"""The report for the physiotherapist: `stridecue report [--weeks N]`.

One self-contained HTML page (printable to PDF from a browser) over the last N weeks of one
runner: the runs (wobble per leg, landing load, cadence, whether the cues helped), the exercise
sessions (levels, reps, knee motion per leg, asymmetry) and the pain entries against the running
load, each with its plots.  The figures are the same ones `summary` and `history` give; this
page only gathers them for a period and says where each comes from.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stridecue.analysis.combine import counted_strides
from stridecue.analysis.stride import Stride
from stridecue.errors import UserError
from stridecue.review.charts import LEG_COLOURS, _e, _fmt, day_chart
from stridecue.review.figures import MIN_RUN_STRIDES, coach_settings_from, summarize

MAX_WEEKS = 52
LEGS = ("left", "right")


@dataclass(frozen=True)
class Period:
    """The report's period: [start, end) in UTC, and its length in weeks."""
    start: dt.datetime
    end: dt.datetime
    weeks: int

    def day(self, when: dt.datetime) -> float:
        """Days from the period's start (the plots' x axis)."""
        return (when - self.start).total_seconds() / 86400.0

    def holds(self, when: dt.datetime | None) -> bool:
        return when is not None and self.start <= when < self.end


@dataclass(frozen=True)
class RunLine:
    """One run of the period, as the report shows it."""
    run_id: int
    name: str
    start: dt.datetime
    minutes: float
    strides: int
    wobble_deg: dict[str, float | None]  # median per leg (each step once: the shin's with thigh + shin)
    landing_load_g: float | None
    cadence_spm: float | None
    cues: int
    cue_verdict: str | None  # "lower", "no clear effect", "higher", "not enough cues"; None: no cues
    cue_effect_deg: float | None
    cue_effect_ci95_deg: tuple[float, float] | None
    simulated: bool
    data_problem: str | None


def period_ending(until: dt.date, weeks: int) -> Period:
    if not 1 <= weeks <= MAX_WEEKS:
        raise UserError(f"--weeks {weeks}: give 1 to {MAX_WEEKS} weeks")
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), dt.timezone.utc)
    return Period(end - dt.timedelta(weeks=weeks), end, weeks)


def parse_start(text: str | None) -> dt.datetime | None:
    """A stored start time as an aware UTC datetime (None when missing or unreadable)."""
    try:
        t = dt.datetime.fromisoformat(str(text))
    except (TypeError, ValueError):
        return None
    return (t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)).astimezone(dt.timezone.utc)


def run_line(store, run: dict, start: dt.datetime) -> RunLine:
    """A stored run's line: its summary's figures (review/figures.py), wobble split by leg."""
    strides = store.strides(run["id"])
    meta = run["metadata"]
    s = summarize(strides, store.cues(run["id"]), run["totals"], meta, coach_settings_from(meta),
                  sensors=store.sensors(run["id"]), duration_s=run.get("duration_s"))
    c = s["cues"]
    ci = c.get("effect_ci95_deg")
    return RunLine(
        run_id=run["id"], name=run["name"], start=start, minutes=(run.get("duration_s") or 0.0) / 60.0,
        strides=s["running_strides"], wobble_deg=_wobble_by_leg(strides), landing_load_g=s["landing_load_g"]["median"],
        cadence_spm=s["cadence_spm"], cues=int(c["count"]), cue_verdict=c.get("verdict") if c["count"] else None,
        cue_effect_deg=c.get("effect_deg"), cue_effect_ci95_deg=tuple(ci) if ci else None,
        simulated=bool(run.get("simulated")), data_problem=run.get("data_problem"))


def _wobble_by_leg(strides: list[Stride]) -> dict[str, float | None]:
    run = [s for s in counted_strides(strides) if s.kind == "run" and s.wobble_deg is not None]
    out = {}
    for leg in LEGS:
        v = np.array([s.wobble_deg for s in run if s.leg == leg], float)
        v = v[np.isfinite(v)]
        out[leg] = float(np.median(v)) if len(v) else None
    return out


def run_lines(store, period: Period, profile: str | None) -> list[RunLine]:
    """The period's runs with running strides, oldest first (exercise sessions are not runs)."""
    out = []
    for run in store.runs(profile):
        if run.get("activity", "run") != "run":
            continue
        start = parse_start(run.get("start_time"))
        if period.holds(start) and run.get("running_strides", 0) >= MIN_RUN_STRIDES:
            out.append(run_line(store, run, start))
    return out


# -- the page ---------------------------------------------------------------------------------

_VERDICT_WORDS = {"lower": "helped", "no clear effect": "no clear effect", "higher": "wobble higher after cues",
                  "not enough cues": "cannot be told"}


def runs_section(lines: list[RunLine], period: Period) -> str:
    if not lines:
        return '<section id="runs"><h2>Runs</h2><p class="empty">No runs in this period.</p></section>'
    minutes = sum(r.minutes for r in lines)
    head = (f"<p>{len(lines)} runs, {minutes:.0f} minutes in all"
            + (f" ({sum(r.simulated for r in lines)} simulated)" if any(r.simulated for r in lines) else "") + ".</p>")
    wobble = {leg: [(period.day(r.start), r.wobble_deg[leg]) for r in lines if r.wobble_deg[leg] is not None] for leg in LEGS}
    charts = "".join([
        day_chart({leg: pts for leg, pts in wobble.items() if pts}, period.weeks * 7, "Wobble per run, by leg", "wobble median (°)",
                  LEG_COLOURS, "physio-wobble"),
        day_chart({"landing load": [(period.day(r.start), r.landing_load_g) for r in lines if r.landing_load_g is not None]},
                  period.weeks * 7, "Landing load per run", "peak tibial accel. median (g)", {"landing load": "#2e7d32"}, "physio-load"),
        day_chart({"cadence": [(period.day(r.start), r.cadence_spm) for r in lines if r.cadence_spm is not None]},
                  period.weeks * 7, "Cadence per run", "cadence (steps/min)", {"cadence": "#b8860b"}, "physio-cadence"),
    ])
    rows = "".join(
        f'<tr class="run-line"><td>{_e(r.start.strftime("%Y-%m-%d %H:%M"))}{" (sim)" if r.simulated else ""}</td>'
        f"<td>{r.minutes:.0f}</td><td>{r.strides}</td><td>{_fmt(r.wobble_deg['left'])}</td><td>{_fmt(r.wobble_deg['right'])}</td>"
        f"<td>{_fmt(r.landing_load_g)}</td><td>{_fmt(r.cadence_spm, 0)}</td><td>{r.cues}</td><td>{_e(_cue_words(r))}</td></tr>"
        for r in lines)
    return (f'<section id="runs"><h2>Runs</h2>{head}<div class="row">{charts}</div>'
            "<table><tr><th>date (UTC)</th><th>min</th><th>strides</th><th>wobble L (°)</th><th>wobble R (°)</th>"
            f"<th>landing load (g)</th><th>cadence</th><th>cues</th><th>did the cues help?</th></tr>{rows}</table>"
            '<p class="sub">Wobble: the frontal-plane sway of the shin (or thigh) during stance, a proxy for the knee caving '
            "in, not a joint angle. Landing load: the peak tibial acceleration along the shin at landing. \"Did the cues help\" "
            "compares wobble after each cue with moments of the same wobble without a cue (95 % bootstrap interval; "
            "docs/coaching.md).</p></section>")


def _cue_words(r: RunLine) -> str:
    if r.cue_verdict is None:
        return "no cues" if r.cues == 0 else ""
    words = _VERDICT_WORDS.get(r.cue_verdict, r.cue_verdict)
    if r.cue_effect_deg is not None and r.cue_effect_ci95_deg and r.cue_verdict != "not enough cues":
        lo, hi = r.cue_effect_ci95_deg
        words += f" ({r.cue_effect_deg:+.1f}°, 95 % CI {lo:+.1f} to {hi:+.1f})"
    return words


_PRINT_CSS = """
@media print{body{margin:0;max-width:none}section{break-inside:avoid-page}svg{max-width:100%;height:auto}}
svg{max-width:100%;height:auto}
"""


def render(profile: str | None, period: Period, sections: list[str], generated: dt.datetime) -> str:
    from stridecue.review.report import _CSS

    who = f"profile {profile}" if profile else "all profiles"
    last_day = (period.end - dt.timedelta(days=1)).date()
    body = [
        "<h1>StrideCue report for the physiotherapist</h1>",
        f'<p class="sub">{_e(who)} · {period.weeks} week{"s" if period.weeks > 1 else ""}, {period.start.date()} to {last_day} (UTC)</p>',
        '<p class="notice">This page gathers what the runner recorded with StrideCue. It is not a diagnosis: the sensor '
        "measures the motion of one body segment, and every figure here is a proxy to compare with the runner's own "
        "earlier figures, not with norms for other people.</p>",
        *sections,
        f'<p class="sub">Generated {_e(generated.strftime("%Y-%m-%d %H:%M UTC"))} by StrideCue.</p>',
    ]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>StrideCue report for the physiotherapist</title><style>{_CSS}{_PRINT_CSS}"
            ".notice{background:#f6f3e8;border-left:4px solid #c9b458;padding:6px 10px}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def exercise_section(store, period: Period, profile: str | None) -> str:
    """The period's exercise sessions: exercise and level, reps, depth and knee motion per leg,
    asymmetry; knee motion per leg over the sessions of each exercise as a plot."""
    from stridecue.review.exercise_summary import exercise_figures

    sessions = []
    for run in store.runs(profile, activity="exercise"):
        start = parse_start(run.get("start_time"))
        if period.holds(start):
            sessions.append((start, exercise_figures(store, run)))
    if not sessions:
        return '<section id="exercises"><h2>Exercises</h2><p class="empty">No exercise sessions in this period.</p></section>'
    rows, knee = [], {}
    for start, f in sessions:
        for leg, g in f["legs"].items():
            rows.append(_exercise_row(start, f, leg, g))
            if g.get("knee_motion_deg") is not None:
                knee.setdefault(f"{f['title']} {leg}", []).append((period.day(start), g["knee_motion_deg"]))
    colours = {name: LEG_COLOURS[name.rsplit(" ", 1)[1]] for name in knee}
    chart = day_chart(knee, period.weeks * 7, "Knee motion per session", "knee in (°)", colours, "physio-knee") if knee else ""
    return (f'<section id="exercises"><h2>Exercises</h2><p>{len(sessions)} session{"s" if len(sessions) > 1 else ""}.</p><div class="row">{chart}</div>'
            "<table><tr><th>date (UTC)</th><th>exercise</th><th>level</th><th>leg</th><th>reps</th><th>depth (°)</th>"
            f"<th>knee in (°)</th><th>sway (°)</th><th>asymmetry</th><th>next level</th></tr>{''.join(rows)}</table>"
            '<p class="sub">Knee in: the frontal-plane motion of the knee during the rep (thigh adduction or shin tilt; with '
            "thigh and shin, the knee angle). Depth from one sensor is a rough proxy (docs/exercises.md gives each measure's "
            "error on the virtual exerciser; nothing here is validated on real people yet). Asymmetry: 100 × (left − right) / "
            "their mean, shown only where both are well above what the sensor can tell apart.</p></section>")


def _exercise_row(start: dt.datetime, f: dict, leg: str, g: dict) -> str:
    asym = [f"{k.replace('_deg', '').replace('_', ' ')} {v:+.0f} %" for k, v in f["asymmetry_pct"].items() if v is not None]
    return (f'<tr class="exercise-line"><td>{_e(start.strftime("%Y-%m-%d %H:%M"))}</td><td>{_e(f["title"])}</td>'
            f"<td>{f['level']}</td><td>{_e(leg)}</td><td>{g.get('reps', g.get('holds', ''))}</td><td>{_fmt(g.get('depth_deg'), 0)}</td>"
            f"<td>{_fmt(g.get('knee_motion_deg'))}</td><td>{_fmt(g.get('sway_deg'))}</td><td>{_e(', '.join(asym))}</td>"
            f"<td>{f['suggestion']['level']}</td></tr>")


def pain_section(store, period: Period, profile: str | None, now: dt.datetime) -> str:
    """Pain ratings against the running load: running minutes per week as bars, pain during and
    the next morning as points, and the guidance given in the period (painload/guidance.py)."""
    from stridecue.painload.guidance import SOURCES
    from stridecue.painload.timeline import store_timeline

    items, overall = store_timeline(store, profile, now)
    items = [it for it in items if period.holds(it.time)]
    loads = [it.load for it in items if it.load is not None and it.kind == "run"]
    weekly = [0.0] * period.weeks
    for load in loads:
        weekly[min(int(period.day(load.start) // 7), period.weeks - 1)] += load.running_min
    pain = [it.pain for it in items if it.pain is not None]
    series: dict[str, list[tuple[float, float]]] = {}
    for e in pain:
        series.setdefault(_PAIN_SERIES.get(e.kind, "pain, other"), []).append((period.day(_pain_time(e)), float(e.score)))
    charts = "".join([
        day_chart(series, period.weeks * 7, "Pain ratings", "pain (0–10)", _PAIN_COLOURS, "physio-pain"),
        day_chart({}, period.weeks * 7, "Running minutes per week", "running minutes", {"running minutes": "#7a8a9a"},
                  "physio-minutes", bars={"running minutes": [(7.0 * i, m) for i, m in enumerate(weekly)]}) if loads else "",
    ])
    advice = [(it, a) for it in items for a in it.advice if a.level in ("caution", "too much")] + [(None, a) for a in overall]
    rows = "".join(f'<tr class="pain-entry"><td>{_e(e.logged_at[:16].replace("T", " "))}</td><td>{e.score}/10</td>'
                   f'<td>{_e(e.kind.replace("_", " "))}</td><td>{_e(e.run or "")}</td><td>{_e(e.note)}</td></tr>' for e in pain)
    guidance = "".join(f'<li class="advice {_e(a.level.replace(" ", "-"))}">{_e(a.text)}'
                       + (f' <span class="sub">[{_e(a.source)}]</span>' if a.source else "") + "</li>" for _, a in advice)
    cited = sorted({a.source for _, a in advice if a.source})
    return (f'<section id="pain"><h2>Pain and load</h2><p>{len(pain)} pain ratings; {sum(weekly):.0f} minutes of running in '
            f'{len(loads)} runs.</p><div class="row">{charts}</div>'
            + (f"<table><tr><th>logged (UTC)</th><th>pain</th><th>when</th><th>about</th><th>note</th></tr>{rows}</table>" if rows
               else '<p class="empty">No pain ratings in this period (`stridecue log pain N`).</p>')
            + (f"<h3>Guidance given in this period</h3><ul>{guidance}</ul>" if guidance
               else "<p>No pain or load warnings in this period.</p>")
            + "".join(f'<p class="sub">[{_e(k)}] {_e(SOURCES.get(k, ""))}</p>' for k in cited)
            + '<p class="sub">Guidance after the pain-monitoring model and the longest-run rule (docs/pain-and-load.md), '
              "not a diagnosis.</p></section>")


_PAIN_SERIES = {"during": "pain during", "next_morning": "next morning"}
_PAIN_COLOURS = {"pain during": "#b00020", "next morning": "#6a1b9a", "pain, other": "#777"}


def _pain_time(e) -> dt.datetime:
    """When a rating is about: the activity's day (the morning after for a next-morning rating),
    else when it was logged."""
    day = dt.date.fromisoformat(e.date) if e.date else None
    if day is not None and e.kind in _PAIN_SERIES:
        hours = 31 if e.kind == "next_morning" else 12
        return dt.datetime.combine(day, dt.time(), dt.timezone.utc) + dt.timedelta(hours=hours)
    return parse_start(e.logged_at) or dt.datetime.now(dt.timezone.utc)


def build(store, period: Period, profile: str | None, generated: dt.datetime) -> str:
    return render(profile, period, [runs_section(run_lines(store, period, profile), period),
                                    exercise_section(store, period, profile),
                                    pain_section(store, period, profile, generated)], generated)


# -- the command ------------------------------------------------------------------------------

def configure(parser) -> None:
    parser.add_argument("--weeks", type=int, default=4, metavar="N", help=f"the last N weeks (1 to {MAX_WEEKS}; default 4)")
    parser.add_argument("--until", metavar="YYYY-MM-DD", help="the period's last day (default: today, UTC)")
    parser.add_argument("--profile", metavar="NAME", help="runner profile (default: all profiles)")
    parser.add_argument("--out", metavar="OUT", help="where to write: a directory (default: the current one) or a file name "
                                                      "ending in .html; never overwritten")


def main(args, base: Path) -> int:
    from stridecue.record.store import open_store
    from stridecue.review.export import out_file
    from stridecue.review.report import write_html

    until = until_date(args.until)
    period = period_ending(until, args.weeks)
    out = out_file(args.out, f"stridecue-physio-{period.start.date()}-to-{until}", ".html")
    if out.exists():
        raise UserError(f"{out}: already exists; a report is never overwritten (choose another --out)")
    store = open_store(base, quiet=True)
    try:
        if args.profile and not store.runs(args.profile, activity=None):
            raise UserError(f"no runs of profile {args.profile!r} (record one with `stridecue run`)")
        text = build(store, period, args.profile, dt.datetime.now(dt.timezone.utc))
    finally:
        store.close()
    print(f"report written: {write_html(out, text)}")
    return 0


def until_date(text: str | None, label: str = "--until") -> dt.date:
    if text is None:
        return dt.datetime.now(dt.timezone.utc).date()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UserError(f"{label} {text}: give a date as YYYY-MM-DD") from None
