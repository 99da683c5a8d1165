"""The live "knee out" cue of an exercise session (`stridecue exercise`): after a rep whose frontal-plane knee motion passes the runner's own
threshold, say which leg.

As on the run (coach/policy.py), the threshold is the runner's own baseline: the mean knee motion
of this leg in their earlier sessions of this exercise, plus the smallest change the measurement
can detect (a rep above it differs from the runner's usual by more than the measurement's own
scatter).  Without earlier sessions, an absolute threshold: 10 deg lies between the frontal plane
projection angles of controls (about 7-8 deg) and runners with knee pain (about 15-17 deg) in
single-leg squats (Herrington 2014, Knee 21(2):514-517).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from stridecue.coach.policy import Cue
from stridecue.exercise.catalogue import KNEE_IN_LIMIT_DEG as ABSOLUTE_DEG
from stridecue.exercise.rep import Rep


@dataclass
class KneeOutPolicy:
    """on_rep(rep) -> a Cue or None.  baselines: leg -> mean knee motion of earlier sessions (deg);
    margin_deg: added to a baseline (the smallest detectable change); cooldown_reps: reps of a leg
    after a cue before the next one (a cue every rep is noise, not feedback)."""

    baselines: dict = field(default_factory=dict)
    margin_deg: float = 3.0
    absolute_deg: float = ABSOLUTE_DEG
    cooldown_reps: int = 1

    def __post_init__(self):
        self.cues_: list[Cue] = []
        self._since: dict[str, int] = {}

    def threshold(self, leg: str) -> tuple[float, str]:
        """(threshold deg, where it comes from)."""
        base = self.baselines.get(leg)
        if base is None:
            return self.absolute_deg, f"absolute {self.absolute_deg:g} deg (no earlier session)"
        return base + self.margin_deg, f"your baseline {base:.1f} + {self.margin_deg:.1f} deg"

    def on_rep(self, rep: Rep) -> Cue | None:
        if rep.knee_motion_deg is None:
            return None
        since = self._since.get(rep.leg, self.cooldown_reps)
        self._since[rep.leg] = since + 1
        limit, why = self.threshold(rep.leg)
        if rep.knee_motion_deg <= limit or since < self.cooldown_reps:
            return None
        self._since[rep.leg] = 0
        cue = Cue(t=rep.end_t, kind="knee", words=f"{rep.leg} knee out",
                  reason=f"{rep.leg} knee moved in {rep.knee_motion_deg:.1f} deg > {limit:.1f} ({why})",
                  values={"leg": rep.leg, "knee_motion_deg": round(rep.knee_motion_deg, 2), "threshold_deg": round(limit, 2),
                          "bottom_t": round(rep.bottom_t, 3)})
        self.cues_.append(cue)
        return cue
