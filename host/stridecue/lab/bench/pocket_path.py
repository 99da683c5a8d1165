"""The pocket host's live path, fed from a recording: what `stridecue daemon` does with each data
notification once it has arrived, on this machine, without the radio and without audio.

A recording is made beforehand from virtual sensors (the firmware's own code, as in `--simulate`):
each sensor's status and its data notifications in the order they reach the host.  Feeding it
builds the daemon's own wiring (pocket/daemon.py's coaching with a silent output, the cue sinks,
serve's live status feed) and its Watch (pocket/watch.py), opens a run file in a temporary data
directory as a run starts, and hands every notification to the SensorLink's notification handler:
decoder -> SampleStream -> activity detector -> RunPipeline (recorder, streaming stride analysis,
coach) -> cue sinks.  The live status feed is written every INTERVAL_S of the recording's time,
as the daemon writes it every INTERVAL_S of wall time.

Used by stridecue.lab.bench.pocket: in this process for CPU time, in a child for its peak memory
(`python -m stridecue.lab.bench.pocket_path RECORDING` prints {"hwm_mb", "maxrss_mb", ...}).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import pickle
import resource
import struct
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

LEGS = ("left", "right")
_RECORD = struct.Struct("<Bd H")  # slot, arrival time on the sensors' clock (s), payload length


@dataclass
class Recording:
    """Data notifications of one or two sensors, in arrival order: (slot, t, payload)."""

    seconds: float
    statuses: list  # SensorStatus per slot, as read at connection
    packets: list = field(default_factory=list)

    def save(self, path: Path) -> None:
        """One file: the pickled header, then each notification as a record (read back one at a time)."""
        with open(path, "wb") as f:
            head = pickle.dumps((self.seconds, self.statuses))
            f.write(struct.pack("<I", len(head)) + head)
            for slot, t, payload in self.packets:
                f.write(_RECORD.pack(slot, t, len(payload)) + payload)


def read_recording(path: Path):
    """(seconds, statuses, iterator of (slot, t, payload)) of a saved recording."""
    f = open(path, "rb")
    (n,) = struct.unpack("<I", f.read(4))
    seconds, statuses = pickle.loads(f.read(n))

    def packets():
        with f:
            while head := f.read(_RECORD.size):
                slot, t, size = _RECORD.unpack(head)
                yield slot, t, f.read(size)

    return seconds, statuses, packets()


def record(seconds: float, sensors: int, seed: int = 3) -> Recording:
    """`sensors` virtual shin sensors (left, then right) on one running virtual runner."""
    return asyncio.run(_record(seconds, sensors, seed))


async def _record(seconds: float, sensors: int, seed: int) -> Recording:
    import stridewire

    from stridecue.link.decoder import decode_status
    from stridecue.link.keys import prove_to_node
    from stridecue.sim import RunnerSettings, VirtualRunner
    from stridecue.sim.air import Connection, VirtualAir

    runner = VirtualRunner(RunnerSettings(speed_mps=3.3), seed=seed)
    air = VirtualAir(speed=None, seed=seed)
    rec = Recording(seconds, [])
    for slot, leg in enumerate(LEGS[:sensors]):
        address = f"5C:1D:00:00:00:{slot + 1:02X}"
        air.add_sensor(f"StrideCue{leg[0].upper()}S", address, runner.sensor(leg=leg, mount="shin", rotation="random"))

        def on_data(payload, slot=slot):
            rec.packets.append((slot, air.clock.now(), bytes(payload)))

        air.connect(address, Connection(on_data=on_data, on_status=lambda b: None, bonded=True))
        sensor = air.sensors[address]
        prove_to_node(sensor.node, *sensor.secret)  # as the link does before anything else
        rec.statuses.append(decode_status(air.read_status(address)))
        side = stridewire.SIDE_LEFT if leg == "left" else stridewire.SIDE_RIGHT
        air.write_control(address, stridewire.pack_control(stridewire.OP_SET_MOUNT, 1, stridewire.SEGMENT_SHIN, side))
        air.write_control(address, stridewire.pack_control(stridewire.OP_START, 2))
    await air.wait_until(seconds)
    for slot in range(sensors):
        air.disconnect(f"5C:1D:00:00:00:{slot + 1:02X}")
    await asyncio.sleep(0)
    return rec


class _DataClock:
    """The recording's time: the arrival time of the notification being handled."""

    def __init__(self):
        self.t = 0.0

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0)


