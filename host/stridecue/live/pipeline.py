"""The run pipeline: in-order sample stream -> recorder, stride analysis -> coach -> cues.

Live, simulated and replayed runs all feed this same object with the same items
(SampleBlock and Missing), so what a runner hears in a run is what a replay reproduces.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Protocol

from stridecue.analysis.combine import repeated_segments
from stridecue.analysis.stride import Stride
from stridecue.coach.policy import Coach, Cue
from stridecue.link.samples import SampleBlock
from stridecue.link.stream import Missing, StreamItem


class StrideSource(Protocol):
    """Streaming stride analysis of one sensor (see analysis.streaming)."""

    def push(self, block: SampleBlock) -> list[Stride]: ...

    def gap(self, first: int, count: int) -> None: ...

    def finish(self) -> list[Stride]: ...


class CueSink(Protocol):
    def speak(self, cue: Cue) -> None: ...


@dataclass
class SensorSetup:
    slot: int
    mount: str
    leg: str


@dataclass
class PipelineStats:
    samples: int = 0
    missing: int = 0
    strides: int = 0
    running_strides: int = 0  # the runner's: a step seen by a thigh and a shin sensor counts once
    cues: int = 0
    decision_ms: list = field(default_factory=list)  # stride known -> cue decided, per stride
    first_t: float | None = None  # the run's first sample on the sensor's clock (s): the cue track's 0


class RunPipeline:
    """Consumes the stream items of all sensors of one run."""

    def __init__(
        self,
        sensors: list[SensorSetup],
        make_source: Callable[[SensorSetup, float], StrideSource],
        coach: Coach,
        writer=None,
        cue_sinks: list[CueSink] | None = None,
        on_stride: Callable[[Stride], None] | None = None,
    ):
        self.sensors = {s.slot: s for s in sensors}
        legs = [s.leg for s in sensors]
        self._mounts_share_a_leg = len(set(legs)) < len(legs)
        self._repeated = repeated_segments((s.leg, s.mount) for s in sensors)
        self._make_source = make_source
        self._sources: dict[int, StrideSource] = {}
        self.coach = coach
        self.writer = writer
        self.cue_sinks = cue_sinks or []
        self.on_stride = on_stride
        self.strides: list[Stride] = []
        self.stats = PipelineStats()

    def feed(self, items: list[StreamItem]) -> None:
        for item in items:
            if isinstance(item, Missing):
                self.stats.missing += item.count
                if self.writer is not None:
                    self.writer.write_missing(item.sensor, item.first, item.count)
                source = self._sources.get(item.sensor)
                if source is not None:
                    source.gap(item.first, item.count)
                continue
            if self.stats.first_t is None and len(item):
                self.stats.first_t = float(item.index[0]) / item.rate
            self.stats.samples += len(item)
            if self.writer is not None:
                self.writer.write_samples(item)
            source = self._source(item)
            for stride in source.push(item):
                self._stride(stride)

    def event(self, event: dict) -> None:
        if self.writer is not None:
            self.writer.write_event(event)

    def finish(self) -> None:
        for source in self._sources.values():
            for stride in source.finish():
                self._stride(stride)

    # -- internals --------------------------------------------------------------------

    def _source(self, block: SampleBlock) -> StrideSource:
        source = self._sources.get(block.sensor)
        if source is None:
            setup = self.sensors.get(block.sensor) or SensorSetup(block.sensor, "shin", "left")
            source = self._sources[block.sensor] = self._make_source(setup, block.rate)
        return source

    def _stride(self, stride: Stride) -> None:
        self.strides.append(stride)
        self.stats.strides += 1
        if self.on_stride is not None:
            self.on_stride(stride)
        if stride.kind != "run":
            return
        if (stride.leg, stride.mount) not in self._repeated:
            self.stats.running_strides += 1
        started = time.perf_counter()
        metrics = dict(t=stride.known_t, leg=stride.leg, wobble_deg=stride.wobble_deg, pta_g=stride.pta_axial_g,
                       cadence_spm=stride.cadence_spm)
        if self._mounts_share_a_leg:  # thigh + shin: each segment keeps its own baseline
            metrics["mount"] = stride.mount  # (only then: the guided protocol's on_stride takes no mount)
        cue = self.coach.on_stride(**metrics)
        self.stats.decision_ms.append((time.perf_counter() - started) * 1000.0)
        if cue is None:
            return
        self.stats.cues += 1
        if self.writer is not None:
            self.writer.write_event({"kind": "cue", "t": cue.t, "cue": cue.kind, "words": cue.words, "reason": cue.reason, "values": cue.values})
        for sink in self.cue_sinks:
            sink.speak(cue)
