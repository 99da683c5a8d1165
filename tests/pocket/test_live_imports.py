"""What a real run loads before it connects (issue 17 item 4): `stridecue daemon` and `stridecue run`
without --simulate import nothing of the simulator, scipy.spatial or scipy.signal, or the summary
command's module (each is slow to import on a Pi Zero and none is used on a real run)."""

from __future__ import annotations

import pytest

from stridecue.lab.bench.live_imports import NOT_ON_LIVE_PATH, live_path, not_needed


@pytest.mark.parametrize("command, own", [(["daemon"], "stridecue.pocket.watch"),
                                          (["run", "--leg", "both"], "stridecue.live.recording")])
def test_the_live_path_loads_nothing_a_real_run_does_without(tmp_path, command, own):
    modules, _ = live_path(tmp_path, command)  # with a silent 48 kHz output: the clips are converted to it
    assert own in modules  # it got as far as the run's wiring
    assert not_needed(modules) == {}, {k: NOT_ON_LIVE_PATH[k] for k in not_needed(modules)}


def test_the_check_names_what_it_finds():
    found = not_needed(["numpy", "stridecue.sim", "stridecue.sim.air", "scipy.spatial.transform._rotation", "stridecue.review.history"])
    assert found == {"stridecue.sim": ["stridecue.sim", "stridecue.sim.air"], "scipy.spatial": ["scipy.spatial.transform._rotation"]}
