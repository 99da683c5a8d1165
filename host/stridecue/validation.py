"""Accuracy of the stride analysis against the virtual runner's truth and against real recordings
(bach2022 force plate, grouvel2023 motion capture, the 25-minute adept run): each figure with
its target, met or not met, reported as measured.

The virtual runner runs over many seeds, speeds of 2-6 m/s, both mounts and legs, random board
rotations, with the sensor's noise, bias and clipping, quantised to int16 counts as the sensor
does.  The real recordings come from ../shared/data (see its README; cite the sources with the
figures).  docs/validation.md explains every figure and how it is matched to truth.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import json
import math
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

# numpy is imported inside the functions that use it: `stridecue --help` imports this module to
# build its options, and must stay fast.

# ============================================================================================
# Evaluation helpers (kept apart from the algorithms they judge)

#: A detected initial contact matches a true one within this (and each is used once).
MATCH_TOLERANCE_S = 0.100
#: A stride whose initial contact follows the previous one of the same leg this soon was counted twice.
DOUBLE_COUNT_FRACTION = 0.6
PLAUSIBLE_CADENCE_SPM = (150.0, 200.0)


def to_sample_block(acc_g, gyr_dps=None, rate_hz: float = 416.0, *, first_index: int = 0, accel_g: int = 32,
                    gyro_code: int = 16, sensor: int = 0, saturated=None):
    """Float accel (g) / gyro (deg/s) -> SampleBlock of int16 counts, as the sensor quantises.

    Values beyond the full scale clip to it (and read back as clipped).  gyr_dps None -> zeros
    (accelerometer only, gyro_code 0).  saturated: optional (n, 3) bool of readings where the source sensor
    was pinned at its own full scale; they are set to full scale here so they read as clipped.
    """
    import numpy as np
    from stridecue.samples import SampleBlock

    acc = np.asarray(acc_g, float)
    n = len(acc)
    raw = np.zeros((n, 6), np.int16)
    raw[:, :3] = np.clip(np.rint(acc * (32768.0 / accel_g)), -32768, 32767)
    if saturated is not None:
        sat = np.asarray(saturated, bool)
        raw[:, :3][sat & (acc > 0)] = 32767
        raw[:, :3][sat & (acc < 0)] = -32768
    if gyr_dps is not None:
        gyr = np.asarray(gyr_dps, float)
        raw[:, 3:] = np.clip(np.rint(gyr * (32768.0 / (gyro_code * 125.0))), -32768, 32767)
    else:
        gyro_code = 0  # the analysis's mark of an accelerometer-only sensor
    index = np.arange(first_index, first_index + n, dtype=np.int64)
    return SampleBlock(index=index, raw=raw, rate=float(rate_hz), accel_g=accel_g, gyro_code=gyro_code, sensor=sensor)


@dataclass
class Matching:
    """One-to-one matching of detected to true events (times in seconds)."""

    pairs: list[tuple[int, int]]  # (detected index, truth index)
    unmatched_detected: list[int]
    unmatched_truth: list[int]

    @property
    def tp(self) -> int:
        return len(self.pairs)

    @property
    def fp(self) -> int:
        return len(self.unmatched_detected)

    @property
    def fn(self) -> int:
        return len(self.unmatched_truth)

    def errors(self, detected, truth) -> np.ndarray:
        """detected - truth for each matched pair (same units as the inputs)."""
        import numpy as np
        d, t = np.asarray(detected, float), np.asarray(truth, float)
        return np.array([d[i] - t[j] for i, j in self.pairs], float)


def match_events(detected, truth, tolerance_s: float = MATCH_TOLERANCE_S) -> Matching:
    """Pair each true event with at most one detected event within tolerance, closest pairs first."""
    import numpy as np
    d = np.asarray(detected, float).ravel()
    t = np.asarray(truth, float).ravel()
    candidates = []
    if len(d) and len(t):
        order = np.argsort(t)
        ts = t[order]
        for i, x in enumerate(d):
            lo = np.searchsorted(ts, x - tolerance_s, side="left")
            hi = np.searchsorted(ts, x + tolerance_s, side="right")
            for k in range(lo, hi):
                candidates.append((abs(x - ts[k]), i, int(order[k])))
    candidates.sort()
    used_d, used_t, pairs = set(), set(), []
    for _, i, j in candidates:
        if i not in used_d and j not in used_t:
            used_d.add(i)
            used_t.add(j)
            pairs.append((i, j))
    pairs.sort()
    return Matching(pairs, [i for i in range(len(d)) if i not in used_d], [j for j in range(len(t)) if j not in used_t])


def f1_score(tp: int, fp: int, fn: int) -> float | None:
    """2 TP / (2 TP + FP + FN); None when there is nothing to score."""
    denom = 2 * tp + fp + fn
    return None if denom == 0 else 2 * tp / denom


def mean_abs(values) -> float | None:
    import numpy as np
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    return float(np.mean(np.abs(v))) if len(v) else None


def double_counted(ic_t) -> int:
    """Strides of one sensor whose IC follows the previous within DOUBLE_COUNT_FRACTION of the median stride.

    No longer a figure: the analysis refuses intervals under 0.45 s, above 0.6 x a running stride,
    so on its output this cannot fail; `validate` uses validation_accel.counted_twice instead."""
    import numpy as np
    ic = np.sort(np.asarray(ic_t, float))
    if len(ic) < 3:
        return 0
    gaps = np.diff(ic)
    typical = float(np.median(gaps))
    return int(np.count_nonzero(gaps < DOUBLE_COUNT_FRACTION * typical))


@dataclass
class Figure:
    """One line of the report: value against target (at_most / at_least)."""

    group: str
    name: str
    value: float | int | None
    unit: str = ""
    at_most: float | None = None
    at_least: float | None = None
    note: str = ""
    met: bool | None = field(default=None)

    def __post_init__(self):
        if self.value is None or (isinstance(self.value, float) and not math.isfinite(self.value)):
            self.met = None if self.at_most is None and self.at_least is None else False
        elif self.at_most is not None or self.at_least is not None:
            ok = True
            if self.at_most is not None:
                ok &= self.value <= self.at_most
            if self.at_least is not None:
                ok &= self.value >= self.at_least
            self.met = bool(ok)

    @property
    def target(self) -> str:
        if self.at_most is not None and self.at_least is not None:
            return f"{self.at_least:g}..{self.at_most:g} {self.unit}".strip()
        if self.at_most is not None:
            return f"<= {self.at_most:g} {self.unit}".strip()
        if self.at_least is not None:
            return f">= {self.at_least:g} {self.unit}".strip()
        return ""

    def as_dict(self) -> dict:
        d = asdict(self)
        d["target"] = self.target
        return d


def _r(v, nd=3):
    return None if v is None else round(float(v), nd)


def _analysis():
    if importlib.util.find_spec("stridecue.analysis") is None or importlib.util.find_spec("stridecue.analysis.run") is None:
        raise RuntimeError("the stride analysis (stridecue.analysis.run) is not built yet")
    from stridecue.analysis.run import analyse_block

    return analyse_block


def _running(strides: list[dict]) -> list[dict]:
    return sorted((s for s in strides if s.get("kind") == "run"), key=lambda s: s["ic_t"])


# ============================================================================================
# Virtual runner


@dataclass(frozen=True)
class VirtualCase:
    seed: int
    speed_mps: float
    mount: str
    leg: str
    wobble_deg: float
    clipping: bool  # a +-8 g accelerometer range, so hard landings clip
    noise: float = 1.0  # the virtual sensor's noise factor (1: the IMU's data-sheet noise)
    gyro_bias_dps: float | None = None  # a large gyro bias on every axis (None: the sensor's own, random)


def virtual_cases(quick: bool) -> list[VirtualCase]:
    speeds = (2.0, 3.0, 4.0, 5.0, 6.0)
    seeds = (1,) if quick else (1, 2, 3, 4, 5)
    cases = []
    k = 0
    for seed in seeds:
        for speed in speeds:
            for mount in ("shin", "thigh"):
                leg = "left" if k % 2 == 0 else "right"
                wobble = 3.0 + (k * 2.3) % 7.0
                cases.append(VirtualCase(seed=seed * 100 + k, speed_mps=speed, mount=mount, leg=leg,
                                         wobble_deg=round(wobble, 1), clipping=(k % 5 == 4),
                                         noise=2.0 if k % 3 == 2 else 1.0,
                                         gyro_bias_dps=3.0 if k % 4 == 1 else None))
                k += 1
    if quick:
        cases = [cases[i] for i in (0, 3, 6, 9)]  # 2, 3, 5, 6 m/s; shin and thigh; both legs; one clips
    return cases


def _sensor_kwargs(sensor_fn, case: VirtualCase) -> dict:
    """Options of the virtual sensor this case turns on, where the runner offers them."""
    try:
        params = inspect.signature(sensor_fn).parameters
    except (TypeError, ValueError):
        params = {}
    kw = {}
    if "rate_hz" in params:
        kw["rate_hz"] = 416.0
    if "rotation" in params:
        kw["rotation"] = "random"
    if case.clipping and "accel_range_g" in params:
        kw["accel_range_g"] = 8
    if "noise" in params:
        kw["noise"] = case.noise
    if case.gyro_bias_dps is not None and "gyro_bias_dps" in params:
        kw["gyro_bias_dps"] = case.gyro_bias_dps
    return kw


def simulate_case(case: VirtualCase, duration_s: float, segments: tuple | None = None, kinds=("run",)):
    """(SampleBlock quantised as the sensor does, truths of those kinds, time offset s).

    segments: the runner's schedule of (stand|walk|run|stop, seconds) phases (default: the runner's)."""
    import numpy as np
    from stridecue.sim import RunnerSettings, VirtualRunner

    extra = {"segments": segments} if segments is not None else {}
    settings = RunnerSettings(speed_mps=case.speed_mps, wobble_deg=case.wobble_deg, **extra)
    runner = VirtualRunner(settings, seed=case.seed)
    kw = _sensor_kwargs(runner.sensor, case)
    stream = runner.sensor(leg=case.leg, mount=case.mount, **kw)
    rate = 416.0
    stream.rate = rate
    n = int(duration_s * rate)
    ts, accs, gyrs = [], [], []
    got = 0
    while got < n:
        chunk = stream.read(min(4160, n - got))
        ts.append(np.asarray(chunk.t, float))
        accs.append(np.asarray(chunk.acc, float))
        gyrs.append(np.asarray(chunk.gyr, float))
        got += len(chunk.acc)
    t = np.concatenate(ts)
    accel_g = int(kw.get("accel_range_g") or 32)  # the board quantises at the range it is set to
    block = to_sample_block(np.concatenate(accs), np.concatenate(gyrs), rate, accel_g=accel_g)
    truth = [s for s in stream.truth if getattr(s, "kind", "run") in kinds and s.to_t <= t[-1]]
    return block, truth, float(t[0])


@dataclass
class _Tally:
    """Matched errors of a group of virtual runs."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    ic: list = field(default_factory=list)
    to: list = field(default_factory=list)
    wobble: list = field(default_factory=list)
    pta: list = field(default_factory=list)
    clipped: int = 0

    def figures(self, label: str, runs: str) -> list[Figure]:
        import numpy as np
        g = "virtual"
        wob = np.abs(self.wobble) if self.wobble else None
        return [
            Figure(g, f"{label}stride F1", _r(f1_score(self.tp, self.fp, self.fn), 4), "", at_least=0.99,
                   note=f"{self.tp} matched, {self.fp} extra, {self.fn} missed; {runs}"),
            Figure(g, f"{label}IC timing MAE", _r(_ms(mean_abs(self.ic)), 1), "ms", at_most=10.0,
                   note=f"bias {_fmt_ms(np.mean(self.ic) if self.ic else None)}"),
            Figure(g, f"{label}TO timing MAE", _r(_ms(mean_abs(self.to)), 1), "ms",
                   note=f"bias {_fmt_ms(np.mean(self.to) if self.to else None)}"),
            Figure(g, f"{label}wobble excursion error (MAE)", _r(mean_abs(self.wobble), 2), "deg", at_most=1.0,
                   note=(f"bias {np.mean(self.wobble):+.2f} deg, p95 {np.percentile(wob, 95):.2f} deg"
                         if wob is not None else "")),
            Figure(g, f"{label}PTA error (mean abs)", _r(_pct(mean_abs(self.pta)), 2), "%", at_most=5.0,
                   note=(f"bias {_pct(np.mean(self.pta)):+.1f} %; " if self.pta else "")
                   + f"{self.clipped} clipped strides left out"),
        ]


