"""A population of virtual bodies that do not share the analysis's assumptions.

The analysis (`stridecue.analysis.alignment`) assumes a typical posture: the shank about vertical
and the thigh flexed by 28 deg at initial contact, a shank that rotates in stance about the same
axis as in swing.  A simulator built on those same numbers can only confirm them.  A `Body` says how
one runner's legs actually move and how the strap sits on them; `stridecue.sim.population` draws
many, seeded, from the published ranges here, that do not centre on the analysis's priors, and none equal to them.

Every range below gives its unit and where it comes from.  Where no single paper gives the range,
it says "typical range" and names a source that shows values of that size; the draws are meant to
cover real runners widely, not to reproduce one study's distribution.

    from stridecue.sim.population import population
    for member in population(30, seed=2026):
        runner = VirtualRunner(member.settings(), seed=member.seed)
        stream = runner.sensor(leg=member.leg, mount="shin", **member.sensor_kwargs("shin"))
"""

from __future__ import annotations

from dataclasses import dataclass

from stridecue.errors import UserError

STRIKES = ("rearfoot", "midfoot", "forefoot")
SIDES = ("anterior", "lateral", "medial")

# --------------------------------------------------------------------------------------------
# published ranges (units in the names; sources in the comments)

#: Running speed, m/s: recreational training to fast road pace (Cavanagh & Kram 1989, Med Sci
#: Sports Exerc 21:467, studied 3.1-4.8 m/s; Novacheck 1998, Gait Posture 7:77, 3.2-3.9 m/s).
SPEED_MPS = (2.5, 5.0)
#: Cadence, steps/min: Cavanagh & Kram 1989 (stride frequency rises only a little with speed over
#: their range, most of the speed comes from stride length); typical range 150-190.
CADENCE_SPM = (150.0, 190.0)
#: Ground contact time, s: typical range at 2.5-5 m/s, shorter the faster (e.g. Weyand et al. 2000,
#: J Appl Physiol 89:1991: contact time falls with speed, ~0.2-0.3 s at these speeds).
CONTACT_S = (0.18, 0.32)
#: Sagittal inclination of the shank at initial contact, deg, positive when the knee is ahead of the
#: ankle.  Typical range: rearfoot strikers land with the foot ahead of the knee (negative), forefoot
#: strikers with a more upright or forward shank (Lieberman et al. 2010, Nature 463:531, report the
#: different ankle and knee angles at contact of the two strikes).  The analysis assumes +2.
SHANK_IC_DEG = {"rearfoot": (-5.0, 7.0), "midfoot": (-2.0, 10.0), "forefoot": (2.0, 12.0)}
#: Thigh inclination at contact, deg (negative: the knee ahead of the hip, hip flexed).  Typical
#: range -15..-35 around Novacheck 1998's ~25-30 deg hip flexion at contact.  The analysis assumes -28.
THIGH_IC_DEG = (-35.0, -15.0)
#: Knee flexion at contact (shank - thigh inclination), deg: typical range 15-40 (Novacheck 1998
#: shows about 20 deg at contact in running); below 15 deg the model's leg would be straight.
KNEE_IC_DEG = (15.0, 40.0)
#: Shank and thigh at contact also place the foot ahead of the hip; that distance must suit the
#: speed and contact time (the pelvis travels v x contact time over the foot).  The model's
#: relation (scenario.default_foot_ahead, ~0.2 m at 3.3 m/s) times this factor bounds it: over- and
#: under-striders.  Above 1.3 (an overstrider; with a slow cadence) the model's swing, whose
#: templates scale with speed and not with the foot's reach, turns the shank forward more slowly
#: than the landing turns it back (seed 2026's body09 of an earlier draw: 360 against 420 deg/s), so
#: the model is out of its range there; real shanks swing faster than they turn in stance.
FOOT_AHEAD_FACTOR = (0.65, 1.3)
#: ... and the pelvis can pass the landed ankle by at most this much over a stance, m (speed x
#: contact time - foot ahead at contact): about what a 1.75 m runner's leg reaches at toe-off with
#: the heel lifted and the foot rolled over the forefoot (the model's runner reaches 0.73 m at 5 m/s).
PASS_OVER_M = 0.75
#: Frontal-plane (valgus) excursion of the segment in stance, deg.  Typical range: peak knee
#: abduction/valgus excursions of 2-15 deg in runners with and without patellofemoral pain
#: (Willson & Davis 2008, Clin Biomech 23:203; Souza 2016, Phys Med Rehabil Clin N Am 27:217).
VALGUS_DEG = (2.0, 15.0)
#: Frontal angle of the shank at contact, deg (negative: varus).  Typical range: the shank lands
#: slightly varus and moves toward valgus (Willson & Davis 2008).
FRONTAL_IC_DEG = (-5.0, 1.0)
#: The shank's stance twist, deg: external rotation of the tibia about its long axis during stance
#: relative to its swing, so that the axis it rotates about in stance (set by the planted, toed-out
#: foot) is turned from its swing (knee-hinge) axis.  Typical range 3-12: a foot progression angle
#: of a few to ~10 deg toe-out and 5-10 deg of tibial rotation over stance (Reinschmidt et al. 1997,
#: J Biomech 30:729, bone-pin tibial rotation in running).
STANCE_TWIST_DEG = (3.0, 12.0)
#: Soft-tissue (strap) ringing after impact, Hz: typical range 10-20 for a strapped IMU (leg soft
#: tissue vibrates at roughly 10-50 Hz after heel strike: Wakeling & Nigg 2001, J Appl Physiol
#: 90:412; attachment resonances of skin-mounted sensors: Forner-Cordero et al. 2008, Physiol Meas
#: 29:N21).  The thigh's larger muscle mass rings lower.
SHIN_TISSUE_HZ = (13.0, 20.0)
THIGH_TISSUE_HZ = (10.0, 16.0)
#: Decay and size of that ringing relative to the model's standard strap (tight to loose).
TISSUE_DECAY_SCALE = (0.6, 1.6)
TISSUE_GAIN_SCALE = (0.6, 1.6)
#: Peak tibial acceleration relative to the model's speed relation (3 + 1.3 v g), by strike: the
#: forefoot landing has no sharp impact transient (Lieberman et al. 2010); the individual factor is a
#: typical between-runner spread of PTA.
STRIKE_LOAD = {"rearfoot": 1.0, "midfoot": 0.85, "forefoot": 0.7}
LOAD_SPREAD = (0.75, 1.3)
#: The bone pulse widens from a rearfoot to a forefoot landing (a softer, later loading).
STRIKE_WIDTH = {"rearfoot": 1.0, "midfoot": 1.25, "forefoot": 1.6}
#: Strike shares of the population: more non-rearfoot strikers than in road races (about 75-90 %
#: rearfoot: Hasegawa et al. 2007, J Strength Cond Res 21:888; Larson et al. 2011, Med Sci Sports
#: Exerc 43:296), so that each strike is tested.
STRIKE_SHARE = {"rearfoot": 0.5, "midfoot": 0.25, "forefoot": 0.25}
#: Strap site along the segment, fraction of its length from the distal end.
SITE = {"shin": (0.2, 0.6), "thigh": (0.3, 0.7)}
#: Distance of the board from the bone's axis, m (segment radius: shank ~4-5 cm, thigh ~6-8 cm).
RADIUS_M = {"shin": (0.035, 0.05), "thigh": (0.06, 0.085)}
#: Where around the segment: deg from anterior toward lateral (medial negative), +-25 deg per side.
SIDE_DEG = {"anterior": 0.0, "lateral": 90.0, "medial": -90.0}

