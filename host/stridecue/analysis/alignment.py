"""Alignment: the segment's frame in the board's frame, for a board strapped on in any orientation.

The segment frame used throughout the analysis is right-handed:

    x  anterior (the runner's forward direction)
    y  the runner's left
    z  the long axis L, distal -> proximal ("up" the segment)

Two observations fix it:

- gravity: while standing still the accelerometer reads +1 g along "up", and a shank or thigh of
  a standing runner is close to vertical, so the mean acceleration of a standstill is the long axis;
- the swing: in running and walking the shank and thigh rotate mostly in the sagittal plane, so the
  dominant axis of the angular rate (the principal axis of the gyro's second moment) is the
  medio-lateral axis.  Its sign: the forward swing (a positive rotation about the runner's right)
  is the fast, brief phase of the cycle, stance the slower one (`swing_sign`).

Without a standstill (a run that starts moving) the long axis comes from the vertical at initial
contact (the mean specific force over the gait cycle before it, see `cycle_vertical`) and the
segment's typical inclination at contact (`CONTACT_INCLINATION_DEG`, from the literature), so this
path is less certain and says so in `confidence`.

Leg side never changes the frame; it only decides which direction is medial (see `medial_sign`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Typical sagittal inclination of the segment's long axis from vertical, positive when the
# proximal end is ahead (degrees).  At initial contact of running the shank is about vertical and
# the hip flexed by about 25-30 deg, the knee ahead of the hip (Novacheck 1998, Gait Posture 7:77);
# at mid-stance the shank leans forward over the foot.
CONTACT_INCLINATION_DEG = {"shin": 2.0, "thigh": -28.0}
MIDSTANCE_INCLINATION_DEG = {"shin": 30.0, "thigh": -8.0}
# ... and while standing relaxed: a little knee flexion and ankle dorsiflexion put the knee slightly
# ahead of both the ankle and the hip.
STANDING_INCLINATION_DEG = {"shin": 5.0, "thigh": -5.0}
MIN_CONTACTS = 5  # initial contacts before the running posture takes over from a standstill

_ROTATION_OK_DPS = 120.0  # rms sagittal rate of a clear gait pattern
SWING_SHARE = 0.3  # shank: samples above this share of the swing peak give the medio-lateral axis


def medial_sign(leg: str) -> float:
    """+1 when medial is the segment's +y (left) direction: true for the right leg."""
    if leg not in ("left", "right"):
        raise ValueError(f"leg must be 'left' or 'right', not {leg!r}")
    return 1.0 if leg == "right" else -1.0


def knee_end_sign(mount: str) -> float:
    """+1 when the knee is the proximal end of the segment (shank), -1 when distal (thigh)."""
    if mount in ("shin", "shank"):
        return 1.0
    if mount == "thigh":
        return -1.0
    raise ValueError(f"mount must be 'shin' or 'thigh', not {mount!r}")


@dataclass(frozen=True)
class Alignment:
    """A board-to-segment rotation and how far to trust it.

    rotation: (3, 3) rows are the segment's x (anterior), y (left), z (long axis) in board
        coordinates, so `v_segment = rotation @ v_board`.
    confidence: 0..1 (1: a standstill and many consistent strides).
    method: "standstill+swing", "swing", "standstill" or "gravity" (accelerometer only).
    """

    rotation: np.ndarray
    confidence: float
    method: str

    def to_segment(self, v: np.ndarray) -> np.ndarray:
        """(n, 3) board-frame vectors -> segment frame."""
        return v @ self.rotation.T


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    if not np.isfinite(n) or n == 0.0:
        raise ValueError("zero vector")
    return v / n


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.array([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]])


def _rotate_about(v: np.ndarray, axis: np.ndarray, angle_rad: float) -> np.ndarray:
    axis = _unit(axis)
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    return v * c + _cross(axis, v) * s + axis * np.dot(axis, v) * (1 - c)


