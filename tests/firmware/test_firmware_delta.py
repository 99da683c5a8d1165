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
