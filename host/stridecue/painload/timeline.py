"""Runs, exercise sessions and pain entries on one timeline, each with its guidance; and one run's
load and guidance for the summary, the report and the phone.

Reads the run store only (store.sync() has indexed the pain journal into pain_entries).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from stridecue.painload.guidance import Advice, entry_advice, load_advice, rising, run_advice
from stridecue.painload.load import RunLoad, all_loads, parse_time
from stridecue.record.painlog import PainEntry

_FAR_PAST = dt.datetime.min.replace(tzinfo=dt.timezone.utc)


@dataclass(frozen=True, slots=True)
class TimelineItem:
    """One moment of the timeline: a run or exercise session (load) or a pain entry (pain), with
    the advice on it."""

    time: dt.datetime | None
    kind: str  # "run", "exercise" or "pain"
    load: RunLoad | None
    pain: PainEntry | None
    advice: tuple[Advice, ...]

    def as_dict(self) -> dict:
        return {"time": self.time.isoformat() if self.time else None, "kind": self.kind,
                "load": self.load.as_dict() if self.load else None,
                "pain": _entry_dict(self.pain) if self.pain else None,
                "guidance": [a.as_dict() for a in self.advice]}


def _entry_dict(e: PainEntry) -> dict:
    return {"id": e.id, "logged_at": e.logged_at, "run": e.run, "date": e.date, "kind": e.kind, "score": e.score,
            "note": e.note, "replaces": e.replaces}


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or dt.datetime.now(dt.timezone.utc)


def build_timeline(loads: list[RunLoad], entries: list[PainEntry], now: dt.datetime | None = None) -> tuple[list[TimelineItem], list[Advice]]:
    """(the items, oldest first; the advice on the whole: rising pain).  A run item carries its load
    advice (spike, missing morning rating); a pain item the advice on that rating."""
    now = _now(now)
    by_name = {load.name: load for load in loads}
    items = []
    for i, load in enumerate(loads):
        kind = "exercise" if load.activity == "exercise" else "run"
        advice = [a for a in load_advice(load, loads[:i], entries, now) if a.level in ("caution", "too much") or a.rule == "morning rating missing"]
        items.append(TimelineItem(load.start, kind, load, None, tuple(advice)))
    for entry in entries:
        items.append(TimelineItem(parse_time(entry.logged_at), "pain", None, entry,
                                  (entry_advice(entry, by_name.get(entry.run), entries),)))
    items.sort(key=lambda it: (it.time or _FAR_PAST, it.kind == "pain"))
    overall = rising(entries)
    return items, [overall] if overall is not None else []


def store_timeline(store, profile: str | None = None, now: dt.datetime | None = None) -> tuple[list[TimelineItem], list[Advice]]:
    loads = all_loads(store, profile)
    entries = store.pain_entries()
    if profile is not None:
        names = {load.name for load in loads}
        entries = [e for e in entries if e.run is None or e.run in names]
    return build_timeline(loads, entries, now)


def run_guidance(store, run: dict, now: dt.datetime | None = None) -> dict:
    """{"load": the run's load, "pain": its entries, "guidance": every rule's advice} for summary,
    report and serve.  Earlier runs are those of the same profile in the store."""
    from stridecue.painload.load import run_load

    load = run_load(store, run)
    earlier = [x for x in all_loads(store, run.get("profile")) if x.name != load.name]
    entries = store.pain_entries()
    advice = run_advice(load, earlier, entries, _now(now))
    trend = rising([e for e in entries if (t := parse_time(e.logged_at)) is None or load.start is None or t >= load.start])
    if trend is not None:
        advice.append(trend)
    return {"load": load.as_dict(), "pain": [_entry_dict(e) for e in entries if e.run == load.name],
            "guidance": [a.as_dict() for a in advice]}


def guidance_lines(guide: dict) -> list[str]:
    """The summary's lines for run_guidance()'s dict."""
    load = guide["load"]
    lines = [f"  load           {load['running_min']:.1f} min running of {load['recorded_min']:.1f} min recorded,"
             f" {load['running_strides']} running strides; distance not available (no speed from the sensor)"]
    pain = ", ".join(f"{p['score']}/10 {p['kind'].replace('_', ' ')}" for p in guide["pain"])
    lines.append(f"  pain           {pain or 'not logged (`stridecue log pain N`)'}")
    for a in guide["guidance"]:
        lines.append(f"  guidance       {advice_line(a)}")
    return lines


def advice_line(a: dict) -> str:
    mark = {"too much": "!! ", "caution": "! "}.get(a["level"], "")
    return f"{mark}{a['text']}" + (f" [{a['source']}]" if a["source"] else "")


def format_timeline(items: list[TimelineItem], overall: list[Advice]) -> str:
    lines = ["Timeline (runs, exercise sessions and pain; guidance, not a diagnosis)"]
    for it in items:
        when = it.time.strftime("%Y-%m-%d %H:%M") if it.time else "(no time)       "
        if it.load is not None:
            what = (f"exercise {it.load.exercise or '?'}" + (f" level {it.load.level}" if it.load.level is not None else "")
                    if it.kind == "exercise" else "run")
            amount = (f"{it.load.recorded_min:.1f} min session" if it.kind == "exercise" else
                      f"{it.load.running_min:.0f} min running, {it.load.running_strides} strides")
            lines.append(f"{when}  {what:<10} {it.load.run_id:>4}  {it.load.name}  {amount}")
        else:
            p = it.pain
            about = f" ({p.run})" if p.run else ""
            note = f"  \"{p.note}\"" if p.note else ""
            lines.append(f"{when}  pain {p.score:>2}/10 {p.kind.replace('_', ' ')}{about}  id {p.id}{note}")
        for a in it.advice:
            lines.append(f"{'':18}{advice_line(a.as_dict())}")
    for a in overall:
        lines.append(f"now: {advice_line(a.as_dict())}")
    return "\n".join(lines)
