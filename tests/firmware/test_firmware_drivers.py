"""IMU drivers against the simulated register devices: probing, register values, scaling into
the wire protocol's counts, clipping, FIFO bursts and overflow as the real parts behave."""

from __future__ import annotations

import pytest

from stridenode.boards import BoardError, check_board, load_board
from stridenode.imu import LSM6DSO, MPU6886, ImuError, new_sample_buffer, probe
from stridenode.sim_i2c import SimI2C, SimLSM6DSO, SimMPU6886, make_device


def read_all(imu, max_samples=64):
    out = new_sample_buffer(max_samples)
    rows = []
    while True:
        n = imu.read(out, max_samples)
        rows += [tuple(out[6 * k : 6 * k + 6]) for k in range(n)]
        if n < max_samples:
            return rows


def test_board_files_load_and_bad_ones_name_the_problem():
    for name in ("esp32s3_lsm6dso32", "atoms3_mpu6886"):
        board = load_board(name)
        assert board["name"] == name
    with pytest.raises(BoardError, match="no board file"):
        load_board("nonexistent_board")
    bad = dict(load_board("esp32s3_lsm6dso32"))
    bad["imu"] = dict(bad["imu"], models=["BMI270"])
    with pytest.raises(BoardError, match="imu.models"):
        check_board(bad)
    bad = dict(load_board("esp32s3_lsm6dso32"))
    bad["battery"] = dict(bad["battery"], low_mv=3000)
    with pytest.raises(BoardError, match="battery thresholds"):
        check_board(bad)


def test_probe_finds_each_part_by_who_am_i():
    st_board = load_board("esp32s3_lsm6dso32")
    imu = probe(SimI2C([make_device(st_board)]), st_board)
    assert isinstance(imu, LSM6DSO) and imu.MODEL == "LSM6DSO32" and imu.address == 0x6A
    # the breakout's other address (SDO high)
    imu = probe(SimI2C([SimLSM6DSO("LSM6DSO32", 0x6B)]), st_board)
    assert imu.address == 0x6B
    mpu_board = load_board("atoms3_mpu6886")
    imu = probe(SimI2C([make_device(mpu_board)]), mpu_board)
    assert isinstance(imu, MPU6886) and imu.address == 0x68
    with pytest.raises(ImuError, match="no LSM6DSO32/LSM6DSOX found.*no answer"):
        probe(SimI2C([]), st_board)
    wrong = SimMPU6886(0x6A)  # an MPU at the ST address does not answer 0x6C at 0x0F
    with pytest.raises(ImuError, match=r"WHO_AM_I\(0x0F\)=0x00"):
        probe(SimI2C([wrong]), st_board)


def test_lsm6dso32_registers_after_configure():
    dev = SimLSM6DSO("LSM6DSO32")
    imu = LSM6DSO(SimI2C([dev]), 0x6A, "LSM6DSO32")
    assert imu.configure(400, 32, 2000) == 416
    r = dev.regs
    assert r[0x10] == 0x64  # ODR 416 Hz, FS 32 g
    assert r[0x11] == 0x6C  # ODR 416 Hz, 2000 dps
    assert r[0x12] == 0x44  # BDU, IF_INC
    assert r[0x09] == 0x66 and r[0x0A] == 0x06  # batch both at 416 Hz, continuous FIFO
    assert imu.configure(416, 4, 125) == 416 and r[0x10] == 0x60 and r[0x11] == 0x62
    with pytest.raises(ValueError, match="2 g not supported"):
        imu.configure(416, 2, 2000)
    dsox = LSM6DSO(SimI2C([SimLSM6DSO("LSM6DSOX")]), 0x6A, "LSM6DSOX")
    dsox.configure(416, 16, 2000)
    assert dsox.i2c.devices[0x6A].regs[0x10] == 0x64  # FS bits 01 mean 16 g on the DSOX


