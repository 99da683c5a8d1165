"""pocket: the host as a small computer in a running belt, with no keyboard and no screen.
daemon.py (`stridecue daemon`: hands-free runs), watch.py (one connection: watched, then recorded),
prompts.py (the spoken prompts), state.py (what the daemon is doing, for `service status`),
service.py (the systemd unit)."""
