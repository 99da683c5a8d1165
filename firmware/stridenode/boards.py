# Board files: pins, I2C bus, IMU, LED/buzzer and battery ADC of a reference build, as data.
#
# On the board they live in /lib/boards/<name>.json (next to /lib/stridenode/); in the source
# tree in firmware/boards/.  Both are found relative to this module, so one loader serves the
# board, the MicroPython tests and the host's virtual sensor.

import json

try:
    from micropython import const
except ImportError:

    def const(value):
        return value


_IMU_MODELS = ("LSM6DSO32", "LSM6DSOX", "MPU6886")
_REQUIRED = ("name", "i2c", "imu")


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
    return board
