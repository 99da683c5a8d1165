"""grouvel2023 (Grouvel et al. 2023, Scientific Data, doi:10.1038/s41597-023-02077-3): shank, thigh
and foot IMUs (g, deg/s) at 100 Hz with motion capture.  Truth: frontal-plane segment angles from
the joint centres, stances from the foot markers, and for P01 the force plates of the raw .c3d
(the geometry: mocap_truth.py).

Files P??_S??_Running_??.csv.gz (and .c3d) in <shared data>/grouvel2023 (../shared/data/README.md).
"""

from __future__ import annotations

import csv
import functools
import gzip
import importlib.util
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stridecue.errors import UserError
from stridecue.lab.datasets.common import frozen, resolve_dir
from stridecue.lab.datasets.mocap_truth import (FOOT_MARKERS, ForcePlateContact, load_force_plate_contacts,
                                                segment_frontal_angles, stance_excursions, stance_from_markers)

#: grouvel2023 IMU names -> (leg, segment); segment names follow the project's mounts.
GROUVEL_IMUS = {
    "LS": ("left", "shin"),
    "RS": ("right", "shin"),
    "LT": ("left", "thigh"),
    "RT": ("right", "thigh"),
    "LF": ("left", "foot"),
    "RF": ("right", "foot"),
    "SA": (None, "sacrum"),
    "TR": (None, "trunk"),
}


@dataclass(frozen=True)
class Imu:
    """One IMU of grouvel2023 in its own sensor frame: acc (n, 3) g, gyr (n, 3) deg/s."""

    name: str
    leg: str | None
    segment: str
    acc: np.ndarray
    gyr: np.ndarray


@dataclass(frozen=True)
class LegTruth:
    """Motion-capture truth for one leg (frame by frame at the trial's rate).

    shank_angle_deg / thigh_angle_deg: frontal-plane angle of the segment's long axis from vertical,
    projected on the lab y-z plane, positive when the knee end is medial (the project's convention:
    valgus direction, for either leg).  Shank: ankle -> knee joint centre; thigh: knee -> hip.
    ic_t, to_t: complete stances from the foot markers (see stance_from_markers).
    """

    leg: str
    shank_angle_deg: np.ndarray
    thigh_angle_deg: np.ndarray
    ic_t: np.ndarray
    to_t: np.ndarray

    def angle(self, segment: str) -> np.ndarray:
        return self.shank_angle_deg if segment == "shin" else self.thigh_angle_deg

    def excursions(self, segment: str, rate_hz: float) -> np.ndarray:
        """Truth wobble per stance: max over [IC, TO] of theta - theta(IC), degrees."""
        return stance_excursions(self.angle(segment), self.ic_t, self.to_t, rate_hz)


@dataclass(frozen=True)
class GrouvelTrial:
    """One over-ground running pass of grouvel2023 (about 1.5-2 s at 100 Hz).

    direction: +1 when the runner travels along lab +x, -1 along -x.
    imus: by name (LS, RS, LT, RT, LF, RF, SA, TR).  Beware: in the shipped CSVs the IMU columns are
    not on the capture's clock (the shank repeats 3.6-7 times per marker stride; see
    docs/validation.md), so compare their distributions, not frame by frame.
    joint_centres: {'RHJC', 'LHJC', 'RKJC', 'LKJC', 'RAJC', 'LAJC'} -> (n, 3) mm, lab frame.
    markers: every other marker -> (n, 3) mm, lab frame.
    force_plates: contacts from the raw .c3d where one is present (P01) and the `c3d` package is
    installed, else None.
    """

    participant: str
    session: str
    trial: int
    name: str
    rate_hz: float
    direction: int
    imus: dict[str, Imu]
    joint_centres: dict[str, np.ndarray]
    markers: dict[str, np.ndarray]
    legs: dict[str, LegTruth]
    force_plates: list[ForcePlateContact] | None = None

    @property
    def t(self) -> np.ndarray:
        return np.arange(self.n) / self.rate_hz

    @property
    def n(self) -> int:
        return len(next(iter(self.joint_centres.values())))

    def imu_for(self, leg: str, segment: str) -> Imu:
        for imu in self.imus.values():
            if imu.leg == leg and imu.segment == segment:
                return imu
        raise KeyError(f"{self.name}: no {leg} {segment} IMU")


_GROUVEL_NAME = re.compile(r"^(P\d+)_(S\d+)_Running_(\d+)\.csv\.gz$")
_JOINT_CENTRES = ("RHJC", "LHJC", "RKJC", "LKJC", "RAJC", "LAJC")
GROUVEL_RATE_HZ = 100.0


