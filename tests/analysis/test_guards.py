"""Guards (issue 14, point 4): rates and recordings the analysis cannot use are refused with one
line naming the problem; runs that are not runs are not reported as runs; accelerometer-only
figures are marked approximate."""

from __future__ import annotations

import csv
import dataclasses
import re
import json

import numpy as np
import pytest

from stridecue import cli
from stridecue.lab import datasets
from stridecue.analysis.guards import check_rate, effective_rate
from stridecue.analysis.run import analyse_block, block_from_arrays
from stridecue.analysis.streaming import StreamingStrideAnalyzer
from stridecue.errors import UserError
from stridecue.sim import RunnerSettings, VirtualRunner

G = 9.80665
HAVE_DATA = datasets.shared_data_dir().is_dir()


def _sim(seconds, rate=416.0, mount="shin", leg="left", seed=11):
    runner = VirtualRunner(RunnerSettings(speed_mps=3.5), seed=seed)
    c = runner.sensor(leg=leg, mount=mount, rotation="random", rate_hz=rate).read(int(rate * seconds))
    return np.asarray(c.t), np.asarray(c.acc), np.asarray(c.gyr)


def _csv(path, t, acc, gyr=None):
    cols, head = [acc], ["ax", "ay", "az"]
    if t is not None:
        cols.insert(0, t)
        head.insert(0, "t")
    if gyr is not None:
        cols.append(gyr)
        head += ["gx", "gy", "gz"]
    np.savetxt(path, np.column_stack(cols), delimiter=",", header=",".join(head), comments="", fmt="%.6f")
    return path


def _cli_refuses(capsys, argv, *patterns):
    """The command exits non-zero with exactly one line on stderr that matches every pattern."""
    code = cli.main(argv)
    err = capsys.readouterr().err
    assert code != 0, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for p in patterns:
        assert re.search(p, lines[0]), (p, lines[0])
    return lines[0]


# -- rates ------------------------------------------------------------------------------------

@pytest.mark.parametrize("rate, gyro, ok", [
    (100.0, True, True), (99.0, True, False), (28.0, True, False), (416.0, True, True),
    (50.0, False, True), (40.0, False, False), (0.0, True, False), (float("inf"), False, False),
    (20000.0, True, False), (float("nan"), True, False),
])
def test_rate_limits(rate, gyro, ok):
    if ok:
        check_rate(rate, gyro)
        return
    with pytest.raises(UserError) as e:
        check_rate(rate, gyro, "sensor 0")
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("sensor 0: ")
    assert ("not plausible" in msg) if not (0 < rate <= 10000) else (f"{rate:g} Hz is too slow" in msg)


