"""The firmware's delta packer (stridenode/delta.py) in real MicroPython (the WebAssembly port):
the same bytes as under CPython, decoded exactly by the host, and no allocation per packet."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np

import stridewire as sw
from mpy import run_micropython
from stridecue.link.decoder import decode_data

_SCRIPT = """
import gc, sys
import stridewire as sw
from stridenode.ring import SampleRing
from stridenode.delta import DeltaPacker

state = [12345]
def rnd(span):
    state[0] = (state[0] * 1103515245 + 12345) & 0x7FFFFFFF
    return state[0] % (2 * span + 1) - span

ring = SampleRing(256, 4)
ring.clear(0)
v = [0, 0, 0, 0, 0, 0]
for i in range(600):  # wraps the 256-slot ring twice; every size of step, up to 16-bit wrap-around
    span = (1, 30, 900, 32767)[(i // 40) % 4]
    for c in range(6):
        v[c] = (v[c] + rnd(span) + 32768) % 65536 - 32768
    ring.put(i, v[0], v[1], v[2], v[3], v[4], v[5])
    if i % 4 == 0:
        ring.put_quat(i, rnd(16384), rnd(16384), rnd(16384), rnd(16384))
packer = DeltaPacker(244)
out = []
first = 600 - 256
while first < 600:
    n = packer.plan(ring, first, 600 - first if 600 - first < 252 else 252, 244)
    sw.pack_data_header(packer.buf, 9, len(out), first, 416, 32, 16, n, 4, 0, sw.TYPE_DATA_DELTA)
    out.append(bytes(packer.pack(ring, first, n)).hex())
    first += n
print(sys.implementation.name, len(out))
for h in out:
    print(h)
if sys.implementation.name == "micropython":
    gc.collect()
    before = gc.mem_alloc()
    for k in range(20):
        f = 600 - 200 + 4 * k
        n = packer.plan(ring, f, 48, 244)
        sw.pack_data_header(packer.buf, 9, k, f, 416, 32, 16, n, 4, 0, sw.TYPE_DATA_DELTA)
        packer.pack(ring, f, n)
    print("alloc", gc.mem_alloc() - before)
"""


def _cpython() -> list[str]:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(compile(_SCRIPT, "delta_script", "exec"), {"__name__": "__main__"})
    return buf.getvalue().split()


def test_micropython_packs_the_same_bytes_the_host_decodes_exactly_without_allocating():
    mpy = run_micropython(_SCRIPT, heap=512 * 1024).split()
    cpy = _cpython()
    assert mpy[0] == "micropython" and cpy[0] == "cpython"
    count = int(mpy[1])
    assert count == int(cpy[1]) and count > 3
    assert mpy[2:2 + count] == cpy[2:2 + count]  # byte for byte
    assert mpy[-2] == "alloc" and int(mpy[-1]) <= 64  # 20 packets planned and packed
    # the host gets back every sample in order, the ring's last 256
    blocks = [decode_data(bytes.fromhex(h)).block for h in mpy[2:2 + count]]
    index = np.concatenate([b.index for b in blocks])
    assert np.array_equal(index, np.arange(600 - 256, 600))
    raw = np.concatenate([b.raw for b in blocks])
    assert raw.dtype == np.int16 and raw.shape == (256, 6)
    assert {sw.parse_delta(bytes.fromhex(h))[0] for h in mpy[2:2 + count]} == {9}


# -- SET_ENCODING in the node (CPython) --------------------------------------------------------

from test_firmware_node import Rig  # noqa: E402  (the node test's rig: a node fed sample by sample)


def test_set_encoding_is_checked_and_lasts_one_connection():
    rig = Rig(start=False, mtu=23)
    assert rig.control(sw.OP_SET_ENCODING, sw.ENCODING_DELTA)[2:] == (sw.ERR_MTU_TOO_SMALL, 23)
    rig.disconnect()
    rig.connect(247)
    assert rig.control(sw.OP_SET_ENCODING, 2)[2] == sw.ERR_BAD_ARGUMENT
    assert rig.control(sw.OP_SET_ENCODING, sw.ENCODING_DELTA)[2:] == (sw.OK, sw.ENCODING_DELTA)
    assert rig.node.encoding == sw.ENCODING_DELTA
    rig.disconnect()
    assert rig.node.encoding == sw.ENCODING_FULL  # a host that never asks never gets delta packets


def test_delta_stream_and_resends_cover_every_sample_once():
    rig = Rig(start=False)
    assert rig.control(sw.OP_SET_ENCODING, sw.ENCODING_DELTA)[2] == sw.OK
    assert rig.control(sw.OP_START)[2] == sw.OK
    rig.run(3.0)
    live = rig.live()
    assert live and all(p.block.raw.dtype == np.int16 for p in live)
    index = np.concatenate([p.block.index for p in live])
    assert np.array_equal(index, np.arange(index[0], index[0] + len(index)))  # in order, no gap, no repeat
    assert max(len(p.block) for p in live) <= 255 and min(len(p.block) for p in live) >= 4
    first, count = int(index[100]) // 4 * 4, 200
    assert rig.control(sw.OP_RESEND, first, count)[2] == sw.OK
    rig.drain()
    again = [p for p in rig.packets if p.resent]
    got = np.concatenate([p.block.index for p in again])
    assert got[0] == first and got[-1] >= first + count - 1
    original = np.concatenate([p.block.raw for p in live])
    resent = np.concatenate([p.block.raw for p in again])
    k = int(first - index[0])
    assert np.array_equal(resent, original[k:k + len(resent)])  # the same samples, byte for byte
