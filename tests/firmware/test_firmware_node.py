"""The sensor node's behaviour (CPython): streaming, restart-safe START, resend, range gone,
overflow counts, bonding, malformed control, battery stop, calibration — through the real
drivers over the simulated I2C devices, decoded with the host's decoder."""

from __future__ import annotations

import numpy as np
import pytest

import stridewire as sw
from stridecue.link.decoder import decode_data, decode_status
from stridecue.link.keys import prove_to_node
from stridenode.battery import FixedBattery
from stridenode.boards import load_board
from stridenode.node import SensorNode
from stridenode.sim_i2c import ManualClock, SimI2C, make_device


def still(k):
    """A distinct, deterministic sample per index: small accelerations around 1 g, slow rates."""
    return (((k * 7919) % 2001 - 1000) / 20000.0, ((k * 104729) % 2001 - 1000) / 20000.0, 1.0,
            ((k * 31) % 201 - 100) / 100.0, 0.3, -0.2)


class Rig:
    """A node on a simulated bus, fed sample by sample, with everything it sends collected."""

    def __init__(self, board="esp32s3_lsm6dso32", mtu=247, battery=None, connect=True, start=True, signal=still):
        self.board = load_board(board)
        self.imu = make_device(self.board)
        self.i2c = SimI2C([self.imu])
        self.clock = ManualClock()
        self.key = (0x0BADCAFE, bytes(range(16)))
        self.node = SensorNode(self.i2c, self.clock, self.board, name="T", seed=7, battery=battery, secret=self.key)
        self.signal = signal
        self.k = 0  # samples pushed
        self.packets = []
        self.statuses = []
        self.notes = []  # status notifications as sent, each a list of one message or its parts
        self.connected = False
        if connect:
            self.connect(mtu)
        if start:
            self.node.status()
            assert self.control(sw.OP_START)[2] == sw.OK

    def connect(self, mtu=247, authenticate=True):
        self.node.set_mtu(mtu)
        self.connected = True
        if authenticate:
            assert prove_to_node(self.node, *self.key) == sw.OK

    def disconnect(self):
        self.node.on_disconnect()
        self.connected = False

    def control(self, opcode, *args, bonded=True, token=5):
        return sw.parse_reply(bytes(self.node.handle_control(sw.pack_control(opcode, token, *args), bonded)))

    def run(self, seconds, service_every=12):
        n = int(round(seconds * self.node.rate))
        rate = self.node.rate
        for _ in range(n):
            self.imu.push(*self.signal(self.k))
            self.k += 1
            if self.k % service_every == 0:
                self.clock.advance_us(service_every * 1_000_000 // rate)
                self.node.service()
                self.drain()

    def drain(self):
        while True:
            p = self.node.next_packet()
            if p is None:
                break
            if self.connected:
                self.packets.append(decode_data(bytes(p)))
        notes = self.node.pending_notifications()
        if notes is not None and self.connected:
            self.notes.append([bytes(n) for n in notes])
            if len(notes) == 1:
                whole = bytes(notes[0])
            else:
                assembler = sw.StatusAssembler()
                whole = [assembler.feed(bytes(n)) for n in notes][-1]
            self.statuses.append(decode_status(whole))

    def live(self):
        return [p for p in self.packets if not p.resent]

    def status(self):
        return decode_status(bytes(self.node.status()))


def indices(packets):
    return np.concatenate([p.block.index for p in packets])


def expected_raw(rig, idx):
    """What the wire must carry for pushed sample idx: the part's quantisation in wire counts."""
    out = []
    for k in idx:
        ax, ay, az, gx, gy, gz = rig.signal(int(k))
        a = [int(round(v / (32 / 32768))) for v in (ax, ay, az)]
        g = [int(round(v / 0.070)) for v in (gx, gy, gz)]
        g = [(c * 18790 + 8192) >> 14 for c in g]
        out.append(a + g)
    return np.array(out)


def test_stream_is_gap_free_in_order_and_carries_what_the_imu_measured():
    rig = Rig()
    rig.run(5.0)
    idx = indices(rig.packets)
    assert idx[0] == 0 and np.array_equal(idx, np.arange(len(idx)))
    assert len(idx) >= 5 * 416 - 12
    assert all(p.block.rate == 416 and p.block.accel_g == 32 and p.block.gyro_code == 16 for p in rig.packets)
    assert {len(p.block) for p in rig.packets} == {sw.samples_per_packet(247, 4)}
    raw = np.concatenate([p.block.raw for p in rig.packets])
    np.testing.assert_array_equal(raw[:500], expected_raw(rig, idx[:500]))
    q = np.concatenate([p.block.quat for p in rig.packets])
    assert len(q) == len(idx) // 4
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=2e-3)
    seqs = [p.seq for p in rig.packets]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))


