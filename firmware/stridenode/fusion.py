# 6-axis orientation on the board: a Mahony-type complementary filter in integer arithmetic.
#
#   fusion = Fusion(rate=416, qdiv=4, accel_g=32, gyro_code=16)
#   fusion.add(ax, ay, az, gx, gy, gz)    # every sample, raw wire counts
#   fusion.update()                       # every qdiv samples: .w .x .y .z (Q14, sensor -> world)
#
# Why integers: MicroPython boxes every float on the heap, so a float filter would allocate on
# every sample; small ints (< 2**30) are free.  Integers also make the board, the MicroPython
# tests and the host's virtual sensor produce byte-identical quaternions.
#
# The gyro is summed over the qdiv samples of a group (exact) and the group's mean rate rotates
# the quaternion once: at 416 Hz and qdiv 4 that is 104 updates per second, the quaternion
# output rate.  The state is kept in Q28 so that slow rotations are not lost to rounding; the
# products use its Q14 part and a split multiply so that no intermediate exceeds 2**30; the
# remainder of each rate's rounding is carried into the next group, so no bias creeps in.
#
# Accelerometer feedback (gain Kp, rad/s per rad of tilt error) is used only when the measured
# acceleration is within 20 % of 1 g and within reject_deg of the estimated gravity (running
# is mostly not "still"); after recover_s without any accepted correction the angle gate opens
# to 45 degrees until one is accepted.  Gyro bias is estimated while still (all axes below
# still_dps for still_s): a low-pass of the bias-corrected rate with time constant bias_tau_s.
# CALIBRATE measures it directly (set_bias).  Heading (yaw) is unobservable with 6 axes.

try:
    from micropython import const
except ImportError:

    def const(value):
        return value


_ONE28 = const(268435456)  # 1.0 in Q28
_LIMIT = const(33791)  # |mean rate| bound (raw counts) that keeps q14 x rate < 2**30
_PI_NUM = const(355)
_PI_DEN = const(113)
_SIN2_Q28_45 = const(134217728)


