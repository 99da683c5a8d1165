# copy_bytes(dst, d, src, s, n): dst[d:d+n] = src[s:s+n] without allocating.
#
# In MicroPython slicing a bytearray or memoryview allocates a new object, so the board copies
# byte by byte (the sampling path must not allocate); CPython, where the virtual sensor runs the
# same modules, uses slice assignment, which is fast there.

import sys

if sys.implementation.name == "micropython":

    def copy_bytes(dst, d, src, s, n):
        end = s + n
        while s < end:
            dst[d] = src[s]
            d += 1
            s += 1

else:

    def copy_bytes(dst, d, src, s, n):
        dst[d : d + n] = src[s : s + n]
