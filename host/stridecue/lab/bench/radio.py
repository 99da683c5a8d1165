"""What the radio of a small computer carries: one and two virtual sensors streaming through the
radio model of the virtual air (sim/radio.py) to the host's own link code (SensorLink over the
virtual bleak backend), full and delta encoded, on the Pi Zero 2 W's link layer (27-byte packets,
no Data Length Extension) and on one with Data Length Extension.

A provider for `stridecue bench` (run(quick) -> dict, see stridecue.lab.bench).  Every figure is
measured from the run: link-layer packets the stream needed per second (what was sent, scaled to
the samples the sensor produced), against what the model's link carries; the sensor's backlog
(samples waiting in its ring: the ring fill); samples lost (declared missing by the host, as the
firmware counted them).  The margin is 1 - needed / available: the stream fits with margin when
it is at least 20 %.
"""

from __future__ import annotations

import asyncio
import math

LEGS = ("left", "right")
MARGIN_TARGET = 0.2
CASES = (  # (--radio spec, sensors, encoding)
    ("pi-zero-2w", 1, "full"),
    ("pi-zero-2w", 2, "full"),
    ("pi-zero-2w", 1, "delta"),
    ("pi-zero-2w", 2, "delta"),
    ("pi-zero-2w,interval-ms=30", 2, "full"),  # the fast end of Linux's 30-50 ms
    ("pi-zero-2w,interval-ms=30", 2, "delta"),
    ("dle", 2, "full"),
)


def measure(radio, sensors: int, encoding: str, seconds: float, seed: int = 3) -> dict:
    """Stream `seconds` of a running virtual runner from `sensors` shin sensors over `radio`."""
    return asyncio.run(_measure(radio, sensors, encoding, seconds, seed))


async def _measure(radio, sensors: int, encoding: str, seconds: float, seed: int) -> dict:
    from stridecue.link.client import SensorLink
    from stridecue.link.stream import Missing
    from stridecue.sim import RunnerSettings, VirtualRunner
    from stridecue.sim.air import VirtualAir, set_current_air
    from stridecue.sim.ble_backend import VirtualBleakClient

    runner = VirtualRunner(RunnerSettings(speed_mps=3.3, segments=(("run", math.inf),)), seed=seed)
    air = VirtualAir(speed=None, seed=seed, radio=radio)
    addresses = []
    for slot in range(sensors):
        address = f"5C:1D:00:00:00:{slot + 1:02X}"
        air.add_sensor(f"StrideCue{LEGS[slot][0].upper()}S", address, runner.sensor(leg=LEGS[slot], mount="shin", rotation="random"))
        addresses.append(address)
    set_current_air(air)
    missing = [0] * sensors
    delivered = [0] * sensors
    links = []
    for slot, address in enumerate(addresses):
        def on_items(items, slot=slot):
            for item in items:
                if isinstance(item, Missing):
                    missing[slot] += item.count
                else:
                    delivered[slot] += len(item)

        links.append(SensorLink(address, slot=slot, leg=LEGS[slot], backend=VirtualBleakClient, clock=air.clock,
                                on_items=on_items, encoding=encoding))
    for link in links:
        await link.open()
    supervisors = [asyncio.ensure_future(link.supervise()) for link in links]
    backlog = 0
    t_end = air.time + seconds
    while air.time < t_end:
        await air.clock.sleep(0.25)
        backlog = max(backlog, *(air.sensors[a].backlog for a in addresses))
    nodes = [air.sensors[a].node for a in addresses]
    produced = sum(node.captured for node in nodes)
    dropped = sum(node.dropped for node in nodes)
    ring = min(node.ring.capacity for node in nodes)
    rate = nodes[0].rate
    resent = sum(air.queue_of(a).resent_packets for a in addresses)
    packets = sum(air.queue_of(a).packets for a in addresses) - resent  # the live stream's own, status included
    handed = sum(air.queue_of(a).live_samples for a in addresses)  # samples the live packets carried
    for s in supervisors:
        s.cancel()
    for link in links:
        await link.close()
    per_sample = packets / max(handed, 1)
    needed = per_sample * rate * sensors
    available = radio.packets_per_s
    return {"needed_packets_per_s": needed, "available_packets_per_s": available, "margin": 1.0 - needed / available,
            "resent_packets_per_s": resent / seconds,
            "status_share": sum(air.queue_of(a).status_packets for a in addresses) / max(packets, 1),
            "ring_s": ring / rate,
            "packets_per_interval_needed": needed * radio.interval_ms / 1000.0, "backlog_max_s": backlog / rate,
            "ring_fill_max": backlog / ring, "lost": sum(missing), "dropped_by_firmware": dropped, "produced": produced,
            "delivered": sum(delivered), "bytes_per_sample": sum(air.queue_of(a).live_bytes for a in addresses) / max(handed, 1),
            "encoding": [link.encoding_in_use for link in links]}


def run(quick: bool = False) -> dict:
    from stridecue.sim.radio import PRESETS, parse_radio

    seconds = 60.0 if quick else 150.0
    figures = []
    notes = [PRESETS[name].describe() for name in ("pi-zero-2w", "dle")]
    for preset, sensors, encoding in CASES:
        radio = parse_radio(preset)
        m = measure(radio, sensors, encoding, seconds)
        label = f"{preset}, {sensors} sensor{'s' if sensors > 1 else ''}, {encoding}"
        fits = m["margin"] >= MARGIN_TARGET and m["lost"] == 0
        load = 1.0 - m["margin"]
        outlook = ""
        if load > 1.0:  # the backlog grows by (load - 1) s a second until the ring is full
            outlook = (f"; at this load the {m['ring_s']:.0f}-s ring fills after about {m['ring_s'] / (load - 1.0):.0f} s "
                       f"of running, and from then on {100 * (1 - 1 / load):.0f} % of the samples are lost")
        figures += [
            {"name": f"{label}: link load", "value": round(100 * (1 - m["margin"]), 1), "unit": "%",
             "target": f"<= {100 * (1 - MARGIN_TARGET):.0f} %", "met": fits,
             "note": (f"needs {m['needed_packets_per_s']:.0f} link-layer packets/s "
                      f"({m['packets_per_interval_needed']:.1f} per {radio.interval_ms:g} ms interval) of "
                      f"{m['available_packets_per_s']:.0f} ({100 * m['status_share']:.1f} % of them status notifications), "
                      f"and {m['resent_packets_per_s']:.0f}/s went to resends; "
                      f"{m['bytes_per_sample']:.2f} bytes a sample")},
            {"name": f"{label}: samples lost", "value": m["lost"], "unit": "", "target": "0", "met": m["lost"] == 0,
             "note": (f"of {m['produced']} produced; the firmware counted {m['dropped_by_firmware']} overwritten before "
                      f"they were sent; most backlog {m['backlog_max_s']:.1f} s ({100 * m['ring_fill_max']:.0f} % of the ring)"
                      f"{outlook}")},
        ]
    notes.append(f"{'quick: ' if quick else ''}{seconds:g} s of running per case, the host's SensorLink over the virtual "
                 "backend; load = packets needed / packets available; the packets-per-interval figure of the Pi is an "
                 "assumption (sim/radio.py): the packets-per-interval each case needs is the figure to hold against a "
                 "measured controller")
    return {"title": "radio: what the Pi Zero 2 W's link carries", "figures": figures, "notes": notes}

