"""The stride analysis on real recordings by others (../shared/data; sources in its README).

- bach2022 (Bach, Dominici & Daffertshofer 2022, doi:10.1101/2022.02.14.480318): shank
  accelerometer with a force plate: running contacts found and timed (targets F1 >= 0.98, IC MAE
  <= 20 ms), contacts at the very start of a recording included.
- adept (Karas et al., adeptdata acc_running): 25 minutes outdoors, accelerometer at the ankle:
  processed end to end with a plausible cadence, no stride counted twice.

Skipped when the data directory is not there.
"""

from __future__ import annotations

import numpy as np
import pytest

from stridecue.analysis.run import analyse_block, block_from_arrays
from stridecue.errors import UserError


def _load(name):
    from stridecue.lab import datasets

    try:
        return getattr(datasets, name)()
    except UserError as e:
        pytest.skip(str(e))


def test_bach2022_running_contacts_against_the_force_plate():
    trials = [t for t in _load("load_bach2022") if t.running]
    tp = n_truth = n_found = 0
    errors = []
    for trial in trials:
        block = block_from_arrays(trial.rate_hz, np.asarray(trial.acc), None, accel_g=8)
        strides = [s for s in analyse_block(block, "shin", "left") if s.kind == "run"]
        assert all(s.accel_only for s in strides)
        ic = np.array([s.ic_t for s in strides])
        inside = (ic >= trial.ic_t[0] - 0.1) & (ic <= trial.to_t[-1] + 0.1)
        n_found += int(inside.sum())
        n_truth += len(trial.ic_t)
        used = set()
        for t in trial.ic_t:
            if not len(ic):
                break
            j = int(np.argmin(np.abs(ic - t)))
            if abs(ic[j] - t) <= 0.1 and j not in used:
                used.add(j)
                tp += 1
                errors.append(ic[j] - t)
    f1 = 2 * tp / (n_truth + n_found)
    assert f1 >= 0.98
    assert np.mean(np.abs(errors)) <= 0.020


def test_bach2022_walking_is_not_running():
    trials = [t for t in _load("load_bach2022") if not t.running]
    kinds = []
    for trial in trials:
        block = block_from_arrays(trial.rate_hz, np.asarray(trial.acc), None, accel_g=8)
        kinds += [s.kind for s in analyse_block(block, "shin", "left")]
    assert kinds and sum(k == "run" for k in kinds) == 0  # not even a swing's bump between two steps


def test_adept_25_minutes_end_to_end_with_plausible_cadence():
    rec = _load("load_adept")["left_ankle"]
    block = block_from_arrays(rec.rate_hz, np.asarray(rec.acc), None, accel_g=8)
    strides = analyse_block(block, "shin", "left")
    run = [s for s in strides if s.kind == "run"]
    assert len(run) > 1200  # about 25 minutes of running
    ic = np.array([s.ic_t for s in strides])
    assert np.all(np.diff(ic) >= 0.45)  # no stride counted twice
    cadence = np.array([s.cadence_spm for s in run if s.cadence_spm])
    # minute by minute the median cadence stays in the plausible 150-200 steps/min
    t = np.array([s.ic_t for s in run if s.cadence_spm])
    for minute in range(int(t[-1] // 60) + 1):
        sel = (t >= minute * 60) & (t < minute * 60 + 60)
        if sel.sum() >= 20:
            assert 150 <= np.median(cadence[sel]) <= 200
    assert np.mean((cadence >= 150) & (cadence <= 200)) > 0.8
    assert strides[-1].ic_t > 24 * 60


def test_bach2022_the_first_contact_of_every_running_trial_is_found():
    """Recordings that begin just before a landing (trial 15: 14 ms) or in a swing whose bump comes
    before the first landing (trial 9): the first force-plate contact is the first stride."""
    for trial in [t for t in _load("load_bach2022") if t.running]:
        block = block_from_arrays(trial.rate_hz, np.asarray(trial.acc), None, accel_g=8)
        strides = analyse_block(block, "shin", "left")
        assert strides and abs(strides[0].ic_t - trial.ic_t[0]) <= 0.05, trial.number
