"""Every registered model trains: hyperparameters rebuild it, gradients flow, latency holds.

Parametrised over ``dynvision.list_models()`` (the deepest ResNets are left out: same code as
ResNet50), so a newly registered model is covered the moment it is registered.
"""

from __future__ import annotations


import pytest
from shared_helpers import tiny_model_kwargs
import torch

import dynvision
from dynvision.training.bptt import run_sequence
from dynvision.training.module import DynVisionModule
from dynvision.training.optim import parameter_groups
from dynvision.training.temporal import Presentation

SKIP = {"ResNet101", "ResNet152"}
NAMES = [n for n in dynvision.list_models() if n not in SKIP]




def tiny_kwargs(name: str, steps: int = 4) -> dict:
    return tiny_model_kwargs(name, steps, channels=1)


@pytest.mark.parametrize("name", NAMES)
def test_module_trains_every_registered_model(name):
    kwargs = tiny_kwargs(name, steps=10)  # long enough for the zoo's default delays
    module = DynVisionModule(name, kwargs, t_pre=module_dt(name, kwargs))
    rebuilt = dynvision.create_model(module.hparams.model, **module.hparams.model_kwargs)
    assert [(k, v.shape) for k, v in rebuilt.state_dict().items()] == \
           [(k, v.shape) for k, v in module.model.state_dict().items()]
    model = module.model
    groups = parameter_groups(model, lr=1.0, recurrence_lr_factor=0.5)
    assert sum(len(g["params"]) for g in groups) == len([p for p in model.parameters() if p.requires_grad])
    images, labels = torch.rand(2, *model.input_dims[1:]), torch.tensor([0, 2])
    seq, mask = module.presentation.present(images)
    result = run_sequence(model, seq, labels, mask, n_pre=module.presentation.n_pre, chunk_steps=2,
                          activity_weight=0.1, backward=torch.Tensor.backward)
    assert torch.isfinite(result.loss)
    grads = [p.grad for p in model.classifier.parameters()]
    assert all(g is not None for g in grads) and sum(float(g.abs().sum()) for g in grads) > 0


def module_dt(name: str, kwargs: dict) -> float:
    return float(dynvision.create_model(name, **kwargs).dt)


@pytest.mark.parametrize("name", NAMES)
def test_response_latency_matches_every_registered_model(name):
    model = dynvision.create_model(name, **tiny_kwargs(name, steps=12)).eval()
    for p in model.classifier.parameters():
        torch.nn.init.normal_(p)
    p = Presentation.for_model(model, t_pre=2 * model.dt)
    seq, _ = p.present(torch.rand(2, *model.input_dims[1:]))
    with torch.no_grad():
        moved = (model(seq) - model(torch.full_like(seq, 0.5))).abs().amax(dim=(0, 2))
    assert moved.max() > 0
    first = int((moved > 1e-6 * moved.max()).nonzero()[0])
    assert first - p.n_pre == p.latency_steps
