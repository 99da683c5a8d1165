"""`stridecue validate --suite realmotion`: runs, reports its documented figures, and moves with the
analysis it measures (a metric made 5 deg too high, or one that withholds every wobble, shows up)."""

from __future__ import annotations

import json

import pytest

from stridecue.lab import datasets, validation, validation_motion
from stridecue.analysis import metrics
from stride_records import make_stride

HAVE_DATA = datasets.shared_data_dir().is_dir()
pytestmark = pytest.mark.skipif(not HAVE_DATA, reason="shared data not present")


def _figures(figs) -> dict:
    return {f.name: f for f in figs}


@pytest.fixture(scope="module")
def quick():
    return validation_motion.validate_realmotion(quick=True)


def _documented_names() -> dict:
    names = {}
    for seg in ("shank", "thigh"):
        names[f"truth check: virtual {seg} orientation: wobble MAE"] = ("deg", None)
        for ss in ("no standstill", "3 s standstill"):
            live = f"live {seg}, {ss}"
            names.update({f"{live}: stance F1": ("", None), f"{live}: IC MAE": ("ms", 10.0),
                          f"{live}: wobble MAE": ("deg", 1.5), f"{live}: wobble r": ("", None),
                          f"{live}: wobble worst error": ("deg", None), f"{live}: wobble withheld": ("", None)})
        alone = f"metric on known stances, {seg}"
        names.update({f"{alone}: wobble MAE": ("deg", 1.5), f"{alone}: wobble r": ("", None),
                      f"{alone}: wobble worst error": ("deg", None), f"{alone}: wobble withheld": ("", None),
                      f"metric on known stances, analysis's frame, {seg}: wobble MAE": ("deg", 1.5)})
    for label in ("metric on known stances", "live, no standstill", "live, 3 s standstill"):
        names[f"knee angle change, {label}: MAE"] = ("deg", 2.0)
    return names


def test_the_suite_is_registered_and_reports_its_documented_figures(quick):
    assert validation.SUITES["realmotion"] == ("stridecue.lab.validation_motion", "validate_realmotion")
    figs, details = quick
    got = _figures(figs)
    for name, (unit, at_most) in _documented_names().items():
        assert name in got, name
        assert got[name].group == "realmotion" and got[name].unit == unit and got[name].at_most == at_most, got[name]
    assert len(got) == len(figs)  # names are unique
    # the virtual IMU reproduces the markers' wobble (the floor under the other figures) ...
    assert got["truth check: virtual thigh orientation: wobble MAE"].value < 0.3
    assert got["truth check: virtual shank orientation: wobble MAE"].value < 0.5
    # ... and the stances are there to be found: every true stance is counted once
    stances = sum(len(r["truth_ic_t"]) for r in details["recordings"] if r["segment"] == "shin")
    for ss in ("no standstill", "3 s standstill"):
        wob = details["summary"]["live"][f"shank_standstill_{'0' if ss.startswith('no') else '3'}s"]
        assert wob["tp"] + wob["fn"] == stances
    assert max(f.value for n, f in got.items() if n.endswith("stance F1") and f.value is not None) > 0.5
    json.dumps(validation.run_validation(quick=True, suites=["realmotion"]), default=validation._json_default)


def _patched_compute(monkeypatch, change):
    original = metrics.StrideMetrics.compute

    def compute(self, windows):
        out = original(self, windows)
        for v in out:
            v["wobble_deg"] = change(v.get("wobble_deg"))
        return out

    monkeypatch.setattr(metrics.StrideMetrics, "compute", compute)


def test_a_metric_five_degrees_high_moves_the_figures_by_five_degrees(quick, monkeypatch):
    _, before = quick
    _patched_compute(monkeypatch, lambda w: None if w is None else w + 5.0)
    figs, after = validation_motion.validate_realmotion(quick=True)
    got = _figures(figs)
    for seg in ("shank", "thigh"):
        b, a = before["summary"]["metric_alone"][seg], after["summary"]["metric_alone"][seg]
        assert a["n"] == b["n"] > 0
        assert a["bias_deg"] == pytest.approx(b["bias_deg"] + 5.0, abs=0.002)
        fig = got[f"metric on known stances, {seg}: wobble MAE"]
        assert fig.value >= abs(a["bias_deg"]) - 0.002  # MAE >= |mean error|
        if abs(a["bias_deg"]) > 1.5:
            assert fig.met is False
    # the live pipeline computes wobble with the same metric: its matched strides move too
    for key, b in before["summary"]["live"].items():
        a = after["summary"]["live"][key]
        if b["n"] and a["n"] == b["n"]:
            assert a["bias_deg"] == pytest.approx(b["bias_deg"] + 5.0, abs=0.002)
    # the truth check does not go through the analysis: unchanged
    assert after["summary"]["virtual_orientation"] == before["summary"]["virtual_orientation"]


