# IMU drivers: ST LSM6DSOX / LSM6DSO32 and InvenSense MPU6886, over a machine.I2C-like bus.
#
#   imu = probe(i2c, board)                  # finds the part by WHO_AM_I at the board's addresses
#   rate = imu.configure(416, 32, 2000)      # ODR >= the request, full scales; FIFO on
#   n = imu.read(out, 32)                    # up to 32 samples from the hardware FIFO into out
#
# out is a preallocated array('h') of 6 * max samples: ax ay az gx gy gz per sample in the wire
# protocol's scale (stridewire.accel_scale / gyro_scale: full scale = 32768 counts).  The
# accelerometers' sensitivities already match it; the gyros' nominal sensitivities do not
# (ST: 70 mdps/LSB at 2000 dps, i.e. 2294 dps full scale; InvenSense: 16.4 LSB/dps), so gyro
# counts are rescaled in integer arithmetic.  FIFO bursts go into preallocated buffers through
# preallocated memoryviews; nothing is allocated per sample.  Samples whose accelerometer sits
# at the int16 limit are counted in .clipped (the part saturates there).

from array import array

from stridewire import const


import stridewire

_BURST_SAMPLES = const(16)  # samples per I2C burst (the FIFO is drained with several bursts)
_ST_WORDS_PER_READ = const(32)  # FIFO words per transaction (1: word by word, no address roll-back needed)

# LSM6DSO family registers
_ST_FIFO_CTRL3 = const(0x09)
_ST_FIFO_CTRL4 = const(0x0A)
_ST_WHO_AM_I = const(0x0F)
_ST_CTRL1_XL = const(0x10)
_ST_CTRL2_G = const(0x11)
_ST_CTRL3_C = const(0x12)
_ST_FIFO_STATUS1 = const(0x3A)
_ST_FIFO_TAG = const(0x78)
_ST_CTRL6_C = const(0x15)
_ST_ALL_INT_SRC = const(0x1A)
_ST_WAKE_UP_SRC = const(0x1B)
_ST_TAP_CFG0 = const(0x56)
_ST_TAP_CFG2 = const(0x58)
_ST_WAKE_UP_THS = const(0x5B)
_ST_WAKE_UP_DUR = const(0x5C)
_ST_MD1_CFG = const(0x5E)
_ST_ID = const(0x6C)
_ST_WORD = const(7)
_ST_TAG_GYRO = const(0x01)
_ST_TAG_ACCEL = const(0x02)
_ST_FIFO_CONTINUOUS = const(0x06)
_ST_ODR_CODES = ((104, 4), (208, 5), (416, 6), (833, 7), (1666, 8))
_ST_FS_XL_BITS = {
    "LSM6DSOX": {2: 0, 16: 1, 4: 2, 8: 3},
    "LSM6DSO32": {4: 0, 32: 1, 8: 2, 16: 3},
}
_ST_FS_G_BITS = {125: 0x02, 250: 0x00, 500: 0x04, 1000: 0x08, 2000: 0x0C}
_ST_GYRO_TO_WIRE = const(18790)  # (70 mdps/LSB) / (2000 dps / 32768) = 1.14688 in Q14

# MPU6886 registers
_MPU_SMPLRT_DIV = const(0x19)
_MPU_CONFIG = const(0x1A)
_MPU_GYRO_CONFIG = const(0x1B)
_MPU_ACCEL_CONFIG = const(0x1C)
_MPU_ACCEL_CONFIG2 = const(0x1D)
_MPU_FIFO_EN = const(0x23)
_MPU_ACCEL_WOM_X_THR = const(0x20)  # Y and Z follow at 0x21, 0x22
_MPU_INT_PIN_CFG = const(0x37)
_MPU_INT_ENABLE = const(0x38)
_MPU_ACCEL_INTEL_CTRL = const(0x69)
_MPU_INT_STATUS = const(0x3A)
_MPU_USER_CTRL = const(0x6A)
_MPU_PWR_MGMT_1 = const(0x6B)
_MPU_PWR_MGMT_2 = const(0x6C)
_MPU_FIFO_COUNTH = const(0x72)
_MPU_FIFO_R_W = const(0x74)
_MPU_WHO_AM_I = const(0x75)
_MPU_ID = const(0x19)
_MPU_FRAME = const(14)
_MPU_RATES = (1000, 500, 250, 200, 125, 100)  # 1 kHz / (1 + SMPLRT_DIV), integer rates only
_MPU_FS_XL_BITS = {2: 0, 4: 1, 8: 2, 16: 3}
_MPU_FS_G_BITS = {250: 0, 500: 1, 1000: 2, 2000: 3}
_MPU_GYRO_TO_WIRE = const(16368)  # 16.384 / 16.4 LSB per dps in Q14


