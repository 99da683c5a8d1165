"""`stridecue import`: CSV recordings of other IMUs become ordinary run files."""

from __future__ import annotations

import gzip
import hashlib
import json

import numpy as np
import pytest

from stridecue import cli
from stridecue.lab import datasets
from stridecue.errors import UserError
from stridecue.record.csv_columns import parse_columns, parse_units
from stridecue.record.importer import import_csv
from stridecue.record.runreader import RunReader

G = 9.80665
HAVE_DATA = datasets.shared_data_dir().is_dir()


def _synthetic(n=2000, rate=200.0, seed=3):
    """A plausible shank-like recording: gravity on y, impacts, swing rotation."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / rate
    phase = 2 * np.pi * 1.4 * t
    acc = np.column_stack([0.3 * np.sin(phase), 1.0 + 2.5 * np.maximum(0, np.sin(phase)) ** 8, 0.2 * np.cos(phase)])
    acc += rng.normal(0, 0.02, acc.shape)
    gyr = np.column_stack([30 * np.sin(phase), 400 * np.sin(phase + 0.3), 20 * np.cos(phase)])
    return t, acc, gyr


def _write(path, header, columns, delimiter=",", fmt="%.6f"):
    np.savetxt(path, np.column_stack(columns), delimiter=delimiter, header=delimiter.join(header) if header else "",
               comments="", fmt=fmt)
    return path


def test_import_with_gyro_units_and_time_column(tmp_path):
    t, acc, gyr = _synthetic()
    src = _write(tmp_path / "phone.csv", ["time_ms", "ax", "ay", "az", "wx", "wy", "wz"],
                 [t * 1000, acc * G, np.radians(gyr)], delimiter=";")
    before = src.read_bytes()
    res = import_csv(src, tmp_path / "data", columns="t=time_ms,ax=ax,ay=ay,az=az,gx=wx,gy=wy,gz=wz",
                     units="acc=m/s2,gyr=rad/s,t=ms", mount="thigh", leg="right")
    assert src.read_bytes() == before  # the source is only read
    assert res.path.parent.parent == tmp_path / "data" / "runs"
    assert res.rate_hz == pytest.approx(200.0) and res.samples == 2000 and res.missing == 0
    assert res.accel_g == 4 and res.gyro_dps == 500 and res.has_gyro  # narrowest ranges that fit
    r = RunReader(res.path)
    assert r.closed
    meta = r.metadata
    assert meta["imported"]["source_file"] == str(src.resolve())
    assert meta["imported"]["columns"]["gx"] == "wx"
    assert meta["imported"]["source_sha256"] == hashlib.sha256(before).hexdigest()
    sensor = meta["sensors"][0]
    assert sensor["mount"] == "thigh" and sensor["leg"] == "right" and sensor["has_gyro"] is True
    assert sensor["accel_g"] == 4 and sensor["gyro_dps"] == 500 and sensor["rate"] == pytest.approx(200.0)
    block = r.samples(0)
    assert block.raw.dtype == np.int16
    np.testing.assert_array_equal(block.index, np.arange(2000))
    np.testing.assert_allclose(block.acc, acc, atol=4 / 32768 + 1e-6 * G)
    np.testing.assert_allclose(block.gyr, gyr, atol=500 / 32768 + 1e-5)


def test_accel_only_positions_no_header_and_negation(tmp_path):
    t, acc, _ = _synthetic(n=500, rate=100.0)
    src = _write(tmp_path / "lab.csv", None, [acc], delimiter="\t")
    res = import_csv(src, tmp_path / "data", columns="ax=1,ay=-2,az=3", rate_hz=100.0, header=False)
    r = RunReader(res.path)
    assert r.metadata["sensors"][0]["has_gyro"] is False
    assert r.metadata["imported"]["has_gyro"] is False
    assert r.metadata["imported"]["columns"]["ay"] == "-#2"
    block = r.samples(0)
    assert not block.raw[:, 3:].any()  # no gyroscope: zeros
    np.testing.assert_allclose(block.acc[:, 1], -acc[:, 1], atol=4 / 32768 + 1e-6)
    assert res.duration_s == pytest.approx(5.0)


def test_clipping_counted_and_gaps_become_missing_ranges(tmp_path):
    t, acc, _ = _synthetic(n=1000, rate=100.0)
    acc[100, 1] = 40.0  # beyond +-32 g: clipped at the widest range
    keep = np.ones(len(t), bool)
    keep[300:310] = False  # ten samples lost by the other logger
    src = _write(tmp_path / "gappy.csv", ["t", "x", "y", "z"], [t[keep], acc[keep]])
    res = import_csv(src, tmp_path / "data", columns="t=t,ax=x,ay=y,az=z", rate_hz=100.0)
    assert res.accel_g == 32 and res.clipped == 1
    r = RunReader(res.path)
    assert r.missing(0) == [(0, 300, 10)]
    assert r.samples(0).clipped.sum() == 1
    assert r.summary["missing_samples"] == 10 and r.summary["sensor_clipped"] == 1
    assert r.metadata["imported"]["accel_clipped_values"] == 1


def test_never_overwrites(tmp_path):
    t, acc, _ = _synthetic(n=300, rate=100.0)
    src = _write(tmp_path / "a.csv", ["ax", "ay", "az"], [acc])
    first = import_csv(src, tmp_path / "data", columns="ax=ax,ay=ay,az=az", rate_hz=100, start="2026-01-02T03:04:05Z")
    digest = hashlib.sha256(first.path.read_bytes()).hexdigest()
    second = import_csv(src, tmp_path / "data", columns="ax=ax,ay=ay,az=az", rate_hz=100, start="2026-01-02T03:04:05Z")
    assert second.path != first.path and second.path.exists()
    assert hashlib.sha256(first.path.read_bytes()).hexdigest() == digest
    assert first.path.name.startswith("2026-01-02T030405Z-import-a")


@pytest.mark.parametrize("columns, units, kwargs, message", [
    ("ax=AccX,ay=AccY,az=AccQ", "", {}, r"no column 'AccQ' for az"),
    ("ax=accx,ay=AccY,az=AccZ", "", {}, r"did you mean 'AccX'"),
    ("ax=AccX,ay=AccY", "", {}, r"no column for az"),
    ("ax=AccX,ay=AccY,az=AccZ,gx=GyrX", "", {}, r"gyroscope incomplete"),
    ("ax=AccX,ay=AccY,az=AccZ,q=GyrX", "", {}, r"unknown field 'q'"),
    ("ax=AccX,ay=AccX,az=AccZ", "", {}, r"ax and ay both read column"),
    ("ax=AccX,ay=AccY,az=9", "", {}, r"column 9 for az is out of range"),
    ("ax=AccX,ay=AccY,az=AccZ", "acc=furlongs", {}, r"unknown acc unit 'furlongs'"),
    ("ax=AccX,ay=AccY,az=AccZ", "acc=m/s2", {}, r"looks like g"),
    ("ax=AccX,ay=AccY,az=AccZ,gx=GyrX,gy=GyrY,gz=GyrZ", "gyr=rad/s", {}, r"looks like deg/s"),
    ("t=Time,ax=AccX,ay=AccY,az=AccZ", "", {"rate_hz": 50.0}, r"says 100 Hz but --rate is 50"),
    ("ax=AccX,ay=AccY,az=AccZ", "", {"rate_hz": None}, r"--rate is required"),
    ("ax=AccX,ay=AccY,az=AccZ", "", {"rate_hz": 0.0}, r"not a plausible sampling rate"),
])
def test_bad_columns_and_units_are_named(tmp_path, columns, units, kwargs, message):
    t, acc, gyr = _synthetic(n=400, rate=100.0)
    src = _write(tmp_path / "s.csv", ["Time", "AccX", "AccY", "AccZ", "GyrX", "GyrY", "GyrZ"], [t, acc, gyr])
    kwargs = {"rate_hz": 100.0, **kwargs}
    with pytest.raises(UserError, match=message):
        import_csv(src, tmp_path / "data", columns=columns, units=units, **kwargs)
    assert not (tmp_path / "data" / "runs").exists() or not list((tmp_path / "data" / "runs").rglob("*.scrun"))


def test_wrong_accel_units_detected(tmp_path):
    t, acc, _ = _synthetic(n=400, rate=100.0)
    src = _write(tmp_path / "ms2.csv", ["ax", "ay", "az"], [acc * G])
    with pytest.raises(UserError, match=r"looks like m/s\^2; give --units acc=m/s2"):
        import_csv(src, tmp_path / "data", columns="ax=ax,ay=ay,az=az", rate_hz=100)
    res = import_csv(src, tmp_path / "data", columns="ax=ax,ay=ay,az=az", rate_hz=100, check_units=False)
    assert res.accel_g == 32  # taken at face value when asked


def test_unparseable_cells_and_time_order_are_named(tmp_path):
    src = tmp_path / "bad.csv"
    src.write_text("t,ax,ay,az\n0.00,0,1,0\n0.01,0,1,0\n0.02,0,oops,0\n")
    with pytest.raises(UserError, match=r"row 4, column 'ay': 'oops' is not a number"):
        import_csv(src, tmp_path / "data", columns="t=t,ax=ax,ay=ay,az=az")
    src.write_text("t,ax,ay,az\n0.00,0,1,0\n0.01,0,1,0\n0.02,0,,0\n")
    with pytest.raises(UserError, match=r"row 4, column 'ay': an empty cell"):
        import_csv(src, tmp_path / "data", columns="t=t,ax=ax,ay=ay,az=az")
    src.write_text("t,ax,ay,az\n0.00,0,1,0\n0.02,0,1,0\n0.01,0,1,0\n")
    with pytest.raises(UserError, match=r"time does not increase"):
        import_csv(src, tmp_path / "data", columns="t=t,ax=ax,ay=ay,az=az")
    src.write_text("t,ax,ay,az\n0.00,0,1,0\n0.01,0,1\n")
    with pytest.raises(UserError, match=r"row 3 has 3 fields"):
        import_csv(src, tmp_path / "data", columns="t=t,ax=ax,ay=ay,az=az")
    src.write_text("")
    with pytest.raises(UserError, match=r"no data rows"):
        import_csv(src, tmp_path / "data", columns="ax=1,ay=2,az=3", rate_hz=100)


def test_parsers():
    refs = parse_columns(" t = time , ax=-A ,ay=B,az=3")
    assert refs["ax"].negate and refs["ax"].column == "A" and refs["az"].column == "3"
    assert parse_units("accel=m/s^2,gyro=rads,time=ms") == {"acc": "m/s^2", "gyr": "rads", "t": "ms"}
    with pytest.raises(UserError, match="not FIELD=COLUMN"):
        parse_columns("ax")


def test_cli_one_line_errors_and_success(tmp_path, capsys):
    rc = cli.main(["--data-dir", str(tmp_path / "d"), "import", str(tmp_path / "none.csv"),
                   "--columns", "ax=1,ay=2,az=3", "--rate", "100"])
    err = capsys.readouterr().err
    assert rc != 0 and err.count("\n") == 1 and "none.csv: no such file" in err
    t, acc, _ = _synthetic(n=300, rate=100.0)
    src = _write(tmp_path / "ok.csv.gz", ["ax", "ay", "az"], [acc])  # numpy writes .gz compressed
    with gzip.open(src, "rt") as fh:
        assert fh.readline().startswith("ax")
    rc = cli.main(["--data-dir", str(tmp_path / "d"), "import", str(src), "--columns", "ax=ax,ay=ay,az=az",
                   "--rate", "100", "--leg", "right"])
    out = capsys.readouterr().out
    assert rc == 0 and "imported 300 samples" in out and "no gyroscope" in out


# ------------------------------------------------- real recordings, then the normal run tools


def _bach_csv(tmp_path, trial):
    return _write(tmp_path / f"bach{trial.number}.csv", ["time", "AccX", "AccY", "AccZ"], [trial.t, trial.acc],
                  fmt="%.5f")


@pytest.mark.skipif(not HAVE_DATA, reason="shared data not present")
def test_import_bach2022_and_grouvel_like(tmp_path):
    trial = datasets.load_bach2022()[0]
    res = import_csv(_bach_csv(tmp_path, trial), tmp_path / "data", columns="t=time,ax=AccX,ay=AccY,az=AccZ")
    assert res.rate_hz == pytest.approx(1000 / 7, rel=1e-4) and res.accel_g == 8 and not res.has_gyro
    block = RunReader(res.path).samples(0)
    # the +-8 g sensor saturated at landing (it stops at 7.97 g): those samples are flagged clipped
    pinned = np.any(np.abs(trial.acc) >= 7.96875, axis=1)
    assert pinned.sum() > 5
    np.testing.assert_array_equal(block.clipped, pinned)
    np.testing.assert_allclose(block.acc[~pinned], trial.acc[~pinned], atol=8 / 32768 + 1e-5)
    # a free peak that merely reaches a round value once is not taken for saturation
    from stridecue.record.importer import saturated_samples
    free = np.array([[0.0, 1.0, 0.0], [0.0, 3.99, 0.0], [0.0, 1.0, 0.0]])
    assert not saturated_samples(free).any()
    assert saturated_samples(free, 4.0).sum() == 1
    g = datasets.load_grouvel2023()[0]
    imu = g.imus["RT"]
    src = _write(tmp_path / "grouvel.csv", ["ms", "ax", "ay", "az", "gx", "gy", "gz"],
                 [g.t * 1000, imu.acc * G, np.radians(imu.gyr)])
    # the IMU columns sit on the markers' 100 Hz rows but hold a 4.7-7 times longer capture: refused
    # (their angular rate is far too fast for a leg at 100 Hz), and nothing is written
    with pytest.raises(UserError, match=r"angular rate has 5% of its power above \d+ Hz.*further apart than 1/100 s"):
        import_csv(src, tmp_path / "refused", columns="t=ms,ax=ax,ay=ay,az=az,gx=gx,gy=gy,gz=gz",
                   units="t=ms,acc=m/s2,gyr=rad/s", mount="thigh", leg="right")
    assert not (tmp_path / "refused").exists()
    # the values themselves import faithfully when the check is skipped on purpose
    res = import_csv(src, tmp_path / "data", columns="t=ms,ax=ax,ay=ay,az=az,gx=gx,gy=gy,gz=gz",
                     units="t=ms,acc=m/s2,gyr=rad/s", mount="thigh", leg="right", check_units=False)
    block = RunReader(res.path).samples(0)
    np.testing.assert_allclose(block.gyr, imu.gyr, atol=res.gyro_dps / 32768 + 1e-3)


@pytest.mark.skipif(not HAVE_DATA, reason="shared data not present")
def test_summary_of_an_imported_bach2022_run(tmp_path, capsys):
    trial = next(t for t in datasets.load_bach2022() if t.running and t.duration_s > 20)
    src = _bach_csv(tmp_path, trial)
    base = tmp_path / "data"
    assert cli.main(["--data-dir", str(base), "import", str(src), "--columns", "t=time,ax=AccX,ay=AccY,az=AccZ",
                     "--start", "2026-01-01T08:00:00Z"]) == 0
    capsys.readouterr()
    assert cli.main(["--data-dir", str(base), "summary", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    truth_strides = len(trial.ic_t)
    assert summary["running_strides"] >= 0.8 * truth_strides
    assert 140 <= summary["cadence_spm"] <= 200


def test_imported_lab_imu_with_gyro_summarises_like_a_run(tmp_path, capsys):
    """A 200 Hz lab IMU (m/s^2, rad/s, ms time stamps, thigh) exported as CSV, imported, summarised."""
    from stridecue.sim import RunnerSettings, VirtualRunner

    runner = VirtualRunner(RunnerSettings(speed_mps=3.5), seed=11)
    stream = runner.sensor(leg="right", mount="thigh", rotation="random", rate_hz=200.0)
    chunk = stream.read(200 * 45)
    src = _write(tmp_path / "lab.csv", ["time_ms", "ax", "ay", "az", "gx", "gy", "gz"],
                 [np.asarray(chunk.t) * 1000, np.asarray(chunk.acc) * G, np.radians(chunk.gyr)])
    base = tmp_path / "data"
    assert cli.main(["--data-dir", str(base), "import", str(src), "--columns",
                     "t=time_ms,ax=ax,ay=ay,az=az,gx=gx,gy=gy,gz=gz", "--units", "t=ms,acc=m/s2,gyr=rad/s",
                     "--mount", "thigh", "--leg", "right", "--start", "2026-02-03T07:00:00Z"]) == 0
    capsys.readouterr()
    assert cli.main(["--data-dir", str(base), "summary", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    truth = [s for s in stream.truth if s.kind == "run"]
    assert abs(summary["running_strides"] - len(truth)) <= max(3, 0.1 * len(truth))
    assert summary["cadence_spm"] == pytest.approx(np.median([s.cadence_spm for s in truth if s.cadence_spm]), rel=0.05)


def test_rate_from_rounded_time_stamps_is_exact_enough(tmp_path):
    """Time stamps written to 10 us alternate between 2.40 and 2.41 ms at 416 Hz: a median interval
    would say 416.7 Hz and tear a hole every 600 samples; the mean of the regular intervals does not."""
    n = 416 * 120
    t = np.arange(n) / 416.0
    keep = np.ones(n, bool)
    keep[30000:30005] = False  # one real gap of 5 samples
    acc = np.tile([0.0, 0.0, 1.0], (n, 1))
    src = _write(tmp_path / "rounded.csv", ["t", "ax", "ay", "az"], [t[keep], acc[keep]], fmt="%.5f")
    res = import_csv(src, tmp_path / "data", columns="t=t,ax=ax,ay=ay,az=az", check_units=False)
    assert res.rate_hz == pytest.approx(416.0, rel=2e-6)
    assert res.missing == 5
    assert RunReader(res.path).missing(0) == [(0, 30000, 5)]


def _cli(tmp_path, data, *args):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "stridecue.cli", "--data-dir", str(data), *args],
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL, cwd=tmp_path)


def _per_leg(summary):
    """What must survive a CSV round trip: strides, wobble per leg, thigh and knee lines."""
    asym = summary.get("asymmetry") or {}
    thigh, knee = summary.get("thigh") or {}, summary.get("knee") or {}
    return {
        "sensors": [(s["slot"], s["mount"], s["leg"]) for s in summary["sensors"]],
        "running_strides": summary["running_strides"],
        "strides": (asym.get("strides") or {}),
        "wobble": {k: round(v, 6) for k, v in (asym.get("wobble_deg") or {}).items() if k in ("left", "right")},
        "wobble_median": round(summary["wobble_deg"]["median"], 6),
        "thigh": {k: round(v, 6) if isinstance(v, float) else v for k, v in thigh.items()},
        "knee": {k: round(v, 6) if isinstance(v, float) else v for k, v in knee.items()},
    }


@pytest.mark.parametrize("two", [("--leg", "both"), ("--mount", "thigh+shin")], ids=["both legs", "thigh+shin"])
def test_our_own_two_sensor_csv_export_imports_as_one_two_sensor_run(tmp_path, two):
    """Issue 16: `export --format csv` of a two-sensor run holds both sensors' rows (and how each
    was worn); importing it rebuilds ONE run of both sensors, whose strides, wobble per leg and
    knee lines are the original's.  --sensor N still imports one sensor."""
    first, again = tmp_path / "data", tmp_path / "again"
    out = _cli(tmp_path, first, "run", "--simulate", *two, "--duration", "30", "--speed", "max", "--quiet",
               "--no-cue-track")
    assert out.returncode == 0, out.stderr
    (run,) = (first / "runs").rglob("*.scrun")
    assert _cli(tmp_path, first, "export", str(run), "--format", "csv", "--out", str(tmp_path)).returncode == 0
    (samples,) = tmp_path.glob("*-samples.csv")
    both = _cli(tmp_path, again, "import", str(samples))  # our own export: no --columns needed
    assert both.returncode == 0, both.stderr
    assert "2 sensors" in both.stdout, both.stdout
    (imported,) = (again / "runs").rglob("*.scrun")
    original, copy = RunReader(run), RunReader(imported)
    assert copy.sensors == [0, 1]
    for slot in (0, 1):  # the same samples at the same sample counters (t_s = index / rate)
        a, b = original.samples(slot), copy.samples(slot)
        assert np.array_equal(a.index, b.index) and b.rate == a.rate
        assert np.allclose(a.acc, b.acc, atol=1e-9) and np.allclose(a.gyr, b.gyr, atol=1e-9)
    summaries = []
    for data in (first, again):
        js = _cli(tmp_path, data, "summary", "--json")
        assert js.returncode == 0, js.stderr
        summaries.append(_per_leg(json.loads(js.stdout)))
    assert summaries[1] == summaries[0]
    assert summaries[0]["running_strides"] > 20
    assert (summaries[0]["knee"] and summaries[0]["thigh"]) if two[0] == "--mount" else summaries[0]["wobble"].keys() == {"left", "right"}
    one = _cli(tmp_path, tmp_path / "one", "import", str(samples), "--sensor", "1")
    assert one.returncode == 0, one.stderr
    (single,) = (tmp_path / "one" / "runs").rglob("*.scrun")
    meta = RunReader(single).metadata["sensors"]
    assert [(s["mount"], s["leg"]) for s in meta] == [(original.metadata["sensors"][1]["mount"],
                                                       original.metadata["sensors"][1]["leg"])]
    assert len(RunReader(single).samples(0).index) == len(original.samples(1).index)