def test_withheld_wobble_is_counted_as_withheld_not_as_an_error(monkeypatch):
    _patched_compute(monkeypatch, lambda w: None)
    figs, details = validation_motion.validate_realmotion(quick=True)
    got = _figures(figs)
    for seg in ("shank", "thigh"):
        alone = details["summary"]["metric_alone"][seg]
        assert alone["n"] == 0 and alone["withheld"] > 0
        assert got[f"metric on known stances, {seg}: wobble withheld"].value == alone["withheld"]
        mae = got[f"metric on known stances, {seg}: wobble MAE"]
        assert mae.value is None and mae.met is False  # nothing measured: the target is not met
        for ss in ("no standstill", "3 s standstill"):
            live = details["summary"]["live"][f"{seg}_standstill_{'0' if ss.startswith('no') else '3'}s"]
            assert got[f"live {seg}, {ss}: wobble withheld"].value == live["tp"]
    # the knee angle needs both segments' wobble: every stance is without a value
    assert got["knee angle change, metric on known stances: MAE"].value is None


def test_live_strides_are_put_on_the_markers_clock_and_the_ramp_is_not_scored():
    """A stand-in analysis whose strides are known: times shift by the prepended standstill, strides
    in the ramp from standing are counted apart, a None wobble is withheld, the rest scored."""
    import numpy as np

    from stridecue.lab.datasets import LegTruth
    from stridecue.lab.mocap_imu import VirtualImuRecording, plausible_mountings

    rate = 416.0
    t = -4.0 + np.arange(int(6.0 * rate)) / rate  # 4 s before the pass (standstill + ramp), 2 s of it
    rec = VirtualImuRecording(trial="x", leg="left", segment="shin", mounting=plausible_mountings("shin", "left", 1)[0],
                              rate_hz=rate, t=t, acc_g=np.tile([0.0, 0.0, 1.0], (len(t), 1)), gyr_dps=np.zeros((len(t), 3)),
                              rotation=np.tile(np.eye(3), (len(t), 1, 1)), standstill_s=3.0)
    seen = {}

    def analyse_block(block, mount, leg, sensor=0):
        seen["n"] = len(block)
        # on the block's own clock (first sample = 0 s)
        return [make_stride(ic_t=1.0, to_t=1.25, wobble_deg=9.0),
                make_stride(ic_t=4.3, to_t=4.55, wobble_deg=2.5),
                make_stride(ic_t=5.05, to_t=5.3, wobble_deg=None),
                make_stride(ic_t=5.6, to_t=5.8, kind="walk", wobble_deg=1.0)]

    strides = validation_motion.live_strides(analyse_block, rec, "shin", "left")
    assert seen["n"] == len(t)
    assert [s.ic_t for s in strides] == pytest.approx([-3.0, 0.3, 1.05, 1.6])
    truth = LegTruth(leg="left", shank_angle_deg=np.zeros(200), thigh_angle_deg=np.zeros(200),
                     ic_t=np.array([0.31, 1.0, 1.6]), to_t=np.array([0.56, 1.25, 1.85]))
    tally = validation_motion.LiveTally()
    validation_motion.score_live(tally, strides, truth, np.array([2.0, 3.0, 4.0]))
    assert tally.ramp_strides == 1
    assert (tally.tp, tally.fp, tally.fn) == (2, 0, 1)  # the walking stride is not a running one ...
    assert tally.walk_labelled == 1  # ... but is counted as found and labelled walking
    assert sorted(np.round(np.abs(tally.ic) * 1000, 3)) == pytest.approx([10.0, 50.0])
    assert tally.wobble.withheld == 1 and tally.wobble.measured == [2.5] and tally.wobble.truth == [2.0]
