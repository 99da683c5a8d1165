# A simulated IMU that produces samples as time passes, as a real part does: every I2C
# transaction first pushes the samples due since the last one (at the part's configured output
# data rate) into its FIFO, from a recording of the virtual runner given as int16 counts.  A
# firmware that stalls longer than the FIFO holds loses the oldest samples exactly as the part
# would, and the truth is counted here (produced, device.overwritten).

import time

from stridenode.sim_i2c import SimI2C

_LSM_ODR_HZ = (0, 12, 26, 52, 104, 208, 416, 833, 1666, 3332, 6664)
_REBASE_MS = 100000  # keep the due-sample arithmetic in small ints


def _i16(b, o):
    v = b[o] | (b[o + 1] << 8)
    return v - 65536 if v > 32767 else v


class PacedI2C(SimI2C):
    def __init__(self, device, counts):
        SimI2C.__init__(self, [device])
        self.device = device
        self.counts = counts  # int16 little-endian bytes: ax ay az gx gy gz per sample, in the part's counts
        self.n = len(counts) // 12
        self.k = 0
        self.t0 = None
        self.rate = 0
        self.pushed = 0  # since t0
        self.produced = 0  # every sample the part produced

    def device_rate(self):
        dev = self.device
        if dev.model == "MPU6886":
            return dev.rate_hz if dev.awake and dev.fifo_on else 0
        code = dev.regs[0x10] >> 4
        return _LSM_ODR_HZ[code] if code < len(_LSM_ODR_HZ) and dev.fifo_on else 0

    def catch_up(self):
        rate = self.device_rate()
        now = time.ticks_ms()
        if rate != self.rate or self.t0 is None:
            self.rate = rate
            self.t0 = now
            self.pushed = 0
            return
        if not rate:
            return
        due = time.ticks_diff(now, self.t0) * rate // 1000
        push = self.device.push_counts
        c = self.counts
        k = self.k
        n = self.n
        pushed = self.pushed
        while pushed < due:
            j = 12 * k
            push(_i16(c, j), _i16(c, j + 2), _i16(c, j + 4), _i16(c, j + 6), _i16(c, j + 8), _i16(c, j + 10))
            k += 1
            if k == n:
                k = 0
            pushed += 1
        self.produced += pushed - self.pushed
        if pushed >= rate * (_REBASE_MS // 1000):
            self.t0 = time.ticks_add(self.t0, _REBASE_MS)
            pushed -= rate * (_REBASE_MS // 1000)
        self.pushed = pushed
        self.k = k

    def readfrom_mem_into(self, addr, memaddr, buf):
        self.catch_up()
        SimI2C.readfrom_mem_into(self, addr, memaddr, buf)
