"""device: the board itself.  flash.py deploys the firmware, doctor.py checks this computer and a
board, pair.py pairs a sensor with this host (the keys it stores are link/keys.py), board_report.py and usbtools.py read what
a board says over USB."""