#: The analysis's priors (alignment.py), which no body may equal: a body within this many degrees of
#: one is drawn again.
PRIOR_IC_DEG = {"shin": 2.0, "thigh": -28.0}
PRIOR_MARGIN_DEG = 0.5
#: Shank and thigh length of the default 1.75 m runner, m (Winter's proportions, 0.246 and 0.245 H).
LEG_SEGMENT_M = 0.2455 * 1.75


@dataclass(frozen=True)
class Body:
    """How one runner's legs move beyond RunnerSettings' pace and wobble (degrees, seconds, Hz).

    shank_ic_deg / thigh_ic_deg: sagittal inclination at initial contact (positive: proximal end
        ahead) at posture_speed_mps (None: the runner's own speed, RunnerSettings.speed_mps); the model places foot and pelvis
        so that the leg lands so.  At other speeds of the same run (the ramps from and to standing)
        the shank keeps its angle and the foot lands further ahead the faster (default_foot_ahead),
        which sets the thigh.  Mid-stance inclination follows from the landing, the speed and the
        contact time (it is measured, not set).
    stance_twist_deg: external rotation of the shank about its long axis in stance relative to its
        swing; it builds over the last 15 % of swing and goes over the first 15 % after toe-off.
    strike: "rearfoot", "midfoot" or "forefoot": the impact's width (STRIKE_WIDTH).
    shin_tissue_hz, thigh_tissue_hz, tissue_decay_scale, tissue_gain_scale: the strap's soft tissue.
    """

    name: str = "default"
    shank_ic_deg: float = -2.0
    thigh_ic_deg: float = -29.0
    posture_speed_mps: float | None = 3.3
    stance_twist_deg: float = 6.0
    strike: str = "rearfoot"
    shin_tissue_hz: float = 18.0
    thigh_tissue_hz: float = 11.0
    tissue_decay_scale: float = 1.0
    tissue_gain_scale: float = 1.0

    def __post_init__(self):
        def need(ok, message):
            if not ok:
                raise UserError(f"body {self.name!r}: {message}")

        need(self.strike in STRIKES, f"strike {self.strike!r} is not one of {', '.join(STRIKES)}")
        need(-15.0 <= self.shank_ic_deg <= 20.0, f"shank inclination at contact {self.shank_ic_deg} deg is outside -15..20")
        need(-45.0 <= self.thigh_ic_deg <= -5.0, f"thigh inclination at contact {self.thigh_ic_deg} deg is outside -45..-5")
        need(12.0 <= self.shank_ic_deg - self.thigh_ic_deg <= 45.0,
             f"knee flexion at contact {self.shank_ic_deg - self.thigh_ic_deg:g} deg is outside 12-45")
        need(0.0 <= self.stance_twist_deg <= 20.0, f"stance twist {self.stance_twist_deg} deg is outside 0-20")
        need(5.0 <= self.shin_tissue_hz <= 40.0 and 5.0 <= self.thigh_tissue_hz <= 40.0, "soft tissue outside 5-40 Hz")
        need(0.2 <= self.tissue_decay_scale <= 3.0 and 0.0 <= self.tissue_gain_scale <= 3.0, "soft tissue scale outside its range")

    @property
    def impact_width_scale(self) -> float:
        return STRIKE_WIDTH[self.strike]



#: The runner `stridecue run --simulate` and RunnerSettings() use: a rearfoot striker whose shank
#: leans 2 deg back (knee behind the ankle) and whose thigh is flexed 29 deg at contact at 3.3 m/s
#: (the analysis assumes +2 and -28; the model's runner before bodies landed with about 0 and -27,
#: the foot 0.2 m ahead of the hip), and whose shank turns 6 deg about its long axis in stance.
#: Postures further off made the model's landing rougher at 4.5-6 m/s (acceleration steps of 0.2 g
#: per 0.2 ms just before contact with -3/-24) or its swing slower than its tests' published range
#: (380 deg/s at 2 m/s with +6/-32).
DEFAULT_BODY = Body()
