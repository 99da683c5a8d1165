"""Cue policy details: words, logged values, baselines for later runs, cadence and load cues."""

import numpy as np

from stridecue.coach.policy import Coach, CoachSettings


def test_wobble_words_alternate_and_each_cue_carries_the_values_behind_it():
    coach = Coach(CoachSettings(threshold="absolute", absolute_deg=8.0, cooldown_s=0, max_per_minute=100))
    cues = []
    for k in range(6):
        for i in range(10):
            w = 11.0 if k % 2 == 0 else 4.0
            c = coach.on_stride(k * 7 + i * 0.7, "left", w, pta_g=8.0, cadence_spm=168.0)
            if c:
                cues.append(c)
    assert [c.words for c in cues] == ["Left knee: squeeze your glutes", "Left knee: knees apart", "Left knee: squeeze your glutes"]
    v = cues[0].values
    assert v["leg"] == "left" and v["threshold_deg"] == 8.0 and v["wobble_avg_deg"] == 11.0
    assert v["wobble_window_deg"] == [11.0] * 5
    assert v["stride"] == {"leg": "left", "wobble_deg": 11.0, "pta_g": 8.0, "cadence_spm": 168.0}


def test_baseline_is_reported_for_the_next_runs():
    rng = np.random.default_rng(3)
    coach = Coach(CoachSettings(warmup_strides=5, baseline_strides=20))
    for i in range(30):
        coach.on_stride(i * 0.7, "left", 6.0 + 0.5 * rng.standard_normal())
    base = coach.baselines_["left"]
    assert abs(base["median_deg"] - 6.0) < 0.4 and 0.2 < base["spread_deg"] < 1.0
    assert "right" not in coach.baselines_


def test_cadence_cue_against_the_runners_own_baseline_plus_a_step():
    settings = CoachSettings(threshold="absolute", absolute_deg=50, cadence_cue=True, cadence_increase_pct=5.0,
                             warmup_strides=5, baseline_strides=20, cooldown_s=0, max_per_minute=100)
    coach = Coach(settings)
    cues = [c for i in range(25) if (c := coach.on_stride(i * 0.7, "left", 5.0, cadence_spm=160.0))]
    assert coach.cadence_target() == 168.0
    cues += [c for i in range(25, 60) if (c := coach.on_stride(i * 0.7, "left", 5.0, cadence_spm=160.0))]
    assert len(cues) == 1  # once per episode, not every stride below target
    assert cues[0].kind == "cadence" and cues[0].words == "Quicker steps" and cues[0].values["baseline_spm"] == 160.0
    # the runner speeds up to the target: re-armed, and no cue while there
    more = [c for i in range(60, 100) if (c := coach.on_stride(i * 0.7, "left", 5.0, cadence_spm=169.0))]
    assert more == []
    more = [c for i in range(100, 130) if (c := coach.on_stride(i * 0.7, "left", 5.0, cadence_spm=158.0))]
    assert len(more) == 1


def test_no_cadence_or_load_cue_unless_asked():
    coach = Coach(CoachSettings(threshold="absolute", absolute_deg=50, load_threshold_g=5.0, cadence_target_spm=190))
    assert [c for i in range(80) if (c := coach.on_stride(i * 0.7, "left", 5.0, pta_g=20.0, cadence_spm=150.0))] == []


def test_thigh_and_shin_of_one_leg_keep_their_own_baselines_when_the_mount_is_given():
    coach = Coach(CoachSettings(warmup_strides=2, baseline_strides=10))
    cue = None
    for i in range(40):
        coach.on_stride(i * 0.7, "left", 4.0 + 0.3 * (i % 3), mount="thigh")
        c = coach.on_stride(i * 0.7 + 0.01, "left", 9.0 + 0.3 * (i % 3) + (6.0 if i > 25 else 0.0), mount="shin")
        cue = cue or c
    assert coach.baseline("left", "thigh")[0] < 5 < 9 < coach.baseline("left", "shin")[0]
    assert coach.threshold("left", "shin") > coach.threshold("left", "thigh")
    assert set(coach.baselines_) == {"left thigh", "left shin"}
    assert cue is not None and cue.values["leg"] == "left shin" and cue.reason.startswith("left shin wobble")
    assert coach.threshold("left") is not None  # asked by leg only: that leg's first segment


def test_a_reminder_when_the_average_stays_over_threshold_after_a_cue():
    coach = Coach(CoachSettings(threshold="absolute", absolute_deg=8.0, cooldown_s=20, repeat_s=60))
    cues = [c for i in range(200) if (c := coach.on_stride(i * 0.7, "left", 10.0))]  # 140 s, never below threshold
    times = [c.t for c in cues]
    assert len(cues) == 3 and times[1] - times[0] >= 60 and times[2] - times[1] >= 60
    assert "still over" in cues[1].reason and cues[1].values["reminder"] and "reminder" not in cues[0].values
    never = Coach(CoachSettings(threshold="absolute", absolute_deg=8.0, repeat_s=0))
    assert len([c for i in range(200) if (c := never.on_stride(i * 0.7, "left", 10.0))]) == 1


def test_episodes_left_silent_by_fading_are_kept_for_the_log():
    coach = Coach(CoachSettings(threshold="absolute", absolute_deg=8.0, cooldown_s=0, max_per_minute=1000, feedback_fraction=0.5))
    w = []
    for k in range(10):
        w += [12.0] * 5 + [4.0] * 5
    spoken = [c for i, x in enumerate(w) if (c := coach.on_stride(i * 0.7, "left", x))]
    assert len(spoken) == 5 and len(coach.silenced_) == coach.suppressed_ == 5
    assert all("left silent (faded feedback)" in c.reason for c in coach.silenced_)
    assert sorted(c.t for c in spoken + coach.silenced_) == sorted(set(c.t for c in spoken + coach.silenced_))
