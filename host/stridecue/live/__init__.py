"""live: one path for run, replay and simulate.  pipeline.py feeds sample blocks through the
analysis to the coach and the recorder; session.py runs a whole session (connect or simulate,
record, coach, stop cleanly) for the `scan` and `run` commands; simulated.py sets up the
virtual runner for --simulate; replay.py runs the `replay` command."""
