# Board files: pins, I2C bus, IMU, LED/buzzer and battery ADC of a reference build, as data.
#
# On the board they live in /lib/boards/<name>.json (next to /lib/stridenode/); in the source
# tree in firmware/boards/.  Both are found relative to this module, so one loader serves the
# board, the MicroPython tests and the host's virtual sensor.

import json

from stridewire import const


_IMU_MODELS = ("LSM6DSO32", "LSM6DSOX", "MPU6886")
_REQUIRED = ("name", "i2c", "imu")
# Deep sleep wakes only from RTC GPIOs: on the ESP32-S3 GPIO0-GPIO21 (ESP32-S3 datasheet, RTC IO
# MUX).  A wake pin outside them would leave the board asleep for good.
_RTC_GPIO_LAST = {"ESP32-S3": 21}
_WAKE_MG = (16, 1000)  # motion thresholds both IMUs can hold (MPU6886: 4 mg steps up to 1020)


class BoardError(ValueError):
    """A board file that is missing, unreadable or inconsistent; str() names the problem."""


def _boards_dir():
    here = __file__.replace("\\", "/")
    pkg = here[: here.rfind("/")] if "/" in here else "."
    parent = pkg[: pkg.rfind("/")] if "/" in pkg else "."
    return parent + "/boards"


def board_names():
    """Names of the board files available."""
    import os

    try:
        return sorted(n[:-5] for n in os.listdir(_boards_dir()) if n.endswith(".json"))
    except OSError:
        return []


def load_board(name):
    """The board description (a dict) of board file <name>.json, checked; raises BoardError."""
    if isinstance(name, dict):
        board = name
    else:
        path = _boards_dir() + "/" + name + ".json"
        try:
            with open(path) as f:
                board = json.load(f)
        except OSError:
            raise BoardError("no board file %s (known: %s)" % (path, ", ".join(board_names()) or "none"))
        except ValueError as e:
            raise BoardError("board file %s is not valid JSON (%s)" % (path, e))
    check_board(board)
    return board


def check_board(board):
    """Raise BoardError if a board description lacks what the firmware needs."""
    if not isinstance(board, dict):
        raise BoardError("a board description must be a JSON object")
    for key in _REQUIRED:
        if key not in board:
            raise BoardError("board %s: missing key %r" % (board.get("name", "?"), key))
    name = board["name"]
    i2c = board["i2c"]
    for key in ("id", "sda", "scl", "freq"):
        if not isinstance(i2c.get(key), int):
            raise BoardError("board %s: i2c.%s must be an integer" % (name, key))
    imu = board["imu"]
    models = imu.get("models")
    if not models or any(m not in _IMU_MODELS for m in models):
        raise BoardError("board %s: imu.models must list some of %s" % (name, ", ".join(_IMU_MODELS)))
    addresses = imu.get("addresses")
    if not addresses or any(not isinstance(a, int) or not 0 < a < 128 for a in addresses):
        raise BoardError("board %s: imu.addresses must be 7-bit I2C addresses" % name)
    for key in ("accel_g", "gyro_dps", "rate_hz"):
        if not isinstance(imu.get(key), int):
            raise BoardError("board %s: imu.%s must be an integer" % (name, key))
    if imu["accel_g"] not in (2, 4, 8, 16, 32):
        raise BoardError("board %s: imu.accel_g must be 2, 4, 8, 16 or 32" % name)
    if imu["gyro_dps"] not in (125, 250, 500, 1000, 2000):
        raise BoardError("board %s: imu.gyro_dps must be 125, 250, 500, 1000 or 2000" % name)
    battery = board.get("battery")
    if battery is not None:
        for key in ("adc_pin", "full_mv", "empty_mv", "low_mv", "stop_mv"):
            if not isinstance(battery.get(key), int):
                raise BoardError("board %s: battery.%s must be an integer" % (name, key))
        if not battery["full_mv"] > battery["low_mv"] > battery["stop_mv"] >= battery["empty_mv"]:
            raise BoardError("board %s: battery thresholds must satisfy full > low > stop >= empty" % name)
    _check_wake(board, name)
    return board


def _check_rtc(board, name, pin, what):
    mcu = board.get("mcu", "ESP32-S3")
    last = _RTC_GPIO_LAST.get(mcu)
    if not isinstance(pin, int):
        raise BoardError("board %s: %s must be a GPIO number" % (name, what))
    if last is not None and not 0 <= pin <= last:
        raise BoardError("board %s: %s is GPIO%d, not an RTC GPIO (%s: GPIO0-GPIO%d), so it cannot wake "
                         "the board from deep sleep" % (name, what, pin, mcu, last))


def _check_wake(board, name):
    """"wake": {"motion": bool, "motion_mg": int, "button": bool}: which pins wake the board from
    deep sleep: the IMU's interrupt (imu.int1) and/or the button (button.pin)."""
    wake = board.get("wake")
    if wake is None:
        return
    if not isinstance(wake, dict):
        raise BoardError("board %s: wake must be an object" % name)
    for key in ("motion", "button"):
        if not isinstance(wake.get(key, False), bool):
            raise BoardError("board %s: wake.%s must be true or false" % (name, key))
    if wake.get("motion"):
        if board["imu"].get("int1") is None:
            raise BoardError("board %s: wake.motion needs imu.int1, the GPIO wired to the IMU's interrupt pin" % name)
        _check_rtc(board, name, board["imu"]["int1"], "imu.int1")
        mg = wake.get("motion_mg", 150)
        if not isinstance(mg, int) or not _WAKE_MG[0] <= mg <= _WAKE_MG[1]:
            raise BoardError("board %s: wake.motion_mg must be an integer from %d to %d" % (name, _WAKE_MG[0], _WAKE_MG[1]))
    if wake.get("button"):
        button = board.get("button")
        if not button:
            raise BoardError("board %s: wake.button needs a button" % name)
        _check_rtc(board, name, button.get("pin"), "button.pin")
