"""link: a sensor's BLE notifications to an ordered stream of samples.

client.py (bleak connection, reconnects, resend requests) -> decoder.py (frames of the shared wire
protocol) -> stream.py (ordering, gaps, duplicates) -> samples.py (SampleBlock, the record every
later stage takes).  keys.py holds the bond secrets the client proves itself with.  The virtual
sensor is a bleak backend (stridecue.sim.ble_backend), so this stage never knows whether the
sensor is real."""
