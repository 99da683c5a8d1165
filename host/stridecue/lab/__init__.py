"""lab: the maintainers' side, apart from what a runner uses.  validation*.py (`stridecue
validate`: accuracy against the virtual runner, its population of bodies and real recordings),
datasets/ (the real recordings, one module per data set), bench/ (`stridecue bench`), firmware_mainloop.py (the firmware's
main loop in the MicroPython WebAssembly port), machine.py (where a figure was measured)."""
