"""What the data set loaders share: where the data are, how a missing file is reported, read-only
arrays, and contacts from a 'foot loaded' series (force plates, foot markers)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from stridecue.errors import UserError

ENV_VAR = "STRIDECUE_SHARED_DATA"

#: Force threshold that separates contact from flight (both data sets with force plates).
CONTACT_THRESHOLD_N = 50.0
#: Contacts shorter than this, or flight gaps shorter than this, are force-plate noise.
MIN_CONTACT_S = 0.060
MIN_FLIGHT_S = 0.030


def shared_data_dir() -> Path:
    """$STRIDECUE_SHARED_DATA, else ../shared/data beside the repository root."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    repo_root = Path(__file__).resolve().parents[4]  # host/stridecue/lab/datasets/common.py
    return (repo_root / ".." / "shared" / "data").resolve()


def resolve_dir(directory: str | os.PathLike | None, dataset: str) -> Path:
    """The data set's folder: `directory` when given, else its folder under shared_data_dir()."""
    base = Path(directory).expanduser() if directory else shared_data_dir() / dataset
    if not base.is_dir():
        raise UserError(
            f"{base}: data set folder not found (set ${ENV_VAR} to the shared data directory)")
    return base


def need_file(path: Path) -> Path:
    """`path`, or a UserError naming it when it is not a file."""
    if not path.is_file():
        raise UserError(f"{path}: file missing (set ${ENV_VAR} to the shared data directory)")
    return path


def frozen(a) -> np.ndarray:
    """A read-only contiguous array (loaded arrays are cached and shared)."""
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
