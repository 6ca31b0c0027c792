import pytest

from dynvision.layers.operations import OPERATIONS, default_operations, recurrence_target_of, validate_operations
from dynvision.registry import UnknownNameError


def test_default_orders_place_phi_by_form():
    rate = default_operations("rate")
    assert rate.index("nonlinearity") < rate.index("integrate")
    for form in ("voltage", "dynvision"):
        order = default_operations(form)
        assert order.index("nonlinearity") == order.index("integrate") + 1


@pytest.mark.parametrize("target", ["input", "output"])
def test_recurrence_target_roundtrip(target):
    assert recurrence_target_of(default_operations("rate", target)) == target
    assert recurrence_target_of(default_operations("rate", "middle", two_stage=True)) == "middle"


def test_unknown_operation_lists_valid():
    with pytest.raises(UnknownNameError, match=r"unknown operation 'convolve'.*'conv'.*'integrate'"):
        validate_operations(["convolve", "integrate", "delay"])


def test_bad_orders():
    with pytest.raises(ValueError, match="lacks the required operation 'delay'"):
        validate_operations(["conv", "integrate"])
    with pytest.raises(ValueError, match="more than once"):
        validate_operations(["conv", "integrate", "integrate", "delay"])
    with pytest.raises(ValueError, match="'delay'.*after 'integrate'"):
        validate_operations(["conv", "delay", "integrate"])
    with pytest.raises(ValueError, match="form 'rate'.*before"):
        validate_operations(["conv", "integrate", "nonlinearity", "delay"], form="rate")
    with pytest.raises(ValueError, match="'dynvision'.*right after"):
        validate_operations(["conv", "integrate", "record", "nonlinearity", "delay"], form="dynvision")
    with pytest.raises(ValueError, match="middle.*two-stage"):
        default_operations("rate", "middle")
    with pytest.raises(TypeError, match="sequence of names"):
        validate_operations("conv")


def test_every_operation_is_documented():
    import dynvision.layers.operations as ops

    for op in OPERATIONS:
        assert f"\n{op}" in ops.__doc__
