"""The legs of the virtual runner: per leg, the thigh's and shank's angles over the gait cycle as
knots of a smooth track (kinematics.KnotTrack), added lazily contact by contact.

During a foot contact the ankle stays where it landed (rolling forward and lifting at push-off) and
the knee is solved from hip and ankle with the shank's frontal-plane angle following the stance's
wobble; in swing the thigh and knee follow published-shape templates that join the stance's rates
at toe-off and the approach's at the next landing.
"""

from __future__ import annotations

import math

import numpy as np

from stridecue.sim.kinematics import KnotTrack, axis_angles, clip, knee_ik, smootherstep
from stridecue.sim.strides import APPROACH_VX, APPROACH_VZ, LANDING_T, LEGS, Contact

# Stance knots (fractions of contact time) and swing knots (fractions of swing time).
_STANCE_S = np.array([0.0, 0.06, 0.14, 0.24, 0.35, 0.47, 0.59, 0.70, 0.80, 0.90, 1.0])
_SWING_KNOT_S = 0.03  # s, about the spacing of the stance knots (even spacing keeps the spline calm)
_STAND_KNOT_S = 0.1
_APPROACH_T = np.array([0.01, 0.02])  # s before initial contact: knots on the leg's approach
_LANDING_KNOTS_S = np.array([0.006, 0.012, 0.018, 0.026, 0.036])  # s after contact: knots that resolve the landing
_KNEE_PEAK_U = 0.49  # fraction of swing at peak knee flexion
_HIP_PEAK_U = 0.62  # fraction of swing at peak thigh flexion
_HIP_FLEX_DEG = (28.0, 6.0)  # peak thigh flexion in a running swing: a + b x speed (deg)
_KNEE_FLEX_DEG = (62.0, 6.0)  # peak knee flexion in a running swing: a + b x speed (deg)
_RATE_HANDOVER_S = (0.10, 0.15)  # s over which the swing takes over toe-off's rates and hands over to the landing's
_TWIST_U = 0.15  # fraction of swing over which the shank's stance twist goes and returns


def _softplus(x, width):
    return width * np.logaddexp(0.0, x / width)


def _swing_path(u, p0, m0, p1, m1, peak, u_peak, w0, w1):
    """An angle over the swing (u in [0, 1]): a smooth blend from p0 to p1, the end rates m0 and m1
    (per unit u) carried only over the first w0 and the last w1 of the swing, and a smooth bump
    u^a (1 - u)^c (a, c >= 2) that brings the angle to `peak` near u_peak.  One smooth motion
    without pieces joined at the peak (no concentrated angular acceleration)."""
    def patch(x, w):  # slope 1 at x = 0; value, slope and curvature 0 from x = w on
        x = clip(x, 0.0, w)
        return x * (1.0 - x / w) ** 3

    def shape(x):
        return p0 + (p1 - p0) * smootherstep(x) + m0 * patch(x, w0) - m1 * patch(1.0 - x, w1)

    u = clip(u, 0.0, 1.0)
    bump = np.sin(np.pi * u ** (math.log(0.5) / math.log(u_peak))) ** 2
    lift = max(peak - float(shape(np.array(u_peak))), 0.0)
    return shape(u) + lift * bump


def _hermite(s, p0, m0, p1, m1):
    """Cubic Hermite on s in [0, 1] from value p0 (slope m0) to p1 (slope m1)."""
    s = clip(s, 0.0, 1.0)
    s2, s3 = s * s, s * s * s
    return (2 * s3 - 3 * s2 + 1) * p0 + (s3 - 2 * s2 + s) * m0 + (-2 * s3 + 3 * s2) * p1 + (s3 - s2) * m1


