"""The pain journal: appended, never rewritten; two processes at once; a damaged line reported and
skipped; corrections and deletions as new lines; indexed into the store and rebuilt with it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from test_summary_support import store_with

from stridecue.errors import UserError
from stridecue.record.ingest import activity_values
from stridecue.record.painlog import append, journal_path, new_entry, read_journal, void
from stridecue.record.store import DB_NAME


def _entry(score, kind="during", run="r1", note=""):
    return new_entry(score, run=run, date="2026-11-01", kind=kind, note=note)


def test_entries_are_appended_and_read_back_in_order(tmp_path):
    a, b = _entry(2), _entry(7, "next_morning", note="stairs")
    append(tmp_path, a)
    first = journal_path(tmp_path).read_bytes()
    append(tmp_path, b)
    assert journal_path(tmp_path).read_bytes().startswith(first)  # appended, the earlier line as it was
    read = read_journal(tmp_path)
    assert read.entries == (a, b) and read.problems == ()


def test_two_processes_appending_at_once_lose_no_line(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        from stridecue.record.painlog import append, new_entry
        for i in range(150):
            append({str(tmp_path)!r}, new_entry(i % 11, run=sys.argv[1], date="2026-11-01", kind="during", note="x" * 300))
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, name]) for name in ("a", "b")]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    read = read_journal(tmp_path)
    assert read.problems == ()
    assert sorted(e.run for e in read.entries) == ["a"] * 150 + ["b"] * 150
    assert len({e.id for e in read.entries}) == 300


def test_a_damaged_line_is_reported_with_its_number_and_the_others_kept(tmp_path):
    append(tmp_path, _entry(2))
    with open(journal_path(tmp_path), "ab") as f:
        f.write(b'{"op":"add","id":"cut","sco')  # a write cut short by a crash: no newline
    append(tmp_path, _entry(3))  # starts on a line of its own, not glued to the damaged one
    with open(journal_path(tmp_path), "ab") as f:
        f.write(b'{"op":"add","id":"x","logged_at":"2026-11-01T07:00:00+00:00","run":null,"date":"2026-11-01","kind":"during","score":11}\n')
    read = read_journal(tmp_path)
    assert [e.score for e in read.entries] == [2, 3]
    assert [n for n, _ in read.problems] == [2, 4]
    assert "not a JSON line" in read.problems[0][1] and "11" in read.problems[1][1]
    with store_with(tmp_path) as store:
        store.sync()
        assert [p for _, p in store.skipped_] and all("pain-log.jsonl line" in p for _, p in store.skipped_)
        assert [e.score for e in store.pain_entries()] == [2, 3]


def test_delete_and_correct_append_lines_and_keep_the_old_ones(tmp_path):
    a, b = _entry(4), _entry(6)
    append(tmp_path, a)
    append(tmp_path, b)
    fixed = new_entry(5, run="r1", date="2026-11-01", kind="during", replaces=b.id)
    append(tmp_path, fixed)
    void(tmp_path, a.id)
    lines = journal_path(tmp_path).read_text().splitlines()
    assert len(lines) == 4 and f'"id":"{a.id}"' in lines[0] and f'"id":"{b.id}"' in lines[1]
    assert read_journal(tmp_path).entries == (fixed,)
    before = journal_path(tmp_path).read_bytes()
    with pytest.raises(UserError, match="no pain entry"):
        void(tmp_path, a.id)  # already gone
    assert journal_path(tmp_path).read_bytes() == before


@pytest.mark.parametrize("score", ["11", "-1", "abc", "4.5", ""])
def test_a_score_outside_0_to_10_is_refused(score):
    with pytest.raises(UserError, match="pain"):
        new_entry(score, run=None, date="2026-11-01", kind="other")


def test_the_store_indexes_the_journal_and_a_database_moved_aside_loses_nothing(tmp_path):
    append(tmp_path, _entry(3))
    with store_with(tmp_path) as store:
        store.sync()
        assert [e.score for e in store.pain_entries()] == [3]
        append(tmp_path, _entry(8, run="r2"))
        store.sync()  # the journal changed: indexed again
        assert [e.score for e in store.pain_entries("r2")] == [8]
    os.replace(tmp_path / DB_NAME, tmp_path / "damaged.db")
    for extra in ("-wal", "-shm"):
        if (tmp_path / (DB_NAME + extra)).exists():
            os.remove(tmp_path / (DB_NAME + extra))
    with store_with(tmp_path) as store:
        store.sync()
        assert [e.score for e in store.pain_entries()] == [3, 8]


def test_exercise_session_columns_come_from_the_run_metadata():
    assert activity_values({}) == {"activity": "run", "exercise": None, "level": None}
    assert activity_values({"activity": "exercise", "exercise": "step-down", "level": 2}) == \
        {"activity": "exercise", "exercise": "step-down", "level": 2}
