"""Speed references a sports scientist would pick, on the same data as our offline analysis.

- gaitmap (MaD Lab, FAU; with gaitmap_mad of the same version): Madgwick orientation
  (MadgwickAHRS), Barth DTW stride segmentation (BarthDtw, its default template) and Rampp event
  detection (RamppEventDetection);
- VQF (Laidig & Seel 2023, C++ with a Python wrapper): offlineVQF, the orientation step alone.

Everything takes numpy arrays: acc in g and gyro in deg/s in the board frame, the rate, and the
board -> segment rotation where it is known (v_segment = R @ v_board; the virtual runner knows it).
The project's segment frame (x anterior, y the runner's left, z along the shank, up) is gaitmap's
foot sensor frame for a left sensor, so segment-frame data go to gaitmap's left-foot body frame
conversion as they are.  Without a rotation the frame is estimated: gravity in the first second is
z, the dominant swing axis of the gyro (its principal component), made horizontal, is y, signed so
that mid-swing is a positive peak of gyr_ml.  That estimate is a few degrees off (the standing
shank leans) and DTW is sensitive to it: on 2 min of the virtual runner, 93 matches of which 48 with
events, against 162 and 159 in the known frame.  The bench gives gaitmap the known frame.

gaitmap was designed for foot-mounted sensors.  On the virtual runner's shank, Barth DTW with its
default max_cost of 4.0 finds no stride (the best match costs about 4.6: the shank keeps rotating
in stance where the foot is still); with max_cost 6.0 it finds the strides.  The figures say which
threshold was used and what the lowest DTW cost was.  DTW's accumulated cost matrix is
samples x template (~400 at 416 Hz) in float64: ~10 GB for the hour in one piece, so the hour is
given to gaitmap's RoiStrideSegmentation in regions of interest of ROI_S seconds (as gaitmap does
with gait sequences); strides across a region's edge are lost (about one per region).
"""

from __future__ import annotations

import gc
import importlib.util
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np

G = 9.81  # gaitmap's gravity (gaitmap.utils.consts.GRAV)
HOUR_S = 3600.0
ROI_S = 60.0
DTW_MAX_COST = 6.0
GAITMAP_DEFAULT_MAX_COST = 4.0
TARGET_RSS_LIVE_MB = 150.0
LIVE_S, LIVE_QUICK_S = 3600.0, 60.0  # seconds of data through the streaming analyzer for the live peak


@dataclass
class ReferenceResult:
    """One timed reference: seconds for the data given (best of `repeats`), strides found (None:
    not a segmentation), a note; available is False when the library is not installed."""

    name: str
    seconds: float | None
    strides: int | None = None
    note: str = ""
    available: bool = True
    parts: dict = field(default_factory=dict)  # step -> seconds, from the best run
    orientation: np.ndarray | None = field(default=None, repr=False)  # (n, 4) w x y z, where one is made


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def to_segment(acc_g, gyr_dps, rotation=None):
    """Board-frame arrays -> segment-frame arrays (the rotation given, or the estimated frame)."""
    acc = np.asarray(acc_g, float)
    gyr = np.asarray(gyr_dps, float)
    r = estimate_rotation(acc, gyr) if rotation is None else np.asarray(rotation, float)
    return acc @ r.T, gyr @ r.T


