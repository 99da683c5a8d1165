# Stand-in for MicroPython's `esp32` module: the deep-sleep wake sources, recorded so a test can
# see what the firmware armed before machine.deepsleep().
# Not deployed to boards: the tests and `stridecue bench` put firmware/sim/ on the path.

WAKEUP_ALL_LOW = False
WAKEUP_ANY_HIGH = True

wake = {"ext0": None, "ext1": None}


def wake_on_ext0(pin, level):
    wake["ext0"] = (pin.id if hasattr(pin, "id") else pin, level)


def wake_on_ext1(pins, level):
    wake["ext1"] = (tuple(p.id if hasattr(p, "id") else p for p in pins), level)
