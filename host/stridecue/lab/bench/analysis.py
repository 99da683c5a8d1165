"""Benchmark provider: speed of the stride analysis, against its targets and against a reference
pipeline built from well-known libraries on the same data.

- offline: stridecue.analysis.run.analyse_block on a 1-hour single-sensor 416 Hz recording
  (targets, issue 15: < 0.5 s on the project's 2-core machine, and at most a third of the fastest
  reference's time for the same work);
- streaming: StreamingStrideAnalyzer.push per notification of 12 samples (targets: mean <= 0.1 ms,
  p99 <= 0.5 ms, the hour within 3x of the offline hour);
- reference: orientation with imufusion (x-io's AHRS) and stride segmentation in the style of
  gaitmap (mid-swing peaks of the medio-lateral gyro with scipy.signal.find_peaks, initial contact and
  toe-off at the gyro minima around them, as in Aminian et al. 2002 / gaitmap's Rampp event
  detection), with the same per-stride metrics; the ratio ours / reference.

The recording is the virtual runner (stridecue.sim) on a randomly rotated shin sensor, quantised
as the sensor does (int16 at +-32 g / +-2000 dps): a whole hour, generated straight (--quick: five
minutes, with the times scaled to the hour).
"""

from __future__ import annotations

import gc
import importlib.util
import time

import numpy as np

RATE_HZ = 416.0
HOUR_S = 3600.0
NOTIFICATION_SAMPLES = 12

TARGET_OFFLINE_S = 0.5
TARGET_FASTEST_REFERENCE_RATIO = 1 / 3
TARGET_PUSH_MEAN_MS = 0.1
TARGET_PUSH_P99_MS = 0.5
TARGET_LIVE_OVER_OFFLINE = 3.0


