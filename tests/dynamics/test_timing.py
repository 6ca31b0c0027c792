import numpy as np
import pytest

from dynvision.dynamics import delay_steps, time_axis


def test_delay_to_steps_one_rule():
    assert delay_steps(8, 2, "tff") == 4
    assert delay_steps(0, 2, "tff") == 0
    assert delay_steps(0.3, 0.1, "tff") == 3  # tolerant to float representation


def test_non_multiple_delay_names_value_and_dt():
    with pytest.raises(ValueError, match=r"tff=5 ms is not a multiple of dt_ms=2.*4 or 6 ms"):
        delay_steps(5, 2, "tff")


def test_negative_delay():
    with pytest.raises(ValueError, match=r"trc=-2 ms is negative"):
        delay_steps(-2, 2, "trc")


def test_minimum_steps():
    with pytest.raises(ValueError, match=r"trc=0 ms is shorter than 1 step.*trc >= 2 ms"):
        delay_steps(0, 2, "trc", minimum=1)


def test_time_axis_in_ms():
    np.testing.assert_allclose(time_axis(4, 2.5), [0, 2.5, 5, 7.5])
