"""A population of virtual runners: bodies (stridecue.sim.bodies) drawn from the published ranges
there, each with its pace and a strap on each mount, seeded; none shares the analysis's priors.

    from stridecue.sim.population import population
    for member in population(30, seed=2026):
        runner = VirtualRunner(member.settings(), seed=member.seed)
        stream = runner.sensor(leg=member.leg, mount="shin", **member.sensor_kwargs("shin"))
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from stridecue.errors import UserError

from stridecue.sim.bodies import (
    Body, CADENCE_SPM, CONTACT_S, FOOT_AHEAD_FACTOR, FRONTAL_IC_DEG, KNEE_IC_DEG, LEG_SEGMENT_M,
    LOAD_SPREAD, PASS_OVER_M, PRIOR_IC_DEG, PRIOR_MARGIN_DEG, RADIUS_M, SHANK_IC_DEG,
    SHIN_TISSUE_HZ, SIDES, SIDE_DEG, SITE, SPEED_MPS, STANCE_TWIST_DEG, STRIKES, STRIKE_LOAD,
    STRIKE_SHARE, THIGH_IC_DEG, THIGH_TISSUE_HZ, TISSUE_DECAY_SCALE, TISSUE_GAIN_SCALE, VALGUS_DEG,
)
from stridecue.sim.runner import RunnerSettings
from stridecue.sim.scenario import default_foot_ahead, default_landing_g


@dataclass(frozen=True)
class Strap:
    """Where and how a board sits on a segment.

    site: fraction of the segment's length from its distal end; angle_deg: around the segment from
    anterior (0) toward lateral (+90; medial -90); radius_m: from the bone's axis; rotation: the
    board's rotation (board -> segment), as a quaternion (x, y, z, w), any orientation."""

    site: float
    angle_deg: float
    radius_m: float
    rotation: tuple[float, float, float, float]

    @property
    def side(self) -> str:
        return min(SIDES, key=lambda s: abs(self.angle_deg - SIDE_DEG[s]))

    def offset(self, leg: str) -> np.ndarray:
        """(3,) m in the segment frame (x anterior, y left): lateral is +y on the left leg."""
        lateral = 1.0 if leg == "left" else -1.0
        a = math.radians(self.angle_deg)
        return np.array([self.radius_m * math.cos(a), lateral * self.radius_m * math.sin(a), 0.0])

    def matrix(self) -> np.ndarray:
        from scipy.spatial.transform import Rotation

        return Rotation.from_quat(self.rotation).as_matrix()


@dataclass(frozen=True)
class PopulationRunner:
    """One member of the population: pace, wobble and landing load, body, straps, a seed."""

    index: int
    seed: int
    leg: str
    speed_mps: float
    cadence_spm: float
    contact_time_s: float
    wobble_deg: float
    frontal_ic_deg: float
    landing_g: float
    body: Body
    straps: dict = field(default_factory=dict)  # mount -> Strap

    def settings(self, segments: tuple | None = None):
        """RunnerSettings of this runner (segments: the schedule; default stand 3 s, then run)."""
        extra = {"segments": segments} if segments is not None else {}
        return RunnerSettings(speed_mps=self.speed_mps, cadence_spm=self.cadence_spm, contact_time_s=self.contact_time_s,
                              wobble_deg=self.wobble_deg, frontal_ic_deg=self.frontal_ic_deg, landing_g=self.landing_g,
                              body=self.body, **extra)

    def sensor_kwargs(self, mount: str) -> dict:
        """runner.sensor() options for this runner's strap on a mount."""
        strap = self.straps[mount]
        return {"rotation": strap.matrix(), "site": strap.site, "offset_m": strap.offset(self.leg)}

    def describe(self) -> dict:
        """Parameters as plain numbers (for reports)."""
        d = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(self).items() if k not in ("body", "straps")}
        d.update({k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(self.body).items()})
        for mount, s in self.straps.items():
            d[f"{mount}_strap"] = {"site": round(s.site, 3), "side": s.side, "angle_deg": round(s.angle_deg, 1),
                                   "radius_m": round(s.radius_m, 3)}
        return d


