"""The retraining programme's plan, its file and how its sessions are counted from the recorded runs
(coach/programme.py), and the coach's settings for each step."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from stride_records import make_stride

from stridecue.coach import programme as pg
from stridecue.coach.policy import Coach, CoachSettings
from stridecue.coach.settings import DEFAULT_FADING, Profile
from stridecue.coach.setup import prepare_coaching
from stridecue.errors import UserError

T0 = dt.datetime(2026, 5, 1, 7, 0, tzinfo=dt.timezone.utc)
PROG = pg.Programme("anna", T0)


def _run(kind="session", number=1, day=0.0, strides=500, duration_s=None, started=PROG.key, minutes=None):
    minutes = minutes if minutes is not None else (pg.planned_minutes(number) if kind == "session" else pg.RETENTION_MIN)
    planned = minutes * 60.0
    return {"id": 0, "name": f"{kind}{number}@{day}", "start_time": (T0 + dt.timedelta(days=day)).isoformat(),
            "running_strides": strides, "duration_s": planned if duration_s is None else duration_s,
            "metadata": {"settings": {"programme": {"started": started, "kind": kind, "number": number, "planned_s": planned}}}}


def _eight_sessions():
    return [_run("session", k, day=2.0 * (k - 1)) for k in range(1, 9)]


def test_the_plan_goes_from_15_to_30_minutes_and_fades_feedback_over_the_last_4_sessions():
    assert [pg.planned_minutes(k) for k in range(1, 9)] == [15, 17, 19, 21, 24, 26, 28, 30]
    shares = [pg.session_step(PROG, k, DEFAULT_FADING).feedback_share for k in range(1, 9)]
    assert shares[:4] == [1.0] * 4 and shares[4:] == [0.5, 0.5, 0.25, 0.25]
    days = [pg.suggested_day(k) for k in range(1, 9)]
    assert days[0] == 0 and days[-1] == 13 and days == sorted(days)


def test_sessions_are_counted_from_the_runs_and_short_or_empty_runs_do_not_count():
    runs = [_run("session", 1, day=0), _run("session", 2, day=1, duration_s=60.0),  # 1 min of 17: too short
            _run("session", 2, day=2, strides=0), _run("session", 2, day=3, strides=pg.MIN_RUNNING_STRIDES - 1),
            _run("session", 2, day=4, started="2026-04-01T00:00:00+00:00"),  # an earlier programme's run
            {"id": 9, "name": "plain", "start_time": T0.isoformat(), "running_strides": 900, "duration_s": 3600, "metadata": {}},
            _run("session", 2, day=5)]
    done = pg.progress(PROG, runs, T0 + dt.timedelta(days=6), DEFAULT_FADING)
    assert [r["name"] for r in done.sessions] == ["session1@0", "session2@5"]
    assert done.not_counted == 3
    assert done.next.kind == "session" and done.next.number == 3 and done.next.planned_min == 19


def test_retention_runs_are_due_1_week_and_1_month_after_session_8_and_run_without_cues():
    runs = _eight_sessions()
    last = T0 + dt.timedelta(days=14)
    done = pg.progress(PROG, runs, last + dt.timedelta(days=3), DEFAULT_FADING)
    assert done.retention_due == (last + dt.timedelta(days=7), last + dt.timedelta(days=30))
    assert done.next.kind == "free" and done.next.feedback_share == 0.0  # before the first is due: no cues, not counted
    at_week = pg.progress(PROG, runs, last + dt.timedelta(days=7), DEFAULT_FADING).next
    assert (at_week.kind, at_week.number, at_week.feedback_share) == ("retention", 1, 0.0)
    runs.append(_run("retention", 1, day=21))
    assert pg.progress(PROG, runs, last + dt.timedelta(days=10), DEFAULT_FADING).next.kind == "free"
    at_month = pg.progress(PROG, runs, last + dt.timedelta(days=31), DEFAULT_FADING)
    assert (at_month.next.kind, at_month.next.number) == ("retention", 2) and at_month.retention[1] is not None
    runs.append(_run("retention", 2, day=45))
    assert pg.progress(PROG, runs, last + dt.timedelta(days=40), DEFAULT_FADING).next.kind == "complete"


def test_each_step_sets_the_share_of_cues_and_the_landing_load_target():
    base = CoachSettings()
    s5 = pg.step_settings(base, pg.session_step(PROG, 5, DEFAULT_FADING), PROG, None)
    assert s5.feedback_fraction == 0.5 and not s5.load_cue
    retention = pg.Step("retention", 1, 15.0, 0.0, T0)
    assert pg.step_settings(base, retention, pg.Programme("anna", T0, load=True), 5.0).feedback_fraction == 0.0
    loaded = pg.Programme("anna", T0, load=True)
    first = pg.step_settings(base, pg.session_step(loaded, 1, DEFAULT_FADING), loaded, None)
    assert first.load_cue and first.load_target_pct == 30.0 and first.load_threshold_g is None
    later = pg.step_settings(base, pg.session_step(loaded, 2, DEFAULT_FADING), loaded, 5.6)
    assert later.load_cue and later.load_threshold_g == 5.6 and later.load_target_pct is None


@pytest.mark.parametrize("target_pct, cued", [(30.0, True), (None, False)])
def test_a_load_target_below_the_baseline_cues_a_steady_runner(target_pct, cued):
    coach = Coach(CoachSettings(load_cue=True, load_target_pct=target_pct, threshold="absolute", absolute_deg=40.0))
    kinds = []
    for i in range(80):
        cue = coach.on_stride(1.0 + 0.7 * i, "left", 5.0, pta_g=8.0 + 0.2 * (i % 3))
        kinds += [cue.kind] if cue else []
    assert (kinds[:1] == ["load"]) is cued and (not kinds) is not cued


def test_the_baseline_window_is_the_coachs_baseline_strides_before_the_first_cue():
    strides = [make_stride(ic_t=float(i), wobble_deg=float(i)) for i in range(60)]
    strides += [make_stride(ic_t=float(i) + 0.5, leg="right", wobble_deg=100.0 + i) for i in range(20)]
    strides.append(make_stride(ic_t=70.0, kind="walk", wobble_deg=1.0))
    window = pg.baseline_window(strides, "wobble_deg", 10, 30)
    assert window["left shin"] == [float(i) for i in range(10, 40)]
    assert window["right shin"] == [100.0 + i for i in range(10, 20)]
    assert pg.baseline_window(strides, "wobble_deg", 10, 30, before_t=20.0)["left shin"] == [float(i) for i in range(10, 20)]


def test_the_programme_file_is_replaced_whole_and_keeps_the_other_runners(tmp_path):
    (tmp_path / "settings.toml").write_text('[profile.anna]\nk = 2.5\n')
    pg.start_programme(tmp_path, "anna", False, 60.0, T0)
    pg.start_programme(tmp_path, "ben", True, 4.0, T0)
    with pytest.raises(UserError, match="already has a programme"):
        pg.start_programme(tmp_path, "anna", True, 60.0, T0)
    pg.stop_programme(tmp_path, "anna")
    assert list(pg.read_programmes(tmp_path)) == ["ben"] and pg.read_programmes(tmp_path)["ben"].load
    with pytest.raises(UserError, match="no programme to stop"):
        pg.stop_programme(tmp_path, "anna")
    assert (tmp_path / "settings.toml").read_text() == '[profile.anna]\nk = 2.5\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["programme.json", "settings.toml"]  # no temporary file left


@pytest.mark.parametrize("text", ["{not json", json.dumps({"version": 1, "programmes": {"anna": {"started": "yesterday"}}}),
                                  json.dumps({"version": 2, "programmes": {}}),
                                  json.dumps({"version": 1, "programmes": {"anna": {"started": T0.isoformat(), "minute_s": 0}}})])
def test_a_damaged_programme_file_is_one_error_naming_it_and_is_left_as_it_is(tmp_path, text):
    path = tmp_path / "programme.json"
    path.write_text(text)
    for action in (lambda: pg.read_programmes(tmp_path), lambda: pg.start_programme(tmp_path, "ben", False, 60.0, T0),
                   lambda: pg.stop_programme(tmp_path, "anna")):
        with pytest.raises(UserError, match="programme.json: not a readable programme file"):
            action()
    assert path.read_text() == text


def _coaching(tmp_path, monkeypatch, step):
    """prepare_coaching for a profile whose programme's next step is `step` (the store's count stood in for)."""
    pg.start_programme(tmp_path, "anna", True, 4.0, T0)
    monkeypatch.setattr(pg, "progress", lambda *a, **k: pg.Progress((), {1: None, 2: None}, 0, step, ()))
    profile = Profile(name="anna", baseline="saved", fading=True)
    return prepare_coaching(profile, tmp_path, play=False, track=False)


def test_a_run_under_the_programme_is_its_session_with_its_share_length_and_metadata(tmp_path, monkeypatch):
    coaching = _coaching(tmp_path, monkeypatch, pg.session_step(PROG, 1, DEFAULT_FADING))
    assert coaching.session == 1 and coaching.coach.settings.feedback_fraction == 1.0
    assert coaching.coach.settings.load_cue and coaching.coach.settings.load_target_pct == 30.0
    meta = coaching.metadata()["programme"]
    assert meta["kind"] == "session" and meta["number"] == 1 and meta["planned_s"] == 15 * 4.0 and meta["load"]
    assert not any("saved baseline" in n for n in coaching.notes)  # session 1 forms its own no-cue baseline
    assert any(n.startswith("programme: session 1 of 8, 15 minutes") for n in coaching.notes)


def test_a_retention_run_speaks_no_cue(tmp_path, monkeypatch):
    coaching = _coaching(tmp_path, monkeypatch, pg.Step("retention", 2, 15.0, 0.0, T0))
    assert coaching.coach.settings.feedback_fraction == 0.0 and coaching.session is None
    meta = coaching.metadata()["programme"]
    assert (meta["kind"], meta["number"], meta["feedback_share"]) == ("retention", 2, 0.0)
    assert pg.spoken(coaching.programme) == "Retention run, 1 month. No cues. 15 minutes."