class AlignmentEstimator:
    """Accumulates standstill gravity, swing statistics and mid-stance specific force; estimates the frame.

    Parameters (set here, as in gaitmap): mount ("shin" or "thigh").
    Feed it with `add_standstill_sum(acc_sum, count)`, `add_motion(gyr)`, `add_contact_vertical(v)`,
    `add_midstance(acc)`; read `estimate()`.
    Results: `alignment_` (the last estimate, or None).
    """

    def __init__(self, mount: str = "shin"):
        knee_end_sign(mount)
        self.mount = mount
        self._still_sum = np.zeros(3)
        self._still_n = 0
        self._moment2 = np.zeros((3, 3))
        self._moment_n = 0
        self._cycles: list[np.ndarray] = []  # per-cycle gyro samples kept for the sign test
        self._midstance_sum = np.zeros(3)
        self._contact_sum = np.zeros(3)
        self._contact_n = 0
        self._midstance_n = 0
        self.right_hint: np.ndarray | None = None  # the runner's right, once the driver knows it
        self._swing_moment2 = np.zeros((3, 3))
        self._swing_n = 0
        self.alignment_: Alignment | None = None

    # -- feeding ------------------------------------------------------------------

    def add_standstill_sum(self, acc_sum: np.ndarray, count: int) -> None:
        self._still_sum += acc_sum
        self._still_n += count

    def gravity_hint(self) -> np.ndarray:
        """Mean standstill acceleration if any, else the mean mid-stance specific force."""
        if self._still_n:
            return self._still_sum / self._still_n
        if self._midstance_n:
            return self._midstance_sum / self._midstance_n
        return np.array([0.0, 0.0, 1.0])

    def add_motion(self, gyr: np.ndarray) -> None:
        """Board-frame gyro samples (deg/s) of whole gait cycles."""
        if len(gyr):
            self._moment2 += gyr.T @ gyr
            self._moment_n += len(gyr)
            self._cycles.append(np.asarray(gyr, float))
            if len(self._cycles) > 40:  # the sign test needs a few cycles, not the whole run
                self._cycles.pop(0)
            if self.right_hint is not None:
                self._add_swing(gyr, self.right_hint)

    def _add_swing(self, gyr: np.ndarray, right: np.ndarray) -> None:
        """The fast forward swing alone: the knee is nearly a hinge, so there the shank turns about
        the medio-lateral axis more purely than in stance (where wobble and twist go with it)."""
        w = gyr @ right
        top = np.percentile(w, 99) if len(w) > 20 else np.max(w)
        swing = gyr[w > SWING_SHARE * top] if top > 0 else gyr[:0]
        if len(swing):
            self._swing_moment2 += swing.T @ swing
            self._swing_n += len(swing)

    def add_contact_vertical(self, vertical: np.ndarray) -> None:
        """The unit vertical (board frame) at an initial contact."""
        self._contact_sum += vertical
        self._contact_n += 1

    def sign_agrees(self) -> bool:
        """Whether the gait cycles so far confirm `right_hint` as the runner's right."""
        if self.right_hint is None or not self._cycles:
            return True
        return swing_votes(np.concatenate(self._cycles) @ self.right_hint) > -3  # only a unanimous vote overturns

    def flip_hint(self) -> None:
        self.right_hint = -self.right_hint
        self._swing_moment2 = np.zeros((3, 3))  # the swing samples were chosen with the wrong sign
        self._swing_n = 0

    def add_midstance(self, acc: np.ndarray) -> None:
        """Board-frame specific force (g) around mid-stance."""
        if len(acc):
            self._midstance_sum += acc.sum(axis=0)
            self._midstance_n += len(acc)

    def has_standstill(self) -> bool:
        return self._still_n > 0

    def has_motion(self) -> bool:
        return self._moment_n > 0

    # -- estimating ---------------------------------------------------------------

    def swing_axis(self) -> tuple[np.ndarray, float] | None:
        """The runner's right in board coordinates and the share of rotation about it (0..1)."""
        if self._moment_n == 0:
            return None
        values, vectors = np.linalg.eigh(self._moment2 / self._moment_n)
        axis = vectors[:, 2]
        if self.mount != "thigh" and self._swing_n >= 20:
            axis = np.linalg.eigh(self._swing_moment2 / self._swing_n)[1][:, 2]
        if self.right_hint is not None:
            if axis @ self.right_hint < 0:
                axis = -axis
        else:
            axis = axis * swing_sign(np.concatenate(self._cycles) @ axis, self.mount)
        share = float(values[2] / max(values.sum(), 1e-12))
        rms = float(np.sqrt(values[2]))
        strength = min(1.0, rms / _ROTATION_OK_DPS)
        return axis, share * strength

    def estimate(self) -> Alignment | None:
        """The best frame from what has been fed so far (None when nothing is known)."""
        still = _unit(self._still_sum / self._still_n) if self._still_n else None
        swing = self.swing_axis()
        if swing is None:
            if still is None:
                return None
            # Gravity alone: the long axis is known, the heading around it is not.
            helper = np.eye(3)[int(np.argmin(np.abs(still)))]
            y = _unit(np.cross(still, helper))
            x = np.cross(y, still)
            self.alignment_ = Alignment(np.vstack([x, y, still]), 0.3, "standstill")
            return self.alignment_
        right, swing_quality = swing
        left = -right
        long_axis = self._long_axis(still, left)
        if long_axis is None:
            return None
        up, conf_up, method_parts = long_axis
        method_parts.append("swing")
        y = left - np.dot(left, up) * up
        orthogonality = float(np.linalg.norm(y))  # 1 when the swing axis is perpendicular to the long axis
        y = _unit(y)
        x = _cross(y, up)
        rotation = np.vstack([x, y, up])
        confidence = float(np.clip(conf_up * swing_quality * min(1.0, orthogonality / 0.97), 0.0, 1.0))
        self.alignment_ = Alignment(rotation, round(confidence, 3), "+".join(method_parts))
        return self.alignment_

    def _long_axis(self, still: np.ndarray | None, left: np.ndarray) -> tuple[np.ndarray, float, list[str]] | None:
        """The long axis (board frame), its confidence and the sources it came from, given the unit
        standstill gravity (or None) and the runner's left: the posture at contact once MIN_CONTACTS
        are known (checked against a standstill), else the standstill, else the few contacts or the
        mid-stance specific force there are; None when there is nothing to go on."""
        standing = _long_axis_from(still, left, STANDING_INCLINATION_DEG[self.mount]) if still is not None else None
        if self._contact_n >= MIN_CONTACTS:
            # Running posture at contact is the frame's reference once a few strides are known: the
            # frame is the one of running, and a standing posture varies more (locked or soft knee).
            up = _long_axis_from(_unit(self._contact_sum), left, CONTACT_INCLINATION_DEG[self.mount])
            if standing is not None:
                disagreement = np.degrees(np.arccos(np.clip(up @ standing, -1.0, 1.0)))
                return up, float(np.clip(1.0 - (disagreement - 8.0) / 20.0, 0.6, 1.0)), ["standstill", "contact"]
            return up, 0.7, ["contact"]
        if standing is not None:
            return standing, 0.9, ["standstill"]
        if self._contact_n:
            return _long_axis_from(_unit(self._contact_sum), left, CONTACT_INCLINATION_DEG[self.mount]), 0.5, ["contact"]
        if self._midstance_n:
            midstance = _unit(self._midstance_sum / self._midstance_n)
            return _long_axis_from(midstance, left, MIDSTANCE_INCLINATION_DEG[self.mount]), 0.5, ["contact"]
        return None


