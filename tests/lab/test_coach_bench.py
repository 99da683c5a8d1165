"""The cue latency benchmark measures the live path stride by stride (figures themselves: `stridecue bench`)."""


import numpy as np
import pytest

from stridecue.lab.bench import coach as coach_bench



def test_every_running_stride_is_timed_from_arrival_to_decision_and_hand_off():
    packets, status = coach_bench.record_notifications(30.0)
    assert len(packets) == pytest.approx(30 * 416 / 12, rel=0.05)
    r = coach_bench.host_path(packets, status, dashboard=True)
    assert r["running_strides"] >= 25
    assert len(r["decision_ms"]) == r["running_strides"] == len(r["handoff_ms"])
    assert np.all(r["handoff_ms"] >= r["decision_ms"]) and np.all(r["decision_ms"] > 0)
    assert np.all(r["policy_ms"] <= r["decision_ms"])
    assert r["dashboard_hook_us"] is not None


class _Handle:
    def __init__(self, asked):
        self.asked, self.started, self.output_latency_s = asked, asked + 0.004, 0.012


class _Player:
    rate_hz = 22050
    output_latency_s = 0.012

    def play(self, pcm):
        import time

        return _Handle(time.perf_counter())


def test_audio_start_and_the_outputs_own_latency_are_reported_apart():
    a = coach_bench.audio_start(_Player(), clips=3, spacing_s=0.0)
    assert np.allclose(a["start_ms"], 4.0) and a["output_latency_ms"] == pytest.approx(12.0)
