"""`stridecue validate --suite realmotion`: the analysis on real human running motion.

grouvel2023's motion capture (11 over-ground passes of 6 runners, 100 frames/s) drives a virtual
IMU (`stridecue.lab.mocap_imu`) on each shank and thigh, in several plausible mountings; the truth is
the markers' own: stances from the heel/toe markers, frontal-plane excursion of the joint-centre
line projected on the lab's y-z plane (`datasets.grouvel2023.LegTruth.excursions`, docs/metrics.md).

Three views, each reported as measured:

- live: every recording through the analysis users get (evaluation._analysis(), the offline
  driver of the streaming analyser), without and with a 3 s standstill before the pass;
- metric alone: `StrideMetrics` on windows cut at the true IC / toe-off, in the segment frame of the
  true mounting (then in the frame the analysis itself found), so only the wobble metric is tested;
- knee: the knee frontal-plane angle change over stance from a thigh + shank pair
  (`combine.knee_frontal_angle`) against the markers' thigh + shank angle.

A wobble of None (withheld by the analysis) is counted as withheld, never as an error.  Landing
load (PTA, loading rate) is not scored: 100 frames/s cannot show the impact (sim/mocap.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from stridecue.lab.evaluation import EventTally

if TYPE_CHECKING:
    import numpy as np

    from stridecue.analysis.combine import KneeStance
    from stridecue.analysis.stride import Stride
    from stridecue.lab.evaluation import Figure

# lab/validation.py loads this module only when the suite runs; the helpers it takes from
# lab/evaluation.py are imported where they are used.

GROUP = "realmotion"
WOBBLE_MAE_TARGET_DEG = 1.5
KNEE_MAE_TARGET_DEG = 2.0
IC_MAE_TARGET_MS = 10.0
STANDSTILL_S = 3.0
#: Preceding cycle for the metric when the markers give no stride time (a pass with one stance per leg).
DEFAULT_STRIDE_S = 0.75
SEGMENT_LABEL = {"shin": "shank", "thigh": "thigh"}
SEGMENTS = ("shin", "thigh")
STANDSTILLS = (0.0, STANDSTILL_S)  # seconds of standing still before the pass, each measured
QUICK_PARTICIPANTS = ["P01", "P02"]


@dataclass
class WobbleTally:
    """Measured against true wobble of matched stances; None counted apart."""

    measured: list = field(default_factory=list)
    truth: list = field(default_factory=list)
    withheld: int = 0

    def add(self, measured: float | None, truth: float) -> None:
        if measured is None:
            self.withheld += 1
        else:
            self.measured.append(float(measured))
            self.truth.append(float(truth))

    @property
    def errors(self) -> np.ndarray:
        import numpy as np
        return np.asarray(self.measured, float) - np.asarray(self.truth, float)

    def summary(self) -> dict:
        import numpy as np
        from stridecue.lab.evaluation import _r, mean_abs
        e = self.errors
        return {"n": len(e), "withheld": self.withheld, "mae_deg": _r(mean_abs(e), 3),
                "bias_deg": _r(float(np.mean(e)), 3) if len(e) else None,
                "worst_deg": _r(float(np.max(np.abs(e))), 3) if len(e) else None,
                "r": _r(pearson(self.measured, self.truth), 3)}


@dataclass
class LiveTally(EventTally):
    """Stance detection and wobble of the live pipeline over many recordings."""

    walk_labelled: int = 0
    ramp_strides: int = 0
    recordings: int = 0
    wobble: WobbleTally = field(default_factory=WobbleTally)


def pearson(a, b) -> float | None:
    import numpy as np
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 3 or np.std(a) == 0 or np.std(b) == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def knee_truth(truth, rate_hz: float) -> np.ndarray:
    """Markers' knee frontal-plane angle change per stance: max over [IC, TO] of (theta_shank +
    theta_thigh) minus its value at IC (both positive when the knee is medial, so the sum is the
    angle between the projected segments, as combine.knee_frontal_angle defines it)."""
    from stridecue.lab.datasets.mocap_truth import stance_excursions

    return stance_excursions(truth.shank_angle_deg + truth.thigh_angle_deg, truth.ic_t, truth.to_t, rate_hz)


# ------------------------------------------------------------------------------------------
# the three views


def live_strides(analyse_block, rec, segment: str, leg: str) -> list[Stride]:
    """The analysis's strides of one virtual recording, ic_t/to_t on the markers' clock."""
    from dataclasses import replace
    from stridecue.lab.evaluation import to_sample_block
    block = to_sample_block(rec.acc_g, rec.gyr_dps, rec.rate_hz)
    strides = analyse_block(block, segment, leg, sensor=0)
    return [replace(s, ic_t=s.ic_t + rec.start_s, to_t=s.to_t + rec.start_s) for s in strides]


def score_live(tally: LiveTally, strides: list[Stride], truth, excursions: np.ndarray) -> list[dict]:
    """Add one recording's strides to the tally; the ramp from standing (t < 0) is not scored."""
    from stridecue.lab.evaluation import _r, _running, match_events
    tally.recordings += 1
    tally.ramp_strides += sum(1 for s in strides if s.ic_t < 0)
    real = [s for s in strides if s.ic_t >= 0]
    running = _running(real)
    m = match_events([s.ic_t for s in running], truth.ic_t)
    tally.count(m, [s.ic_t for s in running], truth.ic_t)
    walks = [s for s in real if s.kind != "run"]
    missed = [truth.ic_t[j] for j in m.unmatched_truth]
    tally.walk_labelled += match_events([s.ic_t for s in walks], missed).tp
    for i, j in m.pairs:
        tally.wobble.add(running[i].wobble_deg, excursions[j])
    return [{"ic_t": _r(s.ic_t), "kind": s.kind, "wobble_deg": _r(s.wobble_deg, 2)} for s in real]


