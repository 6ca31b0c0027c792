"""Units and objectives: each row reads its own unit, at its position, over the chosen time window."""

from __future__ import annotations

import pytest
import torch

from dynvision.insilico import Unit, all_units, frozen, objective_values, parse_unit, unit_traces
from dynvision.insilico.objectives import window_steps
from dynvision.insilico.units import resolve_unit
from dynvision.registry import UnknownNameError
from dynvision.validation import InvalidValueError


@pytest.mark.parametrize("spec, unit", [
    ("V1:3", Unit("V1", 3)), ("V4:0@1,2", Unit("V4", 0, 1, 2)), ("output:2", Unit("output", 2)),
    ("readout:mouse1:5", Unit("readout", 5, session="mouse1")), (("IT", 4), Unit("IT", 4)),
    (("V2", 1, 0, 3), Unit("V2", 1, 0, 3)), ({"area": "V1", "channel": 2}, Unit("V1", 2)),
])
def test_unit_specs_parse_and_labels_read_back(spec, unit):
    assert parse_unit(spec) == unit
    assert parse_unit(unit.label) == unit


def test_units_resolve_against_the_model(tiny_dyrcnn):
    assert resolve_unit(tiny_dyrcnn, "V1:2") == Unit("V1", 2, 4, 4)  # centre of 8 x 8
    assert resolve_unit(tiny_dyrcnn, "V2:0") == Unit("V2", 0, 2, 2)  # centre of 4 x 4 (after pooling)
    units = all_units(tiny_dyrcnn)
    assert len(units) == sum(a.out_channels for a in tiny_dyrcnn.areas.values()) + 3
    with pytest.raises(UnknownNameError, match="unknown area 'V9'.*'output'"):
        resolve_unit(tiny_dyrcnn, "V9:0")
    with pytest.raises(InvalidValueError, match=r"class of unit 'output:3'=3 is invalid.*<= 2"):
        resolve_unit(tiny_dyrcnn, "output:3")
    with pytest.raises(InvalidValueError, match="y of unit"):
        resolve_unit(tiny_dyrcnn, "V2:0@4,0")
    with pytest.raises(InvalidValueError, match="AREA:CHANNEL"):
        parse_unit("V1-3")
    with pytest.raises(UnknownNameError, match="has none"):
        resolve_unit(tiny_dyrcnn, "readout:a:0")


def test_each_row_reads_its_own_unit(tiny_dyrcnn):
    model = tiny_dyrcnn.eval()
    x = torch.rand(4, 6, 1, 8, 8)
    units = ["V1:1@2,5", "V2:3", "output:2", "V1:0"]
    traces = unit_traces(model, x, units)
    out = model.run(x, record=["V1", "V2"])
    torch.testing.assert_close(traces[0], out.recordings["V1"][0, :, 1, 2, 5])
    torch.testing.assert_close(traces[1], out.recordings["V2"][1, :, 3, 2, 2])
    torch.testing.assert_close(traces[2], out.logits[2, :, 2])
    torch.testing.assert_close(traces[3], out.recordings["V1"][3, :, 0, 4, 4])


def test_rows_do_not_mix(tiny_dyrcnn):
    """The gradient of the summed objectives w.r.t. row i is row i's own gradient."""
    model = tiny_dyrcnn
    x = (torch.rand(3, 6, 1, 8, 8)).requires_grad_(True)
    units = ["V1:0", "V2:1", "output:0"]
    with frozen(model):
        (grad,) = torch.autograd.grad(objective_values(model, x, units).sum(), x)
        for i, u in enumerate(units):
            xi = x[i:i + 1].detach().clone().requires_grad_(True)
            (gi,) = torch.autograd.grad(objective_values(model, xi, [u]).sum(), xi)
            torch.testing.assert_close(grad[i], gi[0], rtol=1e-5, atol=1e-7)


def test_time_windows_and_reducers(tiny_dyrcnn):
    assert window_steps(6, 2.0, None).tolist() == list(range(6))
    assert window_steps(6, 2.0, (2, 6)).tolist() == [1, 2, 3]
    x = torch.rand(1, 6, 1, 8, 8)
    trace = unit_traces(tiny_dyrcnn, x, ["V1:0"])[0]
    for reduce, expected in (("mean", trace[1:4].mean()), ("max", trace[1:4].max()), ("sum", trace[1:4].sum()),
                             ("last", trace[3])):
        torch.testing.assert_close(objective_values(tiny_dyrcnn, x, ["V1:0"], (2, 6), reduce)[0], expected)
    with pytest.raises(ValueError, match="holds no step"):
        window_steps(6, 2.0, (20, 30))
    with pytest.raises(ValueError, match="start <= stop"):
        window_steps(6, 2.0, (6, 2))
    with pytest.raises(ValueError, match="one unit per row"):
        unit_traces(tiny_dyrcnn, x, ["V1:0", "V1:1"])
