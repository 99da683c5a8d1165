"""The virtual exerciser: a body doing an exercise's sets (exercise_body.py), the IMUs strapped on
its shins and thighs at random orientations and offsets, and the truth of every rep and hold.

    ex = VirtualExerciser("single-leg-squat", level=2, seed=7)
    shin = ex.sensor(leg="left", mount="shin")          # a stream the virtual sensor reads
    ex.go(t=5.0, leg="left")                              # "left leg, go" heard at run time 5 s
    chunk = shin.read(416 * 40)                           # t (s), acc (g), gyr (deg/s), board frame
    ex.truth()                                            # RepTruth / HoldTruth of the sets done

The streams have the interface of sim/sensor.py's SensorStream that the virtual sensor (air.py)
reads: a settable `rate` and read(n).  Truth is measured on the noise-free model: depth is the
knee's flexion (shank minus thigh inclination) or, lying, the thigh's rotation; knee motion the
frontal-plane angle change of the segment's long axis (valgus positive; with thigh and shank, the
sum); tempo the time between 5 % and 95 % of the rep's excursion, down and up; sway the RMS angle
of the stance segment from its mean direction; balance the time from "go" to the first loss.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from stridecue.errors import UserError
from stridecue.sim.exercise_body import (LEGS, SetPlan, draw_body, hold_foot_down, hold_sway, plan_hold, plan_reps, plan_swing,
                                         swing_angles)
from stridecue.sim.kinematics import G, long_axis, segment_rotation, smootherstep
from stridecue.sim.sensor import SensorChunk, checked_rate

_H = 0.002  # s, the finite-difference step for rates and accelerations
MOUNTS = ("shin", "thigh")


@dataclass(frozen=True)
class RepTruth:
    leg: str
    set_index: int
    start_t: float  # the model's movement start
    bottom_t: float
    end_t: float
    depth_deg: float
    knee_motion_deg: dict  # mount ("shin", "thigh", "thigh+shin") -> deg, valgus positive
    down_s: float
    up_s: float


@dataclass(frozen=True)
class HoldTruth:
    leg: str
    set_index: int
    go_t: float
    end_t: float
    sway_deg: dict  # mount -> RMS deg
    loss_s: float | None


class VirtualExerciser:
    """A seeded exerciser doing `exercise` (a catalogue name) at `level`."""

    def __init__(self, exercise: str, level: int = 1, seed: int = 0, body=None):
        from stridecue.exercise.catalogue import exercise as find

        self.exercise = find(exercise)
        self.level = self.exercise.level(level)
        self.seed = int(seed)
        self.body = body or draw_body(self.seed)
        self._rng = np.random.default_rng([self.seed, 409])
        self.sets: list[SetPlan] = []
        self.swings: list = []
        self.streams: list[ExerciserStream] = []

    # -- the session ----------------------------------------------------------------------

    def go(self, t: float, leg: str) -> SetPlan:
        """The exerciser hears "<leg> leg, go" at run time t and does one set (after its reaction;
        never before what its sensors have already sent)."""
        if leg not in LEGS:
            raise UserError(f"leg {leg!r} is not 'left' or 'right'")
        sent = max((s.sent_t for s in self.streams), default=-math.inf)
        start = max(float(t), sent + 0.1 - self.body.reaction_s)
        if self.exercise.kind == "hold":
            plan = plan_hold(self.body, leg, self.level, start, self._rng)
        else:
            plan = plan_reps(self.body, leg, self.level, start, self._rng, self.exercise.lying)
        self.sets.append(plan)
        return plan

    def calibrate(self, t: float, leg: str):
        """The exerciser hears "swing the <leg> leg forward and back" at run time t and does."""
        if leg not in LEGS:
            raise UserError(f"leg {leg!r} is not 'left' or 'right'")
        sent = max((s.sent_t for s in self.streams), default=-math.inf)
        plan = plan_swing(self.body, leg, max(float(t), sent + 0.1 - self.body.reaction_s), self._rng)
        self.swings.append(plan)
        return plan

    def set_length_s(self) -> float:
        """About how long a set takes this exerciser (for planning a session)."""
        lv = self.level
        if self.exercise.kind == "hold":
            return float(lv.reps) + 1.0
        per = (lv.down_s + lv.up_s) * self.body.tempo_factor * 1.2 + self.body.pause_s * 1.5 + self.body.rest_s * 1.3
        return self.body.reaction_s + lv.reps * per + 1.0

    def sensor(self, leg: str = "left", mount: str = "shin", rotation="random", rate_hz: float = 416.0,
               noise: float = 1.0) -> "ExerciserStream":
        if leg not in LEGS:
            raise UserError(f"sensor leg {leg!r} is not 'left' or 'right'")
        if mount not in MOUNTS:
            raise UserError(f"sensor mount {mount!r} is not 'shin' or 'thigh'")
        rng = np.random.default_rng([self.seed, 419, len(self.streams), LEGS.index(leg), MOUNTS.index(mount)])
        if rotation == "random":
            from scipy.spatial.transform import Rotation

            M = Rotation.random(random_state=rng).as_matrix()
        else:
            M = np.eye(3) if rotation is None else np.asarray(rotation, float)
        stream = ExerciserStream(self, leg, mount, M, rate_hz, noise, rng)
        self.streams.append(stream)
        return stream

    # -- the model's angles ---------------------------------------------------------------

    def angles(self, leg: str, t: np.ndarray) -> np.ndarray:
        """(n, 6): shank theta, phi, psi and thigh theta, phi, psi (rad) of `leg` at run times t."""
        t = np.asarray(t, float)
        b = self.body
        sgn = 1.0 if leg == "left" else -1.0
        out = np.zeros((len(t), 6))
        lying = self.exercise.lying
        if lying:
            out[:, 0] = -0.6
            out[:, 3] = math.pi + math.radians(b.bridge_start_deg)
        else:
            out[:, 0], out[:, 3] = 0.05, -0.02
            out[:, 1], out[:, 4] = sgn * b.static_phi[0], -sgn * b.static_phi[1]
        for swing in self.swings:
            if swing.leg == leg:
                thigh, knee, frontal = swing_angles(swing, t)
                out[:, 3] += thigh
                out[:, 0] += thigh + knee
                out[:, 4] += frontal
                out[:, 1] += frontal
        for plan in self.sets:
            if plan.leg == leg:
                self._stance(plan, t, out, sgn, lying)
            else:
                self._free(plan, t, out, lying)
        return out

    def _stance(self, plan: SetPlan, t: np.ndarray, out: np.ndarray, sgn: float, lying: bool) -> None:
        b = self.body
        if plan.hold is not None:
            h = plan.hold
            bend = h.knee_rad * smootherstep((t - h.start) / 0.5) * (1.0 - smootherstep((t - h.end) / 0.5))
            sag, fro = hold_sway(h, t)
            out[:, 0] += b.ankle_share * bend + sag
            out[:, 3] -= (1.0 - b.ankle_share) * bend - 0.5 * sag
            out[:, 1] += fro
            out[:, 4] += 0.5 * fro
            return
        flex = np.zeros(len(t))
        valgus = np.zeros(len(t))
        for rep in plan.reps:
            if rep.end < t[0] - 0.1 or rep.start > t[-1] + 0.1:
                continue
            s = np.clip(rep.shape(t), 0.0, 1.0)
            flex += rep.depth_rad * s
            valgus += rep.valgus_rad * s**1.5
        if lying:  # the bridge: the hips rise, the thigh turns towards the horizontal, the knee drops in
            out[:, 3] += flex
            out[:, 0] += 0.3 * flex
            out[:, 4] += sgn * valgus
            out[:, 5] += b.twist_per_rad * flex
            return
        out[:, 0] += b.ankle_share * flex
        out[:, 3] -= (1.0 - b.ankle_share) * flex
        out[:, 1] += sgn * (1.0 - b.valgus_thigh_share) * valgus
        out[:, 4] -= sgn * b.valgus_thigh_share * valgus
        out[:, 2] += b.twist_per_rad * flex
        out[:, 5] += 0.5 * b.twist_per_rad * flex

    def _free(self, plan: SetPlan, t: np.ndarray, out: np.ndarray, lying: bool) -> None:
        """The other leg during a set: lifted (knee bent), the foot down after a loss of balance."""
        first = plan.hold.start if plan.hold is not None else (plan.reps[0].start if plan.reps else plan.go)
        lift = smootherstep((t - first + 0.6) / 0.5) * (1.0 - smootherstep((t - plan.end) / 0.5))
        if plan.hold is not None:
            lift = lift * (1.0 - hold_foot_down(plan.hold, t))
        if lying:
            out[:, 3] -= 0.6 * lift
            out[:, 0] -= 0.6 * lift
            return
        hip, knee = 0.5, 1.2 if plan.hold is not None else 0.4
        out[:, 3] -= hip * lift
        out[:, 0] += (knee - hip) * lift

    def pose(self, leg: str, mount: str, t: np.ndarray, site: float, offset: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(R (n, 3, 3) segment -> world, sensor position (n, 3) m) with the leg's ankle held still."""
        a = self.angles(leg, t)
        Rs = segment_rotation(a[:, 0], a[:, 1], a[:, 2])
        Rt = segment_rotation(a[:, 3], a[:, 4], a[:, 5])
        knee = self.body.l_shank * Rs[:, :, 2]
        if mount == "shin":
            return Rs, site * knee + Rs @ offset
        return Rt, knee + site * self.body.l_thigh * Rt[:, :, 2] + Rt @ offset

    # -- truth ------------------------------------------------------------------------------

    def truth(self) -> list:
        """RepTruth / HoldTruth of every set heard so far (each leg's sets numbered from 0)."""
        out = []
        counts = {leg: 0 for leg in LEGS}
        for plan in self.sets:
            index = counts[plan.leg]
            counts[plan.leg] += 1
            if plan.hold is not None:
                out.append(self._hold_truth(plan, index))
            else:
                out.extend(self._rep_truth(plan, rep, index) for rep in plan.reps)
        return out

    def _rep_truth(self, plan: SetPlan, rep, index: int) -> RepTruth:
        t = np.arange(rep.start - 0.05, rep.end + 0.05, 0.002)
        a = self.angles(plan.leg, t)
        sgn = 1.0 if plan.leg == "left" else -1.0
        if self.exercise.lying:
            flex = a[:, 3] - a[0, 3]
            motion = {"thigh": sgn * (a[:, 4] - a[0, 4])}
            motion["thigh+shin"] = motion["thigh"]
        else:
            flex = (a[:, 0] - a[:, 3]) - (a[0, 0] - a[0, 3])
            shin, thigh = self._frontal(a[:, 0:2], sgn, True), self._frontal(a[:, 3:5], sgn, False)
            motion = {"shin": shin - shin[0], "thigh": thigh - thigh[0]}
            motion["thigh+shin"] = motion["shin"] + motion["thigh"]
        depth = float(np.max(flex))
        i_bottom = int(np.argmax(flex))
        down_5, down_95 = _crossing(t[: i_bottom + 1], flex[: i_bottom + 1], depth)
        up_5, up_95 = _crossing(t[i_bottom:][::-1], flex[i_bottom:][::-1], depth)
        return RepTruth(plan.leg, index, rep.start, float(t[i_bottom]), rep.end, math.degrees(depth),
                        {k: math.degrees(float(v[i_bottom])) for k, v in motion.items()},
                        down_95 - down_5, up_5 - up_95)

    @staticmethod
    def _frontal(theta_phi: np.ndarray, sgn: float, shank: bool) -> np.ndarray:
        """The long axis's angle in the world's frontal plane, valgus positive (rad)."""
        L = long_axis(theta_phi[:, 0], theta_phi[:, 1])
        angle = np.arctan2(-L[:, 1], L[:, 2])  # towards the runner's right (-y) positive
        return sgn * angle if shank else -sgn * angle

    def _hold_truth(self, plan: SetPlan, index: int) -> HoldTruth:
        h = plan.hold
        first = h.losses[0] if h.losses else None
        t = np.arange(h.go + 2.0, (first if first is not None else h.end) - 0.1, 0.01)
        a = self.angles(plan.leg, t) if len(t) else np.zeros((0, 6))
        sway = {}
        for mount, col in (("shin", 0), ("thigh", 3)):
            if len(t) < 10:
                sway[mount] = float("nan")
                continue
            L = long_axis(a[:, col], a[:, col + 1])
            mean = L.mean(axis=0)
            mean /= np.linalg.norm(mean)
            sway[mount] = math.degrees(float(np.sqrt(np.mean(np.arccos(np.clip(L @ mean, -1, 1)) ** 2))))
        sway["thigh+shin"] = sway["shin"]
        return HoldTruth(plan.leg, index, h.go, h.end, sway, None if first is None else first - h.go)


