"""The guidance rules at their boundaries: the pain-monitoring model's zones (3 | 4, 5 | 6), pain
settled by the morning, rising pain, the longest-run spike (10 %, the 30-day edge), the missing
morning rating; and the timeline's order."""

from __future__ import annotations

import datetime as dt

import pytest

from stridecue.painload.guidance import (FRANDSEN_2025, SILBERNAGEL_2007, SOURCES, baseline, morning_missing, pain_zone,
                                         rising, run_advice, settled, spike)
from stridecue.painload.load import RunLoad
from stridecue.painload.timeline import build_timeline, format_timeline
from stridecue.record.painlog import PainEntry

T0 = dt.datetime(2026, 11, 1, 7, 0, tzinfo=dt.timezone.utc)


def pain(score, kind="during", run="r", at=T0, id_=None):
    return PainEntry(id_ or f"{run}-{kind}-{score}-{at:%d%H%M}", at.isoformat(), run, at.date().isoformat(), kind, score)


def load(name, start, minutes, activity="run"):
    return RunLoad(1, name, start, activity, None, None, minutes + 2, minutes, int(minutes * 85))


@pytest.mark.parametrize("score, level", [(0, "ok"), (3, "ok"), (4, "caution"), (5, "caution"), (6, "too much"), (10, "too much")])
def test_pain_zones_of_the_pain_monitoring_model(score, level):
    a = pain_zone(pain(score))
    assert a.level == level and a.source == SILBERNAGEL_2007 and f"{score}/10" in a.text
    if level == "too much":
        assert "physiotherapist" in a.text and "run less" in a.text


def test_every_source_is_cited_in_full():
    assert "Am J Sports Med 2007" in SOURCES[SILBERNAGEL_2007] and "Br J Sports Med 2025" in SOURCES[FRANDSEN_2025]


def test_pain_settled_by_the_morning_or_not():
    before = pain(2, "other", run=None)
    assert settled(pain(2, "next_morning"), before).level == "ok"
    assert settled(pain(3, "next_morning"), before).level == "too much"  # higher than before the run
    assert settled(pain(5, "next_morning"), None).level == "ok"
    assert settled(pain(6, "next_morning"), None).level == "too much"  # above 5 whatever came before


def test_the_before_rating_is_the_last_one_in_the_48_hours_before_the_activity():
    start = T0 + dt.timedelta(days=3)
    old = pain(1, "other", run=None, at=start - dt.timedelta(hours=49))
    recent = pain(4, "other", run=None, at=start - dt.timedelta(hours=47))
    own = pain(0, "during", run="r", at=start - dt.timedelta(hours=1))
    assert baseline([old], start, "r") is None
    assert baseline([old, recent, own], start, "r") == recent


def test_rising_pain_is_three_ratings_each_higher():
    days = [T0 + dt.timedelta(days=i) for i in range(4)]
    assert rising([pain(s, at=d, run=f"r{i}") for i, (s, d) in enumerate(zip((2, 3, 4), days))]).level == "too much"
    assert rising([pain(s, at=d, run=f"r{i}") for i, (s, d) in enumerate(zip((2, 4, 4), days))]) is None  # level, not rising
    assert rising([pain(s, at=d, run=f"r{i}") for i, (s, d) in enumerate(zip((5, 2, 3, 4), days))]) is not None
    assert rising([pain(2, at=days[0]), pain(3, "next_morning", at=days[1]), pain(4, at=days[2])]) is None  # kinds apart


def test_the_longest_run_spike_at_10_percent():
    earlier = [load("a", T0, 30.0), load("b", T0 + dt.timedelta(days=5), 40.0)]
    start = T0 + dt.timedelta(days=10)
    assert spike(load("c", start, 44.0), earlier).level == "ok"  # exactly 10 % longer than 40: not a spike
    a = spike(load("c", start, 44.5), earlier)
    assert a.level == "caution" and a.source == FRANDSEN_2025 and "11% longer" in a.text and "running time" in a.text
    # exercise sessions are no runs: a long one sets no bar
    assert spike(load("c", start, 44.5), [*earlier, load("x", start - dt.timedelta(days=1), 90.0, "exercise")]).level == "caution"


def test_the_spike_window_is_the_30_days_before_the_run():
    start = T0 + dt.timedelta(days=40)
    edge = load("edge", start - dt.timedelta(days=30), 60.0)
    past = load("past", start - dt.timedelta(days=30, seconds=1), 60.0)
    recent = load("recent", start - dt.timedelta(days=2), 20.0)
    assert spike(load("now", start, 50.0), [edge, recent]).level == "ok"  # a run exactly 30 days before counts
    assert spike(load("now", start, 50.0), [past, recent]).level == "caution"  # one a second older does not
    assert spike(load("now", start, 50.0), [past]).level == "note"  # nothing to compare with


def test_a_missing_morning_rating_is_asked_for_once_the_morning_has_come():
    run = load("r", T0, 30.0)
    assert morning_missing(run, [], T0 + dt.timedelta(hours=5)) is None  # still the same day
    reminder = morning_missing(run, [], T0 + dt.timedelta(days=1))
    assert reminder is not None and "--when next-morning" in reminder.text
    assert morning_missing(run, [pain(1, "next_morning")], T0 + dt.timedelta(days=1)) is None


def test_run_advice_gathers_the_rules_for_one_run():
    run = load("r", T0 + dt.timedelta(days=3), 45.0)
    entries = [pain(6, at=T0 + dt.timedelta(days=3, hours=1)), pain(2, "during", run="other")]
    rules = [a.rule for a in run_advice(run, [load("a", T0, 30.0)], entries, T0 + dt.timedelta(days=5))]
    assert rules == ["pain zone", "longest-run spike", "morning rating missing"]


def test_the_timeline_puts_runs_sessions_and_pain_in_order_newest_last():
    runs = [load("r1", T0, 30.0), load("ex1", T0 + dt.timedelta(days=1), 12.0, "exercise"), load("r2", T0 + dt.timedelta(days=2), 40.0)]
    entries = [pain(5, "next_morning", run="r1", at=T0 + dt.timedelta(hours=24, minutes=-1)),
               pain(3, run="r2", at=T0 + dt.timedelta(days=2, minutes=40)),
               pain(2, "during", run="r1", at=T0 + dt.timedelta(minutes=35))]
    items, overall = build_timeline(runs, entries, now=T0 + dt.timedelta(days=2, hours=2))
    order = [(it.kind, it.load.name if it.load else it.pain.score) for it in items]
    assert order == [("run", "r1"), ("pain", 2), ("pain", 5), ("exercise", "ex1"), ("run", "r2"), ("pain", 3)]
    assert [a.rule for a in items[-2].advice] == ["longest-run spike"]  # 40 min after a longest of 30
    assert overall == []
    text = format_timeline(items, overall)
    assert text.index("exercise") < text.index("r2") and "guidance, not a diagnosis" in text
