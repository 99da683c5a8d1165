# StrideCue sensor node firmware (MicroPython package; also importable on the host, where the
# virtual sensor runs these very modules).  docs/firmware.md describes the architecture.

FW_VERSION = (0, 2, 0)
