"""Guidance from pain and load: pure functions, each returning an Advice that names its source.

The words are guidance, never a diagnosis: they say what the cited model or study suggests for the
next run, and send the runner to a physiotherapist when pain is sharp, too high or rising.

* The pain-monitoring model (Silbernagel et al. 2007): pain during and after activity on a 0-10
  scale; 0-2 "safe", up to 5 "acceptable", over 5 "high risk"; the pain after activity must
  settle by the next morning, and must not rise from session to session.  The issue this
  implements puts the safe zone at <= 3 (the way the model is commonly taught), so: <= 3 safe,
  4-5 acceptable, > 5 too much.
* The single-session spike (Frandsen et al. 2025): in 5,205 runners followed for 18 months, a run
  more than 10 % longer than the longest run of the past 30 days went with more overuse injuries
  (hazard rate ratio 1.64 for a 10-30 % spike); the week-to-week change ("10 % rule") did not.
  The study measured distance; StrideCue cannot (load.py), so the rule uses running time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable, Sequence

from stridecue.painload.load import RunLoad, parse_time
from stridecue.record.painlog import PainEntry

SILBERNAGEL_2007 = "Silbernagel et al. 2007"
FRANDSEN_2025 = "Frandsen et al. 2025"
SOURCES = {
    SILBERNAGEL_2007: "Silbernagel KG, Thomeé R, Eriksson BI, Karlsson J. Continued sports activity, using a pain-monitoring"
                      " model, during rehabilitation in patients with Achilles tendinopathy: a randomized controlled study."
                      " Am J Sports Med 2007;35(6):897-906. doi:10.1177/0363546506298279",
    FRANDSEN_2025: "Frandsen JSB, et al. How much running is too much? Identifying high-risk running sessions in a 5200-person"
                   " cohort study. Br J Sports Med 2025;59(17):1203-1210. doi:10.1136/bjsports-2024-109380",
}

SAFE_MAX = 3          # pain <= 3/10: safe
ACCEPTABLE_MAX = 5    # 4-5/10: acceptable if it settles by the next morning; > 5: too much
SPIKE_RATIO = 1.10    # a run more than 10 % longer than the longest of the window
SPIKE_WINDOW = dt.timedelta(days=30)
BASELINE_WINDOW = dt.timedelta(hours=48)  # a "before" rating counts if logged this long before the activity
RISING_COUNT = 3      # this many ratings of one kind, each higher than the one before
SEE_PHYSIO = "if pain is sharp or keeps rising, stop and see a physiotherapist"

LEVELS = ("ok", "caution", "too much", "note")


@dataclass(frozen=True, slots=True)
class Advice:
    """One line of guidance.  rule: which rule said it; level: "ok", "caution", "too much" or
    "note"; text: the words; source: the citation key (SOURCES), or "" for a reminder of ours;
    run: the run or session it is about, or None."""

    rule: str
    level: str
    text: str
    source: str
    run: str | None = None

    def line(self) -> str:
        return f"{self.text} [{self.source}]" if self.source else self.text

    def as_dict(self) -> dict:
        return {"rule": self.rule, "level": self.level, "text": self.text, "source": self.source,
                "reference": SOURCES.get(self.source), "run": self.run}


def _when(entry: PainEntry, subject: str) -> str:
    return {"during": f"during the {subject}", "next_morning": f"the morning after the {subject}"}.get(
        entry.kind, f"logged {entry.logged_at[:10]}")


def pain_zone(entry: PainEntry, subject: str = "run") -> Advice:
    """The pain-monitoring model's zone of one rating."""
    s, when = entry.score, _when(entry, subject)
    if s <= SAFE_MAX:
        return Advice("pain zone", "ok", f"Pain {s}/10 {when} is in the 0-{SAFE_MAX}/10 the pain-monitoring model counts as"
                      " safe: carry on as planned.", SILBERNAGEL_2007, entry.run)
    if s <= ACCEPTABLE_MAX:
        return Advice("pain zone", "caution", f"Pain {s}/10 {when} is in the {SAFE_MAX + 1}-{ACCEPTABLE_MAX}/10 the"
                      " pain-monitoring model accepts if it settles by the next morning: keep the load as it is rather"
                      f" than adding to it; {SEE_PHYSIO}.", SILBERNAGEL_2007, entry.run)
    return Advice("pain zone", "too much", f"Pain {s}/10 {when} is above the {ACCEPTABLE_MAX}/10 the pain-monitoring model"
                  f" accepts: run less next time; {SEE_PHYSIO}.", SILBERNAGEL_2007, entry.run)