def known_windows(rec, truth, stride_s: float, to_segment) -> list:
    """StrideWindows at the true stances, cycle start up to one stride before IC within the pass."""
    import numpy as np
    from stridecue.analysis.metrics import StrideWindow

    acc, gyr = to_segment(rec.acc_g), to_segment(rec.gyr_dps)
    first = rec.index_at(0.0)
    out = []
    for ic, to in zip(truth.ic_t, truth.to_t):
        i, j = rec.index_at(ic), rec.index_at(to)
        c = max(first, rec.index_at(ic - stride_s))
        out.append(StrideWindow(acc=acc[c:j + 1], gyr=gyr[c:j + 1], clipped=np.zeros(j + 1 - c, bool),
                                ic=i - c, to=j - c, cycle_start=0))
    return out


def metric_alone(rec, truth, segment: str, leg: str, stride_s: float, to_segment) -> tuple[list, list]:
    """(wobble per true stance or None, frontal-angle traces) of StrideMetrics on the known stances."""
    import numpy as np
    from stridecue.analysis.metrics import StrideMetrics

    metrics = StrideMetrics(segment, leg, rec.rate_hz)
    values = metrics.compute(known_windows(rec, truth, stride_s, to_segment))
    traces = list(getattr(metrics, "frontal_angle_", []) or [])
    traces += [np.zeros(0)] * (len(values) - len(traces))
    return [v.get("wobble_deg") for v in values], traces


def analysis_frame(rec, segment: str, leg: str):
    """The board -> segment transform the streaming analyser settled on for this recording (None if none)."""
    from stridecue.lab.evaluation import to_sample_block
    from stridecue.analysis.streaming import StreamingStrideAnalyzer

    analyzer = StreamingStrideAnalyzer(mount=segment, leg=leg, rate_hz=rec.rate_hz, sensor=0, deferred=True)
    analyzer.push(to_sample_block(rec.acc_g, rec.gyr_dps, rec.rate_hz))
    analyzer.finish()
    alignment = analyzer.alignment_
    return None if alignment is None else alignment.to_segment


