# Power states: the CPU clock at boot, deep sleep when nobody listens, deep sleep after a
# low-battery stop.  Hardware-independent: `machine` and `esp32` (or stand-ins) are passed in.
#
#   set_cpu_clock(machine)                                   # 240 MHz at boot
#   power = PowerManager(node, machine, esp32, board, time)  # idle_ms=300_000
#   asyncio.create_task(supervisor.run("power", lambda: power.run(supervisor), max_silence_ms=5000))
#
# run() looks once a second:
#   - no central connected for idle_ms (5 min)  -> sleep("idle"): the IMU's wake-up interrupt
#     armed (board file wake.motion), wake on that pin and on the button (wake.button);
#   - the node made its low-battery stop (FLAG_FINAL sent, status says BATTERY_STOP) and
#     battery_grace_ms have passed so the host could read that status -> sleep("battery"):
#     the IMU powered down, wake on the button only (neither reference board can tell that
#     it is charging: no charge-status line reaches a GPIO).
# Deep sleep ends in a reset: main.py runs again from the top; that is a boot, not a loop,
# because sleep only comes after idle_ms of running or after a battery stop.
#
# ESP32-S3 deep sleep can only wake from RTC GPIOs (GPIO0-GPIO21); boards.check_board refuses
# a board file that asks for a wake pin outside them.

from .tasks import sleep_ms

from stridewire import const


CPU_HZ = const(240000000)
_IDLE_MS = const(300000)
_BATTERY_GRACE_MS = const(10000)
_EVERY_MS = const(1000)
_MOTION_MG = const(150)

IDLE = "idle"
BATTERY = "battery"


def set_cpu_clock(machine_mod, hz=CPU_HZ):
    """Run the CPU at hz (240 MHz: the ESP32 port boots at 160 MHz); returns the clock it runs at."""
    try:
        if machine_mod.freq() != hz:
            machine_mod.freq(hz)
        return machine_mod.freq()
    except (ValueError, OSError):  # a port that cannot: keep its clock, do not stop the boot
        return 0


def wake_sources(board):
    """(motion pin or None, motion threshold mg, button pin or None, button active low) from a
    board description's "wake" and "imu.int1" / "button" entries."""
    wake = board.get("wake") or {}
    motion_pin = board["imu"].get("int1") if wake.get("motion") else None
    button = board.get("button") if wake.get("button") else None
    return (motion_pin, wake.get("motion_mg", _MOTION_MG),
            button["pin"] if button else None, bool(button and button.get("active_low")))


class PowerManager:
    """Decides when the board deep-sleeps and arms its wake-up sources."""

    def __init__(self, node, machine_mod, esp32_mod, board, clock, idle_ms=_IDLE_MS,
                 battery_grace_ms=_BATTERY_GRACE_MS, every_ms=_EVERY_MS):
        self.node = node
        self.machine = machine_mod
        self.esp32 = esp32_mod
        self.clock = clock
        self.idle_ms = idle_ms
        self.battery_grace_ms = battery_grace_ms
        self.every_ms = every_ms
        self.motion_pin, self.motion_mg, self.button_pin, self.button_low = wake_sources(board)
        now = clock.ticks_ms()
        self._central = False
        self._seen = now  # last time a central was connected (boot counts as one)
        self._stopped_at = None  # when the battery stop had finished, None: not stopped
        self.armed = []  # what the last sleep() armed, for the log and the tests
        self.reason = None

    def note_central(self, connected):
        """A central connected (True) or left (False); the idle time counts from its leaving."""
        self._central = connected
        self._seen = self.clock.ticks_ms()

    def due(self):
        """Why the board should sleep now (IDLE or BATTERY), or None."""
        clock = self.clock
        node = self.node
        now = clock.ticks_ms()
        if self._central or node.connected:
            self._seen = now
        if node.battery_stopped and not node.stopping:
            if self._stopped_at is None:
                self._stopped_at = now
            elif clock.ticks_diff(now, self._stopped_at) >= self.battery_grace_ms:
                return BATTERY
        if clock.ticks_diff(now, self._seen) >= self.idle_ms:
            return IDLE
        return None

    async def run(self, supervisor):
        while True:
            supervisor.beat("power")
            why = self.due()
            if why is not None:
                self.sleep(why)  # does not return on a board
            await sleep_ms(self.every_ms)

    def sleep(self, why=IDLE):
        """Arm the wake-up sources for why and enter deep sleep."""
        machine = self.machine
        esp32 = self.esp32
        imu = self.node.imu
        self.reason = why
        self.armed = []
        motion = why == IDLE and self.motion_pin is not None and imu is not None
        try:
            if motion:
                mg = imu.enable_wake_on_motion(self.motion_mg)
                pin = machine.Pin(self.motion_pin, machine.Pin.IN)
                if pin.value():  # an event latched while arming: clear it, or we wake at once
                    imu.clear_wake()
                esp32.wake_on_ext0(pin=pin, level=esp32.WAKEUP_ANY_HIGH)
                self.armed.append(("motion", self.motion_pin, mg))
            elif imu is not None:
                imu.power_down()
        except (OSError, ValueError):  # the IMU stopped answering: sleep on what is left
            self.armed = []
        if self.button_pin is not None:
            pin = machine.Pin(self.button_pin, machine.Pin.IN, machine.Pin.PULL_UP if self.button_low else None)
            level = esp32.WAKEUP_ALL_LOW if self.button_low else esp32.WAKEUP_ANY_HIGH
            esp32.wake_on_ext1(pins=(pin,), level=level)
            self.armed.append(("button", self.button_pin, 0))
        indicator = self.node.indicator
        if indicator is not None and hasattr(indicator, "set_led"):
            indicator.set_led(False)
        machine.deepsleep()
