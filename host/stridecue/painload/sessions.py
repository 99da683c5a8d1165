"""The pain ratings of exercise sessions, as progression takes them (exercise/progression.py):
run id -> {"during": the latest "during" score, "settled": whether the next-morning rating settled
(guidance.settled: not above 5/10 nor above the rating before the session)}; a key is left out
when that rating was not logged, so progression never raises a level on pain it does not know.
"""

from __future__ import annotations

from stridecue.painload.guidance import baseline, settled
from stridecue.painload.load import parse_time


def session_pains(store, runs: list[dict]) -> dict[int, dict]:
    entries = store.pain_entries()
    out = {}
    for run in runs:
        mine = [e for e in entries if e.run == run["name"]]
        pain = {}
        during = [e for e in mine if e.kind == "during"]
        if during:
            pain["during"] = during[-1].score
        morning = [e for e in mine if e.kind == "next_morning"]
        if morning:
            before = baseline(entries, parse_time(run.get("start_time")), run["name"])
            pain["settled"] = settled(morning[-1], before, "session").level != "too much"
        if pain:
            out[run["id"]] = pain
    return out
