"""The compiled time loop equals an independent implementation of the same equations.

``dynvision.testing.reference_run`` shares no code with the library (see its docstring): it
takes time constants, delays and modes from the configuration the model was built with, so a
library area that ignored its own ``tau`` (or a connection that ignored its mode) disagrees.
"""

import pytest
import torch

import dynvision
from dynvision.testing import reference_run

TAUS = {"V1": 2.0, "V2": 4.0, "V4": 8.0, "IT": 16.0}
CASES = [
    dict(),
    dict(recurrence_type="self", tff=4.0, tin=6.0),
    dict(recurrence_type="depthwise", trc=2.0, tsk=4.0, integrator="exponential"),
    dict(recurrence_type="pointwise", tau=TAUS, feedback=True, tfb=2.0),
    dict(recurrence_type="depthpointwise", trc=2.0, tsk=4.0),
    dict(recurrence_type="pointdepthwise", recurrence_mode="multiplicative", integrator="euler"),
    dict(recurrence_type="local", feedback=True, tfb=4.0),
    dict(recurrence_type="localdepthwise", tff=2.0, dynamics="voltage"),
    dict(recurrence_type="full", dynamics="dynvision", feedback=True, tfb=2.0),
    dict(recurrence_type="none", skip=False, tau=TAUS),
    dict(feedback=True, tfb=2.0, feedback_mode="multiplicative", tff=2.0),
    dict(input_gain=2.0, tau_gain=20.0, adaptation=1.5, tau_adaptation=10.0, tff=2.0),
    dict(adaptation=1.0, tau_adaptation=8.0, integrator="euler", tau={k: 2 * v for k, v in TAUS.items()}),
    dict(recurrence_bound=0.5, recurrence_type="self"),
    dict(recurrence_bound=0.5, recurrence_type="scalar", feedback=True, tfb=2.0),
    dict(normalization=2.0, tau_normalization_ms=6.0, adaptation=0.5, adaptation_mode="subtractive", tff=2.0),
    dict(normalization=1.0, integrator="exponential", feedback=True, tfb=4.0, skip=False),
    dict(recurrence_sign="excitatory", recurrence_type="depthpointwise", recurrence_bound=0.8),
    dict(recurrence_sign="excitatory", recurrence_type="self", normalization=1.0),
    dict(recurrence_sign="excitatory", recurrence_type="full", recurrence_gain=0.7),
    dict(normalization={"V1": 4.0, "V2": 1.0, "V4": 0.0, "IT": 0.5}, adaptation={"V1": 0.0, "V2": 0.5, "V4": 1.0, "IT": 1.5}),
    dict(normalization=3.0, tau_normalization=0.0, adaptation=0.5, tff=2.0),
    dict(input_transient=1.0, tau_transient=8.0, input_gain=1.0, tau_gain=20.0),
    dict(normalization={"V1": 4.0, "V2": 2.0, "V4": 0.0, "IT": 1.0}, tau_normalization=0.0,
         normalization_mode="shunting", tff=2.0),
    dict(normalization=2.0, tau_normalization=6.0, normalization_mode="shunting", adaptation=1.0,
         adaptation_mode="shunting", tau_adaptation=10.0, dynamics="voltage"),
    dict(normalization=2.0, normalization_mode="shunting", adaptation=0.5, adaptation_mode="subtractive",
         integrator="exponential"),
    dict(activation="supralinear", supralinearity=1.5, supralinear_limit=0.3, recurrence_bound=0.6, tff=2.0),
    dict(activation="supralinear", supralinearity=1.2, supralinear_limit=0.5, recurrence_gain=0.9,
         recurrence_type="self", dynamics="voltage"),
]


def _id(kwargs):
    return ",".join(f"{a}={b}" for a, b in kwargs.items() if a != "tau") + (",tau=per-area" if "tau" in kwargs else "") or "default"


@pytest.mark.parametrize("kwargs", CASES, ids=_id)
def test_model_matches_reference(kwargs):
    torch.manual_seed(0)
    model = dynvision.create_model("DyRCNNx4", n_classes=5, input_dims=(12, 2, 16, 16), width=0.125, **kwargs).eval()
    torch.nn.init.normal_(model.classifier.weight, std=1.0)  # make the logits sensitive to every unit
    for name, p in model.named_parameters():  # nonzero biases: the resting state is not zero
        if name.endswith("bias"):
            torch.nn.init.uniform_(p, -0.2, 0.2)
    x = torch.rand(3, 12, 2, 16, 16)
    x[:, :3] = 0.5  # a grey start, then changing frames
    with torch.no_grad():
        out = model.run(x, record=model.area_names)
        logits, recordings = reference_run(model, x)
    assert out.logits.abs().max() > 0.1
    torch.testing.assert_close(out.logits, logits, rtol=1e-4, atol=1e-5)
    for name in model.area_names:
        assert recordings[name].abs().max() > 0  # every area is active
        torch.testing.assert_close(out.recordings[name], recordings[name], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("area", ["V1", "V2", "V4", "IT"])
def test_each_area_honours_its_own_tau(area):
    """Changing one area's tau changes that area (and those above it), as the equations say."""
    torch.manual_seed(1)
    kw = dict(n_classes=5, input_dims=(10, 1, 16, 16), width=0.125, recurrence_type="full", skip=False)
    names = ["V1", "V2", "V4", "IT"]
    slow = dynvision.create_model("DyRCNNx4", tau={n: (40.0 if n == area else 5.0) for n in names}, **kw)
    fast = dynvision.create_model("DyRCNNx4", tau=5.0, **kw)
    fast.load_state_dict(slow.state_dict())
    x = torch.rand(2, 10, 1, 16, 16)
    with torch.no_grad():
        a = slow.run(x, record=names).recordings
        b = fast.run(x, record=names).recordings
        _, ref = reference_run(slow, x)
    below = names[: names.index(area)]
    for n in below:  # areas below are untouched
        torch.testing.assert_close(a[n], b[n])
    assert (a[area] - b[area]).abs().max() > 1e-3
    for n in names:
        torch.testing.assert_close(a[n], ref[n], rtol=1e-4, atol=1e-5)


def test_reference_refuses_what_it_does_not_cover():
    model = dynvision.create_model("DyRCNNx2", input_dims=(3, 1, 16, 16), retina=True)
    with pytest.raises(NotImplementedError):
        reference_run(model, torch.rand(1, 3, 1, 16, 16))