def _watch(base: Path, statuses: list, clock: _DataClock):
    """The daemon's wiring and Watch for these sensors, connected as if the radio had done it."""
    import stridewire

    from stridecue.analysis.activity import ActivityDetector
    from stridecue.coach.settings import load_profile
    from stridecue.coach.setup import prepare_coaching
    from stridecue.link.client import FoundSensor
    from stridecue.live.pipeline import SensorSetup
    from stridecue.live.recording import Wiring, cue_sinks
    from stridecue.live.status_feed import attach_live_status
    from stridecue.pocket.watch import Watch

    setups = [SensorSetup(slot, "shin", leg) for slot, leg in enumerate(LEGS[:len(statuses)])]
    found = [FoundSensor(f"5C:1D:00:00:00:{s.slot + 1:02X}", f"StrideCue{s.leg[0].upper()}S", -58, stridewire.PROTOCOL_VERSION,
                         st.firmware, st.battery_pct) for s, st in zip(setups, statuses)]
    profile = load_profile(None, None, base)
    # as Daemon._wiring: play=False there too (the daemon's one output is a NullPlayer faster than real time)
    coaching = prepare_coaching(profile, base, play=False, track=True, mounts={"shin"})
    args = argparse.Namespace(quiet=True)
    wiring = Wiring(setups, found, coaching, None, None, cue_sinks(args, coaching, None, None, clock), None, clock)
    watch = Watch(attach_live_status(wiring, base), 20.0, lambda kind, slot, link: None)
    for link, status in zip(watch.links, statuses):
        link.status = status
        link.stream.expect_from(status.stream_id, status.next_sample)
        watch.detectors[link.slot] = ActivityDetector(status.rate, stop_after_s=20.0)
    return watch


async def _feed(base: Path, statuses: list, packets) -> dict:
    """Start a run at once and hand it every notification; CPU and wall seconds of the feeding
    (the run's steady state) and of saving it."""
    from stridecue.analysis.activity import MOVING, ActivityEvent
    from stridecue.live.status_feed import INTERVAL_S

    clock = _DataClock()
    watch = _watch(base, statuses, clock)
    start = dt.datetime.now(dt.timezone.utc)
    watch.start_recording(base, start, {"simulated": True, "bench": "pocket"}, ActivityEvent(MOVING, 0.0))
    publisher = watch.wiring.dashboard
    handlers = {link.slot: link._on_data for link in watch.links}
    next_status = INTERVAL_S
    count = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for slot, t, payload in packets:
        clock.t = t
        handlers[slot](None, payload)
        count += 1
        if t >= next_status:  # the daemon's feed task, on the recording's time
            publisher._publish("running")
            next_status += INTERVAL_S
    cpu1, wall1 = time.process_time(), time.perf_counter()
    totals, _ = await watch.save({"ended_by": "bench"})
    cpu2 = time.process_time()
    return {"cpu_s": cpu1 - cpu0, "wall_s": wall1 - wall0, "save_cpu_s": cpu2 - cpu1, "notifications": count,
            "samples": totals["samples"], "missing": totals["missing_samples"], "strides": totals["running_strides"],
            "cues": totals["cues"]}


def feed(base: Path, statuses: list, packets) -> dict:
    """Feed the notifications through the daemon's live path into a run in data directory `base`."""
    return asyncio.run(_feed(Path(base), statuses, packets))


def hwm_mb() -> float | None:
    """This process's peak resident memory (VmHWM), MB; None where /proc has none."""
    try:
        with open("/proc/self/status") as f:
            return int(next(line for line in f if line.startswith("VmHWM")).split()[1]) / 1024
    except (OSError, StopIteration):
        return None


def main(argv: list[str]) -> int:
    """Child: feed a saved recording into a run in a temporary directory; print the peak memory."""
    import tempfile

    seconds, statuses, packets = read_recording(Path(argv[0]))
    with tempfile.TemporaryDirectory() as base:
        before = hwm_mb()
        result = feed(Path(base), statuses, packets)
    result.update(seconds=seconds, before_mb=before, hwm_mb=hwm_mb(),
                  maxrss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
