"""The verdict on a run's data: nothing recorded, a silent sensor, more lost than the limit."""

from stridecue.link.loss import LOSS_LIMIT, data_problem, silent_sensors


def test_nothing_recorded_is_a_problem():
    assert "sent nothing" in data_problem({0: (0, 0)})
    assert "sent nothing" in data_problem({})
    assert silent_sensors({0: (0, 0), 1: (500, 0)}) == [0]
    assert "sensor 1 sent nothing" in data_problem({0: (500, 0), 1: (0, 0)})


def test_loss_up_to_the_limit_is_fine_and_beyond_it_is_a_problem():
    assert LOSS_LIMIT == 0.05
    assert data_problem({0: (950, 50)}) is None
    assert data_problem({0: (940, 60)}) == "6% of samples lost (more than 5%): figures cover only part of the run"
    assert data_problem({0: (1000, 0), 1: (940, 60)}) is None  # 60 of 2000 lost across the run: 3%