class ImuError(OSError):
    """No IMU found, or the IMU refused its configuration."""


def _no_sleep(ms):
    pass


class _Driver:
    MODEL = ""
    MODEL_CODE = stridewire.IMU_UNKNOWN
    ACCEL_RANGES = ()
    GYRO_RANGES = ()

    def __init__(self, i2c, address, sleep_ms=None):
        self.i2c = i2c
        self.address = address
        self.sleep_ms = sleep_ms or _no_sleep
        self.rate = 0
        self.accel_g = 0
        self.gyro_dps = 0
        self.clipped = 0  # samples with an accelerometer axis at full scale
        self.overflows = 0  # FIFO overflow events (data was lost in the part)
        self.unpaired = 0  # FIFO words that lost their partner (after an overflow)
        self.overflowed = False  # set by read() when the part reported an overflow; the caller clears it
        self._reg1 = bytearray(1)
        self._reg2 = bytearray(2)

    @property
    def gyro_code(self):
        return self.gyro_dps // 125

    def _write(self, reg, value):
        self._reg1[0] = value
        self.i2c.writeto_mem(self.address, reg, self._reg1)

    def _read1(self, reg):
        self.i2c.readfrom_mem_into(self.address, reg, self._reg1)
        return self._reg1[0]

    def check_ranges(self, accel_g, gyro_dps):
        if accel_g not in self.ACCEL_RANGES:
            raise ValueError("%s: accelerometer range %d g not supported" % (self.MODEL, accel_g))
        if gyro_dps not in self.GYRO_RANGES:
            raise ValueError("%s: gyro range %d dps not supported" % (self.MODEL, gyro_dps))

    def power_down(self):
        """Reset the part: both parts come out of reset powered down (a few uA), nothing on INT."""
        self.reset()
        self.rate = 0

    def supported_rate(self, rate_hz):
        """The output data rate this part would run at for a request (>= it), or 0."""
        for rate in self.RATES:
            if rate >= rate_hz:
                return rate
        return 0


