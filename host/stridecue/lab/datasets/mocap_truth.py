"""Truth from motion capture and force plates (grouvel2023): frontal-plane segment angles from joint
centres, stances from the foot markers, foot contacts from the force plates of a raw .c3d.

The geometry is documented with its checks in docs/validation.md.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stridecue.errors import UserError
from stridecue.lab.datasets.common import CONTACT_THRESHOLD_N, contact_intervals, need_file

#: A foot is planted while its slowest heel/toe marker moves slower than this (checked against the
#: P01 force plates: initial contact within 10 ms, toe-off within 10 ms).
MARKER_STANCE_SPEED_MPS = 1.0
#: ...and that marker is this close to the lowest height it reaches in the trial.
MARKER_STANCE_HEIGHT_MM = 50.0
FOOT_MARKERS = ("HEE", "TOE", "FMH")


@dataclass(frozen=True)
class ForcePlateContact:
    """A foot contact on the force plates (summed vertical force of all plates > 50 N)."""

    leg: str
    ic_t: float
    to_t: float
    peak_n: float
    plates: tuple[int, ...]


def segment_frontal_angles(hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray, *, leg: str,
                           direction: int) -> tuple[np.ndarray, np.ndarray]:
    """Frontal-plane angles (deg) of the shank and thigh from joint centres in the lab frame.

    The lab frame has x along travel (the runner moves along +x when direction is +1, -x when -1)
    and z up, so the runner's left is +y when travelling +x and -y when travelling -x.  Each
    segment's long axis is projected on the y-z plane; the angle from vertical is positive when
    the knee end lies medially: for the shank the knee medial of the ankle, for the thigh the knee
    medial of the hip.  Medial is the runner's right for the left leg, left for the right leg.
    """
    left_y = 1.0 if direction > 0 else -1.0
    medial_y = -left_y if leg == "left" else left_y
    shank = knee - ankle  # distal -> proximal
    thigh = hip - knee  # distal -> proximal
    shank_deg = np.degrees(np.arctan2(medial_y * shank[:, 1], shank[:, 2]))
    # for the thigh the knee is the distal end: knee medial of hip <=> long axis leans laterally upward
    thigh_deg = np.degrees(np.arctan2(-medial_y * thigh[:, 1], thigh[:, 2]))
    return shank_deg, thigh_deg


def stance_excursions(theta: np.ndarray, ic_t, to_t, rate_hz: float) -> np.ndarray:
    """Per stance, max over [IC, TO] of theta - theta(IC) (>= 0), for an angle trace sampled at
    rate_hz: the truth of wobble (one segment) and of the knee's frontal-plane change (the sum of
    both segments' angles), degrees."""
    t = np.arange(len(theta)) / rate_hz
    out = []
    for ic, to in zip(ic_t, to_t):
        inside = (t >= ic) & (t <= to)
        start = float(np.interp(ic, t, theta))
        out.append(max(0.0, float(theta[inside].max() - start)) if inside.any() else 0.0)
    return np.asarray(out)


def stance_from_markers(foot_markers: list[np.ndarray], rate_hz: float, *,
                        speed_mps: float = MARKER_STANCE_SPEED_MPS,
                        height_mm: float = MARKER_STANCE_HEIGHT_MM) -> tuple[np.ndarray, np.ndarray]:
    """Complete stances of one foot from its heel/toe markers (mm, lab frame, z up).

    The foot is planted while its slowest marker (3-D speed by central differences) moves slower
    than speed_mps and is within height_mm of the lowest height that marker reaches in the trial.
    This is the foot-velocity approach of O'Connor et al. (2007, Gait Posture 25:469) with a
    height gate; against the P01 force plates it finds initial contact and toe-off within one
    frame (10 ms).  Crossings are interpolated linearly between frames.
    """
    speeds = []
    for m in foot_markers:
        v = np.linalg.norm(np.gradient(m, axis=0), axis=1) * rate_hz / 1000.0
        low = m[:, 2] - np.nanmin(m[:, 2]) < height_mm
        speeds.append(np.where(low, v, np.inf))
    slowest = np.min(np.array(speeds), axis=0)
    loaded = slowest < speed_mps
    ic_first, to_first = contact_intervals(loaded, rate_hz)
    ic_t, to_t = [], []
    finite = np.where(np.isfinite(slowest), slowest, 10 * speed_mps)
    for i, j in zip(np.rint(ic_first * rate_hz).astype(int), np.rint(to_first * rate_hz).astype(int)):
        ic_t.append(_crossing(finite, i - 1, i, speed_mps) / rate_hz)
        to_t.append(_crossing(finite, j - 1, j, speed_mps) / rate_hz)
    return np.asarray(ic_t), np.asarray(to_t)


def _crossing(v: np.ndarray, i: int, j: int, level: float) -> float:
    if i < 0 or v[j] == v[i]:
        return float(j)
    return i + float(np.clip((level - v[i]) / (v[j] - v[i]), 0.0, 1.0))


def load_force_plate_contacts(c3d_path: str | os.PathLike,
                              markers: dict[str, np.ndarray] | None = None) -> list[ForcePlateContact]:
    """Foot contacts from the force plates of a grouvel2023 .c3d (needs the `c3d` package).

    The vertical forces of all plates are summed (a foot may straddle two plates; running has no
    double support), a contact is where the sum exceeds 50 N, and the foot is the one whose heel/toe
    markers are lower at mid-contact (markers from the matching CSV; without them the leg is
    "unknown").  Times are seconds from the first motion-capture frame.
    """
    path = Path(c3d_path)
    try:
        import c3d
    except ImportError:
        raise UserError("reading .c3d force plates needs the 'c3d' package (pip install c3d)") from None
    try:
        with open(need_file(path), "rb") as fh:
            reader = c3d.Reader(fh)
            analog_rate = float(reader.analog_rate)
            point_rate = float(reader.point_rate)
            labels = [label.strip() for label in reader.analog_labels]
            analog = np.concatenate([a for _, _, a in reader.read_frames()], axis=1)
    except UserError:
        raise
    except Exception as exc:  # the c3d reader raises assorted errors on a damaged file
        raise UserError(f"{path}: cannot read as C3D ({exc})") from None
    fz_rows = [i for i, label in enumerate(labels) if re.fullmatch(r"Fz\d+", label)]
    if not fz_rows:
        raise UserError(f"{path}: no force-plate channels (Fz1, Fz2, ...)")
    fz = np.abs(analog[fz_rows])
    total = fz.sum(axis=0)
    ic, to = contact_intervals(total > CONTACT_THRESHOLD_N, analog_rate)
    out = []
    for a, b in zip(ic, to):
        i0, i1 = int(round(a * analog_rate)), int(round(b * analog_rate))
        plates = tuple(int(labels[r][2:]) for k, r in enumerate(fz_rows)
                       if fz[k, i0:i1].max() > CONTACT_THRESHOLD_N)
        leg = "unknown"
        if markers:
            frame = int(round((a + b) / 2 * point_rate))
            heights = {}
            for side, name in (("L", "left"), ("R", "right")):
                zs = [markers[f"{side}{m}"][min(frame, len(markers[f"{side}{m}"]) - 1), 2]
                      for m in FOOT_MARKERS if f"{side}{m}" in markers]
                if zs:
                    heights[name] = min(zs)
            if len(heights) == 2:
                leg = min(heights, key=heights.get)
        out.append(ForcePlateContact(leg=leg, ic_t=float(a), to_t=float(b),
                                     peak_n=float(total[i0:i1].max()), plates=plates))
    return out
