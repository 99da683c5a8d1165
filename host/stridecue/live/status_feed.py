"""The live status feed: what a running `stridecue run` tells `stridecue serve`'s live page.

One file, <data dir>/live/status.jsonl, one LiveStatus per line (JSON).  The run starts it anew
(written aside, then renamed into place) and appends a status every INTERVAL_S of wall time,
each line in a single write() to a file opened for appending, so a reader that takes only lines
ending in a newline never takes half a status.  The two processes share nothing else: either can
crash alone.  A run that stops cleanly writes a last status with state "ended"; one whose last
status is older than STALE_S stopped without it.

    feed = LiveStatusReader(feed_path(base))
    for status in feed.read_new(): ...     # the statuses written since the last call, in order

The run side is attach_live_status(wiring, base): one line in live/session.py (and the run file's name once it exists).
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import tempfile
import time
from collections import deque
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

FEED_DIR = "live"
FEED_FILE = "status.jsonl"
FORMAT_VERSION = 1
INTERVAL_S = 0.5  # at most two statuses a second: a phone redraws smoothly, the file stays small
STALE_S = 5.0
RECENT_CUES = 8


def feed_path(base: str | os.PathLike) -> Path:
    return Path(base) / FEED_DIR / FEED_FILE


@dataclass
class LegStatus:
    leg: str
    mount: str | None
    wobble_deg: float | None  # mean of the last five running strides
    threshold_deg: float | None  # None while the baseline forms, and in a guided run
    landing_load_g: float | None
    cadence_spm: float | None
    strides: int
    over_threshold_pct: float | None


@dataclass
class LinkStatus:
    slot: int
    name: str
    state: str  # "connecting", "connected", "reconnecting"
    battery_pct: int | None


@dataclass
class CueStatus:
    t: float  # run time, s
    kind: str
    words: str


@dataclass
class LiveStatus:
    seq: int
    state: str  # "running" or "ended"
    run: str | None  # the run file's name without .scrun (None until the file exists)
    wall_time: float  # Unix time it was written
    run_t: float  # seconds since recording started
    legs: list[LegStatus] = field(default_factory=list)
    sensors: list[LinkStatus] = field(default_factory=list)
    cues: int = 0
    recent_cues: list[CueStatus] = field(default_factory=list)  # newest last
    lost_samples: int = 0
    lost_pct: float | None = None
    pid: int | None = None
    version: int = FORMAT_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_dict(cls, d: dict) -> "LiveStatus":
        """A status from its JSON object; ValueError when it is not one."""
        try:
            return cls(**{**d, "legs": [LegStatus(**x) for x in d.get("legs", [])],
                          "sensors": [LinkStatus(**x) for x in d.get("sensors", [])],
                          "recent_cues": [CueStatus(**x) for x in d.get("recent_cues", [])]})
        except TypeError as e:
            raise ValueError(f"not a live status: {e}") from None

    def stale(self, now: float | None = None) -> bool:
        return self.state == "running" and (now if now is not None else time.time()) - self.wall_time > STALE_S


# -- writing (the run) -----------------------------------------------------------------------------


class LiveStatusWriter:
    """Starts the feed file anew, then appends one status per call."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._fd: int | None = None

    def start(self, status: LiveStatus) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            os.write(fd, (status.to_json() + "\n").encode())
        finally:
            os.close(fd)
        os.chmod(tmp, 0o644)
        os.replace(tmp, self.path)  # a reader sees the old run's file or the new one, never a mix
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)

    def append(self, status: LiveStatus) -> None:
        if self._fd is not None:
            os.write(self._fd, (status.to_json() + "\n").encode())

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


# -- reading (serve) ---------------------------------------------------------------------------------


class LiveStatusReader:
    """Tails the feed file: read_new() returns the whole statuses written since the last call.
    A file started anew (another run) is read from its beginning."""

    def __init__(self, path: Path, tail_bytes: int | None = None):
        self.path = Path(path)
        self._tail = tail_bytes  # the first read starts this far from the end (a long run's file is long)
        self._inode: int | None = None
        self._offset = 0
        self._partial = b""

    def read_new(self) -> list[LiveStatus]:
        try:
            with open(self.path, "rb") as f:
                st = os.fstat(f.fileno())
                first_look = self._inode is None
                if st.st_ino != self._inode or st.st_size < self._offset:
                    self._inode, self._offset, self._partial = st.st_ino, 0, b""
                skip = first_look and self._tail is not None and st.st_size > self._tail
                if skip:
                    self._offset = st.st_size - self._tail
                f.seek(self._offset)
                data = f.read()
        except FileNotFoundError:
            return []
        self._offset += len(data)
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()  # b"" after a newline; else a line still being written
        if skip and lines:
            lines.pop(0)  # begun mid-line
        return [s for s in map(_parse, lines) if s is not None]

    def latest(self) -> LiveStatus | None:
        new = self.read_new()
        return new[-1] if new else None


def _parse(line: bytes) -> LiveStatus | None:
    try:
        return LiveStatus.from_dict(json.loads(line))
    except (ValueError, AttributeError):  # a damaged line is skipped; the next status replaces it
        return None


def last_status(base: str | os.PathLike) -> LiveStatus | None:
    """The newest status in the feed, or None (no run has written one)."""
    return LiveStatusReader(feed_path(base), tail_bytes=65536).latest()