class LSM6DSO(_Driver):
    """ST LSM6DSOX (+-16 g) or LSM6DSO32 (+-32 g): tagged FIFO in continuous mode."""

    RATES = tuple(r for r, _ in _ST_ODR_CODES)
    GYRO_RANGES = (125, 250, 500, 1000, 2000)

    def __init__(self, i2c, address, model="LSM6DSO32", sleep_ms=None):
        _Driver.__init__(self, i2c, address, sleep_ms)
        if model not in _ST_FS_XL_BITS:
            raise ValueError("not an LSM6DSO model: %s" % model)
        self.MODEL = model
        self.MODEL_CODE = stridewire.IMU_LSM6DSO32 if model == "LSM6DSO32" else stridewire.IMU_LSM6DSOX
        self.ACCEL_RANGES = tuple(sorted(_ST_FS_XL_BITS[model]))
        self._buf = bytearray(_ST_WORDS_PER_READ * _ST_WORD)
        mv = memoryview(self._buf)
        self._views = [mv[: k * _ST_WORD] for k in range(_ST_WORDS_PER_READ + 1)]
        self._pair_reset()

    def _pair_reset(self):
        self._g_cnt = -1  # TAG_CNT of the gyro word waiting for its accelerometer word, -1: none
        self._a_cnt = -1
        self._gx = self._gy = self._gz = 0
        self._ax = self._ay = self._az = 0

    def configure(self, rate_hz, accel_g, gyro_dps):
        """Reset, set ODR (>= rate_hz), full scales and the FIFO; return the rate in Hz."""
        self.check_ranges(accel_g, gyro_dps)
        rate = self.supported_rate(rate_hz)
        if not rate:
            raise ValueError("%s: no output data rate >= %d Hz" % (self.MODEL, rate_hz))
        odr = 0
        for r, code in _ST_ODR_CODES:
            if r == rate:
                odr = code
        self._write(_ST_CTRL3_C, 0x01)  # SW_RESET
        self.sleep_ms(10)
        self._write(_ST_CTRL3_C, 0x44)  # BDU, IF_INC
        self._write(_ST_FIFO_CTRL4, 0x00)  # bypass: empties the FIFO
        self._write(_ST_CTRL1_XL, (odr << 4) | (_ST_FS_XL_BITS[self.MODEL][accel_g] << 2))
        self._write(_ST_CTRL2_G, (odr << 4) | _ST_FS_G_BITS[gyro_dps])
        self._write(_ST_FIFO_CTRL3, (odr << 4) | odr)  # batch gyro and accel at the ODR
        self._write(_ST_FIFO_CTRL4, _ST_FIFO_CONTINUOUS)
        self.rate = rate
        self.accel_g = accel_g
        self.gyro_dps = gyro_dps
        # gyro counts -> wire counts: (mdps/LSB) / (full scale / 32768), Q14
        self._gyro_mul = _ST_GYRO_TO_WIRE
        self._pair_reset()
        return rate

    def reset(self):
        self._write(_ST_CTRL3_C, 0x01)  # SW_RESET: accelerometer and gyro power-down, INT1 quiet
        self.sleep_ms(10)

    def enable_wake_on_motion(self, threshold_mg):
        """Accelerometer alone in low-power mode at 26 Hz; the wake-up event (a change between
        consecutive samples above threshold_mg on any axis) drives INT1 high and holds it there
        (latched) until WAKE_UP_SRC is read: a level an ESP32 RTC pin can wake on.  The FIFO and
        the gyro are off, so read() returns nothing until configure() runs again.  Returns the
        threshold the part was given, in mg (the register has 6 bits of the full scale)."""
        self.reset()
        self._write(_ST_CTRL3_C, 0x44)  # BDU, IF_INC; INT pins push-pull, active high (H_LACTIVE 0)
        self._write(_ST_CTRL6_C, 0x10)  # XL_HM_MODE: accelerometer high-performance off -> low-power
        self._write(_ST_CTRL2_G, 0x00)  # gyro power-down
        self._write(_ST_CTRL1_XL, 0x20)  # ODR_XL 26 Hz (low-power), FS code 00 (DSOX 2 g, DSO32 4 g)
        fs_mg = 2000 if self.MODEL == "LSM6DSOX" else 4000
        # the slope filter compares (a[n] - a[n-1]) / 2 with the threshold: half the change
        half = threshold_mg // 2
        ths = (half * 256 + fs_mg // 2) // fs_mg  # WAKE_THS_W 1: 1 LSB = FS / 2^8
        weight = 0x10
        step = fs_mg / 256
        if ths > 63:
            ths = (half * 64 + fs_mg // 2) // fs_mg  # WAKE_THS_W 0: 1 LSB = FS / 2^6
            weight = 0x00
            step = fs_mg / 64
        ths = 1 if ths < 1 else (63 if ths > 63 else ths)
        self._write(_ST_WAKE_UP_DUR, weight)  # WAKE_DUR 0: one sample over the threshold wakes
        self._write(_ST_WAKE_UP_THS, ths)
        self._write(_ST_TAP_CFG0, 0x41)  # INT_CLR_ON_READ, LIR (latched); SLOPE_FDS 0: slope filter
        self._write(_ST_TAP_CFG2, 0x80)  # INTERRUPTS_ENABLE
        self._write(_ST_MD1_CFG, 0x20)  # INT1_WU: wake-up event to INT1
        self._read1(_ST_WAKE_UP_SRC)  # clear a latched event from before
        self.rate = 0
        return int(2 * ths * step)

    def clear_wake(self):
        """Read (and so clear) the latched wake-up event; True if there was one."""
        return bool(self._read1(_ST_WAKE_UP_SRC) & 0x08)  # WU_IA

    def read(self, out, max_samples):
        """Drain up to max_samples samples from the FIFO into out; return how many."""
        i2c = self.i2c
        addr = self.address
        st = self._reg2
        buf = self._buf
        n = 0
        o6 = 0
        gmul = self._gyro_mul
        while n < max_samples:
            i2c.readfrom_mem_into(addr, _ST_FIFO_STATUS1, st)
            words = st[0] | ((st[1] & 0x03) << 8)
            if st[1] & 0x48:  # FIFO_OVR_IA or FIFO_OVR_LATCHED
                self.overflows += 1
                self.overflowed = True
            if not words:
                break
            room = 2 * (max_samples - n)
            if words > room:
                words = room
            if words > _ST_WORDS_PER_READ:
                words = _ST_WORDS_PER_READ
            i2c.readfrom_mem_into(addr, _ST_FIFO_TAG, self._views[words])
            o = 0
            end = words * _ST_WORD
            while o < end:
                tag = buf[o]
                sensor = tag >> 3
                cnt = (tag >> 1) & 3
                x = buf[o + 1] | (buf[o + 2] << 8)
                y = buf[o + 3] | (buf[o + 4] << 8)
                z = buf[o + 5] | (buf[o + 6] << 8)
                o += _ST_WORD
                if x & 0x8000:
                    x -= 0x10000
                if y & 0x8000:
                    y -= 0x10000
                if z & 0x8000:
                    z -= 0x10000
                if sensor == _ST_TAG_GYRO:
                    if self._g_cnt >= 0:
                        self.unpaired += 1
                    self._g_cnt = cnt
                    self._gx = x
                    self._gy = y
                    self._gz = z
                elif sensor == _ST_TAG_ACCEL:
                    if self._a_cnt >= 0:
                        self.unpaired += 1
                    self._a_cnt = cnt
                    self._ax = x
                    self._ay = y
                    self._az = z
                else:
                    continue  # timestamp, temperature or an empty FIFO's zero word
                if self._g_cnt < 0 or self._a_cnt < 0:
                    continue
                if self._g_cnt != self._a_cnt:  # not the same time slot: keep the newer word
                    self.unpaired += 1
                    if sensor == _ST_TAG_GYRO:
                        self._a_cnt = -1
                    else:
                        self._g_cnt = -1
                    continue
                self._g_cnt = -1
                self._a_cnt = -1
                ax = self._ax
                ay = self._ay
                az = self._az
                if ax == 32767 or ax == -32768 or ay == 32767 or ay == -32768 or az == 32767 or az == -32768:
                    self.clipped += 1
                out[o6] = ax
                out[o6 + 1] = ay
                out[o6 + 2] = az
                x = (self._gx * gmul + 8192) >> 14
                y = (self._gy * gmul + 8192) >> 14
                z = (self._gz * gmul + 8192) >> 14
                out[o6 + 3] = 32767 if x > 32767 else (-32768 if x < -32768 else x)
                out[o6 + 4] = 32767 if y > 32767 else (-32768 if y < -32768 else y)
                out[o6 + 5] = 32767 if z > 32767 else (-32768 if z < -32768 else z)
                o6 += 6
                n += 1
        return n


class MPU6886(_Driver):
    """InvenSense MPU6886 (M5Stack AtomS3): 14-byte big-endian FIFO frames."""

    MODEL = "MPU6886"
    MODEL_CODE = stridewire.IMU_MPU6886
    RATES = tuple(sorted(_MPU_RATES))
    ACCEL_RANGES = (2, 4, 8, 16)
    GYRO_RANGES = (250, 500, 1000, 2000)

    def __init__(self, i2c, address, sleep_ms=None):
        _Driver.__init__(self, i2c, address, sleep_ms)
        self._buf = bytearray(_BURST_SAMPLES * _MPU_FRAME)
        mv = memoryview(self._buf)
        self._views = [mv[: k * _MPU_FRAME] for k in range(_BURST_SAMPLES + 1)]

    def configure(self, rate_hz, accel_g, gyro_dps):
        self.check_ranges(accel_g, gyro_dps)
        rate = self.supported_rate(rate_hz)
        if not rate:
            raise ValueError("%s: no sample rate >= %d Hz" % (self.MODEL, rate_hz))
        self._write(_MPU_PWR_MGMT_1, 0x80)  # DEVICE_RESET
        self.sleep_ms(10)
        self._write(_MPU_PWR_MGMT_1, 0x01)  # awake, auto-selected clock
        self.sleep_ms(1)
        self._write(_MPU_PWR_MGMT_2, 0x00)  # all axes on
        self._write(_MPU_CONFIG, 0x01)  # DLPF 176 Hz, 1 kHz internal rate; FIFO_MODE 0 (overwrite)
        self._write(_MPU_SMPLRT_DIV, 1000 // rate - 1)
        self._write(_MPU_GYRO_CONFIG, _MPU_FS_G_BITS[gyro_dps] << 3)
        self._write(_MPU_ACCEL_CONFIG, _MPU_FS_XL_BITS[accel_g] << 3)
        self._write(_MPU_ACCEL_CONFIG2, 0x00)  # accel DLPF 218 Hz
        self._write(_MPU_FIFO_EN, 0x18)  # gyro and accel (and temperature) into the FIFO
        self._write(_MPU_USER_CTRL, 0x44)  # FIFO_EN, FIFO_RST
        self.rate = rate
        self.accel_g = accel_g
        self.gyro_dps = gyro_dps
        return rate

    def reset(self):
        self._write(_MPU_PWR_MGMT_1, 0x80)  # DEVICE_RESET: comes back asleep, INT quiet
        self.sleep_ms(10)

    def enable_wake_on_motion(self, threshold_mg):
        """Wake-on-motion in accelerometer cycle (low-power) mode at 25 Hz, gyro in standby: a change
        between consecutive samples above threshold_mg on any axis drives INT high and holds it
        (latched) until INT_STATUS is read.  Returns the threshold given to the part, in mg
        (ACCEL_WOM_*_THR: 4 mg per LSB, 0-1020 mg)."""
        self.reset()
        self._write(_MPU_PWR_MGMT_1, 0x01)  # awake, CYCLE 0 while configuring
        self._write(_MPU_PWR_MGMT_2, 0x07)  # accelerometer on, gyro axes in standby
        self._write(_MPU_ACCEL_CONFIG2, 0x01)  # ACCEL_FCHOICE_B 0, A_DLPF_CFG 1 (218 Hz)
        self._write(_MPU_USER_CTRL, 0x00)  # FIFO off
        self._write(_MPU_FIFO_EN, 0x00)
        self._write(_MPU_INT_PIN_CFG, 0x20)  # active high, push-pull, LATCH_INT_EN until INT_STATUS read
        self._write(_MPU_INT_ENABLE, 0xE0)  # WOM_X/Y/Z_INT_EN
        thr = (threshold_mg + 2) // 4
        thr = 1 if thr < 1 else (255 if thr > 255 else thr)
        self._write(_MPU_ACCEL_WOM_X_THR, thr)
        self._write(_MPU_ACCEL_WOM_X_THR + 1, thr)
        self._write(_MPU_ACCEL_WOM_X_THR + 2, thr)
        self._write(_MPU_ACCEL_INTEL_CTRL, 0xC0)  # ACCEL_INTEL_EN, ACCEL_INTEL_MODE (vs previous sample), OR of axes
        self._write(_MPU_SMPLRT_DIV, 39)  # wake-up checks at 1 kHz / (1 + 39) = 25 Hz
        self._write(_MPU_PWR_MGMT_1, 0x21)  # CYCLE: accelerometer low-power mode
        self._read1(_MPU_INT_STATUS)  # clear a latched event from before
        self.rate = 0
        return thr * 4

    def clear_wake(self):
        """Read (and so clear) the latched wake-on-motion event; True if there was one."""
        return bool(self._read1(_MPU_INT_STATUS) & 0xE0)

    def read(self, out, max_samples):
        i2c = self.i2c
        addr = self.address
        buf = self._buf
        st = self._reg2
        n = 0
        o6 = 0
        if self._read1(_MPU_INT_STATUS) & 0x10:  # FIFO_OFLOW_INT: frames are misaligned now
            self.overflows += 1
            self.overflowed = True
            self._write(_MPU_USER_CTRL, 0x44)  # reset the FIFO, keep it enabled
            return 0
        while n < max_samples:
            i2c.readfrom_mem_into(addr, _MPU_FIFO_COUNTH, st)
            frames = (((st[0] & 0x1F) << 8) | st[1]) // _MPU_FRAME
            if not frames:
                break
            if frames > max_samples - n:
                frames = max_samples - n
            if frames > _BURST_SAMPLES:
                frames = _BURST_SAMPLES
            i2c.readfrom_mem_into(addr, _MPU_FIFO_R_W, self._views[frames])
            o = 0
            end = frames * _MPU_FRAME
            while o < end:
                ax = (buf[o] << 8) | buf[o + 1]
                ay = (buf[o + 2] << 8) | buf[o + 3]
                az = (buf[o + 4] << 8) | buf[o + 5]
                gx = (buf[o + 8] << 8) | buf[o + 9]
                gy = (buf[o + 10] << 8) | buf[o + 11]
                gz = (buf[o + 12] << 8) | buf[o + 13]
                o += _MPU_FRAME
                if ax & 0x8000:
                    ax -= 0x10000
                if ay & 0x8000:
                    ay -= 0x10000
                if az & 0x8000:
                    az -= 0x10000
                if gx & 0x8000:
                    gx -= 0x10000
                if gy & 0x8000:
                    gy -= 0x10000
                if gz & 0x8000:
                    gz -= 0x10000
                if ax == 32767 or ax == -32768 or ay == 32767 or ay == -32768 or az == 32767 or az == -32768:
                    self.clipped += 1
                out[o6] = ax
                out[o6 + 1] = ay
                out[o6 + 2] = az
                out[o6 + 3] = (gx * _MPU_GYRO_TO_WIRE + 8192) >> 14
                out[o6 + 4] = (gy * _MPU_GYRO_TO_WIRE + 8192) >> 14
                out[o6 + 5] = (gz * _MPU_GYRO_TO_WIRE + 8192) >> 14
                o6 += 6
                n += 1
        return n


def probe(i2c, board, sleep_ms=None):
    """The board's IMU, found by WHO_AM_I at the addresses its board file lists; raises ImuError."""
    imu = board["imu"]
    models = imu["models"]
    seen = []
    for address in imu["addresses"]:
        buf = bytearray(1)
        st_model = None
        for m in models:
            if m != "MPU6886":
                st_model = m
                break
        try:
            if st_model is not None:
                i2c.readfrom_mem_into(address, _ST_WHO_AM_I, buf)
                if buf[0] == _ST_ID:
                    return LSM6DSO(i2c, address, st_model, sleep_ms)
                seen.append("0x%02x: WHO_AM_I(0x0F)=0x%02x" % (address, buf[0]))
            if "MPU6886" in models:
                i2c.readfrom_mem_into(address, _MPU_WHO_AM_I, buf)
                if buf[0] == _MPU_ID:
                    return MPU6886(i2c, address, sleep_ms)
                seen.append("0x%02x: WHO_AM_I(0x75)=0x%02x" % (address, buf[0]))
        except OSError:
            seen.append("0x%02x: no answer" % address)
    raise ImuError("no %s found (%s)" % ("/".join(models), "; ".join(seen)))


def new_sample_buffer(samples):
    """A preallocated output buffer for read(): 6 int16 per sample."""
    return array("h", bytes(12 * samples))
