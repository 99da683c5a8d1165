# The delta encoding of data packets (stridewire TYPE_DATA_DELTA, docs/protocol.md): samples and
# quaternions straight from the ring, each channel as its first value and the bit-packed
# differences of the rest, in the fewest bits that hold this packet's largest difference.
#
# Lossless, and every packet stands alone (a lost or resent one needs no other).  A packet holds
# as many quaternion groups as fit the notification (at most 255 samples): when the radio falls
# behind, the backlog goes out in fewer, larger packets, and the per-packet overhead (header,
# CRC, channel headers) is paid less often.
#
# Allocation-free after construction: values are read byte by byte from the ring's bytearrays
# (small ints only), widths and running maxima live in preallocated lists, bits are written
# through one accumulator that never exceeds 23 bits.

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
        self._big = [0] * sw.DELTA_CHANNELS  # largest |difference| per channel so far
        self._kept = [0] * sw.DELTA_CHANNELS  # ... as of the last group that fitted
        self._widths = [0] * sw.DELTA_CHANNELS

    def plan(self, ring, first, most, room):
        """Largest sample count (a multiple of the ring's qdiv, <= most) from `first` whose packet
        fits `room` bytes; 0 if not even one group does.  Leaves the widths of that count."""
        q = ring.qdiv
        big = self._big
        kept = self._kept
        for c in range(sw.DELTA_CHANNELS):
            big[c] = 0
            kept[c] = 0
        s = ring.samples
        cap = ring.capacity
        qs = ring.quats
        qcap = ring.qcapacity
        n = 0
        fitted = 0
        while n + q <= most:
            k = n if n else 1
            while k < n + q:  # the group's sample differences
                o = ((first + k) % cap) * _SAMPLE
                p = ((first + k - 1) % cap) * _SAMPLE
                c = 0
                while c < 6:
                    d = ((s[o] | (s[o + 1] << 8)) - (s[p] | (s[p + 1] << 8))) & 0xFFFF
                    if d & 0x8000:
                        d = 0xFFFF - d  # ~d of the signed value
                    if d > big[c]:
                        big[c] = d
                    o += 2
                    p += 2
                    c += 1
                k += 1
            j = n // q
            if j:  # the group's quaternion difference
                o = (((first // q) + j) % qcap) * _QUAT
                p = (((first // q) + j - 1) % qcap) * _QUAT
                c = 6
                while c < 10:
                    d = ((qs[o] | (qs[o + 1] << 8)) - (qs[p] | (qs[p + 1] << 8))) & 0xFFFF
                    if d & 0x8000:
                        d = 0xFFFF - d
                    if d > big[c]:
                        big[c] = d
                    o += 2
                    p += 2
                    c += 1
            n += q
            if self._size(n, q, big) > room:
                break
            fitted = n
            for c in range(sw.DELTA_CHANNELS):
                kept[c] = big[c]
        widths = self._widths
        for c in range(sw.DELTA_CHANNELS):
            widths[c] = _width(kept[c])
        return fitted

    @staticmethod
    def _size(n, q, big):
        size = sw.DELTA_FIXED_SIZE
        m = n // q
        for c in range(sw.DELTA_CHANNELS):
            size += ((n if c < 6 else m) - 1) * _width(big[c]) + 7 >> 3
        return size

    def pack(self, ring, first, n):
        """Write the packet of samples [first, first + n) (planned with plan()) after the header
        fields already in self.buf; seal it; return its memoryview."""
        q = ring.qdiv
        o = sw.DATA_HEADER_SIZE
        for c in range(6):
            o = self._channel(ring.samples, ring.capacity, _SAMPLE, first, n, c, o)
        for c in range(4):
            o = self._channel(ring.quats, ring.qcapacity, _QUAT, first // q, n // q, c, o, 6 + c)
        packet = self.view[: o + sw.CRC_SIZE]
        sw.seal(self.buf, self.view[:o])
        return packet

    def _channel(self, src, cap, item, first, count, c, o, slot=-1):
        buf = self.buf
        w = self._widths[c if slot < 0 else slot]
        buf[o] = w
        a = (first % cap) * item + 2 * c
        prev = src[a] | (src[a + 1] << 8)
        buf[o + 1] = src[a]
        buf[o + 2] = src[a + 1]
        o += 3
        mask = (1 << w) - 1
        acc = 0
        bits = 0
        k = 1
        while k < count:
            a = ((first + k) % cap) * item + 2 * c
            v = src[a] | (src[a + 1] << 8)
            acc |= ((v - prev) & mask) << bits  # the low w bits of the 16-bit difference
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
