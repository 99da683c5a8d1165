"""Two sensors: the knee's frontal-plane angle (thigh + shank of one leg) and left/right asymmetry.

Knee frontal-plane angle.  With the shared sign convention both segment angles are positive when
the knee end is medial: the shank's when the knee is medial of the ankle, the thigh's when the
knee is medial of the hip.  The angle between the two segments in the frontal plane, positive in
the valgus direction, is therefore their sum (exact for the projected angles; the projections of
two segments on one plane).  Its excursion over stance is the two-sensor counterpart of wobble.
It is still a frontal-plane projection of segment axes found by inertial sensors, not the joint's
anatomical valgus angle (docs/metrics.md).

The sensors' clocks are independent, so the two segments' stances are paired by their own initial
contacts (within `pair_tolerance_s`) and their angle traces are aligned at those contacts.

Asymmetry.  For each metric, the symmetry index of Robinson et al. (1987),
SI = 100 * (L - R) / ((L + R) / 2), on the medians of the running strides of each leg.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stridecue.link.samples import SampleBlock
from stridecue.analysis.streaming import StreamingStrideAnalyzer
from stridecue.analysis.stride import Stride

ASYMMETRY_METRICS = ("wobble_deg", "wobble_rate_dps", "pta_axial_g", "pta_resultant_g", "loading_rate_gps",
                     "contact_time_s", "stride_time_s", "cadence_spm")


@dataclass(frozen=True, slots=True)
class KneeStance:
    """The knee's frontal-plane angle over one stance seen by a thigh and a shank sensor of one leg.

    leg, kind ("run"/"walk"), ic_t (s, the shank's clock) and thigh_ic_t (s, the thigh's clock) of
    the paired stances; knee_angle_ic_deg, knee_angle_peak_deg (deg, positive = valgus) and
    knee_excursion_deg (deg, peak minus the value at IC, >= 0); shank_wobble_deg and
    thigh_wobble_deg (deg, each segment's own wobble; None when withheld); gap (either stride
    had one); alignment_confidence (0..1, the lower of the two).
    """

    leg: str
    kind: str
    ic_t: float
    thigh_ic_t: float
    knee_angle_ic_deg: float
    knee_angle_peak_deg: float
    knee_excursion_deg: float
    shank_wobble_deg: float | None
    thigh_wobble_deg: float | None
    gap: bool
    alignment_confidence: float


def traced_strides(block: SampleBlock, mount: str, leg: str, sensor: int = 0) -> tuple[list[Stride], list[np.ndarray]]:
    """Strides of one sensor plus each stride's frontal-plane angle trace (degrees, IC -> TO)."""
    analyzer = StreamingStrideAnalyzer(mount=mount, leg=leg, rate_hz=block.rate or 416.0, sensor=sensor,
                                       deferred=True, keep_traces=True)
    strides = analyzer.push(block)
    strides.extend(analyzer.finish())
    return strides, analyzer.traces_


def knee_frontal_angle(thigh: tuple[list[Stride], list[np.ndarray]], shank: tuple[list[Stride], list[np.ndarray]],
                       rate_hz: float, pair_tolerance_s: float = 0.04) -> list[KneeStance]:
    """Per stance seen by both sensors of one leg: the knee frontal-plane angle at IC, its peak and
    its excursion (max over stance minus the value at IC), degrees.

    thigh, shank: (strides, traces) as traced_strides returns them; rate_hz of the traces."""
    t_strides, t_traces = thigh
    s_strides, s_traces = shank
    if not t_strides or not s_strides:
        return []
    t_ic = np.array([s.ic_t for s in t_strides])
    out = []
    for s, s_tr in zip(s_strides, s_traces):
        if s.wobble_deg is None or len(s_tr) == 0:
            continue
        j = int(np.argmin(np.abs(t_ic - s.ic_t)))
        t = t_strides[j]
        t_tr = t_traces[j]
        if abs(t_ic[j] - s.ic_t) > pair_tolerance_s or len(t_tr) == 0:
            continue
        n = min(len(s_tr), len(t_tr))
        knee = s_tr[:n] + t_tr[:n]
        out.append(KneeStance(
            leg=s.leg, kind=s.kind, ic_t=s.ic_t, thigh_ic_t=t.ic_t,
            knee_angle_ic_deg=float(knee[0]),
            knee_angle_peak_deg=float(knee.max()),
            knee_excursion_deg=float(max(0.0, knee.max() - knee[0])),
            shank_wobble_deg=s.wobble_deg, thigh_wobble_deg=t.wobble_deg,
            gap=bool(s.gap or t.gap),
            alignment_confidence=float(min(s.alignment_confidence, t.alignment_confidence)),
        ))
    return out