def _strap(rng: np.random.Generator, mount: str) -> Strap:
    from scipy.spatial.transform import Rotation

    side = SIDES[int(rng.integers(len(SIDES)))]
    return Strap(site=float(rng.uniform(*SITE[mount])), angle_deg=float(SIDE_DEG[side] + rng.uniform(-25.0, 25.0)),
                 radius_m=float(rng.uniform(*RADIUS_M[mount])),
                 rotation=tuple(float(q) for q in Rotation.random(random_state=rng).as_quat()))


def _near_prior(shank: float, thigh: float) -> bool:
    return (abs(shank - PRIOR_IC_DEG["shin"]) < PRIOR_MARGIN_DEG or abs(thigh - PRIOR_IC_DEG["thigh"]) < PRIOR_MARGIN_DEG)


def draw_runner(rng: np.random.Generator, index: int, seed: int) -> PopulationRunner:
    """One runner drawn from the ranges above (rejection keeps the joint constraints)."""
    strike = str(rng.choice(STRIKES, p=[STRIKE_SHARE[s] for s in STRIKES]))
    speed = float(rng.uniform(*SPEED_MPS))
    while True:  # cadence rises a little with speed; contact time falls with it
        cadence = 150.0 + 12.0 * (speed - SPEED_MPS[0]) + float(rng.normal(0.0, 8.0))
        tc = 0.245 * (speed / 3.3) ** -0.5 * float(rng.uniform(0.85, 1.2))
        shank = float(rng.uniform(*SHANK_IC_DEG[strike]))
        thigh = float(rng.uniform(*THIGH_IC_DEG))
        ahead = -LEG_SEGMENT_M * (math.sin(math.radians(shank)) + math.sin(math.radians(thigh)))
        if (CADENCE_SPM[0] <= cadence <= CADENCE_SPM[1] and CONTACT_S[0] <= tc <= CONTACT_S[1]
                and tc < 0.75 * 60.0 / cadence and KNEE_IC_DEG[0] <= shank - thigh <= KNEE_IC_DEG[1]
                and not _near_prior(shank, thigh) and speed * tc - ahead <= PASS_OVER_M
                and FOOT_AHEAD_FACTOR[0] <= ahead / default_foot_ahead(speed, tc) <= FOOT_AHEAD_FACTOR[1]):
            break
    body = Body(name=f"body{index:02d}", shank_ic_deg=round(shank, 2), thigh_ic_deg=round(thigh, 2), posture_speed_mps=None,
                stance_twist_deg=round(float(rng.uniform(*STANCE_TWIST_DEG)), 2), strike=strike,
                shin_tissue_hz=round(float(rng.uniform(*SHIN_TISSUE_HZ)), 2),
                thigh_tissue_hz=round(float(rng.uniform(*THIGH_TISSUE_HZ)), 2),
                tissue_decay_scale=round(float(rng.uniform(*TISSUE_DECAY_SCALE)), 3),
                tissue_gain_scale=round(float(rng.uniform(*TISSUE_GAIN_SCALE)), 3))
    landing = default_landing_g(speed) * STRIKE_LOAD[strike] * float(rng.uniform(*LOAD_SPREAD))
    return PopulationRunner(index=index, seed=seed, leg="left" if index % 2 == 0 else "right", speed_mps=round(speed, 3),
                            cadence_spm=round(cadence, 1), contact_time_s=round(tc, 4),
                            wobble_deg=round(float(rng.uniform(*VALGUS_DEG)), 2),
                            frontal_ic_deg=round(float(rng.uniform(*FRONTAL_IC_DEG)), 2),
                            landing_g=round(float(np.clip(landing, 3.0, 18.0)), 2), body=body,
                            straps={"shin": _strap(rng, "shin"), "thigh": _strap(rng, "thigh")})


def population(n: int = 30, seed: int = 2026) -> list[PopulationRunner]:
    """n runners, the same for the same seed (the first k of a larger population are the same k)."""
    if not (isinstance(n, int) and n > 0):
        raise UserError(f"population size {n!r} is not a positive whole number")
    rng = np.random.default_rng([seed, 14])
    return [draw_runner(rng, i, seed * 1000 + i) for i in range(n)]
