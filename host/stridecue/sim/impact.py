"""The impact at initial contact and the soft tissue under the strap ringing after it.

Apart from the sensor that adds it (sensor.py) so that the body of a runner (bodies.Body: strike pattern,
soft-tissue frequency and damping) can shape it.  The shapes have zero integral: the sensor shakes,
it is not carried anywhere (the landing's net deceleration is in the kinematics).
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np

from stridecue.sim.kinematics import smootherstep

IMPACT_SPAN = 0.25  # s, the transient has died out after this


class ImpactShape(NamedTuple):
    """How the landing's shock reaches one sensor (per mount, per body)."""

    attenuation: float  # share of the shin's bone shock that reaches this segment
    width_s: float  # width of the bone pulse (s)
    delay_s: float  # from contact to the pulse's start (s)
    tissue_hz: float  # soft-tissue ringing frequency (Hz)
    tissue_decay_s: float  # its exponential decay time (s)
    tissue_gain: float  # its acceleration, g per g of bone shock
    tissue_axial: float  # share of the ringing along the long axis
    tissue_dps: float  # its rotation, deg/s per g of bone shock

    @property
    def peak_s(self) -> float:
        """When the bone pulse peaks, s after contact."""
        return self.delay_s + (2.0 - math.sqrt(2.0)) * self.width_s


# The model's standard shapes (the default body's).  The thigh's bone shock is half the shin's, but
# the mass of muscle under a thigh strap swings across the bone after it (grouvel2023's thigh IMUs:
# 99th percentile of |a| about the shin's).
STANDARD = {
    "shin": ImpactShape(1.0, 0.02, 0.004, 18.0, 0.05, 0.35, 0.5, 7.0),
    "thigh": ImpactShape(0.5, 0.024, 0.006, 11.0, 0.08, 1.0, 0.3, 12.0),
}


def impact_shape(body, mount: str) -> ImpactShape:
    """The shape of a body's impact at a mount: the strike pattern sets the bone pulse's width (a
    forefoot landing has no sharp transient), the body's soft tissue its ringing."""
    base = STANDARD[mount]
    if body is None:
        return base
    hz = body.shin_tissue_hz if mount == "shin" else body.thigh_tissue_hz
    return base._replace(width_s=base.width_s * body.impact_width_scale, tissue_hz=hz,
                         tissue_decay_s=base.tissue_decay_s * body.tissue_decay_scale,
                         tissue_gain=base.tissue_gain * body.tissue_gain_scale,
                         tissue_dps=base.tissue_dps * body.tissue_gain_scale)


def pulse(tau: np.ndarray, width: float) -> np.ndarray:
    """The shock at contact: d/dtau [tau^2 exp(-tau/width)], a pulse peaking (2 - sqrt 2) width after
    its start followed by a rebound, normalised to a peak of 1.  Its integral is zero."""
    x = np.minimum(np.maximum(tau, 0.0), IMPACT_SPAN)
    x_pk = (2.0 - math.sqrt(2.0)) * width
    peak = math.exp(-x_pk / width) * (2 * x_pk - x_pk * x_pk / width)
    return np.exp(-x / width) * (2 * x - x * x / width) / peak * (tau < IMPACT_SPAN)


@functools.lru_cache(maxsize=256)
def _vibration_peak(freq: float, decay: float) -> float:
    x = np.linspace(0.0, 4.0 / freq, 4001)
    return float(np.max(np.abs(_vibration_raw(x, freq, decay))))


def _vibration_raw(x, freq, decay):
    w = math.pi * freq
    return np.exp(-x / decay) * (w * np.sin(2 * w * x) - np.sin(w * x) ** 2 / decay)


def vibration(tau: np.ndarray, freq: float, decay: float) -> np.ndarray:
    """Soft-tissue ringing after contact: d/dtau [exp(-tau/decay) sin^2(pi freq tau) fade(tau)], peak
    1, zero integral (the tissue swings about the bone and comes back).  fade takes the tail smoothly
    to zero over the last 40 % of the transient's span: cutting it off would leave a step."""
    x = np.minimum(np.maximum(tau, 0.0), IMPACT_SPAN)
    a, b = 0.6 * IMPACT_SPAN, 0.4 * IMPACT_SPAN
    u = np.clip((x - a) / b, 0.0, 1.0)
    fade = 1.0 - smootherstep(u)
    dfade = -30.0 * u * u * (1.0 - u) ** 2 / b
    envelope = np.exp(-x / decay) * np.sin(math.pi * freq * x) ** 2
    return (_vibration_raw(x, freq, decay) * fade + envelope * dfade) / _vibration_peak(freq, decay)