def _long_axis_from(vertical: np.ndarray, left: np.ndarray, inclination_deg: float) -> np.ndarray:
    """The long axis of a segment whose proximal end is ahead by `inclination_deg` of `vertical`.

    With the proximal end ahead by phi, the vertical in the segment frame is the long axis turned
    back by phi about +y, so the long axis is the vertical turned forward by phi."""
    v = vertical - np.dot(vertical, left) * left
    return _rotate_about(_unit(v), left, np.radians(inclination_deg))


def cycle_vertical(acc: np.ndarray, gyr: np.ndarray, left: np.ndarray, rate: float) -> np.ndarray:
    """The unit vertical, in board coordinates, at the last sample of a whole gait cycle.

    Over a cycle the runner's velocity repeats, so the mean acceleration is zero and the mean
    specific force is gravity.  Each sample's specific force is turned into the frame of the last
    sample about the medio-lateral axis only (the dominant rotation; the rest changes the result
    only slightly), then averaged."""
    rate_left = np.radians(gyr @ left)
    step = 0.5 * (rate_left[1:] + rate_left[:-1]) / rate
    angle = np.concatenate([[0.0], np.cumsum(step)])
    angle = angle - angle[-1]  # the rotation from each sample's frame to the last one's
    c, s = np.cos(angle)[:, None], np.sin(angle)[:, None]
    along = (acc @ left)[:, None] * left
    turned = acc * c + np.cross(left, acc) * s + along * (1 - c)
    return _unit(turned.mean(axis=0))


def swing_sign(w: np.ndarray, mount: str = "shin") -> float:
    """+1 when the rate w about a candidate axis is positive in the forward swing, -1 when not.

    The forward swing is the fast, brief phase of the cycle; stance and the backward rotations are
    slower and longer.  Three views of that asymmetry vote: the third moment (skewness), the broad
    lobes (85th against 15th percentile) and the extremes (99th against 1st)."""
    return 1.0 if swing_votes(w) >= 0 else -1.0


def swing_votes(w: np.ndarray) -> float:
    """-3..3: the three views of swing_sign, each +1 (positive is the swing) or -1."""
    if len(w) == 0:
        return 0.0
    hi, lo, top, bottom = _percentiles(w, (85.0, 15.0, 99.0, 1.0))
    return float(np.sign(np.dot(w * w, w)) + np.sign(hi + lo) + np.sign(top + bottom))


def _percentiles(x: np.ndarray, qs: tuple) -> list[float]:
    """np.percentile(x, qs) (linear interpolation) with one partial sort for all of them."""
    n = len(x)
    pos = [q / 100.0 * (n - 1) for q in qs]
    below = [int(np.floor(p)) for p in pos]
    kth = sorted({k for b in below for k in (b, min(b + 1, n - 1))})
    part = np.partition(x, kth)
    return [float(part[b] + (p - b) * (part[min(b + 1, n - 1)] - part[b])) for p, b in zip(pos, below)]


def gravity_only_alignment(acc_mean: np.ndarray, mount: str) -> Alignment:
    """Accelerometer-only data: the long axis from the mean acceleration, heading unknown."""
    knee_end_sign(mount)
    up = _unit(acc_mean)
    helper = np.eye(3)[int(np.argmin(np.abs(up)))]
    y = _unit(np.cross(up, helper))
    x = np.cross(y, up)
    return Alignment(np.vstack([x, y, up]), 0.2, "gravity")
