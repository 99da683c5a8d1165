"""Loaders for the real recordings kept beside the repository in ../shared/data, one module each.

Three public data sets prove the analytics on signals nobody here generated (sources, licences and
file layout: ../shared/data/README.md; cite the source with any figure computed from them):
bach2022.py (shank accelerometer + vertical force), adept.py (25 minutes of outdoor running, no
truth), grouvel2023.py (shank, thigh and foot IMUs with motion capture; its truth geometry in
mocap_truth.py).  common.py: the data directory, contacts from a 'foot loaded' series.

The directory is $STRIDECUE_SHARED_DATA, else <repository root>/../shared/data.  A missing or
unreadable file raises UserError naming it.  Loaded arrays are read-only and cached per process, so
callers may load freely; copy before modifying.  The names below are handed on for `datasets.X`.
"""

from stridecue.lab.datasets.adept import AdeptRecording, load_adept
from stridecue.lab.datasets.bach2022 import BachTrial, load_bach2022
from stridecue.lab.datasets.common import (CONTACT_THRESHOLD_N, ENV_VAR, MIN_CONTACT_S, MIN_FLIGHT_S, contact_intervals,
                                           shared_data_dir)
from stridecue.lab.datasets.grouvel2023 import GROUVEL_IMUS, GROUVEL_RATE_HZ, GrouvelTrial, Imu, LegTruth, load_grouvel2023
from stridecue.lab.datasets.mocap_truth import (FOOT_MARKERS, MARKER_STANCE_HEIGHT_MM, MARKER_STANCE_SPEED_MPS,
                                                ForcePlateContact, load_force_plate_contacts, segment_frontal_angles,
                                                stance_from_markers)

__all__ = ["AdeptRecording", "BachTrial", "CONTACT_THRESHOLD_N", "ENV_VAR", "FOOT_MARKERS", "ForcePlateContact",
           "GROUVEL_IMUS", "GROUVEL_RATE_HZ", "GrouvelTrial", "Imu", "LegTruth", "MARKER_STANCE_HEIGHT_MM",
           "MARKER_STANCE_SPEED_MPS", "MIN_CONTACT_S", "MIN_FLIGHT_S", "contact_intervals", "load_adept",
           "load_bach2022", "load_force_plate_contacts", "load_grouvel2023", "segment_frontal_angles",
           "shared_data_dir", "stance_from_markers"]
