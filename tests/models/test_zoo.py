"""The model contract on every registered model, and the zoo's architectures and dynamics.

The contract tests are parametrised over ``dynvision.list_models()``: a newly registered model
is tested the moment it is registered (give it a tiny ``width``; see ``tiny_model_kwargs`` in conftest).
"""

import inspect
import json
import warnings

import pytest
from shared_helpers import tiny_model_kwargs
import torch

import dynvision
from dynvision import Simulation
from dynvision.dynamics import IntegrationWarning
from dynvision.io.schema import ACTIVITY_DIMS
from dynvision.models import MODELS, create_model
from dynvision.registry import UnknownNameError

ALL = dynvision.list_models()
HEAVY = {"ResNet101", "ResNet152"}  # deep: forward shape only, in eval mode (same code as ResNet50)
FEEDFORWARD = ["AlexNet", "ResNet18", "ResNet50"]  # static with euler and tau == dt by default
ZOO = ["AlexNet", "CordsNet", "CorNetRT", "ResNet18", "ResNet34", "ResNet50", "ResNet101", "ResNet152"]




def tiny_kwargs(name: str, steps: int = 3) -> dict:
    return tiny_model_kwargs(name, steps, channels=3)


def latency_bound(model) -> int:
    """Steps after which the input has reached the top area along the feedforward chain."""
    return sum(area.tff_steps for area in model.areas.values())


def params(model) -> list[tuple[str, tuple]]:
    return [(n, tuple(p.shape)) for n, p in model.named_parameters()]


def test_the_zoo_is_registered_and_exported():
    import dynvision.models as models

    assert set(ZOO) <= set(ALL)
    assert all(getattr(models, name) is MODELS.get(name) for name in ZOO)


@pytest.mark.parametrize("name", ALL)
def test_forward_shapes_gradients_and_fixed_parameters(name):
    kw = tiny_kwargs(name)
    model = create_model(name, **kw)
    before = params(model)
    assert before, "a model needs trainable parameters"
    _, c, h, w = kw["input_dims"]
    if name in HEAVY:
        with torch.no_grad():
            out = model.eval()(torch.rand(1, 2, c, h, w))
        assert out.shape == (1, 2, 3) and torch.isfinite(out).all()
        assert params(model) == before
        return
    steps = 2 + latency_bound(model)  # long enough for every area to reach the logits
    out = model(torch.rand(2, steps, c, h, w))
    assert out.shape == (2, steps, 3)
    assert torch.isfinite(out).all()
    out.square().sum().backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, f"no gradient reaches {missing}"
    assert params(model) == before


@pytest.mark.parametrize("name", ALL)
def test_every_area_is_recordable_with_the_schema_dims(name):
    kw = tiny_kwargs(name, steps=2)
    model = create_model(name, **kw)
    assert model.area_names and len(set(model.area_names)) == len(model.area_names)
    x = torch.rand(1, *kw["input_dims"])
    groups = [model.area_names] if name in HEAVY else [[area] for area in model.area_names]
    for record in groups:
        tree = Simulation(model, progress=False).run(x, record=record)
        assert set(tree.children) - {"stimulus"} == set(record)
        assert tree["logits"].shape == (1, 2, 3)
        for area in record:
            activity, spec = tree[area]["activity"], model.areas[area]
            assert activity.dims == ACTIVITY_DIMS
            assert activity.shape == (1, 2, spec.out_channels, *spec.size)


@pytest.mark.parametrize("name", ALL)
def test_config_is_captured_and_rebuilds_the_same_model(name):
    model = create_model(name, **tiny_kwargs(name))
    config = json.loads(json.dumps(model.config.to_dict()))
    assert config["model"] == type(model).__name__
    signature = inspect.signature(type(model).__init__).parameters
    assert set(config) == {"model"} | (set(signature) - {"self"})
    rebuilt = create_model(name, **{k: v for k, v in config.items() if k != "model"})
    assert params(rebuilt) == params(model)
    assert rebuilt.area_names == model.area_names


@pytest.mark.parametrize("name", ALL)
def test_unknown_keyword_is_rejected_with_the_valid_ones(name):
    with pytest.raises(UnknownNameError, match=r"'n_clases' \(did you mean 'n_classes'\?\).*valid keywords"):
        create_model(name, n_clases=3)