def _crossing(t: np.ndarray, y: np.ndarray, top: float) -> tuple[float, float]:
    """Times y first reaches 5 % and 95 % of top (t increasing along y's rise)."""
    i5 = int(np.argmax(y >= 0.05 * top))
    i95 = int(np.argmax(y >= 0.95 * top))
    return float(t[i5]), float(t[i95])


class ExerciserStream:
    """One virtual IMU on the exerciser (read by air.VirtualSensor as a runner's SensorStream is)."""

    def __init__(self, exerciser: VirtualExerciser, leg: str, mount: str, M: np.ndarray, rate: float, noise: float, rng):
        self.exerciser = exerciser
        self.leg = leg
        self.mount = mount
        self.rotation = M  # board -> segment
        self.noise = float(noise)
        self._rng = rng
        self.site = rng.uniform(0.3, 0.6)
        self.offset = np.array([rng.uniform(0.02, 0.06), rng.uniform(-0.04, 0.04), 0.0])
        self.acc_bias = rng.normal(0.0, 0.01, 3)
        self.gyr_bias = rng.normal(0.0, 0.5, 3)
        self._drift = np.zeros(3)
        self._rate = float(rate)
        self._next_t = 0.0
        self.sent_t = -math.inf
        self.samples_read = 0

    @property
    def rate(self) -> float:
        return self._rate

    @rate.setter
    def rate(self, value: float) -> None:
        self._rate = checked_rate(value)

    def read(self, n: int) -> SensorChunk:
        n = int(n)
        if n < 0:
            raise UserError(f"cannot read {n} samples")
        t = self._next_t + np.arange(n) / self._rate
        self._next_t += n / self._rate
        if not n:
            return SensorChunk(t, np.zeros((0, 3)), np.zeros((0, 3)))
        acc, gyr = self.ideal(t)
        acc, gyr = self._imperfect(acc, gyr)
        self.sent_t = float(t[-1])
        self.samples_read += n
        return SensorChunk(t, acc, gyr)

    def ideal(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Noise-free (acc g, gyr deg/s) in the board frame at run times t."""
        ex = self.exerciser
        R0, p0 = ex.pose(self.leg, self.mount, t - _H, self.site, self.offset)
        R1, p1 = ex.pose(self.leg, self.mount, t, self.site, self.offset)
        R2, p2 = ex.pose(self.leg, self.mount, t + _H, self.site, self.offset)
        accel = (p2 - 2.0 * p1 + p0) / (_H * _H)
        accel[:, 2] += G
        f_seg = np.einsum("nji,nj->ni", R1, accel) / G
        W = np.einsum("nji,njk->nik", R1, R2 - R0) / (2.0 * _H)  # R^T dR/dt: skew(omega) in the segment
        w_seg = np.degrees(np.stack([W[:, 2, 1] - W[:, 1, 2], W[:, 0, 2] - W[:, 2, 0], W[:, 1, 0] - W[:, 0, 1]], axis=1) / 2.0)
        M = self.rotation
        return f_seg @ M, w_seg @ M

    def _imperfect(self, acc: np.ndarray, gyr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        m = len(acc)
        scale = math.sqrt(self._rate / 416.0)
        acc = acc + self._rng.normal(0.0, 0.0016 * self.noise * scale, (m, 3)) + self.acc_bias
        step = 0.05 / math.sqrt(60.0 * self._rate)
        drift = self._drift + np.cumsum(self._rng.normal(0.0, step, (m, 3)), axis=0)
        self._drift = drift[-1].copy()
        gyr = gyr + self._rng.normal(0.0, 0.055 * self.noise * scale, (m, 3)) + self.gyr_bias + drift
        return np.clip(acc, -16.0, 16.0), np.clip(gyr, -2000.0, 2000.0)


@dataclass(frozen=True)
class SessionRecording:
    """A whole simulated session read straight from the streams (no radio): what each sensor
    measured, when the leg swings and the sets were called (leg, go, end) and the truth."""

    sensors: list  # (leg, mount, SensorChunk quantised to the sensor's counts)
    swings: list
    sets: list
    truth: list


def record_session(ex: VirtualExerciser, legs=("left", "right"), mounts=("shin",), rate_hz: float = 416.0) -> SessionRecording:
    """The session a `stridecue exercise` plan runs: 4 s, each leg's swings (6 s), each leg's set."""
    streams = [ex.sensor(leg=leg, mount=m, rate_hz=rate_hz) for leg in legs for m in mounts]
    t, swings, sets = 4.0, [], []
    for leg in legs:
        ex.calibrate(t, leg)
        swings.append((leg, t, t + 6.0))
        t += 6.0
    for leg in legs:
        plan = ex.go(t, leg)
        end = max(plan.end, t + ex.set_length_s())
        sets.append((leg, t, end))
        t = end + 4.0
    n = int(t * rate_hz)
    chunks = [_quantised(s.read(n)) for s in streams]
    return SessionRecording([(s.leg, s.mount, c) for s, c in zip(streams, chunks)], swings, sets, ex.truth())


def _quantised(c: SensorChunk) -> SensorChunk:
    """As the sensor's int16 counts have it (+-32 g, +-2000 dps)."""
    acc = np.round(c.acc / (32.0 / 32768.0)) * (32.0 / 32768.0)
    gyr = np.round(c.gyr / (2000.0 / 32768.0)) * (2000.0 / 32768.0)
    return SensorChunk(c.t, acc, gyr)
