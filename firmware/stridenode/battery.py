# Battery: voltage -> state of charge, low-battery warning and the orderly stop.
#
# BatteryMonitor is hardware-independent (tested on the host); AdcBattery reads the board's
# divider through machine.ADC and only exists on the board; FixedBattery stands in for tests
# and for boards without a battery (USB powered: battery_mv 0, 100 %, never low).

from stridewire import const


_STOP_READINGS = const(3)  # consecutive readings below stop_mv before stopping (load spikes)

# A single-cell LiPo under light load: (mV, %) from full to empty, linear in between.
_LIPO_CURVE = ((4200, 100), (4100, 90), (4000, 78), (3900, 64), (3800, 48), (3750, 38), (3700, 25),
               (3650, 15), (3600, 9), (3500, 4), (3400, 2), (3300, 0))


def percent(mv, full_mv=4200, empty_mv=3300):
    """State of charge (0..100) of a LiPo cell at mv, scaled to the board's full and empty."""
    if mv <= 0:
        return 0
    # map the board's range onto the nominal 4200..3300 curve
    mv = 3300 + (mv - empty_mv) * 900 // (full_mv - empty_mv)
    if mv >= _LIPO_CURVE[0][0]:
        return 100
    prev_mv, prev_pct = _LIPO_CURVE[0]
    for point_mv, point_pct in _LIPO_CURVE[1:]:
        if mv >= point_mv:
            return point_pct + (mv - point_mv) * (prev_pct - point_pct) // (prev_mv - point_mv)
        prev_mv, prev_pct = point_mv, point_pct
    return 0


class FixedBattery:
    """A battery whose voltage tests (or a USB-powered board, mv=0) set directly."""

    def __init__(self, mv=0):
        self.mv = mv

    def read_mv(self):
        return self.mv


class AdcBattery:
    """The board's battery divider on an ADC pin (ESP32-S3: 0..3.1 V with 11 dB attenuation)."""

    def __init__(self, config):
        from machine import ADC, Pin

        self._adc = ADC(Pin(config["adc_pin"]), atten=ADC.ATTN_11DB)
        self._divider_x100 = int(config.get("divider", 2.0) * 100)

    def read_mv(self):
        total = 0
        for _ in range(8):
            total += self._adc.read_uv() // 1000
        return total // 8 * self._divider_x100 // 100


class BatteryMonitor:
    """Smoothed voltage, percentage and the low / stop decisions for one board."""

    def __init__(self, battery, config):
        self.battery = battery
        self.config = config  # the board file's "battery" object, or None (USB powered)
        self.mv = 0
        self.pct = 100
        self.low = False
        self.stop = False
        self._below_stop = 0

    def update(self):
        """Read once (call about once a second); return True when the state changed."""
        if self.config is None or self.battery is None:
            return False
        mv = self.battery.read_mv()
        if mv <= 0:
            return False
        self.mv = mv if self.mv == 0 else (self.mv * 3 + mv) // 4
        cfg = self.config
        self.pct = percent(self.mv, cfg["full_mv"], cfg["empty_mv"])
        changed = False
        if not self.low and self.mv < cfg["low_mv"]:
            self.low = True
            changed = True
        if mv < cfg["stop_mv"]:
            self._below_stop += 1
        else:
            self._below_stop = 0
        if not self.stop and self._below_stop >= _STOP_READINGS:
            self.stop = True
            changed = True
        return changed