def own_excursions(rec, truth, direction: int):
    """The frontal-plane excursion of the virtual IMU's own segment orientation at the true stances
    (the same definition as the markers' truth, on the low-passed, resampled motion)."""
    import numpy as np
    from stridecue.lab.datasets.grouvel2023 import LegTruth
    from stridecue.lab.datasets.mocap_truth import segment_frontal_angles

    z = rec.rotation[:, :, 2]
    zero = np.zeros_like(z)
    if rec.segment == "shin":
        angle, _ = segment_frontal_angles(2 * z, z, zero, leg=rec.leg, direction=direction)
    else:
        _, angle = segment_frontal_angles(z, zero, -z, leg=rec.leg, direction=direction)
    shifted = LegTruth(leg=rec.leg, shank_angle_deg=angle, thigh_angle_deg=angle, ic_t=truth.ic_t - rec.start_s,
                       to_t=truth.to_t - rec.start_s)
    return shifted.excursions(rec.segment, rec.rate_hz)


def knee_from_known(truth, thigh: tuple[list, list], shank: tuple[list, list], leg: str, rate_hz: float) -> list:
    """combine.knee_frontal_angle on the metric-alone traces of one leg's true stances."""
    import math
    from stridecue.analysis.combine import knee_frontal_angle
    from stridecue.analysis.stride import Stride

    def strides(wobbles):
        # the true stances as strides: only what the pairing reads is meaningful here
        return [Stride(sensor=0, leg=leg, mount="", kind="run", ic_t=float(ic), to_t=float(to), known_t=float(to),
                       contact_time_s=float(to - ic), stride_time_s=None, cadence_spm=None, wobble_deg=w,
                       wobble_note=None, wobble_rate_dps=None, pta_axial_g=math.nan, pta_resultant_g=math.nan,
                       loading_rate_gps=math.nan, clipped=False, gap=False, accel_only=False, alignment_confidence=1.0)
                for ic, to, w in zip(truth.ic_t, truth.to_t, wobbles)]

    return knee_frontal_angle((strides(thigh[0]), thigh[1]), (strides(shank[0]), shank[1]), rate_hz)


def score_knee(tally: WobbleTally, knees: list[KneeStance], truth, knee_true: np.ndarray,
               whole: tuple[WobbleTally, float] | None = None) -> None:
    """Knee excursions matched to true stances by the shank's IC; stances without one are withheld.
    whole: (tally, stride s) also given the stances with a whole stride of the pass before them."""
    from stridecue.lab.evaluation import match_events

    m = match_events([k.ic_t for k in knees], truth.ic_t)
    got = {j: knees[i].knee_excursion_deg for i, j in m.pairs}
    for j in range(len(truth.ic_t)):
        tally.add(got.get(j), knee_true[j])
        if whole is not None and truth.ic_t[j] >= whole[1]:
            whole[0].add(got.get(j), knee_true[j])


# ------------------------------------------------------------------------------------------
# the suite


def realmotion_plan(quick: bool) -> dict:
    return {"participants": QUICK_PARTICIPANTS if quick else None, "mountings": 1 if quick else 3, "seed": 14}


