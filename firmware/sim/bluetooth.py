# Stand-in for MicroPython's `bluetooth` module (the parts StrideCue's firmware and the aioble
# stand-in use): UUIDs and the GATT flag values of MicroPython's documentation.
# Not deployed to boards: the tests and `stridecue bench` put firmware/sim/ on the path.

from stridewire import const


FLAG_READ = const(0x0002)
FLAG_WRITE_NO_RESPONSE = const(0x0004)
FLAG_WRITE = const(0x0008)
FLAG_NOTIFY = const(0x0010)
FLAG_INDICATE = const(0x0020)
FLAG_READ_ENCRYPTED = const(0x0200)
FLAG_WRITE_ENCRYPTED = const(0x1000)

_HEX = "0123456789abcdef"


class UUID:
    """A 16-bit (int) or 128-bit (string) UUID; equal when the numbers are equal."""

    def __init__(self, value):
        if isinstance(value, UUID):
            value = value.value
        if isinstance(value, str):
            value = value.lower()
            digits = value.replace("-", "")
            if len(digits) != 32 or any(c not in _HEX for c in digits):
                raise ValueError("invalid UUID")
        elif not (isinstance(value, int) and 0 <= value <= 0xFFFF):
            raise ValueError("invalid UUID")
        self.value = value

    def __eq__(self, other):
        return isinstance(other, UUID) and self.value == other.value

    def __hash__(self):
        return hash(self.value)

    def __str__(self):
        return self.value if isinstance(self.value, str) else "0x%04x" % self.value

    def __repr__(self):
        return "UUID(%r)" % (self.value,)
