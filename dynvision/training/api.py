"""``train()``: one call from a model and a dataset to a trained model, logs and checkpoints.

Everything a run writes goes to ``out_dir``: ``checkpoints/`` (``last.ckpt`` after every epoch,
``best.ckpt`` with the best ``val/acc_valid``),
``logs/version_N/metrics.csv`` (CSVLogger), ``tensorboard/version_N`` (TensorBoardLogger;
no online service is ever contacted), and ``run.json`` (what was trained on what, with which
settings, and the final metrics). ``resume="last"`` (or a checkpoint path) continues a run,
optimizer, schedule and data order included.

Scale-out is Lightning's: ``accelerator`` (``cpu``, ``gpu``, ``auto``), ``devices``,
``strategy`` (``ddp`` when run as a script or from the CLI, ``ddp_spawn`` or
``ddp_notebook`` from a notebook) and ``precision`` (``32-true``, ``bf16-mixed``,
``16-mixed`` on GPUs).

Example:
    >>> result = train("DyRCNNx2", {"width": 0.25}, "digits", data_kwargs={"size": 16},
    ...                max_epochs=2, out_dir="results/digits")  # doctest: +SKIP
    >>> result.metrics["test/acc_valid"]  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
from torch.utils.data import Dataset

from dynvision.conventions import jsonable
from dynvision.models import RecurrentModel

SPLIT_NAMES = ("train", "val", "test")


@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes:
        model: The trained model (weights of the last epoch), in eval mode.
        metrics: Final logged metrics (``train/...``, ``val/...``) and, with a test split,
            ``test/...`` from :func:`~dynvision.training.evaluate.evaluate`.
        best_checkpoint: Path of ``best.ckpt`` (best ``val/acc_valid``; ``last.ckpt`` without
            validation data).
        last_checkpoint: Path of ``last.ckpt`` (the end of the latest epoch).
        out_dir: The run folder.
        presentation: How images were shown (use it to evaluate the model the same way).
        rank: This process's global rank (only rank 0 tests and writes ``run.json``).
    """

    model: RecurrentModel
    metrics: dict[str, Any]
    best_checkpoint: str | None
    last_checkpoint: str | None
    out_dir: Path
    presentation: Any = field(default=None, repr=False)
    rank: int = 0


def resolve_data(data: str | Mapping[str, Dataset] | Sequence[Dataset], data_kwargs: Mapping[str, Any] | None = None,
                 input_dims: Sequence[int] | None = None) -> dict[str, Dataset | None]:
    """The train/val/test datasets of ``data``.

    Args:
        data: A dataset name for :func:`dynvision.data.make_dataset`, a mapping with
            ``train`` (and optionally ``val``, ``test``), or a ``(train, val, test)`` sequence.
        data_kwargs: Options of ``make_dataset`` (``size``, ``channels``, ``seed``...).
        input_dims: The model's ``(T, C, H, W)``; gives ``size`` and ``channels`` when
            ``data_kwargs`` does not.

    Example:
        >>> sets = resolve_data("digits", {"size": 8})
        >>> sorted(sets), sets["train"][0][0].shape
        (['test', 'train', 'val'], torch.Size([1, 8, 8]))
    """
    if isinstance(data, str):
        from dynvision.data import make_dataset

        opts = dict(data_kwargs or {})
        if input_dims is not None:
            opts.setdefault("size", tuple(int(d) for d in input_dims[2:]))
            opts.setdefault("channels", int(input_dims[1]))
        return {split: make_dataset(data, split=split, **opts) for split in SPLIT_NAMES}
    if data_kwargs:
        raise ValueError("data_kwargs only apply when the data is given by name")
    if isinstance(data, Mapping):
        unknown = set(data) - set(SPLIT_NAMES)
        if unknown or "train" not in data:
            raise ValueError(f"data mapping needs a 'train' split and may have 'val' and 'test'; got {sorted(data)}")
        return {split: data.get(split) for split in SPLIT_NAMES}
    if not 1 <= len(data) <= 3:
        raise ValueError(f"give 1 to 3 datasets (train, val, test), got {len(data)}")
    return dict(zip(SPLIT_NAMES, [*data, None, None]))


def infer_model_kwargs(model_kwargs: Mapping[str, Any] | None, train_set: Dataset, n_steps: int) -> dict[str, Any]:
    """Fill ``n_classes`` and ``input_dims`` (``(n_steps, C, H, W)``) from the data when missing."""
    kwargs = dict(model_kwargs or {})
    image, _ = train_set[0]
    if "input_dims" not in kwargs:
        kwargs["input_dims"] = (int(n_steps), *(int(d) for d in image.shape))
    if "n_classes" not in kwargs:
        n = getattr(train_set, "num_classes", None)
        if n is None:
            n = 1 + max(int(train_set[i][1]) for i in range(len(train_set)))  # type: ignore[arg-type]
        kwargs["n_classes"] = int(n)
    return kwargs