def load_grouvel2023(directory: str | os.PathLike | None = None,
                     participants: list[str] | None = None) -> list[GrouvelTrial]:
    """Every running pass (P01..P06), ordered by participant and trial number."""
    trials = _load_grouvel2023(str(resolve_dir(directory, "grouvel2023")))
    if participants is not None:
        wanted = set(participants)
        trials = tuple(t for t in trials if t.participant in wanted)
    return list(trials)


@functools.lru_cache(maxsize=4)
def _load_grouvel2023(directory: str) -> tuple[GrouvelTrial, ...]:
    files = sorted(p for p in Path(directory).iterdir() if _GROUVEL_NAME.match(p.name))
    if not files:
        raise UserError(f"{directory}: no grouvel2023 running files (P??_S??_Running_??.csv.gz)")
    return tuple(_load_grouvel_file(p) for p in files)


def _read_csv_columns(path: Path) -> dict[str, np.ndarray]:
    try:
        with gzip.open(path, "rt", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = [h.strip() for h in next(reader)]
            rows = [r for r in reader if r]
    except (OSError, EOFError, StopIteration, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read ({exc or 'empty'})") from None
    try:
        data = np.array([[float(x) if x.strip() else math.nan for x in r] for r in rows], float)
    except ValueError as exc:
        raise UserError(f"{path}: unparseable number ({exc})") from None
    if data.ndim != 2 or data.shape[1] != len(header):
        raise UserError(f"{path}: rows do not match the header's {len(header)} columns")
    return {h: data[:, i] for i, h in enumerate(header)}


def _xyz(cols: dict[str, np.ndarray], name: str, path: Path) -> np.ndarray:
    try:
        return np.column_stack([cols[f"{name}_x"], cols[f"{name}_y"], cols[f"{name}_z"]])
    except KeyError as exc:
        raise UserError(f"{path}: column {exc.args[0]} missing") from None


def _load_grouvel_file(path: Path) -> GrouvelTrial:
    participant, session, trial_no = _GROUVEL_NAME.match(path.name).groups()
    cols = _read_csv_columns(path)
    rate = GROUVEL_RATE_HZ
    joint_centres = {j: _xyz(cols, j, path) for j in _JOINT_CENTRES}
    for name, xyz in joint_centres.items():
        if np.isnan(xyz).any():
            raise UserError(f"{path}: joint centre {name} has gaps")
    marker_names = sorted({c[:-2] for c in cols if c.endswith("_x") and not c.startswith("P6_")}
                          - set(_JOINT_CENTRES))
    markers = {m: frozen(_xyz(cols, m, path)) for m in marker_names}
    imus = {}
    for code, (leg, segment) in GROUVEL_IMUS.items():
        if f"P6_{code}_acc_x" not in cols:
            continue
        acc = np.column_stack([cols[f"P6_{code}_acc_{a}"] for a in "xyz"])
        gyr = np.column_stack([cols[f"P6_{code}_gyro_{a}"] for a in "xyz"])
        imus[code] = Imu(name=code, leg=leg, segment=segment, acc=frozen(acc), gyr=frozen(gyr))
    pelvis = (joint_centres["LHJC"] + joint_centres["RHJC"]) / 2
    direction = 1 if pelvis[-1, 0] > pelvis[0, 0] else -1
    legs = {}
    for leg, s in (("left", "L"), ("right", "R")):
        shank, thigh = segment_frontal_angles(joint_centres[f"{s}HJC"], joint_centres[f"{s}KJC"],
                                              joint_centres[f"{s}AJC"], leg=leg, direction=direction)
        foot = [markers[f"{s}{m}"] for m in FOOT_MARKERS if f"{s}{m}" in markers]
        if not foot:
            raise UserError(f"{path}: no heel/toe markers for the {leg} foot")
        ic, to = stance_from_markers(foot, rate)
        legs[leg] = LegTruth(leg=leg, shank_angle_deg=frozen(shank), thigh_angle_deg=frozen(thigh),
                             ic_t=frozen(ic), to_t=frozen(to))
    c3d_path = path.with_name(path.name.replace(".csv.gz", ".c3d"))
    plates = None
    if c3d_path.is_file() and importlib.util.find_spec("c3d") is not None:
        plates = load_force_plate_contacts(c3d_path, markers)
    return GrouvelTrial(participant=participant, session=session, trial=int(trial_no),
                        name=path.name.replace(".csv.gz", ""), rate_hz=rate, direction=direction,
                        imus=imus, joint_centres={k: frozen(v) for k, v in joint_centres.items()},
                        markers=markers, legs=legs, force_plates=plates)
