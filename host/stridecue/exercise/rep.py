"""The typed records of exercise mode: one Rep per repetition, one Hold per balance hold.

Both are rows of the store's reps table (REP_FIELDS; record/schema.py migration 5) and of the
export.  Angles in degrees, times in seconds of the sensor's sample clock; None = not measured.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

# The reps table's columns (after run_id and seq), in order.
REP_FIELDS = ("kind", "sensor", "leg", "mount", "set_index", "start_t", "bottom_t", "end_t", "depth_deg", "knee_motion_deg",
              "down_s", "up_s", "sway_deg", "loss_s", "held_s", "cued")
TEXT_FIELDS = ("kind", "leg", "mount")


def _clean(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass(frozen=True)
class Rep:
    """One repetition of one leg: its depth (knee flexion, from the segments' inclination), its
    frontal-plane knee motion (positive: the knee in, valgus) and its tempo."""

    leg: str
    mount: str  # the segment(s) that measured it: shin, thigh or thigh+shin
    sensor: int
    set_index: int
    start_t: float
    bottom_t: float
    end_t: float
    depth_deg: float
    knee_motion_deg: float
    down_s: float
    up_s: float
    cued: bool = False

    kind = "rep"

    def as_row(self) -> tuple:
        values = dict(kind=self.kind, sway_deg=None, loss_s=None, held_s=None,
                      **{f.name: _clean(getattr(self, f.name)) for f in fields(self)})
        return tuple(values[k] for k in REP_FIELDS)


@dataclass(frozen=True)
class Hold:
    """One single-leg balance hold: sway (RMS tilt of the segment about its mean, degrees) and
    the time from "go" to the first loss of balance (None: held to the end)."""

    leg: str
    mount: str
    sensor: int
    set_index: int
    start_t: float
    end_t: float
    sway_deg: float
    loss_s: float | None
    held_s: float
    cued: bool = False

    kind = "hold"

    def as_row(self) -> tuple:
        values = dict(kind=self.kind, bottom_t=None, depth_deg=None, knee_motion_deg=None, down_s=None, up_s=None,
                      **{f.name: _clean(getattr(self, f.name)) for f in fields(self)})
        return tuple(values[k] for k in REP_FIELDS)


def from_row(row) -> Rep | Hold:
    """A Rep or Hold back from a reps row (a mapping or sequence in REP_FIELDS order)."""
    values = dict(zip(REP_FIELDS, row)) if not hasattr(row, "keys") else {k: row[k] for k in REP_FIELDS}
    cls = Hold if values["kind"] == "hold" else Rep
    names = {f.name for f in fields(cls)}
    kw = {k: v for k, v in values.items() if k in names}
    kw["cued"] = bool(kw.get("cued"))
    for k in names - set(kw):
        kw[k] = None
    return cls(**kw)