def knee_from_blocks(thigh_block: SampleBlock, shank_block: SampleBlock, leg: str) -> list[KneeStance]:
    """Knee frontal-plane angle per stance from a thigh and a shank sensor of the same leg."""
    return knee_frontal_angle(traced_strides(thigh_block, "thigh", leg, thigh_block.sensor),
                              traced_strides(shank_block, "shin", leg, shank_block.sensor),
                              shank_block.rate)


def repeated_segments(worn) -> set[tuple[str, str]]:
    """(leg, "thigh") for each leg that wears both a shin and a thigh sensor.

    Both sensors see the same steps, so the thigh's strides are the shin's strides again: they are
    shown beside the shin's, never added to the runner's stride count.  The shin's strides are the
    ones counted (landing load is a tibial measure).  worn: (leg, mount) pairs (of the sensor
    setups, the run's sensor rows, or the strides themselves)."""
    mounts: dict[str, set] = {}
    for leg, mount in worn:
        mounts.setdefault(leg, set()).add(mount)
    return {(leg, "thigh") for leg, m in mounts.items() if {"shin", "thigh"} <= m}


def counted_strides(strides: list[Stride]) -> list[Stride]:
    """The strides that count, each step once: without the thigh's repeats of a shin's strides
    (repeated_segments of the strides themselves)."""
    repeated = repeated_segments((s.leg, s.mount) for s in strides)
    return [s for s in strides if (s.leg, s.mount) not in repeated]


def symmetry_index(left: float | None, right: float | None) -> float | None:
    """Robinson et al. (1987): 100 (L - R) / ((L + R) / 2); None when undefined."""
    if left is None or right is None or not np.isfinite(left) or not np.isfinite(right):
        return None
    mean = 0.5 * (left + right)
    if abs(mean) < 1e-9:
        return None
    return float(100.0 * (left - right) / mean)


def asymmetry(strides: list[Stride], metrics: tuple[str, ...] = ASYMMETRY_METRICS, min_strides: int = 5,
              kind: str = "run") -> dict:
    """Left/right medians and symmetry index of every metric over the strides of one kind.

    Strides of both legs should come from the same mount (a shank and a thigh are not comparable);
    when both mounts are present, only the mount worn on both legs is used."""
    chosen = [s for s in strides if s.kind == kind]
    mounts = {leg: {s.mount for s in chosen if s.leg == leg} for leg in ("left", "right")}
    common = mounts["left"] & mounts["right"]
    if not common:
        return {"mount": None, "strides": {"left": 0, "right": 0}, "metrics": {}}
    mount = "shin" if "shin" in common else sorted(common)[0]
    chosen = [s for s in chosen if s.mount == mount]
    out: dict = {"mount": mount, "strides": {}, "metrics": {}}
    for leg in ("left", "right"):
        out["strides"][leg] = sum(1 for s in chosen if s.leg == leg)
    for name in metrics:
        med = {}
        for leg in ("left", "right"):
            values = np.array([getattr(s, name) for s in chosen if s.leg == leg and getattr(s, name) is not None], float)
            values = values[np.isfinite(values)]
            med[leg] = float(np.median(values)) if len(values) >= min_strides else None
        out["metrics"][name] = {"left": med["left"], "right": med["right"],
                                "symmetry_index_pct": symmetry_index(med["left"], med["right"])}
    return out
