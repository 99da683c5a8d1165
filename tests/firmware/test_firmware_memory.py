"""The sample ring is sized from the heap that is free at boot (stridenode.memory), not fixed at
32 s: a board without PSRAM (AtomS3) streams with a shorter ring instead of raising MemoryError
at boot; the ring steps down when an allocation fails and refuses to run below min_ring_s with a
MemoryError that says why (main.py reports it).  CPython, plus one MicroPython run for parity."""

from __future__ import annotations

import pytest

from mpy import run_micropython
from stridenode import memory
from stridenode import node as node_mod
from stridenode.boards import load_board
from stridenode.node import SensorNode
from stridenode.sim_i2c import ManualClock, SimI2C, make_device


def make_node(board="esp32s3_lsm6dso32", free=None, ring_s=32, min_ring_s=2):
    board = load_board(board)
    imu = make_device(board)
    free_heap = None if free is None else (lambda: free)
    return SensorNode(SimI2C([imu]), ManualClock(), board, name="T", seed=3, ring_s=ring_s, min_ring_s=min_ring_s,
                      free_heap=free_heap)


def ring_bytes(node):
    """What the ring costs: its samples and quaternions and the per-group clip marks."""
    return node.ring.nbytes + len(node._clip)


# -- stridenode.memory ---------------------------------------------------------------------


def test_free_heap_is_none_on_cpython():
    assert memory.free_heap() is None


def test_bytes_per_sample_is_what_the_ring_really_costs():
    # 12 bytes a sample, an 8-byte quaternion and a 1-byte clip mark per qdiv samples
    assert memory.ring_bytes_per_sample(4) == 12 + 9 / 4
    assert memory.ring_bytes_per_sample(8) == 12 + 9 / 8
    node = make_node()
    assert node.qdiv == 4
    assert ring_bytes(node) == node.ring.capacity * memory.ring_bytes_per_sample(node.qdiv)


def test_ring_seconds_leaves_the_margin_and_is_capped():
    per_s = memory.ring_bytes_per_sample(4) * 416
    s = memory.ring_seconds(memory.HEAP_MARGIN + int(10 * per_s), 416, 4)
    assert 9.99 < s <= 10.0
    assert memory.ring_seconds(10**9, 416, 4) == memory.RING_MAX_S == 32
    assert memory.ring_seconds(10**9, 416, 4, longest=20) == 20
    assert memory.ring_seconds(memory.HEAP_MARGIN, 416, 4) == 0  # nothing left over the margin
    assert memory.ring_seconds(memory.HEAP_MARGIN - 1, 416, 4) == 0
    assert memory.ring_seconds(100_000, 416, 4, margin=0) > memory.ring_seconds(100_000, 416, 4)


# -- SensorNode: the ring sized from free_heap ---------------------------------------------


def test_a_100_kB_heap_gets_a_ring_that_leaves_the_margin_free():
    free = 100_000
    node = make_node(free=free)
    assert node.ring is not None and node.rate == 416
    assert ring_bytes(node) + memory.HEAP_MARGIN <= free
    # and it is not needlessly short: within one 16-sample step of what fits
    fits = memory.ring_seconds(free, node.rate, node.qdiv)
    assert node.ring.capacity > fits * node.rate - 16 - 1
    assert 2 <= node.ring_seconds < 32
    assert node.ring_seconds == node.ring.capacity / 416


def test_a_huge_heap_gets_the_full_32_s():
    node = make_node(free=10**9)
    assert node.ring_seconds == 32
    assert node.ring.capacity == 32 * 416


def test_without_a_free_heap_figure_the_ring_is_ring_s():
    assert make_node(free=None).ring_seconds == 32
    assert make_node(free=None, ring_s=20).ring.capacity == 20 * 416 // 16 * 16


def test_too_little_heap_is_a_memory_error_that_says_so():
    free = memory.HEAP_MARGIN + 8_000  # a ring costs ~5.9 kB/s at 416 Hz: room for 1.3 s
    assert memory.ring_seconds(free, 416, 4) < 2
    with pytest.raises(MemoryError, match=r"no room for a 2 s sample ring"):
        make_node(free=free)
    with pytest.raises(MemoryError, match=r"no room"):
        make_node(free=memory.HEAP_MARGIN // 2)  # less than the margin itself


def test_a_failed_allocation_steps_the_ring_down_instead_of_failing(monkeypatch):
    real = node_mod.SampleRing
    asked = []

    def flaky(capacity, qdiv):
        asked.append(capacity)
        if len(asked) == 1:
            raise MemoryError("memory allocation failed, allocating 159744 bytes")
        return real(capacity, qdiv)

    monkeypatch.setattr(node_mod, "SampleRing", flaky)
    node = make_node(free=10**9)
    assert asked[0] == 32 * 416
    assert len(asked) == 2 and asked[1] < asked[0]
    assert node.ring_seconds == pytest.approx(32 * 3 / 4, abs=16 / 416)  # one step down: 1/4 shorter
    assert node.ring.capacity == asked[1]
    assert node.ring_seconds >= 2


def test_allocations_that_keep_failing_end_in_a_memory_error_not_a_loop(monkeypatch):
    asked = []

    def never(capacity, qdiv):
        asked.append(capacity)
        raise MemoryError("memory allocation failed")

    monkeypatch.setattr(node_mod, "SampleRing", never)
    with pytest.raises(MemoryError, match=r"no room for a 2 s sample ring"):
        make_node(free=10**9)
    assert 2 <= len(asked) < 20
    assert asked == sorted(asked, reverse=True) and min(asked) >= 2 * 416


# -- MicroPython: the AtomS3 (no PSRAM) -----------------------------------------------------


_ATOMS3 = """
from stridenode.boards import load_board
from stridenode.node import SensorNode
from stridenode.sim_i2c import ManualClock, SimI2C, make_device
board = load_board("atoms3_mpu6886")
node = SensorNode(SimI2C([make_device(board)]), ManualClock(), board, name="T", seed=3, ring_s=32, min_ring_s=2,
                  free_heap=lambda: 90000)
print(node.imu_ok, node.rate, node.ring.capacity, node.ring.nbytes + len(node._clip), node.ring_seconds)
"""


def test_atoms3_with_90_kB_free_streams_a_shorter_ring_in_micropython_as_in_cpython():
    ok, rate, capacity, nbytes, seconds = run_micropython(_ATOMS3).split()
    assert ok == "True" and int(rate) == 500
    assert 2 <= float(seconds) < 32
    assert int(nbytes) + memory.HEAP_MARGIN <= 90000
    node = make_node("atoms3_mpu6886", free=90000)
    assert (node.rate, node.ring.capacity, ring_bytes(node)) == (500, int(capacity), int(nbytes))
    assert node.ring_seconds == pytest.approx(float(seconds), abs=1e-6)
