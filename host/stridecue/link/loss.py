"""When a run lost too much of what its sensors measured to be trusted.

A sample is lost when it never reached the host, not even by a resend (the stream's Missing
ranges).  Up to LOSS_LIMIT of a run's samples may be lost before the run is flagged: a few
per cent in short gaps leaves the stride figures intact (a stride that touches a gap is marked
and left out), more than that leaves whole minutes unmeasured.  A sensor that sent nothing at all
is always flagged: the live run and the run store (history) use the same verdict.
"""

from __future__ import annotations

LOSS_LIMIT = 0.05


def silent_sensors(per_sensor: dict[int, tuple[int, int]]) -> list[int]:
    """Slots that recorded no sample.  per_sensor: slot -> (samples recorded, samples lost)."""
    return [slot for slot, (recorded, _lost) in sorted(per_sensor.items()) if recorded <= 0]


def data_problem(per_sensor: dict[int, tuple[int, int]]) -> str | None:
    """One line saying what is wrong with a run's data, or None when it is usable."""
    silent = silent_sensors(per_sensor)
    if not per_sensor or len(silent) == len(per_sensor):
        return "no samples recorded: the sensor sent nothing"
    if silent:
        return f"sensor {', '.join(str(s) for s in silent)} sent nothing (no samples recorded from it)"
    recorded = sum(r for r, _ in per_sensor.values())
    lost = sum(lost for _, lost in per_sensor.values())
    share = lost / (recorded + lost)
    if share > LOSS_LIMIT:
        return f"{share:.0%} of samples lost (more than {LOSS_LIMIT:.0%}): figures cover only part of the run"
    return None
