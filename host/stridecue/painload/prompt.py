"""The question after a run or exercise session, on a terminal: "Pain during the run, 0-10".

Only when stdin is a terminal: a script, the test suite or CI (no stdin) is never asked and
nothing is logged.  `stridecue run` calls ask_pain() once the run is saved; `stridecue exercise`
can call it the same way with activity="exercise session".
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from stridecue.errors import UserError
from stridecue.painload.guidance import pain_zone
from stridecue.record.painlog import PainEntry, append, check_score, new_entry

TRIES = 3


def ask_pain(base: Path, run_name: str, start: dt.datetime, *, activity: str = "run", stdin=None, out=None) -> PainEntry | None:
    """Ask for the pain during the activity, log the answer in the pain journal and print its
    guidance; None when stdin is not a terminal, the runner skips (Enter, end of input) or gives
    no valid answer in TRIES tries."""
    stdin = sys.stdin if stdin is None else stdin
    out = sys.stdout if out is None else out
    if stdin is None or stdin.closed or not stdin.isatty():
        return None
    try:
        return _ask(base, run_name, start, activity, stdin, out)
    except KeyboardInterrupt:  # Ctrl-C at the question: the run is saved, nothing logged
        print("\npain not logged", file=out)
        return None


def _ask(base: Path, run_name: str, start: dt.datetime, activity: str, stdin, out) -> PainEntry | None:
    for _ in range(TRIES):
        print(f"Pain during the {activity}, 0-10 (Enter to skip): ", end="", file=out, flush=True)
        answer = stdin.readline()
        if not answer.strip():
            print("pain not logged (`stridecue log pain N` logs it later)", file=out)
            return None
        try:
            score = check_score(answer)
        except UserError as e:
            print(e, file=out)
            continue
        entry = new_entry(score, run=run_name, date=start.date().isoformat(), kind="during")
        try:
            append(base, entry)
        except UserError as e:  # the run is saved either way: say so, and how to log it later
            print(f"warning: {e}; the run is saved, log the pain later with `stridecue log pain {score}`", file=sys.stderr)
            return None
        print(f"logged pain {score}/10 (id {entry.id}); guidance: {pain_zone(entry, activity).line()}", file=out)
        print(f"Tomorrow morning: `stridecue log pain N --run {run_name} --when next-morning`.", file=out)
        return entry
    print("pain not logged (`stridecue log pain N` logs it later)", file=out)
    return None
