"""Power: the IMUs' motion wake-up against the simulated registers (the INT line rises for motion
above the threshold, not below), the PowerManager's sleep decisions and wake sources with
stand-in machine/esp32 modules, the 240 MHz clock, the board files' wake keys, and all of it
once more in real MicroPython."""

from __future__ import annotations

import asyncio
import types

import pytest

from mpy import run_micropython
from stridenode.boards import BoardError, check_board, load_board
from stridenode.imu import LSM6DSO, MPU6886, new_sample_buffer, probe
from stridenode.node import SensorNode
from stridenode.power import BATTERY, IDLE, PowerManager, set_cpu_clock
from stridenode.sim_i2c import ManualClock, SimI2C, SimLSM6DSO, SimMPU6886, make_device
from stridenode.tasks import Supervisor

STILL = (0.0, 0.0, 1.0, 0.0, 0.0, 0.0)


def shaken(dz):
    return (0.0, 0.0, 1.0 + dz, 0.0, 0.0, 0.0)


# -- the drivers and the simulated parts ---------------------------------------------------

@pytest.mark.parametrize("model", ["LSM6DSO32", "LSM6DSOX"])
def test_lsm6dso_wake_up_registers(model):
    dev = SimLSM6DSO(model)
    imu = LSM6DSO(SimI2C([dev]), 0x6A, model)
    imu.configure(416, 16, 2000)
    mg = imu.enable_wake_on_motion(150)
    r = dev.regs
    assert r[0x11] == 0x00  # CTRL2_G: gyro off
    assert r[0x10] == 0x20  # CTRL1_XL: 26 Hz, FS code 00
    assert r[0x15] & 0x10  # CTRL6_C XL_HM_MODE: low-power accelerometer
    assert r[0x0A] & 0x07 == 0  # FIFO bypass
    assert r[0x58] & 0x80 and r[0x5E] & 0x20  # TAP_CFG2 INTERRUPTS_ENABLE, MD1_CFG INT1_WU
    assert r[0x56] & 0x01  # LIR: the level stays until WAKE_UP_SRC is read
    assert r[0x5C] & 0x10  # WAKE_THS_W: the fine threshold step
    fs = 2000 if model == "LSM6DSOX" else 4000
    assert r[0x5B] & 0x3F == round(75 * 256 / fs) and abs(mg - 150) <= fs / 128
    assert imu.rate == 0


@pytest.mark.parametrize("make", [lambda: SimLSM6DSO("LSM6DSO32"), lambda: SimLSM6DSO("LSM6DSOX"), lambda: SimMPU6886()],
                         ids=["LSM6DSO32", "LSM6DSOX", "MPU6886"])
def test_motion_above_the_threshold_raises_int_and_below_does_not(make):
    dev = make()
    board = {"imu": {"models": [dev.model], "addresses": [dev.address]}}
    imu = probe(SimI2C([dev]), board)
    imu.configure(200 if dev.model == "MPU6886" else 416, 16, 2000)
    imu.enable_wake_on_motion(200)
    for _ in range(5):
        dev.push(*STILL)
    assert dev.int1 == 0
    for k in range(21):  # 150 mg changes: below 200 mg (ends on a still sample)
        dev.push(*shaken(0.15 if k % 2 else 0.0))
    assert dev.int1 == 0 and dev.wake_events == 0
    dev.push(*shaken(0.35))  # a 350 mg change
    assert dev.int1 == 1 and dev.wake_events == 1
    for _ in range(5):
        dev.push(*shaken(0.35))
    assert dev.int1 == 1  # latched: the level an RTC pin wakes on stays until it is read
    assert imu.clear_wake() is True
    assert dev.int1 == 0 and imu.clear_wake() is False


@pytest.mark.parametrize("make", [lambda: SimLSM6DSO("LSM6DSO32"), lambda: SimMPU6886()], ids=["LSM6DSO32", "MPU6886"])
def test_no_wake_up_unless_armed_and_configure_returns_to_sampling(make):
    dev = make()
    board = {"imu": {"models": [dev.model], "addresses": [dev.address]}}
    imu = probe(SimI2C([dev]), board)
    rate = imu.configure(200 if dev.model == "MPU6886" else 416, 16, 2000)
    for dz in (0.0, 2.0, 0.0, 3.0):  # big motion while sampling: the wake-up is not armed
        dev.push(*shaken(dz))
    assert dev.int1 == 0
    imu.enable_wake_on_motion(100)
    dev.push(*STILL)
    dev.push(*shaken(1.0))
    assert dev.int1 == 1
    assert imu.configure(rate, 16, 2000) == rate  # after a wake: the reset clears INT and the FIFO runs
    assert dev.int1 == 0
    out = new_sample_buffer(8)
    for _ in range(4):
        dev.push(*STILL)
    assert imu.read(out, 8) == 4


