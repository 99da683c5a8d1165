# The sensor node: sample, fuse, buffer, pack, answer control messages.  No radio in here:
# ble.py (on the board) and the host's virtual sensor (stridecue.sim.air) move its bytes.
#
#   node = SensorNode(i2c, clock, board, name="StrideCue-LS", seed=1234)
#   node.service()                 # often (every <= 30 ms): drain the IMU FIFO, fuse, buffer
#   node.set_mtu(247)              # a central connected and agreed this ATT MTU
#   packet = node.next_packet()    # the next data notification, or None
#   reply = node.handle_control(data, bonded)   # a control write -> its reply (status characteristic)
#   status = node.status()         # the status characteristic's value (public only, until authenticated)
#   notes = node.pending_notifications()  # status notifications due, each fitting the MTU, or None
#   node.on_disconnect()
#
# Authentication (auth.py): a connected central is obeyed only after it proved the device secret
# (OP_AUTH_BEGIN, OP_AUTH_PROVE); until then only those and GET_STATUS are answered, no data or
# status notification goes out, and the status value is the public one (STATE_AUTH_REQUIRED,
# versions, every other field 0).  node.authenticated says which; on_disconnect forgets it.
#
# The sample counter runs from boot while the IMU runs, streaming or not, so orientation has
# settled before a run and a reconnect resumes exactly where the link dropped: live packets
# pause while disconnected and continue from the first unsent sample (the ring holds 32 s).
# START while streaming is a no-op (the host sends it after every reconnect).  Whatever the
# ring had to overwrite before it was sent is counted in `dropped`, as are samples the IMU's
# FIFO lost (estimated from the clock).  Only an authenticated host on a bonded link may use
# stridewire.CHANGING_OPCODES.

import stridewire as sw

from . import FW_VERSION
from .auth import Authenticator
from .battery import BatteryMonitor
from .boards import load_board
from .fusion import Fusion
from .imu import new_sample_buffer, probe
from .memory import ring_seconds
from .ring import SampleRing

from stridewire import const


_READ_BATCH = const(32)  # samples per driver read
_STATUS_EVERY_MS = const(5000)
_BATTERY_EVERY_MS = const(1000)
_REPROBE_EVERY_MS = const(1000)
_MAX_BYTES_PER_S = const(12000)  # bandwidth budget of the data characteristic
_MIN_RATE = const(400)
_MAX_RESENDS = const(16)  # queued resend ranges; older requests are merged or refused
_CAL_MIN_MS = const(200)
_CAL_MAX_MS = const(30000)
_CAL_STILL_DPS = const(3)  # peak-to-peak gyro during a stand-still calibration
_SEQ_MAX = const(0x3FFFFFFF)
# Sample indices stay small ints (below 2**30 on a 32-bit port, where larger ones are boxed
# on the heap): ~29 days of sampling at 416 Hz, then the node starts a new epoch (a new stream
# id, indices from 0), which the host places on its timeline like a reboot.
_INDEX_LIMIT = const(0x3FF00000)
_RING_STEP_DOWN = const(4)  # on MemoryError the ring tries again 1/4 shorter
_DELTA_MAX_BYTES = const(244)  # a delta packet fills at most one notification at MTU 247
_DELTA_WAIT_SAMPLES = const(48)  # a live delta packet goes when full, or when this many samples wait (115 ms at 416 Hz)


def quat_divider(rate):
    """Quaternion every qdiv samples: the largest power of two >= 4 keeping >= 100 Hz."""
    qdiv = 4
    while rate // (qdiv * 2) >= 100:
        qdiv *= 2
    return qdiv