def validate_virtual(quick: bool) -> tuple[list[Figure], dict]:
    analyse_block = _analysis()
    try:
        from stridecue.sim import RunnerSettings, VirtualRunner  # noqa: F401
    except ImportError:
        raise RuntimeError("the virtual runner (stridecue.sim: RunnerSettings, VirtualRunner) is not built yet") from None
    duration = 25.0 if quick else 60.0
    tallies = {"": _Tally(), "shin": _Tally(), "thigh": _Tally()}
    cases_out = []
    for case in virtual_cases(quick):
        block, truth, offset = simulate_case(case, duration)
        strides = _running(analyse_block(block, case.mount, case.leg, sensor=0))
        m = match_events([s["ic_t"] + offset for s in strides], [tr.ic_t for tr in truth])
        case_wobble = []
        for tally in (tallies[""], tallies[case.mount]):
            tally.tp += m.tp
            tally.fp += m.fp
            tally.fn += m.fn
            for i, j in m.pairs:
                s, tr = strides[i], truth[j]
                tally.ic.append(s["ic_t"] + offset - tr.ic_t)
                tally.to.append(s["to_t"] + offset - tr.to_t)
                if s.get("wobble_deg") is not None:
                    tally.wobble.append(s["wobble_deg"] - tr.wobble_deg)
                if s.get("clipped"):
                    tally.clipped += 1
                elif s.get("pta_axial_g") is not None and tr.pta_axial_g:
                    tally.pta.append((s["pta_axial_g"] - tr.pta_axial_g) / tr.pta_axial_g)
        for i, j in m.pairs:
            if strides[i].get("wobble_deg") is not None:
                case_wobble.append(strides[i]["wobble_deg"] - truth[j].wobble_deg)
        cases_out.append({**asdict(case), "truth": len(truth), "detected": len(strides), "tp": m.tp, "fp": m.fp,
                          "fn": m.fn, "ic_mae_ms": _r(_ms(mean_abs([strides[i]["ic_t"] + offset - truth[j].ic_t
                                                                    for i, j in m.pairs])), 1),
                          "wobble_mae_deg": _r(mean_abs(case_wobble), 2)})
    n_mount = {mount: sum(1 for c in cases_out if c["mount"] == mount) for mount in ("shin", "thigh")}
    figs = tallies[""].figures("", f"{len(cases_out)} runs of {duration:g} s")
    # live against offline at the slowest and the fastest pace, both mounts (the first cases are all slow)
    paced = [c for c in virtual_cases(quick) if c.speed_mps in (2.0, 6.0)]
    figs += streaming_figures(paced[: 1 if quick else 4], duration)
    figs += mixed_activity_figures(quick)
    for mount in ("shin", "thigh"):
        if n_mount[mount]:
            figs += tallies[mount].figures(f"{mount}: ", f"{n_mount[mount]} runs")
    return figs, {"cases": cases_out}