def test_mpu6886_wake_on_motion_registers():
    dev = SimMPU6886()
    imu = MPU6886(SimI2C([dev]), 0x68)
    imu.configure(200, 16, 2000)
    assert imu.enable_wake_on_motion(150) == 152
    r = dev.regs
    assert r[0x20] == r[0x21] == r[0x22] == 38  # ACCEL_WOM_X/Y/Z_THR, 4 mg per LSB
    assert r[0x69] == 0xC0  # ACCEL_INTEL_EN, ACCEL_INTEL_MODE
    assert r[0x38] == 0xE0  # INT_ENABLE: WOM on X, Y, Z
    assert r[0x37] == 0x20  # active high, push-pull, latched
    assert r[0x6B] == 0x21 and r[0x6C] == 0x07  # cycle mode, gyro in standby
    assert r[0x6A] & 0x40 == 0  # FIFO off
    assert imu.enable_wake_on_motion(5000) == 1020 and imu.enable_wake_on_motion(0) == 4


def test_power_down_leaves_the_parts_asleep():
    st = SimLSM6DSO("LSM6DSO32")
    imu = LSM6DSO(SimI2C([st]), 0x6A, "LSM6DSO32")
    imu.configure(416, 32, 2000)
    imu.power_down()
    assert not st.accel_on and not st.gyro_on
    mpu = SimMPU6886()
    imu = MPU6886(SimI2C([mpu]), 0x68)
    imu.configure(200, 16, 2000)
    imu.power_down()
    assert not mpu.awake


# -- board files ---------------------------------------------------------------------------

def test_board_files_name_their_wake_pins_and_bad_ones_are_refused():
    xiao = load_board("esp32s3_lsm6dso32")
    assert xiao["wake"]["motion"] is True and xiao["imu"]["int1"] == 3
    atom = load_board("atoms3_mpu6886")
    assert atom["wake"] == {"motion": False, "button": False}
    with pytest.raises(BoardError, match="GPIO41, not an RTC GPIO"):
        check_board(dict(atom, wake={"motion": False, "button": True}))
    with pytest.raises(BoardError, match="wake.motion needs imu.int1"):
        check_board(dict(atom, wake={"motion": True}))
    with pytest.raises(BoardError, match="imu.int1 is GPIO33, not an RTC GPIO"):
        check_board(dict(xiao, imu=dict(xiao["imu"], int1=33)))
    with pytest.raises(BoardError, match="wake.motion_mg"):
        check_board(dict(xiao, wake={"motion": True, "motion_mg": 5000}))
    with pytest.raises(BoardError, match="wake.button needs a button"):
        check_board(dict(xiao, wake={"button": True}))
    with pytest.raises(BoardError, match="wake.motion must be true or false"):
        check_board(dict(xiao, wake={"motion": 1}))


# -- the PowerManager ----------------------------------------------------------------------

class Asleep(Exception):
    pass


def stand_ins(pin_levels=None):
    """machine and esp32 stand-ins recording what sleep() arms."""
    calls = []
    levels = pin_levels or {}
    machine = types.SimpleNamespace()

    class Pin:
        IN = 1
        OUT = 2
        PULL_UP = 3

        def __init__(self, pin, mode=None, pull=None):
            self.pin = pin
            self.pull = pull

        def value(self, v=None):
            return levels.get(self.pin, lambda: 0)()

    def deepsleep(ms=None):
        calls.append(("deepsleep", ms))
        raise Asleep()

    machine.Pin = Pin
    machine.deepsleep = deepsleep
    machine.hz = 160_000_000

    def freq(hz=None):
        if hz is None:
            return machine.hz
        calls.append(("freq", hz))
        machine.hz = hz

    machine.freq = freq
    esp32 = types.SimpleNamespace(WAKEUP_ALL_LOW=False, WAKEUP_ANY_HIGH=True)
    esp32.wake_on_ext0 = lambda pin, level: calls.append(("ext0", pin.pin, level))
    esp32.wake_on_ext1 = lambda pins, level: calls.append(("ext1", tuple(p.pin for p in pins), level))
    return machine, esp32, calls


def make_node(board_name="esp32s3_lsm6dso32", battery=None):
    board = load_board(board_name)
    dev = make_device(board)
    clock = ManualClock()
    node = SensorNode(SimI2C([dev]), clock, board, seed=3, battery=battery)
    return node, dev, clock, board


def advance(clock, ms):
    clock.advance_us(ms * 1000)