def settled(morning: PainEntry, before: PainEntry | None, subject: str = "run") -> Advice:
    """Whether pain settled by the morning after: not above 5/10, and not above the rating from
    before the activity (when there is one)."""
    s = morning.score
    if s > ACCEPTABLE_MAX:
        return Advice("settled by morning", "too much", f"Pain {s}/10 the morning after the {subject} is above"
                      f" {ACCEPTABLE_MAX}/10: by the pain-monitoring model that load was too much for now; do less next"
                      f" time and {SEE_PHYSIO}.", SILBERNAGEL_2007, morning.run)
    if before is not None and s > before.score:
        return Advice("settled by morning", "too much", f"Pain {s}/10 the morning after the {subject} is higher than the"
                      f" {before.score}/10 before it: the pain had not settled, which the pain-monitoring model reads as too"
                      f" much load; do less next time and {SEE_PHYSIO}.", SILBERNAGEL_2007, morning.run)
    base = f" (before it {before.score}/10)" if before is not None else ""
    return Advice("settled by morning", "ok", f"Pain {s}/10 the morning after the {subject}{base} settled as the"
                  " pain-monitoring model asks.", SILBERNAGEL_2007, morning.run)


def rising(entries: Sequence[PainEntry]) -> Advice | None:
    """Advice when the last RISING_COUNT ratings of one kind (during, or next morning) each rose."""
    for kind, label in (("during", "during your last activities"), ("next_morning", "on the last mornings after")):
        scores = [e.score for e in entries if e.kind == kind][-RISING_COUNT:]
        if len(scores) == RISING_COUNT and all(b > a for a, b in zip(scores, scores[1:])):
            trail = " -> ".join(f"{s}" for s in scores)
            return Advice("rising pain", "too much", f"Pain {label} rose {trail}/10: the pain-monitoring model asks that it"
                          f" does not rise from session to session; ease off, and {SEE_PHYSIO}.", SILBERNAGEL_2007)
    return None


def spike(load: RunLoad, earlier: Iterable[RunLoad]) -> Advice:
    """The single-session spike: this run's running time against the longest run of the 30 days
    before it (a run exactly 30 days before counts)."""
    if load.start is None:
        return Advice("longest-run spike", "note", "The run has no start time, so it cannot be compared with the runs"
                      " before it.", FRANDSEN_2025, load.name)
    window = [e.running_min for e in earlier if e.activity == "run" and e.start is not None and e.running_min > 0
              and load.start - SPIKE_WINDOW <= e.start < load.start]
    if not window:
        return Advice("longest-run spike", "note", "No run in the 30 days before this one to compare its length with.",
                      FRANDSEN_2025, load.name)
    longest = max(window)
    more = load.running_min / longest - 1.0
    if load.running_min > SPIKE_RATIO * longest:
        return Advice("longest-run spike", "caution", f"This run's {load.running_min:.0f} min of running is {more:.0%} longer"
                      f" than your longest in the 30 days before ({longest:.0f} min). In 5,205 runners a single run more"
                      " than 10% longer than that went with more running injuries: build up in smaller steps. (The study"
                      " measured distance; StrideCue measures running time instead.)", FRANDSEN_2025, load.name)
    return Advice("longest-run spike", "ok", f"This run's {load.running_min:.0f} min of running is within 10% of your longest"
                  f" in the 30 days before ({longest:.0f} min).", FRANDSEN_2025, load.name)


def morning_missing(load: RunLoad, entries: Iterable[PainEntry], now: dt.datetime) -> Advice | None:
    """A reminder when the morning after the activity has come and its rating is not logged."""
    if load.start is None or any(e.kind == "next_morning" and e.run == load.name for e in entries):
        return None
    if now.astimezone(load.start.tzinfo).date() <= load.start.date():
        return None
    return Advice("morning rating missing", "note", f"Next-morning pain is not logged yet for {load.name}:"
                  f" `stridecue log pain N --run {load.name} --when next-morning` (whether pain settled by the next"
                  " morning is half of the pain-monitoring model).", "", load.name)


def baseline(entries: Sequence[PainEntry], start: dt.datetime | None, run: str) -> PainEntry | None:
    """The last rating logged in the 48 h before the activity started (of another activity or
    none), the "before" that next-morning pain is compared with."""
    if start is None:
        return None
    before = [e for e in entries if e.run != run and (t := parse_time(e.logged_at)) is not None
              and start - BASELINE_WINDOW <= t < start]
    return before[-1] if before else None


def entry_advice(entry: PainEntry, load: RunLoad | None, entries: Sequence[PainEntry]) -> Advice:
    """The advice on one rating: whether it settled (a next-morning rating of a known activity), else its zone."""
    subject = "run" if load is None or load.activity == "run" else "exercise session"
    if entry.kind == "next_morning" and load is not None:
        return settled(entry, baseline(entries, load.start, load.name), subject)
    return pain_zone(entry, subject)


def load_advice(load: RunLoad, earlier: Sequence[RunLoad], entries: Sequence[PainEntry], now: dt.datetime) -> list[Advice]:
    """The advice on an activity's load: the spike rule (runs only) and the missing morning rating."""
    out = [spike(load, earlier)] if load.activity == "run" else []
    reminder = morning_missing(load, entries, now)
    return out + ([reminder] if reminder is not None else [])


def run_advice(load: RunLoad, earlier: Sequence[RunLoad], entries: Sequence[PainEntry], now: dt.datetime) -> list[Advice]:
    """Every rule's advice on one run or exercise session, given the loads before it and all entries."""
    own = [entry_advice(e, load, entries) for e in entries if e.run == load.name]
    return own + load_advice(load, earlier, entries, now)