def test_mpu6886_registers_after_configure():
    dev = SimMPU6886()
    imu = MPU6886(SimI2C([dev]), 0x68)
    assert imu.configure(416, 16, 2000) == 500  # 1 kHz / (1 + 1): the first rate >= 416
    r = dev.regs
    assert r[0x19] == 1 and r[0x1B] == 0x18 and r[0x1C] == 0x18
    assert r[0x23] == 0x18 and r[0x6A] & 0x40 and r[0x6B] == 0x01


@pytest.mark.parametrize("model", ["LSM6DSO32", "MPU6886"])
def test_samples_come_out_in_wire_counts(model):
    board = load_board("atoms3_mpu6886" if model == "MPU6886" else "esp32s3_lsm6dso32")
    dev = make_device(board)
    imu = probe(SimI2C([dev]), board)
    g = board["imu"]["accel_g"]
    imu.configure(416, g, 2000)
    values = [(0.0, 0.0, 1.0, 0.0, 0.0, 0.0), (-0.5, 2.0, 0.25, 100.0, -250.0, 1000.0), (1.5, -3.0, 9.0, -1990.0, 0.5, 3.0)]
    for v in values:
        dev.push(*v)
    rows = read_all(imu)
    assert len(rows) == len(values)
    for row, v in zip(rows, values):
        for c, x in zip(row[:3], v[:3]):
            assert abs(c * g / 32768 - x) <= g / 32768  # accel: one count
        for c, x in zip(row[3:], v[3:]):
            part_lsb = 0.070 if model != "MPU6886" else 1 / 16.4
            assert abs(c * 2000 / 32768 - x) <= part_lsb / 2 + 2000 / 32768  # the part's step + one wire count


@pytest.mark.parametrize("model", ["LSM6DSO32", "MPU6886"])
def test_clipping_saturates_and_is_counted(model):
    board = load_board("atoms3_mpu6886" if model == "MPU6886" else "esp32s3_lsm6dso32")
    dev = make_device(board)
    imu = probe(SimI2C([dev]), board)
    imu.configure(416, board["imu"]["accel_g"], 2000)
    dev.push(0.0, 0.0, 50.0, 0.0, 0.0, 0.0)
    dev.push(-50.0, 0.0, 1.0, 0.0, 0.0, 0.0)
    dev.push(0.0, 0.0, 1.0, 0.0, 0.0, 0.0)
    rows = read_all(imu)
    assert rows[0][2] == 32767 and rows[1][0] == -32768
    assert imu.clipped == 2


def test_lsm_fifo_reads_in_bursts_and_overflow_keeps_the_newest():
    board = load_board("esp32s3_lsm6dso32")
    dev = make_device(board)
    bus = SimI2C([dev])
    imu = probe(bus, board)
    imu.configure(416, 32, 2000)
    for k in range(100):
        dev.push(k / 1000, 0.0, 1.0, 0.0, 0.0, 0.0)
    before = bus.transactions
    rows = read_all(imu)
    assert len(rows) == 100 and [r[0] for r in rows[:3]] == [0, 1, 2]
    assert (bus.transactions - before) / 100 < 0.3  # bursts, not a transaction per word
    for k in range(600):  # 1200 words into a 512-word FIFO
        dev.push(k / 1000, 0.0, 1.0, 0.0, 0.0, 0.0)
    rows = read_all(imu)
    assert len(rows) == 256 and imu.overflowed and imu.overflows == 1
    assert rows[-1][0] == round(599 / 1000 / (32 / 32768))  # the newest sample survived
    assert imu.unpaired == 0


def test_mpu_fifo_overflow_resets_it_and_realigns():
    board = load_board("atoms3_mpu6886")
    dev = make_device(board)
    imu = probe(SimI2C([dev]), board)
    imu.configure(500, 16, 2000)
    for k in range(100):  # 1400 bytes into 1024: frames are cut mid-way
        dev.push(0.0, 0.0, 1.0, float(k), 0.0, 0.0)
    assert read_all(imu) == [] and imu.overflowed
    for k in range(10):
        dev.push(0.0, 0.0, 1.0, float(k), 0.0, 0.0)
    rows = read_all(imu)
    assert len(rows) == 10 and [r[2] for r in rows] == [2048] * 10