#: A run with a walk, a stop and a restart: what must not be counted as running.
MIXED_SEGMENTS = (("stand", 3.0), ("run", 20.0), ("walk", 15.0), ("stop", 8.0), ("run", 20.0), ("stand", 5.0))


def mixed_activity_figures(quick: bool) -> list[Figure]:
    """Walking, standing and stopping in the virtual runner's schedule: none of it counted as running."""
    analyse_block = _analysis()
    cases = [VirtualCase(seed=900 + k, speed_mps=speed, mount=mount, leg=leg, wobble_deg=5.0, clipping=False)
             for k, (speed, mount, leg) in enumerate([(3.0, "shin", "left"), (4.0, "thigh", "right"),
                                                      (2.5, "shin", "right"), (5.0, "thigh", "left")])]
    if quick:
        cases = cases[:1]
    duration = sum(sec for _, sec in MIXED_SEGMENTS)
    walk_as_run = walks = tp = fp = fn = 0
    for case in cases:
        block, truth, offset = simulate_case(case, duration, MIXED_SEGMENTS, kinds=("run", "walk"))
        strides = _running(analyse_block(block, case.mount, case.leg, sensor=0))
        m = match_events([s["ic_t"] + offset for s in strides], [tr.ic_t for tr in truth])
        matched_truth = {j for _, j in m.pairs}
        walks += sum(1 for tr in truth if tr.kind == "walk")
        walk_as_run += sum(1 for j in matched_truth if truth[j].kind == "walk")
        tp += sum(1 for j in matched_truth if truth[j].kind == "run")
        fn += sum(1 for j, tr in enumerate(truth) if tr.kind == "run" and j not in matched_truth)
        fp += m.fp
    return [
        Figure("virtual", "walk/stop: stride F1 of the running", _r(f1_score(tp, fp, fn), 4), "", at_least=0.99,
               note=f"{len(cases)} runs: stand, run 20 s, walk 15 s, stop 8 s, run 20 s, stand; "
                    f"{tp} matched, {fp} running strides where the runner did not run, {fn} missed"),
        Figure("virtual", "walk/stop: walking steps counted as running", walk_as_run, "", at_most=0,
               note=f"of {walks} walking stances"),
    ]


def stream_strides(block, mount: str, leg: str, notification: int = 12) -> list[dict]:
    """The live driver: the streaming analyser fed one notification (12 samples) at a time."""
    from stridecue.analysis.streaming import StreamingStrideAnalyzer
    from stridecue.samples import SampleBlock

    analyzer = StreamingStrideAnalyzer(mount=mount, leg=leg, rate_hz=block.rate, sensor=0)
    out = []
    for i in range(0, len(block), notification):
        out += analyzer.push(SampleBlock(index=block.index[i:i + notification], raw=block.raw[i:i + notification],
                                         rate=block.rate, accel_g=block.accel_g, gyro_code=block.gyro_code))
    return out + analyzer.finish()


