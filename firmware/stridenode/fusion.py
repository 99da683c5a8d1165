# 6-axis orientation on the board: a complementary (Mahony-type) filter in integer arithmetic.
#
#   fusion = Fusion(rate=416, qdiv=4, accel_g=32, gyro_code=16)
#   fusion.add(ax, ay, az, gx, gy, gz)    # every sample, raw wire counts
#   fusion.update()                       # every qdiv samples: renormalise; .w .x .y .z in Q14
#
# The quaternion (sensor -> world, z up) is the one x-io Fusion's revised AHRS algorithm
# (PyPI imufusion) computes with its default settings (gain 0.5, no acceleration rejection) and
# its gyro bias estimator, so it can be checked against imufusion on the same samples:
#   - on every sample the inclination residual a_hat x v (v: gravity estimated from q) times
#     the gain is added to the bias-corrected rate, which rotates q (first order, like Fusion);
#     beyond 90 degrees the residual saturates at twice the unit vector, as Fusion's does;
#     q is renormalised on every sample (first order) and published every qdiv samples;
#   - bias: while every axis stays below still_dps for still_s, the bias-corrected rate is
#     low-passed into the bias at 0.02 Hz.  CALIBRATE measures it directly (set_bias).
# Acceleration rejection is off on purpose: in running the shank is almost never in free
# "still" conditions, and Fusion's reject-then-recover switching is chaotic there (two exact
# implementations drift apart by 10+ degrees), while the plain filter is smooth.  Heading (yaw)
# is unobservable with 6 axes: it drifts with the residual gyro bias.
#
# Why integers: MicroPython boxes every float on the heap, so a float filter would allocate on
# every sample; small ints (< 2**30) are free, and the board, the MicroPython tests and the
# host's virtual sensor produce byte-identical quaternions.  The state is Q28 so slow rotations
# are not lost to rounding; products use its Q14 part and a split multiply so that no
# intermediate reaches 2**30; each rate's rounding remainder is carried to the next sample.

from stridewire import const


_ONE28 = const(268435456)  # 1.0 in Q28
_LIMIT = const(33791)  # |rate| bound (counts) that keeps q14 x rate sums below 2**30
_PI_NUM = const(355)  # pi ~ 355/113 (8.5e-8 relative)
_PI_DEN = const(113)


