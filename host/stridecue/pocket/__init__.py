"""pocket: the host as a small computer in a running belt, with no keyboard and no screen.
service.py (the systemd unit), state.py (what the daemon is doing, for `service status`)."""
