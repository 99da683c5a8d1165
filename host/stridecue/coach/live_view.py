"""The live view of `stridecue run`: wobble against threshold, landing load, cadence, contact
time, connection and battery, cues.

The pipeline's hooks (on_stride, speak, on_event) only store the latest values (a few
attribute writes per stride); rich's own refresh thread draws at most `refresh_per_second`
times a second from them, so drawing never runs on the pipeline's path.
"""

from __future__ import annotations

import math
import time
from collections import deque

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from stridecue.analysis.stride import Stride

BAR_WIDTH = 16
NARROW_COLUMNS = 80  # below this the live view leaves the wobble bar out


class _Leg:
    __slots__ = ("wobble", "pta", "cadence", "contact_s", "strides", "over", "sensor", "mount")

    def __init__(self):
        self.wobble = deque(maxlen=5)
        self.pta = deque(maxlen=5)
        self.cadence = math.nan
        self.contact_s = math.nan
        self.strides = 0
        self.over = 0
        self.sensor = None
        self.mount = None


class Dashboard:
    """Live terminal dashboard of one run.  Use as a context manager (or start()/stop())."""

    def __init__(self, coach, console: Console | None = None, refresh_per_second: float = 4.0, title: str = "StrideCue",
                 profile: str | None = None, sensors: list[dict] | None = None):
        self.coach = coach
        self.console = console or Console()
        self.refresh_per_second = refresh_per_second
        self.title = title
        self.profile = profile
        self.legs: dict[str, _Leg] = {}
        self.run_t = 0.0
        self.walking = 0
        self.cues = 0
        self.last_cue = None
        self.connection = {s.get("slot", i): "connecting" for i, s in enumerate(sensors or [])}
        self.names = {s.get("slot", i): s.get("name", f"sensor {i}") for i, s in enumerate(sensors or [])}
        self.battery: dict[int, int | None] = {}
        self.lost = 0
        self.notes: list[str] = []
        self._live: Live | None = None
        self.hook_ns_ = 0  # time spent in the pipeline's hooks (for the benchmark)
        self.hook_calls_ = 0

    # -- hooks called by the pipeline and the link (cheap) ------------------------------------

    def on_stride(self, stride: Stride) -> None:
        started = time.perf_counter_ns()
        self.run_t = max(self.run_t, stride.known_t)
        if stride.kind != "run":
            self.walking += 1
        else:
            key = (stride.leg, stride.mount)
            leg = self.legs.get(key)
            if leg is None:
                leg = self.legs[key] = _Leg()
            leg.sensor, leg.mount = stride.sensor, stride.mount
            leg.strides += 1
            leg.wobble.append(_f(stride.wobble_deg))
            leg.pta.append(_f(stride.pta_axial_g))
            if stride.cadence_spm is not None:
                leg.cadence = _f(stride.cadence_spm)
            leg.contact_s = _f(stride.contact_time_s)
            thr = self._threshold(*key)
            if thr is not None and leg.wobble[-1] > thr:
                leg.over += 1
        self.hook_ns_ += time.perf_counter_ns() - started
        self.hook_calls_ += 1

    def speak(self, cue) -> None:
        self.cues += 1
        self.last_cue = cue

    def on_event(self, event: dict) -> None:
        kind = event.get("kind")
        slot = event.get("sensor", 0)
        if kind in ("connected", "reconnect"):
            self.connection[slot] = "connected"
        elif kind == "disconnect":
            self.connection[slot] = "reconnecting"
        elif kind == "status" and event.get("battery_pct") is not None:
            self.battery[slot] = event["battery_pct"]
        if kind == "connected" and event.get("battery_pct") is not None:
            self.battery[slot] = event["battery_pct"]

    def on_missing(self, count: int) -> None:
        self.lost += count

    def note(self, text: str) -> None:
        self.notes.append(text)

    # -- drawing (rich's refresh thread) ---------------------------------------------------------

    def render(self):
        m, s = divmod(int(self.run_t), 60)
        head = Text.assemble((f"{self.title} ", "bold"), f"{m:d}:{s:02d}")
        if self.profile:
            head.append(f"   profile {self.profile}")
        guided = hasattr(self.coach, "segment_")  # the guided hip-or-foot protocol: segments, no threshold
        if guided:
            head.append(f"   guided run: {self.coach.segment_ or 'starts with the first running stride'}", "cyan")
        table = self._table(guided)
        link = Text("sensor ")
        for slot, state in sorted(self.connection.items()):
            style = {"connected": "green", "reconnecting": "yellow"}.get(state, "dim")
            link.append(f"{self.names.get(slot, slot)} ", "bold")
            link.append(state, style)
            battery = self.battery.get(slot)
            link.append(f", battery {battery}%" if battery is not None else ", battery ?")
            link.append("   ")
        if self.lost:
            link.append(f"lost {self.lost} samples")
        cue_line = Text(f"cues {self.cues}", overflow="fold")  # the cue's words are never cut: they say which knee
        if self.last_cue is not None:
            ago = max(self.run_t - self.last_cue.t, 0.0)
            cue_line.append(f"   last: \"{self.last_cue.words}\" {ago:.0f} s ago", "cyan")
        parts = [head, table, link, cue_line]
        parts += [Text(n, "yellow") for n in self.notes]
        return Group(*parts)

    def _table(self, guided: bool) -> Table:
        """One row per leg (and segment).  Narrower than NARROW_COLUMNS the bar is left out (the
        average against the threshold, red when over, says the same) so that no column is cut."""
        narrow = self.console.width < NARROW_COLUMNS
        table = Table(expand=False, box=None, pad_edge=False, padding=(0, 1, 0, 0))
        columns = [("leg", "left"), ("wobble", "left"), ("avg/thr", "right"), ("landing", "right"), ("cadence", "right"),
                   ("contact", "right"), ("strides", "right"), ("over", "right")]
        if narrow:
            columns.pop(1)
        for column, justify in columns:
            table.add_column(column, justify=justify, header_style="bold", no_wrap=True)
        for (name, mount), leg in sorted(self.legs.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
            wobble = _mean(leg.wobble)
            thr = self._threshold(name, mount)
            over = thr is not None and wobble > thr
            cells = [
                name + (f" {mount}" if mount else ""),
                _bar(wobble, thr),
                Text(f"{_fmt(wobble)}" + ("°" if guided else "/forming" if thr is None else f"/{thr:.1f}°"),
                     "red" if narrow and over else ""),
                _fmt(_mean(leg.pta), " g"),
                _fmt(leg.cadence, " spm", 0),
                _fmt(leg.contact_s * 1000.0, " ms", 0),
                str(leg.strides),
                f"{100.0 * leg.over / leg.strides:.0f}%" if leg.strides else "–",
            ]
            if narrow:
                cells.pop(1)
            table.add_row(*cells)
        if not self.legs:
            waiting = ["–", "waiting for running strides", "", "", "", "", str(self.walking) if self.walking else "", ""]
            table.add_row(*(waiting[1:] if narrow else waiting))
        return table

    def _threshold(self, leg: str, mount: str | None) -> float | None:
        threshold = getattr(self.coach, "threshold", None)
        if threshold is None:
            return None
        try:
            return threshold(leg, mount)
        except TypeError:  # a coach that knows legs only (the guided protocol)
            return threshold(leg)

    # -- life cycle -------------------------------------------------------------------------------

    def start(self) -> "Dashboard":
        self._live = Live(console=self.console, get_renderable=self.render, refresh_per_second=self.refresh_per_second,
                          transient=False, redirect_stdout=True, redirect_stderr=False)
        self._live.start()
        return self

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def __enter__(self) -> "Dashboard":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _f(v) -> float:
    try:
        return float(v) if v is not None else math.nan
    except (TypeError, ValueError):
        return math.nan


def _mean(values) -> float:
    finite = [v for v in list(values) if math.isfinite(v)]
    return sum(finite) / len(finite) if finite else math.nan


def _fmt(v: float, unit: str = "", nd: int = 1) -> str:
    return "–" if v is None or not math.isfinite(v) else f"{v:.{nd}f}{unit}"


def _bar(value: float, threshold: float | None) -> Text:
    """A bar of the wobble, the threshold marked with |; red over threshold."""
    if not math.isfinite(value):
        return Text(" " * BAR_WIDTH)
    top = max((threshold or value) * 1.6, value, 1.0)
    filled = min(int(round(value / top * BAR_WIDTH)), BAR_WIDTH)
    mark = None if threshold is None else min(int(round(threshold / top * BAR_WIDTH)), BAR_WIDTH - 1)
    over = threshold is not None and value > threshold
    text = Text()
    for i in range(BAR_WIDTH):
        if i == mark:
            text.append("|", "bold")
        elif i < filled:
            text.append("█", "red" if over else "green")
        else:
            text.append("·", "dim")
    return text
