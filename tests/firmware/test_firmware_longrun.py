"""What only shows after a long run on a board: garbage made by every `await sleep_ms(...)` of
the main loop, an IMU outage longer than ticks_diff's range (±2**29 µs, ~9 min), and sample
indices that would outgrow MicroPython's small ints (2**30) after ~29 days at 416 Hz."""

from __future__ import annotations

import numpy as np

import stridewire as sw
from mpy import run_micropython
from stridecue.link.decoder import decode_data, decode_status
from stridecue.link.keys import prove_to_node
from stridecue.link.samples import SampleBlock
from stridecue.link.stream import Missing, SampleStream
from stridenode import node as node_mod
from stridenode.boards import load_board
from stridenode.node import SensorNode
from stridenode.sim_i2c import ManualClock, SimI2C, make_device

KEY = (0x0BADCAFE, bytes(range(16)))


# -- (a) sleep_ms allocates nothing beyond asyncio.sleep_ms ----------------------------------

# Each await's allocation is measured on its own (gc disabled), because this port's own
# asyncio.sleep_ms allocates (~64 bytes: its JavaScript timer) and its finaliser now and then
# frees a large batch in one go: the median per await and the sum of the non-negative deltas
# are what the firmware's sleep_ms adds, unaffected by those batch frees.  A small first heap
# area keeps gc.mem_alloc() (which walks the heap) fast.
_SLEEP_ALLOC = """
import asyncio
import gc
from stridenode.tasks import sleep_ms


async def old_sleep_ms(ms):  # the wrapper before the fix: a coroutine object per call
    if hasattr(asyncio, "sleep_ms"):
        await asyncio.sleep_ms(ms)
    else:
        await asyncio.sleep(ms / 1000)


N = 500
deltas = [0] * N


async def measure(fn):
    gc.collect()
    gc.disable()
    for i in range(N):
        a = gc.mem_alloc()
        await fn(1)
        deltas[i] = gc.mem_alloc() - a
    gc.enable()
    total = 0
    for d in deltas:
        if d >= 0:
            total += d
    return total, sorted(deltas)[N // 2]


async def body():
    for name, fn in (("asyncio", asyncio.sleep_ms), ("tasks", sleep_ms), ("old", old_sleep_ms)):
        total, median = await measure(fn)
        print(name, total, median)


await asyncio.create_task(body())
"""


def test_sleep_ms_allocates_no_more_than_asyncio_sleep_ms_in_micropython():
    out = run_micropython(_SLEEP_ALLOC, run_async=True, heap=256 * 1024)
    got = {name: (int(total), int(median)) for name, total, median in (line.split() for line in out.split("\n") if line)}
    n = 500
    base, new, old = got["asyncio"], got["tasks"], got["old"]
    # the measurement sees a coroutine per call (the old wrapper: ~48 bytes each) ...
    assert old[1] >= base[1] + 16, got
    assert old[0] >= base[0] + 16 * n, got
    # ... and the firmware's sleep_ms adds none
    assert new[1] <= base[1], got
    assert new[0] <= base[0] + 4 * n, got


# -- (b) an IMU outage longer than ticks_diff's range ---------------------------------------


