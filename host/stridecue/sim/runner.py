"""The virtual runner: IMU signals of a shin or thigh from one kinematic model of the legs.

One body per runner: a pelvis path (forward speed, spring-mass vertical motion while running,
inverted-pendulum motion while walking, lateral sway, pelvic rotation and drop) and, per leg, the
thigh and shank orientations over the gait cycle.  During a foot contact the ankle stays where it
landed (rolling forward and lifting at push-off) and the knee is solved from hip and ankle with the
shank's frontal-plane angle following the stance's wobble; in swing the thigh and knee follow
published-shape templates.  A sensor is a point on a segment: its gyro is the segment's angular
velocity and its accelerometer the specific force R^T (p'' - g) at that point, both in the board's
frame, plus an impact transient at initial contact.  Ground truth per stance is computed from the
same model with the shared definitions (docs/virtual-runner.md).

Strides are planned lazily, about one stride ahead of what any sensor has read, so a cue changes the
strides that start after it (plus a reaction time).

This module is the runner's face: RunnerSettings and VirtualRunner.  Behind it:

    scenario.py  the schedule of segments, pace from the published relations, fatigue, cue response
    strides.py   the build (segment lengths, posture at contact) and the plan of steps and contacts
    pelvis.py    the pelvis over the planned steps, and the hips on it
    legs.py      thigh and shank angles: stance from inverse kinematics, swing from templates
    motion.py    the body that holds them (RunnerBody) and what a sensor on a segment sees
    sensor.py    SensorStream (reading, impacts, noise, bias, drift, clipping) and StrideTruth
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from stridecue.errors import UserError
from stridecue.sim.bodies import DEFAULT_BODY, Body
from stridecue.sim.kinematics import long_axis
from stridecue.sim.motion import RunnerBody, sensor_site
from stridecue.sim.scenario import (CUE_KINDS, PHASE_KINDS, cue_fractions, default_cadence, default_contact_time,
                                    default_foot_ahead, default_landing_g)
from stridecue.sim.sensor import SensorChunk, SensorStream, StrideTruth
from stridecue.sim.strides import LEGS

MOUNTS = ("shin", "thigh")

__all__ = ["RunnerSettings", "VirtualRunner", "SensorStream", "SensorChunk", "StrideTruth", "LEGS", "MOUNTS", "CUE_KINDS",
           "PHASE_KINDS", "default_cadence", "default_contact_time", "default_foot_ahead", "default_landing_g"]


# --------------------------------------------------------------------------------------------
# settings


@dataclass
class RunnerSettings:
    """Who runs, how, and for how long.  Every field has a default; see docs/virtual-runner.md."""

    speed_mps: float = 3.3  # running speed, 2-6 m/s
    cadence_spm: float | None = None  # steps per minute (both legs), 150-200; None: from speed
    wobble_deg: float = 6.0  # mean frontal-plane excursion of the shank during stance
    wobble_fatigue_deg_per_10min: float = 1.5  # wobble grows by this per 10 minutes of running
    cue_compliance: float = 0.8  # probability that the runner heeds a cue
    landing_g: float | None = None  # mean peak tibial acceleration at the shin while running; None: from speed
    walk_speed_mps: float = 1.4  # speed of "walk" segments, 1.0-2.0 m/s
    segments: tuple = (("stand", 3.0), ("run", math.inf))  # (kind, seconds): stand|walk|run|stop
    focus_response: str | None = None  # "hip", "foot" or None: which guided instruction works best
    stride_time_cv: float = 0.02  # stride-to-stride variability of step time (coefficient of variation)
    contact_time_cv: float = 0.03
    wobble_sd_deg: float = 0.8  # stride-to-stride SD of wobble
    landing_cv: float = 0.12  # stride-to-stride coefficient of variation of peak tibial acceleration
    frontal_ic_deg: float = -2.0  # shank frontal angle at initial contact (negative: varus)
    cue_wobble_reduction: float = 0.5  # fraction of wobble a heeded wobble cue removes
    cue_load_reduction: float = 0.2  # fraction of landing load a heeded load cue removes
    cue_cadence_increase: float = 0.05  # fraction a heeded cadence cue adds to cadence
    cue_reaction_s: float = 0.6  # from hearing a cue to the first changed stride
    cue_hold_s: float = 30.0  # the change holds this long ...
    cue_fade_s: float = 45.0  # ... then fades back with this time constant
    height_m: float = 1.75
    contact_time_s: float | None = None  # ground contact time at speed_mps; None: from speed
    body: Body | None = None  # posture, stance twist, strike, soft tissue (sim/bodies.py); None: DEFAULT_BODY
    taps_s: tuple = ()  # run times (s) at which the runner taps the sensor's case (a double tap: two, ~0.3 s apart)

    def __post_init__(self):
        def need(ok: bool, message: str):
            if not ok:
                raise UserError(message)

        need(_finite(self.speed_mps) and 2.0 <= self.speed_mps <= 6.0,
             f"runner speed {self.speed_mps} m/s is outside the virtual runner's 2-6 m/s")
        need(self.cadence_spm is None or (_finite(self.cadence_spm) and 150.0 <= self.cadence_spm <= 200.0),
             f"runner cadence {self.cadence_spm} steps/min is outside 150-200")
        need(_finite(self.wobble_deg) and 0.0 <= self.wobble_deg <= 20.0, f"wobble {self.wobble_deg} deg is outside 0-20")
        need(_finite(self.wobble_fatigue_deg_per_10min) and -5 <= self.wobble_fatigue_deg_per_10min <= 10,
             f"wobble fatigue {self.wobble_fatigue_deg_per_10min} deg/10 min is outside -5..10")
        need(_finite(self.cue_compliance) and 0.0 <= self.cue_compliance <= 1.0,
             f"cue compliance {self.cue_compliance} is not a probability (0-1)")
        need(self.landing_g is None or (_finite(self.landing_g) and 2.0 <= self.landing_g <= 20.0),
             f"landing load {self.landing_g} g is outside 2-20 g")
        need(_finite(self.walk_speed_mps) and 1.0 <= self.walk_speed_mps <= 2.0,
             f"walking speed {self.walk_speed_mps} m/s is outside 1-2 m/s")
        need(self.focus_response in (None, "hip", "foot"), f"focus_response {self.focus_response!r} is not 'hip', 'foot' or None")
        for name in ("stride_time_cv", "contact_time_cv", "landing_cv"):
            v = getattr(self, name)
            need(_finite(v) and 0.0 <= v <= 0.3, f"{name} {v} is outside 0-0.3")
        need(_finite(self.wobble_sd_deg) and 0 <= self.wobble_sd_deg <= 5, f"wobble_sd_deg {self.wobble_sd_deg} is outside 0-5")
        need(_finite(self.height_m) and 1.4 <= self.height_m <= 2.1, f"runner height {self.height_m} m is outside 1.4-2.1 m")
        need(all(_finite(t) and t >= 0 for t in self.taps_s), f"taps_s {self.taps_s!r}: expected run times in seconds, >= 0")
        need(self.contact_time_s is None or (_finite(self.contact_time_s) and 0.12 <= self.contact_time_s <= 0.45),
             f"contact time {self.contact_time_s} s is outside 0.12-0.45 s")
        self.body = DEFAULT_BODY if self.body is None else self.body
        need(isinstance(self.body, Body), f"body {self.body!r} is not a stridecue.sim.bodies.Body")
        for name in ("cue_wobble_reduction", "cue_load_reduction", "cue_cadence_increase"):
            v = getattr(self, name)
            need(_finite(v) and 0.0 <= v <= 0.9, f"{name} {v} is outside 0-0.9")
        for name in ("cue_reaction_s", "cue_hold_s", "cue_fade_s"):
            v = getattr(self, name)
            need(_finite(v) and 0.0 <= v <= 3600, f"{name} {v} s is outside 0-3600 s")
        segs = tuple(tuple(s) for s in self.segments)
        need(len(segs) > 0, "segments: the schedule is empty")
        for i, seg in enumerate(segs):
            need(len(seg) == 2 and seg[0] in PHASE_KINDS,
                 f"segments[{i}] {seg!r}: expected (kind, seconds) with kind one of {', '.join(PHASE_KINDS)}")
            kind, secs = seg
            need(isinstance(secs, (int, float)) and secs > 0 and not math.isnan(secs),
                 f"segments[{i}]: duration {secs!r} is not a positive number of seconds")
            need(math.isfinite(secs) or i == len(segs) - 1, f"segments[{i}]: only the last segment may last forever")
            low = 1.5 if kind in ("stand", "stop") else 3.0
            need(secs >= low or (i == 0 and kind in ("stand", "stop")),
                 f"segments[{i}]: a {kind} segment must last at least {low:g} s")
        self.segments = segs


def _finite(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


# --------------------------------------------------------------------------------------------
# public API


class VirtualRunner:
    """A seeded runner following RunnerSettings; sensor() straps a virtual IMU on a segment.

    Memory stays bounded on long runs: the model keeps about HISTORY_S of leg motion behind the
    sensor that has read least (pose() and board_pose() answer for times within it)."""

    HISTORY_S = 20.0
    FORGET_AT_KNOTS = 6000  # about 2.5 minutes of running per leg

    def __init__(self, settings: RunnerSettings | None = None, seed: int = 0):
        if not (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0):
            raise UserError(f"runner seed {seed!r} is not a non-negative whole number")
        self.settings = settings if settings is not None else RunnerSettings()
        self.seed = int(seed)
        self._body = RunnerBody(self.settings, self.seed)
        self._cue_rng = np.random.default_rng([self.seed, 23])
        self._sensor_count = 0
        self.cues: list[tuple[float, str, bool]] = []  # (t, kind, heeded)
        self._streams: list[SensorStream] = []

    def sensor(self, leg: str = "left", mount: str = "shin", rotation=None, rate_hz: float = 416.0, *,
               noise: float = 1.0, accel_bias_g=None, gyro_bias_dps=None, gyro_drift_dps_per_min: float = 0.05,
               accel_range_g: float | None = None, gyro_range_dps: float | None = 2000.0,
               jitter_s: float = 0.0, clock_ppm: float = 0.0, site: float | None = None,
               seed: int | None = None, offset_m=None) -> SensorStream:
        """A virtual IMU on one segment of this runner (see SensorStream and docs/virtual-runner.md)."""
        _check_sensor_options(leg, mount, rate_hz, noise=noise, accel_range_g=accel_range_g, gyro_range_dps=gyro_range_dps,
                              gyro_drift_dps_per_min=gyro_drift_dps_per_min, jitter_s=jitter_s, clock_ppm=clock_ppm,
                              site=site, seed=seed)
        self._sensor_count += 1
        if seed is None:
            seed_seq = [self.seed, 31, self._sensor_count, LEGS.index(leg), MOUNTS.index(mount)]
        else:
            seed_seq = [int(seed), 37]
        # separate generators for the set-up and for each kind of imperfection, so that the numbers
        # do not depend on how the reads are split
        rng, *noise_rngs = (np.random.default_rng(child) for child in np.random.SeedSequence(seed_seq).spawn(5))
        M = _board_rotation(rotation, rng)
        acc_bias = _vec3(accel_bias_g, rng, 0.01, "accel_bias_g")
        gyr_bias = _vec3(gyro_bias_dps, rng, 0.5, "gyro_bias_dps")
        stream = SensorStream(self, leg, mount, M, float(rate_hz), noise=float(noise), acc_bias=acc_bias, gyr_bias=gyr_bias,
                              gyro_drift=float(gyro_drift_dps_per_min), accel_range=accel_range_g, gyro_range=gyro_range_dps,
                              jitter=float(jitter_s), clock_ppm=float(clock_ppm), rngs=noise_rngs,
                              site=sensor_site(leg, mount)[0] if site is None else float(site),
                              offset=None if offset_m is None else _vec3(offset_m, rng, 0.0, "offset_m"))
        self._streams.append(stream)
        return stream

    def _forget_history(self) -> None:
        """Bound the memory of long runs: drop the leg tracks' knots more than HISTORY_S behind the
        sensor that has read least (its unread samples may still be taken again at a new rate), once
        there are many.  The stances they carry are measured first, so `truth` loses nothing."""
        body = self._body
        if max(track.n for track in body.knots.values()) < self.FORGET_AT_KNOTS:
            return
        t_keep = min(max(s._last_read_t, 0.0) for s in self._streams) - self.HISTORY_S
        if t_keep <= 0.0:
            return
        for stream in self._streams:
            stream._update_truth()
        for track in body.knots.values():
            track.forget_before(t_keep)

    def cue(self, t: float, kind: str = "wobble") -> bool:
        """The runner hears a cue at run time t.  Returns whether it heeds it (drawn with cue_compliance)."""
        if kind not in CUE_KINDS:
            raise UserError(f"cue kind {kind!r} is not one of {', '.join(CUE_KINDS)}")
        if not _finite(t):
            raise UserError(f"cue time {t!r} is not a number of seconds")
        s = self.settings
        heeded = bool(self._cue_rng.random() < s.cue_compliance)
        self.cues.append((float(t), kind, heeded))
        if not heeded:
            return False
        wob, load, cad = cue_fractions(s, kind)
        self._body.respond(float(t), wob, load, cad)
        return True

    @property
    def body(self) -> RunnerBody:
        return self._body

    def pose(self, leg: str, t) -> dict[str, np.ndarray]:
        """Hip, knee and ankle joint centres (n, 3) m in the world frame (x forward, y left, z up)
        at run times t already generated by a sensor of this runner, within the last HISTORY_S
        behind the sensor that has read least (for checks and plots)."""
        if leg not in LEGS:
            raise UserError(f"leg {leg!r} is not 'left' or 'right'")
        t = np.atleast_1d(np.asarray(t, float))
        body = self._body
        body.ensure_steps(float(t.max()) + 0.05)
        body.ensure_knots(leg, float(t.max()) + 0.05)
        ang = body.knots[leg](t)
        hip = body.hip(leg, body.pelvis(t))
        knee = hip - body.l_thigh * long_axis(ang[:, 0], ang[:, 1])
        ankle = knee - body.l_shank * long_axis(ang[:, 3], ang[:, 4])
        return {"hip": hip, "knee": knee, "ankle": ankle}


def _vec3(value, rng, sd, name) -> np.ndarray:
    if value is None:
        return rng.normal(0.0, sd, 3)
    v = np.broadcast_to(np.asarray(value, float), (3,)).copy() if np.ndim(value) == 0 else np.asarray(value, float)
    if v.shape != (3,) or not np.all(np.isfinite(v)):
        raise UserError(f"{name} must be a number or three numbers")
    return v


def _check_sensor_options(leg, mount, rate_hz, *, noise, accel_range_g, gyro_range_dps, gyro_drift_dps_per_min, jitter_s,
                          clock_ppm, site, seed) -> None:
    """UserError for the first option of VirtualRunner.sensor() that is out of range."""
    if leg not in LEGS:
        raise UserError(f"sensor leg {leg!r} is not 'left' or 'right'")
    if mount not in MOUNTS:
        raise UserError(f"sensor mount {mount!r} is not 'shin' or 'thigh'")
    if accel_range_g not in (None, 2, 4, 8, 16, 32):
        raise UserError(f"accelerometer range {accel_range_g!r} g is not one of None, 2, 4, 8, 16, 32")
    if not (_finite(rate_hz) and 10.0 <= rate_hz <= 7000.0):
        raise UserError(f"sensor rate {rate_hz!r} Hz is outside 10-7000 Hz")
    if not (_finite(noise) and noise >= 0):
        raise UserError(f"sensor noise {noise!r} is not a non-negative factor")
    if not (_finite(jitter_s) and 0 <= jitter_s < 0.5 / rate_hz):
        raise UserError(f"timing jitter {jitter_s!r} s must be >= 0 and under half a sample")
    if not (_finite(clock_ppm) and abs(clock_ppm) <= 50000):
        raise UserError(f"clock error {clock_ppm!r} ppm is outside +-50000 ppm")
    if gyro_range_dps is not None and not (_finite(gyro_range_dps) and gyro_range_dps > 0):
        raise UserError(f"gyro range {gyro_range_dps!r} dps is not positive")
    if site is not None and not (_finite(site) and 0.1 <= site <= 0.9):
        raise UserError(f"sensor site {site!r} is not a fraction 0.1-0.9 of the segment from its distal end")
    if not (_finite(gyro_drift_dps_per_min) and gyro_drift_dps_per_min >= 0):
        raise UserError(f"gyro drift {gyro_drift_dps_per_min!r} dps/min is not a non-negative number")
    if seed is not None and not (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0):
        raise UserError(f"sensor seed {seed!r} is not a non-negative whole number")


def _board_rotation(rotation, rng: np.random.Generator) -> np.ndarray:
    """The board -> segment rotation: None (aligned), "random" (drawn with rng) or a 3x3 rotation matrix."""
    if rotation is None:
        M = np.eye(3)
    elif isinstance(rotation, str):
        if rotation != "random":
            raise UserError(f"sensor rotation {rotation!r} is not None, 'random' or a 3x3 rotation matrix")
        from scipy.spatial.transform import Rotation

        M = Rotation.random(random_state=rng).as_matrix()
    else:
        M = np.asarray(rotation, float)
        if M.shape != (3, 3) or not np.allclose(M @ M.T, np.eye(3), atol=1e-6) or np.linalg.det(M) < 0:
            raise UserError("sensor rotation is not a 3x3 rotation matrix (orthonormal, determinant +1)")
    return M
