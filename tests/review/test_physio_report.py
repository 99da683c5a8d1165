"""`stridecue report --weeks N`: the physiotherapist's report over a period, rendered in real
headless Chromium and checked for what is on the page: the period's runs only (per leg), the pain
ratings against the load, the guidance with its sources, and the plots drawn."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest
from test_report import _chromium, _Page, chromium, needs_chromium  # noqa: F401 (_chromium: the fixture needs_chromium uses)
from test_summary_support import START, make_run, read_png, store_with

from stridecue.errors import UserError
from stridecue.record import painlog
from stridecue.review import physio

UNTIL = (START + dt.timedelta(days=20)).date()


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """Three runs in the four weeks (one with both legs), one before them; pain ratings of two
    runs, one of them over 5/10."""
    base = tmp_path_factory.mktemp("data")
    make_run(base, START - dt.timedelta(days=40), 8, wobble=9.0, seed=1)  # before the period
    first = make_run(base, START, 10, wobble=7.5, seed=2)
    make_run(base, START + dt.timedelta(days=6), 12, wobble=7.0, legs=("left", "right"), cue_times=(200, 500), seed=3)
    last = make_run(base, START + dt.timedelta(days=13), 14, wobble=6.2, seed=4)
    for run, score, kind in ((first, 3, "during"), (first, 2, "next_morning"), (last, 7, "during")):
        day = run.stem[:10]
        painlog.append(base, painlog.new_entry(score, run=run.stem, date=day, kind=kind,
                                               now=dt.datetime.fromisoformat(day + "T20:00:00+00:00")))
    store = store_with(base)
    store.sync()
    text = physio.build(store, physio.period_ending(UNTIL, 4), None, dt.datetime(2026, 11, 21, tzinfo=dt.timezone.utc))
    store.close()
    out = tmp_path_factory.mktemp("report") / "physio.html"
    out.write_text(text)
    return out


@needs_chromium
def test_the_page_shows_the_period_runs_pain_and_guidance(page, tmp_path):
    done = chromium(["--dump-dom", page.as_uri()], tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    dom = _Page()
    dom.feed(done.stdout)
    text = " ".join(" ".join(dom.text).split())
    assert dom.count("tr", "run-line") == 3  # the run 40 days before is outside the 4 weeks
    assert "3 runs, 36 minutes in all" in text
    assert dom.count("tr", "pain-entry") == 3
    assert "Pain 7/10 during the run is above the 5/10" in text
    assert "Silbernagel KG" in text and "not a diagnosis" in text
    for chart in ("physio-wobble", "physio-load", "physio-cadence", "physio-pain", "physio-minutes"):
        assert dom.count("svg", chart) == 1, chart
    # the two-leg run gives the wobble chart a right-leg series; one-leg runs only a left one
    assert dom.count("circle", "left") == 3 and dom.count("circle", "right") == 1
    assert dom.count("li", "too-much") == 1


@needs_chromium
def test_the_page_paints_at_print_width(page, tmp_path):
    png = tmp_path / "physio.png"
    done = chromium(["--window-size=800,2600", f"--screenshot={png}", page.as_uri()], tmp_path)
    assert done.returncode == 0 and png.exists(), done.stderr[-2000:]
    pixels = read_png(png)[..., :3]
    red = ((pixels[..., 0] > 150) & (pixels[..., 1] < 60) & (pixels[..., 2] < 60)).sum()  # the pain-during points
    assert red > 30


def test_the_period_is_checked():
    with pytest.raises(UserError, match="--weeks 0"):
        physio.period_ending(UNTIL, 0)
    with pytest.raises(UserError, match="--weeks 53"):
        physio.period_ending(UNTIL, 53)
    p = physio.period_ending(dt.date(2026, 12, 7), 1)
    assert p.start == dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc) and p.end == dt.datetime(2026, 12, 8, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("flags, problem", [(["--weeks", "0"], "--weeks 0"), (["--until", "2026-13-01"], "--until 2026-13-01"),
                                            (["--weeks", "x"], "invalid int value")])
def test_bad_flags_get_one_line(tmp_path, flags, problem):
    done = subprocess.run([sys.executable, "-m", "stridecue.cli", "--data-dir", str(tmp_path / "d"), "report", *flags],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode != 0 and problem in done.stderr and "Traceback" not in done.stderr
    assert not list(tmp_path.glob("*.html"))


def test_an_existing_report_is_never_overwritten(tmp_path):
    out = tmp_path / "mine.html"
    out.write_text("kept")
    done = subprocess.run([sys.executable, "-m", "stridecue.cli", "--data-dir", str(tmp_path / "d"), "report", "--out", str(out)],
                          capture_output=True, text=True)
    assert done.returncode == 1 and "already exists" in done.stderr and out.read_text() == "kept"


@needs_chromium
def test_from_the_command_line_with_an_exercise_session(tmp_path):
    """`stridecue exercise --simulate` then `stridecue report`: the session's legs are rows with their
    knee motion plotted, and it is not counted as a run."""
    cli = [sys.executable, "-m", "stridecue.cli", "--data-dir", str(tmp_path / "d")]
    done = subprocess.run([*cli, "exercise", "single-leg-squat", "--reps", "3", "--leg", "both", "--simulate", "--speed", "max",
                           "--seed", "5"], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-2000:]
    out = tmp_path / "physio.html"
    done = subprocess.run([*cli, "report", "--weeks", "1", "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 0 and out.exists(), done.stderr
    done = chromium(["--dump-dom", out.as_uri()], tmp_path)
    dom = _Page()
    dom.feed(done.stdout)
    text = " ".join(" ".join(dom.text).split())
    assert dom.count("tr", "exercise-line") == 2 and "single-leg squat" in text
    assert dom.count("svg", "physio-knee") == 1 and dom.count("circle", "point") == 2
    assert "No runs in this period." in text
