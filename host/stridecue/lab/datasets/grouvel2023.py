"""Loaders for the real recordings kept beside the repository in ../shared/data.

Three public data sets prove the analytics on signals nobody here generated (sources, licences and
file layout: ../shared/data/README.md; cite the source with any figure computed from them):

- bach2022 (Bach, Dominici, Daffertshofer 2022, doi:10.1101/2022.02.14.480318): a shank
  accelerometer (no gyroscope, +-8 g) at 1000/7 Hz with the vertical ground-reaction force of the same
  leg on the same clock.  Truth: foot contacts where the downward force exceeds 50 N.
- adept (Karas et al., R package adeptdata, `acc_running`): 25 minutes of outdoor running, 100 Hz
  accelerometers at the left ankle and left hip.  No truth: endurance and plausibility.
- grouvel2023 (Grouvel et al. 2023, Scientific Data, doi:10.1038/s41597-023-02077-3): shank, thigh
  and foot IMUs (g, deg/s) at 100 Hz with motion capture.  Truth: frontal-plane segment angles from
  the joint centres, stances from the foot markers, and for P01 the force plates of the raw .c3d.

The directory is $STRIDECUE_SHARED_DATA, else <repository root>/../shared/data.  A missing or
unreadable file raises UserError naming it.  Loaded arrays are read-only and cached per process, so
callers may load freely; copy before modifying.
"""

from __future__ import annotations

import csv
import functools
import gzip
import importlib.util
import io
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stridecue.errors import UserError

ENV_VAR = "STRIDECUE_SHARED_DATA"

#: Force threshold that separates contact from flight (both data sets with force plates).
CONTACT_THRESHOLD_N = 50.0
#: Contacts shorter than this, or flight gaps shorter than this, are force-plate noise.
MIN_CONTACT_S = 0.060
MIN_FLIGHT_S = 0.030

#: A foot is planted while its slowest heel/toe marker moves slower than this (checked against the
#: P01 force plates: initial contact within 10 ms, toe-off within 10 ms).
MARKER_STANCE_SPEED_MPS = 1.0
#: ...and that marker is this close to the lowest height it reaches in the trial.
MARKER_STANCE_HEIGHT_MM = 50.0
FOOT_MARKERS = ("HEE", "TOE", "FMH")

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


