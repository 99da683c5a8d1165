"""A virtual IMU driven by real running motion: grouvel2023's motion capture -> 416 Hz gyro + accel.

    imu = MocapImu(rate_hz=416.0, cutoff_hz=12.0, standstill_s=3.0)
    for mounting in plausible_mountings("shin", "left", count=3, seed=1):
        rec = imu.simulate(trial, "left", "shin", mounting).recording_
        rec.acc_g, rec.gyr_dps        # board frame, g and deg/s, at rec.t (s on the markers' clock)

Segment orientation.  The long axis (segment z) is the joint centres' line, ankle -> knee for the
shank and knee -> hip for the thigh: the same line the truth's frontal-plane angle is taken from.
The rotation about that axis comes from the segment's rigid 4-marker cluster (LS1..LS4, LT1..LT4,
...), fitted frame by frame to its mean shape (Kabsch), because the single wand markers give an
implausible twist.  The runner's left, expressed in the cluster's frame and averaged over the pass,
is carried along by the cluster and made perpendicular to the long axis: that is segment y; x
(anterior) = y x z.  Segment frame as everywhere in the project: x anterior, y the runner's left,
z distal -> proximal (docs/metrics.md).

Resampling.  Marker noise is amplified twice on the way to acceleration, so the joint centres and
cluster markers are low-passed first: a zero-lag (forward-backward) 2nd-order Butterworth at 12 Hz,
in the 10-15 Hz range that residual analysis gives for running markers (Winter, Biomechanics and
Motor Control of Human Movement, 4th ed. 2009, ch. 3: about 6 Hz for walking, higher for faster
movement), with Winter's correction of the cut-off for the two passes.  The orientation (as a
sign-continuous quaternion) and the mounting point's trajectory at the capture frames are then
joined by interpolating quintic splines, so the angular rate (2 q* dq/dt, in the segment frame,
then the board's) and the acceleration (the point's second derivative) are derivatives of smooth
functions, evaluated at 416 Hz; nothing is a finite difference of noisy angles.  Specific force =
(a_lab + 9.80665 z_lab) / 9.80665 in g, rotated into the board frame.

What 100 frames/s cannot show.  The landing impact: the tibial shock peaks 5-20 ms after contact
and its spectrum reaches 10-30 Hz and beyond, above the capture's usable band and cut by the
filter, so peak tibial acceleration and loading rate of this virtual IMU are not meaningful (the
realmotion suite does not score them).  Anything above ~10-15 Hz is gone, and the soft-tissue
motion of a strap (the sensor's own wobble on the skin, 10-20 Hz after landing) is not in markers
on a rigid cluster either.  What is real: segment rotation and gross acceleration of the running
stride, about 0-10 Hz, with every runner's own frontal-plane motion, twist and timing.

The passes start and end mid-run.  `standstill_s` prepends the runner standing still (shank and
thigh near vertical, 5 deg of relaxed inclination) and a `blend_s` ramp from standing into the
pass's first frame (C1 at the join), so the analysis can find the frame from a standstill as a
real run that starts from standing lets it.  The ramp is no real motion: do not score it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.interpolate import make_interp_spline
from scipy.signal import butter, filtfilt
from scipy.spatial.transform import Rotation

from stridecue.lab.datasets.grouvel2023 import GrouvelTrial

G = 9.80665  # m/s^2 per g
SEGMENTS = ("shin", "thigh")
#: Winter (2009): each pass of a 2nd-order Butterworth run forward and backward is -3 dB at
#: 0.802 x the design cut-off, so the design cut-off is raised by 1/0.802.
TWO_PASS_CORRECTION = 0.802
#: Relaxed standing: a little knee flexion and ankle dorsiflexion put the knee slightly ahead of the
#: ankle and the hip (degrees, positive = proximal end ahead).
STANDING_INCLINATION_DEG = {"shin": 5.0, "thigh": -5.0}


# --------------------------------------------------------------------------------------------
# data between the stages


@dataclass(frozen=True, eq=False)  # holds arrays: compare fields, not objects
class Mounting:
    """Where and how a board is strapped on a segment.

    fraction: position along the segment from its distal end (0 ankle/knee .. 1 knee/hip);
    offset_m: from the long axis to the board, in the segment frame (x anterior, y left, z along);
    rotation: board -> segment, v_segment = rotation @ v_board (the runner's convention).
    """

    name: str
    place: str
    fraction: float
    offset_m: tuple[float, float, float]
    rotation: np.ndarray = field(repr=False)


@dataclass(frozen=True, eq=False)
class SegmentMotion:
    """One segment's motion at the capture's frames, after the low-pass: times (s), the segment's
    orientation (segment -> lab, (n, 3, 3)) and its distal and proximal joint centres (m)."""

    trial: str
    leg: str
    segment: str
    t: np.ndarray
    rotation: np.ndarray
    distal_m: np.ndarray
    proximal_m: np.ndarray
    direction: int


@dataclass(frozen=True, eq=False)
class VirtualImuRecording:
    """A virtual IMU's samples: t (s on the markers' clock; negative in a prepended standstill),
    acc_g and gyr_dps in the board frame, and the segment's true orientation (segment -> lab) at
    each sample.  `start_s` = the time of the first sample; analysis times (sample / rate) are
    t - start_s."""

    trial: str
    leg: str
    segment: str
    mounting: Mounting
    rate_hz: float
    t: np.ndarray
    acc_g: np.ndarray
    gyr_dps: np.ndarray
    rotation: np.ndarray
    standstill_s: float

    @property
    def start_s(self) -> float:
        return float(self.t[0])

    def index_at(self, t_s: float) -> int:
        """The sample nearest to time t_s (markers' clock)."""
        return int(round((t_s - self.start_s) * self.rate_hz))

    @property
    def acc_segment(self) -> np.ndarray:
        return self.acc_g @ self.mounting.rotation.T

    @property
    def gyr_segment(self) -> np.ndarray:
        return self.gyr_dps @ self.mounting.rotation.T


# --------------------------------------------------------------------------------------------
# geometry


def lowpass(x: np.ndarray, rate_hz: float, cutoff_hz: float) -> np.ndarray:
    """Zero-lag 2nd-order Butterworth, forward and backward (4th order, no phase shift), along axis 0."""
    wn = min(0.99, cutoff_hz / TWO_PASS_CORRECTION / (rate_hz / 2.0))
    b, a = butter(2, wn)
    # the passes start and end mid-stride: an odd (point-symmetric) extension of 0.36 s keeps value
    # and slope at the ends while the filter's start-up transient dies out in it
    return filtfilt(b, a, x, axis=0, padtype="odd", padlen=min(len(x) - 1, int(round(0.36 * rate_hz))))


def kabsch(reference: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Rotations R (n, 3, 3) with points[k] - centroid ~ reference @ R[k].T (rows are markers).

    reference: (m, 3) centred shape; points: (n, m, 3)."""
    centred = points - points.mean(axis=1, keepdims=True)
    h = np.einsum("mi,nmj->nij", reference, centred)  # sum over markers of ref_i * p_j
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(np.einsum("nji,nkj->nik", vt, u)))
    fix = np.ones((len(points), 3))
    fix[:, 2] = d
    return np.einsum("nji,nj,nkj->nik", vt, fix, u)


def cluster_rotations(points: np.ndarray, iterations: int = 3) -> np.ndarray:
    """Orientation of a rigid marker cluster (n frames, m markers, 3) relative to its mean shape.

    The mean shape is refined a few times: each frame's markers rotated back into the cluster's
    frame and averaged, so skin and marker noise average out instead of the first frame's."""
    shape = points[0] - points[0].mean(axis=0)
    rot = kabsch(shape, points)
    for _ in range(iterations):
        centred = points - points.mean(axis=1, keepdims=True)
        shape = np.einsum("nji,nmj->mi", rot, centred) / len(points)  # mean of R.T p
        shape -= shape.mean(axis=0)
        rot = kabsch(shape, points)
    return rot


def anatomical_frames(distal: np.ndarray, proximal: np.ndarray, cluster: np.ndarray, left_lab: np.ndarray) -> np.ndarray:
    """Segment -> lab rotations (n, 3, 3): z the joint-centre line, y the runner's left as the
    cluster carries it, made perpendicular to z; x = y x z."""
    z = proximal - distal
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    left_in_cluster = np.einsum("nji,j->ni", cluster, left_lab).mean(axis=0)
    left_in_cluster /= np.linalg.norm(left_in_cluster)
    y = cluster @ left_in_cluster
    y -= np.sum(y * z, axis=1, keepdims=True) * z
    y /= np.linalg.norm(y, axis=1, keepdims=True)
    x = np.cross(y, z)
    return np.stack([x, y, z], axis=2)


def quaternions(rotation: np.ndarray) -> np.ndarray:
    """(n, 3, 3) -> (n, 4) (w, x, y, z), sign-continuous so that a spline through them is smooth."""
    return quaternions_continuous(Rotation.from_matrix(rotation).as_quat()[:, [3, 0, 1, 2]])


def quaternions_continuous(q: np.ndarray) -> np.ndarray:
    """Each quaternion's sign chosen to be nearest its predecessor (q and -q are one rotation)."""
    q = np.array(q, float)
    for k in range(1, len(q)):
        if np.dot(q[k], q[k - 1]) < 0:
            q[k] = -q[k]
    return q


def qmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack([aw * bw - ax * bx - ay * by - az * bz, aw * bx + ax * bw + ay * bz - az * by,
                     aw * by - ax * bz + ay * bw + az * bx, aw * bz + ax * by - ay * bx + az * bw], axis=-1)


def qconj(q: np.ndarray) -> np.ndarray:
    return q * np.array([1.0, -1.0, -1.0, -1.0])


def body_rate(q: np.ndarray, dq: np.ndarray) -> np.ndarray:
    """Angular rate in the body frame (rad/s) of the orientation q/|q| from q and its derivative."""
    return 2.0 * qmul(qconj(q), dq)[:, 1:] / np.sum(q * q, axis=1, keepdims=True)


def heading_frame(direction: int) -> np.ndarray:
    """Lab directions of the runner's forward, left and up (columns) for a pass along +-x."""
    s = 1.0 if direction > 0 else -1.0
    return np.diag([s, s, 1.0])


def axis_rotation(axis: str, deg: float) -> np.ndarray:
    return Rotation.from_euler(axis, deg, degrees=True).as_matrix()


# --------------------------------------------------------------------------------------------
# the algorithms


_NAMES = {"shin": ("S", "AJC", "KJC"), "thigh": ("T", "KJC", "HJC")}


class SegmentKinematics:
    """A segment's orientation and joint centres from a pass's markers, low-passed at `cutoff_hz`.

    `fit(trial, leg, segment)` -> self, result in `motion_` (SegmentMotion)."""

    def __init__(self, cutoff_hz: float = 12.0):
        self.cutoff_hz = float(cutoff_hz)
        self.motion_: SegmentMotion | None = None

    def fit(self, trial: GrouvelTrial, leg: str, segment: str) -> "SegmentKinematics":
        if segment not in SEGMENTS or leg not in ("left", "right"):
            raise ValueError(f"segment {segment!r} / leg {leg!r}: expected shin|thigh and left|right")
        side = "L" if leg == "left" else "R"
        cluster_code, distal_name, proximal_name = _NAMES[segment]
        rate = trial.rate_hz
        distal = lowpass(trial.joint_centres[side + distal_name] / 1000.0, rate, self.cutoff_hz)
        proximal = lowpass(trial.joint_centres[side + proximal_name] / 1000.0, rate, self.cutoff_hz)
        markers = np.stack([trial.markers[f"{side}{cluster_code}{k}"] for k in range(1, 5)], axis=1) / 1000.0
        if np.isnan(markers).any():
            raise ValueError(f"{trial.name}: the {leg} {segment} cluster has gaps")
        markers = lowpass(markers.reshape(len(markers), -1), rate, self.cutoff_hz).reshape(markers.shape)
        left_lab = heading_frame(trial.direction)[:, 1]
        frames = anatomical_frames(distal, proximal, cluster_rotations(markers), left_lab)
        self.motion_ = SegmentMotion(trial=trial.name, leg=leg, segment=segment, t=trial.t.copy(), rotation=frames,
                                     distal_m=distal, proximal_m=proximal, direction=trial.direction)
        return self


class MocapImu:
    """The virtual IMU: a segment's motion capture as a board on it would sense it.

    Parameters: rate_hz (output), cutoff_hz (marker low-pass), standstill_s (seconds of standing
    still prepended; 0 = none), blend_s (ramp from standing into the pass).
    `simulate(trial, leg, segment, mounting)` -> self, result in `recording_`."""

    def __init__(self, rate_hz: float = 416.0, cutoff_hz: float = 12.0, standstill_s: float = 0.0, blend_s: float = 1.0):
        self.rate_hz = float(rate_hz)
        self.cutoff_hz = float(cutoff_hz)
        self.standstill_s = float(standstill_s)
        self.blend_s = float(blend_s)
        self.recording_: VirtualImuRecording | None = None

    def simulate(self, trial: GrouvelTrial, leg: str, segment: str, mounting: Mounting) -> "MocapImu":
        motion = SegmentKinematics(self.cutoff_hz).fit(trial, leg, segment).motion_
        return self.simulate_motion(motion, mounting, trial.rate_hz)

    def simulate_motion(self, motion: SegmentMotion, mounting: Mounting, frame_rate_hz: float) -> "MocapImu":
        t, q = motion.t, quaternions(motion.rotation)
        along = motion.proximal_m - motion.distal_m
        point = motion.distal_m + mounting.fraction * along + motion.rotation @ np.asarray(mounting.offset_m, float)
        if self.standstill_s > 0:
            t, q, point = self._with_standstill(t, q, point, motion, frame_rate_hz)
        q_spline = make_interp_spline(t, q, k=5, axis=0)
        p_spline = make_interp_spline(t, point, k=5, axis=0)
        n = int(math.floor((t[-1] - t[0]) * self.rate_hz + 1e-9)) + 1
        t_out = t[0] + np.arange(n) / self.rate_hz
        q_out = q_spline(t_out)
        gyr_segment = np.degrees(body_rate(q_out, q_spline.derivative(1)(t_out)))
        unit = q_out / np.linalg.norm(q_out, axis=1, keepdims=True)
        rotation = Rotation.from_quat(unit[:, [1, 2, 3, 0]]).as_matrix()
        force_lab = (p_spline.derivative(2)(t_out) + np.array([0.0, 0.0, G])) / G
        acc_segment = np.einsum("nji,nj->ni", rotation, force_lab)
        m = mounting.rotation  # board -> segment: v_board = m.T v_segment
        self.recording_ = VirtualImuRecording(trial=motion.trial, leg=motion.leg, segment=motion.segment, mounting=mounting,
                                              rate_hz=self.rate_hz, t=t_out, acc_g=acc_segment @ m, gyr_dps=gyr_segment @ m,
                                              rotation=rotation, standstill_s=self.standstill_s)
        return self

    def _with_standstill(self, t, q, point, motion: SegmentMotion, frame_rate_hz: float):
        """Prepend standing still, then a C1 ramp (smootherstep weight w) from standing into frame 0:
        orientation q_stand * exp(w r(t)) with r the rotation vector from standing, extended
        linearly back from frame 0; position p_stand + w (p0 + v0 t - p_stand)."""
        dt = 1.0 / frame_rate_hz
        n_blend = max(2, int(round(self.blend_s * frame_rate_hz)))
        n_still = int(round(self.standstill_s * frame_rate_hz))
        tb = -np.arange(n_blend + n_still, 0, -1) * dt  # before frame 0
        w = _smootherstep((tb + n_blend * dt) / (n_blend * dt))
        stand = heading_frame(motion.direction) @ axis_rotation("y", STANDING_INCLINATION_DEG[motion.segment])
        r_stand = Rotation.from_matrix(stand)
        rel = (r_stand.inv() * Rotation.from_quat(q[:3][:, [1, 2, 3, 0]])).as_rotvec()
        r0, r_rate = rel[0], (-3 * rel[0] + 4 * rel[1] - rel[2]) / (2 * dt)
        r_before = (r0 + np.outer(tb, r_rate)) * w[:, None]
        q_before = (r_stand * Rotation.from_rotvec(r_before)).as_quat()[:, [3, 0, 1, 2]]
        v0 = (-3 * point[0] + 4 * point[1] - point[2]) / (2 * dt)
        travel = (motion.distal_m[-1] - motion.distal_m[0]) / (t[-1] - t[0])  # the runner's mean velocity
        travel[2] = 0.0
        p_stand = point[0] - travel * self.blend_s
        p_before = p_stand + w[:, None] * (point[0] + np.outer(tb, v0) - p_stand)
        q_all = quaternions_continuous(np.vstack([q_before, q]))
        return np.concatenate([tb, t]), q_all, np.vstack([p_before, point])


def _smootherstep(u):
    u = np.clip(u, 0.0, 1.0)
    return u * u * u * (u * (6.0 * u - 15.0) + 10.0)


# --------------------------------------------------------------------------------------------
# mountings


#: Places on each segment: (fraction from the distal end, offset in the segment frame (m) with y
#: toward the runner's left for the left leg, i.e. lateral = +y on the left leg, -y on the right).
PLACES = {
    "shin": {
        "lateral mid-shank": (0.5, (0.0, 0.045, 0.0)),
        "anteromedial tibia": (0.45, (0.025, -0.02, 0.0)),
        "low above the ankle": (0.2, (0.02, 0.0, 0.0)),
    },
    "thigh": {
        "lateral mid-thigh": (0.5, (0.0, 0.075, 0.0)),
        "anterior thigh": (0.55, (0.07, 0.0, 0.0)),
    },
}
#: How a board lies on each place before it is turned: its own axes in the segment frame (columns
#: of board -> segment).  "flat": board z out of the skin; its x along the segment's long axis.
_UPRIGHT = np.eye(3)


def _flat_on(normal: np.ndarray) -> np.ndarray:
    """Board -> segment with the board's z along `normal` (out of the skin) and its x up the segment."""
    bz = normal / np.linalg.norm(normal)
    bx = np.array([0.0, 0.0, 1.0])
    by = np.cross(bz, bx)
    return np.column_stack([bx, by, bz])


def plausible_mountings(segment: str, leg: str, count: int = 3, seed: int = 0) -> list[Mounting]:
    """A seeded set of mountings: each place in turn, the board flat on the skin or upright or upside
    down, turned about the long axis by 20-40 deg either way, and tilted by up to 5 deg."""
    if segment not in PLACES:
        raise ValueError(f"segment must be one of {SEGMENTS}, not {segment!r}")
    side = 1.0 if leg == "left" else -1.0
    rng = np.random.default_rng([seed, SEGMENTS.index(segment), 0 if leg == "left" else 1])
    places = list(PLACES[segment].items())
    out = []
    for k in range(count):
        place, (fraction, offset) = places[k % len(places)]
        offset = (offset[0], side * offset[1], offset[2])
        normal = np.array([offset[0], offset[1], 0.0])
        base_options = {"upright": _UPRIGHT, "upside down": axis_rotation("x", 180.0)}
        if np.linalg.norm(normal) > 0:
            base_options["flat"] = _flat_on(normal)
        base_name = list(base_options)[int(rng.integers(len(base_options)))]
        turn = float(rng.uniform(20.0, 40.0)) * (1 if rng.random() < 0.5 else -1)
        tilt_axis = rng.normal(size=3)
        tilt = Rotation.from_rotvec(tilt_axis / np.linalg.norm(tilt_axis) * np.radians(rng.uniform(0.0, 5.0)))
        rotation = axis_rotation("z", turn) @ tilt.as_matrix() @ base_options[base_name]
        out.append(Mounting(name=f"{place}, {base_name}, turned {turn:+.0f} deg", place=place, fraction=fraction,
                            offset_m=offset, rotation=rotation))
    return out


def simulate_pass(trial: GrouvelTrial, leg: str, segment: str, mountings: list[Mounting], *,
                  standstill_s: float = 0.0, rate_hz: float = 416.0, cutoff_hz: float = 12.0) -> list[VirtualImuRecording]:
    """Every mounting's recording of one segment of one pass (the segment's motion fitted once)."""
    motion = SegmentKinematics(cutoff_hz).fit(trial, leg, segment).motion_
    imu = MocapImu(rate_hz=rate_hz, cutoff_hz=cutoff_hz, standstill_s=standstill_s)
    return [imu.simulate_motion(motion, m, trial.rate_hz).recording_ for m in mountings]