class LegTracks:
    """knots[leg](t): (n, 6) theta_t, phi_t, psi_t, theta_s, phi_s, psi_s (rad) of the thigh and
    the shank; ensure_knots(leg, t) plans and adds knots until the track is settled beyond t."""

    def __init__(self, settings, build, plan, pelvis):
        self.s = settings
        self.build = build  # strides.Build
        self.plan = plan  # strides.StridePlan
        self.pelvis = pelvis  # pelvis.Pelvis
        self.knots = {leg: KnotTrack(6) for leg in LEGS}  # theta_t, phi_t, psi_t, theta_s, phi_s, psi_s
        self._knot_gen = {leg: self._leg_knots(leg) for leg in LEGS}

    def ensure_knots(self, leg: str, t: float) -> None:
        track = self.knots[leg]
        gen = self._knot_gen[leg]
        while track.settled_until <= t:
            next(gen)

    # -- on the ground ---------------------------------------------------------------------------

    def _contact_angles(self, c: Contact, times: np.ndarray) -> np.ndarray:
        """Leg angles (n, 6) from inverse kinematics while the foot approaches, or is on, the ground.

        Before c.start the ankle descends onto its landing point along a short approach path (so the
        kinematic landing is soft and the impact transient carries the shock); during the contact it
        stays put, rolling forward and lifting late in stance (heel-off), while the shank's frontal
        angle follows the stance's wobble."""
        leg = c.leg
        b = self.build
        medial_y = -1.0 if leg == "left" else 1.0
        self.plan.ensure_steps(float(times[-1]) + 1e-6)
        pel = self.pelvis(times)
        hip = self.pelvis.hip(leg, pel)
        dur = c.end - c.start if math.isfinite(c.end) else math.inf
        s = clip((times - c.start) / dur, 0.0, 1.0) if math.isfinite(dur) else np.zeros(len(times))
        ankle = self._ankle_path(c, times, s, hip)
        if c.kind == "stand":
            wob = np.zeros_like(s)
        else:
            rise = np.sin(0.5 * np.pi * np.minimum(s / 0.42, 1.0)) ** 2
            fall = 1.0 - 0.65 * smootherstep((s - 0.42) / 0.58)
            wob = rise * fall
        theta_f = np.radians(c.frontal_ic_deg + c.wobble_deg * wob)
        knee, ankle = knee_ik(hip, ankle, b.l_shank, b.l_thigh, theta_f, medial_y)
        Ls = (knee - ankle) / b.l_shank
        Lt = (hip - knee) / b.l_thigh
        th_s, ph_s = axis_angles(Ls)
        th_t, ph_t = axis_angles(Lt)
        rot = np.radians(c.internal_rot_deg) * np.sin(0.5 * np.pi * np.minimum(s / 0.7, 1.0)) ** 2 * (1 - 0.6 * smootherstep((s - 0.7) / 0.3))
        int_sign = 1.0 if leg == "right" else -1.0  # internal rotation turns the front toward the midline
        return np.stack([th_t, ph_t, int_sign * 0.5 * rot, th_s, ph_s, int_sign * rot + self._twist(c)], axis=1)

    def _ankle_path(self, c: Contact, times: np.ndarray, s: np.ndarray, hip: np.ndarray) -> np.ndarray:
        """(n, 3) the ankle (world) as the foot approaches, lands on and pushes off the ground
        (s: fraction of the contact)."""
        before = np.maximum(c.start - times, 0.0)
        ankle = np.repeat(c.ankle[None, :], len(times), axis=0)
        # push-off: the foot pivots about the toes, so the ankle moves forward and up ever faster
        # until it leaves the ground with the swing already under way
        push = clip((s - 0.3) / 0.7, 0.0, 1.0) ** 2
        # landing: the heel pad and shoe give, so the ankle's approach speed dies away over the first
        # ~20 ms of contact (v (1 + tau/T) exp(-tau/T): deceleration peaking T after contact)
        after = np.maximum(times - c.start, 0.0)
        settle = 2 * LANDING_T - (2 * LANDING_T + after) * np.exp(-after / LANDING_T)
        vx = APPROACH_VX * c.speed
        ankle[:, 0] += c.roll_m * push - vx * before + vx * settle - vx * 2 * LANDING_T
        ankle[:, 2] += c.lift_m * push + APPROACH_VZ * before - APPROACH_VZ * settle + APPROACH_VZ * 2 * LANDING_T
        if c.kind != "stand":
            # late in a long contact the foot rolls further over its forefoot, just enough that the
            # knee need not straighten beyond ~20 deg (smoothly: a softplus, no kink)
            dyz2 = (hip[:, 1] - ankle[:, 1]) ** 2 + (hip[:, 2] - ankle[:, 2]) ** 2
            reach = self.build.leg_length * math.cos(math.radians(10.0))
            need = hip[:, 0] - np.sqrt(np.maximum(reach**2 - dyz2, 0.04)) - ankle[:, 0]
            width = 0.02
            extra = width * np.logaddexp(0.0, need / width) * (times >= c.start)
            ankle[:, 0] += extra
        return ankle

    def _twist(self, c: Contact) -> float:
        """The shank's stance twist (rad, external: the front turned laterally) of a contact."""
        return 0.0 if c.kind == "stand" else (1.0 if c.leg == "left" else -1.0) * math.radians(self.s.body.stance_twist_deg)

    def _contact_knots(self, c: Contact) -> tuple[np.ndarray, np.ndarray, int]:
        """Approach and stance knots of a contact (computed once), and how many are approach knots.

        The approach knots continue the leg's rates at contact backwards in time."""
        if c.knots is None:
            if c.kind == "stand":
                stance = np.array([0.0, _STAND_KNOT_S])
            else:
                tc = c.end - c.start
                stance = np.union1d(_STANCE_S * tc, _LANDING_KNOTS_S[_LANDING_KNOTS_S < 0.4 * tc])
                stance = stance[np.concatenate([[True], np.diff(stance) > 0.004])]
            times = c.start + stance
            if c.kind == "stand" and c.start <= -10.0:
                c.knots = (times, self._contact_angles(c, times), 0)
                return c.knots
            ang = self._contact_angles(c, np.concatenate([[c.start - 1e-3], times]))
            before, ang = ang[:1], ang[1:]
            # the approach: the leg arrives turning at the rates it has at contact (measured on the
            # foot's descent path over the last millisecond) and keeps them over the last
            # APPROACH_T, so the swing hands over to the landing at the landing's own rates and the
            # spline has no kink to bend around (a knot on the descent path itself made the
            # spline swing by several g just before contact at speed)
            rate = (ang[0] - before[0]) / 1e-3
            c.approach_rate = rate
            app = -_APPROACH_T[::-1]
            app_ang = ang[0] + app[:, None] * rate
            times = np.concatenate([c.start + app, times])
            ang = np.concatenate([app_ang, ang])
            c.knots = (times, ang, len(app))
        return c.knots

    # -- in the air ------------------------------------------------------------------------------

    def _swing_angles(self, t0: float, a0: np.ndarray, m0: np.ndarray, t1: float, a1: np.ndarray, m1: np.ndarray,
                      speed: float, kind: str, twist=(0.0, 0.0)) -> tuple[np.ndarray, np.ndarray]:
        """Swing knots between toe-off (t0, angles a0, rates m0) and the approach (t1, a1, m1).

        Thigh flexion rises to its peak late in swing; the knee flexes to its peak early in swing and
        extends before landing; published shapes, amplitudes growing with speed.  Piecewise cubic
        Hermite segments start and end with the neighbouring rates, so the knots join smoothly."""
        span = t1 - t0
        n = max(int(round(span / _SWING_KNOT_S)), 6)
        u = np.arange(1, n) / n
        times = t0 + u * span
        # flexion angles and their rates (per unit u) at both ends: the swing leaves the stance and
        # joins the approach with their own rates, so the spline has no kink to bend around
        alpha0, alpha1 = -a0[0], -a1[0]
        dalpha0, dalpha1 = -m0[0] * span, -m1[0] * span
        kap0, kap1 = a0[3] - a0[0], a1[3] - a1[0]
        dkap0, dkap1 = (m0[3] - m0[0]) * span, (m1[3] - m1[0]) * span
        if kind == "walk":
            a_max, k_max, k_pk, a_pk = math.radians(25.0), math.radians(60.0), 0.40, 0.6
        else:
            v = max(speed, 1.5)
            a_max = math.radians(_HIP_FLEX_DEG[0] + _HIP_FLEX_DEG[1] * v)
            k_max = math.radians(_KNEE_FLEX_DEG[0] + _KNEE_FLEX_DEG[1] * v)
            k_pk, a_pk = _KNEE_PEAK_U, _HIP_PEAK_U
        a_max = max(a_max, alpha1 + math.radians(4.0))
        w0, w1 = min(_RATE_HANDOVER_S[0] / span, 0.4), min(_RATE_HANDOVER_S[1] / span, 0.4)
        alpha = _swing_path(u, alpha0, dalpha0, alpha1, dalpha1, a_max, a_pk, w0, w1)
        kappa = _swing_path(u, kap0, dkap0, kap1, dkap1, k_max, k_pk, w0, w1)
        kappa = math.radians(3.0) + _softplus(kappa - math.radians(3.0), math.radians(2.0))  # no hyperextension
        th_t = -alpha
        th_s = kappa + th_t
        ph_t = _hermite(u, a0[1], m0[1] * span, a1[1], m1[1] * span)
        ph_s = _hermite(u, a0[4], m0[4] * span, a1[4], m1[4] * span)
        ps_t = _hermite(u, a0[2], m0[2] * span, a1[2], m1[2] * span)
        # the stance twist (rad) leaves over the first _TWIST_U of swing and returns over the last
        leave, back = 1.0 - smootherstep(u / _TWIST_U), smootherstep((u - 1.0 + _TWIST_U) / _TWIST_U)
        ps_s = _hermite(u, a0[5] - twist[0], m0[5] * span, a1[5] - twist[1], m1[5] * span) + twist[0] * leave + twist[1] * back
        return times, np.stack([th_t, ph_t, ps_t, th_s, ph_s, ps_s], axis=1)

    # -- the track, contact by contact -----------------------------------------------------------

    def _leg_knots(self, leg: str):
        """Adds a leg's knots to its track, one stretch per next(): a contact's stance knots (a
        standing contact's every 0.1 s while it lasts), then the swing to the next contact and that
        contact's approach."""
        track = self.knots[leg]
        plan = self.plan
        k = 0
        while True:
            plan.ensure_contacts(leg, k)
            c = plan.contacts[leg][k]
            if c.kind == "stand":
                times, ang = yield from self._standing_knots(track, c)
            else:
                times, ang, n = self._contact_knots(c)
                times, ang = times[n:], ang[n:]
                track.append(times, ang)
                c.knots = None  # in the track now; long runs keep no copies
            t0, a0 = times[-1], ang[-1]
            m0 = (ang[-1] - ang[-2]) / (times[-1] - times[-2])
            yield
            if not plan.ensure_contacts(leg, k + 1):
                return
            nxt = plan.contacts[leg][k + 1]
            at, aa, n_app = self._contact_knots(nxt)
            m1 = nxt.approach_rate if nxt.approach_rate is not None else (aa[1] - aa[0]) / (at[1] - at[0])
            if nxt.kind == "stand":
                speed, kind = max(c.speed, 1.0), c.kind if c.kind != "stand" else "walk"
            else:
                speed, kind = nxt.speed, nxt.kind
            times, ang = self._swing_angles(t0, a0, m0, at[0], aa[0], m1, speed, kind, (self._twist(c), self._twist(nxt)))
            track.append(times, ang)
            track.append(at[:n_app], aa[:n_app])
            k += 1

    def _standing_knots(self, track: KnotTrack, c: Contact):
        """A standing contact's knots: every 0.1 s, lazily (ten per next()) while it lasts, then its
        end.  Returns the last two knots (times, angles) that the swing after it starts from."""
        if c.start > -10.0:  # landed from a swing (its approach knots came with the swing)
            times, ang, n = self._contact_knots(c)
            track.append(times[n : n + 1], ang[n : n + 1])
        t = c.start + (_STAND_KNOT_S if c.start > -10.0 else 0.0)
        while True:
            if math.isfinite(c.end) and t >= c.end - 0.5 * _STAND_KNOT_S:
                break
            times = t + _STAND_KNOT_S * np.arange(10)
            if math.isfinite(c.end):
                times = times[times < c.end - 0.5 * _STAND_KNOT_S]
            track.append(times, self._contact_angles(c, times))
            t = times[-1] + _STAND_KNOT_S
            yield
        times = np.array([c.end - 0.5 * _STAND_KNOT_S, c.end])
        ang = self._contact_angles(c, times)
        track.append(times[1:], ang[1:])
        return times, ang