def virtual_recording(duration_s: float, *, generate_s: float = 300.0, seed: int = 7, mount: str = "shin",
                      leg: str = "left", rate_hz: float = RATE_HZ):
    """(SampleBlock, truth list, seconds generated): duration_s of the virtual runner at rate_hz.

    min(duration_s, generate_s) seconds are generated; the rest repeats them with continuing sample
    counters (the joins are a stride's worth of discontinuity every generate_s seconds).
    """
    from stridecue.sim import RunnerSettings, VirtualRunner
    from stridecue.lab.evaluation import to_sample_block

    runner = VirtualRunner(RunnerSettings(speed_mps=3.3), seed=seed)
    stream = runner.sensor(leg=leg, mount=mount, rotation="random", rate_hz=rate_hz)
    stream.rate = rate_hz
    n_total = int(round(duration_s * rate_hz))
    n_gen = min(n_total, int(round(generate_s * rate_hz)))
    acc, gyr = [], []
    step = int(rate_hz * 10)
    got = 0
    while got < n_gen:
        chunk = stream.read(min(step, n_gen - got))
        acc.append(np.asarray(chunk.acc, float))
        gyr.append(np.asarray(chunk.gyr, float))
        got += len(chunk.acc)
    acc = np.concatenate(acc)
    gyr = np.concatenate(gyr)
    if n_total > n_gen:
        reps = -(-n_total // n_gen)
        acc = np.tile(acc, (reps, 1))[:n_total]
        gyr = np.tile(gyr, (reps, 1))[:n_total]
    block = to_sample_block(acc, gyr, rate_hz)
    return block, list(stream.truth), n_gen / rate_hz


class ReferencePipeline:
    """Orientation by imufusion, gaitmap-style segmentation with scipy, the same stride metrics.

    Parameters are set here; results end in '_' (strides_, quaternions_).  It is the yardstick
    for speed, not a second analysis: it knows nothing of walking, gaps or clipping.
    """

    def __init__(self, rate_hz: float, *, gain: float = 0.5, lowpass_hz: float = 8.0,
                 min_stride_s: float = 0.5, swing_peak_dps: float = 150.0):
        self.rate_hz = float(rate_hz)
        self.gain = gain
        self.lowpass_hz = lowpass_hz
        self.min_stride_s = min_stride_s
        self.swing_peak_dps = swing_peak_dps

    def orientation(self, acc: np.ndarray, gyr: np.ndarray) -> np.ndarray:
        import imufusion

        ahrs = imufusion.Ahrs()
        settings = imufusion.AhrsSettings()
        settings.convention = imufusion.CONVENTION_NWU
        settings.gain = self.gain
        settings.gyroscope_range = 2000.0
        settings.acceleration_rejection = 10.0
        settings.magnetic_rejection = 0.0
        settings.rejection_timeout = int(5 * self.rate_hz)
        settings.sample_rate = self.rate_hz
        ahrs.set_settings(settings)
        q = np.empty((len(acc), 4))
        update, get = ahrs.update_no_magnetometer, ahrs.get_quaternion
        acc = np.ascontiguousarray(acc, float)
        gyr = np.ascontiguousarray(gyr, float)
        for i in range(len(acc)):
            update(gyr[i], acc[i])
            q[i] = get()
        return q

    def run(self, acc: np.ndarray, gyr: np.ndarray) -> "ReferencePipeline":
        from scipy.signal import butter, find_peaks, sosfiltfilt

        rate = self.rate_hz
        # segment axes: long axis from gravity in the first second, medio-lateral = dominant swing axis
        long_axis = acc[: int(rate)].mean(axis=0)
        long_axis /= np.linalg.norm(long_axis)
        moving = np.linalg.norm(gyr, axis=1) > 100
        _, _, vt = np.linalg.svd(gyr[moving][:: max(1, moving.sum() // 20000)], full_matrices=False)
        ml = vt[0] - vt[0].dot(long_axis) * long_axis
        ml /= np.linalg.norm(ml)
        sos = butter(2, self.lowpass_hz, fs=rate, output="sos")
        w_ml = sosfiltfilt(sos, gyr @ ml)
        if np.percentile(w_ml, 99) < -np.percentile(w_ml, 1):
            w_ml, ml = -w_ml, -ml
        swings, _ = find_peaks(w_ml, height=self.swing_peak_dps, distance=int(self.min_stride_s * rate))
        # initial contact: first gyro minimum after mid-swing; toe-off: last minimum before the next
        minima, _ = find_peaks(-w_ml, distance=int(0.05 * rate))
        ic_idx = minima[np.searchsorted(minima, swings[:-1], side="right").clip(0, len(minima) - 1)]
        to_idx = minima[(np.searchsorted(minima, swings[1:], side="left") - 1).clip(0, len(minima) - 1)]
        ok = (ic_idx > swings[:-1]) & (to_idx > ic_idx) & (to_idx < swings[1:])
        ic_idx, to_idx = ic_idx[ok], to_idx[ok]
        self.quaternions_ = q = self.orientation(acc, gyr)
        # frontal-plane angle: the long axis in the world frame, projected on up x the initial ML axis
        world_long = _rotate(q, long_axis)
        world_ml0 = _rotate(q[int(rate) : int(rate) + 1], ml)[0]
        theta = np.degrees(np.arctan2(world_long @ world_ml0, world_long[:, 2]))
        a_long = acc @ long_axis
        strides = []
        for i, j in zip(ic_idx, to_idx):
            window = slice(i, i + max(1, (j - i) // 2))
            peak = i + int(np.argmax(a_long[window]))
            strides.append({
                "ic_t": i / rate, "to_t": j / rate, "contact_time_s": (j - i) / rate,
                "wobble_deg": float(theta[i : j + 1].max() - theta[i]),
                "pta_axial_g": float(a_long[peak]),
                "loading_rate_gps": float((a_long[peak] - a_long[i]) / max((peak - i) / rate, 1 / rate)),
            })
        self.strides_ = strides
        return self


def _rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate a sensor-frame vector v by unit quaternions q (w, x, y, z), sensor -> world."""
    w, x, y, z = q.T
    r = np.empty((len(q), 3, 3))
    r[:, 0, 0] = 1 - 2 * (y * y + z * z)
    r[:, 0, 1] = 2 * (x * y - w * z)
    r[:, 0, 2] = 2 * (x * z + w * y)
    r[:, 1, 0] = 2 * (x * y + w * z)
    r[:, 1, 1] = 1 - 2 * (x * x + z * z)
    r[:, 1, 2] = 2 * (y * z - w * x)
    r[:, 2, 0] = 2 * (x * z - w * y)
    r[:, 2, 1] = 2 * (y * z + w * x)
    r[:, 2, 2] = 1 - 2 * (x * x + y * y)
    return r @ v


def _head(block, n: int):
    from stridecue.link.samples import SampleBlock

    return SampleBlock(index=block.index[:n], raw=block.raw[:n], rate=block.rate, accel_g=block.accel_g,
                       gyro_code=block.gyro_code, sensor=block.sensor)


def _best_of(fn, repeats: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def _figure(name, value, unit="", target=None, met=None, note=""):
    return {"name": name, "value": value, "unit": unit, "target": target, "met": met, "note": note}


def _recording_note(duration: float, generated: float, scale: float) -> str:
    """What was measured on: the recording, and how --quick scales its times to the hour."""
    return (f"recording: {duration / 60:.0f} min of the virtual runner at {RATE_HZ:g} Hz, shin, random board "
            f"rotation, int16 at ±32 g / ±2000 dps ({generated / 60:.0f} min generated"
            + (", repeated to the hour)" if duration > generated else ")")
            + (f"; --quick: times scaled ×{scale:g} to one hour (fixed costs and machine noise are "
               f"scaled too: the full run measures the hour itself)" if scale != 1 else ""))


def _what_can_run(notes: list[str]) -> tuple[bool, bool]:
    """Whether the reference pipeline (imufusion) and our analysis are importable; a note for each missing."""
    have_ref = importlib.util.find_spec("imufusion") is not None
    if not have_ref:
        notes.append("reference pipeline not run: imufusion is not installed (pip install imufusion, or '.[test]')")
    have_analysis = (importlib.util.find_spec("stridecue.analysis") is not None
                     and importlib.util.find_spec("stridecue.analysis.run") is not None)
    if not have_analysis:
        notes.append("stride analysis (stridecue.analysis.run) not available: offline and streaming not measured")
    return have_ref, have_analysis


def _time_offline(block, ref: "ReferencePipeline", have_ref: bool, have_analysis: bool,
                  repeats: int) -> tuple[float, float, list]:
    """Seconds of ours and of the reference on the whole block (inf when not run), and our strides."""
    acc, gyr = block.acc, block.gyr
    warm = int(30 * RATE_HZ)  # first calls pay for imports and caches: not what is measured
    ours_s = ref_s = float("inf")
    strides = []
    if have_ref:
        ReferencePipeline(RATE_HZ).run(acc[:warm], gyr[:warm])
    if have_analysis:
        from stridecue.analysis.run import analyse_block

        analyse_block(_head(block, warm), "shin", "left", sensor=0)
    # alternate the two so that both see the same moods of a shared machine; best of each
    for _ in range(repeats):
        if have_ref:
            ref_s = min(ref_s, _best_of(lambda: ref.run(acc, gyr), 1)[0])
        if have_analysis:
            elapsed, strides = _best_of(lambda: analyse_block(block, "shin", "left", sensor=0), 1)
            ours_s = min(ours_s, elapsed)
    return ours_s, ref_s, strides


def _offline_figures(ours_hour: float | None, ref_hour: float | None, strides: list, n_ref_strides: int,
                     repeats: int) -> list[dict]:
    """Ours, the reference and their ratio, per hour of recording (each only where it ran)."""
    figures = []
    if ours_hour is not None:
        running = sum(1 for s in strides if s.kind == "run")
        figures.append(_figure("offline analysis, 1 h at 416 Hz", round(ours_hour, 3), "s", f"< {TARGET_OFFLINE_S:g} s",
                               ours_hour < TARGET_OFFLINE_S, f"{running} running strides; best of {repeats}"))
    if ref_hour is not None:
        figures.append(_figure("reference pipeline, 1 h at 416 Hz", round(ref_hour, 3), "s", None, None,
                               f"imufusion + scipy gaitmap-style; {n_ref_strides} strides; best of {repeats}, "
                               f"alternated with ours"))
    if ours_hour is not None and ref_hour is not None:
        figures.append(_figure("ratio ours / reference (offline)", round(ours_hour / ref_hour, 3), "", None, None,
                               "below 1: ours is faster (both measured in this run)"))
    return figures


def _library_reference_figures(block, ours_s: float, quick: bool, notes: list[str]) -> list[dict]:
    """gaitmap, VQF and the peak RSS on the same recording (stridecue.lab.bench.references)."""
    try:
        from stridecue.lab.bench.references import reference_figures, virtual_rotation

        return reference_figures(block, ours_s, quick, rotation=virtual_rotation())
    except Exception as exc:  # noqa: BLE001 - a reference that breaks must not take our figures with it
        notes.append(f"references (gaitmap, VQF, peak RSS) not measured: {type(exc).__name__}: {exc}")
        return []


def _streaming_figures(block, quick: bool, ref_hour: float | None, ours_hour: float | None) -> list[dict]:
    """StreamingStrideAnalyzer.push per notification of 12 samples: mean, p99, max, and the hour."""
    from stridecue.analysis.streaming import StreamingStrideAnalyzer
    from stridecue.link.samples import SampleBlock

    seconds = 60.0 if quick else 300.0
    n = min(len(block), int(seconds * RATE_HZ))
    pieces = [SampleBlock(index=block.index[i:i + NOTIFICATION_SAMPLES], raw=block.raw[i:i + NOTIFICATION_SAMPLES],
                          rate=block.rate, accel_g=block.accel_g, gyro_code=block.gyro_code, sensor=0)
              for i in range(0, n, NOTIFICATION_SAMPLES)]
    analyzer = StreamingStrideAnalyzer(mount="shin", leg="left", rate_hz=RATE_HZ, sensor=0)
    costs = np.empty(len(pieces))
    clock = time.perf_counter
    gc.collect()
    for k, piece in enumerate(pieces):
        start = clock()
        analyzer.push(piece)
        costs[k] = clock() - start
    analyzer.finish()
    costs_ms = costs * 1000
    mean = float(costs_ms.mean())
    p99 = float(np.percentile(costs_ms, 99))
    stream_hour = costs.sum() * HOUR_S / (n / RATE_HZ)
    figures = [
        _figure("streaming push, 12 samples (mean)", round(mean, 4), "ms", f"<= {TARGET_PUSH_MEAN_MS:g} ms",
                mean <= TARGET_PUSH_MEAN_MS, f"{len(pieces)} notifications, {seconds:g} s of data"),
        _figure("streaming push p99", round(p99, 4), "ms", f"<= {TARGET_PUSH_P99_MS:g} ms", p99 <= TARGET_PUSH_P99_MS),
        _figure("streaming push max", round(float(costs_ms.max()), 3), "ms"),
        _figure("streaming, whole hour (extrapolated)", round(stream_hour, 2), "s", None, None,
                f"ratio to the reference: {stream_hour / ref_hour:.2f}" if ref_hour else ""),
    ]
    if ours_hour:
        ratio = stream_hour / ours_hour
        figures.append(_figure("ratio live / offline (per hour)", round(ratio, 2), "", f"<= {TARGET_LIVE_OVER_OFFLINE:g}",
                               ratio <= TARGET_LIVE_OVER_OFFLINE, "the same analyser fed 12-sample notifications"))
    return figures


def _fastest_reference_figure(figures: list[dict], ours_hour: float) -> list[dict]:
    """Ours against the faster of the two whole-pipeline references measured in this run (the
    imufusion + scipy reconstruction and gaitmap): the same hour, orientation to stride metrics."""
    whole = {"reference pipeline, 1 h at 416 Hz": "imufusion + scipy", "gaitmap pipeline, 1 h at 416 Hz": "gaitmap"}
    measured = [(f["value"], whole[f["name"]]) for f in figures if f["name"] in whole and f["value"]]
    if not measured:
        return []
    seconds, name = min(measured)
    ratio = ours_hour / seconds
    return [_figure("ratio ours / fastest reference (offline)", round(ratio, 3), "",
                    f"<= {TARGET_FASTEST_REFERENCE_RATIO:.2f}", ratio <= TARGET_FASTEST_REFERENCE_RATIO,
                    f"fastest: {name}, {seconds:g} s per hour")]


def run(quick: bool) -> dict:
    figures, notes = [], []
    try:
        from stridecue.sim import RunnerSettings, VirtualRunner  # noqa: F401
    except ImportError:
        return {"title": "stride analysis speed", "figures": [],
                "notes": ["not available: the virtual runner (stridecue.sim) is not built yet"]}
    duration = 300.0 if quick else HOUR_S
    block, truth, generated = virtual_recording(duration, generate_s=duration)
    scale = HOUR_S / duration
    notes.append(_recording_note(duration, generated, scale))
    repeats = 1 if quick else 2

    ref = ReferencePipeline(RATE_HZ)
    have_ref, have_analysis = _what_can_run(notes)
    ours_s, ref_s, strides = _time_offline(block, ref, have_ref, have_analysis, repeats)
    ref_hour = ref_s * scale if have_ref else None
    ours_hour = ours_s * scale if have_analysis else None
    figures += _offline_figures(ours_hour, ref_hour, strides, len(ref.strides_) if have_ref else 0, repeats)
    if have_analysis:
        figures += _library_reference_figures(block, ours_s, quick, notes)
    if ours_hour is not None:
        figures += _fastest_reference_figure(figures, ours_hour)
    if have_analysis and importlib.util.find_spec("stridecue.analysis.streaming") is not None:
        figures += _streaming_figures(block, quick, ref_hour, ours_hour)
    figures.append(_figure("virtual runner truth strides", int(round(len(truth) * duration / generated)) if generated else 0, "",
                           None, None, "in the recording (for scale)"))
    return {"title": "stride analysis speed (offline, streaming) against a library reference", "figures": figures,
            "notes": notes}