# ---------------------------------------------------------------------------------------------
# feedforward zoo models are dynamic systems: static with euler and tau == dt, leaky with tau > dt


@pytest.mark.parametrize("name", FEEDFORWARD)
def test_feedforward_model_with_tau_equal_dt_is_static_and_with_tau_above_dt_is_not(name):
    kw = tiny_kwargs(name)
    _, c, h, w = kw["input_dims"]
    static = create_model(name, **kw).eval()
    assert all(area.integrator_name == "euler" and float(area.tau) == static.dt for area in static.areas.values())
    last = torch.rand(2, 1, c, h, w)
    a = torch.cat([torch.rand(2, 2, c, h, w), last], dim=1)
    b = torch.cat([torch.zeros(2, 2, c, h, w), last], dim=1)  # a different history
    names = static.area_names
    with torch.no_grad():
        ra, rb, alone = (static.run(x, record=names) for x in (a, b, last))
    # the last frame is processed as if it were alone: the states after it agree (the state after
    # the last frame is the run's final state; recordings stop at the state before it)
    for i, name_ in enumerate(names):
        for run in (ra, rb):
            torch.testing.assert_close(run.state.areas[i].recorded, alone.state.areas[i].recorded, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(static.classifier(ra.state.features), static.classifier(alone.state.features),
                               atol=1e-5, rtol=1e-4)

    leaky = create_model(name, **kw, tau=4 * static.dt).eval()
    weights = {k: v for k, v in static.state_dict().items() if not k.endswith("tau_ms")}  # keep tau = 4 dt
    leaky.load_state_dict(weights, strict=False)
    with torch.no_grad():
        ra, rb = (leaky.run(x, record=names) for x in (a, b))
    for i, name_ in enumerate(names):  # every area still carries its history (alpha = 1/4 per step)
        va, vb = ra.state.areas[i].recorded, rb.state.areas[i].recorded
        assert (va - vb).abs().max() > 1e-3 * va.abs().max()


@pytest.mark.parametrize("name", ZOO)
def test_zoo_defaults_raise_no_integration_warning_but_coarse_euler_still_warns(name):
    kw = tiny_kwargs(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error", IntegrationWarning)
        create_model(name, **kw)
    with pytest.warns(IntegrationWarning, match="more than half of tau"):
        create_model(name, **kw, dt=2.0, tau=3.0)


# ---------------------------------------------------------------------------------------------
# architectures: layouts and parameter counts of the originals (1000 classes, 224 px)

TORCHVISION_PARAMETERS = {"AlexNet": 61_100_840, "ResNet18": 11_689_512, "ResNet34": 21_797_672,
                          "ResNet50": 25_557_032}


@pytest.mark.parametrize("name", sorted(TORCHVISION_PARAMETERS))
def test_parameter_counts_match_the_published_architectures(name):
    model = create_model(name, input_dims=(1, 3, 224, 224))
    assert sum(p.numel() for p in model.parameters()) == TORCHVISION_PARAMETERS[name]


@pytest.mark.parametrize("name,areas,channels,sizes", [
    ("AlexNet", ["V1", "V2", "V4", "pIT", "IT"], [64, 192, 384, 256, 256], [55, 27, 13, 13, 13]),
    ("ResNet18", ["V1", "V2", "V4", "IT"], [64, 128, 256, 512], [56, 28, 14, 7]),
    ("ResNet50", ["V1", "V2", "V4", "IT"], [256, 512, 1024, 2048], [56, 28, 14, 7]),
    ("CorNetRT", ["V1", "V2", "V4", "IT"], [64, 128, 256, 512], [56, 28, 14, 7]),
    ("CordsNet", ["stem"] + [f"area{i}" for i in range(1, 9)], [64, 64, 64, 128, 128, 256, 256, 512, 512],
     [56, 56, 56, 28, 28, 14, 14, 7, 7]),
])
def test_area_layout_at_224_pixels(name, areas, channels, sizes):
    model = create_model(name, input_dims=(1, 3, 224, 224))
    assert model.area_names == areas
    assert [a.out_channels for a in model.areas.values()] == channels
    assert [a.size for a in model.areas.values()] == [(s, s) for s in sizes]


def first_difference(x: torch.Tensor, y: torch.Tensor) -> int:
    """First step at which two runs differ anywhere (before it they are bitwise equal)."""
    changed = (x != y).flatten(2).any(-1).any(0)
    return int(torch.nonzero(changed)[0])


def onsets(model, pre: int, steps: int) -> list[int]:
    """First step at which each area responds to a change of the input at step ``pre``."""
    _, c, h, w = model.input_dims
    base = torch.rand(2, steps, c, h, w)
    other = base.clone()
    other[:, pre:] = torch.rand(2, steps - pre, c, h, w)
    with torch.no_grad():
        ra = model.run(base, record=model.area_names).recordings
        rb = model.run(other, record=model.area_names).recordings
    return [first_difference(ra[n], rb[n]) - pre for n in model.area_names]


def test_cornet_rt_areas_are_one_step_apart_and_start_as_the_plain_sum():
    model = create_model("CorNetRT", n_classes=3, input_dims=(8, 3, 32, 32), width=0.125).eval()
    assert onsets(model, pre=2, steps=8) == [1, 2, 3, 4]  # the frame at step 2 shows in V1 at step 3
    for area in model.areas.values():
        assert area.recurrence_target == "middle"
        assert torch.equal(area.recurrence.weight, torch.ones(area.out_channels))
    leaky = create_model("CorNetRT", n_classes=3, input_dims=(8, 3, 32, 32), width=0.125, tau=8.0)
    assert all(float(a.tau) == 8.0 for a in leaky.areas.values())


def test_cordsnet_residual_paths_delays_and_readout():
    model = create_model("CordsNet", n_classes=3, input_dims=(12, 3, 32, 32), width=0.125).eval()
    wiring = [(c.source, c.target, c.delay) for c in model.connections]
    assert wiring == [("stem", "area2", 0)] + [(f"area{i - 2}", f"area{i}", 1) for i in range(3, 9)]
    # a change at the input reaches the areas along the fastest path (residuals skip an area)
    assert onsets(model, pre=2, steps=12) == [1, 1, 1, 2, 2, 3, 3, 4, 4]
    alphas = [float(a.integrator.fractions(a.dt, a.tau)[1]) for a in model.areas.values()]
    assert alphas == pytest.approx([1.0] + [0.2] * 8)  # instantaneous stem; dt / tau as in the paper
    x = torch.rand(2, 12, 3, 32, 32)
    with torch.no_grad():
        out = model.run(x, record={"area7": "mean", "area8": "mean"})
        expected = model.classifier(out.recordings["area7"] + out.recordings["area8"])
    torch.testing.assert_close(out.logits, expected)
    small = create_model("CordsNet", n_classes=3, input_dims=(4, 3, 32, 32), width=0.125, depth=4)
    assert small.area_names == ["stem", "area1", "area2", "area3", "area4"]


def test_zoo_errors_name_the_bad_value():
    with pytest.raises(ValueError, match=r"at least 63 x 63 pixels.*\(3, 3, 32, 32\)"):
        create_model("AlexNet", input_dims=(3, 3, 32, 32))
    with pytest.raises(ValueError, match=r"width=0 is invalid: expected a finite number > 0"):
        create_model("ResNet18", input_dims=(3, 3, 32, 32), width=0)
    with pytest.raises(UnknownNameError, match=r"CordsNet depth 5.*'2', '4', '6', '8'"):
        create_model("CordsNet", input_dims=(3, 3, 32, 32), depth=5)
    with pytest.raises(ValueError, match=r"dt=2 ms > tau=1 ms"):
        create_model("CorNetRT", input_dims=(3, 3, 32, 32), tau=1.0)
    with pytest.raises(UnknownNameError, match=r"tau_ms names an unknown area 'V3'"):
        create_model("ResNet18", input_dims=(3, 3, 32, 32), tau={"V1": 4.0, "V3": 4.0})
    with pytest.raises(ValueError, match=r"dropout=1.0 is invalid: expected a finite number >= 0 and < 1"):
        create_model("AlexNet", input_dims=(3, 3, 64, 64), dropout=1.0)
