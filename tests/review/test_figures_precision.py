"""Figures are data at full precision, rounded once when shown (issue 16 item 11): no contact time
rounded to 0.2 s before it becomes milliseconds, history and summary give the same numbers, a
recording without running is no run in the trends, the guided result says "fell" or "rose" without
a sign, and the fatigue comparison comes with its interval."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from stride_records import make_stride
from test_summary_support import START, make_run, store_with

from stridecue.review.figures import _fatigue, load_summary
from stridecue.review.guided import format_guided
from stridecue.review.history import format_history, trend_rows, trends


def steady_run(n=400, contact_s=0.236, rise_deg=0.0, seed=0):
    rng = np.random.default_rng(seed)
    return [make_stride(ic_t=0.7 * i, leg="left", kind="run", contact_time_s=contact_s,
                        wobble_deg=6.0 + rise_deg * i / n + rng.normal(0, 0.5), pta_axial_g=8.0, cadence_spm=166.4) for i in range(n)]


def test_fatigue_contact_time_is_not_rounded_before_it_is_scaled():
    f = _fatigue(steady_run())
    assert f["contact_time_ms"] == pytest.approx([236.0, 236.0])  # not [200, 200]
    assert f["cadence_spm"] == pytest.approx([166.4, 166.4])


def test_fatigue_rise_is_said_only_with_an_interval_that_excludes_zero():
    flat = _fatigue(steady_run())
    lo, hi = flat["wobble_change_ci95_deg"]
    assert lo < flat["wobble_change_deg"] < hi and lo < 0 < hi
    said = [n for n in notes_for(flat) if "Wobble" in n]
    assert said and said[0].startswith("Wobble stayed about the same") and "95% CI" in said[0]
    rising = _fatigue(steady_run(rise_deg=3.0))
    assert rising["wobble_change_ci95_deg"][0] > 1.0
    assert notes_for(rising)[0].startswith("Wobble rose by") and "95% CI" in notes_for(rising)[0]


def notes_for(fatigue: dict) -> list[str]:
    from stridecue.review.report import _fatigue_notes

    return _fatigue_notes(fatigue)


@pytest.fixture(scope="module")
def runs_and_an_empty_recording(tmp_path_factory):
    base = tmp_path_factory.mktemp("data")
    for i in range(4):
        make_run(base, START + dt.timedelta(days=i), 6, wobble=7.0 - 0.5 * i, seed=i)
    make_run(base, START + dt.timedelta(days=9), 0.02, seed=7)  # a second of standing: no stride at all
    with store_with(base) as store:
        store.sync()
    return base


def test_history_gives_the_summary_numbers_and_leaves_a_recording_without_running_out(runs_and_an_empty_recording):
    with store_with(runs_and_an_empty_recording) as store:
        rows = trend_rows(store)
        summaries = [load_summary(store, store.run(r["id"])) for r in rows]
    for row, s in zip(rows, summaries):
        if s["running_strides"]:
            assert row["wobble_median_deg"] == pytest.approx(s["wobble_deg"]["median"], abs=1e-9)
            assert row["cadence_spm"] == pytest.approx(s["cadence_spm"], abs=1e-9)
            assert row["contact_time_ms"] == pytest.approx(s["contact_time_ms"], abs=1e-9)
    assert rows[-1]["running_strides"] == 0
    t = trends(rows)
    # the last three runs are the three latest *runs*, not the empty recording
    assert t["wobble_median_deg"]["recent_runs"] == 3 and t["wobble_median_deg"]["earlier_runs"] == 1
    assert t["wobble_median_deg"]["recent"] == pytest.approx(np.median([r["wobble_median_deg"] for r in rows[1:4]]))
    text = format_history(rows, t, [])
    assert any("not a run" in line for line in text.splitlines())


def test_guided_result_says_fell_or_rose_without_a_sign():
    g = {"segments": [], "confidence": 0.95, "verdict": "v",
         "metrics": {"wobble": {"unit": "deg", "hip": {"reduction": 2.32}, "foot": {"reduction": -0.35},
                                "hip_minus_foot": 2.67, "hip_minus_foot_ci": [1.9, 3.4]},
                     "landing_load": {"problem": "too few strides"}}}
    line = next(x for x in format_guided(g) if x.strip().startswith("wobble"))
    assert "fell 2.3° with hip" in line and "rose 0.3° with foot" in line  # not "fell +2.32°", "fell -0.35°"
    assert "fell +" not in line and "fell -" not in line and "fell −" not in line
