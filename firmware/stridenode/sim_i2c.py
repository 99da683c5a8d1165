# Simulated I2C bus and register-level IMU devices, so the real drivers (imu.py) run without a
# board: in the MicroPython tests and in the host's virtual sensor.
#
#   imu = make_device(board)          # the first model the board file lists, at its first address
#   i2c = SimI2C([imu])               # machine.I2C's memory methods: readfrom_mem_into, writeto_mem ...
#   imu.push(ax, ay, az, gx, gy, gz)  # one output-data-rate tick: g and deg/s in the sensor's axes
#
# push() quantises at the configured full scale with the part's own sensitivity, saturates at
# the int16 limits (that is how a real part clips), and, when the FIFO is enabled, writes the
# FIFO exactly in the part's layout: LSM6DSO(X/32) 7-byte tagged words (tag, X, Y, Z little
# endian), MPU6886 14-byte frames (accel, temperature, gyro, big endian).  When the FIFO is full
# the oldest data is overwritten and the overflow flag is raised, as in the parts' continuous
# modes; on the MPU6886 that overwrites bytes, so frames lose their alignment, which is why its
# driver resets the FIFO after an overflow.
#
# Both parts also model their motion wake-up (imu.enable_wake_on_motion): LSM6DSO wake-up on INT1
# (WAKE_UP_THS/WAKE_UP_DUR weight, TAP_CFG0 LIR, TAP_CFG2 INTERRUPTS_ENABLE, MD1_CFG INT1_WU,
# slope filter (a[n] - a[n-1]) / 2) and MPU6886 wake-on-motion (ACCEL_WOM_*_THR at 4 mg/LSB,
# ACCEL_INTEL_CTRL, INT_ENABLE WOM bits, INT_PIN_CFG level/latch, cycle mode): device.int1 is the
# level on the part's interrupt pin, which is what wakes the ESP32 from deep sleep.

from .bytecopy import copy_bytes

from stridewire import const


_ENODEV = const(19)


class SimI2C:
    """The subset of machine.I2C the drivers use, over simulated devices."""

    def __init__(self, devices):
        self.devices = {}
        for device in devices:
            self.devices[device.address] = device
        self.transactions = 0

    def scan(self):
        return sorted(self.devices)

    def _device(self, addr):
        device = self.devices.get(addr)
        if device is None:
            raise OSError(_ENODEV)
        self.transactions += 1
        return device

    def readfrom_mem_into(self, addr, memaddr, buf):
        self._device(addr).read(memaddr, buf)

    def readfrom_mem(self, addr, memaddr, nbytes):
        buf = bytearray(nbytes)
        self._device(addr).read(memaddr, buf)
        return bytes(buf)

    def writeto_mem(self, addr, memaddr, buf):
        self._device(addr).write(memaddr, buf)




def _quantise(value, lsb):
    count = int(round(value / lsb))
    if count > 32767:
        return 32767
    if count < -32768:
        return -32768
    return count


class _Device:
    """A register file with auto-increment; subclasses add the data path."""

    WHO_AM_I_REG = 0
    WHO_AM_I = 0

    def __init__(self, address):
        self.address = address
        self.regs = bytearray(256)
        self.samples = 0  # ODR ticks seen (pushes)
        self.overwritten = 0  # FIFO data lost to overflow (words or bytes), for tests
        self.reset()

    def reset(self):
        for i in range(256):
            self.regs[i] = 0
        self.regs[self.WHO_AM_I_REG] = self.WHO_AM_I

    def read_reg(self, reg):
        return self.regs[reg]

    def write_reg(self, reg, value):
        self.regs[reg] = value

    def next_reg(self, reg):
        return (reg + 1) & 0xFF

    def read(self, reg, buf):
        i = 0
        n = len(buf)
        while i < n:
            buf[i] = self.read_reg(reg)
            reg = self.next_reg(reg)
            i += 1

    def write(self, reg, data):
        i = 0
        n = len(data)
        while i < n:
            self.write_reg(reg, data[i])
            reg = self.next_reg(reg)
            i += 1


# --- ST LSM6DSOX / LSM6DSO32 -------------------------------------------------------------
# The register map is written again here from the datasheet, not imported from imu.py: a wrong
# address in the driver must meet a device that disagrees with it, not one that shares the mistake.

