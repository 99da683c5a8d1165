"""Sample stream reassembly: order, duplicates, gaps, resends, restarts — nothing lost silently."""

import random
import struct

import numpy as np
import pytest

import stridewire
from stridecue.link.decoder import decode_data
from stridecue.link.stream import Missing, SampleStream

N = 12  # samples per packet
Q = 4


def packet(sample0, seq=None, stream_id=7, flags=0):
    buf = bytearray(stridewire.data_packet_size(N, Q))
    stridewire.pack_data_header(buf, stream_id, seq if seq is not None else sample0 // N, sample0, 416, 32, 16, N, Q, flags)
    for i in range(N):
        v = (sample0 + i) % 30000
        struct.pack_into("<6h", buf, stridewire.sample_offset(i), v, -v, 1, 2, 3, 4)
    for j in range(N // Q):
        struct.pack_into("<4h", buf, stridewire.quat_offset(N, j), 16384, 0, 0, 0)
    stridewire.seal(buf, memoryview(buf)[: len(buf) - 4])
    return decode_data(buf)


def collect(items, blocks, missing):
    for it in items:
        if isinstance(it, Missing):
            missing.append((it.first, it.count))
        else:
            blocks.append(it)


def delivered_indices(blocks):
    return np.concatenate([b.index for b in blocks]) if blocks else np.zeros(0, np.int64)


def test_in_order_stream_is_passed_through():
    s = SampleStream()
    blocks, missing = [], []
    for k in range(10):
        collect(s.push(packet(k * N)), blocks, missing)
    idx = delivered_indices(blocks)
    assert np.array_equal(idx, np.arange(10 * N))
    assert missing == [] and s.counters.samples == 10 * N


def test_lost_packet_is_requested_and_filled_by_resend():
    asked = []
    s = SampleStream(request_resend=lambda first, count: asked.append((first, count)))
    blocks, missing = [], []
    for k in [0, 1, 3, 4]:
        collect(s.push(packet(k * N)), blocks, missing)
    assert asked == [(2 * N, N)]
    assert len(delivered_indices(blocks)) == 2 * N  # held back behind the gap, in order
    collect(s.push(packet(2 * N, seq=99, flags=stridewire.FLAG_RESENT)), blocks, missing)
    assert np.array_equal(delivered_indices(blocks), np.arange(5 * N))
    assert s.counters.recovered == N and missing == []


def test_duplicates_and_reordering_deliver_each_sample_once_in_order():
    rng = random.Random(3)
    order = list(range(40))
    for i in range(0, 38, 3):  # swap neighbours
        order[i], order[i + 1] = order[i + 1], order[i]
    s = SampleStream(request_resend=lambda f, c: None)
    s.expect_from(7, 0)
    blocks, missing = [], []
    for k in order:
        collect(s.push(packet(k * N)), blocks, missing)
        if rng.random() < 0.3:
            collect(s.push(packet(k * N)), blocks, missing)
    collect(s.flush(), blocks, missing)
    assert np.array_equal(delivered_indices(blocks), np.arange(40 * N))
    assert missing == []
    assert s.counters.duplicates > 0


def test_range_gone_is_declared_missing_exactly():
    s = SampleStream(request_resend=lambda f, c: None)
    blocks, missing = [], []
    for k in [0, 1, 5, 6]:
        collect(s.push(packet(k * N)), blocks, missing)
    collect(s.range_gone(2 * N, 4 * N), blocks, missing)  # samples before 4N are gone
    assert missing == [(2 * N, 2 * N)]
    assert s.outstanding == [(4 * N, N)]
    collect(s.push(packet(4 * N, flags=stridewire.FLAG_RESENT)), blocks, missing)
    got = delivered_indices(blocks)
    assert np.array_equal(got, np.r_[np.arange(2 * N), np.arange(4 * N, 7 * N)])


def test_unanswered_gap_is_retried_then_declared_missing():
    asked = []
    s = SampleStream(request_resend=lambda f, c: asked.append((f, c)), give_up_after_s=0.1, max_attempts=3)
    blocks, missing = [], []
    collect(s.push(packet(0)), blocks, missing)
    for k in range(2, 60):
        collect(s.push(packet(k * N)), blocks, missing)
    assert asked.count((N, N)) == 3
    assert missing == [(N, N)]
    assert np.array_equal(delivered_indices(blocks), np.r_[np.arange(N), np.arange(2 * N, 60 * N)])


def test_restart_of_the_sensor_continues_the_timeline():
    s = SampleStream()
    blocks, missing = [], []
    for k in range(5):
        collect(s.push(packet(k * N, stream_id=1)), blocks, missing)
    collect(s.push(packet(0, stream_id=2), wall_gap_s=1.0), blocks, missing)
    assert missing == [(5 * N, 416)]
    assert blocks[-1].index[0] == 5 * N + 416
    assert s.counters.restarts == 1


def test_flush_declares_outstanding_gaps():
    s = SampleStream(request_resend=lambda f, c: None)
    blocks, missing = [], []
    for k in [0, 3]:
        collect(s.push(packet(k * N)), blocks, missing)
    collect(s.flush(), blocks, missing)
    assert missing == [(N, 2 * N)]
    assert np.array_equal(delivered_indices(blocks), np.r_[np.arange(N), np.arange(3 * N, 4 * N)])
