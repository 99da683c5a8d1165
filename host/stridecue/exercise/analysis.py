"""A whole exercise session: each set's window (from the session's "exercise_set" events), the
angles of the set's leg's sensors (angles.py), and its reps or hold (detector.py).

The same analysis runs live (a set at a time, as it ends, and on the set so far for the cue) and
offline on a run file (record/ingest.py), so the stored reps are the ones the session counted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stridecue.exercise.angles import SetAngles, swing_axis
from stridecue.exercise.catalogue import Exercise, exercise
from stridecue.exercise.detector import HoldDetector, RepDetector
from stridecue.exercise.rep import Hold, Rep

LEAD_S = 3.5  # s of the set window before "go": the still posture the angles start from


@dataclass(frozen=True)
class SetWindow:
    leg: str
    index: int  # this leg's set number, from 0
    go_t: float
    end_t: float


@dataclass(frozen=True)
class SensorData:
    slot: int
    leg: str
    mount: str
    t: np.ndarray
    acc: np.ndarray
    gyr: np.ndarray


def set_windows(events: list[dict], end_t: float | None = None, kind: str = "exercise_set") -> list[SetWindow]:
    """The sets of a session from its events: {"kind": "exercise_set", "phase": "go"|"end", "leg", "set", "t"}
    (kind "exercise_calibrate": the leg swings before them)."""
    out, open_sets = [], {}
    for e in events:
        if e.get("kind") != kind:
            continue
        key = (e.get("leg"), e.get("set"))
        if e.get("phase") == "go":
            open_sets[key] = float(e.get("t") or 0.0)
        elif e.get("phase") == "end" and key in open_sets:
            out.append(SetWindow(key[0], int(key[1]), open_sets.pop(key), float(e.get("t") or 0.0)))
    if end_t is not None:  # a session stopped mid-set: the set so far
        out.extend(SetWindow(leg, int(i), go, end_t) for (leg, i), go in open_sets.items() if end_t > go + 1.0)
    return sorted(out, key=lambda w: w.go_t)


class ExerciseAnalysis:
    """Reps and holds of a session (results in reps_, problems_: one line each)."""

    def __init__(self, name: str, angles: SetAngles | None = None, reps: RepDetector | None = None,
                 holds: HoldDetector | None = None):
        self.exercise: Exercise = exercise(name)
        self.angles = angles or SetAngles()
        self.reps = reps or RepDetector(lying=self.exercise.lying)
        self.holds = holds or HoldDetector()

    def analyse(self, windows: list[SetWindow], sensors: list[SensorData],
                swings: list[SetWindow] = ()) -> "ExerciseAnalysis":
        """windows: the sets; swings: the leg swings that give each sensor its flexion axis."""
        self.reps_: list[Rep | Hold] = []
        self.problems_: list[str] = []
        self.axes_ = self.flexion_axes(swings, sensors)
        for w in windows:
            self.reps_.extend(self.analyse_set(w, sensors))
        return self

    def flexion_axes(self, swings: list[SetWindow], sensors: list[SensorData]) -> dict[int, np.ndarray]:
        """slot -> the flexion axis in its board's frame, from its leg's swings."""
        axes = {}
        for s in sensors:
            for w in swings:
                if w.leg == s.leg:
                    sel = (s.t >= w.go_t) & (s.t <= w.end_t)
                    axis = swing_axis(s.gyr[sel])
                    if axis is not None:
                        axes[s.slot] = axis
        return axes

    def analyse_set(self, w: SetWindow, sensors: list[SensorData]) -> list[Rep | Hold]:
        mine = [s for s in sensors if s.leg == w.leg]
        if not mine:
            self.problems_.append(f"{w.leg} set {w.index + 1}: no sensor on the {w.leg} leg")
            return []
        angles = {}
        for s in mine:
            sel = (s.t >= w.go_t - LEAD_S) & (s.t <= w.end_t)
            try:
                angles[s.mount] = self.angles.estimate(s.t[sel], s.acc[sel], s.gyr[sel], w.go_t, w.leg,
                                                       axis=self.axes_.get(s.slot)).angles_
            except ValueError as e:
                self.problems_.append(f"{w.leg} set {w.index + 1}: {e}")
        if not angles:
            return []
        slot = min(s.slot for s in mine)
        if self.exercise.kind == "hold":
            mount = "shin" if "shin" in angles else "thigh"
            return [self.holds.detect(angles[mount], w.leg, mount, slot, w.index, w.go_t, w.end_t).hold_]
        if self.exercise.lying and "thigh" not in angles:
            self.problems_.append(f"{w.leg} set {w.index + 1}: {self.exercise.title} needs the thigh sensor")
            return []
        reps = self.reps.detect(angles, w.leg, slot, w.index, w.go_t).reps_
        if any(s.slot not in self.axes_ for s in mine):  # no flexion axis: the frontal angle is not a measure
            from dataclasses import replace

            if w.index == 0:
                self.problems_.append(f"{w.leg}: no leg swings seen, so knee motion is not measured")
            reps = [replace(r, knee_motion_deg=None) for r in reps]
        return reps


def sensors_from_reader(reader) -> list[SensorData]:
    """Each sensor's samples from a run file (the metadata says where it was worn)."""
    worn = {s.get("slot", i): s for i, s in enumerate(reader.metadata.get("sensors") or []) if isinstance(s, dict)}
    out = []
    for slot in reader.sensors:
        b = reader.samples(slot)
        if len(b) < 10:
            continue
        meta = worn.get(slot, {})
        out.append(SensorData(slot, meta.get("leg") or "left", meta.get("mount") or "shin", b.t, b.acc, b.gyr))
    return out


def analyse_reader(reader) -> ExerciseAnalysis:
    """The reps and holds of an exercise run file."""
    meta = reader.metadata
    sensors = sensors_from_reader(reader)
    end = max((float(s.t[-1]) for s in sensors), default=None)
    events = reader.events()
    return ExerciseAnalysis(meta.get("exercise") or "").analyse(set_windows(events, end), sensors,
                                                                 set_windows(events, end, kind="exercise_calibrate"))
