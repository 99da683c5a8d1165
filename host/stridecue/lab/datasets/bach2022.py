"""bach2022 (Bach, Dominici, Daffertshofer 2022, doi:10.1101/2022.02.14.480318): a shank
accelerometer (no gyroscope, +-8 g) at 1000/7 Hz with the vertical ground-reaction force of the same
leg on the same clock.  Truth: foot contacts where the downward force exceeds 50 N.

Files walk+run.mat and walk+run_INFO.csv in <shared data>/bach2022 (../shared/data/README.md).
"""

from __future__ import annotations

import csv
import functools
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stridecue.errors import UserError
from stridecue.lab.datasets.common import CONTACT_THRESHOLD_N, contact_intervals, frozen, need_file, resolve_dir


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
    return list(_load_bach2022(str(resolve_dir(directory, "bach2022"))))


@functools.lru_cache(maxsize=4)
def _load_bach2022(directory: str) -> tuple[BachTrial, ...]:
    import scipy.io

    mat = need_file(Path(directory) / "walk+run.mat")
    info_path = need_file(Path(directory) / "walk+run_INFO.csv")
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
        out.append(BachTrial(number=number, condition=condition, rate_hz=rate, acc=frozen(acc),
                             grf=frozen(grf), speed_kmh=speed, sex=sex, mass_kg=mass,
                             height_cm=height, ic_t=frozen(ic), to_t=frozen(to)))
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