_ST_FIFO_CTRL3 = const(0x09)
_ST_FIFO_CTRL4 = const(0x0A)
_ST_WHO_AM_I = const(0x0F)
_ST_CTRL1_XL = const(0x10)
_ST_CTRL2_G = const(0x11)
_ST_CTRL3_C = const(0x12)
_ST_STATUS = const(0x1E)
_ST_OUTX_L_G = const(0x22)
_ST_FIFO_STATUS1 = const(0x3A)
_ST_FIFO_STATUS2 = const(0x3B)
_ST_FIFO_TAG = const(0x78)
_ST_FIFO_LAST = const(0x7E)
_ST_WORD = const(7)
_ST_TAG_GYRO = const(0x01)
_ST_TAG_ACCEL = const(0x02)
_ST_ALL_INT_SRC = const(0x1A)
_ST_WAKE_UP_SRC = const(0x1B)
_ST_TAP_CFG0 = const(0x56)
_ST_TAP_CFG2 = const(0x58)
_ST_WAKE_UP_THS = const(0x5B)
_ST_WAKE_UP_DUR = const(0x5C)
_ST_MD1_CFG = const(0x5E)

# Sensitivities: g/LSB for the FS_XL codes 00, 01, 10, 11; dps/LSB for FS_G codes and FS_125.
_ST_FS_XL = {
    "LSM6DSOX": (2, 16, 4, 8),
    "LSM6DSO32": (4, 32, 8, 16),
}
_ST_GYRO_DPS = (250, 500, 1000, 2000)
_ST_MDPS_PER_LSB = {125: 4.375, 250: 8.75, 500: 17.5, 1000: 35.0, 2000: 70.0}
_ST_FIFO_WORDS = const(512)  # modelled capacity (the parts hold up to 9 kB of batched data)


