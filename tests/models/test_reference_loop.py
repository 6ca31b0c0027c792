"""The compiled time loop equals a naive, independent implementation of the same equations."""

import pytest
import torch

import dynvision
from dynvision.testing import reference_forward

CASES = [
    dict(),
    dict(recurrence_type="self", tff=4.0),
    dict(recurrence_type="depthpointwise", trc=2.0, tsk=4.0),
    dict(recurrence_type="local", feedback=True, tfb=4.0),
    dict(recurrence_type="full", dynamics="dynvision", integrator="euler", feedback=True, tfb=2.0),
    dict(recurrence_type="none", skip=False, tau={"V1": 2.0, "V2": 4.0, "V4": 8.0, "IT": 16.0}),
]


@pytest.mark.parametrize("kwargs", CASES, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()) or "default")
def test_model_matches_reference_loop(kwargs):
    model = dynvision.create_model("DyRCNNx4", n_classes=5, input_dims=(12, 2, 16, 16), width=0.125, **kwargs)
    torch.nn.init.normal_(model.classifier.weight, std=1.0)  # make the logits sensitive to every unit
    x = torch.rand(3, 12, 2, 16, 16)
    with torch.no_grad():
        assert model(x).abs().max() > 0.1
        torch.testing.assert_close(model(x), reference_forward(model, x), rtol=1e-4, atol=1e-5)


def test_reference_refuses_what_it_does_not_cover():
    model = dynvision.create_model("DyRCNNx2", input_dims=(3, 1, 16, 16), retina=True)
    with pytest.raises(NotImplementedError):
        reference_forward(model, torch.rand(1, 3, 1, 16, 16))