def _two_sensor_csv(path, rates=(200.0, 200.0), sensors=(0, 1), worn=None, seconds=12.0, offset_s=0.05):
    """A sensor column and, with worn, mount and leg columns: the rows of each sensor in turn."""
    rows = []
    for k, (number, rate) in enumerate(zip(sensors, rates)):
        t, acc, gyr = _synthetic(n=int(seconds * rate), rate=rate, seed=4 + k)
        extra = f",{worn[k][0]},{worn[k][1]}" if worn else ""
        rows += [f"{number},{a:.6f},{b[0]:.5f},{b[1]:.5f},{b[2]:.5f},{c[0]:.3f},{c[1]:.3f},{c[2]:.3f}{extra}"
                 for a, b, c in zip(t + offset_s * k, acc, gyr)]
    header = "sensor,t,ax,ay,az,gx,gy,gz" + (",mount,leg" if worn else "")
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


COLUMNS = "t=t,ax=ax,ay=ay,az=az,gx=gx,gy=gy,gz=gz"


def test_two_sensors_without_mount_and_leg_columns_take_them_from_the_options(tmp_path):
    """An older export (or another logger) has no mount/leg columns: --leg both and --mount
    thigh+shin say how the two were worn, in the order `run` uses; without them: one line."""
    src = _two_sensor_csv(tmp_path / "two.csv")
    with pytest.raises(UserError, match="--leg both.*--mount thigh\\+shin.*--sensor N"):
        import_csv(src, tmp_path / "data", columns=COLUMNS)
    assert not (tmp_path / "data").exists()
    res = import_csv(src, tmp_path / "data", columns=COLUMNS, mount="thigh+shin", leg="right")
    meta = RunReader(res.path).metadata["sensors"]
    assert [(s["slot"], s["mount"], s["leg"]) for s in meta] == [(0, "shin", "right"), (1, "thigh", "right")]
    assert res.sensors == ("right shin", "right thigh") and res.samples == 2 * 2400
    r = RunReader(res.path)
    assert r.samples(1).index[0] - r.samples(0).index[0] == 10  # 50 ms later at 200 Hz: the offset is kept
    res = import_csv(src, tmp_path / "data", columns=COLUMNS, leg="both")
    assert [(s["mount"], s["leg"]) for s in RunReader(res.path).metadata["sensors"]] == [("shin", "left"), ("shin", "right")]


