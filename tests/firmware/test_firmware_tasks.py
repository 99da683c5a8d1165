"""Task supervision on the board: a crashing task restarts cleanly and is counted; the watchdog
is fed only while every supervised task beats (CPython asyncio, same code as MicroPython's)."""

from __future__ import annotations

import asyncio

import stridewire as sw
from stridecue.link.keys import prove_to_node
from stridenode.boards import load_board
from stridenode.node import SensorNode
from stridenode.sim_i2c import ManualClock, SimI2C, make_device
from stridenode.tasks import Supervisor, feed_watchdog


class FakeWdt:
    def __init__(self):
        self.feeds = 0

    def feed(self):
        self.feeds += 1


def test_a_crashing_task_restarts_and_is_counted_in_the_status():
    board = load_board("esp32s3_lsm6dso32")
    clock = ManualClock()
    node = SensorNode(SimI2C([make_device(board)]), clock, board, seed=3, secret=(1, bytes(16)))
    sup = Supervisor(clock, on_error=node.task_failed, restart_delay_ms=1)
    runs = []

    async def flaky():
        runs.append(1)
        if len(runs) < 3:
            raise RuntimeError("boom")

    asyncio.run(asyncio.wait_for(sup.run("flaky", flaky), 2.0))
    assert len(runs) == 3 and sup.restarts["flaky"] == 2
    node.set_mtu(247)
    assert prove_to_node(node, 1, bytes(16)) == sw.OK  # the status is for an authenticated host
    status = sw.parse_status(node.status())
    assert status[sw.STATUS_FIELDS.index("error_count")] == 2


def test_watchdog_is_fed_only_while_every_task_beats():
    clock = ManualClock()
    sup = Supervisor(clock, restart_delay_ms=1)
    wdt = FakeWdt()
    alive = {"beating": True}

    async def worker():
        while True:
            if alive["beating"]:
                sup.beat("worker")
            clock.advance_us(100_000)
            await asyncio.sleep(0.001)

    async def scenario():
        task = asyncio.create_task(sup.run("worker", worker, max_silence_ms=500))
        dog = asyncio.create_task(feed_watchdog(lambda: wdt, sup, grace_ms=0, every_ms=1))
        await asyncio.sleep(0.05)
        fed = wdt.feeds
        assert fed > 0 and sup.healthy()
        alive["beating"] = False  # the task hangs in a loop without beating
        await asyncio.sleep(0.05)
        assert sup.silent() == ["worker"]
        stalled = wdt.feeds
        await asyncio.sleep(0.05)
        assert wdt.feeds == stalled  # the hardware watchdog will reset the board
        task.cancel()
        dog.cancel()

    asyncio.run(scenario())


def test_the_watchdog_waits_for_its_grace_period():
    clock = ManualClock()
    sup = Supervisor(clock)
    made = []

    async def scenario():
        dog = asyncio.create_task(feed_watchdog(lambda: made.append(1) or FakeWdt(), sup, grace_ms=100, every_ms=1))
        await asyncio.sleep(0.02)
        assert made == []
        await asyncio.sleep(0.15)
        assert made == [1]
        dog.cancel()

    asyncio.run(scenario())
