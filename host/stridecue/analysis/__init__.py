"""Gait analytics: from a sensor's raw samples to per-stride wobble, landing load and timing.

One module per stage:

- alignment.py     the segment's frame for any board orientation (gravity + the swing axis)
- segmentation.py  initial contact and toe-off of every stance (gyro + accel, or accel alone)
- metrics.py       wobble, wobble rate, peak tibial acceleration, loading rate, contact/stride time
- stride.py        Stride, the one record of a stride that every later stage takes (and its store/export row)
- streaming.py     the driver: StreamingStrideAnalyzer (live and replay), the stride loop
- buffer.py        its recent samples by sample index, gaps bridged or marked as breaks
- blocks.py        standstill and movement blocks, the bootstrap of the swing axis
- frame.py         when the frame takes in standstills and cycles, and is estimated again
- run.py           the offline driver: analyse_run, analyse_block (the same algorithm)
- combine.py       two sensors: knee frontal-plane angle (thigh + shank), left/right asymmetry

Definitions, units and what each metric is and is not: docs/metrics.md.
"""
