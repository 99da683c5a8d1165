"""What a run file becomes in the run store: the rows of the runs, strides, cues, sensors and
settings tables (docs/storage.md), and the ingest version that says whether stored rows are
still current.  No SQL here: store.py writes the rows in one transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from pathlib import Path
from typing import Any

from stridecue import __version__
from stridecue.analysis.combine import counted_strides
from stridecue.analysis.stride import Stride
from stridecue.errors import UserError
from stridecue.link.loss import data_problem

# Stored per-stride results are tagged with the ingest version: the package version, this
# module's ingest revision and a digest of the stride analysis's source, so a changed analysis
# re-analyses every run on the next sync instead of serving stale strides.
_INGEST_REVISION = 4  # 2: runs.data_problem; 3: a damaged file is read around its damage (totals["damage"]); 4: exercise sessions


def _analysis_digest() -> str:
    import hashlib
    import importlib.util

    h = hashlib.sha1()
    for stage in ("stridecue.analysis", "stridecue.exercise"):  # the stride and the exercise analyses
        spec = importlib.util.find_spec(stage)
        if spec is None or not spec.submodule_search_locations:
            h.update(b"none")
            continue
        for folder in spec.submodule_search_locations:
            for f in sorted(Path(folder).glob("*.py")):
                h.update(f.name.encode())
                h.update(f.read_bytes())
    return h.hexdigest()[:12]


INGEST_VERSION = f"{__version__}+{_INGEST_REVISION}+{_analysis_digest()}"


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _num(value: Any) -> float | None:
    """A finite float or None (SQLite has no NaN; None reads back as 'not measured')."""
    if value is None or isinstance(value, bool):
        return None if value is None else float(value)
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def default_analyse(reader) -> list[Stride]:
    try:
        from stridecue.analysis.run import analyse_run
    except ImportError as e:
        raise UserError(f"the stride analysis is not installed ({e}); cannot analyse {reader.path.name}") from None

    return analyse_run(reader)


def is_exercise(meta: dict) -> bool:
    return isinstance(meta, dict) and meta.get("activity") == "exercise"


def exercise_reps(reader) -> list:
    """The reps and holds of an exercise session file (exercise/analysis.py), each marked cued when
    the session spoke a knee-out cue after it.  UserError for an unknown exercise."""
    from dataclasses import replace

    from stridecue.exercise.analysis import analyse_reader

    reps = analyse_reader(reader).reps_
    cued = {(c.get("values", {}).get("leg"), round(float(c.get("values", {}).get("bottom_t", -1.0)), 1))
            for c in reader.events() if c.get("kind") == "cue" and c.get("cue") == "knee"}
    return [replace(r, cued=True) if r.kind == "rep" and (r.leg, round(r.bottom_t, 1)) in cued else r for r in reps]


def up_to_date(row, st: os.stat_result) -> bool:
    """Whether a stored runs row (file_size, file_mtime_ns, ingest_version) still stands for the
    file: the same size and modification time, ingested by this INGEST_VERSION."""
    return row["file_size"] == st.st_size and row["file_mtime_ns"] == st.st_mtime_ns and row["ingest_version"] == INGEST_VERSION


def run_values(path: Path, st: os.stat_result, reader, strides: list[Stride], profile: str) -> tuple[dict, list[tuple]]:
    """(the runs row of a run file as column -> value, its sensors rows without the run id)."""
    meta = reader.metadata
    totals = dict(reader.summary or {})
    totals["closed"] = reader.closed
    if reader.end and reader.end.get("error"):
        totals["error"] = reader.end["error"]
    if reader.truncated_bytes:
        totals["truncated_bytes"] = reader.truncated_bytes
    if reader.damage:
        totals["damage"] = reader.damage_line()  # `summary` warns with it
    duration, sensors = _sensor_rows(reader, meta)
    problem = data_problem({slot: (samples, missing) for slot, *_, samples, missing, _gaps, _clipped in sensors})
    running = sum(1 for s in counted_strides(strides) if s.kind == "run")
    values = dict(
        path=str(path), name=path.stem, start_time=meta.get("start_time"),
        end_time=(reader.end or {}).get("end_time"), duration_s=duration, simulated=int(bool(meta.get("simulated"))),
        closed=int(reader.closed), file_size=st.st_size, file_mtime_ns=st.st_mtime_ns, ingested_at=_now(),
        metadata_json=json.dumps(meta, default=str), totals_json=json.dumps(totals, default=str),
        profile=profile, ingest_version=INGEST_VERSION, running_strides=running, data_problem=problem,
        **activity_values(meta),
    )
    return values, sensors


def activity_values(meta: dict) -> dict:
    """runs.activity ("run", or "exercise" for an exercise session), .exercise (its name), .level."""
    if not is_exercise(meta):
        return dict(activity="run", exercise=None, level=None)
    return dict(activity="exercise", exercise=meta.get("exercise"), level=_level(meta))


def _level(meta: dict) -> int | None:
    try:
        return int(meta.get("level"))
    except (TypeError, ValueError):
        return None


def cue_rows(reader) -> list[tuple]:
    """(t, kind, words, reason, values_json) of each cue event, in file order."""
    cues = [e for e in reader.events() if e.get("kind") == "cue"]
    return [(_num(c.get("t")) or 0.0, str(c.get("cue") or "wobble"), c.get("words"), c.get("reason"),
             json.dumps(c.get("values") or {}, default=str)) for c in cues]


def settings_rows(meta: dict) -> list[tuple]:
    """(section, json) of each section of the run metadata's "settings"."""
    settings = meta.get("settings") or {}
    if not isinstance(settings, dict):
        return []
    return [(str(k), json.dumps(v, default=str)) for k, v in settings.items()]


