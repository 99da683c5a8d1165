"""adept (Karas et al., R package adeptdata, `acc_running`): 25 minutes of outdoor running, 100 Hz
accelerometers at the left ankle and left hip.  No truth: endurance and plausibility.

File acc_running.csv.gz in <shared data>/adept (../shared/data/README.md).
"""

from __future__ import annotations

import functools
import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stridecue.errors import UserError
from stridecue.lab.datasets.common import frozen, need_file, resolve_dir


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
    return dict(_load_adept(str(resolve_dir(directory, "adept"))))


@functools.lru_cache(maxsize=4)
def _load_adept(directory: str) -> tuple[tuple[str, AdeptRecording], ...]:
    path = need_file(Path(directory) / "acc_running.csv.gz")
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
        out.append((loc, AdeptRecording(location=loc, rate_hz=rate, t=frozen(epoch - epoch[0]),
                                        acc=frozen(data[:, 1:4]), start_epoch_s=float(epoch[0]))))
    if not out:
        raise UserError(f"{path}: no samples")
    return tuple(sorted(out))
