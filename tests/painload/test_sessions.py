"""The pain log feeds exercise progression (painload/sessions.py -> exercise/progression.py): a
level is raised only on logged, low, settled pain, and stepped back on high or unsettled pain."""

from __future__ import annotations

import datetime as dt

from stridecue.exercise.progression import SessionResult, next_level
from stridecue.painload.sessions import session_pains
from stridecue.record.painlog import new_entry

DAY = dt.datetime(2026, 11, 2, 18, 0, tzinfo=dt.timezone.utc)


class _Store:
    def __init__(self, entries):
        self._entries = entries

    def pain_entries(self):
        return list(self._entries)


def _run(i: int) -> dict:
    start = DAY + dt.timedelta(days=2 * i)
    return {"id": i, "name": f"session-{i}", "start_time": start.isoformat()}


def _rating(run: dict, score: int, kind: str, hours_after: float = 1.0):
    start = dt.datetime.fromisoformat(run["start_time"])
    return new_entry(score, run=run["name"], date=start.date().isoformat(), kind=kind, now=start + dt.timedelta(hours=hours_after))


def _results(runs, pains):
    return [SessionResult(level=2, form_ok=True, pain_during=pains.get(r["id"], {}).get("during"),
                          pain_next_morning_settled=pains.get(r["id"], {}).get("settled")) for r in runs]


def test_low_settled_pain_raises_the_level_and_a_missing_morning_keeps_it():
    runs = [_run(0), _run(1)]
    entries = [_rating(runs[0], 2, "during"), _rating(runs[0], 1, "next_morning", 15),
               _rating(runs[1], 3, "during"), _rating(runs[1], 1, "next_morning", 15)]  # no worse than the 1/10 before it
    pains = session_pains(_Store(entries), runs)
    assert pains == {0: {"during": 2, "settled": True}, 1: {"during": 3, "settled": True}}
    assert next_level(2, _results(runs, pains)).level == 3
    pains = session_pains(_Store(entries[:-1]), runs)  # the last morning not logged yet
    assert 1 not in pains or "settled" not in pains[1]
    assert next_level(2, _results(runs, pains)).level == 2


def test_high_or_unsettled_pain_steps_back():
    runs = [_run(0), _run(1)]
    high = [_rating(runs[1], 7, "during")]
    assert next_level(2, _results(runs, session_pains(_Store(high), runs))).level == 1
    # the morning after higher than the rating logged before the session: not settled
    before = new_entry(1, run=None, date=DAY.date().isoformat(), kind="other",
                       now=dt.datetime.fromisoformat(runs[1]["start_time"]) - dt.timedelta(hours=3))
    unsettled = [before, _rating(runs[1], 2, "during"), _rating(runs[1], 4, "next_morning", 15)]
    pains = session_pains(_Store(unsettled), runs)
    assert pains[1] == {"during": 2, "settled": False}
    assert next_level(2, _results(runs, pains)).level == 1