def streaming_figures(cases: list[VirtualCase], duration: float) -> list[Figure]:
    """Live driver against offline driver on the same samples: same strides, and how late each is known.

    The delay bound is for strides decided once the segment frame is known; the strides of the
    first seconds of movement, before it is, are released together when it is found (the first
    release of a run) and are reported as the start-up delay."""
    import numpy as np
    analyse_block = _analysis()
    same = total = 0
    aligned, startup, held_for = [], [], []
    startup_runs = 0
    for case in cases:
        block, _, _ = simulate_case(case, duration)
        offline = analyse_block(block, case.mount, case.leg, sensor=0)
        live = stream_strides(block, case.mount, case.leg)
        total += max(len(offline), len(live))
        key = ("kind", "ic_t", "to_t", "wobble_deg", "pta_axial_g")
        live_by_ic = {round(s["ic_t"], 6): s for s in live}
        for s in offline:
            other = live_by_ic.get(round(s["ic_t"], 6))
            if other is not None and all(_close(s.get(k), other.get(k)) for k in key):
                same += 1
        known = [s for s in live if s.get("known_t") is not None]
        if not known:
            continue
        first_release = min(s["known_t"] for s in known)
        held = [s["known_t"] - s["to_t"] for s in known if s["known_t"] == first_release]
        if len(held) > 1:  # strides released together: they waited for the frame
            startup += held
            startup_runs += 1
            first_ic = min(s["ic_t"] for s in known if s["known_t"] == first_release)
            held_for.append(first_release - first_ic)
            aligned += [s["known_t"] - s["to_t"] for s in known if s["known_t"] != first_release]
        else:
            aligned += [s["known_t"] - s["to_t"] for s in known]
    startup_note = f"{len(startup)} strides in {startup_runs} of {len(cases)} runs"
    if startup:
        startup_note += (f" completed while the segment frame was first found and released together once it was "
                         f"(at most {max(held_for):.1f} s after the first one's initial contact); median "
                         f"{_fmt_ms(float(np.median(startup)), signed=False)}")
    return [
        Figure("virtual", "live = offline strides", _r(_pct(same / total) if total else None, 2), "%", at_least=100.0,
               note=f"{same} of {total} strides identical (kind, IC, TO, wobble, PTA); {len(cases)} runs fed 12 samples at a time"),
        Figure("virtual", "live delay after toe-off, frame known (max)", _r(_ms(max(aligned)) if aligned else None, 1), "ms",
               at_most=60.0,
               note=(f"median {_fmt_ms(float(np.median(aligned)), signed=False) if aligned else '–'}; "
                     f"{len(aligned)} strides decided once the segment frame was known")),
        # the issue bounds every stride's delay; the start-up strides are shown against it too
        Figure("virtual", "live delay after toe-off, start-up (max)", _r(_ms(max(startup)) if startup else None, 1), "ms",
               at_most=60.0, note=startup_note),
    ]


def _close(a, b) -> bool:
    if a is None or b is None or isinstance(a, str):
        return a == b
    return abs(float(a) - float(b)) <= 1e-6 * max(1.0, abs(float(a)))


def _ms(v):
    return None if v is None else v * 1000.0


def _pct(v):
    return None if v is None else v * 100.0


def _fmt_ms(v, signed: bool = True):
    """Seconds -> '+3.2 ms' (a bias) or '3.2 ms' (an absolute error)."""
    if v is None:
        return "–"
    return f"{v * 1000:+.1f} ms" if signed else f"{v * 1000:.1f} ms"


# ============================================================================================
# bach2022: shank accelerometer with force plate


def bach_block(trial):
    """A bach2022 trial as the sensor would store it: +-8 g int16, saturated readings clipped."""
    from stridecue.importer import saturated_samples

    return to_sample_block(trial.acc, None, trial.rate_hz, accel_g=8, saturated=saturated_samples(trial.acc))


def validate_bach2022(quick: bool) -> tuple[list[Figure], dict]:
    import numpy as np
    from stridecue import datasets, validation_accel

    analyse_block = _analysis()
    trials = datasets.load_bach2022()
    running = [t for t in trials if t.running]
    walking = [t for t in trials if not t.running]
    if quick:
        running, walking = running[:2], walking[:1]
    tp = fp = fn = 0
    ic_err, to_err, per_trial = [], [], []
    subjects = validation_accel.bach_subjects(trials)
    landing = []
    for t in running:
        strides = _running(analyse_block(bach_block(t), "shin", "left", sensor=0))
        landing += validation_accel.landing_pairs(t, strides, subjects[t.number], match_events)
        m = match_events([s["ic_t"] for s in strides], t.ic_t)
        tp, fp, fn = tp + m.tp, fp + m.fp, fn + m.fn
        errs = m.errors([s["ic_t"] for s in strides], t.ic_t)
        ic_err.extend(errs)
        to_err.extend(m.errors([s["to_t"] for s in strides], t.to_t))
        per_trial.append({"trial": t.number, "contacts": len(t.ic_t), "detected": len(strides), "tp": m.tp, "fp": m.fp,
                          "fn": m.fn, "ic_mae_ms": _r(_ms(mean_abs(errs)), 1)})
    walk_as_run = walk_total = 0
    for t in walking:
        strides = analyse_block(bach_block(t), "shin", "left", sensor=0)
        walk_as_run += sum(1 for s in strides if s.get("kind") == "run")
        walk_total += len(t.ic_t)
    figs = [
        Figure("bach2022", "stride F1 vs force plate", _r(f1_score(tp, fp, fn), 4), "", at_least=0.98,
               note=f"{tp} matched, {fp} extra, {fn} missed; {len(running)} running trials, accel only"),
        Figure("bach2022", "IC timing MAE vs force plate", _r(_ms(mean_abs(ic_err)), 1), "ms", at_most=20.0,
               note=f"bias {_fmt_ms(np.mean(ic_err) if ic_err else None)}; {1000 / running[0].rate_hz:.0f} ms per sample"),
        Figure("bach2022", "TO timing MAE vs force plate", _r(_ms(mean_abs(to_err)), 1), "ms",
               note=f"bias {_fmt_ms(np.mean(to_err) if to_err else None)}"),
        Figure("bach2022", "walking contacts counted as running", walk_as_run, "", at_most=0,
               note=f"of {walk_total} walking contacts in {len(walking)} walking trials"),
    ]
    loso_figs, loso_details = bach_loso_figures(trials, subjects, analyse_block, quick)
    land_figs, land_details = landing_load_figures(landing)
    figs += loso_figs + land_figs
    return figs, {"running_trials": per_trial, "subjects": {str(k): v for k, v in subjects.items()},
                  "loso": loso_details, "landing_load": land_details}