@dataclass
class RealMotionTallies:
    """Everything the suite counts, by view; `whole` tallies keep the stances with a whole stride of
    the pass before them (the metric's vertical comes from the preceding cycle)."""

    live: dict = field(default_factory=lambda: {(seg, ss): LiveTally() for seg in SEGMENTS for ss in STANDSTILLS})
    own: dict = field(default_factory=lambda: {seg: WobbleTally() for seg in SEGMENTS})
    alone: dict = field(default_factory=lambda: {seg: WobbleTally() for seg in SEGMENTS})
    alone_whole: dict = field(default_factory=lambda: {seg: WobbleTally() for seg in SEGMENTS})
    framed: dict = field(default_factory=lambda: {seg: WobbleTally() for seg in SEGMENTS})
    knee_alone: WobbleTally = field(default_factory=WobbleTally)
    knee_alone_whole: WobbleTally = field(default_factory=WobbleTally)
    knee_live: dict = field(default_factory=lambda: {ss: WobbleTally() for ss in STANDSTILLS})

    def summary(self) -> dict:
        label = SEGMENT_LABEL
        return {"virtual_orientation": {label[s]: t.summary() for s, t in self.own.items()},
                "metric_alone": {label[s]: t.summary() for s, t in self.alone.items()},
                "metric_alone_whole_stride_before": {label[s]: t.summary() for s, t in self.alone_whole.items()},
                "metric_analysis_frame": {label[s]: t.summary() for s, t in self.framed.items()},
                "knee_metric_alone": self.knee_alone.summary(),
                "knee_metric_alone_whole_stride_before": self.knee_alone_whole.summary(),
                "knee_live": {f"standstill_{ss:g}s": t.summary() for ss, t in self.knee_live.items()},
                "live": {f"{label[s]}_standstill_{ss:g}s": {**t.wobble.summary(), "tp": t.tp, "fp": t.fp, "fn": t.fn}
                         for (s, ss), t in self.live.items()}}


def validate_realmotion(quick: bool) -> tuple[list[Figure], dict]:
    from stridecue.lab.datasets.grouvel2023 import load_grouvel2023
    from stridecue.lab.evaluation import _analysis
    from stridecue.lab.validation_real import mocap_stride_s

    analyse_block = _analysis()
    plan = realmotion_plan(quick)
    trials = load_grouvel2023(participants=plan["participants"])
    tallies = RealMotionTallies()
    rows = []
    for trial in trials:
        stride_s = mocap_stride_s(trial.legs["left"].ic_t, trial.legs["right"].ic_t) or DEFAULT_STRIDE_S
        for leg in ("left", "right"):
            if not len(trial.legs[leg].ic_t):
                continue
            recs, known = {}, {}
            for seg in SEGMENTS:
                recs_seg, known[seg], seg_rows = score_segment(tallies, analyse_block, trial, leg, seg, plan, stride_s)
                recs.update({(seg, ss): r for ss, r in recs_seg.items()})
                rows += seg_rows
            score_knees(tallies, trial, leg, recs, known, stride_s)
    scope = (f"{len(trials)} grouvel2023 passes, {plan['mountings']} mounting(s) per segment and leg, "
             f"virtual IMU at 416 Hz from 100 frames/s markers")
    return realmotion_figures(tallies, scope), {"plan": plan, "recordings": rows, "summary": tallies.summary()}


def score_segment(tallies: RealMotionTallies, analyse_block, trial, leg: str, seg: str, plan: dict, stride_s: float):
    """One segment of one leg of a pass, every mounting, every view but the knee's.
    Returns ({standstill: recordings}, [(wobble, traces) of the metric alone per mounting], detail rows)."""
    from stridecue.lab.mocap_imu import plausible_mountings, simulate_pass
    from stridecue.lab.evaluation import _r

    truth = trial.legs[leg]
    mountings = plausible_mountings(seg, leg, plan["mountings"], plan["seed"])
    excursions = truth.excursions(seg, trial.rate_hz)
    recs = {ss: simulate_pass(trial, leg, seg, mountings, standstill_s=ss) for ss in STANDSTILLS}
    known, rows = [], []
    for k, (rec, rec_ss) in enumerate(zip(recs[0.0], recs[STANDSTILL_S])):
        row = {"trial": trial.name, "leg": leg, "segment": seg, "mounting": rec.mounting.name,
               "truth_ic_t": [_r(x) for x in truth.ic_t], "truth_wobble_deg": [_r(x, 2) for x in excursions]}
        for ss, r in ((0.0, rec), (STANDSTILL_S, rec_ss)):
            strides = live_strides(analyse_block, r, seg, leg)
            row[f"live_standstill_{ss:g}s"] = score_live(tallies.live[seg, ss], strides, truth, excursions)
        wob, traces = metric_alone(rec, truth, seg, leg, stride_s, lambda v, m=rec.mounting.rotation: v @ m.T)
        known.append((wob, traces))
        for w, x, ic in zip(wob, excursions, truth.ic_t):
            tallies.alone[seg].add(w, x)
            if ic >= stride_s:
                tallies.alone_whole[seg].add(w, x)
        row["metric_true_frame_deg"] = [_r(w, 2) for w in wob]
        to_segment = analysis_frame(rec_ss, seg, leg)
        wob_f = metric_alone(rec_ss, truth, seg, leg, stride_s, to_segment)[0] if to_segment else [None] * len(excursions)
        for w, x in zip(wob_f, excursions):
            tallies.framed[seg].add(w, x)
        row["metric_analysis_frame_deg"] = [_r(w, 2) for w in wob_f]
        if k == 0:  # the orientation is the segment's, whatever the mounting
            for x, y in zip(own_excursions(rec, truth, trial.direction), excursions):
                tallies.own[seg].add(x, y)
        rows.append(row)
    return recs, known, rows


