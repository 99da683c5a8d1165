"""Exercise mode: strength and balance exercises for the knee, counted and measured by the same
sensors as a run (docs/exercises.md).  catalogue: the exercises, their levels and spoken set-ups;
rep: the typed records (Rep, Hold); angles: the segment's motion from the IMU; detector: reps and
holds in a session; summary: per leg and left vs right; policy: the live "knee out" cue;
progression: the next level."""
