"""The radio model of the virtual air (sim/radio.py): its arithmetic against hand-computed cases,
and what it does to a stream: two sensors at full rate on a link without Data Length Extension
lose samples, counted; in the delta encoding they fit."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from stridecue.errors import UserError
from stridecue.link.client import SensorLink
from stridecue.link.stream import Missing
from stridecue.sim import RunnerSettings, VirtualRunner
from stridecue.sim.air import VirtualAir, set_current_air
from stridecue.sim.ble_backend import VirtualBleakClient
from stridecue.sim.radio import PRESETS, LinkQueue, RadioModel, parse_radio, serve_interval


def test_fragments_follow_the_l2cap_and_att_headers():
    pi = PRESETS["pi-zero-2w"]
    # a full data packet (12 samples at MTU 247): 191 + 3 (ATT) + 4 (L2CAP) = 198 bytes -> 8 packets of 27
    assert pi.fragments(191) == 8
    assert pi.fragments(20) == 1  # 27 exactly: the classic 20-byte notification
    assert pi.fragments(21) == 2
    assert pi.fragments(244) == 10  # 251 bytes
    dle = PRESETS["dle"]
    assert dle.fragments(191) == 1 and dle.fragments(244) == 1 and dle.fragments(245) == 2


def test_air_time_and_packets_per_interval():
    pi = PRESETS["pi-zero-2w"]
    # (10 + 27 + 4 MIC) bytes x 8 us + 150 + 80 (empty ack) + 150
    assert pi.packet_airtime_us() == pytest.approx(708.0)
    assert RadioModel("x", encrypted=False).packet_airtime_us() == pytest.approx(676.0)
    assert PRESETS["dle"].packet_airtime_us() == pytest.approx((10 + 251 + 4) * 8 + 380)
    assert pi.packets_per_event == 15 and pi.packets_per_s == pytest.approx(300.0)
    # air time caps what the controller would take: 7.5 ms holds 10 packets of 708 us
    assert RadioModel("x", interval_ms=7.5, packets_per_interval=100).packets_per_event == 10
    assert RadioModel("x", ll_payload=251, interval_ms=50, packets_per_interval=100).packets_per_event == 20
    # one sensor at 416 Hz needs 34.67 notifications of 191 bytes a second: 277 packets of 300
    assert 416 / 12 * pi.fragments(191) == pytest.approx(277.3, abs=0.1)
    assert pi.notifications_per_s(191) == pytest.approx(37.5)


def test_an_interval_is_shared_packet_by_packet():
    model = RadioModel("x", packets_per_interval=15)
    a, b = LinkQueue(model), LinkQueue(model)
    assert a.offer(b"A" * 191, False) and a.offer(b"a" * 191, False) and b.offer(b"B" * 191, False)
    done = serve_interval(model, [a, b], 0)
    # 15 packets, taken in turn: a gets 8 (its first notification complete), b gets 7 of its 8
    assert [(i, p[:1], s) for i, p, s in done] == [(0, b"A", False)]
    assert a.packets == 8 and b.packets == 7 and b.waiting[0][2] == 1
    done = serve_interval(model, [a, b], 1)
    assert [i for i, _, _ in done] == [1, 0]  # b's last packet first, then a's second notification
    assert a.packets == 16 and b.packets == 8


def test_resent_data_packets_are_counted_apart():
    import stridewire as w

    model = RadioModel("x", packets_per_interval=100)
    q = LinkQueue(model)
    live = bytearray(191)
    live[0] = w.TYPE_DATA
    live[16] = 12  # n
    resent = bytearray(live)
    resent[18] = w.FLAG_RESENT
    status = bytearray(46)
    status[18] = 0xFF  # a status message's byte 18 is no flag
    for payload, is_status in ((live, False), (resent, False), (status, True)):
        q.offer(bytes(payload), is_status)
    serve_interval(model, [q], 0)
    assert q.packets == 8 + 8 + 2 and q.resent_packets == 8 and q.status_packets == 2
    assert q.bytes == 191 + 191 + 46 and q.resent_bytes == 191
    assert q.live_samples == 12 and q.live_bytes == 191  # the live packet's, not the resent one's nor the status's


def test_a_full_queue_refuses():
    model = RadioModel("x", queue=2)
    q = LinkQueue(model)
    assert q.offer(b"1", False) and q.offer(b"2", False)
    assert not q.offer(b"3", False) and q.refused == 1


@pytest.mark.parametrize("spec, words", [
    ("pi-zero-3", "unknown radio 'pi-zero-3'"),
    ("dle,speed=2", "unknown setting 'speed'"),
    ("dle,packets=x", "bad value 'x' for packets"),
    ("pi-zero-2w,interval-ms=5", "outside Bluetooth's 7.5-4000 ms"),
    ("pi-zero-2w,payload=300", "outside Bluetooth's 27-251 bytes"),
    ("pi-zero-2w,queue=0", "at least 1"),
])
def test_bad_radio_specs_are_named(spec, words):
    with pytest.raises(UserError, match=words):
        parse_radio(spec)


def test_radio_specs_adjust_the_preset():
    assert parse_radio("none") is None and parse_radio("") is None
    model = parse_radio("pi-zero-2w,interval-ms=30,packets=6,queue=4")
    assert (model.ll_payload, model.interval_ms, model.packets_per_interval, model.queue) == (27, 30.0, 6, 4)


def _two_sensors(encoding: str, seconds: float, ring_s: float) -> dict:
    """Two shin sensors streaming through the Pi-like radio to the host's SensorLinks."""

    async def go():
        runner = VirtualRunner(RunnerSettings(segments=(("run", float("inf")),)), seed=4)
        air = VirtualAir(speed=None, seed=4, radio=PRESETS["pi-zero-2w"])
        got = {0: [], 1: []}
        links = []
        for slot, leg in enumerate(("left", "right")):
            address = f"5C:1D:00:00:00:0{slot + 1}"
            air.add_sensor(f"S{slot}", address, runner.sensor(leg=leg, mount="shin"), ring_s=ring_s)
            links.append(SensorLink(address, slot=slot, leg=leg, backend=VirtualBleakClient, clock=air.clock,
                                    on_items=got[slot].extend, encoding=encoding))
        set_current_air(air)
        for link in links:
            await link.open()
        supervisors = [asyncio.ensure_future(link.supervise()) for link in links]
        backlog = 0.0
        while air.time < seconds:
            await air.clock.sleep(0.5)
            backlog = max(backlog, *(s.backlog / s.rate for s in air.sensors.values()))
        dropped = [s.node.dropped for s in air.sensors.values()]
        for s in supervisors:
            s.cancel()
        for link in links:
            await link.close()
        return {"got": got, "dropped": dropped, "backlog_s": backlog, "encodings": [l.encoding_in_use for l in links]}

    return asyncio.run(go())