def score_knees(tallies: RealMotionTallies, trial, leg: str, recs: dict, known: dict, stride_s: float) -> None:
    """The knee angle change of each thigh + shank mounting pair: metric alone and live."""
    from dataclasses import replace
    from stridecue.analysis.combine import knee_from_blocks
    from stridecue.lab.evaluation import to_sample_block

    truth = trial.legs[leg]
    knee_true = knee_truth(truth, trial.rate_hz)
    for k in range(len(known["shin"])):
        knees = knee_from_known(truth, known["thigh"][k], known["shin"][k], leg, recs["shin", 0.0][k].rate_hz)
        score_knee(tallies.knee_alone, knees, truth, knee_true, whole=(tallies.knee_alone_whole, stride_s))
        for ss in STANDSTILLS:
            thigh, shank = recs["thigh", ss][k], recs["shin", ss][k]
            knees = knee_from_blocks(to_sample_block(thigh.acc_g, thigh.gyr_dps, thigh.rate_hz),
                                     to_sample_block(shank.acc_g, shank.gyr_dps, shank.rate_hz), leg)
            knees = [replace(kn, ic_t=kn.ic_t + shank.start_s) for kn in knees]
            score_knee(tallies.knee_live[ss], [kn for kn in knees if kn.ic_t >= 0], truth, knee_true)


def _whole(t: WobbleTally) -> str:
    s = t.summary()
    return (f"the {s['n'] + s['withheld']} stances with a whole stride before them give MAE "
            f"{s['mae_deg'] if s['mae_deg'] is not None else '–'} deg, worst "
            f"{s['worst_deg'] if s['worst_deg'] is not None else '–'} deg")


def realmotion_figures(t: RealMotionTallies, scope: str) -> list[Figure]:
    figs = []
    for seg in SEGMENTS:
        figs += wobble_figures(t.own[seg], f"truth check: virtual {SEGMENT_LABEL[seg]} orientation", (
            "frontal-plane excursion of the virtual IMU's own segment orientation (markers low-passed at 12 Hz, "
            "resampled to 416 Hz) against the raw markers': the floor under every other wobble figure"),
            only_mae=True, target=False)
    for (seg, ss), tally in t.live.items():
        figs += live_figures(tally, seg, ss, scope)
    for seg in SEGMENTS:
        figs += wobble_figures(t.alone[seg], f"metric on known stances, {SEGMENT_LABEL[seg]}",
                               f"StrideMetrics on windows at the markers' IC/TO, in the true mounting's segment frame, "
                               f"preceding cycle up to one stride within the pass (the passes start mid-run: "
                               f"{_whole(t.alone_whole[seg])})")
    for seg in SEGMENTS:
        figs += wobble_figures(t.framed[seg], f"metric on known stances, analysis's frame, {SEGMENT_LABEL[seg]}",
                               f"as above, in the frame the streaming analyser found on the recording with a "
                               f"{STANDSTILL_S:g} s standstill (None where it found none)", only_mae=True)
    figs += knee_figures(t.knee_alone, "knee angle change, metric on known stances",
                         f"combine.knee_frontal_angle on the thigh and shank traces of the known stances "
                         f"({_whole(t.knee_alone_whole)})")
    for ss, tally in t.knee_live.items():
        figs += knee_figures(tally, f"knee angle change, live{_standstill_label(ss)}",
                             "combine.knee_from_blocks on the thigh and shank recordings of one mounting pair")
    return figs