def test_bandwidth_at_416_hz_stays_under_12_kB_per_s():
    for mtu in (247, 185, 512):
        rig = Rig(mtu=mtu)
        rig.run(10.0)
        sent = sum(sw.data_packet_size(len(p.block), 4) + sw.ATT_OVERHEAD for p in rig.packets)
        assert sent / 10.0 <= 12_000, mtu
        assert rig.node.bytes_per_second() <= 12_000


def test_start_after_reconnect_does_not_reset_and_the_backlog_follows():
    rig = Rig()
    rig.run(2.0)
    before = rig.status()
    rig.disconnect()
    rig.run(3.0)  # nothing can be sent
    rig.connect()
    st = rig.status()
    assert st.stream_id == before.stream_id
    result = rig.control(sw.OP_START)
    assert result[2] == sw.OK
    rig.run(1.0)
    idx = indices(rig.live())
    assert np.array_equal(idx, np.arange(len(idx)))  # no gap, no duplicate, no restart
    assert idx[-1] >= int(5.9 * 416)
    assert rig.status().dropped == 0


def test_status_next_sample_is_where_the_stream_starts():
    rig = Rig(start=False)
    rig.run(1.0)
    offered = rig.status().next_sample
    rig.run(0.2)  # the host's SET_MOUNT and START take a moment
    assert rig.control(sw.OP_START)[2:] == (sw.OK, offered)
    rig.run(0.5)
    assert indices(rig.packets)[0] == offered


def test_resend_returns_the_same_samples_flagged_resent():
    rig = Rig()
    rig.run(3.0)
    live_raw = np.concatenate([p.block.raw for p in rig.live()])
    result = rig.control(sw.OP_RESEND, 250, 30)
    assert result[2] == sw.OK
    rig.drain()
    resent = [p for p in rig.packets if p.resent]
    idx = indices(resent)
    assert idx[0] <= 250 and idx[-1] >= 279 and idx[0] % 4 == 0
    for p in resent:  # the live stream started at sample 0
        np.testing.assert_array_equal(p.block.raw, live_raw[p.block.index])


def test_resend_of_samples_no_longer_buffered_says_range_gone_with_the_oldest():
    rig = Rig()
    rig.run(40.0)
    st = rig.status()
    assert st.oldest_sample > 0
    opcode, token, result, detail = rig.control(sw.OP_RESEND, 10, 100)
    assert result == sw.ERR_RANGE_GONE and detail == st.oldest_sample
    opcode, token, result, detail = rig.control(sw.OP_RESEND, st.oldest_sample - 8, 40)
    assert result == sw.ERR_RANGE_GONE
    rig.drain()
    resent = indices([p for p in rig.packets if p.resent])
    assert resent[0] == st.oldest_sample and resent[-1] >= st.oldest_sample + 31
    assert (st.next_sample - st.oldest_sample) / 416 >= 30.0  # the ring holds at least 30 s


def test_ring_overflow_while_disconnected_counts_exactly_the_samples_dropped():
    rig = Rig()
    rig.run(1.0)
    sent_before = indices(rig.live())[-1] + 1
    rig.disconnect()
    rig.run(45.0)
    rig.connect()
    assert rig.control(sw.OP_START)[2] == sw.OK
    rig.run(0.5)
    st = rig.status()
    idx = indices(rig.live())
    first_after = idx[np.searchsorted(idx, sent_before)]
    assert st.dropped == first_after - sent_before > 0
    assert first_after == st.oldest_sample or first_after <= st.oldest_sample + 12
    after = idx[idx >= first_after]
    assert np.array_equal(after, np.arange(first_after, first_after + len(after)))


