"""The load of each run and exercise session, from the run store.

What the sensor measures is steps and their timing: cadence, contact and stride times.  It does
not measure speed, so the distance of a run cannot be had from it: strides x an assumed stride
length would be wrong by the runner's whole range of speeds (stride length roughly doubles from an
easy jog to a fast run), which is more than the 10 % the load rule looks at.  Distance is
therefore reported as not available, and the load rule uses running time instead (guidance.py).

Running time is the time spent in running strides: the sum of the stride times of the sensor that
saw the most running strides (a stride time spans one stride of its own leg, so one sensor's
strides add up to the time; two sensors' would count it twice).  A recording also holds standing
and walking; its whole length is kept as `recorded_min`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

DISTANCE_BASIS = ("not available: the sensor measures steps and their timing, not speed, so distance would"
                  " rest on a guessed stride length; running time is used instead")


@dataclass(frozen=True, slots=True)
class RunLoad:
    """One activity's load.  activity: "run" or "exercise" (exercise: its name, level);
    start: its start (datetime, UTC) or None when the run file has none; recorded_min: the
    recording's length; running_min: time in running strides; running_strides: counted running
    strides (one sensor's per step); distance_km: None (see the module docstring)."""

    run_id: int
    name: str
    start: dt.datetime | None
    activity: str
    exercise: str | None
    level: int | None
    recorded_min: float
    running_min: float
    running_strides: int
    distance_km: float | None = None

    @property
    def date(self) -> str | None:
        return self.start.date().isoformat() if self.start else None

    def as_dict(self) -> dict:
        return {"run_id": self.run_id, "run_name": self.name, "start_time": self.start.isoformat() if self.start else None,
                "activity": self.activity, "exercise": self.exercise, "level": self.level,
                "recorded_min": round(self.recorded_min, 2), "running_min": round(self.running_min, 2),
                "running_strides": self.running_strides, "distance_km": self.distance_km, "distance_basis": DISTANCE_BASIS}


def parse_time(text: str | None) -> dt.datetime | None:
    """An ISO 8601 time as an aware datetime (UTC assumed when it has no offset); None if unreadable."""
    if not text:
        return None
    try:
        t = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def run_load(store, run: dict) -> RunLoad:
    """The load of one run of the store (a runs row as store.runs() gives it)."""
    row = store.db.execute(
        "SELECT count(*) AS n, coalesce(sum(stride_time_s), 0) AS t FROM strides WHERE run_id = ? AND kind = 'run'"
        " GROUP BY sensor ORDER BY n DESC LIMIT 1", (run["id"],)).fetchone()
    running_s = float(row["t"]) if row else 0.0
    return RunLoad(run["id"], run["name"], parse_time(run.get("start_time")), run.get("activity") or "run",
                   run.get("exercise"), run.get("level"), (run.get("duration_s") or 0.0) / 60.0, running_s / 60.0,
                   int(run.get("running_strides") or 0))


def all_loads(store, profile: str | None = None) -> list[RunLoad]:
    """Every run's and exercise session's load, oldest first."""
    return [run_load(store, r) for r in store.runs(profile, activity=None)]