# -- the run's side: a publisher in the live view's place ----------------------------------------------


class LiveStatusPublisher:
    """Stands where the run's live view stands (on_event, on_missing, start, stop), hears the cues
    and writes what the view holds to the feed every INTERVAL_S.  The view keeps the figures (the
    terminal dashboard, or a headless one when the run draws none); this only copies them out.
    A feed that cannot be written is dropped, never the run."""

    def __init__(self, path: Path, run: str | None, view, clock, draws: bool):
        self.writer = LiveStatusWriter(path)
        self.run = run
        self.view = view
        self.clock = clock
        self.draws = draws  # the view is the terminal dashboard, which hears cues on its own
        self.rates: dict[int, float] = {}
        self.recent: deque = deque(maxlen=RECENT_CUES)
        self.seq = 0
        self._t0: float | None = None
        self._task: asyncio.Task | None = None
        self._failed = False

    # hooks (cheap: they only keep values)
    def speak(self, cue) -> None:
        self.recent.append(CueStatus(round(float(cue.t), 2), str(cue.kind), str(cue.words)))
        if not self.draws:
            self.view.speak(cue)

    def on_event(self, event: dict) -> None:
        if event.get("kind") == "connected" and event.get("rate"):
            self.rates[event.get("sensor", 0)] = float(event["rate"])
        self.view.on_event(event)

    def on_missing(self, count: int) -> None:
        self.view.on_missing(count)

    def note(self, text: str) -> None:
        self.view.note(text)

    # life cycle
    def start(self) -> "LiveStatusPublisher":
        if self.draws:
            self.view.start()
        self._t0 = self.clock.now()
        self._publish("running", first=True)
        self._task = asyncio.get_running_loop().create_task(self._tick())
        return self

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._publish("ended")
        self.writer.close()
        if self.draws:
            self.view.stop()

    async def _tick(self) -> None:
        while not self._failed:
            await asyncio.sleep(INTERVAL_S)
            self._publish("running")

    def _publish(self, state: str, first: bool = False) -> None:
        if self._failed or self._t0 is None:
            return
        try:
            status = self.status(state)
            self.writer.start(status) if first else self.writer.append(status)
        except (OSError, ValueError):
            self._failed = True

    def status(self, state: str) -> LiveStatus:
        view = self.view
        self.seq += 1
        run_t = max(self.clock.now() - (self._t0 or 0.0), 0.0)
        expected = sum(self.rates.values()) * run_t
        return LiveStatus(
            seq=self.seq, state=state, run=self.run, wall_time=round(time.time(), 3), run_t=round(run_t, 2),
            legs=[_leg_status(view, key, leg) for key, leg in sorted(view.legs.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))],
            sensors=[LinkStatus(slot, str(view.names.get(slot, slot)), state_, view.battery.get(slot))
                     for slot, state_ in sorted(view.connection.items())],
            cues=int(view.cues), recent_cues=list(self.recent), lost_samples=int(view.lost),
            lost_pct=round(100.0 * view.lost / (expected + view.lost), 2) if expected else None, pid=os.getpid())


def _leg_status(view, key: tuple, leg) -> LegStatus:
    name, mount = key
    wobble = _finite_mean(leg.wobble)
    return LegStatus(leg=name, mount=mount, wobble_deg=wobble, threshold_deg=_threshold(view.coach, name, mount),
                     landing_load_g=_finite_mean(leg.pta), cadence_spm=_finite(leg.cadence), strides=int(leg.strides),
                     over_threshold_pct=round(100.0 * leg.over / leg.strides, 1) if leg.strides else None)


def _threshold(coach, leg: str, mount: str | None) -> float | None:
    threshold = getattr(coach, "threshold", None)
    if threshold is None:
        return None
    try:
        value = threshold(leg, mount)
    except TypeError:  # a coach that knows legs only (the guided protocol)
        value = threshold(leg)
    return _finite(value)


def _finite(v) -> float | None:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return round(v, 2) if v == v and abs(v) != float("inf") else None


def _finite_mean(values) -> float | None:
    finite = [v for v in map(_finite, list(values)) if v is not None]
    return round(sum(finite) / len(finite), 2) if finite else None


def attach_live_status(wiring, base: Path, run_name: str | None = None):
    """The run's wiring with a LiveStatusPublisher in the live view's place (and among the cue sinks).
    run_name: the run file's stem, when known (the run names the publisher once its file exists)."""
    view = wiring.dashboard
    if view is None:  # no terminal dashboard: a headless one keeps the figures
        from rich.console import Console

        from stridecue.coach.live_view import Dashboard

        sensors = [{"slot": s.slot, "name": f.name} for s, f in zip(wiring.setups, wiring.found)]
        view = Dashboard(wiring.coaching.coach, console=Console(file=io.StringIO()), profile=wiring.coaching.profile.name, sensors=sensors)
    publisher = LiveStatusPublisher(feed_path(base), run_name, view, wiring.clock, draws=wiring.dashboard is not None)
    on_stride = wiring.on_stride if wiring.dashboard is not None else _both(wiring.on_stride, view.on_stride)
    return replace(wiring, dashboard=publisher, on_stride=on_stride, sinks=[*wiring.sinks, publisher])


def _both(first, second):
    def on_stride(stride) -> None:
        if first is not None:
            first(stride)
        second(stride)

    return on_stride
