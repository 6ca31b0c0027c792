"""DynVisionModule: self-describing checkpoints, learning, activity penalty, lr groups, bf16."""

from __future__ import annotations

import math
import warnings

import pytest
import torch

import dynvision
from dynvision.registry import UnknownNameError
from dynvision.training.bptt import run_sequence
from dynvision.training.datamodule import ImageDataModule
from dynvision.training.evaluate import evaluate, model_from_checkpoint
from dynvision.training.module import DynVisionModule, model_spec

from .conftest import TINY

L = pytest.importorskip("lightning")


def fit(module, data, tmp_path, epochs=1, **kwargs):
    options = {"max_epochs": epochs, "accelerator": "cpu", "devices": 1, "logger": False,
               "enable_checkpointing": False, "enable_progress_bar": False, "enable_model_summary": False,
               "num_sanity_val_steps": 0, "default_root_dir": tmp_path, **kwargs}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer = L.Trainer(**options)
        trainer.fit(module, datamodule=ImageDataModule(data["train"], data.get("val"), batch_size=16, seed=0))
    return trainer


def test_hyperparameters_describe_the_model():
    module = DynVisionModule("DyRCNNx2", TINY, lr=0.01, t_pre=2.0)
    hp = module.hparams
    assert hp.model == "DyRCNNx2" and hp.lr == 0.01 and hp.t_pre == 2.0
    assert hp.model_kwargs == model_spec(module.model)[1]  # every constructor argument
    rebuilt = dynvision.create_model(hp.model, **hp.model_kwargs)
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == \
           {k: v.shape for k, v in module.model.state_dict().items()}


def test_a_built_model_is_wrapped_with_its_weights(tiny):
    module = DynVisionModule(tiny)
    assert module.model is tiny and module.hparams.model == "DyRCNNx2"
    with pytest.raises(ValueError, match="model_kwargs only apply"):
        DynVisionModule(tiny, {"width": 1.0})


def test_bad_settings_raise():
    with pytest.raises(UnknownNameError, match="valid optimizers"):
        DynVisionModule("DyRCNNx2", TINY, optimizer="lbfgs")
    with pytest.raises(UnknownNameError, match="valid schedulers"):
        DynVisionModule("DyRCNNx2", TINY, scheduler="linear")
    with pytest.raises(ValueError, match="tbptt_steps"):
        DynVisionModule("DyRCNNx2", TINY, tbptt_steps=-1)
    with pytest.raises(UnknownNameError, match="unknown area 'IT'"):
        DynVisionModule("DyRCNNx2", TINY, activity_areas=["IT"], activity_weight=1.0)
    with pytest.raises(ValueError, match="no step counts"):
        DynVisionModule("DyRCNNx2", TINY, reaction_time=20.0)
    with pytest.raises(ValueError, match=r"rest_weight=1.0 is invalid: expected 0 when t_pre=0.0 ms"):
        DynVisionModule("DyRCNNx2", TINY, rest_weight=1.0)
    with pytest.raises(UnknownNameError, match="unknown model"):
        DynVisionModule("DyRCNN", TINY)


def test_optimizer_groups_get_their_learning_rates():
    kwargs = {**TINY, "feedback": True, "tfb": 2.0}
    module = DynVisionModule("DyRCNNx2", kwargs, lr=0.02, optimizer="sgd", recurrence_lr_factor=0.25,
                             feedback_lr_factor=0.5, scheduler="none")
    opt = module.configure_optimizers()
    assert {g["name"]: g["lr"] for g in opt.param_groups} == pytest.approx(
        {"default": 0.02, "recurrence": 0.005, "feedback": 0.01})
    fb = {id(p) for c in module.model.connections if c.kind == "feedback" for p in c.parameters()}
    assert {id(p) for g in opt.param_groups if g["name"] == "feedback" for p in g["params"]} == fb


def test_training_lowers_the_loss_and_checkpoints_restore_it(quadrants, tmp_path):
    module = DynVisionModule("DyRCNNx2", TINY, lr=0.02, t_pre=2.0, reaction_time=2.0, tbptt_steps=2)
    before = evaluate(module.model, quadrants["val"], module.presentation)["cross_entropy"]
    trainer = fit(module, quadrants, tmp_path, epochs=4)
    after = evaluate(module.model, quadrants["val"], module.presentation)["cross_entropy"]
    assert after < before
    assert math.isfinite(float(trainer.callback_metrics["val/acc_valid"]))
    path = tmp_path / "m.ckpt"
    trainer.save_checkpoint(path)
    x = torch.rand(2, *TINY["input_dims"])
    with torch.no_grad():
        expected = module.model.eval()(x)
        loaded = DynVisionModule.load_from_checkpoint(path).model.eval()
        assert torch.allclose(loaded(x), expected, atol=1e-6)
        assert torch.allclose(model_from_checkpoint(path)(x), expected, atol=1e-6)
    assert loaded is not module.model


def _mean_activity(module, data):
    images, labels = data.tensors
    seq, mask = module.presentation.present(images, shuffle=False)
    with torch.no_grad():
        return float(run_sequence(module.model, seq, labels, mask, measure_activity=True).activity)


def test_activity_penalty_lowers_the_activity(quadrants, tmp_path):
    activity = {}
    for weight in (0.0, 1.0):
        torch.manual_seed(0)
        module = DynVisionModule("DyRCNNx2", TINY, lr=0.01, activity_weight=weight, scheduler="none")
        start = _mean_activity(module, quadrants["val"])
        fit(module, {"train": quadrants["train"]}, tmp_path, epochs=2)
        activity[weight] = _mean_activity(module, quadrants["val"])
    assert activity[1.0] < 0.5 * activity[0.0]
    assert activity[1.0] < start


def test_cosine_schedule_steps_once_per_epoch(quadrants, tmp_path):
    module = DynVisionModule("DyRCNNx2", TINY, lr=0.01, scheduler="cosine", min_lr_factor=0.5,
                             recurrence_lr_factor=0.5)
    trainer = fit(module, {"train": quadrants["train"]}, tmp_path, epochs=2)
    # the lr of epoch e is set when it starts: factor 1 in epoch 0, 0.75 in epoch 1 (cosine from 1 to 0.5)
    assert [g["lr"] for g in trainer.optimizers[0].param_groups] == pytest.approx([0.0075, 0.00375])
    assert float(trainer.callback_metrics["lr/recurrence"]) == pytest.approx(0.00375)  # logged at epoch 1's start


@pytest.mark.parametrize("tbptt_steps", [0, 2])
def test_bf16_mixed_precision_trains_on_cpu(quadrants, tmp_path, tbptt_steps):
    module = DynVisionModule("DyRCNNx2", TINY, lr=0.01, t_pre=2.0, pattern="10", shuffle_pattern=True,
                             tbptt_steps=tbptt_steps)
    trainer = fit(module, quadrants, tmp_path, precision="bf16-mixed", limit_train_batches=2)
    assert trainer.global_step == 2
    for key in ("train/loss", "val/loss", "val/acc_last", "val/acc_valid", "val/activity"):
        assert math.isfinite(float(trainer.callback_metrics[key])), key
    assert all(p.dtype == torch.float32 for p in module.model.parameters())
