"""A finger tapping the sensor's case: what a runner does to end a run without touching the host.

A tap is a short knock on the case, felt by the accelerometer as a damped ring along the axis
normal to the board (its z axis) and by the gyro as a small jolt.  Each tap's strength, ring
frequency and decay are drawn from wide ranges (not from what the detector looks for): a light
tap through a strap to a firm knock on a bare case.
"""

from __future__ import annotations

import math

import numpy as np

TAP_PEAK_G = (2.0, 7.0)
TAP_RING_HZ = (50.0, 170.0)
TAP_DECAY_S = (0.004, 0.014)
TAP_JOLT_DPS = (3.0, 25.0)
TAP_SPAN_S = 0.08  # after this the ring is below a thousandth of its peak


class Taps:
    """The taps at run times `times_s` (seconds), each with its own strength, ring and decay."""

    def __init__(self, times_s, seed: int = 0):
        self.times_s = tuple(sorted(float(t) for t in times_s))
        rng = np.random.default_rng([int(seed), 71])
        n = len(self.times_s)
        self.peak_g = rng.uniform(*TAP_PEAK_G, n)
        self.ring_hz = rng.uniform(*TAP_RING_HZ, n)
        self.decay_s = rng.uniform(*TAP_DECAY_S, n)
        self.jolt_dps = rng.uniform(*TAP_JOLT_DPS, n) * rng.choice((-1.0, 1.0), n)
        self.sign = rng.choice((-1.0, 1.0), n)  # knocked on the face or on the back

    def add(self, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> None:
        """Add the taps' ring to acc (g) and their jolt to gyr (dps), both in the board frame, at times t."""
        if not self.times_s or len(t) == 0:
            return
        for k, t0 in enumerate(self.times_s):
            near = (t >= t0) & (t < t0 + TAP_SPAN_S)
            if not np.any(near):
                continue
            tau = t[near] - t0
            envelope = np.exp(-tau / self.decay_s[k])
            acc[near, 2] += self.sign[k] * self.peak_g[k] * envelope * np.sin(2 * math.pi * self.ring_hz[k] * tau + 0.5)
            gyr[near, 0] += self.jolt_dps[k] * envelope
