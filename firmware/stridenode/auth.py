# Who may talk to the sensor: the device secret's challenge-response and the pairing window.
# Hardware-independent (a clock with ticks_ms/ticks_diff/ticks_add and a random source are
# passed in), so it runs and is tested in CPython and in MicroPython alike; ble.py and main.py
# only apply it.  docs/pairing.md has the threat model, docs/protocol.md the bytes.
#
#   auth = Authenticator(clock, key_id, secret)    # secret: 16 bytes from /secret.json
#   code, nonce = auth.begin(key_id)               # OP_AUTH_BEGIN
#   code, detail = auth.prove(tag)                 # OP_AUTH_PROVE: sw.OK makes the link authenticated
#   auth.reset()                                   # the central left: the nonce lapses
#
#   window = PairingWindow(clock)                  # open for 60 s from power-on
#   window.press()                                 # the button: open again
#   window.is_open(); window.admits(connected_ms, encrypted, bonded)

import stridewire as sw

from stridewire import const


try:
    from os import urandom as _urandom  # the ESP32's hardware random number generator
except ImportError:  # the WebAssembly port the main-loop tests run in has none

    def _urandom(n):
        # Predictable: only for ports without a hardware RNG, which no board is (every ESP32
        # has one).  A board never takes this path.
        import random

        return bytes(random.getrandbits(8) for _ in range(n))

SECRET_PATH = "/secret.json"
_MAX_FAILURES = const(3)
_LOCK_MS = const(60_000)
_WINDOW_MS = const(60_000)
_GRACE_MS = const(3_000)


def load_secret(path=SECRET_PATH):
    """(key_id, secret bytes) from the board's /secret.json (written by `stridecue flash`), or None
    when there is none or it is unreadable: then no host can authenticate until the next flash."""
    import json

    try:
        with open(path) as f:
            d = json.load(f)
        secret = bytes.fromhex(d["secret"])
        key_id = int(d["key_id"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if len(secret) != sw.SECRET_SIZE or not 0 <= key_id <= 0xFFFFFFFF:
        return None
    return key_id, secret


class Authenticator:
    """Challenge-response on the control characteristic, with failures rate-limited across
    connections: after 3 wrong proofs every attempt is refused for 60 s."""

    def __init__(self, clock, key_id=None, secret=None, random=None):
        self.clock = clock
        self.key_id = key_id
        self.secret = secret
        self.random = random or _urandom
        self.nonce = None  # the outstanding challenge, used once
        self.failures = 0
        self.locked_until = None

    @property
    def has_secret(self):
        return self.secret is not None and self.key_id is not None

    def reset(self):
        self.nonce = None

    def _locked(self):
        """Seconds the lock still holds, 0 when not locked."""
        if self.locked_until is None:
            return 0
        left = self.clock.ticks_diff(self.locked_until, self.clock.ticks_ms())
        if left <= 0:
            self.locked_until = None
            self.failures = 0
            return 0
        return (left + 999) // 1000

    def begin(self, key_id):
        """OP_AUTH_BEGIN: (result code, nonce)."""
        self.nonce = None
        left = self._locked()
        if left:
            return sw.ERR_AUTH_LOCKED, left
        if not self.has_secret or key_id != self.key_id:
            return sw.ERR_UNKNOWN_KEY, 0
        raw = self.random(4)
        self.nonce = raw[0] | (raw[1] << 8) | (raw[2] << 16) | (raw[3] << 24)
        return sw.OK, self.nonce

    def prove(self, tag):
        """OP_AUTH_PROVE: (result code, detail).  The nonce is spent whatever the outcome."""
        left = self._locked()
        if left:
            self.nonce = None
            return sw.ERR_AUTH_LOCKED, left
        nonce = self.nonce
        self.nonce = None
        if nonce is None:
            return sw.ERR_AUTH_FAILED, 0
        if sw.same_bytes(tag, sw.auth_tag(self.secret, nonce, self.key_id)):
            self.failures = 0
            return sw.OK, 0
        self.failures += 1
        if self.failures >= _MAX_FAILURES:
            self.locked_until = self.clock.ticks_add(self.clock.ticks_ms(), _LOCK_MS)
            return sw.ERR_AUTH_LOCKED, _LOCK_MS // 1000
        return sw.ERR_AUTH_FAILED, _MAX_FAILURES - self.failures


class PairingWindow:
    """New bonds are accepted only while the window is open: for 60 s after power-on, and again
    for 60 s after a press of the board's button.  Outside it, a central whose link is not
    encrypted and bonded is turned away once a short grace (3 s, for the encryption of a known
    bond to come up) has passed since it connected."""

    def __init__(self, clock, open_ms=_WINDOW_MS, grace_ms=_GRACE_MS):
        self.clock = clock
        self.open_ms = open_ms
        self.grace_ms = grace_ms
        self.closes_at = clock.ticks_add(clock.ticks_ms(), open_ms)
        self._open = True
        self._applied = None  # the state ble.py last applied (aioble.config(bond=...))

    def press(self):
        """The runner's hand on the sensor: open the window (again) for open_ms."""
        self.closes_at = self.clock.ticks_add(self.clock.ticks_ms(), self.open_ms)
        self._open = True

    def is_open(self):
        if self._open and self.clock.ticks_diff(self.closes_at, self.clock.ticks_ms()) <= 0:
            self._open = False
        return self._open

    def changed(self):
        """True once each time the open state differs from the one last reported (to reconfigure)."""
        now = self.is_open()
        if now != self._applied:
            self._applied = now
            return True
        return False

    def admits(self, connected_ms, encrypted, bonded):
        """Whether a central connected at connected_ms may stay."""
        if (encrypted and bonded) or self.is_open():
            return True
        return self.clock.ticks_diff(self.clock.ticks_ms(), connected_ms) < self.grace_ms
