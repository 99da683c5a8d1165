# The delta encoding of data packets (stridewire TYPE_DATA_DELTA, docs/protocol.md): samples and
# quaternions straight from the ring, each channel as its first value, its first difference and
# the bit-packed second differences of the rest (the residuals of FLAC's fixed order-2 predictor),
# in the fewest bits that hold this packet's largest residual.
#
# Lossless, and every packet stands alone (a lost or resent one needs no other).  A packet holds
# as many quaternion groups as fit the notification (at most 255 samples): when the radio falls
# behind, the backlog goes out in fewer, larger packets, and the per-packet overhead (header,
# CRC, channel headers) is paid less often.
#
# Allocation-free after construction: values are read byte by byte from the ring's bytearrays
# (small ints only), widths and running maxima live in preallocated lists, bits are written
# through one accumulator that never exceeds 23 bits, and the packet's view of each length is made
# once (at most one per possible length).

import stridewire as sw

from stridewire import const

_SAMPLE = const(12)
_QUAT = const(8)


def _width(biggest):
    """Bits of the two's complement that holds every difference whose magnitude (d or ~d) is <= biggest."""
    w = 1
    while biggest >> (w - 1):
        w += 1
    return w


class DeltaPacker:
    """Builds delta data packets from a SampleRing into one preallocated buffer."""

    def __init__(self, size):
        self.buf = bytearray(size)
        self.view = memoryview(self.buf)
        self._views = [None] * (size + 1)  # view of the first k bytes, made the first time k is needed
        self._big = [0] * sw.DELTA_CHANNELS  # largest |difference| per channel so far
        self._kept = [0] * sw.DELTA_CHANNELS  # ... as of the last group that fitted
        self._widths = [0] * sw.DELTA_CHANNELS
        self._at = -1  # the planned packet's first sample (-1: nothing planned)
        self._room = 0
        self._fitted = 0  # samples from _at known to fit
        self.full = False  # the next group would not fit: the planned packet is as big as it gets

    def forget(self):
        """Plan from scratch next time (the planned packet went out, or the ring moved under it)."""
        self._at = -1

    def plan(self, ring, first, most, room):
        """Largest sample count (a multiple of the ring's qdiv, <= most) from `first` whose packet
        fits `room` bytes; 0 if not even one group does.  Leaves the widths of that count and sets
        self.full when the next group would not fit.  Called again with the same first and room and
        a larger `most` (more samples captured), it only looks at the new samples."""
        q = ring.qdiv
        big = self._big
        kept = self._kept
        if first != self._at or room != self._room or most < self._fitted:
            for c in range(sw.DELTA_CHANNELS):
                big[c] = 0
                kept[c] = 0
            self._at = first
            self._room = room
            self._fitted = 0
            self.full = False
        n = self._fitted
        fitted = n
        while n + q <= most and not self.full:
            k = n if n > 2 else 2
            while k < n + q:  # the group's sample residuals
                self._grow(ring.samples, ring.capacity, _SAMPLE, first + k, 0, 6)
                k += 1
            j = n // q
            if j >= 2:  # the group's quaternion residual
                self._grow(ring.quats, ring.qcapacity, _QUAT, first // q + j, 6, 4)
            n += q
            if self._size(n, q, big) > room:
                self.full = True
                for c in range(sw.DELTA_CHANNELS):
                    big[c] = kept[c]
                break
            fitted = n
            for c in range(sw.DELTA_CHANNELS):
                kept[c] = big[c]
        self._fitted = fitted
        if fitted == sw.MAX_SAMPLES_PER_PACKET // q * q:
            self.full = True
        widths = self._widths
        for c in range(sw.DELTA_CHANNELS):
            widths[c] = _width(kept[c])
        return fitted

    def _grow(self, src, cap, item, i, slot, channels):
        """Update the largest residual magnitudes with item i's (channels of 2 bytes from byte 0)."""
        big = self._big
        o = (i % cap) * item
        p = ((i - 1) % cap) * item
        r = ((i - 2) % cap) * item
        c = 0
        while c < channels:
            d = ((src[o] | (src[o + 1] << 8)) - 2 * (src[p] | (src[p + 1] << 8)) + (src[r] | (src[r + 1] << 8))) & 0xFFFF
            if d & 0x8000:
                d = 0xFFFF - d  # ~d of the signed value
            if d > big[slot + c]:
                big[slot + c] = d
            o += 2
            p += 2
            r += 2
            c += 1

    @staticmethod
    def _size(n, q, big):
        size = sw.DELTA_FIXED_SIZE
        m = n // q
        for c in range(sw.DELTA_CHANNELS):
            size += sw.delta_channel_size(n if c < 6 else m, _width(big[c]))
        return size - sw.DELTA_CHANNELS * sw.DELTA_CHANNEL_HEADER  # DELTA_FIXED_SIZE counts them once

    def pack(self, ring, first, n):
        """Write the packet of samples [first, first + n) (planned with plan()) after the header
        fields already in self.buf; seal it; return its memoryview."""
        q = ring.qdiv
        o = sw.DATA_HEADER_SIZE
        for c in range(6):
            o = self._channel(ring.samples, ring.capacity, _SAMPLE, first, n, c, o)
        for c in range(4):
            o = self._channel(ring.quats, ring.qcapacity, _QUAT, first // q, n // q, c, o, 6 + c)
        sw.seal(self.buf, self._prefix(o))
        self._at = -1
        return self._prefix(o + sw.CRC_SIZE)

    def _prefix(self, k):
        """buf[:k] as a memoryview; slicing allocates in MicroPython, so each length is sliced once."""
        v = self._views[k]
        if v is None:
            v = self._views[k] = self.view[:k]
        return v

    def _channel(self, src, cap, item, first, count, c, o, slot=-1):
        buf = self.buf
        w = self._widths[c if slot < 0 else slot]
        buf[o] = w
        a = (first % cap) * item + 2 * c
        older = src[a] | (src[a + 1] << 8)
        buf[o + 1] = src[a]
        buf[o + 2] = src[a + 1]
        o += 3
        if count < 2:
            return o
        a = ((first + 1) % cap) * item + 2 * c
        prev = src[a] | (src[a + 1] << 8)
        d = (prev - older) & 0xFFFF
        buf[o] = d & 0xFF
        buf[o + 1] = d >> 8
        o += 2
        mask = (1 << w) - 1
        acc = 0
        bits = 0
        k = 2
        while k < count:
            a = ((first + k) % cap) * item + 2 * c
            v = src[a] | (src[a + 1] << 8)
            acc |= ((v - 2 * prev + older) & mask) << bits  # the low w bits of the 16-bit residual
            older = prev
            prev = v
            bits += w
            while bits >= 8:
                buf[o] = acc & 0xFF
                acc >>= 8
                bits -= 8
                o += 1
            k += 1
        if bits:
            buf[o] = acc & 0xFF
            o += 1
        return o
