"""Hands-free start and stop (analysis/activity.py) on the virtual runner: moving, standing still
and double taps, on bodies and straps drawn from the population, fed in notifications."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from stridecue.analysis.activity import DOUBLE_TAP, MOVING, STILL, ActivityDetector
from stridecue.lab.evaluation import to_sample_block
from stridecue.sim import VirtualRunner
from stridecue.sim.population import population

RATE = 416.0


def _recording(member, segments, mount="shin", taps=(), seconds=None):
    settings = dataclasses.replace(member.settings(segments), taps_s=tuple(taps))
    runner = VirtualRunner(settings, seed=member.seed)
    stream = runner.sensor(leg=member.leg, mount=mount, **member.sensor_kwargs(mount))
    total = seconds if seconds is not None else sum(s for _, s in segments)
    chunk = stream.read(int(total * RATE))
    return to_sample_block(chunk.acc, chunk.gyr, RATE)


def _events(block, notification=12, **kw):
    detector = ActivityDetector(RATE, **kw)
    out = []
    for i in range(0, len(block), notification):
        out += detector.push(_part(block, i, i + notification))
    return out, detector


def _part(block, a, b):
    return dataclasses.replace(block, index=block.index[a:b], raw=block.raw[a:b])


PEOPLE = population(8, seed=11)


@pytest.mark.parametrize("member", PEOPLE[:4], ids=lambda m: f"runner{m.index}")
def test_a_run_starts_when_the_runner_moves_and_ends_after_standing(member):
    block = _recording(member, (("stand", 6.0), ("run", 40.0), ("stop", 3.0), ("stand", 30.0)))
    events, detector = _events(block)
    kinds = [e.kind for e in events]
    assert kinds == [MOVING, STILL], events
    assert 5.0 <= events[0].t <= 8.0  # movement began at 6 s (the pace builds over 2 s)
    assert 46.0 <= events[1].t <= 52.0  # standing from ~49 s (the stop slows over its last second)
    assert not detector.active_


def test_the_same_events_whatever_the_notification_size():
    block = _recording(PEOPLE[0], (("stand", 4.0), ("run", 20.0), ("stop", 3.0), ("stand", 25.0)))
    for size in (7, 12, 60, len(block)):
        assert _events(block, size)[0] == _events(block, 12)[0]


@pytest.mark.parametrize("member", PEOPLE[4:], ids=lambda m: f"runner{m.index}")
@pytest.mark.parametrize("mount", ["shin", "thigh"])
def test_no_stop_and_no_double_tap_while_running_or_at_a_short_wait(member, mount):
    """A false stop or a false double tap would end the run: none in running, walking, and a
    10 s wait at a crossing (shorter than the 20 s stop)."""
    segments = (("stand", 4.0), ("run", 60.0), ("stop", 3.0), ("stand", 10.0), ("walk", 20.0), ("run", 60.0))
    events, detector = _events(_recording(member, segments, mount=mount))
    assert [e.kind for e in events] == [MOVING], events
    assert detector.active_


@pytest.mark.parametrize("member", PEOPLE[:6], ids=lambda m: f"runner{m.index}")
def test_a_double_tap_after_the_run_ends_it_at_once(member):
    segments = (("stand", 4.0), ("run", 30.0), ("stop", 3.0), ("stand", 12.0))
    events, detector = _events(_recording(member, segments, taps=(40.0, 40.3)))
    assert [e.kind for e in events] == [MOVING, DOUBLE_TAP], events
    assert events[1].t == pytest.approx(40.3, abs=0.05)
    assert not detector.active_


def test_single_taps_far_apart_are_not_a_double_tap():
    segments = (("stand", 4.0), ("run", 20.0), ("stop", 3.0), ("stand", 15.0))
    events, detector = _events(_recording(PEOPLE[1], segments, taps=(30.0, 32.0, 35.5)))
    assert [e.kind for e in events] == [MOVING]
    assert detector.active_


def test_a_gyro_bias_does_not_make_standing_look_like_moving():
    still = np.zeros((int(60 * RATE), 3))
    still[:, 2] = 1.0
    gyr = np.tile([40.0, -30.0, 25.0], (len(still), 1))  # a large, constant bias
    events, detector = _events(to_sample_block(still, gyr, RATE))
    assert events == [] and not detector.active_


def test_how_long_the_sensor_has_been_still_before_a_run():
    block = _recording(PEOPLE[0], (("stand", 6.0), ("run", 10.0)))
    _, detector = _events(_part(block, 0, int(5.0 * RATE)))
    assert 4.0 <= detector.still_for_s <= 5.0
    _, detector = _events(block)
    assert detector.still_for_s == 0.0 and detector.active_
