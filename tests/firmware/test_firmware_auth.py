"""firmware/stridenode/auth.py and the shared HMAC: the pairing window's timing, the
challenge-response, and the same bytes in MicroPython (the official WebAssembly port) as in
CPython's hmac module."""

from __future__ import annotations

import hashlib
import hmac
import json

import stridewire as sw
from mpy import run_micropython
from stridenode.auth import Authenticator, PairingWindow, load_secret
from stridenode.sim_i2c import ManualClock

VECTORS = [(b"", b""), (bytes(range(16)), b"stridecue"), (b"k" * 64, b"x" * 100), (b"long key " * 10, b"\x00\xff" * 7)]


def test_hmac_matches_cpython_hmac():
    for key, msg in VECTORS:
        assert sw.hmac_sha256(key, msg) == hmac.new(key, msg, hashlib.sha256).digest()
    expected = hmac.new(bytes(range(16)), (0x01020304).to_bytes(4, "little") + (7).to_bytes(4, "little") + b"stridecue-auth",
                        hashlib.sha256).digest()[:16]
    assert sw.auth_tag(bytes(range(16)), 0x01020304, 7) == expected


def test_hmac_and_tag_are_the_same_bytes_in_micropython():
    code = (
        "import stridewire as sw\n"
        f"for key, msg in {VECTORS!r}:\n"
        "    print(sw.hmac_sha256(key, msg).hex())\n"
        "print(sw.auth_tag(bytes(range(16)), 0xFFFFFFFF, 0x89ABCDEF).hex())\n"
        "from stridenode.auth import Authenticator\n"
        "from stridenode.sim_i2c import ManualClock\n"
        "a = Authenticator(ManualClock(), 0x89ABCDEF, bytes(range(16)), random=lambda n: b'\\xff' * n)\n"
        "code, nonce = a.begin(0x89ABCDEF)\n"
        "print(code, nonce, a.prove(sw.auth_tag(bytes(range(16)), nonce, 0x89ABCDEF)))\n"
    )
    lines = run_micropython(code).split("\n")
    want = [hmac.new(k, m, hashlib.sha256).hexdigest() for k, m in VECTORS]
    want.append(sw.auth_tag(bytes(range(16)), 0xFFFFFFFF, 0x89ABCDEF).hex())
    assert lines[: len(want)] == want
    assert lines[len(want)] == "0 4294967295 (0, 0)"


def test_pairing_window_is_open_for_a_minute_from_power_on_and_after_a_press():
    clock = ManualClock()
    window = PairingWindow(clock)
    assert window.is_open() and window.changed() and not window.changed()
    clock.advance_us(59_000_000)
    assert window.is_open()
    clock.advance_us(2_000_000)
    assert not window.is_open() and window.changed() and not window.changed()
    window.press()
    assert window.is_open() and window.changed()
    clock.advance_us(61_000_000)
    assert not window.is_open()


def test_pairing_window_turns_away_unbonded_centrals_after_the_grace():
    clock = ManualClock()
    window = PairingWindow(clock)
    connected = clock.ticks_ms()
    assert window.admits(connected, False, False)  # open: anyone may pair
    clock.advance_us(70_000_000)
    connected = clock.ticks_ms()
    clock.advance_us(1_000_000)
    assert window.admits(connected, False, False)  # within the grace: encryption may still come up
    clock.advance_us(2_500_000)
    assert not window.admits(connected, False, False)
    assert not window.admits(connected, True, False)  # encrypted by a fresh unbonded pairing: not enough
    assert window.admits(connected, True, True)  # a bond made while the window was open


def test_authenticator_locks_after_three_failures():
    clock = ManualClock()
    auth = Authenticator(clock, 5, bytes(16), random=lambda n: b"\x10\x00\x00\x00")
    for k in range(2):
        assert auth.begin(5) == (sw.OK, 16)
        assert auth.prove(b"\x00" * 16) == (sw.ERR_AUTH_FAILED, 2 - k)
    auth.begin(5)
    assert auth.prove(b"\x00" * 16) == (sw.ERR_AUTH_LOCKED, 60)
    clock.advance_us(30_000_000)
    assert auth.begin(5) == (sw.ERR_AUTH_LOCKED, 30)
    clock.advance_us(30_000_000)
    assert auth.begin(5) == (sw.OK, 16)
    assert auth.prove(sw.auth_tag(bytes(16), 16, 5)) == (sw.OK, 0)


def test_load_secret_reads_what_flash_writes(tmp_path):
    from stridecue.link.keys import board_secret_json

    path = tmp_path / "secret.json"
    path.write_text(board_secret_json(0xDEADBEEF, bytes(range(16))))
    assert load_secret(str(path)) == (0xDEADBEEF, bytes(range(16)))
    path.write_text(json.dumps({"key_id": 1, "secret": "abcd"}))
    assert load_secret(str(path)) is None  # too short: no secret rather than a weak one
    assert load_secret(str(tmp_path / "missing.json")) is None