def _timeline(items) -> tuple[int, int]:
    """(delivered, declared missing); every index in between is one or the other, never silent."""
    blocks = [i for i in items if not isinstance(i, Missing)]
    missing = [i for i in items if isinstance(i, Missing)]
    idx = np.concatenate([b.index for b in blocks])
    covered = np.zeros(int(idx.max()) + 1 - int(idx.min()), int)
    covered[idx - idx.min()] += 1
    for m in missing:
        covered[m.first - idx.min(): m.first + m.count - idx.min()] += 1
    assert (covered == 1).all(), "a sample delivered twice, or a hole that is neither delivered nor declared missing"
    return len(idx), sum(m.count for m in missing)


def test_two_full_rate_sensors_on_a_27_byte_link_lose_samples_loudly():
    # 547 link-layer packets/s needed, 300 available: the backlog outgrows a 3-s ring within seconds
    run = _two_sensors("full", 12.0, ring_s=3.0)
    assert run["encodings"] == ["full", "full"]
    for slot in (0, 1):
        delivered, missing = _timeline(run["got"][slot])
        assert missing > 416, "the link cannot carry two full streams: samples must be lost"
        # the host's count of missing samples is the firmware's count of samples it overwrote unsent,
        # but for the last overwrite when the packet after it was still in the controller's queue at
        # the end (at most a queue of 8 notifications of 12 samples)
        assert run["dropped"][slot] - 8 * 12 <= missing <= run["dropped"][slot]
    assert run["backlog_s"] > 2.5


def test_two_delta_encoded_sensors_fit_the_same_link():
    run = _two_sensors("delta", 12.0, ring_s=3.0)
    assert run["encodings"] == ["delta", "delta"]
    for slot in (0, 1):
        delivered, missing = _timeline(run["got"][slot])
        assert missing == 0 and run["dropped"][slot] == 0
        assert delivered > 10 * 416
    assert run["backlog_s"] < 0.5


def test_run_simulate_with_the_pi_radio_and_delta_stream_loses_nothing(tmp_path):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "stridecue.cli", "--data-dir", str(tmp_path), "run", "--simulate", "--speed", "max",
                          "--duration", "6", "--leg", "both", "--quiet", "--audio", "none", "--radio", "pi-zero-2w",
                          "--stream", "delta"], capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr
    assert "samples: 0/" in out.stdout and "WARNING" not in out.stderr, out.stdout + out.stderr


def test_the_radio_help_names_every_preset():
    """--radio's help lives in live/options.py (a real run's parser must not import the simulator)."""
    from stridecue.live.options import RADIO_HELP
    from stridecue.sim.radio import PRESETS

    assert all(name in RADIO_HELP for name in PRESETS)