def test_set_cpu_clock_runs_at_240_mhz():
    machine, _, calls = stand_ins()
    assert set_cpu_clock(machine) == 240_000_000 and calls == [("freq", 240_000_000)]
    assert set_cpu_clock(machine) == 240_000_000 and calls == [("freq", 240_000_000)]  # already there

    def refuses(hz=None):
        raise ValueError("frequency must be 20MHz, 40MHz, 80Mhz, 160MHz or 240MHz")

    assert set_cpu_clock(types.SimpleNamespace(freq=refuses)) == 0  # the boot goes on


def test_idle_five_minutes_without_a_central_sleeps_with_motion_and_the_int_pin_armed():
    node, dev, clock, board = make_node()
    machine, esp32, calls = stand_ins()
    power = PowerManager(node, machine, esp32, board, clock)
    advance(clock, 299_000)
    assert power.due() is None
    advance(clock, 1_000)
    assert power.due() == IDLE
    with pytest.raises(Asleep):
        power.sleep(IDLE)
    assert ("ext0", 3, True) in calls and calls[-1] == ("deepsleep", None)
    assert not any(c[0] == "ext1" for c in calls)  # no button on this build
    assert power.armed[0][:2] == ("motion", 3)
    assert dev.regs[0x5E] & 0x20 and dev.regs[0x58] & 0x80  # the IMU's wake-up is armed
    dev.push(*STILL)
    dev.push(*shaken(0.5))
    assert dev.int1 == 1  # motion would wake the board


def test_a_central_keeps_the_board_awake_and_the_idle_time_counts_from_its_leaving():
    node, dev, clock, board = make_node()
    machine, esp32, calls = stand_ins()
    power = PowerManager(node, machine, esp32, board, clock)
    advance(clock, 200_000)
    node.on_connect(247)
    assert power.due() is None
    advance(clock, 600_000)  # connected for 10 minutes
    assert power.due() is None
    node.on_disconnect()
    advance(clock, 299_000)
    assert power.due() is None
    advance(clock, 1_000)
    assert power.due() == IDLE
    # note_central(): the same for a caller that sees connections itself
    power.note_central(True)
    advance(clock, 400_000)
    assert power.due() is None
    power.note_central(False)
    advance(clock, 300_000)
    assert power.due() == IDLE


def test_run_beats_and_sleeps_when_due():
    node, dev, clock, board = make_node()
    machine, esp32, calls = stand_ins()
    power = PowerManager(node, machine, esp32, board, clock, idle_ms=3000, every_ms=1)
    sup = Supervisor(clock)
    beats = []
    real_beat = sup.beat
    sup.beat = lambda name: (beats.append(name), real_beat(name))

    async def go():
        for _ in range(2):
            await asyncio.sleep(0)
        task = asyncio.create_task(power.run(sup))
        await asyncio.sleep(0.01)
        assert not any(c[0] == "deepsleep" for c in calls)
        advance(clock, 3000)
        with pytest.raises(Asleep):
            await asyncio.wait_for(task, 1)

    asyncio.run(go())
    assert "power" in beats and calls[-1] == ("deepsleep", None)


def test_low_battery_stop_tells_the_host_then_sleeps_on_the_button_only():
    import stridewire as sw
    from stridenode.battery import FixedBattery

    battery = FixedBattery(3900)
    node, dev, clock, board = make_node(battery=battery)
    board = dict(board, button={"pin": 0, "active_low": True}, wake={"motion": True, "button": True})
    check_board(board)
    machine, esp32, calls = stand_ins()
    power = PowerManager(node, machine, esp32, board, clock, battery_grace_ms=10_000)
    node.on_connect(247)
    node.handle_control(sw.pack_control(sw.OP_START, 1), True)
    for _ in range(100):
        for _ in range(4):
            dev.push(*STILL)
        advance(clock, 10)
        node.service()
        while node.next_packet() is not None:
            pass
    battery.mv = 3300  # below stop_mv
    for _ in range(2000):
        for _ in range(4):
            dev.push(*STILL)
        advance(clock, 10)
        node.service()
        while node.next_packet() is not None:
            pass
        assert power.due() != IDLE  # the central is still there
        if node.battery_stopped and not node.stopping:
            break
    assert node.battery_stopped and not node.stopping and not node.streaming
    assert power.due() is None  # the grace: the host reads the BATTERY_STOP status
    advance(clock, 10_000)
    assert power.due() == BATTERY
    with pytest.raises(Asleep):
        power.sleep(BATTERY)
    assert ("ext1", (0,), False) in calls  # the button, active low
    assert not any(c[0] == "ext0" for c in calls)  # no motion wake on a flat battery
    assert not dev.accel_on and not dev.gyro_on  # the IMU powered down
    assert power.armed == [("button", 0, 0)]


