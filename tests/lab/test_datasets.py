"""Loaders of the real recordings in ../shared/data: shapes, units, plausible values, truth."""

from __future__ import annotations

import gzip
import shutil

import numpy as np
import pytest

from stridecue.lab import datasets
from stridecue.errors import UserError

REAL = datasets.shared_data_dir()
pytestmark = pytest.mark.skipif(not REAL.is_dir(),
                                reason="shared data not present")


# ---------------------------------------------------------------- bach2022

def test_bach2022_trials_shapes_units_and_info():
    trials = datasets.load_bach2022()
    assert len(trials) == 18
    assert [t.number for t in trials] == list(range(1, 19))
    # the data README says 8 running trials; the file and its trial table hold 7 (all >= 8 km/h)
    assert sum(t.running for t in trials) == 7
    for t in trials:
        assert t.rate_hz == pytest.approx(1000 / 7)
        assert t.acc.shape == (len(t.grf), 3)
        # at rest-ish on average the vertical axis carries gravity (the sensor sat either way up)
        assert 0.6 < abs(t.acc[:, 0].mean()) < 1.2
        assert np.abs(t.acc).max() <= 8.01  # +-8 g sensor
        assert t.grf.min() < -600  # body weight and more, negative downwards
        assert 40 <= t.mass_kg <= 120 and 150 <= t.height_cm <= 200
        assert t.sex in ("F", "M")
        assert (t.speed_kmh >= 8) == t.running
        assert not t.acc.flags.writeable


def test_bach2022_truth_contacts_consistent():
    for t in datasets.load_bach2022():
        assert len(t.ic_t) == len(t.to_t) >= 5
        assert np.all(t.to_t > t.ic_t)
        assert np.all(t.ic_t[1:] > t.to_t[:-1])  # no overlap, time order
        contact = t.to_t - t.ic_t
        stride = np.diff(t.ic_t)
        if t.running:
            assert np.all((contact > 0.15) & (contact < 0.45))
            assert np.all((stride > 0.6) & (stride < 0.9))  # ~75 strides/min, one leg
        else:
            assert np.all((contact > 0.4) & (contact < 0.9))
        # the force really is above 50 N downward inside every contact and below it just before
        for ic, to in zip(t.ic_t, t.to_t):
            i, j = int(round(ic * t.rate_hz)), int(round(to * t.rate_hz))
            assert -t.grf[i] > datasets.CONTACT_THRESHOLD_N
            assert -t.grf[i - 1] <= datasets.CONTACT_THRESHOLD_N
            assert -t.grf[j] <= datasets.CONTACT_THRESHOLD_N


def test_contact_intervals_rules():
    rate = 100.0
    loaded = np.zeros(100, bool)
    loaded[:10] = True  # under way at the start: left out
    loaded[20:50] = True
    loaded[51:60] = True  # 10 ms flight gap: bridged
    loaded[70:73] = True  # 30 ms blip: dropped
    loaded[90:] = True  # still under way at the end: left out
    ic, to = datasets.contact_intervals(loaded, rate)
    assert ic.tolist() == [0.2] and to.tolist() == [0.6]


# ---------------------------------------------------------------- adept

def test_adept_locations_rate_and_duration():
    rec = datasets.load_adept()
    assert set(rec) == {"left_ankle", "left_hip"}
    for loc, r in rec.items():
        assert r.location == loc
        assert r.rate_hz == pytest.approx(100.0, abs=1e-3)
        assert r.acc.shape == (150_000, 3) and r.t.shape == (150_000,)
        assert r.t[0] == 0 and r.duration_s == pytest.approx(1500, abs=1)
        assert np.all(np.diff(r.t) > 0)
        mag = np.linalg.norm(r.acc, axis=1)
        assert 0.9 < np.median(mag) < 2.5  # gravity plus running
        assert np.abs(r.acc).max() <= 8.5


# ---------------------------------------------------------------- grouvel2023

def test_grouvel_trials_and_imus():
    trials = datasets.load_grouvel2023()
    assert len(trials) == 11
    assert {t.participant for t in trials} == {f"P0{i}" for i in range(1, 7)}
    for t in trials:
        assert t.rate_hz == 100.0 and 100 <= t.n <= 250
        assert {"LS", "RS", "RT"} <= set(t.imus)  # P05 has no left-thigh IMU
        for code, imu in t.imus.items():
            assert imu.name == code
            assert imu.acc.shape == (t.n, 3) and imu.gyr.shape == (t.n, 3)
            # gravity in g in a sensor frame, gyro in deg/s (running swings reach hundreds)
            assert 0.5 < np.linalg.norm(imu.acc.mean(axis=0)) < 2.5
            assert 100 < np.abs(imu.gyr).max() < 2500
        assert t.imu_for("left", "shin") is t.imus["LS"]
        assert t.imu_for("right", "thigh") is t.imus["RT"]
        if "LT" not in t.imus:
            with pytest.raises(KeyError):
                t.imu_for("left", "thigh")
        # the pelvis moves 2-5 m/s along the signed direction of travel
        pelvis_x = (t.joint_centres["LHJC"][:, 0] + t.joint_centres["RHJC"][:, 0]) / 2
        speed = (pelvis_x[-1] - pelvis_x[0]) / 1000 / (t.n / t.rate_hz) * t.direction
        assert 2.0 < speed < 6.0


