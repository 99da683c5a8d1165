"""`stridecue log` end to end (in process, the store analysed by the stand-in analysis): log pain,
the guidance it prints, `summary` and `history` with load and guidance, bad input refused in one
line with the journal unchanged; and the question after a run, asked on a terminal only."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from test_summary_support import START, make_run, store_with

from stridecue.cli import main
from stridecue.painload.prompt import ask_pain
from stridecue.record.painlog import journal_path, read_journal


@pytest.fixture
def base(tmp_path):
    make_run(tmp_path, START, 4, seed=1)
    make_run(tmp_path, START + dt.timedelta(days=3), 6, seed=2)  # 50 % longer than the run before: a spike
    with store_with(tmp_path) as store:
        store.sync()
    return tmp_path


def cli(base, *args):
    return main(["--data-dir", str(base), *args])


def test_log_pain_then_summary_and_history_show_load_pain_and_guidance(base, capsys):
    with store_with(base) as store:
        first, latest = [r["name"] for r in store.runs()]
    assert cli(base, "log", "pain", "4", "--note", "outer knee") == 0
    out = capsys.readouterr().out
    assert f"logged pain 4/10 during of {latest}" in out and "guidance: Pain 4/10 during the run is in the 4-5/10" in out
    assert cli(base, "log", "pain", "6", "--run", first, "--when", "next-morning") == 0
    assert "above 5/10" in capsys.readouterr().out

    assert cli(base, "summary") == 0
    text = capsys.readouterr().out
    assert "pain           4/10 during" in text and "running strides; distance not available" in text
    assert "% longer than your longest in the 30 days before (4 min)" in text and "[Frandsen et al. 2025]" in text

    assert cli(base, "history") == 0
    text = capsys.readouterr().out
    lines = text[text.index("Timeline"):].splitlines()
    kinds = [ln.split()[2] for ln in lines[1:] if ln[:4].isdigit()]
    assert kinds == ["run", "run", "pain", "pain"]  # ratings stand where they were logged: now, after both runs
    assert "outer knee" in text

    assert cli(base, "history", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert [it["kind"] for it in data["timeline"]] == ["run", "run", "pain", "pain"]
    assert data["timeline"][1]["guidance"][0]["rule"] == "longest-run spike"


BAD = [
    (["log", "pain", "11"], "pain 11: out of range"),
    (["log", "pain", "-1"], "pain -1: out of range"),
    (["log", "pain", "abc"], "pain 'abc'"),
    (["log", "pain", "3", "--run", "no-such-run"], "no run 'no-such-run'"),
    (["log", "pain", "3", "--when", "tomorrow"], "--when 'tomorrow'"),
    (["log", "pain", "3", "--replaces", "nope"], "--replaces 'nope'"),
    (["log", "delete", "nope"], "no pain entry 'nope'"),
]


@pytest.mark.parametrize("args, words", BAD, ids=[" ".join(a[1:]) for a, _ in BAD])
def test_bad_input_is_one_line_and_the_journal_is_unchanged(base, capsys, args, words):
    assert cli(base, "log", "pain", "2") == 0
    before = journal_path(base).read_bytes()
    capsys.readouterr()
    assert cli(base, *args) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and words in err, err
    assert journal_path(base).read_bytes() == before


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_the_question_after_a_run_is_asked_on_a_terminal_only(tmp_path):
    out = io.StringIO()
    assert ask_pain(tmp_path, "r1", START, stdin=io.StringIO("5\n"), out=out) is None  # a pipe: not asked
    assert out.getvalue() == "" and not journal_path(tmp_path).exists()
    entry = ask_pain(tmp_path, "r1", START, stdin=Terminal("eleven\n12\n7\n"), out=out)
    assert entry is not None and (entry.score, entry.kind, entry.run, entry.date) == (7, "during", "r1", "2026-11-01")
    assert out.getvalue().count("Pain during the run, 0-10 (Enter to skip)") == 3 and "above the 5/10" in out.getvalue()
    assert ask_pain(tmp_path, "r2", START, stdin=Terminal("\n"), out=out, activity="exercise session") is None  # skipped
    assert [e.score for e in read_journal(tmp_path).entries] == [7]
