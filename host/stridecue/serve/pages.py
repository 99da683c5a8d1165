"""The pages of `stridecue serve`, phone first: one column at 390 px, big touch targets.

Every value is escaped here; charts are report.py's SVG, shrunk to the screen's width.  The run
report itself is report.py's page with a bar of links and downloads on top (phone_report).
"""

from __future__ import annotations

import html
import math
import time
from urllib.parse import quote

from stridecue.live.status_feed import LiveStatus
from stridecue.review.report import trend_chart

NAV = (("/", "Runs"), ("/live", "Live"), ("/history", "Trends"), ("/physio", "Physio"), ("/pain", "Pain"), ("/settings", "Settings"))
EXPORTS = (("fit", "FIT"), ("csv", "CSV"), ("parquet", "Parquet"))

CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d1d1d;background:#f6f7f9;line-height:1.4;font-size:17px}
nav.bar{display:flex;gap:2px;position:sticky;top:0;z-index:5;background:#1f4f7a;padding:6px;overflow-x:auto}
nav.bar a{color:#fff;text-decoration:none;padding:10px 12px;border-radius:8px;font-weight:600;white-space:nowrap}
nav.bar a.on{background:rgba(255,255,255,.22)}
main{padding:12px;max-width:760px;margin:0 auto}
h1{font-size:1.35em;margin:.3em 0 .5em}h2{font-size:1.1em;margin:1.2em 0 .4em}
a.run,.box{display:block;background:#fff;border:1px solid #dde1e6;border-radius:12px;padding:12px 14px;margin:10px 0;color:inherit;text-decoration:none}
a.run b{font-size:1.05em}.sub{color:#5b6570;font-size:.9em}
.tag{display:inline-block;font-size:.75em;padding:1px 7px;border-radius:9px;background:#e6edf5;color:#1f4f7a;margin-left:6px;vertical-align:2px}
.figs{display:flex;flex-wrap:wrap;gap:6px 16px;margin-top:6px}.figs span b{font-size:1.1em}
.btns{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0}
.btn,button{display:inline-block;background:#1f4f7a;color:#fff;border:0;border-radius:10px;padding:11px 16px;font-size:1em;
 font-weight:600;text-decoration:none;cursor:pointer}
.btn.light{background:#e6edf5;color:#1f4f7a}
svg.chart{max-width:100%;height:auto;display:block;background:#fff}
table{border-collapse:collapse;font-size:.9em;display:block;overflow-x:auto;max-width:100%}
td,th{padding:4px 8px;border-bottom:1px solid #e4e7eb;text-align:right;white-space:nowrap}td:first-child,th:first-child{text-align:left}
.tick{font-size:11px;fill:#555}.label{font-size:12px;fill:#333}
label{display:block;font-weight:600;margin:14px 0 4px}
input,select,textarea{width:100%;font-size:1em;padding:10px;border:1px solid #b9c1ca;border-radius:8px;background:#fff}
.hint{font-weight:400;color:#5b6570;font-size:.85em}
.ok,a.run.ok{background:#e4f4e8;border-color:#9fd3ab}.err{background:#fbe7e7;border-color:#e3a3a3}
.leg .num{font-size:2.6em;font-weight:700;line-height:1.1}
.meter{position:relative;height:18px;background:#e9ecef;border-radius:9px;overflow:hidden;margin:8px 0}
.meter i{position:absolute;left:0;top:0;bottom:0;background:#2e8b57;border-radius:9px}.meter.over i{background:#c0392b}
.meter s{position:absolute;top:-2px;bottom:-2px;width:3px;background:#222}
.cue{display:flex;justify-content:space-between;gap:10px;padding:6px 0;border-bottom:1px solid #eee}
.state{font-weight:700}.state.running{color:#2e8b57}.state.stale,.state.ended{color:#a05a00}
"""

# What report.py's own page needs on a phone: the bar, the buttons, charts and tables to the screen's width.
REPORT_CSS = """
body{margin:0 auto;padding:0 12px 24px;max-width:900px}
nav.bar{display:flex;gap:2px;position:sticky;top:0;z-index:5;background:#1f4f7a;padding:6px;overflow-x:auto;margin:0 -12px}
nav.bar a{color:#fff;text-decoration:none;padding:10px 12px;border-radius:8px;font-weight:600;white-space:nowrap}
.btns{display:flex;flex-wrap:wrap;gap:8px;margin:10px 0}
.btn{display:inline-block;background:#1f4f7a;color:#fff;border-radius:10px;padding:10px 11px;font-weight:600;text-decoration:none}
.btn.light{background:#e6edf5;color:#1f4f7a}
svg.chart{max-width:100%;height:auto;display:block}
table{display:block;overflow-x:auto;max-width:100%}.card{flex:1 1 140px;min-width:0}
"""


def e(value) -> str:
    return html.escape(str(value), quote=True)


def fmt(value, nd: int = 1, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.{nd}f}{unit}"


def layout(title: str, body: str, active: str = "", script: str | None = None) -> str:
    nav = "".join(f'<a href="{href}"{" class=on" if href == active else ""}>{label}</a>' for href, label in NAV)
    tail = f'<script src="{script}"></script>' if script else ""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{e(title)} · StrideCue</title><style>{CSS}</style></head><body>"
            f'<nav class="bar">{nav}</nav><main>{body}</main>{tail}</body></html>\n')


def message_page(status: int, text: str) -> str:
    return layout(f"{status}", f'<h1>{"Not found" if status == 404 else "Cannot do that"}</h1><p class="box err">{e(text)}</p>')


# -- runs --------------------------------------------------------------------------------------------


def run_list(rows: list[dict], live: LiveStatus | None) -> str:
    parts = ["<h1>Your runs</h1>"]
    if live is not None and live.state == "running" and not live.stale():
        parts.append(f'<a class="run ok" href="/live"><b>Run in progress</b> · {_clock(live.run_t)} · open the live page</a>')
    if not rows:
        parts.append('<p class="box">No runs yet. Record one with <code>stridecue run</code> '
                     '(or try <code>stridecue run --simulate --duration 300 --speed max</code>).</p>')
    for r in reversed(rows):
        tags = ("<span class=tag>simulated</span>" if r["simulated"] else "") + ("<span class=tag>guided</span>" if r["guided"] else "")
        parts.append(
            f'<a class="run" href="/runs/{r["id"]}"><b>{e(r["date"] or r["name"])}</b>{tags}'
            f'<div class="sub">{e(r["profile"] or "default")} · {e(r["name"])}</div><div class="figs">'
            f'<span><b>{fmt(r["duration_min"], 0)}</b> min</span><span><b>{r["running_strides"]}</b> strides</span>'
            f'<span>wobble <b>{fmt(r["wobble_median_deg"], 1, "°")}</b></span><span><b>{r["cues"]}</b> cue{"" if r["cues"] == 1 else "s"}</span></div></a>')
    return layout("Runs", "".join(parts), "/")


def run_links(run: dict, file_href: str | None) -> str:
    """The bar a served report gets on top: back, downloads."""
    links = ['<a class="btn light" href="/">← Runs</a>']
    if file_href:
        links.append(f'<a class="btn" href="{e(file_href)}" download>Run file</a>')
    links += [f'<a class="btn" href="/runs/{run["id"]}/export/{fmt_}" download>{label}</a>' for fmt_, label in EXPORTS]
    links.append(f'<a class="btn light" href="/pain?run={quote(run["name"])}">Log pain</a>')
    return '<div class="btns" id="downloads">' + "".join(links) + "</div>"


def phone_report(report_html: str, run: dict, file_href: str | None) -> str:
    """report.py's page made for a phone: the nav bar, downloads, charts and tables to the screen's width."""
    return _framed(report_html, "", f'<div class="served">{run_links(run, file_href)}</div>')


def _framed(report_html: str, active: str, head: str) -> str:
    """A review page (self-contained HTML) made for a phone: the nav bar and `head` at the top,
    charts and tables to the screen's width."""
    nav = "".join(f'<a href="{href}"{" class=on" if href == active else ""}>{label}</a>' for href, label in NAV)
    out = report_html.replace("</head>", f"<style>{REPORT_CSS}</style></head>", 1)
    top = f'<nav class="bar">{nav}</nav>{head}'
    at = out.find("<body>")
    return out[:at + len("<body>")] + top + out[at + len("<body>"):] if at >= 0 else top + out


def phone_physio(report_html: str, weeks: int) -> str:
    """review/physio.py's page (runs, exercise sessions, pain and load) with the nav bar and a choice of period."""
    periods = "".join(f'<a class="btn{"" if n == weeks else " light"}" href="/physio?weeks={n}">{n} weeks</a>' for n in (2, 4, 8, 12))
    return _framed(report_html, "/physio", f'<div class="served btns">{periods}</div>')


# -- trends ------------------------------------------------------------------------------------------


def history_page(rows: list[dict], trend: dict, profiles: list[str], profile: str | None) -> str:
    choose = "".join(f'<a class="btn{"" if p == profile else " light"}" href="/history?profile={quote(p)}">{e(p)}</a>' for p in profiles)
    parts = ["<h1>Trends</h1>", f'<div class="btns"><a class="btn{" light" if profile else ""}" href="/history">all</a>{choose}</div>']
    if len(rows) < 2:
        parts.append('<p class="box">Trends need two runs or more.</p>')
        return layout("Trends", "".join(parts), "/history")
    shown = rows[-20:]
    names = {"wobble_median_deg": ("Wobble", "°"), "landing_load_median_g": ("Landing load", " g"),
             "cadence_spm": ("Cadence", " spm"), "cues_per_min": ("Cues per minute", "/min")}
    for key, (label, unit) in names.items():
        chart = trend_chart(shown, key, f"{label} per run", label.lower() + (f" ({unit.strip()})" if unit.strip() else ""), cls=f"trend-{key}")
        t = trend.get(key) or {}
        line = ""
        if t.get("change") is not None:
            line = (f'<p class="sub">last {t["recent_runs"]} runs {fmt(t["recent"], 2, unit)} vs {fmt(t["earlier"], 2, unit)} before '
                    f'({t["change"]:+.2f}{unit})</p>')
        parts.append(f'<section class="box trend"><h2>{label}</h2>{chart}{line}</section>')
    table = "".join(f'<tr><td><a href="/runs/{r["id"]}">{e(r["date"])}</a></td><td>{fmt(r["duration_min"], 0)}</td>'
                    f'<td>{fmt(r["wobble_median_deg"])}</td><td>{fmt(r["landing_load_median_g"])}</td><td>{fmt(r["cues_per_min"], 2)}</td></tr>'
                    for r in reversed(shown))
    parts.append(f'<h2>Runs</h2><table><tr><th>date</th><th>min</th><th>wobble °</th><th>load g</th><th>cues/min</th></tr>{table}</table>')
    return layout("Trends", "".join(parts), "/history")


# -- settings ----------------------------------------------------------------------------------------


def settings_page(view, values: dict[str, str], notice: str = "", error: str = "") -> str:
    def select(name, options):
        return "".join(f'<option value="{o}"{" selected" if values.get(name) == o else ""}>{o}</option>' for o in options)

    def field(name, label, hint, kind="number", extra=""):
        return (f'<label for="{name}">{label} <span class="hint">{hint}</span></label>'
                f'<input id="{name}" name="{name}" type="{kind}" value="{e(values.get(name, ""))}" {extra}>')

    profiles = "".join(f'<a class="btn{"" if p == view.profile.name else " light"}" href="/settings?profile={quote(p)}">{e(p)}</a>'
                       for p in view.profiles)
    parts = ["<h1>Settings</h1>", f'<p class="sub">{e(view.path.name)}, profile <b>{e(view.profile.name)}</b></p>']
    if len(view.profiles) > 1:
        parts.append(f'<div class="btns">{profiles}</div>')
    if notice:
        parts.append(f'<p class="box ok">{e(notice)}</p>')
    if error or view.problem:
        parts.append(f'<p class="box err" id="error">{e(error or view.problem)}</p>')
    parts.append(
        f'<form method="post" action="/settings" class="box"><input type="hidden" name="profile" value="{e(view.profile.name)}">'
        f'<label for="threshold">Threshold <span class="hint">baseline: your first strides + k × spread; absolute: a fixed angle</span></label>'
        f'<select id="threshold" name="threshold">{select("threshold", ("baseline", "absolute"))}</select>'
        + field("k", "k", "baseline + k × spread, 0 to 10", extra='step="any" min="0" max="10"')
        + field("absolute_deg", "Absolute threshold (°)", "with threshold absolute, above 0 up to 45", extra='step="any" min="0" max="45"')
        + f'<label for="sound">Sound <span class="hint">spoken words, tones, or both</span></label>'
        f'<select id="sound" name="sound">{select("sound", ("speech", "tone", "both"))}</select>'
        + field("voice", "Voice", "espeak-ng voice, e.g. en, en-us, de", kind="text")
        + field("volume", "Volume", "0 to 1", extra='step="any" min="0" max="1"')
        + f'<label for="wobble_words">Cue words <span class="hint">one per line; they take turns</span></label>'
        f'<textarea id="wobble_words" name="wobble_words" rows="3">{e(values.get("wobble_words", ""))}</textarea>'
        '<p class="hint">An empty field goes back to the default.</p><button type="submit">Save</button></form>')
    return layout("Settings", "".join(parts), "/settings")


# -- pain --------------------------------------------------------------------------------------------

WHEN_CHOICES = (("during", "during it"), ("next-morning", "the morning after"), ("other", "another time"))


def pain_page(view, values: dict[str, str], notice: str = "", error: str = "") -> str:
    """The pain form (0-10, which run, when, a note) and the recent ratings with their guidance."""
    chosen = values.get("run", "")
    runs = '<option value="">none (not about one run)</option>' + "".join(
        f'<option value="{e(name)}"{" selected" if name == chosen else ""}>{e(label)}</option>' for name, label in view.runs)
    when = "".join(f'<option value="{v}"{" selected" if values.get("when") == v else ""}>{label}</option>' for v, label in WHEN_CHOICES)
    parts = ["<h1>Pain</h1>", '<p class="sub">0 = no pain, 10 = the worst imaginable. Guidance, not a diagnosis.</p>']
    if notice:
        parts.append(f'<p class="box ok">{e(notice)}</p>')
    if error:
        parts.append(f'<p class="box err" id="error">{e(error)}</p>')
    parts.append(
        '<form method="post" action="/pain" class="box">'
        '<label for="score">Pain, 0 to 10</label>'
        f'<input id="score" name="score" type="number" inputmode="numeric" min="0" max="10" step="1" required value="{e(values.get("score", ""))}">'
        f'<label for="run">Run or exercise session</label><select id="run" name="run">{runs}</select>'
        f'<label for="when">When</label><select id="when" name="when">{when}</select>'
        f'<label for="note">Note <span class="hint">optional, one line</span></label>'
        f'<input id="note" name="note" type="text" maxlength="500" value="{e(values.get("note", ""))}">'
        '<p></p><button type="submit">Log pain</button></form>')
    if view.problems:
        parts.append('<p class="box err">pain-log.jsonl: ' + e("; ".join(view.problems)) + " (those lines are skipped)</p>")
    if view.recent:
        parts.append("<h2>Recent ratings</h2>")
    for entry, advice in view.recent:
        level = {"too much": " err", "ok": " ok"}.get(advice.level, "")
        parts.append(f'<div class="box{level}"><b>{entry.score}/10</b> {e(entry.kind.replace("_", " "))}'
                     f'<div class="sub">{e(entry.logged_at[:16].replace("T", " "))}{" · " + e(entry.run) if entry.run else ""}'
                     f'{" · " + e(entry.note) if entry.note else ""}</div><p>{e(advice.text)} <i class="sub">({e(advice.source)})</i></p></div>')
    return layout("Pain", "".join(parts), "/pain")


# -- live --------------------------------------------------------------------------------------------


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m}:{s:02d}"


def live_state(status: LiveStatus | None, now: float | None = None) -> str:
    if status is None:
        return "none"
    return "stale" if status.stale(now) else status.state


def live_panel(status: LiveStatus | None, now: float | None = None) -> str:
    """The live page's content for one status (the server renders it; the page swaps it in)."""
    state = live_state(status, now)
    if status is None:
        return '<p class="box" id="live-none">No run has been recorded with a live status yet. Start one with <code>stridecue run</code>.</p>'
    said = {"running": "Recording", "ended": "Run ended", "stale": f"No news for {int((now or time.time()) - status.wall_time)} s"}[state]
    parts = [f'<div class="box"><span class="state {state}" id="live-state">{said}</span> · <b id="live-clock">{_clock(status.run_t)}</b>'
             f'<div class="sub">{e(status.run)}</div></div>']
    if not status.legs:
        parts.append('<p class="box">Waiting for running strides…</p>')
    parts += [_leg_box(leg) for leg in status.legs]
    parts.append(_cue_box(status))
    parts.append(_sensor_box(status))
    return f'<div id="live" data-seq="{status.seq}" data-state="{state}">' + "".join(parts) + "</div>"


def _leg_box(leg) -> str:
    w, thr = leg.wobble_deg, leg.threshold_deg
    top = max((thr or w or 1.0) * 1.6, w or 0.0, 1.0)
    over = w is not None and thr is not None and w > thr
    meter = (f'<div class="meter{" over" if over else ""}"><i style="width:{100 * (w or 0) / top:.0f}%"></i>'
             + (f'<s style="left:{100 * thr / top:.0f}%"></s>' if thr is not None else "") + "</div>")
    return (f'<div class="box leg" data-leg="{e(leg.leg)}"><div class="sub">{e(leg.leg)} leg{" · " + e(leg.mount) if leg.mount else ""}</div>'
            f'<div class="num">{fmt(w)}°</div><div class="sub">wobble · threshold {fmt(thr, 1, "°") if thr is not None else "forming"}</div>'
            f'{meter}<div class="figs"><span>landing <b>{fmt(leg.landing_load_g, 1, " g")}</b></span>'
            f'<span>cadence <b>{fmt(leg.cadence_spm, 0)}</b></span><span><b>{leg.strides}</b> strides</span>'
            f'<span>over <b>{fmt(leg.over_threshold_pct, 0, "%")}</b></span></div></div>')


def _cue_box(status: LiveStatus) -> str:
    cues = "".join(f'<div class="cue"><span>“{e(c.words)}”</span><span class="sub">{_clock(c.t)}</span></div>'
                   for c in reversed(status.recent_cues))
    return f'<div class="box" id="cues"><b>{status.cues} cue{"" if status.cues == 1 else "s"}</b>{cues or "<div class=sub>none yet</div>"}</div>'


def _sensor_box(status: LiveStatus) -> str:
    rows = "".join(f'<div class="cue"><span>{e(s.name)} · {e(s.state)}</span><span><b>{fmt(s.battery_pct, 0, "%")}</b>&nbsp;battery</span></div>'
                   for s in status.sensors)
    lost = f'lost {status.lost_samples} samples ({fmt(status.lost_pct, 1, "%")})'
    return f'<div class="box" id="sensors"><b>Sensors</b>{rows}<div class="sub">{lost}</div></div>'


def live_page(status: LiveStatus | None) -> str:
    return layout("Live", "<h1>Live</h1>" + live_panel(status), "/live", script="/live.js")


# The page swaps in the panel each status event brings; EventSource reconnects by itself.
LIVE_JS = """
(function(){
  var es = new EventSource('/live/events');
  es.addEventListener('status', function(ev){
    var data = JSON.parse(ev.data);
    var old = document.getElementById('live') || document.getElementById('live-none');
    if (!old) return;
    var box = document.createElement('div');
    box.innerHTML = data.html;
    old.replaceWith(box.firstElementChild);
  });
})();
"""