def estimate_rotation(acc_g: np.ndarray, gyr_dps: np.ndarray, rate_hz: float = 416.0) -> np.ndarray:
    """Board -> segment rotation from the data: z = gravity in the first second, y = the dominant
    swing axis made horizontal, signed so that mid-swing (the largest peak) is positive."""
    z = acc_g[: int(rate_hz)].mean(axis=0)
    z = z / np.linalg.norm(z)
    moving = np.linalg.norm(gyr_dps, axis=1) > 100
    sample = gyr_dps[moving][:: max(1, int(moving.sum()) // 20000)]
    _, _, vt = np.linalg.svd(sample, full_matrices=False)
    y = vt[0] - vt[0].dot(z) * z
    y = y / np.linalg.norm(y)
    w = gyr_dps @ y
    # gaitmap's left-foot conversion makes gyr_ml = -gyr_y: mid-swing must come out positive
    if np.percentile(-w, 99.5) < np.percentile(w, 99.5):
        y = -y
    x = np.cross(y, z)
    return np.vstack([x, y, z])


def _best(fn, repeats: int):
    best, result = float("inf"), None
    for _ in range(max(1, repeats)):
        gc.collect()
        start = time.perf_counter()
        out = fn()
        elapsed = time.perf_counter() - start
        if elapsed < best:
            best, result = elapsed, out
    return best, result


_GAITMAP_COLUMNS = ["acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z"]


def _barth_segment(bf, n: int, rate_hz: float, max_cost: float, roi_s: float | None):
    """BarthDtw on the body-frame dataframe: at once, or in regions of interest of roi_s (long
    signals); returns the segmentation and the lowest DTW cost of each part."""
    import pandas as pd
    from gaitmap.stride_segmentation import BarthDtw, RoiStrideSegmentation

    dtw = BarthDtw(max_cost=max_cost)
    if roi_s is None or n <= roi_s * rate_hz * 1.5:
        seg = dtw.segment(bf, sampling_rate_hz=rate_hz)
        return seg, ([float(np.nanmin(seg.cost_function_))] if n else [])
    step = int(roi_s * rate_hz)
    starts = np.arange(0, n, step)
    rois = pd.DataFrame({"roi_id": np.arange(len(starts)), "start": starts, "end": np.minimum(starts + step, n)})
    seg = RoiStrideSegmentation(dtw).segment(bf, sampling_rate_hz=rate_hz, regions_of_interest=rois)
    return seg, [float(np.nanmin(inst.cost_function_)) for inst in seg.instances_per_roi_.values()]


def _gaitmap_once(a, g, rate_hz: float, convert, max_cost: float, roi_s: float | None, parts: dict):
    """One pass of the gaitmap pipeline; each step's seconds go to `parts`.  Returns the DTW
    matches, the strides with events, the DTW costs and Madgwick's orientation."""
    import pandas as pd
    from gaitmap.event_detection import RamppEventDetection
    from gaitmap.trajectory_reconstruction import MadgwickAHRS

    clock = time.perf_counter
    t0 = clock()
    sf = pd.DataFrame(np.hstack([a * G, g]), columns=_GAITMAP_COLUMNS)
    bf = convert(sf)
    t1 = clock()
    ori = MadgwickAHRS().estimate(sf, sampling_rate_hz=rate_hz)
    t2 = clock()
    seg, costs = _barth_segment(bf, len(a), rate_hz, max_cost, roi_s)
    t3 = clock()
    strides = seg.stride_list_
    ev = RamppEventDetection().detect(bf, stride_list=strides, sampling_rate_hz=rate_hz) if len(strides) else None
    t4 = clock()
    parts.update(frame=t1 - t0, madgwick=t2 - t1, barth_dtw=t3 - t2, rampp=t4 - t3)
    return len(strides), (len(ev.min_vel_event_list_) if ev is not None else 0), costs, ori


def gaitmap_pipeline(acc_g, gyr_dps, rate_hz: float, rotation=None, *, leg: str = "left", repeats: int = 2,
                     max_cost: float = DTW_MAX_COST, roi_s: float | None = ROI_S) -> ReferenceResult:
    """gaitmap on the data: dataframe in m/s² and deg/s, body frame, MadgwickAHRS, BarthDtw in
    regions of interest of roi_s (None: the whole signal at once), RamppEventDetection.

    seconds: the whole pipeline (frame conversion included), best of repeats, after a warm-up that
    compiles numba's functions on the first 20 s (not timed).  strides: Rampp's strides (the DTW
    matches with both events found)."""
    name = "gaitmap"
    if not (installed("gaitmap") and installed("gaitmap_mad") and installed("pandas")):
        return ReferenceResult(name, None, None, "not measured: gaitmap / gaitmap_mad not installed "
                               "(pip install '.[test]')", available=False)
    from gaitmap.utils.coordinate_conversion import convert_left_foot_to_fbf, convert_right_foot_to_fbf

    acc, gyr = to_segment(acc_g, gyr_dps, rotation)
    # gaitmap's sensor frame is the same for both feet (y to the left); only the body frame's signs differ
    convert = convert_left_foot_to_fbf if leg == "left" else convert_right_foot_to_fbf
    n = len(acc)
    parts: dict[str, float] = {}
    warm = min(n, int(20 * rate_hz))
    _gaitmap_once(acc[:warm], gyr[:warm], rate_hz, convert, max_cost, roi_s, parts)

    def timed():
        out = _gaitmap_once(acc, gyr, rate_hz, convert, max_cost, roi_s, parts)
        return out, dict(parts)

    seconds, ((matches, strides, costs, ori), best_parts) = _best(timed, repeats)
    lowest = min(costs) if costs else float("nan")
    frame = "segment frame from the simulation" if rotation is not None else "frame estimated from gravity and the swing axis"
    roi = (f"BarthDtw in {roi_s:g} s regions of interest" if roi_s is not None and n > roi_s * rate_hz * 1.5
           else "BarthDtw on the whole signal")
    note = (f"{frame}; MadgwickAHRS (beta 0.2) + {roi} (default template, max_cost {max_cost:g}: its default "
            f"{GAITMAP_DEFAULT_MAX_COST:g} finds {'no' if lowest > GAITMAP_DEFAULT_MAX_COST else 'some'} shank strides, "
            f"lowest cost {lowest:.2f}) + RamppEventDetection; {matches} DTW matches, {strides} with events; "
            + ", ".join(f"{k} {v:.2f} s" for k, v in best_parts.items()) + f"; best of {repeats}")
    q = ori.orientation_[["q_w", "q_x", "q_y", "q_z"]].to_numpy() if hasattr(ori, "orientation_") else None
    return ReferenceResult(name, seconds, strides, note, parts=best_parts, orientation=q)


def vqf_orientation(acc_g, gyr_dps, rate_hz: float, *, repeats: int = 2) -> ReferenceResult:
    """VQF's offline 6D orientation (gyro + acc, rest and bias estimation, acausal) for the data:
    (n, 4) w x y z, sensor (board) -> an Earth frame with z up."""
    if not installed("vqf"):
        return ReferenceResult("VQF", None, None, "not measured: vqf not installed (pip install '.[test]')",
                               available=False)
    from vqf import offlineVQF

    gyr = np.ascontiguousarray(np.radians(np.asarray(gyr_dps, float)))
    acc = np.ascontiguousarray(np.asarray(acc_g, float) * G)
    warm = min(len(acc), 4160)
    offlineVQF(np.ascontiguousarray(gyr[:warm]), np.ascontiguousarray(acc[:warm]), None, 1.0 / rate_hz)
    seconds, out = _best(lambda: offlineVQF(gyr, acc, None, 1.0 / rate_hz), repeats)
    return ReferenceResult("VQF", seconds, None, f"offlineVQF, 6D (no magnetometer), best of {repeats}",
                           orientation=out["quat6D"])


def our_orientation(gyr_dps, rate_hz: float, *, repeats: int = 2) -> ReferenceResult:
    """Our orientation step (stridecue.analysis.metrics.cumulative_rotation, the gyro integration the
    analysis does per stride) over the whole input as one sequence: (n, 4) w x y z relative to the
    first sample.  Gyro only: no accelerometer correction, no bias estimation (VQF does both)."""
    try:
        from stridecue.analysis.metrics import cumulative_rotation
    except ImportError as exc:
        return ReferenceResult("ours (orientation)", None, None, f"not measured: {exc}", available=False)
    gyr = np.radians(np.asarray(gyr_dps, float))[None]
    dt = 1.0 / rate_hz
    cumulative_rotation(gyr[:, :416], dt)
    seconds, q = _best(lambda: cumulative_rotation(gyr, dt)[0], repeats)
    # the shape the offline analysis gives it: many stride windows at once (each relative to its start)
    w = int(round(0.75 * rate_hz))
    s = gyr.shape[1] // w
    windows = np.ascontiguousarray(gyr[0, : s * w].reshape(s, w, 3))
    per_stride = _best(lambda: cumulative_rotation(windows, dt), repeats)[0] if s > 16 else None
    extra = (f"; cut into {s} windows of 0.75 s as the analysis does per stride: {per_stride:.3f} s"
             if per_stride is not None else "")
    return ReferenceResult("ours (orientation)", seconds, None,
                           f"cumulative_rotation over the whole input as one sequence: {seconds:.3f} s{extra}; "
                           f"best of {repeats}", parts={"windows": per_stride}, orientation=q)


_RSS_CHILD = r"""
import json, resource, sys, time
import numpy as np
from stridecue.link.samples import SampleBlock
from stridecue.analysis.run import analyse_block
d = np.load(sys.argv[1])
n = int(sys.argv[2])
raw = d["raw"]
raw = np.tile(raw, (-(-n // len(raw)), 1))[:n]
block = SampleBlock(index=np.arange(n, dtype=np.int64), raw=raw, rate=float(d["rate"]), accel_g=int(d["accel_g"]),
                    gyro_code=int(d["gyro_code"]), sensor=0)
def hwm():
    try:
        return int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1])
    except (OSError, StopIteration):
        return None
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
if sys.argv[3] == "offline":
    strides = analyse_block(block, "shin", "left", sensor=0)
else:  # live: the streaming analyzer fed 12-sample notifications, as from the sensor
    from stridecue.analysis.streaming import StreamingStrideAnalyzer
    a = StreamingStrideAnalyzer(mount="shin", leg="left", rate_hz=block.rate, sensor=0)
    strides = []
    for i in range(0, n, 12):
        strides += a.push(SampleBlock(index=block.index[i:i + 12], raw=block.raw[i:i + 12], rate=block.rate,
                                      accel_g=block.accel_g, gyro_code=block.gyro_code, sensor=0))
    strides += a.finish()
print(json.dumps({"before_kb": before, "after_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "hwm_kb": hwm(), "seconds": time.perf_counter() - t, "strides": len(strides)}))
"""


def peak_rss(block, duration_s: float = HOUR_S, mode: str = "offline", timeout_s: float = 600.0) -> dict:
    """Peak RSS (MB) of a fresh interpreter that analyses duration_s of the block's data (the block
    repeated as needed), offline (analyse_block) or live (the streaming analyzer, 12 samples a push),
    from resource.getrusage(RUSAGE_SELF).ru_maxrss; also the peak before the analysis (interpreter,
    imports, the block).  {"mb", "before_mb", "note"}; mb None on failure."""
    n = int(round(duration_s * block.rate))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "block.npz")
        np.savez(path, raw=block.raw, rate=block.rate, accel_g=block.accel_g, gyro_code=block.gyro_code)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        script = os.path.join(tmp, "child.py")
        with open(script, "w") as f:
            f.write(_RSS_CHILD)
        # Linux keeps the high-water mark of the process that execs (ru_maxrss of a child started straight
        # from here would start at this process's peak): a shell forks the interpreter, and the fork of a
        # small shell starts small
        command = " ".join(shlex.quote(a) for a in (sys.executable, script, path, str(n), mode)) + "; exit $?"
        try:
            done = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True, timeout=timeout_s, env=env)
        except subprocess.TimeoutExpired:
            return {"mb": None, "before_mb": None, "note": f"not measured: the child took over {timeout_s:g} s"}
    if done.returncode != 0:
        return {"mb": None, "before_mb": None, "note": "not measured: " + (done.stderr.strip().splitlines() or ["?"])[-1]}
    r = json.loads(done.stdout.strip().splitlines()[-1])
    return {"mb": r["after_kb"] / 1024, "before_mb": r["before_kb"] / 1024, "strides": r["strides"],
            "hwm_mb": None if r.get("hwm_kb") is None else r["hwm_kb"] / 1024,
            "note": (f"{mode}: ru_maxrss of a fresh interpreter (VmHWM {r['hwm_kb'] / 1024 if r.get('hwm_kb') else float('nan'):.0f} MB), "
                     f"{duration_s / 60:g} min at {block.rate:g} Hz ({len(block.raw) / block.rate / 60:g} min "
                     f"of data{', repeated' if n > len(block.raw) else ''}); {r['before_kb'] / 1024:.0f} MB before the "
                     f"analysis (interpreter, imports, the block); {r['strides']} strides in {r['seconds']:.2f} s")}


