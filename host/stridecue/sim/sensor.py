"""The virtual sensor: samples of one IMU strapped on a segment of the virtual runner, and the truth
of the stances it saw.

SensorStream.read(n) generates the next n samples on demand, in blocks about a stride ahead of the
reader: the segment's kinematic specific force and angular rate (motion.RunnerBody), the impact
transient at each initial contact (impact.py) held in the world, then the board's rotation and the
sensor's imperfections: noise, bias, gyro drift, range clipping, timing jitter and clock error.
`truth` measures each completed stance on the noise-free model with the shared definitions
(docs/metrics.md).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from stridecue.errors import UserError
from stridecue.sim.impact import IMPACT_SPAN, impact_shape, pulse, vibration
from stridecue.sim.kinematics import clip, frontal_angle, long_axis
from stridecue.sim.motion import sensor_site
from stridecue.sim.taps import Taps

_FINE = np.arange(-0.004, 0.00401, 0.0005)  # s, the truth's fine grid about a coarse peak


def checked_rate(value: float) -> float:
    """A virtual IMU's output data rate as the firmware may set it (10-7000 Hz), else UserError."""
    value = float(value)
    if not (math.isfinite(value) and 10.0 <= value <= 7000.0):
        raise UserError(f"sensor rate {value!r} Hz is outside 10-7000 Hz")
    return value


# --------------------------------------------------------------------------------------------
# ground truth


@dataclass(frozen=True)
class StrideTruth:
    """One completed stance of one leg, measured on the model with the shared definitions."""

    kind: str  # "run" | "walk"
    leg: str
    mount: str
    ic_t: float
    to_t: float
    contact_time_s: float
    stride_time_s: float | None  # this IC - previous IC of the same leg (None for the first of a bout)
    cadence_spm: float | None
    speed_mps: float
    wobble_deg: float
    wobble_rate_dps: float
    pta_axial_g: float
    pta_resultant_g: float
    loading_rate_gps: float


class SensorChunk(NamedTuple):
    """The next samples of a virtual sensor: t (n,) s, acc (n, 3) g, gyr (n, 3) deg/s, board frame."""

    t: np.ndarray
    acc: np.ndarray
    gyr: np.ndarray



# --------------------------------------------------------------------------------------------
# the sensor


