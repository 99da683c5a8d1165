"""Simulation: the virtual runner (runner.py, over scenario.py, strides.py, pelvis.py, legs.py,
motion.py and sensor.py) and the virtual sensor that runs the firmware (air.py, ble_backend.py).

    from stridecue.sim import RunnerSettings, VirtualRunner
    runner = VirtualRunner(RunnerSettings(speed_mps=3.3), seed=1)
    stream = runner.sensor(leg="left", mount="shin", rotation="random")
    chunk = stream.read(416)      # chunk.t (s), chunk.acc (g), chunk.gyr (deg/s), board frame
    stream.truth                  # completed stances so far (StrideTruth)
    runner.cue(t, kind="wobble")  # the runner heard a cue
"""

from stridecue.sim.runner import (RunnerSettings, SensorChunk, SensorStream, StrideTruth, VirtualRunner, default_cadence,
                     default_contact_time, default_landing_g)

__all__ = ["RunnerSettings", "VirtualRunner", "SensorStream", "SensorChunk", "StrideTruth", "default_cadence",
           "default_contact_time", "default_landing_g"]