def test_the_analyser_refuses_gyro_below_100_hz():
    """One path: the streaming analyser (live, replay and import all feed it) refuses a gyro
    stream below 100 Hz and accepts the same motion at 100 Hz."""
    t, acc, gyr = _sim(20, rate=100.0)
    analyse_block(block_from_arrays(100.0, acc, gyr), "shin", "left")  # accepted
    t, acc, gyr = _sim(20, rate=50.0)
    with pytest.raises(UserError, match=r"^sensor 0: 50 Hz is too slow for gyro-based stride analysis \(needs at least 100 Hz"):
        analyse_block(block_from_arrays(50.0, acc, gyr), "shin", "left")
    # the same samples without the gyro go down the accelerometer path, which needs 50 Hz
    analyse_block(block_from_arrays(50.0, acc), "shin", "left")
    with pytest.raises(UserError, match=r"40 Hz is too slow for stride analysis from the accelerometer"):
        analyse_block(block_from_arrays(40.0, acc[::5][: len(acc) * 4 // 5]), "shin", "left")


def _stairs(x, hold):
    k = np.repeat(np.arange(0, len(x), hold), hold)[: len(x)]
    return x[k]


def test_effective_rate_of_stair_steps():
    t, acc, gyr = _sim(12, rate=416.0)
    rows = np.column_stack([acc, gyr])
    eff, runs = effective_rate(rows, 416.0)
    assert runs == pytest.approx(1.0, abs=0.01)  # the virtual sensor's noise changes every sample
    eff, runs = effective_rate(_stairs(rows, 6), 416.0)
    assert runs == pytest.approx(6.0, rel=0.02) and eff == pytest.approx(416.0 / 6, rel=0.02)
    # standing still on a coarse sensor (the same reading again and again) is not judged
    still = np.tile([0.0, 0.0, 1.0, 0.0, 0.0, 0.0], (4160, 1))
    assert effective_rate(still, 416.0) is None


def test_the_analyser_refuses_stair_steps_below_100_hz_effective():
    t, acc, gyr = _sim(20, rate=416.0)
    block = block_from_arrays(416.0, _stairs(acc, 6), _stairs(gyr, 6))
    with pytest.raises(UserError, match=r"each value repeats 6\.0 times .* effective rate of 69\.\d Hz: too slow for gyro-based"):
        analyse_block(block, "shin", "left")
    # fed in live-sized chunks, the streaming analyser comes to the same verdict
    a = StreamingStrideAnalyzer(mount="shin", leg="left", rate_hz=416.0)
    with pytest.raises(UserError, match=r"effective rate of 69\.\d Hz"):
        for s in range(0, len(block), 13):
            a.push(dataclasses.replace(block, index=block.index[s:s + 13], raw=block.raw[s:s + 13]))


def test_import_refuses_stair_steps_and_writes_nothing(tmp_path, capsys):
    t, acc, gyr = _sim(12, rate=200.0)
    src = _csv(tmp_path / "stairs.csv", None, _stairs(acc, 6), _stairs(gyr, 6))
    base = tmp_path / "data"
    _cli_refuses(capsys, ["--data-dir", str(base), "import", str(src), "--columns", "ax=ax,ay=ay,az=az,gx=gx,gy=gy,gz=gz",
                          "--rate", "200"], r"repeats 6\.0 times", r"effective rate of 33\.\d Hz", r"needs at least 100 Hz")
    assert not base.exists()


def test_import_warns_of_mild_stair_steps_and_the_summary_repeats_it(tmp_path, capsys):
    t, acc, gyr = _sim(30, rate=416.0)
    src = _csv(tmp_path / "doubled.csv", None, _stairs(acc, 2), _stairs(gyr, 2))
    base = tmp_path / "data"
    assert cli.main(["--data-dir", str(base), "import", str(src), "--columns", "ax=ax,ay=ay,az=az,gx=gx,gy=gy,gz=gz",
                     "--rate", "416"]) == 0
    err = capsys.readouterr().err
    assert "effective rate of 208" in err and err.startswith("warning: ")
    assert cli.main(["--data-dir", str(base), "summary", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert any("effective rate of 208" in w for w in s["warnings"])


@pytest.mark.skipif(not HAVE_DATA, reason="shared data not present")
def test_import_of_the_grouvel_imu_columns_is_refused(tmp_path, capsys):
    """The careless import: grouvel2023's shank IMU columns, with their own time column (23 Hz in
    effect) or declared 100 Hz (the markers' rate): both refused, one line, nothing written."""
    src = datasets.shared_data_dir() / "grouvel2023" / "P02_S01_Running_01.csv.gz"
    cols = "ax=P6_RS_acc_x,ay=P6_RS_acc_y,az=P6_RS_acc_z,gx=P6_RS_gyro_x,gy=P6_RS_gyro_y,gz=P6_RS_gyro_z"
    base = tmp_path / "data"
    _cli_refuses(capsys, ["--data-dir", str(base), "import", str(src), "--columns", "t=x_Time," + cols],
                 r"23\.2\d? Hz is too slow for gyro-based stride analysis", r"at least 100 Hz")
    _cli_refuses(capsys, ["--data-dir", str(base), "import", str(src), "--columns", cols, "--rate", "100", "--mount", "thigh"],
                 r"at 100 Hz the angular rate has 5% of its power above \d+ Hz", r"further apart than 1/100 s")
    assert not base.exists()


def test_a_real_rate_gyro_is_not_refused_for_its_band():
    """The band check does not refuse the virtual runner at 100-416 Hz, thigh or shin."""
    from stridecue.analysis.guards import GYRO_BAND_MAX_HZ, gyro_band_hz

    for mount in ("shin", "thigh"):
        for rate in (100.0, 416.0):
            t, acc, gyr = _sim(20, rate=rate, mount=mount)
            assert gyro_band_hz(gyr, rate) < GYRO_BAND_MAX_HZ / 2
    # and a 7-times-too-fast replay of the same motion (rows 7 apart labelled 100 Hz, as the longest
    # grouvel captures) is caught; the virtual shin is smoother than a real one (95 % below ~3 Hz),
    # so 5 times is borderline for it, while the real grouvel columns are caught at 21-47 Hz
    t, acc, gyr = _sim(80, rate=100.0)
    assert gyro_band_hz(gyr[::7], 100.0) > GYRO_BAND_MAX_HZ


# -- runs that are not runs ----------------------------------------------------------------

def test_a_long_recording_without_a_stride_says_so(tmp_path, capsys):
    rng = np.random.default_rng(1)
    n = 100 * 300
    acc = np.column_stack([rng.normal(0, 0.005, n), rng.normal(0, 0.005, n), 1 + rng.normal(0, 0.005, n)])
    src = _csv(tmp_path / "still.csv", None, acc, rng.normal(0, 0.5, (n, 3)))
    base = tmp_path / "data"
    assert cli.main(["--data-dir", str(base), "import", str(src), "--columns", "ax=ax,ay=ay,az=az,gx=gx,gy=gy,gz=gz",
                     "--rate", "100"]) == 0
    capsys.readouterr()
    assert cli.main(["--data-dir", str(base), "summary"]) == 0
    text = capsys.readouterr().out
    assert "warning        no stride found in 5:00 of recording" in text
    assert cli.main(["--data-dir", str(base), "summary", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["running_strides"] == 0 and s["warnings"][0].startswith("no stride found in 5:00")


def test_two_seconds_of_thigh_is_not_reported_as_a_run(tmp_path, capsys):
    t, acc, gyr = _sim(12, rate=200.0, mount="thigh")
    src = _csv(tmp_path / "thigh2s.csv", t[-400:], acc[-400:], gyr[-400:])
    base = tmp_path / "data"
    assert cli.main(["--data-dir", str(base), "import", str(src), "--columns", "t=t,ax=ax,ay=ay,az=az,gx=gx,gy=gy,gz=gz",
                     "--mount", "thigh"]) == 0
    capsys.readouterr()
    assert cli.main(["--data-dir", str(base), "summary", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["unconfirmed_running_strides"] >= 1  # the analysis did see running-like strides ...
    assert s["running_strides"] == 0  # ... but they are not a run
    assert s["cadence_spm"] is None and s["wobble_deg"]["median"] is None and s["contact_time_ms"] is None
    assert any(w.startswith("not a run: only") for w in s["warnings"])
    assert cli.main(["--data-dir", str(base), "summary"]) == 0
    assert "warning        not a run: only" in capsys.readouterr().out


# -- accelerometer-only figures are approximate ------------------------------------------------

def _accel_only_run(tmp_path, capsys):
    t, acc, gyr = _sim(60, rate=416.0)
    src = _csv(tmp_path / "acc.csv", t, acc)
    base = tmp_path / "data"
    assert cli.main(["--data-dir", str(base), "import", str(src), "--columns", "t=t,ax=ax,ay=ay,az=az",
                     "--start", "2026-03-01T07:00:00Z"]) == 0
    capsys.readouterr()
    return base


def test_accelerometer_only_figures_are_marked_approximate(tmp_path, capsys):
    base = _accel_only_run(tmp_path, capsys)
    assert cli.main(["--data-dir", str(base), "summary", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["running_strides"] >= 6 and s["contact_time_ms"] is not None
    assert "toe-off found ~80-100 ms late" in s["approximate"]["contact_time_ms"]
    assert cli.main(["--data-dir", str(base), "summary"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.strip().startswith("contact time"))
    assert "(approximate: accelerometer only" in line
    out = tmp_path / "out"
    assert cli.main(["--data-dir", str(base), "export", "1", "--format", "csv", "--out", str(out)]) == 0
    with open(next(out.glob("*-strides.csv")), newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and all(r["approximate"] == "to_t contact_time_s" for r in rows)


def test_gyro_figures_are_not_marked_approximate(tmp_path, capsys):
    t, acc, gyr = _sim(60, rate=416.0)
    src = _csv(tmp_path / "gyro.csv", t, acc, gyr)
    base = tmp_path / "data"
    assert cli.main(["--data-dir", str(base), "import", str(src), "--columns", "t=t,ax=ax,ay=ay,az=az,gx=gx,gy=gy,gz=gz",
                     "--start", "2026-03-01T07:00:00Z"]) == 0
    capsys.readouterr()
    assert cli.main(["--data-dir", str(base), "summary", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["running_strides"] >= 6 and s["approximate"] == {} and s["warnings"] == []
    out = tmp_path / "out"
    assert cli.main(["--data-dir", str(base), "export", "1", "--format", "csv", "--out", str(out)]) == 0
    with open(next(out.glob("*-strides.csv")), newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and all(r["approximate"] == "" for r in rows)


def test_report_marks_approximate_contact_time(tmp_path):
    from stridecue.review.report import notes

    from stridecue.review.figures import summarize, CoachSettings
    from stride_records import make_stride

    strides = [make_stride(ic_t=0.7 * i, known_t=0.7 * i + 0.4, wobble_deg=None, wobble_rate_dps=None, pta_axial_g=5.0,
                           cadence_spm=170.0, contact_time_s=0.3, accel_only=True) for i in range(20)]
    s = summarize(strides, [], {}, {}, CoachSettings(), duration_s=14.0)
    assert "contact_time_ms" in s["approximate"]
    text = " ".join(notes(s, []))
    assert "Contact time is approximate" in text and "No running strides" not in text


def test_the_live_pipeline_refuses_the_same_way():
    """The live (and replay) pipeline feeds the same analyser: a 50 Hz gyro stream is refused at
    its first block with the same line."""
    from stridecue.coach.policy import Coach, CoachSettings
    from stridecue.live.pipeline import RunPipeline, SensorSetup

    t, acc, gyr = _sim(4, rate=50.0)
    block = block_from_arrays(50.0, acc, gyr)
    pipe = RunPipeline([SensorSetup(0, "shin", "left")],
                       lambda setup, rate: StreamingStrideAnalyzer(mount=setup.mount, leg=setup.leg, rate_hz=rate,
                                                                   sensor=setup.slot),
                       Coach(CoachSettings()))
    with pytest.raises(UserError, match=r"^sensor 0: 50 Hz is too slow for gyro-based stride analysis"):
        pipe.feed([dataclasses.replace(block, index=block.index[:12], raw=block.raw[:12])])