def bach_loso_figures(trials, subjects: dict, analyse_block, quick: bool) -> tuple[list[Figure], dict]:
    """bach2022 leave-one-subject-out: per subject, the accelerometer-only rules' parameters chosen by
    a grid search on the other subjects' trials, scored on the subject's own (validation_accel)."""
    import numpy as np
    from stridecue import validation_accel

    g = "bach2022"
    if "settings" not in inspect.signature(analyse_block).parameters:
        note = "the analysis takes no SegmentationSettings: its rules cannot be re-tuned per fold"
        return [Figure(g, "LOSO stride F1 (held-out subjects)", None, "", at_least=0.98, note=note)], {"error": note}
    # every subject's trials, also with --quick (fewer trials would leave no split); --quick searches fewer rule sets
    grid = validation_accel.LOSO_GRID_QUICK if quick else validation_accel.LOSO_GRID
    combos = validation_accel.grid_settings(grid)
    default = validation_accel.default_index(combos)
    table = validation_accel.evaluate_grid(trials, combos, analyse_block, bach_block, match_events)
    folds = validation_accel.loso_folds(table, subjects, default)
    held = validation_accel.pool([])
    dflt = validation_accel.pool([])
    rows = []
    for f in folds:
        for name in ("tp", "fp", "fn", "walk_as_run", "walk_contacts", "running_trials", "walking_trials"):
            setattr(held, name, getattr(held, name) + getattr(f["held_out"], name))
            setattr(dflt, name, getattr(dflt, name) + getattr(f["default"], name))
        held.ic_err += f["held_out"].ic_err
        dflt.ic_err += f["default"].ic_err
        h, d = f["held_out"], f["default"]
        rows.append({"subject": f["subject"], "test_trials": f["test"], "train_trials": f["train"],
                     "chosen": combos[f["chosen"]], "chosen_differs": validation_accel.changed(combos[f["chosen"]]),
                     "held_out": {"f1": _r(h.f1, 4), "tp": h.tp, "fp": h.fp, "fn": h.fn,
                                  "ic_mae_ms": _r(_ms(h.ic_mae_s), 1), "walk_as_run": h.walk_as_run,
                                  "walk_contacts": h.walk_contacts},
                     "default_rules": {"f1": _r(d.f1, 4), "ic_mae_ms": _r(_ms(d.ic_mae_s), 1),
                                       "walk_as_run": d.walk_as_run}})
    n_subj = len(folds)
    n_run_subj = sum(1 for f in folds if f["held_out"].running_trials)
    search = (f"{len(combos)} rule sets ({', '.join(grid)}) scored on the other subjects' running and walking "
              f"trials (F1 with walking contacts taken for running as false positives, then IC error)")
    per_subject = "; ".join(
        f"{r['subject']} (trials {','.join(map(str, r['test_trials']))}): "
        + (f"F1 {r['held_out']['f1']}, IC {r['held_out']['ic_mae_ms']} ms" if r["held_out"]["tp"] + r["held_out"]["fn"]
           else "walking only")
        + f", walk as run {r['held_out']['walk_as_run']}/{r['held_out']['walk_contacts']} [{r['chosen_differs']}]"
        for r in rows)
    figs = [
        Figure(g, "LOSO stride F1 (held-out subjects)", _r(held.f1, 4), "", at_least=0.98,
               note=f"{held.tp} matched, {held.fp} extra, {held.fn} missed over {n_run_subj} running subjects, each "
                    f"scored with rules chosen on the other {n_subj - 1} of {n_subj}; {search}. Default rules on the "
                    f"same trials (chosen on all of bach2022, not held out): F1 {_r(dflt.f1, 4)}"),
        Figure(g, "LOSO IC timing MAE (held-out subjects)", _r(_ms(held.ic_mae_s), 1), "ms", at_most=20.0,
               note=f"bias {_fmt_ms(np.mean(held.ic_err) if held.ic_err else None)}; default rules "
                    f"{_fmt_ms(dflt.ic_mae_s, signed=False)}"),
        Figure(g, "LOSO walking contacts counted as running (held-out)", held.walk_as_run, "", at_most=0,
               note=f"of {held.walk_contacts} walking contacts of {n_subj} subjects; default rules {dflt.walk_as_run}. "
                    f"Per held-out subject: {per_subject}. Only the numeric thresholds and the walking rules' "
                    f"on/off are re-chosen; the rules' form was written while looking at all of bach2022"),
    ]
    return figs, {"grid": {k: list(v) for k, v in grid.items()}, "rule_sets": len(combos), "folds": rows}


#: Lowest within-subject correlation of distal-tibia peak acceleration with VALR that Zhang et al.
#: found across treadmill speeds and slopes (r = 0.486-0.913; Zhang, An, Au, Chen, Cheung, "Comparison
#: of the correlations between impact loading rates and peak accelerations measured at two different
#: body sites: intra- and inter-subject analysis", Gait & Posture).
LANDING_R_TARGET = 0.49


def landing_load_figures(rows: list[dict]) -> tuple[list[Figure], dict]:
    """Per-stride correlation of the analysis's landing load and loading rate with the force
    plate's vertical average loading rate (validation_accel.valr), clipped strides counted."""
    import numpy as np
    from stridecue import validation_accel

    g = "bach2022"
    figs, details = [], {"strides": rows}
    for metric, label in (("pta_axial_g", "landing load (PTA)"), ("loading_rate_gps", "loading rate")):
        c = validation_accel.correlations(rows, metric)
        details[metric] = c
        a, u = c["all"], c["unclipped"]
        per = "; ".join(f"{s}: r {_r(v['pearson'], 2)} (n {v['n']}, unclipped r "
                        f"{_r(u['per_subject'].get(s, {}).get('pearson'), 2)}, n {u['per_subject'].get(s, {}).get('n', 0)})"
                        for s, v in a["per_subject"].items())
        per_r = [v["pearson"] for v in a["per_subject"].values() if v["pearson"] is not None]
        figs.append(Figure(
            g, f"{label} vs GRF loading rate: per-stride r, within subject (median)",
            _r(float(np.median(per_r)), 3) if per_r else None, "", at_least=LANDING_R_TARGET,
            note=f"Pearson r of {metric} with the vertical average loading rate (20-80 % of the impact peak, or "
                 f"of the force at 13 % of stance without one; BW/s) per subject: {per}. {c['clipped']} of {c['n']} "
                 f"matched strides have a clipped (+-8 g) reading, kept here and left out in 'unclipped'; "
                 f"{c['no_valr']} contacts without a VALR. Target: the lowest within-subject r of Zhang et al."))
        figs.append(Figure(
            g, f"{label} vs GRF loading rate: per-stride r, pooled", _r(a["pearson"], 3), "",
            note=f"all {a['n']} strides of every subject: Pearson {_r(a['pearson'], 3)}, Spearman "
                 f"{_r(a['spearman'], 3)}; unclipped only ({u['n']}): Pearson {_r(u['pearson'], 3)}, Spearman "
                 f"{_r(u['spearman'], 3)}; pooled r mixes subjects (Zhang et al. warn against between-subject use)"))
    return figs, details