def test_mount_and_leg_columns_win_and_a_contradicting_option_is_refused(tmp_path):
    src = _two_sensor_csv(tmp_path / "worn.csv", worn=[("thigh", "left"), ("shin", "left")])
    res = import_csv(src, tmp_path / "data", columns=COLUMNS)
    assert [(s["mount"], s["leg"], s["source_sensor"]) for s in RunReader(res.path).metadata["sensors"]] == [
        ("thigh", "left", 0), ("shin", "left", 1)]
    with pytest.raises(UserError, match="sensor 0 was worn with leg left, --leg says right"):
        import_csv(src, tmp_path / "data", columns=COLUMNS, leg="right")
    one = import_csv(src, tmp_path / "data", columns=COLUMNS, sensor=0)
    assert [(s["mount"], s["leg"]) for s in RunReader(one.path).metadata["sensors"]] == [("thigh", "left")]
    with pytest.raises(UserError, match="thigh\\+shin is for two sensors"):
        import_csv(src, tmp_path / "data", columns=COLUMNS, sensor=0, mount="thigh+shin")


def test_two_sensors_half_a_sample_apart_keep_every_row(tmp_path):
    """Counters from one origin rounded row by row would put two rows of the later sensor on one
    counter (k + 0.5 rounds to even); each sensor's offset is rounded once instead."""
    src = _two_sensor_csv(tmp_path / "half.csv", offset_s=0.5 / 200.0)
    res = import_csv(src, tmp_path / "data", columns=COLUMNS, leg="both")
    r = RunReader(res.path)
    assert res.missing == 0 and [len(r.samples(k).index) for k in (0, 1)] == [2400, 2400]
    assert np.all(np.diff(r.samples(1).index) == 1)