def problem_row(path: Path, st: os.stat_result, problem: str) -> tuple:
    """The ingest_errors row of a file that could not be read."""
    return (str(path), st.st_size, st.st_mtime_ns, problem, _now())


def _sensor_rows(reader, meta: dict) -> tuple[float, list[tuple]]:
    """(duration of the recorded samples in s, one row per sensor slot)."""
    described = {s.get("slot", i): s for i, s in enumerate(meta.get("sensors") or []) if isinstance(s, dict)}
    first: dict[int, float] = {}
    last: dict[int, float] = {}
    count: dict[int, int] = {}
    clipped: dict[int, int] = {}
    rate: dict[int, float] = {}
    accel: dict[int, int] = {}
    for b in reader.blocks():
        if not len(b):
            continue
        k = b.sensor
        t0, t1 = float(b.index[0]) / b.rate, float(b.index[-1] + 1) / b.rate
        first[k] = min(first.get(k, t0), t0)
        last[k] = max(last.get(k, t1), t1)
        count[k] = count.get(k, 0) + len(b)
        clipped[k] = clipped.get(k, 0) + int(b.clipped.sum())
        rate.setdefault(k, b.rate)
        accel.setdefault(k, b.accel_g)
    missing: dict[int, int] = {}
    gaps: dict[int, int] = {}
    for slot, _first, n in reader.missing():
        missing[slot] = missing.get(slot, 0) + n
        gaps[slot] = gaps.get(slot, 0) + 1
    slots = sorted(set(described) | set(count) | set(missing))
    duration = max((last[k] - first[k] for k in count), default=0.0)
    rows = []
    for k in slots:
        d = described.get(k, {})
        rows.append((
            int(k), d.get("name"), d.get("address"), d.get("board"), d.get("firmware"), d.get("imu"),
            d.get("mount"), d.get("leg"), _num(rate.get(k, d.get("rate"))), accel.get(k, d.get("accel_g")), d.get("gyro_dps"),
            count.get(k, 0), missing.get(k, 0), gaps.get(k, 0), clipped.get(k, 0),
        ))
    return round(duration, 3), rows