def _standstill_label(ss: float) -> str:
    return f", {ss:g} s standstill" if ss else ", no standstill"


def live_figures(t: LiveTally, seg: str, ss: float, scope: str) -> list[Figure]:
    import numpy as np
    from stridecue.lab.evaluation import Figure, _fmt_ms, _ms, _r, f1_score, mean_abs
    label = f"live {SEGMENT_LABEL[seg]}{_standstill_label(ss)}"
    ramp = f"; {t.ramp_strides} strides found in the ramp from standing, not scored" if ss else ""
    figs = [
        Figure(GROUP, f"{label}: stance F1", _r(f1_score(t.tp, t.fp, t.fn), 4), "",
               note=f"{t.tp} matched, {t.fp} extra, {t.fn} missed (running strides, IC within 100 ms); "
                    f"{t.walk_labelled} missed stances found but labelled walking{ramp}; {t.recordings} recordings; {scope}"),
        Figure(GROUP, f"{label}: IC MAE", _r(_ms(mean_abs(t.ic)), 1), "ms", at_most=IC_MAE_TARGET_MS,
               note=f"bias {_fmt_ms(float(np.mean(t.ic)) if t.ic else None)}; truth from the heel/toe markers "
                    f"(10 ms frames); the virtual IMU has no landing impact (100 frames/s), so contact is timed without one"),
    ]
    return figs + wobble_figures(t.wobble, label, "matched running strides")


def wobble_figures(w: WobbleTally, label: str, how: str, only_mae: bool = False, target: bool = True) -> list[Figure]:
    import numpy as np
    from stridecue.lab.evaluation import Figure, _r
    s = w.summary()
    figs = [Figure(GROUP, f"{label}: wobble MAE", s["mae_deg"], "deg", at_most=WOBBLE_MAE_TARGET_DEG if target else None,
                   note=f"{s['n']} stances, bias {s['bias_deg'] if s['bias_deg'] is not None else '–'} deg, worst "
                        f"{s['worst_deg'] if s['worst_deg'] is not None else '–'} deg, r {s['r'] if s['r'] is not None else '–'}, "
                        f"{s['withheld']} withheld (None); {how}; truth: the joint-centre line's frontal-plane "
                        f"excursion (mean {_r(np.mean(w.truth), 2) if w.truth else '–'} deg)")]
    if only_mae:
        return figs
    return figs + [
        Figure(GROUP, f"{label}: wobble r", s["r"], "", note="Pearson r of measured with true wobble per stance"),
        Figure(GROUP, f"{label}: wobble worst error", s["worst_deg"], "deg", note="largest |measured - true|"),
        Figure(GROUP, f"{label}: wobble withheld", s["withheld"], "",
               note=f"stances whose wobble the analysis withheld (None), of {s['n'] + s['withheld']}"),
    ]


def knee_figures(w: WobbleTally, label: str, how: str) -> list[Figure]:
    import numpy as np
    from stridecue.lab.evaluation import Figure, _r
    s = w.summary()
    return [Figure(GROUP, f"{label}: MAE", s["mae_deg"], "deg", at_most=KNEE_MAE_TARGET_DEG,
                   note=f"{s['n']} stances, bias {s['bias_deg'] if s['bias_deg'] is not None else '–'} deg, worst "
                        f"{s['worst_deg'] if s['worst_deg'] is not None else '–'} deg, r {s['r'] if s['r'] is not None else '–'}, "
                        f"{s['withheld']} without a value; {how}; truth: change over stance of the markers' thigh + "
                        f"shank frontal-plane angle (mean {_r(np.mean(w.truth), 2) if w.truth else '–'} deg)")]
