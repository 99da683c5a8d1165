# How long a sample ring fits the heap that is actually free at boot.
#
#   seconds = ring_seconds(free_bytes=free_heap(), rate=416, qdiv=4)
#
# The ring is the firmware's one big allocation (32 s at 416 Hz: ~190 kB).  A board with PSRAM
# (XIAO ESP32S3: 8 MB) holds it easily; an ESP32-S3 without PSRAM (AtomS3) has of the order of
# 150 kB of MicroPython heap once the firmware is imported and Bluetooth is up, so a fixed 32 s
# ring raised MemoryError at boot.  The ring is therefore sized from what is free, leaving a
# stated margin for everything allocated later (aioble's buffers and tasks, control replies,
# a status burst, the garbage that builds up between collections), and a board that can hold
# only a short ring streams with it and reports its length in the status and the boot report.
#
# free_heap() is the seam: gc.mem_free() on a board (on ESP32 ports since 1.22 it counts the
# heap already assigned to MicroPython plus the largest block the OS can still add to it);
# the tests replace it with a board's budget, because the WebAssembly port grows its heap
# without limit.

import gc

from stridewire import const


RING_MAX_S = const(32)  # more buys nothing: the host gives up on a gap after 30 s
RING_MIN_S = const(2)  # less than this and a reconnect loses samples every time: refuse to run
HEAP_MARGIN = const(40960)  # bytes left free after the ring for what comes later; a choice, checked by the
# main-loop runs (tests/firmware/test_firmware_mainloop.py) on the modelled heaps, not yet on a board
_SAMPLE = const(12)
_QUAT = const(8)


def free_heap():
    """Bytes the heap can still give (after a collection); None where there is no such figure
    (CPython: the host's virtual sensor and tests)."""
    if not hasattr(gc, "mem_free"):
        return None
    gc.collect()
    return gc.mem_free()


def ring_bytes_per_sample(qdiv):
    """What one sample costs in the ring: its 12 bytes, its share of a quaternion and of a clip mark."""
    return _SAMPLE + (_QUAT + 1) / qdiv


def ring_seconds(free_bytes, rate, qdiv, margin=HEAP_MARGIN, longest=RING_MAX_S):
    """Seconds of ring (at most `longest`) that leave `margin` bytes of the free heap; may be below
    RING_MIN_S (the caller decides what to do about that)."""
    room = free_bytes - margin
    if room <= 0:
        return 0
    seconds = room / (ring_bytes_per_sample(qdiv) * rate)
    return longest if seconds > longest else seconds
