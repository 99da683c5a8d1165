# Stand-in for MicroPython's `machine` module on an ESP32-S3, for running firmware/main.py off the
# board: the I2C bus is whatever the harness attached (a simulated IMU), the watchdog and the
# reset and sleep calls are recorded instead of acted on, the ADC reads a settable voltage.
# Not deployed to boards: the tests and `stridecue bench` put firmware/sim/ on the path.

from stridewire import const


PWRON_RESET = const(1)
HARD_RESET = const(2)
WDT_RESET = const(3)
DEEPSLEEP_RESET = const(4)
SOFT_RESET = const(5)

_DEFAULT_HZ = const(160_000_000)  # what an ESP32-S3 runs at until told otherwise
_VALID_HZ = (20_000_000, 40_000_000, 80_000_000, 160_000_000, 240_000_000)


class BoardReset(BaseException):
    """machine.reset() was called: on a board, everything starts again."""


class DeepSleep(BaseException):
    """machine.deepsleep() was called: on a board, it wakes through a reset."""

    def __init__(self, ms):
        BaseException.__init__(self, ms)
        self.ms = ms


class _State:
    def __init__(self):
        self.freq = _DEFAULT_HZ
        self.i2c = None  # the bus I2C() hands out (attach_i2c)
        self.adc_uv = {}  # pin -> microvolts
        self.pins = {}  # pin -> Pin
        self.wdt = None
        self.resets = 0
        self.sleeps = []  # deepsleep(ms) calls
        self.reset_cause = PWRON_RESET


state = _State()


def attach_i2c(bus):
    """The harness's simulated bus becomes what machine.I2C(...) returns."""
    state.i2c = bus


def freq(hz=None):
    if hz is None:
        return state.freq
    if hz not in _VALID_HZ:
        raise ValueError("frequency must be 20MHz, 40MHz, 80Mhz, 160MHz or 240MHz")
    state.freq = hz


def unique_id():
    return b"\x24\x0a\xc4\x5c\x1d\x01"


def reset_cause():
    return state.reset_cause


def reset():
    state.resets += 1
    raise BoardReset()


def soft_reset():
    reset()


def deepsleep(ms=0):
    state.sleeps.append(ms)
    raise DeepSleep(ms)


def lightsleep(ms=0):
    import time

    time.sleep_ms(ms)


def I2C(id, sda=None, scl=None, freq=400000, timeout=50000):
    if state.i2c is None:
        raise OSError(19)  # ENODEV: nothing on the bus
    return state.i2c


class Pin:
    IN = 1
    OUT = 3
    OPEN_DRAIN = 7
    PULL_UP = 2
    PULL_DOWN = 1
    IRQ_RISING = 1
    IRQ_FALLING = 2
    WAKE_LOW = 4
    WAKE_HIGH = 5

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self.id = id
        self.mode = mode
        self.pull = pull
        self._value = 0 if value is None else value
        self.handler = None
        self.trigger = 0
        state.pins[id] = self

    def value(self, v=None):
        if v is None:
            return self._value
        self._value = 1 if v else 0

    def on(self):
        self._value = 1

    def off(self):
        self._value = 0

    def irq(self, handler=None, trigger=IRQ_FALLING | IRQ_RISING, wake=None):
        self.handler = handler
        self.trigger = trigger

    def drive(self, level):
        """The outside world sets an input (a button, an interrupt line); runs the IRQ handler."""
        before = self._value
        self._value = 1 if level else 0
        if self.handler is not None and before != self._value:
            rising = self._value == 1
            if (rising and self.trigger & Pin.IRQ_RISING) or (not rising and self.trigger & Pin.IRQ_FALLING):
                self.handler(self)


class PWM:
    def __init__(self, pin, freq=5000, duty_u16=0):
        self.pin = pin
        self._freq = freq
        self._duty = duty_u16

    def duty_u16(self, value=None):
        if value is None:
            return self._duty
        self._duty = value

    def freq(self, value=None):
        if value is None:
            return self._freq
        self._freq = value

    def deinit(self):
        self._duty = 0


class ADC:
    ATTN_0DB = 0
    ATTN_2_5DB = 1
    ATTN_6DB = 2
    ATTN_11DB = 3

    def __init__(self, pin, atten=None):
        self.pin = pin.id if isinstance(pin, Pin) else pin

    def read_uv(self):
        return state.adc_uv.get(self.pin, 1_950_000)  # 1.95 V: a 3.9 V cell behind a 2:1 divider


class WDT:
    """The hardware watchdog: once made it cannot be stopped; the harness checks it is fed."""

    def __init__(self, id=0, timeout=5000):
        import time

        self.timeout = timeout
        self.fed = time.ticks_ms()
        self.feeds = 0
        self.late = 0  # feeds that came after the timeout (a board would have reset)
        state.wdt = self

    def feed(self):
        import time

        now = time.ticks_ms()
        if time.ticks_diff(now, self.fed) > self.timeout:
            self.late += 1
        self.fed = now
        self.feeds += 1