# ============================================================================================
# grouvel2023: shank and thigh IMUs with motion capture


#: The IMU and motion capture share a clock when the shank's stride period agrees within this.
CLOCK_RATIO_RANGE = (0.8, 1.25)


def stride_period_s(gyr_dps: np.ndarray, rate_hz: float, max_s: float = 1.5) -> tuple[float | None, float]:
    """(period in s, autocorrelation) of the angular-rate magnitude over its active span.

    The shank swings once per stride, so this is the stride time as the IMU's clock sees it."""
    import numpy as np
    g = np.linalg.norm(np.asarray(gyr_dps, float), axis=1)
    active = np.flatnonzero(g > 60.0)
    if len(active) < 10:
        return None, 0.0
    x = g[active[0]:active[-1] + 1]
    x = x - x.mean()
    ac = np.correlate(x, x, "full")[len(x) - 1:]
    if ac[0] <= 0:
        return None, 0.0
    ac = ac / ac[0]
    lo = max(2, int(0.04 * rate_hz))
    hi = min(len(ac) - 1, int(max_s * rate_hz))
    if hi <= lo:
        return None, 0.0
    # the first clear peak after the lag-0 lobe: a stride, not a multiple of one
    from scipy.signal import find_peaks

    peaks, _ = find_peaks(ac[lo:hi + 1], height=0.2)
    if len(peaks) == 0:
        return None, 0.0
    best = lo + int(peaks[np.argmax(ac[lo + peaks] >= 0.8 * ac[lo + peaks].max())])
    return best / rate_hz, float(ac[best])


def _autocorrelation_at(gyr_dps: np.ndarray, lag_s: float | None, rate_hz: float) -> float | None:
    """Autocorrelation of the active angular-rate magnitude at one lag (near 0: no rhythm there)."""
    import numpy as np
    g = np.linalg.norm(np.asarray(gyr_dps, float), axis=1)
    active = np.flatnonzero(g > 60.0)
    if lag_s is None or len(active) < 10:
        return None
    x = g[active[0]:active[-1] + 1]
    x = x - x.mean()
    lag = int(round(lag_s * rate_hz))
    if lag >= len(x) or not np.any(x):
        return None
    return float(np.dot(x[:-lag], x[lag:]) / np.dot(x, x)) if lag > 0 else 1.0


def mocap_stride_s(ic_left, ic_right) -> float | None:
    """Stride time from the markers: the same foot's ICs, else twice the left-right step time."""
    import numpy as np
    same = [np.diff(np.sort(ic)) for ic in (ic_left, ic_right) if len(ic) >= 2]
    if same:
        return float(np.median(np.concatenate(same)))
    both = np.sort(np.concatenate([ic_left, ic_right]))
    return float(2 * np.median(np.diff(both))) if len(both) >= 2 else None


def validate_grouvel2023(quick: bool) -> tuple[list[Figure], dict]:
    """Wobble against mocap segment angles, where the IMU columns share the mocap's clock.

    Each pass is first checked: the shank IMU's stride period (autocorrelation of its angular
    rate) must match the stride time of the foot markers.  Where it does not, the IMU samples are
    not on the capture's time base and no stance-by-stance comparison is made (said per pass)."""
    import numpy as np
    from stridecue import datasets

    analyse_block = _analysis()
    trials = datasets.load_grouvel2023(participants=["P01", "P02"] if quick else None)
    per: dict[str, dict] = {}
    rows, clocks = [], []
    for trial in trials:
        p = per.setdefault(trial.participant, {"stances": 0, "matched": 0, "detected": 0, "wobble_err": [],
                                               "truth": {"shin": [], "thigh": []}, "measured": [], "ic_err": [],
                                               "passes": 0, "synced": 0, "ratios": []})
        p["passes"] += 1
        mocap = mocap_stride_s(trial.legs["left"].ic_t, trial.legs["right"].ic_t)
        imu_period, strength = stride_period_s(trial.imus["LS"].gyr, trial.rate_hz)
        ratio = mocap / imu_period if mocap and imu_period else None
        synced = ratio is not None and CLOCK_RATIO_RANGE[0] <= ratio <= CLOCK_RATIO_RANGE[1]
        clocks.append({"trial": trial.name, "mocap_stride_s": _r(mocap), "imu_stride_s": _r(imu_period),
                       "autocorrelation": _r(strength, 2), "ratio": _r(ratio, 2),
                       "imu_autocorrelation_at_mocap_stride": _r(_autocorrelation_at(trial.imus["LS"].gyr, mocap,
                                                                                     trial.rate_hz), 2),
                       "same_clock": synced})
        if ratio is not None:
            p["ratios"].append(ratio)
        for code, imu in sorted(trial.imus.items()):
            if imu.segment not in ("shin", "thigh"):
                continue
            truth = trial.legs[imu.leg]
            excursions = truth.excursions(imu.segment, trial.rate_hz)
            p["truth"][imu.segment].extend(excursions)
            p["stances"] += len(truth.ic_t)
            if not synced:
                continue
            block = to_sample_block(imu.acc, imu.gyr, trial.rate_hz)
            strides = _running(analyse_block(block, imu.segment, imu.leg, sensor=0))
            m = match_events([s["ic_t"] for s in strides], truth.ic_t)
            p["detected"] += len(strides)
            p["matched"] += m.tp
            p["ic_err"].extend(m.errors([s["ic_t"] for s in strides], truth.ic_t))
            for i, j in m.pairs:
                w = strides[i].get("wobble_deg")
                if w is not None:
                    p["wobble_err"].append(w - excursions[j])
                    p["measured"].append(w)
            rows.append({"trial": trial.name, "imu": code, "stances": len(truth.ic_t), "detected": len(strides),
                         "matched": m.tp, "truth_excursion_deg": [round(float(x), 2) for x in excursions],
                         "measured_deg": [_r(strides[i].get("wobble_deg"), 2) for i, _ in m.pairs]})
        p["synced"] += synced
    figs = []
    for name, p in sorted(per.items()):
        truth_txt = (f"mocap excursion mean shank {_r(np.mean(p['truth']['shin']), 1) if p['truth']['shin'] else '–'} deg, "
                     f"thigh {_r(np.mean(p['truth']['thigh']), 1) if p['truth']['thigh'] else '–'} deg")
        if p["synced"]:
            note = (f"{p['matched']}/{p['stances']} stances matched ({p['detected']} detected); {truth_txt}; "
                    f"measured mean {_r(np.mean(p['measured']), 1) if p['measured'] else '–'} deg; IC vs markers "
                    f"{_fmt_ms(mean_abs(p['ic_err']), signed=False)} MAE")
        else:
            ratios = ", ".join(f"{r:.1f}" for r in p["ratios"]) or "–"
            note = (f"not comparable: in {p['passes']} pass(es) the IMU columns are not on the capture's clock "
                    f"(mocap stride / IMU stride = {ratios}); {truth_txt}")
        figs.append(Figure("grouvel2023", f"{name} wobble error vs mocap (MAE)",
                           _r(mean_abs(p["wobble_err"]), 2) if p["synced"] else None, "deg", note=note))
    n_synced = sum(c["same_clock"] for c in clocks)
    figs.append(Figure("grouvel2023", "passes with IMU on the capture's clock", n_synced, "",
                       note=f"of {len(clocks)}; the shank IMU's stride period against the markers' stride time "
                            f"(a ratio within {CLOCK_RATIO_RANGE[0]:g}-{CLOCK_RATIO_RANGE[1]:g} counts as one clock)"))
    plate_ic, plate_to = [], []
    for trial in trials:
        for fp in trial.force_plates or []:
            if fp.leg in trial.legs and len(trial.legs[fp.leg].ic_t):
                legs = trial.legs[fp.leg]
                k = int(np.argmin(np.abs(legs.ic_t - fp.ic_t)))
                plate_ic.append(legs.ic_t[k] - fp.ic_t)
                plate_to.append(legs.to_t[k] - fp.to_t)
    if plate_ic:
        figs.append(Figure("grouvel2023", "truth check: marker stance vs force plate", _r(_ms(mean_abs(plate_ic + plate_to)), 1),
                           "ms", note=f"{len(plate_ic)} plate contact(s) of P01: IC {_fmt_ms(np.mean(plate_ic))}, "
                                      f"TO {_fmt_ms(np.mean(plate_to))} (marker minus plate)"))
    all_err = [e for p in per.values() for e in p["wobble_err"]]
    if n_synced:
        figs.append(Figure("grouvel2023", "all participants wobble error (MAE)", _r(mean_abs(all_err), 2), "deg",
                           note=f"{len(all_err)} stances of {n_synced} passes on one clock"))
    return figs, {"passes": rows, "clock_check": clocks}