def test_grouvel_segment_angles_sign_convention():
    for t in datasets.load_grouvel2023():
        for leg, truth in t.legs.items():
            # thighs converge toward the knees (hips wider than knees): knee medial -> positive
            assert np.median(truth.thigh_angle_deg) > -4.0
            for ic, to in zip(truth.ic_t, truth.to_t):
                stance = (t.t >= ic) & (t.t <= to)
                assert np.all(np.abs(truth.shank_angle_deg[stance]) < 20)
                assert np.all(np.abs(truth.thigh_angle_deg[stance]) < 20)
    # the convention itself on a synthetic knee pushed medially, for both legs and directions
    hip = np.array([[0.0, 0.0, 900.0]])
    ankle = np.array([[0.0, 0.0, 100.0]])
    for direction in (1, -1):
        left_y = 1.0 if direction > 0 else -1.0
        for leg in ("left", "right"):
            medial_y = -left_y if leg == "left" else left_y
            knee = np.array([[0.0, 50.0 * medial_y, 500.0]])
            shank, thigh = datasets.segment_frontal_angles(hip, knee, ankle, leg=leg,
                                                           direction=direction)
            assert shank[0] > 5 and thigh[0] > 5


def test_grouvel_stances_plausible_and_match_force_plate():
    trials = datasets.load_grouvel2023()
    for t in trials:
        total = 0
        for truth in t.legs.values():
            assert len(truth.ic_t) == len(truth.to_t)
            contact = truth.to_t - truth.ic_t
            assert np.all((contact > 0.12) & (contact < 0.45))
            total += len(truth.ic_t)
            exc = truth.excursions("shin", t.rate_hz)
            assert exc.shape == truth.ic_t.shape and np.all((exc >= 0) & (exc < 15))
        assert total >= 2
        # never both feet on the ground in running
        l, r = t.legs["left"], t.legs["right"]
        for a, b in zip(l.ic_t, l.to_t):
            assert not np.any((r.ic_t < b - 0.02) & (r.to_t > a + 0.02))
    p01 = trials[0]
    assert p01.name == "P01_S01_Running_01"
    if p01.force_plates is None:
        pytest.fail("the c3d package is not installed (pyproject [test]: pip install -e '.[test]')")
    assert len(p01.force_plates) == 1
    fp = p01.force_plates[0]
    assert fp.leg == "right" and fp.peak_n > 1000
    marker_ic, marker_to = p01.legs["right"].ic_t, p01.legs["right"].to_t
    k = int(np.argmin(np.abs(marker_ic - fp.ic_t)))
    assert abs(marker_ic[k] - fp.ic_t) <= 0.015
    assert abs(marker_to[k] - fp.to_t) <= 0.015


# ---------------------------------------------------------------- errors

def test_missing_and_corrupt_files_name_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv(datasets.ENV_VAR, str(tmp_path))
    with pytest.raises(UserError, match="bach2022"):
        datasets.load_bach2022()
    (tmp_path / "bach2022").mkdir()
    (tmp_path / "bach2022" / "walk+run.mat").write_bytes(b"not a mat file at all")
    shutil.copy(REAL / "bach2022" / "walk+run_INFO.csv", tmp_path / "bach2022")
    with pytest.raises(UserError, match=r"walk\+run\.mat"):
        datasets.load_bach2022()
    (tmp_path / "adept").mkdir()
    with pytest.raises(UserError, match="acc_running.csv.gz"):
        datasets.load_adept()
    with gzip.open(tmp_path / "adept" / "acc_running.csv.gz", "wt") as fh:
        fh.write("loc_id,date_time,x,y,z\nleft_hip,1.0,0.1,oops,0.3\n")
    with pytest.raises(UserError, match="acc_running.csv.gz.*unparseable"):
        datasets.load_adept()
    (tmp_path / "grouvel2023").mkdir()
    with pytest.raises(UserError, match="grouvel2023"):
        datasets.load_grouvel2023()
    with gzip.open(tmp_path / "grouvel2023" / "P09_S01_Running_01.csv.gz", "wt") as fh:
        fh.write("RHJC_x,RHJC_y\n1,2\n")
    with pytest.raises(UserError, match="P09_S01_Running_01.csv.gz.*missing"):
        datasets.load_grouvel2023()