def _isqrt(n):
    if n <= 0:
        return 0
    x = n
    y = (x + 1) >> 1
    while y < x:
        x = y
        y = (x + n // x) >> 1
    return x


def _norm3(x, y, z):
    """|(x, y, z)| for components below 2**19 without intermediates above 2**30."""
    m = x if x > 0 else -x
    t = y if y > 0 else -y
    if t > m:
        m = t
    t = z if z > 0 else -z
    if t > m:
        m = t
    if not m:
        return 0
    s = 0
    while m >= 16384:
        m >>= 1
        s += 1
    x >>= s
    y >>= s
    z >>= s
    n2 = x * x + y * y + z * z
    r = (m + n2 // m) >> 1  # Newton from below |v| <= sqrt(3) m: five steps reach the floor
    r = (r + n2 // r) >> 1
    r = (r + n2 // r) >> 1
    r = (r + n2 // r) >> 1
    r = (r + n2 // r) >> 1
    return r << s


class Fusion:
    """Orientation from accelerometer and gyro counts; see the module comment."""

    def __init__(self, rate, qdiv, accel_g, gyro_code, gain=(1, 2), still_dps=3, still_s=3):
        if qdiv & (qdiv - 1) or not 1 <= qdiv <= 16:
            raise ValueError("qdiv must be 1, 2, 4, 8 or 16")
        self.rate = rate
        self.qdiv = qdiv
        self.accel_g = accel_g
        self.gyro_code = gyro_code
        # One sample's rotation: q28 += dot(q14, rate counts) * K,
        # K = 0.5 / rate * rad/count * 2**14 = gyro_code * 125 * pi / (720 * rate); Kn = K 2**rs in [2**14, 2**15)
        num = gyro_code * 125 * _PI_NUM
        den = 720 * _PI_DEN * rate
        rs = 0
        while (num << rs) // den < 16384:
            rs += 1
        if rs < 15:
            raise ValueError("rate too low for the fusion's fixed point: %d Hz" % rate)
        self._kn = (num << rs) // den
        self._rs = rs - 15
        # Inclination feedback in Q8 counts per Q14 unit of residual: gain * 256 / (2**14 * rad/count)
        num = gain[0] * 512 * 180 * _PI_DEN
        den = gain[1] * gyro_code * 125 * _PI_NUM
        ks = 0
        while (num << (ks + 1)) // den < 32768 and ks < 20:
            ks += 1
        self._kc = (num << ks) // den
        self._ks = ks
        self._still_q8 = still_dps * 32768 * 256 // (gyro_code * 125)
        self._still_samples = still_s * rate
        # bias low-pass per sample: 2 pi 0.02 Hz / rate, in Q20
        self._kb = 2 * _PI_NUM * (1 << 20) // (50 * _PI_DEN * rate)
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
        self._sax = self._say = self._saz = 0  # the first group's sum: the starting tilt
        self._ready = False
        self._still = 0
        self.updates = 0

    def set_bias(self, bx_q8, by_q8, bz_q8):
        """Gyro bias in Q8 counts (from a stand-still calibration)."""
        self._bx = bx_q8 << 8
        self._by = by_q8 << 8
        self._bz = bz_q8 << 8

    def bias_dps(self):
        """The gyro bias estimate in deg/s (for status and tests)."""
        k = self.gyro_code * 125 / 32768 / 65536
        return (self._bx * k, self._by * k, self._bz * k)

    def add(self, ax, ay, az, gx, gy, gz):
        """One sample: inclination feedback from its acceleration, bias, and the gyro's rotation."""
        if not self._ready:
            self._sax += ax
            self._say += ay
            self._saz += az
            self._n += 1
            return
        self._n += 1
        qw = self._w  # the Q28 state in locals: attribute lookups cost more than arithmetic
        qx = self._x
        qy = self._y
        qz = self._z
        w = (qw + 8192) >> 14
        x = (qx + 8192) >> 14
        y = (qy + 8192) >> 14
        z = (qz + 8192) >> 14
        # bias-corrected rate, Q8 counts; stillness and the bias low-pass (Fusion's offset)
        cx = (gx << 8) - (self._bx >> 8)
        cy = (gy << 8) - (self._by >> 8)
        cz = (gz << 8) - (self._bz >> 8)
        lim = self._still_q8
        if -lim < cx < lim and -lim < cy < lim and -lim < cz < lim:
            if self._still > self._still_samples:
                kb = self._kb
                self._bx += (cx * kb) >> 12
                self._by += (cy * kb) >> 12
                self._bz += (cz * kb) >> 12
            else:
                self._still += 1
        else:
            self._still = 0
        # inclination residual a_hat x v, v = gravity in the sensor frame from q
        g = self.accel_g
        ax = (ax * g) >> 1  # Q14 g
        ay = (ay * g) >> 1
        az = (az * g) >> 1
        norm = _norm3(ax, ay, az)
        if norm:
            ax = (ax << 14) // norm if -65536 < ax < 65536 else ((ax << 6) // norm) << 8
            ay = (ay << 14) // norm if -65536 < ay < 65536 else ((ay << 6) // norm) << 8
            az = (az << 14) // norm if -65536 < az < 65536 else ((az << 6) // norm) << 8
            vx = (x * z - w * y) >> 13
            vy = (w * x + y * z) >> 13
            vz = (w * w - x * x - y * y + z * z) >> 14
            ex = (ay * vz - az * vy) >> 14
            ey = (az * vx - ax * vz) >> 14
            ez = (ax * vy - ay * vx) >> 14
            kc = self._kc
            ks = self._ks
            if (ax * vx + ay * vy + az * vz) <= 0:  # beyond 90 degrees: Fusion's saturated residual, 2 units
                en = _norm3(ex, ey, ez)
                if en:
                    ex = (ex << 14) // en
                    ey = (ey << 14) // en
                    ez = (ez << 14) // en
                    ks -= 1
            cx += (ex * kc) >> ks
            cy += (ey * kc) >> ks
            cz += (ez * kc) >> ks
        # rate in counts, rounding remainder carried
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
        # q += 0.5 q (x) (0, rate) dt; each product sum is bounded by |q| |rate| < 2**30
        kn = self._kn
        rs = self._rs
        d = -(x * mx + y * my + z * mz)
        qw += ((d >> 15) * kn + (((d & 32767) * kn) >> 15)) >> rs
        d = w * mx + y * mz - z * my
        qx += ((d >> 15) * kn + (((d & 32767) * kn) >> 15)) >> rs
        d = w * my - x * mz + z * mx
        qy += ((d >> 15) * kn + (((d & 32767) * kn) >> 15)) >> rs
        d = w * mz + x * my - y * mx
        qz += ((d >> 15) * kn + (((d & 32767) * kn) >> 15)) >> rs
        # renormalise towards |q| = 1 (first order, as Fusion normalises every sample)
        w = (qw + 8192) >> 14
        x = (qx + 8192) >> 14
        y = (qy + 8192) >> 14
        z = (qz + 8192) >> 14
        d = (_ONE28 - (w * w + x * x + y * y + z * z)) >> 1  # (1 - |q|^2) / 2 in Q28
        if -32768 < d < 32768:
            qw += (w * d) >> 14
            qx += (x * d) >> 14
            qy += (y * d) >> 14
            qz += (z * d) >> 14
        else:  # a fast turn grew |q| by more than 1e-4: coarser factor, same formula
            if d > 33554431:
                d = 33554431
            elif d < -33554431:
                d = -33554431
            d >>= 10
            qw += (w * d) >> 4
            qx += (x * d) >> 4
            qy += (y * d) >> 4
            qz += (z * d) >> 4
        self._w = qw
        self._x = qx
        self._y = qy
        self._z = qz

    def _start(self, n):
        # Tilt from the mean acceleration, heading zero.
        ax = self._sax // n
        ay = self._say // n
        az = self._saz // n
        norm = _isqrt(ax * ax + ay * ay + az * az)
        if norm == 0:
            return
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

    def update(self):
        """End of a group of qdiv samples: publish .w .x .y .z (Q14)."""
        if not self._n:
            return
        if not self._ready:
            self._start(self._n)
            self._sax = self._say = self._saz = 0
        else:
            self.updates += 1
        self._n = 0
        self.w = (self._w + 8192) >> 14
        self.x = (self._x + 8192) >> 14
        self.y = (self._y + 8192) >> 14
        self.z = (self._z + 8192) >> 14