def test_dropped_samples_of_a_12_minute_imu_outage_are_counted_from_the_summed_down_time():
    board = load_board("esp32s3_lsm6dso32")
    imu = make_device(board)
    i2c = SimI2C([imu])
    clock = ManualClock()
    node = SensorNode(i2c, clock, board, name="T", seed=7)
    rate = node.rate
    assert node.imu_ok and rate == 416
    for k in range(416):  # a second of normal sampling, serviced every 12 samples
        imu.push(0.0, 0.0, 1.0, 0.0, 0.0, 0.0)
        if k % 12 == 11:
            clock.advance_us(12 * 1_000_000 // rate)
            node.service()
    assert node.dropped == 0 and node.captured > 400
    del i2c.devices[imu.address]  # the part stops answering: reads raise OSError (ENODEV)
    clock.advance_us(10_000)
    node.service()
    assert not node.imu_ok  # the fault was detected here
    t_fault = clock.ticks_ms()
    step_ms = 10  # the sampler wakes every 10 ms on a board
    for _ in range(12 * 60 * 1000 // step_ms):  # 12 minutes: beyond ticks_diff's ±2**29 µs
        clock.advance_us(step_ms * 1000)
        node.service()
        assert not node.imu_ok
    i2c.devices[imu.address] = imu  # back
    for _ in range(2 * 1000 // step_ms):  # the next probe is at most a second away
        clock.advance_us(step_ms * 1000)
        node.service()
        if node.imu_ok:
            break
    assert node.imu_ok
    down_ms = clock.ticks_diff(clock.ticks_ms(), t_fault)
    assert 12 * 60 * 1000 < down_ms <= 12 * 60 * 1000 + 1000 + step_ms  # back within a reprobe interval
    assert abs(node.dropped - down_ms * rate // 1000) <= rate // 100  # the time it was down, at the rate
    assert abs(node.dropped - 12 * 60 * rate) <= rate  # 12 minutes' worth, within one reprobe interval


# -- (c) the sample-index epoch ---------------------------------------------------------------


def _still(k):
    return (((k * 7919) % 2001 - 1000) / 20000.0, 0.01, 1.0, ((k * 31) % 201 - 100) / 100.0, 0.3, -0.2)


def test_sample_indices_start_a_new_epoch_before_2_30_and_the_host_follows():
    limit = node_mod._INDEX_LIMIT
    assert 0 < limit < 2**30
    board = load_board("esp32s3_lsm6dso32")
    imu = make_device(board)
    clock = ManualClock()
    node = SensorNode(SimI2C([imu]), clock, board, name="T", seed=7, secret=KEY)
    node.set_mtu(247)
    assert prove_to_node(node, *KEY) == sw.OK
    reply = sw.parse_reply(bytes(node.handle_control(sw.pack_control(sw.OP_START, 5), True)))
    assert reply[2] == sw.OK and node.streaming
    first_id = node.stream_id
    # ~29 days later: just below the limit, everything consistent with having got there
    q = node.qdiv
    start = (limit - 2000) // q * q
    node.captured = start
    node._live = start
    node._offered = start
    node.ring.clear(start)
    packets = []
    statuses = []
    stream = SampleStream()
    delivered = []
    rate = node.rate
    for k in range(4000):  # ~9.6 s at 416 Hz: 2000 samples to the limit, then the new epoch
        imu.push(*_still(k))
        if k % 12 == 11:
            clock.advance_us(12 * 1_000_000 // rate)
            node.service()
            while (p := node.next_packet()) is not None:
                raw = bytes(p)
                sw.parse_data(raw)  # the wire format accepts it (CRC, header, sizes)
                packets.append(decode_data(raw))
                delivered += stream.push(packets[-1])
            notes = node.pending_notifications()
            if notes is not None:
                statuses.append(decode_status(bytes(notes[0])))
    ids = [p.block.stream_id for p in packets]
    sample0 = [int(p.block.index[0]) for p in packets]
    assert max(int(p.block.index[-1]) for p in packets) < 2**30
    assert max(int(p.block.index[-1]) for p in packets) < limit + 64  # the old epoch ended at the limit
    assert ids[0] == first_id and sample0[0] == start
    assert ids[-1] != first_id, "no new epoch: the indices ran on towards 2**30"
    switch = ids.index(ids[-1])
    assert set(ids[switch:]) == {ids[-1]} and set(ids[:switch]) == {first_id}  # one switch, for good
    assert sample0[switch] == 0  # the new epoch's indices restart at 0 ...
    assert sample0[switch:] == sorted(sample0[switch:]) and sample0[-1] < 2100  # ... and run on from there
    assert sample0[switch - 1] >= limit - 200  # the old epoch streamed right up to the limit
    st = decode_status(bytes(node.status()))
    assert st.stream_id == ids[-1] and st.next_sample < 2100 and st.streaming
    assert any(s.stream_id == ids[-1] for s in statuses)  # the new stream id was announced
    # the host's stream places the new epoch after the old one (like a reboot), nothing lost or doubled
    assert stream.counters.restarts == 1 and stream.counters.duplicates == 0
    assert not [d for d in delivered if isinstance(d, Missing)]
    host = np.concatenate([d.index for d in delivered if isinstance(d, SampleBlock)])
    assert host[0] == start and np.array_equal(np.diff(host), np.ones(len(host) - 1))
    assert len(host) == sum(len(p.block) for p in packets)


def test_samples_of_the_old_epoch_not_yet_sent_are_counted_as_dropped():
    """The epoch switch cannot send what the old epoch still held unsent (a disconnected host, or
    a packet not yet full): those samples must appear in `dropped`, not vanish."""
    board = load_board("esp32s3_lsm6dso32")
    imu = make_device(board)
    clock = ManualClock()
    node = SensorNode(SimI2C([imu]), clock, board, name="T", seed=7, secret=KEY)
    node.set_mtu(247)
    assert prove_to_node(node, *KEY) == sw.OK
    assert sw.parse_reply(bytes(node.handle_control(sw.pack_control(sw.OP_START, 5), True)))[2] == sw.OK
    q = node.qdiv
    start = (node_mod._INDEX_LIMIT - 400) // q * q
    node.captured = node._live = node._offered = start
    node.ring.clear(start)
    node.on_disconnect()  # the host is away: nothing is sent, the backlog grows past the limit
    node.streaming = True
    for k in range(500):
        imu.push(*_still(k))
        if k % 12 == 11:
            clock.advance_us(12 * 1_000_000 // node.rate)
            node.service()
    captured_before_switch = node_mod._INDEX_LIMIT - start  # at least this many were never sent
    assert node.captured < 200, "the new epoch started"
    assert node.dropped >= captured_before_switch