def test_atoms3_sleeps_without_arming_a_pin_it_cannot_wake_on():
    node, dev, clock, board = make_node("atoms3_mpu6886")
    machine, esp32, calls = stand_ins()
    power = PowerManager(node, machine, esp32, board, clock)
    advance(clock, 300_000)
    assert power.due() == IDLE
    with pytest.raises(Asleep):
        power.sleep(power.due())
    assert [c[0] for c in calls] == ["deepsleep"]  # GPIO41 and an unwired INT cannot wake it
    assert not dev.awake  # the MPU6886 powered down


def test_a_latched_event_while_arming_is_cleared_so_the_board_does_not_wake_at_once():
    node, dev, clock, board = make_node()
    cleared = []
    machine, esp32, calls = stand_ins({3: lambda: dev.int1})
    imu = node.imu
    real = imu.enable_wake_on_motion

    def arm_then_bump(mg):
        got = real(mg)
        dev.push(*STILL)
        dev.push(*shaken(1.0))  # the runner moved while the part was being armed
        return got

    imu.enable_wake_on_motion = arm_then_bump
    real_clear = imu.clear_wake
    imu.clear_wake = lambda: cleared.append(real_clear()) or cleared[-1]
    power = PowerManager(node, machine, esp32, board, clock)
    with pytest.raises(Asleep):
        power.sleep(IDLE)
    assert cleared == [True] and dev.int1 == 0


def test_an_imu_that_stops_answering_does_not_keep_the_board_awake():
    node, dev, clock, board = make_node()
    node.i2c.devices.clear()  # the IMU is gone
    machine, esp32, calls = stand_ins()
    power = PowerManager(node, machine, esp32, board, clock)
    with pytest.raises(Asleep):
        power.sleep(IDLE)
    assert power.armed == [] and calls[-1] == ("deepsleep", None)


# -- the same in MicroPython ----------------------------------------------------------------

def test_wake_up_and_power_manager_in_micropython():
    code = r"""
from stridenode.boards import load_board
from stridenode.imu import probe
from stridenode.node import SensorNode
from stridenode.power import PowerManager, set_cpu_clock, IDLE
from stridenode.sim_i2c import ManualClock, SimI2C, SimLSM6DSO, SimMPU6886, make_device

for dev in (SimLSM6DSO("LSM6DSO32"), SimLSM6DSO("LSM6DSOX"), SimMPU6886()):
    imu = probe(SimI2C([dev]), {"imu": {"models": [dev.model], "addresses": [dev.address]}})
    imu.configure(200 if dev.model == "MPU6886" else 416, 16, 2000)
    imu.enable_wake_on_motion(200)
    dev.push(0.0, 0.0, 1.0, 0.0, 0.0, 0.0)
    dev.push(0.0, 0.0, 1.15, 0.0, 0.0, 0.0)
    low = dev.int1
    dev.push(0.0, 0.0, 1.5, 0.0, 0.0, 0.0)
    print(dev.model, low, dev.int1, imu.clear_wake(), dev.int1)

class Pin:
    IN = 1
    PULL_UP = 3
    def __init__(self, pin, mode=None, pull=None):
        self.pin = pin
    def value(self):
        return 0

class Machine:
    Pin = Pin
    hz = 160000000
    slept = 0
    def freq(self, hz=None):
        if hz is None:
            return self.hz
        self.hz = hz
    def deepsleep(self, ms=None):
        self.slept += 1

class Esp32:
    WAKEUP_ALL_LOW = False
    WAKEUP_ANY_HIGH = True
    armed = []
    def wake_on_ext0(self, pin, level):
        self.armed.append(("ext0", pin.pin, level))
    def wake_on_ext1(self, pins, level):
        self.armed.append(("ext1", pins[0].pin, level))

m = Machine()
e = Esp32()
print("clock", set_cpu_clock(m))
board = load_board("esp32s3_lsm6dso32")
dev = make_device(board)
clock = ManualClock()
node = SensorNode(SimI2C([dev]), clock, board, seed=1)
power = PowerManager(node, m, e, board, clock)
clock.advance_us(299000000)
print("due", power.due())
clock.advance_us(1000000)
why = power.due()
power.sleep(why)
print("sleep", why, m.slept, e.armed)
"""
    out = run_micropython(code).split("\n")
    assert "LSM6DSO32 0 1 True 0" in out and "LSM6DSOX 0 1 True 0" in out and "MPU6886 0 1 True 0" in out
    assert "clock 240000000" in out and "due None" in out
    assert "sleep idle 1 [('ext0', 3, True)]" in out
