# The sample ring: the last `capacity` samples in wire layout (12 bytes each) and their
# quaternions (8 bytes every qdiv samples), so any range still held can be sent again.
#
# Sizes at 416 Hz, 32 s: 13 312 samples = 159 744 bytes + 3 328 quaternions = 26 624 bytes,
# allocated once at boot (on a PSRAM board in PSRAM, on the AtomS3 from its ~300 kB heap).
# Sample i lives in slot i % capacity; capacity is a multiple of qdiv, so quaternion i // qdiv
# lives in slot (i // qdiv) % (capacity // qdiv).

import struct

from .bytecopy import copy_bytes

from stridewire import const


_SAMPLE = const(12)
_QUAT = const(8)


class SampleRing:
    """Fixed-size history of samples and quaternions, indexed by the stream's sample counter."""

    def __init__(self, capacity, qdiv):
        capacity -= capacity % qdiv
        if capacity < qdiv:
            raise ValueError("ring capacity below one quaternion group")
        self.capacity = capacity
        self.qdiv = qdiv
        self.qcapacity = capacity // qdiv
        self.samples = bytearray(capacity * _SAMPLE)
        self.quats = bytearray(self.qcapacity * _QUAT)
        self.clear(0)

    def clear(self, start):
        """Forget everything before sample `start` (a multiple of qdiv): nothing is held."""
        self.start = start  # first sample of the current epoch (same rate and ranges)
        self.end = start  # one past the newest sample written

    @property
    def nbytes(self):
        return len(self.samples) + len(self.quats)

    def oldest(self):
        """First sample still held that starts a quaternion group (packets start there)."""
        first = self.end - self.capacity
        if first < self.start:
            first = self.start
        q = self.qdiv
        return (first + q - 1) // q * q

    def put(self, i, ax, ay, az, gx, gy, gz):
        struct.pack_into("<hhhhhh", self.samples, (i % self.capacity) * _SAMPLE, ax, ay, az, gx, gy, gz)
        self.end = i + 1

    def put_quat(self, i, w, x, y, z):
        """Quaternion of sample i (a multiple of qdiv)."""
        struct.pack_into("<hhhh", self.quats, ((i // self.qdiv) % self.qcapacity) * _QUAT, w, x, y, z)

    def copy_samples(self, dst, offset, first, n):
        """Write samples [first, first + n) into dst at offset; the caller checks they are held."""
        src = self.samples
        cap = self.capacity
        o = (first % cap) * _SAMPLE
        size = n * _SAMPLE
        wrap = cap * _SAMPLE - o
        if size <= wrap:
            copy_bytes(dst, offset, src, o, size)
        else:
            copy_bytes(dst, offset, src, o, wrap)
            copy_bytes(dst, offset + wrap, src, 0, size - wrap)

    def copy_quats(self, dst, offset, first, n):
        """Write the quaternions of samples [first, first + n) (first, n multiples of qdiv)."""
        m = n // self.qdiv
        qcap = self.qcapacity
        o = ((first // self.qdiv) % qcap) * _QUAT
        size = m * _QUAT
        wrap = qcap * _QUAT - o
        if size <= wrap:
            copy_bytes(dst, offset, self.quats, o, size)
        else:
            copy_bytes(dst, offset, self.quats, o, wrap)
            copy_bytes(dst, offset + wrap, self.quats, 0, size - wrap)