def train(model: str | RecurrentModel = "DyRCNNx4", model_kwargs: Mapping[str, Any] | None = None,
          data: str | Mapping[str, Dataset] | Sequence[Dataset] = "digits", *,
          data_kwargs: Mapping[str, Any] | None = None, n_steps: int = 10, max_epochs: int = 10,
          batch_size: int = 64, out_dir: str | os.PathLike = "results/train", strategy: str | None = None,
          devices: int | str = 1, accelerator: str = "cpu", precision: str = "32-true",
          resume: str | os.PathLike | None = None, seed: int = 0, loader: str = "plain", num_workers: int = 0,
          num_threads: int | None = None, progress: bool = True, test: bool = True,
          trainer_kwargs: Mapping[str, Any] | None = None, **module_kwargs: Any) -> TrainResult:
    """Train a model on image data shown over time.

    Args:
        model: A registered model name, or a built model (trained in place).
        model_kwargs: Constructor keywords for a named model; ``n_classes`` and
            ``input_dims`` default to the data's (with ``n_steps`` time steps).
        data: A dataset name (``digits``, ``natural_patches``, ``image_folder``), or datasets
            (see :func:`resolve_data`).
        data_kwargs: Options of the named dataset (``size``, ``channels``, ``seed``, ``root``...).
        n_steps: Time steps when ``input_dims`` is not given.
        max_epochs: Epochs to train (in all, when resuming).
        batch_size: Samples per batch and process.
        out_dir: Run folder for checkpoints, logs and ``run.json``.
        strategy: Lightning strategy (``ddp``, ``ddp_spawn``...); default: Lightning's choice.
        devices: Devices (processes) to use.
        accelerator: ``cpu``, ``gpu``, ``mps`` or ``auto``.
        precision: ``32-true``, ``bf16-mixed`` (CPU and recent GPUs) or ``16-mixed`` (GPU).
        resume: ``"last"`` or a checkpoint path to continue from.
        seed: Seed of the initial weights, the data order and the pattern shuffling.
        loader: ``plain`` or ``ffcv``.
        num_workers: Loader workers.
        num_threads: Set ``torch.set_num_threads`` for this process (CPU training).
        progress: Show a progress bar and the model summary.
        test: Evaluate the final model on the test split (on rank 0).
        trainer_kwargs: More ``lightning.Trainer`` arguments (``limit_train_batches``...).
        **module_kwargs: Training settings of
            :class:`~dynvision.training.module.DynVisionModule` (``lr``, ``optimizer``,
            ``scheduler``, ``t_pre``, ``pattern``, ``reaction_time``, ``tbptt_steps``,
            ``activity_weight``, ``recurrence_lr_factor``, ``feedback_lr_factor``...).

    Returns:
        The trained model, its metrics and checkpoint paths.
    """
    import lightning as L
    from lightning.pytorch.callbacks import ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

    from dynvision.training.datamodule import ImageDataModule
    from dynvision.training.evaluate import evaluate
    from dynvision.training.module import DynVisionModule, model_spec

    if num_threads:
        torch.set_num_threads(int(num_threads))
    out_dir = Path(out_dir)
    L.seed_everything(seed, workers=True, verbose=False)
    dims = model.input_dims if isinstance(model, RecurrentModel) else (model_kwargs or {}).get("input_dims")
    sets = resolve_data(data, data_kwargs, dims)
    if isinstance(model, RecurrentModel):
        module = DynVisionModule(model, **module_kwargs)
    else:
        module = DynVisionModule(model, infer_model_kwargs(model_kwargs, sets["train"], n_steps), **module_kwargs)
    datamodule = ImageDataModule(sets["train"], sets["val"], sets["test"], batch_size=batch_size, seed=seed,
                                 loader=loader, num_workers=num_workers)
    has_val = sets["val"] is not None
    # ``last.ckpt`` after every epoch, ``best.ckpt`` when val/acc_valid improves (two callbacks: a
    # monitored ModelCheckpoint only refreshes its save_last file when the monitor improves).
    folder = out_dir / "checkpoints"
    last = ModelCheckpoint(dirpath=folder, filename="last", save_top_k=1, enable_version_counter=False)
    best = ModelCheckpoint(dirpath=folder, filename="best", monitor="val/acc_valid", mode="max", save_top_k=1,
                           enable_version_counter=False) if has_val else last
    options = {"max_epochs": max_epochs, "accelerator": accelerator, "devices": devices,
               "precision": precision, "logger": [CSVLogger(out_dir, name="logs"),
                                                  TensorBoardLogger(out_dir, name="tensorboard")],
               "callbacks": [last, best] if has_val else [last], "default_root_dir": out_dir,
               "enable_progress_bar": progress, "enable_model_summary": progress, "num_sanity_val_steps": 0,
               "log_every_n_steps": max(1, min(10, len(sets["train"]) // batch_size)),
               **({"strategy": strategy} if strategy else {}), **dict(trainer_kwargs or {})}
    trainer = L.Trainer(**options)
    trainer.fit(module, datamodule=datamodule, ckpt_path=os.fspath(resume) if resume is not None else None)
    trained = module.model.eval()
    metrics: dict[str, Any] = {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1}
    if trainer.is_global_zero:
        if test and sets["test"] is not None:
            scores = evaluate(trained, sets["test"], module.presentation, batch_size=max(batch_size, 256))
            metrics.update({f"test/{k}": v for k, v in scores.items()})
        name, kwargs = model_spec(trained)
        run = {"model": name, "model_kwargs": kwargs, "module": dict(module.hparams),
               "data": data if isinstance(data, str) else "custom", "data_kwargs": dict(data_kwargs or {}),
               "batch_size": batch_size, "max_epochs": max_epochs, "seed": seed, "precision": precision,
               "strategy": strategy, "devices": devices, "world_size": trainer.world_size,
               "epochs_done": trainer.current_epoch, "metrics": metrics,
               "best_checkpoint": best.best_model_path or None}
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "run.json").write_text(json.dumps(jsonable(run), indent=2))
    return TrainResult(trained, metrics, best.best_model_path or None, last.best_model_path or None, out_dir,
                       module.presentation, trainer.global_rank)