class SimLSM6DSO(_Device):
    """An LSM6DSOX or LSM6DSO32 (WHO_AM_I 0x6C) with its tagged FIFO in continuous mode."""

    WHO_AM_I_REG = _ST_WHO_AM_I
    WHO_AM_I = 0x6C

    def __init__(self, model="LSM6DSO32", address=0x6A, fifo_words=_ST_FIFO_WORDS):
        if model not in _ST_FS_XL:
            raise ValueError("not an LSM6DSO model: %s" % model)
        self.model = model
        self.capacity = fifo_words
        self.fifo = bytearray(fifo_words * _ST_WORD)
        self._latched = bytearray(_ST_WORD)
        _Device.__init__(self, address)

    def reset(self):
        _Device.reset(self)
        self.regs[_ST_CTRL3_C] = 0x04  # IF_INC
        self.head = 0  # oldest word
        self.count = 0
        self.tag_cnt = 0
        self.overrun = False
        self.overrun_latched = False
        self._last = (0, 0, 0, 0, 0, 0)
        self._word_pos = 0
        self._prev_a = None  # previous accelerometer sample (counts), for the slope filter
        self._wu_now = False  # the last sample was a wake-up event
        self._wu_latched = False
        self._wu_src = 0
        self.wake_events = 0
        self._configure()

    def _configure(self):
        ctrl1 = self.regs[_ST_CTRL1_XL]
        ctrl2 = self.regs[_ST_CTRL2_G]
        self.accel_on = (ctrl1 >> 4) != 0
        self.gyro_on = (ctrl2 >> 4) != 0
        self.accel_fs = _ST_FS_XL[self.model][(ctrl1 >> 2) & 3]
        self.accel_lsb = self.accel_fs / 32768.0
        dps = 125 if ctrl2 & 0x02 else _ST_GYRO_DPS[(ctrl2 >> 2) & 3]
        self.gyro_dps = dps
        self.gyro_lsb = _ST_MDPS_PER_LSB[dps] / 1000.0
        fifo3 = self.regs[_ST_FIFO_CTRL3]
        mode = self.regs[_ST_FIFO_CTRL4] & 0x07
        self.fifo_on = mode == 0x06
        self.batch_accel = self.fifo_on and (fifo3 & 0x0F) != 0 and self.accel_on
        self.batch_gyro = self.fifo_on and (fifo3 >> 4) != 0 and self.gyro_on
        self.wake_armed = self.accel_on and bool(self.regs[_ST_TAP_CFG2] & 0x80)
        if mode == 0:  # bypass mode empties the FIFO
            self.head = 0
            self.count = 0
            self.overrun = False

    def write_reg(self, reg, value):
        if reg == _ST_CTRL3_C and value & 0x01:  # SW_RESET
            self.reset()
            return
        self.regs[reg] = value
        if reg in (_ST_CTRL1_XL, _ST_CTRL2_G, _ST_FIFO_CTRL3, _ST_FIFO_CTRL4, _ST_TAP_CFG2):
            self._configure()

    def next_reg(self, reg):
        if reg == _ST_FIFO_LAST:  # burst reads of the FIFO roll back to the tag register
            return _ST_FIFO_TAG
        if not self.regs[_ST_CTRL3_C] & 0x04:
            return reg
        return (reg + 1) & 0x7F

    def read_reg(self, reg):
        if reg == _ST_FIFO_STATUS1:
            return self.count & 0xFF
        if reg == _ST_FIFO_STATUS2:
            value = (self.count >> 8) & 0x03
            if self.overrun:
                value |= 0x40
            if self.overrun_latched:
                value |= 0x08
                self.overrun_latched = False
            if self.count >= self.capacity:
                value |= 0x20
            return value
        if reg == _ST_FIFO_TAG:
            self._pop(self._latched)
            return self._latched[0]
        if _ST_FIFO_TAG < reg <= _ST_FIFO_LAST:
            return self._latched[reg - _ST_FIFO_TAG]
        if _ST_OUTX_L_G <= reg < _ST_OUTX_L_G + 12:
            i = (reg - _ST_OUTX_L_G) >> 1
            value = self._last[3 + i] if i < 3 else self._last[i - 3]
            value &= 0xFFFF
            return (value >> 8) if reg & 1 else (value & 0xFF)
        if reg == _ST_STATUS:
            return 0x03 if self.samples else 0
        if reg == _ST_WAKE_UP_SRC or reg == _ST_ALL_INT_SRC:  # reading clears a latched event
            value = self._wu_src if (self._wu_latched or self._wu_now) else 0
            if reg == _ST_ALL_INT_SRC:
                value = 0x02 if value else 0  # WU_IA
            self._wu_latched = False
            self._wu_src = 0
            return value
        return self.regs[reg]

    @property
    def int1(self):
        """The level on INT1 (1 high, 0 low): the wake-up event when routed to INT1 and enabled."""
        regs = self.regs
        active = False
        if regs[_ST_MD1_CFG] & 0x20 and regs[_ST_TAP_CFG2] & 0x80:
            active = self._wu_latched if regs[_ST_TAP_CFG0] & 0x01 else self._wu_now
        if regs[_ST_CTRL3_C] & 0x20:  # H_LACTIVE: active low
            return 0 if active else 1
        return 1 if active else 0

    def _wake_check(self, ax, ay, az):
        prev = self._prev_a
        self._prev_a = (ax, ay, az)
        if prev is None:
            return
        # 1 LSB of WK_THS is FS / 2^8 (WAKE_THS_W 1) or FS / 2^6; full scale is 32768 counts
        limit = (self.regs[_ST_WAKE_UP_THS] & 0x3F) * (128 if self.regs[_ST_WAKE_UP_DUR] & 0x10 else 512)
        src = 0
        if abs(ax - prev[0]) > 2 * limit:  # slope (a[n] - a[n-1]) / 2 over the threshold
            src |= 0x04  # X_WU
        if abs(ay - prev[1]) > 2 * limit:
            src |= 0x02
        if abs(az - prev[2]) > 2 * limit:
            src |= 0x01
        self._wu_now = bool(src)
        if src:
            self.wake_events += 1
            self._wu_src = 0x08 | src  # WU_IA
            if self.regs[_ST_TAP_CFG0] & 0x01:  # LIR
                self._wu_latched = True

    def _pop(self, out):
        if not self.count:
            for i in range(_ST_WORD):
                out[i] = 0
            return
        o = self.head * _ST_WORD
        out[:] = self.fifo[o : o + _ST_WORD]
        self.head = (self.head + 1) % self.capacity
        self.count -= 1
        self.overrun = False

    def read(self, reg, buf):
        n = len(buf)
        if reg == _ST_FIFO_TAG and n % _ST_WORD == 0:
            self._read_words(buf, n // _ST_WORD)
        else:
            _Device.read(self, reg, buf)

    def _read_words(self, buf, words):
        """A burst from FIFO_DATA_OUT_TAG: whole words, the address rolling back after 7Eh."""
        take = words if words <= self.count else self.count
        pos = 0
        while take:
            chunk = self.capacity - self.head
            if chunk > take:
                chunk = take
            o = self.head * _ST_WORD
            size = chunk * _ST_WORD
            copy_bytes(buf, pos, self.fifo, o, size)
            pos += size
            self.head = (self.head + chunk) % self.capacity
            self.count -= chunk
            take -= chunk
            self.overrun = False
        while pos < len(buf):
            buf[pos] = 0  # an empty FIFO reads as tag 0 (no sensor)
            pos += 1

    def _append(self, tag, x, y, z):
        if self.count >= self.capacity:
            self.head = (self.head + 1) % self.capacity
            self.count -= 1
            self.overrun = True
            self.overrun_latched = True
            self.overwritten += 1
        o = ((self.head + self.count) % self.capacity) * _ST_WORD
        fifo = self.fifo
        byte = (tag << 3) | (self.tag_cnt << 1)
        parity = byte ^ (byte >> 4)
        parity ^= parity >> 2
        parity ^= parity >> 1
        fifo[o] = byte | (parity & 1)
        fifo[o + 1] = x & 0xFF
        fifo[o + 2] = (x >> 8) & 0xFF
        fifo[o + 3] = y & 0xFF
        fifo[o + 4] = (y >> 8) & 0xFF
        fifo[o + 5] = z & 0xFF
        fifo[o + 6] = (z >> 8) & 0xFF
        self.count += 1

    def push_counts(self, ax, ay, az, gx, gy, gz):
        """One ODR tick given in the part's own counts (no float arithmetic: benchmarks)."""
        self.samples += 1
        if self.wake_armed:
            self._wake_check(ax, ay, az)
        if self.batch_gyro:
            self._append(_ST_TAG_GYRO, gx, gy, gz)
        if self.batch_accel:
            self._append(_ST_TAG_ACCEL, ax, ay, az)
        self.tag_cnt = (self.tag_cnt + 1) & 3

    def push(self, ax, ay, az, gx, gy, gz):
        """One ODR tick with the true acceleration (g) and angular rate (dps), sensor axes."""
        if not (self.accel_on or self.gyro_on):
            return
        al = self.accel_lsb
        gl = self.gyro_lsb
        # round to the part's counts and saturate at int16 (inline: this runs per sample on the host)
        a0 = round(ax / al)
        a0 = 32767 if a0 > 32767 else (-32768 if a0 < -32768 else a0)
        a1 = round(ay / al)
        a1 = 32767 if a1 > 32767 else (-32768 if a1 < -32768 else a1)
        a2 = round(az / al)
        a2 = 32767 if a2 > 32767 else (-32768 if a2 < -32768 else a2)
        g0 = round(gx / gl)
        g0 = 32767 if g0 > 32767 else (-32768 if g0 < -32768 else g0)
        g1 = round(gy / gl)
        g1 = 32767 if g1 > 32767 else (-32768 if g1 < -32768 else g1)
        g2 = round(gz / gl)
        g2 = 32767 if g2 > 32767 else (-32768 if g2 < -32768 else g2)
        self._last = (a0, a1, a2, g0, g1, g2)
        self.push_counts(a0, a1, a2, g0, g1, g2)


# --- InvenSense MPU6886 ------------------------------------------------------------------

_MPU_SMPLRT_DIV = const(0x19)
_MPU_CONFIG = const(0x1A)
_MPU_GYRO_CONFIG = const(0x1B)
_MPU_ACCEL_CONFIG = const(0x1C)
_MPU_FIFO_EN = const(0x23)
_MPU_WOM_X_THR = const(0x20)
_MPU_WOM_Y_THR = const(0x21)
_MPU_WOM_Z_THR = const(0x22)
_MPU_INT_PIN_CFG = const(0x37)
_MPU_INT_ENABLE = const(0x38)
_MPU_ACCEL_INTEL_CTRL = const(0x69)
_MPU_INT_STATUS = const(0x3A)
_MPU_ACCEL_OUT = const(0x3B)
_MPU_USER_CTRL = const(0x6A)
_MPU_PWR_MGMT_1 = const(0x6B)
_MPU_PWR_MGMT_2 = const(0x6C)
_MPU_FIFO_COUNTH = const(0x72)
_MPU_FIFO_COUNTL = const(0x73)
_MPU_FIFO_R_W = const(0x74)
_MPU_WHO_AM_I = const(0x75)
_MPU_FIFO_BYTES = const(1024)
_MPU_FRAME = const(14)
_MPU_LSB_PER_DPS = (131.0, 65.5, 32.8, 16.4)


class SimMPU6886(_Device):
    """An MPU6886 (WHO_AM_I 0x19): 1 kHz internal rate / (1 + SMPLRT_DIV), 1 kB byte FIFO."""

    WHO_AM_I_REG = _MPU_WHO_AM_I
    WHO_AM_I = 0x19

    def __init__(self, address=0x68, fifo_bytes=_MPU_FIFO_BYTES):
        self.model = "MPU6886"
        self.capacity = fifo_bytes
        self.fifo = bytearray(fifo_bytes)
        self._frame = bytearray(_MPU_FRAME)
        _Device.__init__(self, address)

    def reset(self):
        _Device.reset(self)
        self.regs[_MPU_PWR_MGMT_1] = 0x40  # SLEEP after reset
        self.head = 0
        self.count = 0
        self.overflow = False
        self._last = (0, 0, 0, 0, 0, 0)
        self._prev_a = None
        self._wom_now = 0
        self._wom_latched = 0
        self.wake_events = 0
        self._configure()

    def _configure(self):
        self.awake = not (self.regs[_MPU_PWR_MGMT_1] & 0x40)
        self.accel_fs = (2, 4, 8, 16)[(self.regs[_MPU_ACCEL_CONFIG] >> 3) & 3]
        self.accel_lsb = self.accel_fs / 32768.0
        self.gyro_dps = (250, 500, 1000, 2000)[(self.regs[_MPU_GYRO_CONFIG] >> 3) & 3]
        self.gyro_lsb = 1.0 / _MPU_LSB_PER_DPS[(self.regs[_MPU_GYRO_CONFIG] >> 3) & 3]
        en = self.regs[_MPU_FIFO_EN]
        self.fifo_on = bool(self.regs[_MPU_USER_CTRL] & 0x40)
        self.fifo_accel = bool(en & 0x08)
        self.fifo_gyro = bool(en & 0x10)
        self.rate_hz = 1000 // (1 + self.regs[_MPU_SMPLRT_DIV])
        self.cycle = bool(self.regs[_MPU_PWR_MGMT_1] & 0x20)
        self.accel_on = (self.regs[_MPU_PWR_MGMT_2] & 0x38) != 0x38
        self.wom_armed = self.awake and self.accel_on and bool(self.regs[_MPU_ACCEL_INTEL_CTRL] & 0x80)

    def write_reg(self, reg, value):
        if reg == _MPU_PWR_MGMT_1 and value & 0x80:  # DEVICE_RESET
            self.reset()
            return
        if reg == _MPU_USER_CTRL and value & 0x04:  # FIFO_RST, self-clearing
            self.head = 0
            self.count = 0
            value &= ~0x04
        self.regs[reg] = value
        self._configure()

    def next_reg(self, reg):
        if reg == _MPU_FIFO_R_W:  # burst reads of the FIFO keep reading the FIFO
            return reg
        return (reg + 1) & 0xFF

    def read_reg(self, reg):
        if reg == _MPU_FIFO_COUNTH:
            return (self.count >> 8) & 0x1F
        if reg == _MPU_FIFO_COUNTL:
            return self.count & 0xFF
        if reg == _MPU_INT_STATUS:
            value = 0x10 if self.overflow else 0
            self.overflow = False
            value |= self._wom_latched | self._wom_now
            self._wom_latched = 0
            return value | 0x01
        if reg == _MPU_FIFO_R_W:
            if not self.count:
                return 0xFF
            value = self.fifo[self.head]
            self.head = (self.head + 1) % self.capacity
            self.count -= 1
            return value
        if _MPU_ACCEL_OUT <= reg < _MPU_ACCEL_OUT + 14:
            i = reg - _MPU_ACCEL_OUT
            if i in (6, 7):
                return 0
            k = (i >> 1) if i < 6 else ((i - 8) >> 1) + 3
            value = self._last[k] & 0xFFFF
            return (value & 0xFF) if i & 1 else (value >> 8)
        return self.regs[reg]

    @property
    def int1(self):
        """The level on INT (1 high, 0 low): wake-on-motion when enabled in INT_ENABLE."""
        cfg = self.regs[_MPU_INT_PIN_CFG]
        wom = self._wom_latched if cfg & 0x20 else self._wom_now  # LATCH_INT_EN, else a 50 us pulse
        active = bool(wom & self.regs[_MPU_INT_ENABLE] & 0xE0)
        if cfg & 0x80:  # INT_LEVEL: active low
            return 0 if active else 1
        return 1 if active else 0

    def _wom_check(self, ax, ay, az):
        prev = self._prev_a
        self._prev_a = (ax, ay, az)
        if prev is None or not self.regs[_MPU_ACCEL_INTEL_CTRL] & 0x40:  # ACCEL_INTEL_MODE: vs previous
            return
        # |change| in mg against the threshold at 4 mg/LSB, in integers: counts * fs * 1000 / 32768
        fs1000 = self.accel_fs * 1000
        bits = 0
        if abs(ax - prev[0]) * fs1000 > self.regs[_MPU_WOM_X_THR] * 4 * 32768:
            bits |= 0x80
        if abs(ay - prev[1]) * fs1000 > self.regs[_MPU_WOM_Y_THR] * 4 * 32768:
            bits |= 0x40
        if abs(az - prev[2]) * fs1000 > self.regs[_MPU_WOM_Z_THR] * 4 * 32768:
            bits |= 0x20
        self._wom_now = bits
        if bits:
            self.wake_events += 1
            if self.regs[_MPU_INT_PIN_CFG] & 0x20:
                self._wom_latched |= bits

    def read(self, reg, buf):
        n = len(buf)
        if reg == _MPU_FIFO_R_W and n <= self.count:
            pos = 0
            while pos < n:
                chunk = self.capacity - self.head
                if chunk > n - pos:
                    chunk = n - pos
                copy_bytes(buf, pos, self.fifo, self.head, chunk)
                self.head = (self.head + chunk) % self.capacity
                self.count -= chunk
                pos += chunk
        else:
            _Device.read(self, reg, buf)

    def push(self, ax, ay, az, gx, gy, gz):
        """One sample-rate tick with the true acceleration (g) and angular rate (dps)."""
        if not self.awake:
            return
        al = self.accel_lsb
        gl = self.gyro_lsb
        last = (_quantise(ax, al), _quantise(ay, al), _quantise(az, al), _quantise(gx, gl), _quantise(gy, gl), _quantise(gz, gl))
        self._last = last
        self.push_counts(last[0], last[1], last[2], last[3], last[4], last[5])

    def push_counts(self, ax, ay, az, gx, gy, gz):
        """One tick given in the part's own counts (no float arithmetic: benchmarks)."""
        self.samples += 1
        if self.wom_armed:
            self._wom_check(ax, ay, az)
        if not (self.fifo_on and (self.fifo_accel or self.fifo_gyro)):
            return
        frame = self._frame
        size = 0
        if self.fifo_accel:
            size = _put_be(frame, size, ax)
            size = _put_be(frame, size, ay)
            size = _put_be(frame, size, az)
        frame[size] = 0  # temperature: 25 degC reads as 0
        frame[size + 1] = 0
        size += 2
        if self.fifo_gyro:
            size = _put_be(frame, size, gx)
            size = _put_be(frame, size, gy)
            size = _put_be(frame, size, gz)
        cap = self.capacity
        fifo = self.fifo
        for i in range(size):
            if self.count >= cap:  # FIFO_MODE 0: the oldest byte is overwritten
                self.head = (self.head + 1) % cap
                self.count -= 1
                self.overflow = True
                self.overwritten += 1
            fifo[(self.head + self.count) % cap] = frame[i]
            self.count += 1


def _put_be(buf, o, value):
    value &= 0xFFFF
    buf[o] = value >> 8
    buf[o + 1] = value & 0xFF
    return o + 2


def make_device(board, model=None, address=None):
    """A simulated IMU for a board description: its first listed model at its first address."""
    imu = board["imu"]
    model = model or imu["models"][0]
    address = imu["addresses"][0] if address is None else address
    if model == "MPU6886":
        return SimMPU6886(address)
    return SimLSM6DSO(model, address)


class ManualClock:
    """The firmware's clock seam (time.ticks_us / ticks_ms / ticks_diff / ticks_add), moved by hand.

    Tests and benchmarks advance it as the simulated IMU produces samples; both tick counters
    wrap at 2**30 like MicroPython's (and stay small ints, so advancing allocates nothing)."""

    def __init__(self):
        self._us = 0
        self._ms = 0
        self._frac = 0

    def advance_us(self, us):
        self._us = (self._us + us) & 0x3FFFFFFF
        frac = self._frac + us
        self._ms = (self._ms + frac // 1000) & 0x3FFFFFFF
        self._frac = frac % 1000

    def ticks_us(self):
        return self._us

    def ticks_ms(self):
        return self._ms

    def ticks_diff(self, a, b):
        d = (a - b) & 0x3FFFFFFF
        if d & 0x20000000:  # negative: d - 2**30, without the (not small) constant 2**30
            d = d - 0x3FFFFFFF - 1
        return d

    def ticks_add(self, a, b):
        return (a + b) & 0x3FFFFFFF
