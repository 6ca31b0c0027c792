"""The plan alone: validated once, hashable, equal exactly when the stored result would be."""

import dataclasses

import numpy as np
import pytest

from dynvision.simulation.plan import make_plan

from shared_helpers import make_stimulus


def test_plans_are_hashable_and_equal_for_the_same_run(tiny_model):
    stim = make_stimulus(n=5)
    a = make_plan([tiny_model], stim, record=["V1"], batch_size=2)
    b = make_plan([tiny_model], stim.copy(deep=True), record=("V1",), batch_size=3)
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1  # batch size is not part of the result
    c = make_plan([tiny_model], stim, record=["V1"], reduce="mean")
    assert c != a and c.fingerprint != a.fingerprint
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.idle_ms = 2.0


def test_units_tile_the_samples_batch_major(tiny_model):
    plan = make_plan([tiny_model, tiny_model], make_stimulus(n=5), names=["a", "b"], batch_size=2)
    assert [(u.index, u.model, u.start, u.stop) for u in plan.units] == [
        (0, 0, 0, 2), (1, 1, 0, 2), (2, 0, 2, 4), (3, 1, 2, 4), (4, 0, 4, 5), (5, 1, 4, 5)]


def test_record_is_normalised_in_hierarchy_order(tiny_model):
    plan = make_plan([tiny_model], make_stimulus(n=2), record=["V2", "V1"], reduce="center")
    assert plan.record == (("V1", "center"), ("V2", "center"))
    assert make_plan([tiny_model], make_stimulus(n=2), record="V2").record == (("V2", "none"),)
    callable_plan = make_plan([tiny_model], make_stimulus(n=2), record={"V1": lambda x: x.amax((-2, -1))})
    assert callable_plan.record[0][1].startswith("callable:")


def test_the_stimulus_is_resampled_and_its_background_read(tiny_model):
    stim = make_stimulus(n=2, steps=3, dt=4.0).assign_attrs(background=0.25)
    plan = make_plan([tiny_model], stim)
    assert plan.times == (0.0, 2.0, 4.0, 6.0, 8.0, 10.0) and plan.background == 0.25
    assert plan.stimulus.attrs["resampled_from_ms"] == 4.0
    with pytest.raises(ValueError, match=r"background.*is invalid"):
        make_plan([tiny_model], stim.assign_attrs(background=np.nan))
