"""Sample stream reassembly: decoded packets of one sensor -> gap-free, in-order samples.

Packets can arrive lost, duplicated, reordered or resent.  The stream hands on samples strictly
in sample-counter order, asks the sensor to resend what is missing, and only when a range is
truly gone (the sensor says so, or resends keep failing) declares it missing — never silently.

Waiting is measured in sample time (how much newer data has arrived since the request), not
wall time, so the same logic holds live, in replay and in accelerated simulation, and a link
that is down does not time anything out: on reconnect the outstanding gaps are asked for again.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Union

import numpy as np

from stridecue.link.decoder import DataPacket
from stridecue.link.samples import SampleBlock


@dataclass(frozen=True)
class Missing:
    """Samples [first, first + count) of the host timeline that will never arrive."""

    sensor: int
    first: int
    count: int


StreamItem = Union[SampleBlock, Missing]


@dataclass
class StreamCounters:
    packets: int = 0
    samples: int = 0  # delivered in order
    duplicates: int = 0  # samples received more than once and dropped
    resend_requests: int = 0
    recovered: int = 0  # samples that arrived after having been missing
    missing: int = 0  # samples declared missing
    restarts: int = 0  # the sensor restarted its counters (reboot)
    corrupt: int = 0  # notifications rejected by the decoder


@dataclass
class _Gap:
    first: int
    count: int
    requested_at: int  # newest sample index seen when last requested ...
    requested_t: float  # ... and the link clock then
    noticed_at: int  # newest sample index seen when the gap was first noticed ...
    noticed_t: float  # ... and the link clock then
    attempts: int = 1


@dataclass
class SampleStream:
    """Reorders, deduplicates and gap-fills the packets of one sensor.

    request_resend(first_device_index, count) is called for each gap; give_up_after_s is
    how much newer data may arrive before a still-missing range is requested again, and
    max_attempts how many requests are made before the range is declared missing.
    """

    sensor: int = 0
    request_resend: Callable[[int, int], None] | None = None
    give_up_after_s: float = 0.5
    max_attempts: int = 3
    max_pending_s: float = 30.0
    counters: StreamCounters = field(default_factory=StreamCounters)

    def __post_init__(self) -> None:
        self._stream_id: int | None = None
        self._base = 0  # host index = device index + base (changes when the sensor restarts)
        self._next: int | None = None  # next host index to deliver
        self._pending: dict[int, SampleBlock] = {}  # host first index -> block, beyond a gap
        self._gaps: list[_Gap] = []
        self._newest = -1
        self._rate = 0.0
        self._now: float | None = None

    @property
    def next_index(self) -> int | None:
        return self._next

    @property
    def outstanding(self) -> list[tuple[int, int]]:
        """Gaps still waited for, as (first device index, count)."""
        return [(g.first - self._base, g.count) for g in self._gaps]

    def expect_from(self, stream_id: int, device_index: int) -> None:
        """The stream starts at this sample (from the sensor's status before START), so a
        first packet that arrives late is still waited for."""
        if self._stream_id is None:
            self._stream_id = stream_id
            self._next = device_index

    def push(self, packet: DataPacket, wall_gap_s: float = 0.0, now: float | None = None) -> list[StreamItem]:
        """Take one decoded packet; return what can now be delivered, in order.

        wall_gap_s: seconds since the previous packet, used only to place a restarted
        stream (new stream id) on the host timeline.
        now: the link's clock (seconds).  Patience is counted in newer samples AND, when a
        clock is given, in clock time: a backlog that arrives in one burst after a reconnect
        brings many newer samples at once, but gives the sensor no time to answer a request.
        """
        if now is not None:
            self._now = now
        block = packet.block
        self.counters.packets += 1
        self._rate = block.rate
        out: list[StreamItem] = []
        if self._stream_id is None:
            self._stream_id = block.stream_id
            self._next = int(block.index[0])
        elif block.stream_id != self._stream_id:
            out += self._restart(block, wall_gap_s)
        block = self._to_host(block)
        first, end = int(block.index[0]), int(block.index[-1]) + 1
        self._newest = max(self._newest, end - 1)
        assert self._next is not None
        if end <= self._next or first in self._pending:
            self.counters.duplicates += len(block)
        else:
            if first < self._next:  # overlaps what was delivered: keep the new tail
                keep = int(block.index.searchsorted(self._next))
                self.counters.duplicates += keep
                block = _slice(block, keep)
                first = self._next
            if self._fills_gap(first, end):
                self.counters.recovered += end - first
            if first > self._next:
                self._note_gap(self._next, first)
            self._pending[first] = block
            out += self._drain()
        out += self._expire()
        return out

    def restart_requests(self) -> None:
        """Ask again for every outstanding gap (after a reconnect)."""
        for gap in self._gaps:
            gap.requested_at, gap.requested_t = self._newest, self._clock()
            self._ask(gap.first, gap.count)

    def range_gone(self, first_device_index: int, oldest_available: int) -> list[StreamItem]:
        """The sensor says samples before oldest_available (device index) are gone."""
        oldest_host = oldest_available + self._base
        out: list[StreamItem] = []
        for gap in list(self._gaps):
            if gap.first < oldest_host:
                lost_end = min(gap.first + gap.count, oldest_host)
                out += self._declare_missing(gap.first, lost_end - gap.first)
        out += self._drain()
        return out

    def flush(self) -> list[StreamItem]:
        """End of stream: whatever is still missing is declared missing; deliver the rest."""
        out: list[StreamItem] = []
        for gap in list(self._gaps):
            out += self._declare_missing(gap.first, gap.count)
        out += self._drain()
        return out

    # -- internals --------------------------------------------------------------------

    def _to_host(self, block: SampleBlock) -> SampleBlock:
        if self._base == 0:
            return block
        return SampleBlock(
            index=block.index + self._base,
            raw=block.raw,
            rate=block.rate,
            accel_g=block.accel_g,
            gyro_code=block.gyro_code,
            quat_index=block.quat_index + self._base,
            quat_raw=block.quat_raw,
            stream_id=block.stream_id,
            sensor=block.sensor,
        )

    def _restart(self, block: SampleBlock, wall_gap_s: float) -> list[StreamItem]:
        """The sensor rebooted: what was outstanding is gone; place the new stream after a gap."""
        out: list[StreamItem] = []
        for gap in list(self._gaps):
            out += self._declare_missing(gap.first, gap.count)
        out += self._drain()
        assert self._next is not None
        lost = int(round(max(wall_gap_s, 0.0) * block.rate))
        if lost:
            out.append(Missing(self.sensor, self._next, lost))
            self.counters.missing += lost
        self._base = self._next + lost - int(block.index[0])
        self._next = self._next + lost
        self._stream_id = block.stream_id
        self.counters.restarts += 1
        return out

    def _fills_gap(self, first: int, end: int) -> bool:
        hit = any(first < g.first + g.count and end > g.first for g in self._gaps)
        self._cut_gaps(first, end)
        return hit

    def _cut_gaps(self, start: int, stop: int) -> None:
        """[start, stop) is settled (arrived or declared missing): it is no longer waited for."""
        for gap in list(self._gaps):
            g_end = gap.first + gap.count
            if start < g_end and stop > gap.first:
                self._gaps.remove(gap)
                if start > gap.first:
                    self._gaps.append(replace(gap, count=start - gap.first))
                if stop < g_end:
                    self._gaps.append(replace(gap, first=stop, count=g_end - stop))
        self._gaps.sort(key=lambda g: g.first)

    def _note_gap(self, start: int, stop: int) -> None:
        """Samples [start, stop) are not here yet: request those not already requested."""
        covered = [(g.first, g.first + g.count) for g in self._gaps]
        covered += [(f, int(b.index[-1]) + 1) for f, b in self._pending.items()]
        for first, count in _uncovered(start, stop, covered):
            now = self._clock()
            self._gaps.append(_Gap(first, count, self._newest, now, self._newest, now))
            self._gaps.sort(key=lambda g: g.first)
            self._ask(first, count)

    def _ask(self, first: int, count: int) -> None:
        if self.request_resend is None:
            return
        device_first = first - self._base
        while count > 0:
            part = min(count, 0xFFFF)
            self.request_resend(device_first, part)
            self.counters.resend_requests += 1
            device_first += part
            count -= part

    def _drain(self) -> list[StreamItem]:
        out: list[StreamItem] = []
        assert self._next is not None
        while True:
            block = self._pending.pop(self._next, None)
            if block is None:
                # A pending block may start inside what is already delivered (overlap).
                starts = [f for f in self._pending if f < self._next]
                if not starts:
                    break
                f = min(starts)
                block = self._pending.pop(f)
                end = int(block.index[-1]) + 1
                if end <= self._next:
                    self.counters.duplicates += len(block)
                    continue
                keep = int(block.index.searchsorted(self._next))
                self.counters.duplicates += keep
                block = _slice(block, keep)
            if isinstance(block, _HoleBlock):
                out.append(Missing(self.sensor, int(block.index[0]), len(block)))
                self.counters.missing += len(block)
            else:
                out.append(block)
                self.counters.samples += len(block)
            self._next = int(block.index[-1]) + 1
        return out

    def _expire(self) -> list[StreamItem]:
        out: list[StreamItem] = []
        patience = int(self.give_up_after_s * self._rate)
        for gap in list(self._gaps):
            if self._newest - gap.requested_at < patience or not self._waited(gap.requested_t, self.give_up_after_s):
                continue
            if gap.attempts >= self.max_attempts:
                out += self._declare_missing(gap.first, gap.count)
            else:
                gap.attempts += 1
                gap.requested_at, gap.requested_t = self._newest, self._clock()
                self._ask(gap.first, gap.count)
        # Memory guard: a gap that has held back newer samples for max_pending_s of stream time
        # since it was first noticed is given up.  Measured from when it was noticed, not from
        # where it lies: after a long outage the gap starts far behind the newest sample and
        # is still perfectly recoverable from the sensor's ring buffer.
        limit = self.max_pending_s * self._rate
        for gap in list(self._gaps):
            if self._newest - gap.noticed_at > limit and self._waited(gap.noticed_t, self.max_pending_s):
                out += self._declare_missing(gap.first, gap.count)
        if out:
            out += self._drain()
        return out

    def _clock(self) -> float:
        return self._now if self._now is not None else 0.0

    def _waited(self, since: float, seconds: float) -> bool:
        """At least `seconds` of link clock since `since` (always true without a clock)."""
        return self._now is None or self._now - since >= seconds

    def _declare_missing(self, first: int, count: int) -> list[StreamItem]:
        """[first, first+count) will not come; deliver what is before and mark the hole."""
        self._cut_gaps(first, first + count)
        assert self._next is not None
        out: list[StreamItem] = self._drain()
        if self._next == first:
            out.append(Missing(self.sensor, first, count))
            self.counters.missing += count
            self._next = first + count
        else:  # not at the front yet: keep it as a placeholder delivered when reached
            self._pending[first] = _hole(self.sensor, first, count, self._rate)
        return out


def _hole(sensor: int, first: int, count: int, rate: float) -> SampleBlock:
    """An empty marker block; _drain turns it into a Missing when it reaches the front."""
    return _HoleBlock(sensor, first, count, rate)


class _HoleBlock(SampleBlock):
    def __init__(self, sensor: int, first: int, count: int, rate: float):
        object.__setattr__(self, "index", np.arange(first, first + count, dtype=np.int64))
        object.__setattr__(self, "raw", np.zeros((0, 6), np.int16))
        object.__setattr__(self, "rate", rate)
        object.__setattr__(self, "accel_g", 0)
        object.__setattr__(self, "gyro_code", 0)
        object.__setattr__(self, "quat_index", np.zeros(0, np.int64))
        object.__setattr__(self, "quat_raw", np.zeros((0, 4), np.int16))
        object.__setattr__(self, "stream_id", 0)
        object.__setattr__(self, "sensor", sensor)


def _slice(block: SampleBlock, start: int) -> SampleBlock:
    first_kept = block.index[start]
    q0 = int(block.quat_index.searchsorted(first_kept))
    return SampleBlock(
        index=block.index[start:],
        raw=block.raw[start:],
        rate=block.rate,
        accel_g=block.accel_g,
        gyro_code=block.gyro_code,
        quat_index=block.quat_index[q0:],
        quat_raw=block.quat_raw[q0:],
        stream_id=block.stream_id,
        sensor=block.sensor,
    )


def _uncovered(start: int, stop: int, covered: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sub-ranges of [start, stop) not inside any of the covered [a, b) ranges, as (first, count)."""
    out = []
    pos = start
    for a, b in sorted(covered):
        if b <= pos or a >= stop:
            continue
        if a > pos:
            out.append((pos, a - pos))
        pos = max(pos, b)
    if pos < stop:
        out.append((pos, stop - pos))
    return out