def _isqrt(n):
    if n <= 0:
        return 0
    x = n
    y = (x + 1) >> 1
    while y < x:
        x = y
        y = (x + n // x) >> 1
    return x


def _sin2_q28(deg):
    # sin^2 from a short Taylor series in integers (degrees < 60): deterministic everywhere
    # x in Q28 radians
    x = deg * _PI_NUM * _ONE28 // (180 * _PI_DEN)
    x2 = x * x >> 28
    s = x - (x * x2 >> 28) // 6 + (x * (x2 * x2 >> 28) >> 28) // 120 - (x * ((x2 * x2 >> 28) * x2 >> 28) >> 28) // 5040
    return s * s >> 28


class Fusion:
    """Orientation from accelerometer and gyro counts; see the module comment."""

    def __init__(self, rate, qdiv, accel_g, gyro_code, gain=(1, 2), reject_deg=10, recover_s=5,
                 still_dps=3, still_s=1, bias_tau_s=8):
        if qdiv & (qdiv - 1) or not 1 <= qdiv <= 16:
            raise ValueError("qdiv must be 1, 2, 4, 8 or 16")
        self.rate = rate
        self.qdiv = qdiv
        self.accel_g = accel_g
        self.gyro_code = gyro_code
        shift = 0
        while (1 << shift) < qdiv:
            shift += 1
        self._shift = shift
        # Rotation step: q28 += dot(q14, mean rate counts) * K, K = 0.5 * qdiv/rate * rad/count * 2**14
        # = qdiv * gyro_code * 125 * pi / (720 * rate); Kn = K * 2**rs in [2**14, 2**15)
        num = qdiv * gyro_code * 125 * _PI_NUM
        den = 720 * _PI_DEN * rate
        rs = 0
        while (num << rs) // den < 16384:
            rs += 1
        if rs < 15:
            raise ValueError("rate too low for the fusion's fixed point: %d Hz" % rate)
        self._kn = (num << rs) // den
        self._rs = rs - 15
        # Accelerometer feedback in Q8 counts per Q14 unit of error: Kp * 256 / (2**14 * rad/count)
        num = gain[0] * 512 * 180 * _PI_DEN
        den = gain[1] * gyro_code * 125 * _PI_NUM
        ks = 0
        while (num << (ks + 1)) // den < 32768 and ks < 20:
            ks += 1
        self._kc = (num << ks) // den
        self._ks = ks
        self._still_q8 = still_dps * 32768 * 256 // (gyro_code * 125)
        self._still_groups = still_s * rate // qdiv
        tau_groups = bias_tau_s * rate // qdiv
        tau = 0
        while (1 << (tau + 1)) <= tau_groups:
            tau += 1
        self._tau = tau
        self._reject = _sin2_q28(reject_deg)
        self._recover_groups = recover_s * rate // qdiv
        self._bx = self._by = self._bz = 0  # gyro bias, Q16 counts
        self.reset()

    def reset(self):
        """Forget the orientation: the next update starts it from the accelerometer."""
        self.w = 16384
        self.x = self.y = self.z = 0
        self._w = _ONE28
        self._x = self._y = self._z = 0
        self._cx = self._cy = self._cz = 0  # rounding carries, Q8 counts
        self._n = 0
        self._sax = self._say = self._saz = 0
        self._sgx = self._sgy = self._sgz = 0
        self._ready = False
        self._still = 0
        self._rejected = 0
        self.accepted = 0  # groups whose accelerometer reading corrected the tilt
        self.updates = 0

    def add(self, ax, ay, az, gx, gy, gz):
        self._sax += ax
        self._say += ay
        self._saz += az
        self._sgx += gx
        self._sgy += gy
        self._sgz += gz
        self._n += 1

    def set_bias(self, bx_q8, by_q8, bz_q8):
        """Gyro bias in Q8 counts (from a stand-still calibration)."""
        self._bx = bx_q8 << 8
        self._by = by_q8 << 8
        self._bz = bz_q8 << 8

    def bias_dps(self):
        """The gyro bias estimate in deg/s (for status and tests)."""
        k = self.gyro_code * 125 / 32768 / 65536
        return (self._bx * k, self._by * k, self._bz * k)

    def _start(self, n):
        # Tilt from the mean acceleration, heading zero.
        ax = self._sax // n
        ay = self._say // n
        az = self._saz // n
        norm = _isqrt(ax * ax + ay * ay + az * az)
        if norm == 0:
            return False
        ax = (ax << 14) // norm
        ay = (ay << 14) // norm
        az = (az << 14) // norm
        w = 16384 + az
        x = ay
        y = -ax
        norm = _isqrt(w * w + x * x + y * y)
        if norm < 64:  # upside down: half a turn about x
            self._w, self._x, self._y, self._z = 0, _ONE28, 0, 0
        else:
            self._w = (w << 28) // norm
            self._x = (x << 28) // norm
            self._y = (y << 28) // norm
            self._z = 0
        self._ready = True
        return True

    def update(self):
        """Fold the samples added since the last update into the orientation."""
        n = self._n
        if not n:
            return
        if not self._ready or n != self.qdiv:
            if not self._ready:
                self._start(n)
            self._n = 0
            self._sax = self._say = self._saz = 0
            self._sgx = self._sgy = self._sgz = 0
            self._publish()
            return
        self.updates += 1
        sh = 8 - self._shift
        # bias-corrected mean rate, Q8 counts
        cx = (self._sgx << sh) - (self._bx >> 8)
        cy = (self._sgy << sh) - (self._by >> 8)
        cz = (self._sgz << sh) - (self._bz >> 8)
        lim = self._still_q8
        if -lim < cx < lim and -lim < cy < lim and -lim < cz < lim:
            self._still += 1
            if self._still >= self._still_groups:
                t = self._tau
                self._bx += (cx << 8) >> t
                self._by += (cy << 8) >> t
                self._bz += (cz << 8) >> t
        else:
            self._still = 0
        w = (self._w + 8192) >> 14
        x = (self._x + 8192) >> 14
        y = (self._y + 8192) >> 14
        z = (self._z + 8192) >> 14
        # accelerometer feedback
        g = self.accel_g
        s1 = 1 + self._shift
        ax = (self._sax * g) >> s1  # Q14 g
        ay = (self._say * g) >> s1
        az = (self._saz * g) >> s1
        if -32768 < ax < 32768 and -32768 < ay < 32768 and -32768 < az < 32768:
            a10x = ax >> 4
            a10y = ay >> 4
            a10z = az >> 4
            n2 = a10x * a10x + a10y * a10y + a10z * a10z  # Q20
            if 671088 < n2 < 1509949:  # 0.8 g .. 1.2 g
                f = (3145728 - n2) >> 11  # ~1/|a| in Q10
                ax = (ax * f) >> 10
                ay = (ay * f) >> 10
                az = (az * f) >> 10
                vx = (x * z - w * y) >> 13
                vy = (w * x + y * z) >> 13
                vz = (w * w - x * x - y * y + z * z) >> 14
                ex = (ay * vz - az * vy) >> 14
                ey = (az * vx - ax * vz) >> 14
                ez = (ax * vy - ay * vx) >> 14
                e2 = ex * ex + ey * ey + ez * ez
                gate = self._reject if self._rejected < self._recover_groups else _SIN2_Q28_45
                if e2 < gate and (ax * vx + ay * vy + az * vz) > 0:
                    kc = self._kc
                    ks = self._ks
                    cx += (ex * kc) >> ks
                    cy += (ey * kc) >> ks
                    cz += (ez * kc) >> ks
                    self._rejected = 0
                    self.accepted += 1
                else:
                    self._rejected += 1
            else:
                self._rejected += 1
        else:
            self._rejected += 1
        # mean rate in counts, rounding remainder carried
        cx += self._cx
        cy += self._cy
        cz += self._cz
        mx = cx >> 8
        my = cy >> 8
        mz = cz >> 8
        self._cx = cx - (mx << 8)
        self._cy = cy - (my << 8)
        self._cz = cz - (mz << 8)
        if mx > _LIMIT:
            mx = _LIMIT
        elif mx < -_LIMIT:
            mx = -_LIMIT
        if my > _LIMIT:
            my = _LIMIT
        elif my < -_LIMIT:
            my = -_LIMIT
        if mz > _LIMIT:
            mz = _LIMIT
        elif mz < -_LIMIT:
            mz = -_LIMIT
        # q += 0.5 q (x) (0, rate) dt, each product sum bounded by |q| |rate| < 2**30
        kn = self._kn
        rs = self._rs
        d = -(x * mx + y * my + z * mz)
        self._w += ((d >> 15) * kn + (((d & 32767) * kn) >> 15)) >> rs
        d = w * mx + y * mz - z * my
        self._x += ((d >> 15) * kn + (((d & 32767) * kn) >> 15)) >> rs
        d = w * my - x * mz + z * mx
        self._y += ((d >> 15) * kn + (((d & 32767) * kn) >> 15)) >> rs
        d = w * mz + x * my - y * mx
        self._z += ((d >> 15) * kn + (((d & 32767) * kn) >> 15)) >> rs
        # first-order renormalisation towards |q| = 1
        w = (self._w + 8192) >> 14
        x = (self._x + 8192) >> 14
        y = (self._y + 8192) >> 14
        z = (self._z + 8192) >> 14
        d = (_ONE28 - (w * w + x * x + y * y + z * z)) >> 1
        if d > 32767:
            d = 32767
        elif d < -32767:
            d = -32767
        self._w += (w * d) >> 14
        self._x += (x * d) >> 14
        self._y += (y * d) >> 14
        self._z += (z * d) >> 14
        self._n = 0
        self._sax = self._say = self._saz = 0
        self._sgx = self._sgy = self._sgz = 0
        self._publish()

    def _publish(self):
        self.w = (self._w + 8192) >> 14
        self.x = (self._x + 8192) >> 14
        self.y = (self._y + 8192) >> 14
        self.z = (self._z + 8192) >> 14