class SensorNode:
    """One board's firmware state machine over an I2C bus and a clock (see the module comment)."""

    def __init__(self, i2c, clock, board, name="StrideCue", seed=0, battery=None, indicator=None,
                 ring_s=32, sleep_ms=None, min_ring_s=2, free_heap=None, secret=None, random=None):
        """Every buffer the node will ever use is made here, once (the sampling path allocates
        nothing afterwards), which is why this is long."""
        if not isinstance(board, dict):
            board = load_board(board)
        self.board = board
        self.i2c = i2c
        self.clock = clock
        self.name = name
        self.stream_id = (seed & 0xFFFF) or 1
        self.indicator = indicator
        self.on_rename = None  # callback(name) that persists a new name (main.py)
        self.sleep_ms = sleep_ms
        imu_cfg = board["imu"]
        self._want_rate = imu_cfg["rate_hz"]
        self.accel_g = imu_cfg["accel_g"]
        self.gyro_dps = imu_cfg["gyro_dps"]
        self.battery = BatteryMonitor(battery, board.get("battery"))
        # counters reported in the status
        self.clipped_base = 0
        self.dropped = 0
        self.error_count = 0
        self.last_error = sw.OK
        self.seq = 0
        self.mount = sw.mount_code(sw.SEGMENT_UNKNOWN, sw.SIDE_UNKNOWN)
        # stream state
        self.captured = 0  # next sample index to be captured
        self.streaming = False
        self.connected = False
        self.bonded = False  # the connected host has bonded (learned from the link layer)
        # secret: (key_id, 16 bytes) from /secret.json (auth.load_secret), None: nobody can authenticate
        self.auth = Authenticator(clock, *(secret or (None, None)), random=random)
        self.authenticated = False  # the connected host proved the secret on this connection
        self.mtu = 23
        self.spp = 0
        self.encoding = sw.ENCODING_FULL  # SET_ENCODING, for this connection only
        self._delta = None  # the DeltaPacker, made at the first SET_ENCODING(delta): after the ring, off its heap
        self._live = 0  # next sample to send live
        self._stop_at = -1  # orderly stop: last packet ends here (FLAG_FINAL), -1: not stopping
        self._battery_stop = False
        self._offered = -1  # next_sample the last status reported
        self._resends = []  # [first, end) ranges, oldest first
        self._status_due = False
        self._calibrating = 0  # samples left to average, 0: not calibrating
        self._identify_until = None
        # time
        now = clock.ticks_ms()
        self._t_ms = now
        self._uptime_s = 0
        self._uptime_frac = 0
        self._next_status = now
        self._next_battery = now
        self._next_probe = now
        self._last_service_us = clock.ticks_us()
        self._down_ms = 0  # time the IMU has not answered, summed per service (ticks_diff wraps after ~9 min)
        # buffers
        self._out = new_sample_buffer(_READ_BATCH)
        self._reply = bytearray(sw.REPLY_SIZE)
        self._status = bytearray(sw.STATUS_SIZE)
        self._status_values = [0] * len(sw.STATUS_FIELDS)
        self._note = bytearray(sw.STATUS_SIZE)
        self._note_serial = 0
        self._whole_notes = [memoryview(self._note)]
        self._part_bufs = [bytearray(sw.STATUS_PART_SIZE) for _ in range(sw.STATUS_PARTS)]
        self._part_notes = [memoryview(b) for b in self._part_bufs]
        for k in range(sw.STATUS_PARTS):  # the last part is shorter
            n = sw.pack_status_part(self._part_bufs[k], self._note, 0, k)
            self._part_notes[k] = self._part_notes[k][:n]
        self._packet = bytearray(sw.data_packet_size(sw.MAX_SAMPLES_PER_PACKET, 4))
        self._full = None  # (packet view, body view) for spp-sample packets
        self.imu = None
        self.rate = self._want_rate
        self.qdiv = quat_divider(self.rate)
        self.ring = None  # sized for the IMU's actual rate once it is configured
        self._ring_s = ring_s
        self._min_ring_s = min_ring_s
        self._free_heap = free_heap  # callable: bytes free; the ring is sized to leave a margin of them
        self.fusion = Fusion(self.rate, self.qdiv, self.accel_g, self.gyro_dps // 125)
        if not self._start_imu():
            self._make_ring(self.rate)
        self.battery.update()

    # -- IMU --------------------------------------------------------------------------

    def _start_imu(self):
        try:
            if self.imu is None:
                self.imu = probe(self.i2c, self.board, self.sleep_ms)
            self._configure(self._want_rate, self.accel_g, self.gyro_dps)
            return True
        except (OSError, ValueError):
            self._fault()
            self.imu = None
            return False

    def _configure(self, rate_hz, accel_g, gyro_dps):
        """Configure the IMU.  The same rate and ranges as before (an IMU back from a fault) keep
        the stream, the ring and the orientation; anything else starts a new epoch: the ring
        only ever holds samples of one rate and range."""
        imu = self.imu
        if imu.clipped:
            self.clipped_base += imu.clipped
            imu.clipped = 0
        before = (self.rate, self.accel_g, self.gyro_dps)
        rate = imu.configure(rate_hz, accel_g, gyro_dps)
        self._last_service_us = self.clock.ticks_us()
        if self.ring is not None and before == (rate, accel_g, gyro_dps):
            return
        self.rate = rate
        self.accel_g = accel_g
        self.gyro_dps = gyro_dps
        self.qdiv = quat_divider(self.rate)
        q = self.qdiv
        start = (self.captured + q - 1) // q * q
        self.captured = start
        self._live = start
        if self.ring is None:
            self._make_ring(self.rate)
        self.ring.qdiv = q
        self.ring.qcapacity = self.ring.capacity // q
        self.ring.clear(start)
        self.fusion = Fusion(self.rate, q, accel_g, gyro_dps // 125)
        self._set_mtu_views()

    def _make_ring(self, rate):
        """Allocate the ring once: ring_s seconds, or shorter where the heap has no block that large
        (never below min_ring_s: then MemoryError, which main.py reports instead of resetting)."""
        seconds = self._ring_s
        free = self._free_heap() if self._free_heap is not None else None
        if free is not None:
            fits = ring_seconds(free, rate, self.qdiv)
            if fits < seconds:
                seconds = fits
        while True:
            capacity = int(seconds * rate) // 16 * 16
            if capacity < self._min_ring_s * rate:
                raise MemoryError("no room for a %d s sample ring (%d bytes)" % (self._min_ring_s, capacity * 14))
            try:
                self.ring = SampleRing(capacity, self.qdiv)
                self._clip = bytearray(self.ring.capacity // 4)  # per quaternion group: a clipped sample
                return
            except MemoryError:
                self.ring = None
                seconds = seconds * (_RING_STEP_DOWN - 1) / _RING_STEP_DOWN

    @property
    def ring_seconds(self):
        """How many seconds of samples the ring holds at the current rate."""
        return self.ring.capacity / self.rate if self.ring is not None else 0

    def task_failed(self, name, error):
        """A supervised task crashed (it is restarted): counted in the status."""
        self.error_count += 1
        self._status_due = True

    def _fault(self):
        self.error_count += 1
        self.last_error = sw.ERR_IMU_FAULT
        self._status_due = True

    @property
    def gyro_code(self):
        return self.gyro_dps // 125

    @property
    def clipped(self):
        return self.clipped_base + (self.imu.clipped if self.imu is not None else 0)

    @property
    def imu_ok(self):
        return self.imu is not None

    # -- sampling ---------------------------------------------------------------------

    def service(self):
        """Drain the IMU FIFO into the ring (fusing on the way) and run the housekeeping."""
        clock = self.clock
        now = clock.ticks_ms()
        elapsed = clock.ticks_diff(now, self._t_ms)
        self._t_ms = now
        frac = self._uptime_frac + elapsed
        self._uptime_s += frac // 1000
        self._uptime_frac = frac % 1000
        got = 0
        if self.captured >= _INDEX_LIMIT:
            self._new_epoch()
        if self.imu is None:
            self._down_ms += elapsed
            if clock.ticks_diff(now, self._next_probe) >= 0:
                self._next_probe = clock.ticks_add(now, _REPROBE_EVERY_MS)
                if self._start_imu() and self.ring is not None:
                    # the samples the part produced while it did not answer: from the time it was
                    # down, summed per service call (a single ticks_diff wraps after ~9 minutes),
                    # in whole seconds and the rest so every product stays a small int
                    down = self._down_ms
                    self.dropped += (down // 1000) * self.rate + (down % 1000) * self.rate // 1000
                    self._status_due = True
        else:
            try:
                while True:
                    clip0 = self.imu.clipped
                    n = self.imu.read(self._out, _READ_BATCH)
                    if n:
                        self._process(n)
                        got += n
                        if self.imu.clipped != clip0:
                            self._mark_clipped(n)
                    if n < _READ_BATCH:
                        break
                self._account_overflow(got)
            except OSError:
                self._fault()
                self.imu = None  # probe and configure again on the next round
                self._down_ms = 0
                self._next_probe = clock.ticks_add(now, _REPROBE_EVERY_MS)
        if clock.ticks_diff(now, self._next_battery) >= 0:
            self._next_battery = clock.ticks_add(now, _BATTERY_EVERY_MS)
            if self.battery.update():
                self._status_due = True
                if self.battery.stop and not self._battery_stop:
                    self._battery_stop = True
                    self._request_stop()
        if self._identify_until is not None and clock.ticks_diff(now, self._identify_until) >= 0:
            self._identify_until = None
            self._status_due = True
        if self.connected and clock.ticks_diff(now, self._next_status) >= 0:
            self._status_due = True
        return got

    def _new_epoch(self):
        """Sample indices start again from 0 under a new stream id (see _INDEX_LIMIT).  Samples of
        the old epoch not sent yet cannot be sent any more: they are counted as dropped."""
        if self.streaming and self.captured > self._live:
            self.dropped += self.captured - self._live
        self.stream_id = (self.stream_id + 1) & 0xFFFF or 1
        self.captured = 0
        self._live = 0
        self._offered = -1
        self._resends = []
        if self._stop_at >= 0:  # an orderly stop ends here (its last samples are in the old epoch)
            self._finish_stop()
        self.ring.clear(0)
        self._status_due = True

    def _account_overflow(self, got):
        now_us = self.clock.ticks_us()
        imu = self.imu
        if imu.overflowed:
            imu.overflowed = False
            elapsed = self.clock.ticks_diff(now_us, self._last_service_us)
            expected = elapsed * self.rate // 1000000
            if expected > got:
                self.dropped += expected - got
            self.error_count += 1
            self._status_due = True
        self._last_service_us = now_us

    def _process(self, n):
        out = self._out
        ring = self.ring
        fusion = self.fusion
        q = self.qdiv
        i = self.captured
        o = 0
        end = 6 * n
        while o < end:
            ax = out[o]
            ay = out[o + 1]
            az = out[o + 2]
            gx = out[o + 3]
            gy = out[o + 4]
            gz = out[o + 5]
            o += 6
            ring.put(i, ax, ay, az, gx, gy, gz)
            fusion.add(ax, ay, az, gx, gy, gz)
            if i % q == 0:
                fusion.update()
                ring.put_quat(i, fusion.w, fusion.x, fusion.y, fusion.z)
                self._clip[(i // q) % ring.qcapacity] = 0
            if self._calibrating:
                self._calibrate_add(gx, gy, gz)
            i += 1
        self.captured = i

    def _mark_clipped(self, n):
        out = self._out
        q = self.qdiv
        first = self.captured - n
        for k in range(n):
            o = 6 * k
            for a in (out[o], out[o + 1], out[o + 2]):
                if a == 32767 or a == -32768:
                    self._clip[((first + k) // q) % self.ring.qcapacity] = 1

    # -- calibration ------------------------------------------------------------------

    def _calibrate_start(self, ms):
        self._calibrating = ms * self.rate // 1000 or 1
        self._cal_n = 0
        self._cal_sum = [0, 0, 0]
        self._cal_min = [32767, 32767, 32767]
        self._cal_max = [-32768, -32768, -32768]

    def _calibrate_add(self, gx, gy, gz):
        s = self._cal_sum
        lo = self._cal_min
        hi = self._cal_max
        s[0] += gx
        s[1] += gy
        s[2] += gz
        if gx < lo[0]:
            lo[0] = gx
        if gx > hi[0]:
            hi[0] = gx
        if gy < lo[1]:
            lo[1] = gy
        if gy > hi[1]:
            hi[1] = gy
        if gz < lo[2]:
            lo[2] = gz
        if gz > hi[2]:
            hi[2] = gz
        self._cal_n += 1
        self._calibrating -= 1
        if not self._calibrating:
            self._calibrate_finish()

    def _calibrate_finish(self):
        limit = _CAL_STILL_DPS * 32768 // (self.gyro_code * 125)
        n = self._cal_n
        self._status_due = True
        for k in range(3):
            if self._cal_max[k] - self._cal_min[k] > limit:
                self.last_error = sw.ERR_BUSY  # moved during the calibration: nothing changed
                self.error_count += 1
                return
        s = self._cal_sum
        self.fusion.set_bias(s[0] * 256 // n, s[1] * 256 // n, s[2] * 256 // n)
        self.fusion.reset()
        self.last_error = sw.OK

    # -- packets ----------------------------------------------------------------------

    def set_mtu(self, mtu):
        """A central is connected with this ATT MTU: data packets are sized to fit it."""
        self.mtu = mtu
        self.connected = True
        self._next_status = self.clock.ticks_ms()
        self._set_mtu_views()

    def on_connect(self, mtu=23):
        self.set_mtu(mtu)

    def on_disconnect(self):
        """The central left: live packets pause (resume on reconnect); resend requests lapse.
        A stop in progress ends here: the host that asked for it is gone."""
        self.connected = False
        self.bonded = False
        self.authenticated = False
        self.encoding = sw.ENCODING_FULL
        self.auth.reset()
        self._resends = []
        if self._stop_at >= 0:
            self._finish_stop()

    def _set_mtu_views(self):
        self.spp = sw.samples_per_packet(self.mtu, self.qdiv)
        if self.spp:
            size = sw.data_packet_size(self.spp, self.qdiv)
            if len(self._packet) < size:
                self._packet = bytearray(size)
            mv = memoryview(self._packet)
            self._full = (mv[:size], mv[: size - sw.CRC_SIZE])
        else:
            self._full = None

    def bytes_per_second(self, rate=None, mtu=None):
        """Data characteristic bandwidth (ATT payloads + 3-byte headers) at a rate and MTU."""
        rate = rate or self.rate
        qdiv = quat_divider(rate)
        spp = sw.samples_per_packet(mtu or self.mtu, qdiv)
        if not spp:
            return 0
        return rate * (sw.data_packet_size(spp, qdiv) + sw.ATT_OVERHEAD) // spp

    def _build(self, first, n, flags):
        q = self.qdiv
        buf = self._packet
        g = first // q
        g_end = g + n // q
        qcap = self.ring.qcapacity
        clip = self._clip
        while g < g_end:
            if clip[g % qcap]:
                flags |= sw.FLAG_CLIPPED
                break
            g += 1
        if self.battery.low:
            flags |= sw.FLAG_LOW_BATTERY
        if self.encoding == sw.ENCODING_DELTA:
            sw.pack_data_header(self._delta.buf, self.stream_id, self.seq, first, self.rate, self.accel_g, self.gyro_code, n, q,
                                flags, sw.TYPE_DATA_DELTA)
            self._next_seq()
            return self._delta.pack(self.ring, first, n)
        sw.pack_data_header(buf, self.stream_id, self.seq, first, self.rate, self.accel_g, self.gyro_code, n, q, flags)
        self.ring.copy_samples(buf, sw.DATA_HEADER_SIZE, first, n)
        self.ring.copy_quats(buf, sw.DATA_HEADER_SIZE + n * sw.SAMPLE_SIZE, first, n)
        if n == self.spp:
            packet, body = self._full
        else:
            size = sw.data_packet_size(n, q)
            mv = memoryview(buf)
            packet, body = mv[:size], mv[: size - sw.CRC_SIZE]
        sw.seal(buf, body)
        self._next_seq()
        return packet

    def _next_seq(self):
        self.seq += 1
        if self.seq > _SEQ_MAX:  # wraps below 2**30, where ints stop being small in MicroPython
            self.seq = 0

    def next_packet(self):
        """The next data notification (a memoryview valid until the next call), or None."""
        if not self.connected or not self.spp or not self.authenticated:
            return None
        while self._resends:
            packet = self._next_resend()
            if packet is not None:
                return packet
        if not self.streaming:
            return None
        q = self.qdiv
        oldest = self.ring.oldest()
        if self._live < oldest:  # disconnected longer than the ring holds
            self.dropped += oldest - self._live
            self._live = oldest
            self._status_due = True
        ready = (self.captured // q) * q
        stopping = self._stop_at >= 0
        if stopping and ready > self._stop_at:
            ready = self._stop_at
        n = ready - self._live
        delta = self.encoding == sw.ENCODING_DELTA
        first = self._live
        if delta and n > 0:
            waiting = n
            n = self._delta_plan(first, n)
            if not n:  # the MTU shrank below one group since SET_ENCODING
                return None
            if not (self._delta.full or waiting >= _DELTA_WAIT_SAMPLES or stopping):
                return None
        elif n > self.spp:
            n = self.spp
        if n <= 0 or (n < self.spp and not stopping and not delta):
            if stopping and n <= 0 and self._live >= self._stop_at:
                self._finish_stop()
            return None
        self._live = first + n
        flags = 0
        if stopping and self._live >= self._stop_at:
            flags = sw.FLAG_FINAL
        packet = self._build(first, n, flags)
        if flags:
            self._finish_stop()
        return packet

    def _delta_plan(self, first, most):
        """Samples from `first` (at most `most`) that one delta packet carries at this MTU."""
        if most > sw.MAX_SAMPLES_PER_PACKET:
            most = sw.MAX_SAMPLES_PER_PACKET // self.qdiv * self.qdiv
        room = self.mtu - sw.ATT_OVERHEAD
        if room > _DELTA_MAX_BYTES:
            room = _DELTA_MAX_BYTES
        return self._delta.plan(self.ring, first, most, room)

    def _next_resend(self):
        r = self._resends[0]
        first, end = r[0], r[1]
        oldest = self.ring.oldest()
        if first < oldest:
            first = oldest
        if end > self._live:
            end = self._live
        if first >= end:
            self._resends.pop(0)
            return None
        n = end - first
        if self.encoding == sw.ENCODING_DELTA:
            self._delta.forget()  # a resend plans its own packet; the live one is planned again after it
            n = self._delta_plan(first, n)
            if not n:
                self._resends.pop(0)
                return None
        elif n > self.spp:
            n = self.spp
        r[0] = first + n
        if r[0] >= end:
            self._resends.pop(0)
        return self._build(first, n, sw.FLAG_RESENT)

    def _request_stop(self):
        q = self.qdiv
        if self.streaming and self._stop_at < 0:
            stop = (self.captured + q - 1) // q * q
            if stop <= self._live:  # all sent already: one more group carries FLAG_FINAL
                stop = self._live + q
            self._stop_at = stop
        self._status_due = True

    @property
    def battery_stopped(self):
        """The battery reached its stop level: the stream was (or is being) ended for good."""
        return self._battery_stop

    @property
    def stopping(self):
        """An orderly stop is under way: the packet with FLAG_FINAL has not gone out yet."""
        return self._stop_at >= 0

    def _finish_stop(self):
        self.streaming = False
        self._stop_at = -1
        self._status_due = True

    # -- status -----------------------------------------------------------------------

    def next_sample(self):
        """Where the stream continues: the next live sample, or where START would begin."""
        if self.streaming:
            return self._live
        return (self.captured // self.qdiv) * self.qdiv

    def _state(self):
        state = 0
        if self.streaming:
            state |= sw.STATE_STREAMING
        if self._calibrating:
            state |= sw.STATE_CALIBRATING
        if self.battery.low:
            state |= sw.STATE_LOW_BATTERY
        if self._battery_stop:
            state |= sw.STATE_BATTERY_STOP
        if self._identify_until is not None:
            state |= sw.STATE_IDENTIFYING
        if self.imu is None:
            state |= sw.STATE_IMU_FAULT
        if self.bonded and self.connected:
            state |= sw.STATE_BONDED
        return state

    def _pack_status(self, buf):
        major, minor, patch = FW_VERSION
        imu = self.imu
        nxt = self.next_sample()
        v = self._status_values  # filled in place: a fresh tuple twice a second was garbage
        v[0] = self.stream_id
        v[1] = major
        v[2] = minor
        v[3] = patch
        v[4] = imu.MODEL_CODE if imu is not None else sw.IMU_UNKNOWN
        v[5] = self.accel_g
        v[6] = self.gyro_code
        v[7] = self.rate
        v[8] = self.battery.mv
        v[9] = self.battery.pct
        v[10] = self._state()
        v[11] = self.mount
        v[12] = self.last_error
        v[13] = nxt
        v[14] = self.ring.oldest()
        v[15] = self.clipped
        v[16] = self.dropped
        v[17] = self._uptime_s
        v[18] = self.error_count & 0xFFFF
        ring = self.ring.capacity  # how long a drop-out the ring can bridge (short on a board without PSRAM)
        v[19] = ring if ring < 0xFFFF else 0xFFFF
        sw.pack_status(buf, v)
        return nxt

    def _pack_public_status(self, buf):
        v = self._status_values
        for k in range(len(v)):
            v[k] = 0
        v[1], v[2], v[3] = FW_VERSION
        v[10] = sw.STATE_AUTH_REQUIRED
        sw.pack_status(buf, v)

    def status(self, bonded=None):
        """The status characteristic's value (a bytearray reused by the next call); bonded, when
        given, is the link's bond state as the radio layer knows it.  Until the connected central
        has authenticated, only the public status: versions and STATE_AUTH_REQUIRED."""
        if bonded is not None:
            self.bonded = bool(bonded)
        if not self.authenticated:
            self._pack_public_status(self._status)
            return self._status
        self._offered = self._pack_status(self._status)
        return self._status

    def pending_status(self):
        """A status notification (whole message) when something changed or every 5 s while an
        authenticated central is connected, else None."""
        if not self._status_due or not self.connected or not self.authenticated:
            return None
        self._status_due = False
        self._next_status = self.clock.ticks_add(self.clock.ticks_ms(), _STATUS_EVERY_MS)
        self._pack_status(self._note)
        return self._note

    def pending_notifications(self):
        """pending_status as the notifications to send at this MTU: a list (reused, no allocation)
        of one whole status message, or of STATUS_PARTS parts when it does not fit MTU - 3 bytes."""
        note = self.pending_status()
        if note is None:
            return None
        if sw.status_fits(self.mtu):
            return self._whole_notes
        self._note_serial = (self._note_serial + 1) & 0xFF
        for k in range(sw.STATUS_PARTS):
            sw.pack_status_part(self._part_bufs[k], note, self._note_serial, k)
        return self._part_notes

    # -- control ----------------------------------------------------------------------

    def handle_control(self, data, bonded):
        """Answer one control message; malformed or refused ones get an error reply, never raise.
        A central that has not authenticated changes nothing, not even the error counters."""
        opcode = data[2] if len(data) > 2 else 0
        token = data[3] if len(data) > 3 else 0
        self.bonded = bool(bonded)
        try:
            opcode, token, args = sw.parse_control(data)
        except sw.ProtocolError as e:
            return self._answer(opcode, token, e.code, 0)
        if opcode == sw.OP_AUTH_BEGIN:
            self.authenticated = False
            result, detail = self.auth.begin(args[0])
            return self._answer(opcode, token, result, detail, count=False)
        if opcode == sw.OP_AUTH_PROVE:
            result, detail = self.auth.prove(args[0])
            self.authenticated = result == sw.OK
            if self.authenticated:
                self._status_due = True
            return self._answer(opcode, token, result, detail, count=False)
        if not self.authenticated and opcode not in sw.PUBLIC_OPCODES:
            return self._answer(opcode, token, sw.ERR_NOT_AUTHENTICATED, 0)
        if opcode in sw.CHANGING_OPCODES and not bonded:
            return self._answer(opcode, token, sw.ERR_NOT_BONDED, 0)
        result, detail = self._dispatch(opcode, args)
        return self._answer(opcode, token, result, detail)

    def _answer(self, opcode, token, result, detail, count=True):
        if result != sw.OK and count and self.authenticated:
            self.error_count += 1
            self.last_error = result
        sw.pack_reply(self._reply, opcode & 0xFF, token & 0xFF, result, detail & 0xFFFFFFFF)
        return self._reply

    def _dispatch(self, opcode, args):
        if opcode == sw.OP_START:
            return self._start()
        if opcode == sw.OP_STOP:
            if self.streaming:
                self._request_stop()
            return sw.OK, self._stop_at if self._stop_at >= 0 else self.next_sample()
        if opcode == sw.OP_RESEND:
            return self._resend(args[0], args[1])
        if opcode == sw.OP_SET_ENCODING:
            return self._set_encoding(args[0])
        if opcode == sw.OP_GET_STATUS:
            self._status_due = True
            return sw.OK, 0
        if opcode == sw.OP_SET_MOUNT:
            segment, side = args
            if segment > sw.SEGMENT_THIGH or side > sw.SIDE_RIGHT:
                return sw.ERR_BAD_ARGUMENT, 0
            self.mount = sw.mount_code(segment, side)
            self._status_due = True
            return sw.OK, self.mount
        if opcode == sw.OP_SET_NAME:
            return self._rename(args[0])
        if opcode == sw.OP_IDENTIFY:
            seconds = args[0]
            if not 1 <= seconds <= 60:
                return sw.ERR_BAD_ARGUMENT, 0
            self._identify_until = self.clock.ticks_add(self.clock.ticks_ms(), seconds * 1000)
            if self.indicator is not None:
                self.indicator.identify(seconds)
            self._status_due = True
            return sw.OK, seconds
        if opcode == sw.OP_CALIBRATE:
            ms = args[0]
            if not _CAL_MIN_MS <= ms <= _CAL_MAX_MS:
                return sw.ERR_BAD_ARGUMENT, 0
            if self.imu is None:
                return sw.ERR_IMU_FAULT, 0
            self._calibrate_start(ms)
            self._status_due = True
            return sw.OK, ms
        if opcode == sw.OP_SET_RATE:
            return self._set_rate(args[0])
        if opcode == sw.OP_SET_RANGES:
            return self._set_ranges(args[0], args[1])
        return sw.ERR_UNKNOWN_OPCODE, 0

    def _start(self):
        if self.imu is None:
            return sw.ERR_IMU_FAULT, 0
        if self._battery_stop:
            return sw.ERR_LOW_BATTERY, self.battery.mv
        if not self.spp:
            return sw.ERR_MTU_TOO_SMALL, self.mtu
        if self.streaming:
            if self._stop_at >= 0:  # a START during an orderly stop keeps the stream going
                self._stop_at = -1
            return sw.OK, self._live
        q = self.qdiv
        start = (self.captured // q) * q
        offered = self._offered
        if 0 <= offered <= start and offered >= self.ring.oldest():
            start = offered
        self._live = start
        self.streaming = True
        self._status_due = True
        return sw.OK, start

    def _resend(self, first, count):
        if count == 0:
            return sw.ERR_BAD_ARGUMENT, 0
        q = self.qdiv
        end = first + count
        if end > self._live:  # not sent yet: the live stream will bring it
            end = self._live
        first = first // q * q
        end = (end + q - 1) // q * q
        if end > self._live:
            end = self._live
        oldest = self.ring.oldest()
        result = sw.OK
        if first < oldest:
            result = sw.ERR_RANGE_GONE
            first = oldest
        if first < end:
            for r in self._resends:  # merge with a queued range it overlaps
                if first <= r[1] and end >= r[0]:
                    if first < r[0]:
                        r[0] = first
                    if end > r[1]:
                        r[1] = end
                    return result, oldest
            if len(self._resends) >= _MAX_RESENDS:
                return sw.ERR_BUSY, oldest
            self._resends.append([first, end])
        return result, oldest

    def _set_encoding(self, encoding):
        if encoding == sw.ENCODING_DELTA and not sw.delta_fits(self.mtu, self.qdiv):
            return sw.ERR_MTU_TOO_SMALL, self.mtu
        if encoding != sw.ENCODING_FULL and encoding != sw.ENCODING_DELTA:
            return sw.ERR_BAD_ARGUMENT, 0
        if encoding == sw.ENCODING_DELTA and self._delta is None:
            try:  # once per boot, its code and ~1.5 kB: a board that streams full never spends them
                from .delta import DeltaPacker

                self._delta = DeltaPacker(_DELTA_MAX_BYTES)
            except MemoryError:
                return sw.ERR_BUSY, 0
        self.encoding = encoding
        return sw.OK, encoding

    def _rename(self, raw):
        try:
            name = raw.decode()
        except UnicodeError:
            return sw.ERR_BAD_ARGUMENT, 0
        for ch in name:
            if ord(ch) < 32:
                return sw.ERR_BAD_ARGUMENT, 0
        self.name = name
        if self.on_rename is not None:
            self.on_rename(name)
        return sw.OK, len(raw)

    def _set_rate(self, hz):
        if self.streaming:
            return sw.ERR_BUSY, self.rate
        if self.imu is None:
            return sw.ERR_IMU_FAULT, 0
        rate = self.imu.supported_rate(hz) if hz else 0
        if rate < _MIN_RATE or self.bytes_per_second(rate) > _MAX_BYTES_PER_S or self.bytes_per_second(rate) == 0:
            return sw.ERR_BAD_ARGUMENT, self.rate
        if rate * 30 > self.ring.capacity:  # the ring (sized at boot) would hold less than 30 s
            return sw.ERR_BAD_ARGUMENT, self.rate
        return self._reconfigure(rate, self.accel_g, self.gyro_dps)

    def _set_ranges(self, accel_g, gyro_code):
        if self.streaming:
            return sw.ERR_BUSY, 0
        if self.imu is None:
            return sw.ERR_IMU_FAULT, 0
        if accel_g not in self.imu.ACCEL_RANGES or gyro_code * 125 not in self.imu.GYRO_RANGES:
            return sw.ERR_BAD_ARGUMENT, 0
        return self._reconfigure(self._want_rate, accel_g, gyro_code * 125)

    def _reconfigure(self, rate, accel_g, gyro_dps):
        try:
            self._configure(rate, accel_g, gyro_dps)
        except OSError:
            self._fault()
            self.imu = None
            return sw.ERR_IMU_FAULT, 0
        self._want_rate = rate
        self._status_due = True
        return sw.OK, self.rate
