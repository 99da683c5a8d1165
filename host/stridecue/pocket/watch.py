"""One connection of the daemon's sensors: watched without recording until the runner moves, then
recorded until the runner stands still or double-taps a sensor, then saved.

The links stream from the moment they connect.  Until a run starts, their items only pass the
ActivityDetector of each sensor and a bounded pre-roll (PREROLL_S of samples per sensor).  On
MOVING the run file opens and the pipeline takes the pre-roll from LEAD_S before the movement
began (the standstill the stride analysis frames the sensor from), then the live items: no sample
twice, none lost in between, and no hours of standing in the file.  The pre-roll is handed over
in one synchronous step, so no item arrives between the two.

The first sensor (slot 0: the left one with --leg both, the shin with --mount thigh+shin) says
when a run starts and when the runner stands; a double tap on any sensor ends the run at once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import deque
from functools import partial
from pathlib import Path
from typing import Callable

from stridecue.analysis.activity import DOUBLE_TAP, MOVING, STILL, ActivityDetector, ActivityEvent
from stridecue.link.client import SensorLink
from stridecue.link.samples import SampleBlock
from stridecue.link.stream import Missing
from stridecue.live.recording import Wiring, connected_event, feeders, open_run, sensor_links, stop_and_save

PREROLL_S = 20.0  # kept while watching, per sensor
LEAD_S = 10.0  # a run file begins this long before the movement that started it
STANDSTILL_S = 2.0  # quiet this long before a run: "ready" (the analysis has its standstill)
READY = "ready"  # the event: the first sensor has stood still for STANDSTILL_S
SCHEDULE_OVER = "schedule over"  # the event: a simulated runner's schedule has ended


def place(setup) -> str:
    """How a prompt names a sensor: "left shin"."""
    return f"{setup.leg} {setup.mount}"


class Watch:
    """The links of one connection, their activity, the pre-roll and, once a run started, its recording.

    on_link(kind, slot, link): "lost", "back" and "status" (a status or connection: the battery may be low).
    end_s: a simulated runner's schedule ends at this time of the clock (SCHEDULE_OVER), or None.
    """

    def __init__(self, wiring: Wiring, stop_after_s: float, on_link: Callable[[str, int, SensorLink], None],
                 end_s: float | None = None):
        self.wiring = wiring
        self.stop_after_s = stop_after_s
        self.on_link = on_link
        self.end_s = end_s
        self.events: asyncio.Queue = asyncio.Queue()
        self.links = sensor_links(wiring, lambda slot: partial(self._items, slot),
                                  lambda slot: partial(self._event, slot))
        self.detectors: dict[int, ActivityDetector] = {}
        self.preroll: dict[int, deque] = {setup.slot: deque() for setup in wiring.setups}
        self.supervisors: list[asyncio.Future] = []
        self.writer = None
        self.pipeline = None
        self.start_s: float | None = None  # the run's first sample on the sensor clock
        self._record_event: Callable[[dict], None] | None = None
        self._record_items: Callable[[list], None] | None = None
        self._ready = False
        self._over = False

    async def connect(self) -> None:
        """Open every link (LinkError if one cannot) and start supervising them."""
        for link in self.links:
            await link.open()
            self.detectors[link.slot] = ActivityDetector(link.status.rate, stop_after_s=self.stop_after_s)
            self.on_link("status", link.slot, link)
        self.supervisors = [asyncio.ensure_future(link.supervise()) for link in self.links]

    async def next_event(self, stop: asyncio.Event, timeout_s: float | None = None):
        """The next ActivityEvent, READY or SCHEDULE_OVER; "stopped" when stop is set, "idle" after
        timeout_s on the clock.  A link that gives up raises its LinkError."""
        getter = asyncio.ensure_future(self.events.get())
        stopper = asyncio.ensure_future(stop.wait())
        timer = asyncio.ensure_future(self.wiring.clock.sleep(timeout_s)) if timeout_s is not None else None
        waits = {getter, stopper, *self.supervisors} | ({timer} if timer else set())
        try:
            done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for future in (getter, stopper, timer):
                if future is not None and not future.done():
                    future.cancel()
        if getter in done:
            return getter.result()
        for sup in self.supervisors:
            if sup in done:
                sup.result()  # raises the LinkError
        return "stopped" if stopper in done else "idle"

    def start_recording(self, base: Path, start: dt.datetime, metadata: dict, moving: ActivityEvent) -> Path:
        """Open the run file and hand the pipeline the pre-roll from LEAD_S before `moving`, then the live items."""
        w = self.wiring
        self.writer, self.pipeline = open_run(base, start, metadata, w)
        on_event, on_items = feeders(self.pipeline, w.dashboard)
        for link in self.links:
            on_event(connected_event(link))
        items = self._preroll_from(moving.t - LEAD_S)
        first = [item.index[0] / item.rate for item in items if isinstance(item, SampleBlock) and len(item)]
        self.start_s = min(first) if first else moving.t
        if w.dashboard is not None:
            w.dashboard.start()
        on_items(items)
        self._record_event, self._record_items = on_event, on_items
        return self.writer.path

    async def save(self, extra: dict) -> tuple[dict, Path | None]:
        """Stop the links and save the run: (totals, cue track)."""
        return await stop_and_save(self.writer.path, self.writer, self.links, self.supervisors, self.pipeline, self.wiring,
                                   track_start_s=self.start_s or 0.0, extra=extra)

    async def close(self) -> None:
        """Close the links without a run (none started, or it is saved already)."""
        for sup in self.supervisors:
            sup.cancel()
        for link in self.links:
            await link.close()

    # -- the links' callbacks ----------------------------------------------------------

    def _items(self, slot: int, items: list) -> None:
        detector = self.detectors.get(slot)
        for item in items:
            if isinstance(item, SampleBlock) and detector is not None:
                for event in detector.push(item):
                    self._activity(slot, event)
        if self._record_items is not None:
            self._record_items(items)
        else:
            self._keep(slot, items)
        if slot == 0 and not self._ready and detector is not None and detector.still_for_s >= STANDSTILL_S:
            self._ready = True
            self.events.put_nowait(READY)
        if self.end_s is not None and not self._over and self.wiring.clock.now() >= self.end_s:
            self._over = True
            self.events.put_nowait(SCHEDULE_OVER)

    def _activity(self, slot: int, event: ActivityEvent) -> None:
        if event.kind == DOUBLE_TAP or (slot == 0 and event.kind in (MOVING, STILL)):
            self.events.put_nowait(event)

    def _keep(self, slot: int, items: list) -> None:
        """Into the pre-roll, the oldest out beyond PREROLL_S."""
        kept = self.preroll[slot]
        kept.extend(items)
        link = self.links[[s.slot for s in self.wiring.setups].index(slot)]
        rate = link.status.rate if link.status is not None and link.status.rate else 416.0
        while len(kept) > 1 and _end_s(kept[-1], rate) - _end_s(kept[0], rate) > PREROLL_S:
            kept.popleft()

    def _preroll_from(self, t: float) -> list:
        """The pre-roll of every sensor from sensor-clock time t on (items ending before it are left out)."""
        out = []
        for setup, link in zip(self.wiring.setups, self.links):
            rate = link.status.rate if link.status is not None and link.status.rate else 416.0
            out += [item for item in self.preroll[setup.slot] if _end_s(item, rate) >= t]
            self.preroll[setup.slot].clear()
        return out

    def _event(self, slot: int, event: dict) -> None:
        if self._record_event is not None:
            self._record_event(event)
        link = next(link for link in self.links if link.slot == slot)
        kind = event.get("kind")
        if kind == "disconnect":
            self.on_link("lost", slot, link)
        elif kind == "reconnect":
            self.on_link("back", slot, link)
        elif kind == "status":
            self.on_link("status", slot, link)


def _end_s(item, rate: float) -> float:
    """Where a stream item ends on the sensor clock, s."""
    if isinstance(item, Missing):
        return (item.first + item.count) / rate
    return (float(item.index[-1]) + 1) / item.rate