@pytest.mark.parametrize("kind, words", [("three sensors", "holds 3 sensors"), ("two rates", "different rates")])
def test_files_that_cannot_be_one_run_are_refused_writing_nothing(tmp_path, kind, words):
    if kind == "three sensors":
        src = _two_sensor_csv(tmp_path / "x.csv", rates=(200.0,) * 3, sensors=(0, 1, 2))
    else:
        src = _two_sensor_csv(tmp_path / "x.csv", rates=(200.0, 100.0))
    with pytest.raises(UserError, match=words) as err:
        import_csv(src, tmp_path / "data", columns=COLUMNS, leg="both")
    assert "\n" not in str(err.value)
    assert not (tmp_path / "data").exists()


def test_a_name_taken_between_choosing_and_creating_is_not_a_failure(tmp_path, monkeypatch):
    """Another run created in the same second under the name the import chose: the import takes
    the next free name and leaves the other file as it is (record/runfile.open_new_run)."""
    from stridecue.record import runfile

    real, taken = runfile.run_file_path, []

    def racing(data_dir, start_time, name):
        path = real(data_dir, start_time, name)
        if not taken:
            path.write_bytes(b"another run")
            taken.append(path)
        return path

    monkeypatch.setattr(runfile, "run_file_path", racing)
    t, acc, gyr = _synthetic()
    src = _write(tmp_path / "lab.csv", ["t", "ax", "ay", "az", "gx", "gy", "gz"], [t, acc, gyr])
    res = import_csv(src, tmp_path / "data", columns=COLUMNS, start="2026-02-03T07:00:00Z")
    assert taken and taken[0].read_bytes() == b"another run" and res.path != taken[0]
    assert RunReader(res.path).closed
