"""The board's orientation against the reference implementation (imufusion, x-io Fusion) on the
same virtual-runner samples, as the host receives them; stillness bias estimation; tilt start."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

import stridewire as sw
from stridecue.decoder import decode_data
from stridecue.samples import SampleBlock
from stridecue.sim import RunnerSettings, VirtualRunner
from stridenode.boards import load_board
from stridenode.fusion import Fusion
from stridenode.node import SensorNode
from stridenode.sim_i2c import ManualClock, SimI2C, make_device

imufusion = pytest.importorskip("imufusion")


def stream_through_node(acc, gyr, board_name="esp32s3_lsm6dso32"):
    """Feed samples (g, dps) through the simulated IMU and the node; the host's decoded block."""
    board = load_board(board_name)
    dev = make_device(board)
    clock = ManualClock()
    node = SensorNode(SimI2C([dev]), clock, board, seed=1)
    node.set_mtu(247)
    node.status()
    node.handle_control(sw.pack_control(sw.OP_START, 1), True)
    blocks = []
    push = dev.push
    for k, (a, g) in enumerate(zip(acc.tolist(), gyr.tolist())):
        push(a[0], a[1], a[2], g[0], g[1], g[2])
        if k % 12 == 11:
            clock.advance_us(12 * 1_000_000 // node.rate)
            node.service()
            while (p := node.next_packet()) is not None:
                blocks.append(decode_data(bytes(p)).block)
    return SampleBlock.concat(blocks), node


def reference_quaternions(block):
    """imufusion with its default AHRS settings (gain 0.5, no rejection) and its gyro bias estimator."""
    ahrs = imufusion.Ahrs()
    settings = imufusion.AhrsSettings()
    settings.sample_rate = block.rate
    ahrs.set_settings(settings)
    bias = imufusion.Bias()
    bias_settings = imufusion.BiasSettings()
    bias_settings.sample_rate = block.rate
    bias.set_settings(bias_settings)
    acc, gyr = block.acc, block.gyr
    out = np.empty((len(block), 4))
    for k in range(len(block)):
        ahrs.update_no_magnetometer(bias.update(gyr[k]), acc[k])
        out[k] = ahrs.get_quaternion()
    return out


def orientation_differences(block, qref, skip_s=3.0):
    """(tilt RMS, full RMS with heading aligned once at skip_s) in degrees."""
    qi = block.quat_index
    ours = Rotation.from_quat(block.quat[:, [1, 2, 3, 0]])
    ref = Rotation.from_quat(qref[qi][:, [1, 2, 3, 0]])
    keep = qi >= int(skip_s * block.rate)
    g1 = ours.inv().apply([0, 0, 1])
    g2 = ref.inv().apply([0, 0, 1])
    tilt = np.degrees(np.arccos(np.clip(np.sum(g1 * g2, axis=1), -1, 1)))[keep]
    k0 = int(np.argmax(keep))
    offset = ours[k0] * ref[k0].inv()  # heading is unobservable: align it once
    full = np.degrees(((offset * ref).inv() * ours).magnitude())[keep]
    return float(np.sqrt(np.mean(tilt**2))), float(np.sqrt(np.mean(full**2)))


@pytest.mark.parametrize("mount", ["shin", "thigh"])
def test_orientation_matches_imufusion_on_a_virtual_run(mount):
    runner = VirtualRunner(RunnerSettings(), seed=5)
    stream = runner.sensor(leg="right", mount=mount, rotation="random")
    chunk = stream.read(int(120 * 416))
    block, node = stream_through_node(chunk.acc, chunk.gyr)
    assert len(block) == len(chunk.acc) - len(chunk.acc) % 12
    tilt, full = orientation_differences(block, reference_quaternions(block))
    assert tilt < 1.0
    assert full < 2.0


def test_gyro_bias_is_learned_while_still():
    rate = 416
    fusion = Fusion(rate, 4, 32, 16)
    bias = (1.0, -0.5, 0.25)  # dps
    counts = [round(b / (2000 / 32768)) for b in bias]
    for k in range(40 * rate):
        fusion.add(0, 0, 1024, counts[0] + (k % 3) - 1, counts[1], counts[2])
        if k % 4 == 0:
            fusion.update()
    est = fusion.bias_dps()
    for e, c in zip(est, counts):
        assert e == pytest.approx(c * 2000 / 32768, abs=0.05)
    # with the bias known, standing still does not rotate the estimate
    w0 = (fusion.w, fusion.x, fusion.y, fusion.z)
    for k in range(10 * rate):
        fusion.add(0, 0, 1024, *counts)
        if k % 4 == 0:
            fusion.update()
    q0 = Rotation.from_quat([w0[1], w0[2], w0[3], w0[0]])
    q1 = Rotation.from_quat([fusion.x, fusion.y, fusion.z, fusion.w])
    assert np.degrees((q0.inv() * q1).magnitude()) < 0.3


@pytest.mark.parametrize("gravity", [(0, 0, 1), (1, 0, 0), (0, -0.6, 0.8), (0, 0, -1)])
def test_the_first_estimate_is_the_accelerometers_tilt(gravity):
    fusion = Fusion(416, 4, 32, 16)
    a = [round(v * 1024) for v in gravity]
    fusion.add(*a, 0, 0, 0)
    fusion.update()
    r = Rotation.from_quat([fusion.x, fusion.y, fusion.z, fusion.w])
    up_in_sensor = r.inv().apply([0, 0, 1])
    assert np.degrees(np.arccos(np.clip(np.dot(up_in_sensor, gravity) / np.linalg.norm(gravity), -1, 1))) < 0.2
