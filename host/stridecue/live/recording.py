"""The parts of recording one run that `stridecue run` (live/session.py) and the pocket daemon
(pocket/daemon.py) share: the run's wiring, its metadata, who hears a cue, the link callbacks that
feed the pipeline, connecting the links, waiting for the end, and stopping and saving.

`run` records from the moment it connects; the daemon connects first, watches the stream without
recording and opens the run file only when the runner moves.  Both close the run the same way
(stop_and_save), so both files hold the same totals.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import platform
import sys
from dataclasses import dataclass
from pathlib import Path

from stridecue import __version__
from stridecue.clock import Clock
from stridecue.coach.policy import Cue
from stridecue.coach.setup import Coaching
from stridecue.coach.settings import Profile
from stridecue.link.client import SensorLink
from stridecue.link.loss import data_problem, silent_sensors
from stridecue.link.stream import Missing
from stridecue.live.pipeline import RunPipeline, SensorSetup
from stridecue.live.simulated import Simulation, VirtualRunnerEar, simulation_metadata, simulation_truth
from stridecue.live.status_feed import LiveStatusPublisher


class ConsoleCues:
    """Prints each cue as it is spoken."""

    def __init__(self, quiet: bool = False):
        self.quiet = quiet

    def speak(self, cue: Cue) -> None:
        if not self.quiet:
            m, s = divmod(int(cue.t), 60)
            print(f"  {m:3d}:{s:02d}  cue: \"{cue.words}\"  ({cue.reason})", flush=True)


def make_source(setup: SensorSetup, rate: float):
    from stridecue.analysis.streaming import StreamingStrideAnalyzer

    return StreamingStrideAnalyzer(mount=setup.mount, leg=setup.leg, rate_hz=rate, sensor=setup.slot)


@dataclass
class Wiring:
    """What a run has set up before it records: its sensors, coaching, views and clock."""

    setups: list[SensorSetup]
    found: list  # the scanned sensor for each setup
    coaching: Coaching
    dashboard: object  # the live view, or None
    on_stride: object
    sinks: list  # who hears a cue
    sim: Simulation | None
    clock: Clock
    encoding: str = "full"  # data packets the links ask for (--stream): full or delta


def sensor_links(w: Wiring, items_for, event_for, encoding: str | None = None) -> list[SensorLink]:
    """One SensorLink per sensor of the run, over the simulation's backend when simulated.
    items_for(slot), event_for(slot): the callbacks of that sensor's link; encoding: --stream
    (default: the wiring's)."""
    return [SensorLink(f.device or f.address, slot=setup.slot, mount=setup.mount, leg=setup.leg,
                       backend=w.sim.client_backend if w.sim else None, clock=w.clock, on_items=items_for(setup.slot),
                       on_event=event_for(setup.slot), encoding=encoding or w.encoding)
            for setup, f in zip(w.setups, w.found)]


def sensors_metadata(setups: list[SensorSetup], found: list) -> list[dict]:
    return [{"slot": setup.slot, "name": f.name, "address": f.address, "mount": setup.mount, "leg": setup.leg,
             "firmware": f.firmware, "protocol_version": f.protocol_version} for setup, f in zip(setups, found)]


def cue_sinks(args, coaching: Coaching, dashboard, sim: Simulation | None, clock: Clock) -> list:
    """Who hears a cue: the console, the audio output, the cue track, the live view, the virtual runner."""
    sinks: list = [ConsoleCues(quiet=args.quiet), coaching.audio]
    if coaching.track is not None:
        sinks.append(coaching.track)
    if dashboard is not None:
        sinks.append(dashboard)
    if sim is not None:
        sinks.append(VirtualRunnerEar(sim.runner, clock))
    return sinks


def run_metadata(args, start: dt.datetime, profile: Profile, sensors_meta: list[dict], coaching: Coaching) -> dict:
    """The run file's metadata: when, which host, sensors and settings (and the virtual runner's)."""
    metadata = {
        "start_time": start.isoformat(),
        "simulated": bool(args.simulate),
        "profile": profile.name,
        "host": {"stridecue": __version__, "python": sys.version.split()[0], "platform": platform.platform()},
        "sensors": sensors_meta,
        "settings": coaching.metadata(),
    }
    if args.simulate:
        metadata["simulation"] = simulation_metadata(args)
    return metadata


def open_run(base: Path, start: dt.datetime, metadata: dict, w: Wiring):
    """(writer, pipeline): a new run file named for the first sensor, and the pipeline that writes
    into it; serve's live page learns the file's name, and the coaching notes are its first events."""
    from stridecue.record.runfile import open_new_run

    writer = open_new_run(base, start, w.found[0].name, metadata)
    for sink in w.sinks:
        if isinstance(sink, LiveStatusPublisher):  # serve's live page names the run by its file
            sink.run = writer.path.stem
    pipeline = RunPipeline(w.setups, make_source, w.coaching.coach, writer=writer, cue_sinks=w.sinks, on_stride=w.on_stride)
    for note in w.coaching.notes:
        writer.write_event({"kind": "note", "t": 0.0, "text": note})
    return writer, pipeline


def feeders(pipeline: RunPipeline, dashboard):
    """(on_event, on_items): what the links call with their events and stream items."""

    def on_event(event: dict) -> None:
        pipeline.event(event)
        if dashboard is not None:
            dashboard.on_event(event)

    def on_items(items) -> None:
        pipeline.feed(items)
        if dashboard is not None:
            for item in items:
                if isinstance(item, Missing):
                    dashboard.on_missing(item.count)

    return on_event, on_items


def connected_event(link: SensorLink) -> dict:
    """A link's status as the run's "connected" event."""
    status = link.status
    return {"kind": "connected", "sensor": link.slot, "t": 0.0, "imu": status.imu_model, "firmware": status.firmware,
            "rate": status.rate, "accel_g": status.accel_g, "gyro_dps": status.gyro_dps,
            "battery_pct": status.battery_pct, "ring_s": round(status.ring_s, 1)}


def describe_status(name: str, link: SensorLink) -> str:
    status = link.status
    return (f"{name}: {status.imu_model}, {status.rate} Hz, ±{status.accel_g} g, ±{status.gyro_dps} dps,"
            f" firmware {status.firmware}, battery {status.battery_pct}%, ring {status.ring_s:.1f} s")


async def connect_links(links: list[SensorLink], found: list, on_event, quiet: bool) -> None:
    """Open each link in turn; its status becomes the run's "connected" event."""
    for link, f in zip(links, found):
        await link.open()
        on_event(connected_event(link))
        if not quiet:
            print(describe_status(f.name, link))


async def until_done(supervisors: list, clock: Clock, duration: float | None, stop: asyncio.Event) -> None:
    """Until `duration` seconds of run time have passed or stop is set (Ctrl-C, SIGTERM); a link
    that gives up raises its LinkError."""
    waiter = asyncio.ensure_future(clock.sleep(duration) if duration else asyncio.Event().wait())
    stopper = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait({*supervisors, waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    stopper.cancel()
    for sup in supervisors:
        if sup in done:
            sup.result()  # raises the LinkError


async def stop_and_save(path: Path, writer, links: list[SensorLink], supervisors: list, pipeline: RunPipeline,
                        w: Wiring, *, track_start_s: float = 0.0, extra: dict | None = None) -> tuple[dict, Path | None]:
    """Stop the links and the views, write what the coach silenced, the totals (with `extra`) and
    the cue track, and close the run file: (totals, cue track).

    track_start_s: the run's first sample on the sensor's clock, the cue track's 0 (a sensor that
    was on before the run starts its samples there, not at 0); kept in the totals as cue_track_start_s."""
    for sup in supervisors:
        sup.cancel()
    for link in links:
        await link.close()
    pipeline.finish()
    if w.dashboard is not None:
        w.dashboard.stop()
    for cue in getattr(w.coaching.coach, "silenced_", []):
        writer.write_event({"kind": "cue_silenced", "t": cue.t, "cue": cue.kind, "words": cue.words,
                            "reason": cue.reason, "values": cue.values})
    totals = run_totals(links, pipeline)
    per_sensor = {setup.slot: (writer.samples_written.get(setup.slot, 0), writer.missing_written.get(setup.slot, 0))
                  for setup in w.setups}
    totals["data_problem"] = data_problem(per_sensor)
    totals["silent_sensors"] = silent_sensors(per_sensor)
    totals["coach"] = w.coaching.totals()
    if w.sim is not None and w.sim.streams:
        totals["simulation_truth"] = simulation_truth(w.sim.streams)
    track_path = None
    if w.coaching.track is not None:
        w.coaching.track.start_s = track_start_s
        track_path = w.coaching.track.write(path, duration_s=sample_clock_end(links))
        totals["cue_track"] = track_path.name if track_path else None
        if track_start_s:
            totals["cue_track_start_s"] = round(track_start_s, 6)
    totals.update(extra or {})
    writer.close(summary=totals)
    return totals, track_path


def sample_clock_end(links: list[SensorLink]) -> float | None:
    """The end of the run on the sensors' sample clock, s (the cue track's end)."""
    ends = [link.stream.next_index / link.status.rate for link in links
            if link.stream.next_index is not None and link.status is not None and link.status.rate]
    return max(ends) if ends else None


def run_totals(links: list[SensorLink], pipeline: RunPipeline) -> dict:
    def total(get):
        return sum(get(link) for link in links)

    first = links[0]
    return {
        "samples": pipeline.stats.samples,
        "missing_samples": pipeline.stats.missing,
        "recovered_samples": total(lambda link: link.stream.counters.recovered),
        "duplicate_samples": total(lambda link: link.stream.counters.duplicates),
        "resend_requests": total(lambda link: link.stream.counters.resend_requests),
        "corrupt_notifications": total(lambda link: link.stream.counters.corrupt),
        "sensor_restarts": total(lambda link: link.stream.counters.restarts),
        "reconnects": total(lambda link: link.counters.connects - 1),
        "strides": pipeline.stats.strides,
        "running_strides": pipeline.stats.running_strides,
        "cues": pipeline.stats.cues,
        "sensor_dropped": first.status.dropped if first.status else None,
        "sensor_clipped": first.status.clipped if first.status else None,
        "decision_ms_max": round(max(pipeline.stats.decision_ms), 3) if pipeline.stats.decision_ms else None,
    }