def test_fifo_overflow_is_counted_from_the_clock():
    rig = Rig()
    rig.run(1.0)
    # the sampling task stalls for 2 s: the IMU's FIFO (512 words = 256 samples) overflows
    n = 2 * 416
    for _ in range(n):
        rig.imu.push(*rig.signal(rig.k))
        rig.k += 1
    rig.clock.advance_us(n * 1_000_000 // 416)
    rig.node.service()
    st = rig.status()
    assert rig.node.imu.overflows >= 1
    assert abs(st.dropped - (n - 256)) <= 2
    assert st.error_count >= 1


def test_only_a_bonded_host_may_change_the_device():
    rig = Rig(start=False)
    rig.run(0.5)
    for opcode, args in ((sw.OP_STOP, ()), (sw.OP_SET_RATE, (416,)), (sw.OP_SET_RANGES, (16, 8)), (sw.OP_CALIBRATE, (1000,)),
                         (sw.OP_SET_NAME, ("Evil",)), (sw.OP_SET_MOUNT, (1, 2))):
        assert rig.control(opcode, *args, bonded=False)[2] == sw.ERR_NOT_BONDED, opcode
    st = rig.status()
    assert (st.accel_g, st.segment, rig.node.name) == (32, 0, "T")
    for opcode, args in ((sw.OP_START, ()), (sw.OP_GET_STATUS, ()), (sw.OP_RESEND, (0, 4)), (sw.OP_IDENTIFY, (2,))):
        assert rig.control(opcode, *args, bonded=False)[2] == sw.OK, opcode
    assert not rig.status().state & sw.STATE_BONDED
    assert rig.control(sw.OP_SET_MOUNT, 2, 1)[2:] == (sw.OK, sw.mount_code(2, 1))
    assert rig.status().mount == "thigh" and rig.status().leg == "left"
    assert rig.status().state & sw.STATE_BONDED


@pytest.mark.parametrize("mangle, code", [
    (lambda m: m[:3], sw.ERR_BAD_LENGTH),
    (lambda m: m[:-1] + bytes([m[-1] ^ 1]), sw.ERR_BAD_CRC),
    (lambda m: bytes([m[0], 9]) + m[2:], sw.ERR_BAD_VERSION),
    (lambda m: bytes([sw.TYPE_DATA]) + m[1:], sw.ERR_BAD_TYPE),
    (lambda m: b"", sw.ERR_BAD_LENGTH),
])
def test_malformed_control_gets_an_error_reply_and_sampling_goes_on(mangle, code):
    rig = Rig()
    rig.run(0.5)
    before = rig.node.captured
    reply = sw.parse_reply(bytes(rig.node.handle_control(mangle(sw.pack_control(sw.OP_GET_STATUS, 9)), True)))
    assert reply[2] == code
    rig.run(0.5)
    assert rig.node.captured > before and rig.node.streaming
    assert rig.status().last_error == code and rig.status().error_count >= 1


def test_unknown_opcode_and_bad_arguments_are_refused():
    rig = Rig()
    body = bytes([sw.TYPE_CONTROL, sw.PROTOCOL_VERSION, 77, 3])
    from binascii import crc32
    import struct

    reply = sw.parse_reply(bytes(rig.node.handle_control(body + struct.pack("<I", crc32(body)), True)))
    assert reply[:3] == (77, 3, sw.ERR_UNKNOWN_OPCODE)
    assert rig.control(sw.OP_SET_MOUNT, 3, 1)[2] == sw.ERR_BAD_ARGUMENT
    assert rig.control(sw.OP_IDENTIFY, 0)[2] == sw.ERR_BAD_ARGUMENT
    assert rig.control(sw.OP_CALIBRATE, 50)[2] == sw.ERR_BAD_ARGUMENT
    assert rig.control(sw.OP_RESEND, 0, 0)[2] == sw.ERR_BAD_ARGUMENT
    assert rig.control(sw.OP_SET_NAME, b"\xff\xfe")[2] == sw.ERR_BAD_ARGUMENT


def test_changing_rate_or_ranges_while_streaming_is_busy_and_when_stopped_takes_effect():
    rig = Rig()
    rig.run(0.5)
    assert rig.control(sw.OP_SET_RANGES, 16, 8)[2] == sw.ERR_BUSY
    assert rig.control(sw.OP_STOP)[2] == sw.OK
    rig.run(0.2)
    assert not rig.node.streaming
    assert rig.control(sw.OP_SET_RANGES, 2, 8)[2] == sw.ERR_BAD_ARGUMENT  # the LSM6DSO32 starts at 4 g
    assert rig.control(sw.OP_SET_RANGES, 16, 8)[2] == sw.OK
    assert rig.control(sw.OP_SET_RATE, 833)[2] == sw.ERR_BAD_ARGUMENT  # over 12 kB/s at MTU 247
    assert rig.control(sw.OP_SET_RATE, 100)[2] == sw.ERR_BAD_ARGUMENT
    assert rig.control(sw.OP_SET_RATE, 416)[2:] == (sw.OK, 416)
    st = rig.status()
    assert (st.accel_g, st.gyro_dps) == (16, 1000)
    assert rig.imu.accel_fs == 16 and rig.imu.gyro_dps == 1000
    rig.packets.clear()
    assert rig.control(sw.OP_START)[2] == sw.OK
    rig.run(1.0)
    assert {(p.block.accel_g, p.block.gyro_code) for p in rig.packets} == {(16, 8)}


def test_stop_flushes_what_is_buffered_and_marks_the_last_packet_final():
    rig = Rig()
    rig.run(1.03)
    captured = rig.node.captured
    assert rig.control(sw.OP_STOP)[2] == sw.OK
    rig.run(0.5)
    live = rig.live()
    assert live[-1].final and not any(p.final for p in live[:-1])
    idx = indices(live)
    assert np.array_equal(idx, np.arange(len(idx)))
    assert idx[-1] + 1 >= captured
    assert not rig.node.streaming and not rig.status().streaming


def test_stop_then_disconnect_does_not_leave_a_stream_for_the_next_host():
    rig = Rig()
    rig.run(1.0)
    assert rig.control(sw.OP_STOP)[2] == sw.OK
    rig.disconnect()  # the host closes right after STOP
    rig.run(3.0)
    rig.connect()
    st = rig.status()
    assert not st.streaming and st.next_sample >= 4 * 416 - 12
    before = len(rig.packets)
    assert rig.control(sw.OP_START)[2:] == (sw.OK, st.next_sample)
    rig.run(0.5)
    assert rig.packets[before].block.index[0] == st.next_sample  # the new stream starts now, not 3 s back


def test_low_battery_warns_then_stops_in_order():
    battery = FixedBattery(3900)
    rig = Rig(battery=battery)
    rig.run(2.0)
    assert not rig.status().low_battery and rig.status().battery_pct > 50
    battery.mv = 3450
    rig.run(10.0)  # the smoothed voltage falls below low_mv
    st = rig.status()
    assert st.low_battery and st.streaming
    assert rig.live()[-1].flags & sw.FLAG_LOW_BATTERY
    battery.mv = 3350
    rig.run(6.0)
    st = rig.status()
    assert not st.streaming and st.state & sw.STATE_BATTERY_STOP
    live = rig.live()
    assert live[-1].final
    idx = indices(live)
    assert np.array_equal(idx, np.arange(len(idx)))
    assert rig.control(sw.OP_START)[2] == sw.ERR_LOW_BATTERY
    assert any(s.low_battery for s in rig.statuses)


def test_mtu_too_small_for_one_group_refuses_start():
    rig = Rig(mtu=23, start=False)
    assert rig.control(sw.OP_START)[2] == sw.ERR_MTU_TOO_SMALL


def test_clipping_is_counted_and_flagged():
    def hard(k):
        s = list(still(k))
        if k % 400 == 200:
            s[2] = 40.0  # beyond the LSM6DSO32's 32 g
        return tuple(s)

    rig = Rig(signal=hard)
    rig.run(3.0)
    st = rig.status()
    assert st.clipped == sum(1 for k in range(rig.k) if k % 400 == 200)
    for p in rig.packets:
        has = bool(np.any(p.block.clipped))
        assert bool(p.flags & sw.FLAG_CLIPPED) == has


def test_calibration_measures_the_gyro_bias_and_refuses_when_moved():
    rig = Rig()
    rig.run(0.5)
    assert rig.control(sw.OP_CALIBRATE, 1000)[2] == sw.OK
    assert rig.status().state & sw.STATE_CALIBRATING
    rig.run(1.2)
    st = rig.status()
    assert not st.state & sw.STATE_CALIBRATING and st.last_error == sw.OK
    bias = rig.node.fusion.bias_dps()
    assert bias[1] == pytest.approx(0.3, abs=0.05) and bias[2] == pytest.approx(-0.2, abs=0.05)

    def moving(k):
        s = list(still(k))
        s[3] = 40.0 * ((k // 50) % 2)
        return tuple(s)

    rig.signal = moving
    assert rig.control(sw.OP_CALIBRATE, 500)[2] == sw.OK
    rig.run(0.7)
    assert rig.status().last_error == sw.ERR_BUSY


def test_rename_reaches_the_callback():
    rig = Rig()
    names = []
    rig.node.on_rename = names.append
    assert rig.control(sw.OP_SET_NAME, "StrideCue-RS")[2] == sw.OK
    assert rig.node.name == "StrideCue-RS" and names == ["StrideCue-RS"]


def test_imu_lost_and_back_is_a_fault_not_a_crash():
    rig = Rig()
    rig.run(1.0)
    device = rig.i2c.devices.pop(rig.imu.address)
    rig.run(0.5)
    st = rig.status()
    assert st.state & sw.STATE_IMU_FAULT and st.last_error == sw.ERR_IMU_FAULT
    rig.i2c.devices[device.address] = device
    rig.run(2.0)
    st = rig.status()
    assert not st.state & sw.STATE_IMU_FAULT and st.streaming
    idx = indices(rig.live())
    assert np.array_equal(idx, np.arange(len(idx)))  # the stream goes on: no gap, no duplicate
    assert idx[-1] > int(1.5 * 416)
    # about 0.5 s to the fault's detection plus up to 1 s to the next probe: counted, not hidden
    assert 0.4 * 416 <= st.dropped <= 1.6 * 416
    assert rig.control(sw.OP_RESEND, 0, 100)[2] == sw.OK  # the ring survived the fault


def test_mpu6886_board_streams_at_500_hz():
    rig = Rig(board="atoms3_mpu6886")
    rig.run(2.0)
    st = rig.status()
    assert (st.imu_model, st.rate, st.accel_g, st.gyro_dps) == ("MPU6886", 500, 16, 2000)
    idx = indices(rig.packets)
    assert np.array_equal(idx, np.arange(len(idx))) and len(idx) >= 2 * 500 - 12
    assert rig.node.bytes_per_second() <= 12_000


# -- authentication and the status at MTU 23 (issue 13) ------------------------------------


def _public(status_bytes):
    """The status fields a central that has not authenticated sees."""
    return dict(zip(sw.STATUS_FIELDS, sw.parse_status(bytes(status_bytes))))


def test_a_stranger_without_the_secret_reads_nothing_and_changes_nothing():
    rig = Rig()  # the runner's host: authenticated, streaming, mount set
    assert rig.control(sw.OP_SET_MOUNT, 1, 2)[2] == sw.OK
    rig.run(0.5)
    rig.disconnect()
    before = (rig.node.streaming, rig.node.mount, rig.node.name, rig.node.rate, rig.node.error_count, rig.node.last_error)
    rig.connect(authenticate=False)  # a stranger: bonded (Just Works) but without the secret
    for opcode, args in ((sw.OP_STOP, ()), (sw.OP_SET_RATE, (833,)), (sw.OP_SET_RANGES, (16, 8)), (sw.OP_CALIBRATE, (1000,)),
                         (sw.OP_SET_NAME, ("Evil",)), (sw.OP_SET_MOUNT, (2, 1)), (sw.OP_START, ()), (sw.OP_RESEND, (0, 4)),
                         (sw.OP_IDENTIFY, (2,))):
        assert rig.control(opcode, *args)[2] == sw.ERR_NOT_AUTHENTICATED, opcode
    assert rig.control(sw.OP_GET_STATUS)[2] == sw.OK
    rig.packets.clear()
    rig.statuses.clear()
    rig.run(6.0)  # longer than the 5 s status period
    assert rig.packets == [] and rig.statuses == []  # no data, no status notification
    after = (rig.node.streaming, rig.node.mount, rig.node.name, rig.node.rate, rig.node.error_count, rig.node.last_error)
    assert after == before
    public = _public(rig.node.status())
    assert public["state"] == sw.STATE_AUTH_REQUIRED
    assert (public["fw_major"], public["fw_minor"], public["fw_patch"]) != (0, 0, 0)
    secret_fields = [f for f in sw.STATUS_FIELDS if f not in ("fw_major", "fw_minor", "fw_patch", "state")]
    assert all(public[f] == 0 for f in secret_fields), public
    # the runner's host comes back: the stream continues where it paused, nothing lost
    rig.disconnect()
    rig.connect()
    st = rig.status()
    assert st.streaming and not st.auth_required and st.mount == "shin" and st.leg == "right"
    assert rig.control(sw.OP_START)[2] == sw.OK


def test_a_wrong_proof_fails_and_three_lock_authentication_for_a_minute():
    rig = Rig(connect=False, start=False)
    rig.node.set_mtu(247)
    key_id, secret = rig.key

    def attempt(tag_secret):
        code, nonce = rig.control(sw.OP_AUTH_BEGIN, key_id)[2:]
        if code != sw.OK:
            return code
        return rig.control(sw.OP_AUTH_PROVE, sw.auth_tag(tag_secret, nonce, key_id))[2]

    assert rig.control(sw.OP_AUTH_BEGIN, key_id ^ 1)[2] == sw.ERR_UNKNOWN_KEY
    assert rig.control(sw.OP_AUTH_PROVE, bytes(16))[2] == sw.ERR_AUTH_FAILED  # no challenge outstanding
    assert attempt(b"\x00" * 16) == sw.ERR_AUTH_FAILED
    assert attempt(b"\x01" * 16) == sw.ERR_AUTH_FAILED
    assert attempt(b"\x02" * 16) == sw.ERR_AUTH_LOCKED
    assert attempt(secret) == sw.ERR_AUTH_LOCKED  # even the right secret, while locked
    rig.node.on_disconnect()  # a reconnect does not reset the count
    rig.node.set_mtu(247)
    assert rig.control(sw.OP_AUTH_BEGIN, key_id)[2:] == (sw.ERR_AUTH_LOCKED, 60)
    rig.clock.advance_us(61_000_000)
    assert attempt(secret) == sw.OK and rig.node.authenticated
    assert rig.node.error_count == 0  # a stranger's failures are not the device's errors


def test_a_proof_is_good_for_one_nonce_only():
    rig = Rig(connect=False, start=False)
    rig.node.set_mtu(247)
    key_id, secret = rig.key
    nonce = rig.control(sw.OP_AUTH_BEGIN, key_id)[3]
    tag = sw.auth_tag(secret, nonce, key_id)
    assert rig.control(sw.OP_AUTH_PROVE, tag)[2] == sw.OK
    rig.disconnect()
    rig.node.set_mtu(247)
    assert not rig.node.authenticated  # a new connection starts unauthenticated
    assert rig.control(sw.OP_AUTH_PROVE, tag)[2] == sw.ERR_AUTH_FAILED  # a recorded proof replayed
    nonce2 = rig.control(sw.OP_AUTH_BEGIN, key_id)[3]
    if nonce2 != nonce:
        assert rig.control(sw.OP_AUTH_PROVE, tag)[2] == sw.ERR_AUTH_FAILED


def test_a_node_without_a_secret_lets_nobody_in():
    board = load_board("esp32s3_lsm6dso32")
    node = SensorNode(SimI2C([make_device(board)]), ManualClock(), board, seed=1)
    node.set_mtu(247)
    assert prove_to_node(node, 0, bytes(16)) == sw.ERR_UNKNOWN_KEY
    reply = sw.parse_reply(bytes(node.handle_control(sw.pack_control(sw.OP_START, 1), True)))
    assert reply[2] == sw.ERR_NOT_AUTHENTICATED


@pytest.mark.parametrize("mtu", [23, 247])
def test_status_notifications_fit_the_mtu_and_reassemble(mtu):
    rig = Rig(mtu=mtu, start=False)
    rig.run(0.2)
    assert rig.control(sw.OP_SET_MOUNT, 2, 2)[2] == sw.OK
    rig.run(0.2)
    assert rig.notes, "no status notification"
    for notes in rig.notes:
        assert all(len(n) <= mtu - sw.ATT_OVERHEAD for n in notes), [len(n) for n in notes]
    assert len(rig.notes[-1]) == (3 if mtu == 23 else 1)
    st = rig.statuses[-1]
    assert (st.mount, st.leg, st.rate, st.imu_model) == ("thigh", "right", 416, "LSM6DSO32")
    if mtu == 23:  # data cannot stream at MTU 23: START says so
        assert rig.control(sw.OP_START)[2:] == (sw.ERR_MTU_TOO_SMALL, 23)
