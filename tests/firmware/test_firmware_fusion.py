"""The board's orientation against the reference implementation (imufusion, x-io Fusion) on the
same virtual-runner samples, as the host receives them; stillness bias estimation; tilt start."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from stridecue.lab.bench.firmware import orientation_differences, reference_quaternions, stream_through_node
from stridecue.sim import RunnerSettings, VirtualRunner
from stridenode.fusion import Fusion

import imufusion  # noqa: E402  (pyproject [test]: a missing reference fails, never skips)


@pytest.mark.parametrize("mount", ["shin", "thigh"])
def test_orientation_matches_imufusion_on_a_virtual_run(mount):
    runner = VirtualRunner(RunnerSettings(), seed=5)
    stream = runner.sensor(leg="right", mount=mount, rotation="random")
    chunk = stream.read(int(120 * 416))
    block, node = stream_through_node([(chunk.acc, chunk.gyr)])
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