def shared_data_dir() -> Path:
    """$STRIDECUE_SHARED_DATA, else ../shared/data beside the repository root."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    repo_root = Path(__file__).resolve().parents[3]
    return (repo_root / ".." / "shared" / "data").resolve()


def _resolve(directory: str | os.PathLike | None, dataset: str) -> Path:
    base = Path(directory).expanduser() if directory else shared_data_dir() / dataset
    if not base.is_dir():
        raise UserError(
            f"{base}: data set folder not found (set ${ENV_VAR} to the shared data directory)")
    return base


def _need(path: Path) -> Path:
    if not path.is_file():
        raise UserError(f"{path}: file missing (set ${ENV_VAR} to the shared data directory)")
    return path


def _frozen(a) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


def contact_intervals(loaded: np.ndarray, rate_hz: float, *, min_contact_s: float = MIN_CONTACT_S,
                      min_flight_s: float = MIN_FLIGHT_S) -> tuple[np.ndarray, np.ndarray]:
    """Complete contacts of a boolean 'foot loaded' series: (ic_t, to_t) in seconds.

    Flight gaps shorter than min_flight_s are bridged, contacts shorter than min_contact_s dropped,
    and a contact already under way at the first sample or still under way at the last is left out
    (its start or end is not known).  Times are of the first loaded / first unloaded sample.
    """
    loaded = np.asarray(loaded, bool)
    if loaded.size == 0:
        return np.zeros(0), np.zeros(0)
    edges = np.diff(loaded.astype(np.int8))
    starts = list(np.flatnonzero(edges == 1) + 1)
    ends = list(np.flatnonzero(edges == -1) + 1)
    if loaded[0]:
        starts.insert(0, -1)  # under way at the start: incomplete
    if loaded[-1]:
        ends.append(-1)  # still under way at the end: incomplete
    pairs = list(zip(starts, ends))
    merged: list[list[int]] = []
    for s, e in pairs:
        if merged and merged[-1][1] != -1 and s != -1 and (s - merged[-1][1]) / rate_hz < min_flight_s:
            merged[-1][1] = e
        else:
            merged.append([s, e])
    ic, to = [], []
    for s, e in merged:
        if s == -1 or e == -1:
            continue
        if (e - s) / rate_hz < min_contact_s:
            continue
        ic.append(s / rate_hz)
        to.append(e / rate_hz)
    return np.asarray(ic, float), np.asarray(to, float)


# --------------------------------------------------------------------------------------------
# bach2022


@dataclass(frozen=True)
class BachTrial:
    """One treadmill trial of bach2022: shank accelerometer + vertical force of the same leg.

    acc: (n, 3) g in the file's axes (x vertical, y medio-lateral, z forward; the sign of x is
    down in most trials, up in some: the sensor was not always mounted the same way up).
    grf: (n,) N, negative downwards, about 0 in flight.
    ic_t, to_t: complete contacts where -grf > 50 N (seconds from the first sample).
    """

    number: int
    condition: str  # "running" | "walking"
    rate_hz: float
    acc: np.ndarray
    grf: np.ndarray
    speed_kmh: float
    sex: str
    mass_kg: float
    height_cm: float
    ic_t: np.ndarray
    to_t: np.ndarray

    @property
    def t(self) -> np.ndarray:
        return np.arange(len(self.acc)) / self.rate_hz

    @property
    def duration_s(self) -> float:
        return len(self.acc) / self.rate_hz

    @property
    def running(self) -> bool:
        return self.condition == "running"


def load_bach2022(directory: str | os.PathLike | None = None) -> list[BachTrial]:
    """The 18 trials of bach2022 (8 running, 10 walking), in trial-number order."""
    return list(_load_bach2022(str(_resolve(directory, "bach2022"))))


@functools.lru_cache(maxsize=4)
def _load_bach2022(directory: str) -> tuple[BachTrial, ...]:
    import scipy.io

    mat = _need(Path(directory) / "walk+run.mat")
    info_path = _need(Path(directory) / "walk+run_INFO.csv")
    try:
        trials = scipy.io.loadmat(mat, squeeze_me=True, struct_as_record=False)["data"]
    except Exception as exc:  # scipy raises many kinds for a damaged file
        raise UserError(f"{mat}: cannot read as a MATLAB file ({exc})") from None
    info = _read_bach_info(info_path)
    out = []
    for number, trial in enumerate(np.atleast_1d(trials), start=1):
        try:
            acc = np.asarray(trial.Accelerometer, float)
            grf = np.asarray(trial.GroundReactionForce, float).ravel()
            rate = float(trial.SamplingRate)
            condition = str(trial.Condition).strip().lower()
        except AttributeError as exc:
            raise UserError(f"{mat}: trial {number} lacks a field ({exc})") from None
        if acc.ndim != 2 or acc.shape[1] != 3 or len(grf) != len(acc) or not rate > 0:
            raise UserError(f"{mat}: trial {number} has inconsistent shapes {acc.shape} / {grf.shape}")
        if number not in info:
            raise UserError(f"{info_path}: no row for trial {number}")
        sex, mass, height, speed = info[number]
        ic, to = contact_intervals(-grf > CONTACT_THRESHOLD_N, rate)
        out.append(BachTrial(number=number, condition=condition, rate_hz=rate, acc=_frozen(acc),
                             grf=_frozen(grf), speed_kmh=speed, sex=sex, mass_kg=mass,
                             height_cm=height, ic_t=_frozen(ic), to_t=_frozen(to)))
    if not out:
        raise UserError(f"{mat}: no trials")
    return tuple(out)


def _read_bach_info(path: Path) -> dict[int, tuple[str, float, float, float]]:
    info = {}
    try:
        text = path.read_text(encoding="utf-8-sig")
        rows = list(csv.reader(io.StringIO(text)))
        for row in rows[1:]:
            if not row or not row[0].strip():
                continue
            info[int(row[0])] = (row[1].strip(), float(row[2]), float(row[3]), float(row[4]))
    except (ValueError, IndexError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: unreadable trial table ({exc})") from None
    return info


# --------------------------------------------------------------------------------------------
# adept


@dataclass(frozen=True)
class AdeptRecording:
    """25 minutes of outdoor running, one ActiGraph GT9X accelerometer (+-8 g).

    t: (n,) seconds from the first sample; acc: (n, 3) g, device axes x, y, z.
    """

    location: str  # "left_ankle" | "left_hip"
    rate_hz: float
    t: np.ndarray
    acc: np.ndarray
    start_epoch_s: float

    @property
    def duration_s(self) -> float:
        return len(self.t) / self.rate_hz


def load_adept(directory: str | os.PathLike | None = None) -> dict[str, AdeptRecording]:
    """{'left_ankle': ..., 'left_hip': ...} from acc_running.csv.gz."""
    return dict(_load_adept(str(_resolve(directory, "adept"))))


@functools.lru_cache(maxsize=4)
def _load_adept(directory: str) -> tuple[tuple[str, AdeptRecording], ...]:
    path = _need(Path(directory) / "acc_running.csv.gz")
    columns: dict[str, list[str]] = {}
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            header = fh.readline().strip().split(",")
            if header != ["loc_id", "date_time", "x", "y", "z"]:
                raise UserError(f"{path}: unexpected columns {header}")
            for line in fh:
                loc, _, rest = line.partition(",")
                columns.setdefault(loc, []).append(rest)
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read ({exc})") from None
    out = []
    for loc, rows in columns.items():
        try:
            data = np.loadtxt(rows, delimiter=",", dtype=float)
        except ValueError as exc:
            raise UserError(f"{path}: unparseable numbers for {loc} ({exc})") from None
        epoch = data[:, 0]
        rate = round(1.0 / float(np.median(np.diff(epoch))), 6)
        out.append((loc, AdeptRecording(location=loc, rate_hz=rate, t=_frozen(epoch - epoch[0]),
                                        acc=_frozen(data[:, 1:4]), start_epoch_s=float(epoch[0]))))
    if not out:
        raise UserError(f"{path}: no samples")
    return tuple(sorted(out))


# --------------------------------------------------------------------------------------------
# grouvel2023


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
        theta = self.angle(segment)
        t = np.arange(len(theta)) / rate_hz
        out = []
        for ic, to in zip(self.ic_t, self.to_t):
            inside = (t >= ic) & (t <= to)
            start = float(np.interp(ic, t, theta))
            out.append(max(0.0, float(theta[inside].max() - start)) if inside.any() else 0.0)
        return np.asarray(out)


@dataclass(frozen=True)
class ForcePlateContact:
    """A foot contact on the force plates (summed vertical force of all plates > 50 N)."""

    leg: str
    ic_t: float
    to_t: float
    peak_n: float
    plates: tuple[int, ...]


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
    trials = _load_grouvel2023(str(_resolve(directory, "grouvel2023")))
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
    markers = {m: _frozen(_xyz(cols, m, path)) for m in marker_names}
    imus = {}
    for code, (leg, segment) in GROUVEL_IMUS.items():
        if f"P6_{code}_acc_x" not in cols:
            continue
        acc = np.column_stack([cols[f"P6_{code}_acc_{a}"] for a in "xyz"])
        gyr = np.column_stack([cols[f"P6_{code}_gyro_{a}"] for a in "xyz"])
        imus[code] = Imu(name=code, leg=leg, segment=segment, acc=_frozen(acc), gyr=_frozen(gyr))
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
        legs[leg] = LegTruth(leg=leg, shank_angle_deg=_frozen(shank), thigh_angle_deg=_frozen(thigh),
                             ic_t=_frozen(ic), to_t=_frozen(to))
    c3d_path = path.with_name(path.name.replace(".csv.gz", ".c3d"))
    plates = None
    if c3d_path.is_file() and importlib.util.find_spec("c3d") is not None:
        plates = load_force_plate_contacts(c3d_path, markers)
    return GrouvelTrial(participant=participant, session=session, trial=int(trial_no),
                        name=path.name.replace(".csv.gz", ""), rate_hz=rate, direction=direction,
                        imus=imus, joint_centres={k: _frozen(v) for k, v in joint_centres.items()},
                        markers=markers, legs=legs, force_plates=plates)


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
        with open(_need(path), "rb") as fh:
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
