"""stridecue.lab.bench.references: gaitmap and VQF as speed references, the peak RSS figure.

gaitmap, gaitmap_mad and vqf are in the test extras: a missing one fails here (no skip)."""

import numpy as np
import pytest

from stridecue.lab.bench import references as br

RATE = 416.0


@pytest.fixture(scope="module")
def recording():
    from stridecue.lab.bench.analysis import virtual_recording

    block, truth, _ = virtual_recording(30.0, generate_s=30.0)
    return block, [s for s in truth if s.kind == "run"]


def test_libraries_are_installed():
    for module in ("gaitmap", "gaitmap_mad", "vqf", "pandas"):
        assert br.installed(module), f"{module} missing: pip install -e '.[test]'"
    import gaitmap
    import gaitmap_mad

    assert gaitmap.__version__ == gaitmap_mad.__version__  # gaitmap refuses to import a mixed pair


def test_virtual_rotation_is_the_recordings(recording):
    block, _ = recording
    r = br.virtual_rotation()
    assert np.allclose(r @ r.T, np.eye(3), atol=1e-9)
    g = r @ block.acc[: int(RATE)].mean(axis=0)  # the standstill at the start: gravity along the shank, 1 g
    assert g[2] == pytest.approx(1.0, abs=0.03) and np.hypot(g[0], g[1]) < 0.15  # a standing shank leans ~5 deg
    other = br.virtual_rotation(seed=8) @ block.acc[: int(RATE)].mean(axis=0)
    assert other[2] < 0.9  # another seed's sensor is rotated otherwise: the check can fail


def test_gaitmap_finds_the_shank_strides_in_the_known_frame(recording):
    block, truth = recording
    res = br.gaitmap_pipeline(block.acc, block.gyr, RATE, br.virtual_rotation(), repeats=1)
    assert res.available and res.seconds > 0
    assert abs(res.strides - len(truth)) <= 0.2 * len(truth), (res.strides, len(truth), res.note)
    assert set(res.parts) == {"frame", "madgwick", "barth_dtw", "rampp"}
    assert "finds no shank strides" in res.note  # the default max_cost 4 is too strict on a shank (cost ~4.6)
    assert res.orientation.shape == (len(block) + 1, 4)  # gaitmap includes the initial orientation


def test_gaitmap_default_threshold_finds_nothing_on_a_shank(recording):
    # what the note claims, measured: Barth DTW's default max_cost (4.0) on the virtual shank
    block, truth = recording
    res = br.gaitmap_pipeline(block.acc, block.gyr, RATE, br.virtual_rotation(), repeats=1,
                              max_cost=br.GAITMAP_DEFAULT_MAX_COST)
    assert res.strides == 0 and len(truth) > 30


def test_vqf_and_ours_give_the_known_angle():
    # 1 s still, then 45 deg/s about the vertical for 2 s: 90 deg of heading (gravity stays on z)
    n_still, n_turn = int(RATE), int(2 * RATE)
    gyr = np.zeros((n_still + n_turn + 1, 3))
    gyr[n_still + 1 :, 2] = 45.0
    acc = np.tile([0.0, 0.0, 1.0], (len(gyr), 1))
    vq = br.vqf_orientation(acc, gyr, RATE, repeats=1)
    ours = br.our_orientation(gyr, RATE, repeats=1)
    assert vq.available and ours.available

    def heading(q):
        w, x, y, z = q
        return np.degrees(np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z)))

    turned_vqf = heading(vq.orientation[-1]) - heading(vq.orientation[n_still])
    turned_ours = heading(ours.orientation[-1]) - heading(ours.orientation[n_still])
    assert turned_vqf == pytest.approx(90.0, abs=1.0)
    assert turned_ours == pytest.approx(90.0, abs=1.0)
    assert abs(turned_vqf - turned_ours) < 1.0


def test_missing_library_is_said_not_hidden(monkeypatch):
    monkeypatch.setattr(br, "installed", lambda module: module not in ("gaitmap", "vqf"))
    gm = br.gaitmap_pipeline(np.zeros((10, 3)), np.zeros((10, 3)), RATE)
    vq = br.vqf_orientation(np.zeros((10, 3)), np.zeros((10, 3)), RATE)
    assert not gm.available and gm.seconds is None and "not installed" in gm.note
    assert not vq.available and "not installed" in vq.note


def test_reference_figures_names_units_and_ratios(recording):
    block, truth = recording
    figs = {f["name"]: f for f in br.reference_figures(block, 0.5, True, rotation=br.virtual_rotation())}
    for name, unit in [("gaitmap pipeline, 1 h at 416 Hz", "s"), ("gaitmap ratio", ""),
                       ("VQF orientation, 1 h at 416 Hz", "s"), ("our orientation step, 1 h at 416 Hz", "s"),
                       ("VQF ratio", ""), ("peak RSS, 1 h offline", "MB"), ("peak RSS, live analysis", "MB")]:
        assert name in figs, name
        assert figs[name]["unit"] == unit
        assert set(figs[name]) == {"name", "value", "unit", "target", "met", "note"}
        assert figs[name]["value"] is not None and figs[name]["value"] > 0, (name, figs[name]["note"])
    scale = 3600.0 / 30.0
    gm_hour = figs["gaitmap pipeline, 1 h at 416 Hz"]["value"]
    assert figs["gaitmap ratio"]["value"] == pytest.approx(0.5 * scale / gm_hour, rel=0.01)
    vqf_hour = figs["VQF orientation, 1 h at 416 Hz"]["value"]
    ours_hour = figs["our orientation step, 1 h at 416 Hz"]["value"]
    assert figs["VQF ratio"]["value"] == pytest.approx(ours_hour / vqf_hour, rel=0.02)
    # the hour's offline analysis in a fresh interpreter: more than the interpreter, far less than a DTW matrix
    rss = figs["peak RSS, 1 h offline"]
    assert 40 < rss["value"] < 4000 and "strides" in rss["note"]
    live = figs["peak RSS, live analysis"]
    assert live["target"] == "<= 150 MB" and live["met"] is (live["value"] <= 150.0)
    assert live["note"].startswith("live:") and "1 min" in live["note"]