class SensorStream:
    """Samples of one virtual IMU, generated on demand: read(n) gives the next n samples.

    t: seconds of run time at which each sample was taken (with clock error and jitter if asked);
    acc in g including gravity, gyr in deg/s, both in the board's frame.  `rate` may be changed
    between reads.  `truth` lists the completed stances of this leg up to the last sample read.
    Made by VirtualRunner.sensor(), which checks the options; `runner` is that VirtualRunner.
    """

    _BLOCK_S = 0.5
    _LONG_BLOCK_S = 10.0

    def __init__(self, runner, leg, mount, M, rate, *, noise, acc_bias, gyr_bias, gyro_drift,
                 accel_range, gyro_range, jitter, clock_ppm, rngs, site, offset=None):
        self.runner = runner
        self.leg = leg
        self.mount = mount
        self.rotation = M  # board -> segment
        self.noise = noise
        self.acc_bias = acc_bias
        self.gyr_bias = gyr_bias
        self.gyro_drift = gyro_drift
        self.accel_range = accel_range
        self.gyro_range = gyro_range
        self.jitter = jitter
        self.clock_ppm = clock_ppm
        self._rng_acc, self._rng_gyr, self._rng_drift, self._rng_jit = rngs
        self.site = site  # fraction of the segment's length from its distal end
        self.offset = offset  # (3,) m from the long axis in the segment frame (None: the standard site's)
        self._rate = rate
        self._body = runner.body
        self._t0 = 0.0  # nominal time of sample _k0
        self._k0 = 0
        self._k = 0  # samples produced into the buffer
        self._buf_t = np.zeros(0)
        self._buf_acc = np.zeros((0, 3))
        self._buf_gyr = np.zeros((0, 3))
        self._pos = 0
        self._drift_state = np.zeros(3)
        self._last_read_t = -math.inf
        self.samples_read = 0
        self._truth: list[StrideTruth] = []
        self._truth_k = 0
        taps = runner.settings.taps_s
        self._taps = Taps(taps, seed=runner.seed) if taps else None

    # rate -------------------------------------------------------------------------------------

    @property
    def rate(self) -> float:
        return self._rate

    @rate.setter
    def rate(self, value: float) -> None:
        value = checked_rate(value)
        if value == self._rate:
            return
        # samples not yet read are taken again at the new rate
        unread = len(self._buf_t) - self._pos
        k_next = self._k - unread
        t_next = self._nominal_time(k_next)
        self._buf_t = self._buf_t[: self._pos]
        self._buf_acc = self._buf_acc[: self._pos]
        self._buf_gyr = self._buf_gyr[: self._pos]
        self._k = k_next
        self._k0 = k_next
        self._t0 = t_next - 1.0 / self._rate + 1.0 / value if k_next > 0 else 0.0
        self._rate = value

    def _nominal_time(self, k):
        return self._t0 + (np.asarray(k) - self._k0) / self._rate

    # reading ---------------------------------------------------------------------------------

    def read(self, n: int) -> SensorChunk:
        n = int(n)
        if n < 0:
            raise UserError(f"cannot read {n} samples")
        parts_t, parts_a, parts_g = [], [], []
        need = n
        while need > 0:
            avail = len(self._buf_t) - self._pos
            if avail <= 0:
                self._generate(need)
                continue
            take = min(avail, need)
            sl = slice(self._pos, self._pos + take)
            parts_t.append(self._buf_t[sl])
            parts_a.append(self._buf_acc[sl])
            parts_g.append(self._buf_gyr[sl])
            self._pos += take
            need -= take
        if len(parts_t) == 1:
            chunk = SensorChunk(parts_t[0].copy(), parts_a[0].copy(), parts_g[0].copy())
        elif parts_t:
            chunk = SensorChunk(np.concatenate(parts_t), np.concatenate(parts_a), np.concatenate(parts_g))
        else:
            chunk = SensorChunk(np.zeros(0), np.zeros((0, 3)), np.zeros((0, 3)))
        self.samples_read += n
        if n:
            self._last_read_t = float(chunk.t[-1])
        return chunk

    def _generate(self, wanted: int) -> None:
        # small blocks keep the runner's plan about a stride ahead of the reader (cues act on the
        # strides after them); a caller reading a long stretch at once gets it in larger blocks
        m = max(1, int(math.ceil(self._BLOCK_S * self._rate)), min(wanted, int(self._LONG_BLOCK_S * self._rate)))
        k = self._k + np.arange(m)
        t = self._nominal_time(k) * (1.0 + 1e-6 * self.clock_ppm)
        if self.jitter:
            t = t + self._rng_jit.normal(0.0, self.jitter, m)
        acc, gyr = self.ideal(t)
        if self._taps is not None:
            self._taps.add(t, acc, gyr)
        acc, gyr = self._imperfect(acc, gyr)
        self._buf_t, self._buf_acc, self._buf_gyr = t, acc, gyr
        self._pos = 0
        self._k += m
        self.runner._forget_history()

    def board_pose(self, t) -> tuple[np.ndarray, np.ndarray]:
        """(R (n, 3, 3) board -> world, sensor position (n, 3) m in the world) at run times t: the
        kinematics the signals come from (world: x forward, y left, z up)."""
        t = np.atleast_1d(np.asarray(t, float))
        body = self._body
        body.ensure_steps(float(t.max()) + 0.05)
        body.ensure_knots(self.leg, float(t.max()) + 0.05)
        offset = sensor_site(self.leg, self.mount)[1] if self.offset is None else self.offset
        R, p, _ = body.segment_state(self.leg, self.mount, t, offset, self.site)
        return R @ self.rotation, p

    def ideal(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Noise-free, unclipped (acc g, gyr dps) in the board frame at times t (any order)."""
        acc_seg, gyr_seg, _ = self._segment_signals(np.asarray(t, float))
        Mt = self.rotation.T
        return acc_seg @ Mt.T, gyr_seg @ Mt.T

    def _segment_signals(self, t: np.ndarray):
        """Specific force (g) and angular rate (dps) in the segment frame, and the long axis."""
        body = self._body
        contacts = body.contacts[self.leg]
        starts = body.contact_starts[self.leg]
        t_lo, t_hi = float(t.min()), float(t.max())
        body.ensure_steps(t_hi + 0.05)
        body.ensure_knots(self.leg, t_hi + 0.05)
        lo = max(bisect.bisect_right(starts, t_lo - IMPACT_SPAN) - 1, 0)
        hi = bisect.bisect_right(starts, t_hi)
        near = contacts[lo:hi]
        # impacts not yet sized: their shin axial acceleration rides along with this evaluation
        unsized = [c for c in near if c.impact_amp is None and c.start <= t_hi]
        t_pk = np.array([c.start + impact_shape(self.runner.settings.body, 'shin').peak_s for c in unsized])
        if unsized and self.mount == "shin":
            f_seg, gyr, L = body.kinematic_signals(self.leg, self.mount, np.concatenate([t, t_pk]), self.site, self.offset)
            if self.site != sensor_site(self.leg, "shin")[0] or self.offset is not None:
                f_seg[len(t):], _, _ = body.kinematic_signals(self.leg, "shin", t_pk)
            body.size_impacts(unsized, f_seg[len(t):, 2])
            f_seg, gyr, L = f_seg[: len(t)], gyr[: len(t)], L[: len(t)]
        else:
            if unsized:
                f_pk, _, _ = body.kinematic_signals(self.leg, "shin", t_pk)
                body.size_impacts(unsized, f_pk[:, 2])
            f_seg, gyr, L = body.kinematic_signals(self.leg, self.mount, t, self.site, self.offset)
        self._add_impacts(t, f_seg, gyr, near, lo)
        return f_seg, gyr, L

    def _add_impacts(self, t: np.ndarray, f_seg: np.ndarray, gyr: np.ndarray, near: list, lo: int) -> None:
        if not near:
            return
        idx = np.searchsorted(np.array([c.start for c in near]), t, side="right") - 1
        live = idx >= 0
        amp_c = np.array([c.impact_amp if c.impact_amp is not None else 0.0 for c in near])
        start_c = np.array([c.start for c in near])
        atten, width, delay, st_freq, st_decay, st_gain, st_axial, st_dps = impact_shape(self.runner.settings.body, self.mount)
        tau = t[live] - start_c[idx[live]] - delay
        amp = atten * amp_c[idx[live]]
        # the bone's shock: a pulse along the long axis (a little along the anterior axis, and a
        # jolt of the segment's rotation); the soft tissue under the sensor rings on after it
        main = pulse(tau, width)
        ring = vibration(tau - 0.004, st_freq, st_decay)
        ring2 = vibration(tau - 0.010, st_freq * 1.3, st_decay)
        shock = np.empty((len(tau), 3))
        shock[:, 2] = amp * (main + st_axial * st_gain * ring2)
        shock[:, 0] = amp * (-0.3 * pulse(tau - 0.003, 0.8 * width) + st_gain * ring)
        shock[:, 1] = amp * 0.6 * st_gain * ring2
        # The shock's shapes have zero integral; held in the world (in the segment's frame at the
        # impact) they leave the sensor's velocity as the kinematics have it.  In the turning segment
        # frame they would not: the shank turns 20-40 deg during the 0.25 s transient.
        offset = sensor_site(self.leg, self.mount)[1] if self.offset is None else self.offset
        R_t, _, _ = self._body.segment_state(self.leg, self.mount, t[live], offset, self.site)
        R_c, _, _ = self._body.segment_state(self.leg, self.mount, start_c + delay, offset, self.site)
        f_seg[live] += np.einsum("nji,njk,nk->ni", R_t, R_c[idx[live]], shock)
        gyr[live, 1] += amp * (12.0 * pulse(tau - 0.002, 0.7 * width) + st_dps * ring)
        gyr[live, 0] += amp * 0.5 * st_dps * ring2

    def _imperfect(self, acc: np.ndarray, gyr: np.ndarray):
        m = len(acc)
        scale = math.sqrt(self._rate / 416.0)
        if self.noise:
            acc = acc + self._rng_acc.normal(0.0, 0.0016 * self.noise * scale, (m, 3))
            gyr = gyr + self._rng_gyr.normal(0.0, 0.055 * self.noise * scale, (m, 3))
        acc = acc + self.acc_bias
        drift = np.zeros((m, 3))
        if self.gyro_drift:
            step_sd = self.gyro_drift / math.sqrt(60.0 * self._rate)
            drift = self._drift_state + np.cumsum(self._rng_drift.normal(0.0, step_sd, (m, 3)), axis=0)
            self._drift_state = drift[-1].copy()
        gyr = gyr + self.gyr_bias + drift
        if self.accel_range is not None:
            acc = clip(acc, -self.accel_range, self.accel_range)
        if self.gyro_range is not None:
            gyr = clip(gyr, -self.gyro_range, self.gyro_range)
        return acc, gyr

    # truth -----------------------------------------------------------------------------------

    @property
    def truth(self) -> list[StrideTruth]:
        """The completed stances of this leg up to the last sample read, in time order (measured
        when asked for, many at a time: cheaper than stride by stride)."""
        self._update_truth()
        return self._truth

    def _update_truth(self) -> None:
        contacts = self._body.contacts[self.leg]
        done = []
        while self._truth_k < len(contacts):
            c = contacts[self._truth_k]
            if c.end > self._last_read_t:
                break
            self._truth_k += 1
            if c.kind in ("run", "walk"):
                done.append(c)
        if done:
            self._truth.extend(self.measure(done))

    def measure(self, contacts: list) -> list[StrideTruth]:
        """Ground truth of stances from the model (noise-free, unclipped, continuous time): the
        frontal angle every 2 ms over the stance; the accelerations every 4 ms over its first half,
        then every 0.5 ms within 4 ms of the axial and the resultant peaks."""
        body = self._body
        st_grids = [np.linspace(c.start, c.end, max(int((c.end - c.start) * 500), 40)) for c in contacts]
        ang = body.knots[self.leg](np.concatenate(st_grids))
        col = 3 if self.mount == "shin" else 0
        medial_y = -1.0 if self.leg == "left" else 1.0
        theta_all = np.degrees(frontal_angle(long_axis(ang[:, col], ang[:, col + 1]), medial_y,
                                             proximal_up=(self.mount == "shin")))
        coarse = [np.arange(c.start, 0.5 * (c.start + c.end) + 1e-9, 0.004) for c in contacts]
        f_c, _, _ = self._segment_signals(np.concatenate(coarse))
        fine, k = [], 0
        for g in coarse:
            f = f_c[k : k + len(g)]
            k += len(g)
            axial_t, res_t = g[int(np.argmax(f[:, 2]))], g[int(np.argmax(np.linalg.norm(f, axis=1)))]
            fine.append(np.clip(np.concatenate([axial_t + _FINE, res_t + _FINE]), g[0], g[-1]))
        f_f, _, _ = self._segment_signals(np.concatenate(fine))
        out = []
        ks = kc = kf = 0
        for c, g_st, g_c, g_f in zip(contacts, st_grids, coarse, fine):
            theta = theta_all[ks : ks + len(g_st)]
            ks += len(g_st)
            grid = np.concatenate([g_c, g_f])
            f_seg = np.concatenate([f_c[kc : kc + len(g_c)], f_f[kf : kf + len(g_f)]])
            kc += len(g_c)
            kf += len(g_f)
            tc = c.end - c.start
            wobble = float(np.max(theta - theta[0]))
            rate = float(np.max(np.gradient(theta, g_st)))
            i = int(np.argmax(f_seg[:, 2]))
            pta = float(f_seg[i, 2])
            res = float(np.max(np.linalg.norm(f_seg, axis=1)))
            dt = grid[i] - c.start
            lr = (pta - f_seg[0, 2]) / dt if dt > 0 else 0.0
            stride = c.start - c.prev_ic if c.prev_ic is not None else None
            out.append(StrideTruth(kind=c.kind, leg=self.leg, mount=self.mount, ic_t=c.start, to_t=c.end, contact_time_s=tc,
                                   stride_time_s=stride, cadence_spm=120.0 / stride if stride else None, speed_mps=c.speed,
                                   wobble_deg=wobble, wobble_rate_dps=rate, pta_axial_g=pta, pta_resultant_g=res,
                                   loading_rate_gps=float(lr)))
        return out