# ============================================================================================
# adept: 25 minutes of outdoor running, accelerometer at the ankle


def reference_activity(acc: np.ndarray, rate_hz: float, window_s: float = 10.0) -> list[dict]:
    """Per window, from the signal alone: still or moving, and the stride cadence by autocorrelation.

    Independent of the analysis: still when |a| varies less than 0.05 g; otherwise the period of
    |a| is the lag (0.5-1.0 s: one ankle's stride) of the highest autocorrelation, cadence = 120 / period
    in steps per minute, and periodicity = that autocorrelation (running ~0.5 and more).
    """
    import numpy as np
    mag = np.linalg.norm(acc, axis=1)
    w = int(window_s * rate_hz)
    out = []
    lo, hi = int(0.5 * rate_hz), int(1.0 * rate_hz)
    for k in range(0, len(mag) - w + 1, w):
        seg = mag[k:k + w]
        entry = {"t0": k / rate_hz, "still": bool(seg.std() < 0.05), "cadence_spm": None, "periodicity": 0.0}
        if not entry["still"]:
            x = seg - seg.mean()
            ac = np.correlate(x, x, "full")[len(x) - 1:]
            ac = ac / ac[0]
            lag = lo + int(np.argmax(ac[lo:hi + 1]))
            entry["cadence_spm"] = 120.0 * rate_hz / lag
            entry["periodicity"] = float(ac[lag])
        out.append(entry)
    return out


#: --quick takes the first 8 minutes of adept: running, a walk, and a stop in minute 7.
QUICK_ADEPT_S = 480.0


