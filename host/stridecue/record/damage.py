"""What a damaged run file lost: the unreadable byte ranges a reader skipped (runformat.ChunkWalk),
turned into run time and samples, and said in one line.

Each samples chunk holds a contiguous run of one sensor's sample indices, so the samples lost in
a damaged region are the gap, per sensor, between the last samples chunk before it and the
first one after it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SampleSpan:
    """Where one samples chunk sits in the file and which indices it holds."""

    pos: int  # byte offset of the chunk
    sensor: int
    first: int  # first sample index
    end: int  # last sample index + 1
    rate: float


@dataclass(frozen=True)
class Damage:
    """One unreadable region of a run file and what it held."""

    first_byte: int
    end_byte: int  # the next readable chunk starts here
    lost: tuple[tuple[int, int, int], ...]  # (sensor, first index, count) never to be read again
    start_s: float | None  # run time of the region (from the samples around it), None when unknown
    end_s: float | None

    @property
    def size(self) -> int:
        return self.end_byte - self.first_byte

    @property
    def samples_lost(self) -> int:
        return sum(count for _, _, count in self.lost)


def locate_damage(regions: list[tuple[int, int]], spans: list[SampleSpan]) -> list[Damage]:
    """The damage of each (first byte, next good byte) region, given the file's samples chunks."""
    out = []
    for first_byte, end_byte in regions:
        lost, times = [], []
        for sensor in sorted({s.sensor for s in spans}):
            mine = [s for s in spans if s.sensor == sensor]
            before = [s for s in mine if s.pos < first_byte]
            after = [s for s in mine if s.pos >= end_byte]
            if not before or not after:
                continue  # the damage is before its first samples or after its last: the loss cannot be told
            last_end = max(s.end for s in before)
            next_first = min(s.first for s in after)
            if next_first > last_end:
                lost.append((sensor, last_end, next_first - last_end))
            if after[0].rate > 0:
                times.append((last_end / after[0].rate, next_first / after[0].rate))
        start_s = min((t[0] for t in times), default=None)
        end_s = max((t[1] for t in times), default=None)
        out.append(Damage(first_byte, end_byte, tuple(lost), start_s, end_s))
    return out


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _kilobytes(n: int) -> str:
    return f"{n / 1000:.1f} kB"


def describe_damage(damage: list[Damage]) -> str | None:
    """One line for the user, e.g. "run file damaged: 5.1 kB unreadable at 12:03–12:04, ~480
    samples lost"; None for an undamaged file."""
    if not damage:
        return None
    size = sum(d.size for d in damage)
    where = ", ".join(f"{_clock(d.start_s)}–{_clock(d.end_s)}" for d in damage if d.start_s is not None)
    places = f" in {len(damage)} places" if len(damage) > 1 else ""
    at = f" at {where}" if where else ""
    return f"run file damaged: {_kilobytes(size)} unreadable{places}{at}, ~{sum(d.samples_lost for d in damage)} samples lost"