def virtual_rotation(seed: int = 7, leg: str = "left", mount: str = "shin", rate_hz: float = 416.0) -> np.ndarray:
    """The board -> segment rotation of stridecue.lab.bench.analysis.virtual_recording's sensor (same
    runner, seed and sensor: its rotation is drawn first from the sensor's own generator)."""
    from stridecue.sim import RunnerSettings, VirtualRunner

    return np.array(VirtualRunner(RunnerSettings(speed_mps=3.3), seed=seed).sensor(
        leg=leg, mount=mount, rotation="random", rate_hz=rate_hz).rotation)


def _figure(name, value, unit="", target=None, met=None, note=""):
    return {"name": name, "value": value, "unit": unit, "target": target, "met": met, "note": note}


def _arrays(block_or_arrays):
    if hasattr(block_or_arrays, "raw"):
        b = block_or_arrays
        return b.acc, b.gyr, float(b.rate), None
    acc, gyr, rate, *rest = block_or_arrays
    return np.asarray(acc, float), np.asarray(gyr, float), float(rate), (rest[0] if rest else None)


def reference_figures(block_or_arrays, ours_seconds: float | None, quick: bool, *, rotation=None,
                      rss: bool = True) -> list[dict]:
    """Bench figures: gaitmap's pipeline and VQF on the same data, as hour times and as ratios
    ours / theirs (ours_seconds: our offline analysis of the same data, measured in the same run),
    our orientation step against VQF, and the peak RSS of our offline analysis of an hour.

    block_or_arrays: a SampleBlock, or (acc_g, gyr_dps, rate_hz[, rotation board -> segment])."""
    acc, gyr, rate, rot = _arrays(block_or_arrays)
    rotation = rot if rotation is None else rotation
    repeats = 1 if quick else 2
    scale = HOUR_S / (len(acc) / rate)
    span = f"{len(acc) / rate / 60:g} min" + (f", times scaled ×{scale:g} to the hour" if abs(scale - 1) > 1e-9 else "")
    figures = []

    def hour(s):
        return None if s is None else round(s * scale, 3)

    gm = gaitmap_pipeline(acc, gyr, rate, rotation, repeats=repeats)
    figures.append(_figure("gaitmap pipeline, 1 h at 416 Hz", hour(gm.seconds), "s", None, None,
                           (f"{gm.strides} strides; " if gm.available else "") + gm.note + f" ({span})"))
    figures.append(_figure("gaitmap ratio", round(ours_seconds / gm.seconds, 3) if gm.available and ours_seconds else None,
                           "", None, None, "ours / gaitmap's, offline, same data, this run: below 1 ours is faster"
                           if gm.available else gm.note))
    vq = vqf_orientation(acc, gyr, rate, repeats=repeats)
    mine = our_orientation(gyr, rate, repeats=repeats)
    figures.append(_figure("VQF orientation, 1 h at 416 Hz", hour(vq.seconds), "s", None, None, vq.note + f" ({span})"))
    figures.append(_figure("our orientation step, 1 h at 416 Hz", hour(mine.seconds), "s", None, None,
                           mine.note + "; gyro integration only (no accelerometer fusion, no bias estimation)"))
    both = vq.available and mine.available
    windows = mine.parts.get("windows") if both else None
    figures.append(_figure("VQF ratio", round(mine.seconds / vq.seconds, 3) if both else None, "", None, None,
                           ("our orientation step / offlineVQF over the same samples as one sequence, this run: below 1 "
                            "ours is faster" + (f"; {windows / vq.seconds:.3f} with ours cut into stride windows as the "
                                                f"analysis does" if windows else ""))
                           if both else (vq.note if not vq.available else mine.note)))
    if ours_seconds and vq.available:
        figures.append(_figure("ratio whole analysis / VQF orientation", round(ours_seconds / vq.seconds, 3), "", None, None,
                               "our whole offline analysis against VQF's orientation step alone"))
    if rss and hasattr(block_or_arrays, "raw"):
        r = peak_rss(block_or_arrays)
        figures.append(_figure("peak RSS, 1 h offline", None if r["mb"] is None else round(r["mb"], 1), "MB",
                               None, None, r["note"]))
        live_s = LIVE_QUICK_S if quick else LIVE_S
        r = peak_rss(block_or_arrays, live_s, "live")
        mb = None if r["mb"] is None else round(r["mb"], 1)
        figures.append(_figure("peak RSS, live analysis", mb, "MB", f"<= {TARGET_RSS_LIVE_MB:g} MB",
                               None if mb is None else mb <= TARGET_RSS_LIVE_MB,
                               r["note"] + "; the analysis alone: no Bluetooth, audio or display"))
    return figures
