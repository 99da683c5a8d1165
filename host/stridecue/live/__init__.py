"""live: one path for run, replay and simulate.  pipeline.py feeds sample blocks through the
analysis to the coach and the recorder; session.py runs a whole session (connect or simulate,
record, coach, stop cleanly) for the `run` and `replay` commands."""