def validate_adept(quick: bool) -> tuple[list[Figure], dict]:
    import numpy as np
    from stridecue import datasets
    from stridecue.importer import saturated_samples

    analyse_block = _analysis()
    rec = datasets.load_adept()["left_ankle"]
    acc = rec.acc[: int(QUICK_ADEPT_S * rec.rate_hz)] if quick else rec.acc
    block = to_sample_block(acc, None, rec.rate_hz, accel_g=8, saturated=saturated_samples(acc))
    start = time.perf_counter()
    strides = analyse_block(block, "shin", "left", sensor=0)
    seconds = time.perf_counter() - start
    run = _running(strides)
    ic = np.array([s["ic_t"] for s in run])
    cad = np.array([s.get("cadence_spm") or np.nan for s in run], float)
    duration = len(acc) / rec.rate_hz
    minutes = int(duration // 60 + (duration % 60 >= 30))  # a last part-minute counts from 30 s
    lo, hi = PLAUSIBLE_CADENCE_SPM
    per_minute = []
    for k in range(minutes):
        sel = (ic >= 60 * k) & (ic < 60 * (k + 1))
        c = cad[sel]
        c = c[np.isfinite(c)]
        per_minute.append({"minute": k, "running_strides": int(sel.sum()),
                           "median_cadence_spm": _r(np.median(c), 1) if len(c) else None})
    run_minutes = [m for m in per_minute if m["running_strides"] >= 10 and m["median_cadence_spm"] is not None]
    plausible = [m for m in run_minutes if lo <= m["median_cadence_spm"] <= hi]
    finite = cad[np.isfinite(cad)]
    stride_plausible = float(np.mean((finite >= lo) & (finite <= hi))) if len(finite) else None
    # running vs stopping, against the signal's own activity windows
    activity = reference_activity(acc, rec.rate_hz)
    still = [a for a in activity if a["still"]]
    still_with_strides = sum(1 for a in still if np.any((ic >= a["t0"]) & (ic < a["t0"] + 10.0)))
    running_ref = [a for a in activity if not a["still"] and a["periodicity"] > 0.4 and a["cadence_spm"]
                   and lo - 10 <= a["cadence_spm"] <= hi + 10]
    found = sum(1 for a in running_ref if np.count_nonzero((ic >= a["t0"]) & (ic < a["t0"] + 10.0)) >= 5)
    from stridecue import validation_accel as va
    from stridecue.analysis.segmentation import SegmentationSettings

    floor = SegmentationSettings().min_stride_s
    twice = va.off_rhythm_strides(ic)
    vacuous = va.vacuous_share(ic, floor)
    agree = []
    for a in running_ref:
        sel = (ic >= a["t0"]) & (ic < a["t0"] + 10.0) & np.isfinite(cad)
        if sel.sum() >= 5:
            agree.append(np.median(cad[sel]) - a["cadence_spm"])
    figs = [
        Figure("adept", "processed end to end", f"{duration / 60:.0f} min" if strides is not None else None, "",
               note=f"{len(run)} running strides, {len(strides) - len(run)} other, in {seconds:.2f} s"),
        Figure("adept", "running minutes with plausible cadence", _r(_pct(len(plausible) / len(run_minutes)) if run_minutes else None, 1),
               "%", at_least=100.0, note=f"{len(plausible)} of {len(run_minutes)} minutes with running in {lo:g}-{hi:g} spm"),
        Figure("adept", "running strides with plausible cadence", _r(_pct(stride_plausible), 1), "%",
               note=f"{lo:g}-{hi:g} steps/min, stride by stride"),
        Figure("adept", "strides counted twice", sum(e["extra"] for e in twice), "", at_most=0,
               note=f"running strides shorter than {va.OFF_RHYTHM_FRACTION:g} x the median of the "
                    f"{va.OFF_RHYTHM_NEIGHBOURS} strides either side (a duplicate or an extra contact; steady "
                    f"running varies by a few %); the analysis itself refuses intervals under {floor:g} s, which "
                    f"this threshold exceeds for {_r(_pct(1 - vacuous) if vacuous is not None else None, 1)} % of the "
                    f"checked strides (local median over {floor / va.OFF_RHYTHM_FRACTION:.2f} s); "
                    + ("; ".join(f"at {x['t']:.1f} s: {'+'.join(f'{v:.2f}' for v in x['intervals_s'])} s vs "
                                 f"{x['local_median_s']:.2f} s" for x in twice[:5]) or "none found")
                    + ("; ..." if len(twice) > 5 else "")),
        Figure("adept", "still windows with running strides", still_with_strides, "", at_most=0,
               note=f"of {len(still)} still 10-s windows (|a| std < 0.05 g)"),
        Figure("adept", "running windows with strides found", _r(_pct(found / len(running_ref)) if running_ref else None, 1), "%",
               note=f"of {len(running_ref)} periodic 10-s windows; cadence vs autocorrelation "
                    f"{_r(mean_abs(agree), 1) if agree else '–'} spm MAE"),
    ]
    return figs, {"per_minute": per_minute, "counted_twice": twice}


# ============================================================================================
# Driver

from .validation_motion import validate_realmotion  # noqa: E402  (it uses the helpers above)
from .validation_population import validate_population  # noqa: E402  (it uses the helpers above)

SUITES = {
    "virtual": validate_virtual,
    "population": validate_population,
    "bach2022": validate_bach2022,
    "grouvel2023": validate_grouvel2023,
    "adept": validate_adept,
    "realmotion": validate_realmotion,
}


def run_validation(quick: bool = False, suites: list[str] | None = None) -> dict:
    """Every suite's figures; a suite that cannot run says why in one line."""
    out = {"quick": quick, "figures": [], "suites": {}}
    for name, fn in SUITES.items():
        if suites and name not in suites:
            continue
        start = time.perf_counter()
        try:
            figs, details = fn(quick)
            status = "ran"
        except Exception as exc:  # one suite's failure must not hide the others
            from stridecue.errors import UserError

            if isinstance(exc, UserError):  # missing data and the like: the message says it all
                error = str(exc)
            else:  # a bug: say where
                last = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
                where = f" ({Path(last.filename).name}:{last.lineno})" if last else ""
                error = f"{type(exc).__name__}: {exc}{where}"
            figs, details, status = [], {"error": error}, "failed"
        out["suites"][name] = {"status": status, "seconds": round(time.perf_counter() - start, 2), **details}
        out["figures"].extend(f.as_dict() for f in figs)
    return out


def format_table(result: dict) -> str:
    rows = [("figure", "value", "target", "")]
    for f in result["figures"]:
        value = "–" if f["value"] is None else f"{f['value']} {f['unit']}".strip()
        verdict = {True: "met", False: "NOT MET", None: ""}[f["met"]]
        rows.append((f"{f['group']}: {f['name']}", value, f["target"], verdict))
    width = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(r[i].ljust(width[i]) for i in range(4)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in width))
    notes = [f"  {f['group']}: {f['name'].strip()}: {f['note']}" for f in result["figures"] if f["note"]]
    if notes:
        lines += ["", "notes:"] + notes
    for name, s in result["suites"].items():
        if s["status"] != "ran":
            lines.append(f"{name}: could not run: {s['error']}")
    lines.append("")
    lines.append("Real data: Bach et al. 2022 (doi:10.1101/2022.02.14.480318); Karas et al., adeptdata (acc_running); "
                 "Grouvel et al. 2023 (doi:10.1038/s41597-023-02077-3).")
    if result["quick"]:
        lines.append("(--quick: fewer virtual runs, fewer trials, 8 minutes of adept; run without it for the reported figures)")
    return "\n".join(lines) + "\n"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable figures")
    parser.add_argument("--quick", action="store_true", help="a short version (under half a minute)")
    parser.add_argument("--suite", action="append", choices=sorted(SUITES), metavar="NAME",
                        help=f"run only this suite ({', '.join(SUITES)}); may be repeated")
    parser.add_argument("--strict", action="store_true", help="exit non-zero when a target is not met")


def main(args: argparse.Namespace, base: Path) -> int:
    from .machine import measured_on

    started = measured_on()
    result = run_validation(bool(args.quick), args.suite)
    result["measured_on"] = started
    if args.json:
        json.dump(result, sys.stdout, indent=2, default=_json_default)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(format_table(result))
    failed = any(s["status"] != "ran" for s in result["suites"].values())
    missed = any(f["met"] is False for f in result["figures"])
    return 1 if failed or (args.strict and missed) else 0


def _json_default(obj):
    import numpy as np
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)
