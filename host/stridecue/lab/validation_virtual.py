"""`validate --suite virtual`: the analysis against the virtual runner's truth over many seeds,
speeds of 2-6 m/s, both mounts and legs, random board rotations, noise, bias and clipping; walking
and stopping; the live driver against the offline one and how late each stride is known."""

from __future__ import annotations

import inspect
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from stridecue.lab.evaluation import (EventTally, Figure, _analysis, _close, _fmt_ms, _ms, _pct, _r, _running, f1_score,
                                      match_events, mean_abs, to_sample_block)

if TYPE_CHECKING:
    from stridecue.analysis.stride import Stride

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
class _Tally(EventTally):
    """Matched errors of a group of virtual runs."""

    to: list = field(default_factory=list)
    wobble: list = field(default_factory=list)
    pta: list = field(default_factory=list)
    clipped: int = 0

    def figures(self, label: str, runs: str) -> list[Figure]:
        import numpy as np
        g = "virtual"
        wob = np.abs(self.wobble) if self.wobble else None
        return [
            Figure(g, f"{label}stride F1", _r(self.f1, 4), "", at_least=0.99,
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
        detected, true = [s.ic_t + offset for s in strides], [tr.ic_t for tr in truth]
        m = match_events(detected, true)
        case_wobble = []
        for tally in (tallies[""], tallies[case.mount]):
            tally.count(m, detected, true)
            for i, j in m.pairs:
                s, tr = strides[i], truth[j]
                tally.to.append(s.to_t + offset - tr.to_t)
                if s.wobble_deg is not None:
                    tally.wobble.append(s.wobble_deg - tr.wobble_deg)
                if s.clipped:
                    tally.clipped += 1
                elif s.pta_axial_g is not None and tr.pta_axial_g:
                    tally.pta.append((s.pta_axial_g - tr.pta_axial_g) / tr.pta_axial_g)
        for i, j in m.pairs:
            if strides[i].wobble_deg is not None:
                case_wobble.append(strides[i].wobble_deg - truth[j].wobble_deg)
        cases_out.append({**asdict(case), "truth": len(truth), "detected": len(strides), "tp": m.tp, "fp": m.fp,
                          "fn": m.fn, "ic_mae_ms": _r(_ms(mean_abs([strides[i].ic_t + offset - truth[j].ic_t
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
        m = match_events([s.ic_t + offset for s in strides], [tr.ic_t for tr in truth])
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


def stream_strides(block, mount: str, leg: str, notification: int = 12) -> list[Stride]:
    """The live driver: the streaming analyser fed one notification (12 samples) at a time."""
    from stridecue.analysis.streaming import StreamingStrideAnalyzer
    from stridecue.link.samples import SampleBlock

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
        live_by_ic = {round(s.ic_t, 6): s for s in live}
        for s in offline:
            other = live_by_ic.get(round(s.ic_t, 6))
            if other is not None and all(_close(getattr(s, k), getattr(other, k)) for k in key):
                same += 1
        known = live
        if not known:
            continue
        first_release = min(s.known_t for s in known)
        held = [s.known_t - s.to_t for s in known if s.known_t == first_release]
        if len(held) > 1:  # strides released together: they waited for the frame
            startup += held
            startup_runs += 1
            first_ic = min(s.ic_t for s in known if s.known_t == first_release)
            held_for.append(first_release - first_ic)
            aligned += [s.known_t - s.to_t for s in known if s.known_t != first_release]
        else:
            aligned += [s.known_t - s.to_t for s in known]
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


