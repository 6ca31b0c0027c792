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

import contextlib
import json
import logging
import os
import warnings
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
          resume: str | os.PathLike | None = None, overwrite: bool = False, seed: int = 0, loader: str = "plain",
          num_workers: int = 0, num_threads: int | None = None, progress: bool = True, test: bool = True,
          trainer_kwargs: Mapping[str, Any] | None = None, **module_kwargs: Any) -> TrainResult:
    """Train a model on image data shown over time.

    Every argument is checked before any work starts (see :mod:`dynvision.training.checks`),
    and a folder that holds a run is never overwritten silently.

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
        resume: ``"last"`` or a checkpoint path to continue from. A resumed run reproduces
            the uninterrupted one exactly on CPU (data order, learning rates and random
            states are functions of the epoch or restored from the checkpoint).
        overwrite: Replace a run already in ``out_dir`` (only the files a run writes are
            removed); without it, such a folder raises ``FileExistsError``.
        seed: Seed of the initial weights, the data order and the pattern shuffling.
        loader: ``plain`` or ``ffcv``.
        num_workers: Loader workers.
        num_threads: Set ``torch.set_num_threads`` for this process (CPU training).
        progress: Show a progress bar.
        test: Evaluate the final model on the test split (on rank 0).
        trainer_kwargs: More ``lightning.Trainer`` arguments (``limit_train_batches``...).
        **module_kwargs: Training settings of
            :class:`~dynvision.training.module.DynVisionModule` (``lr``, ``optimizer``,
            ``scheduler``, ``t_pre``, ``pattern``, ``reaction_time``, ``tbptt_steps``,
            ``activity_weight``, ``recurrence_lr_factor``, ``feedback_lr_factor``...).

    Returns:
        The trained model, its metrics and checkpoint paths.

    Raises:
        InvalidValueError: An argument out of range (``max_epochs=-1``, ``batch_size=0``...).
        UnknownNameError: An unknown model, dataset, keyword or training setting.
        FileExistsError: ``out_dir`` holds a run and neither ``resume`` nor ``overwrite`` is given.
        FileNotFoundError: ``resume`` finds no checkpoint.
        ValueError: A resumed run's settings differ from the run it continues.
    """
    from dynvision.registry import check_kwargs
    from dynvision.training.checks import (check_same_run, check_train_arguments, is_primary_process,
                                           prepare_run_folder)
    from dynvision.training.module import DEFAULTS, DynVisionModule, check_module_settings

    check_train_arguments(max_epochs=max_epochs, batch_size=batch_size, n_steps=n_steps, devices=devices,
                          accelerator=accelerator, precision=precision, seed=seed, loader=loader,
                          num_workers=num_workers, num_threads=num_threads, trainer_kwargs=trainer_kwargs)
    check_kwargs("training", module_kwargs, DynVisionModule.__init__)
    module_kwargs = {"seed": seed, **module_kwargs}
    check_module_settings(**{**DEFAULTS, **module_kwargs})
    primary = is_primary_process()
    out_dir = Path(out_dir).expanduser()
    if primary:
        ckpt_path = prepare_run_folder(out_dir, resume, overwrite)
    else:  # ranks > 0 re-run the command: the first process has checked and prepared the folder
        ckpt_path = os.fspath(out_dir / "checkpoints" / "last.ckpt") if str(resume) == "last" else \
            (os.fspath(resume) if resume is not None else None)
    if isinstance(model, str) and model_kwargs is not None:
        from dynvision.models import MODELS

        check_kwargs(f"model {model!r}", model_kwargs, MODELS.get(model).__init__)
    if num_threads:
        torch.set_num_threads(int(num_threads))
    dims = model.input_dims if isinstance(model, RecurrentModel) else (model_kwargs or {}).get("input_dims")
    sets = resolve_data(data, data_kwargs, dims)
    with _quiet_lightning():
        import lightning as L

        L.seed_everything(seed, workers=True, verbose=False)
        if isinstance(model, RecurrentModel):
            module = DynVisionModule(model, **module_kwargs)
        else:
            module = DynVisionModule(model, infer_model_kwargs(model_kwargs, sets["train"], n_steps),
                                     **module_kwargs)
        trainer, callbacks = _trainer(out_dir, sets, batch_size=batch_size, max_epochs=max_epochs,
                                      accelerator=accelerator, devices=devices, precision=precision,
                                      strategy=strategy, progress=progress, trainer_kwargs=trainer_kwargs)
        name, kwargs = model_spec_of(module)
        settings = {"model": name, "model_kwargs": kwargs, "module": dict(module.hparams),
                    "data": data if isinstance(data, str) else "custom", "data_kwargs": dict(data_kwargs or {}),
                    "batch_size": batch_size, "max_epochs": max_epochs, "seed": seed, "precision": precision,
                    "strategy": strategy, "devices": devices, "world_size": trainer.world_size, "loader": loader}
        if primary:
            if ckpt_path is not None:
                check_same_run(out_dir, settings)
            _write_run(out_dir, {**settings, "status": "running", "epochs_done": _epochs_done(ckpt_path)})
        from dynvision.training.datamodule import ImageDataModule

        datamodule = ImageDataModule(sets["train"], sets["val"], sets["test"], batch_size=batch_size, seed=seed,
                                     loader=loader, num_workers=num_workers)
        trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path)
    trained = module.model.eval()
    last, best = callbacks
    metrics: dict[str, Any] = {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1}
    if trainer.is_global_zero:
        if test and sets["test"] is not None:
            from dynvision.training.evaluate import evaluate

            scores = evaluate(trained, sets["test"], module.presentation, batch_size=max(batch_size, 256))
            metrics.update({f"test/{k}": v for k, v in scores.items()})
        _write_run(out_dir, {**settings, "status": "finished", "epochs_done": trainer.current_epoch,
                             "metrics": metrics, "best_checkpoint": best.best_model_path or None,
                             "last_checkpoint": last.best_model_path or None})
    return TrainResult(trained, metrics, best.best_model_path or None, last.best_model_path or None, out_dir,
                       module.presentation, trainer.global_rank)


def model_spec_of(module) -> tuple[str, dict[str, Any]]:
    """The registry name and constructor keywords of a module's model."""
    from dynvision.training.module import model_spec

    return model_spec(module.model)


def _epochs_done(ckpt_path: str | None) -> int:
    if ckpt_path is None:
        return 0
    from dynvision.training.evaluate import load_checkpoint

    return int(load_checkpoint(ckpt_path).get("epoch", -1)) + 1


def _write_run(out_dir: Path, record: Mapping[str, Any]) -> None:
    """Write ``run.json`` atomically (a kill never leaves half a file)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / "run.json.tmp"
    tmp.write_text(json.dumps(jsonable(dict(record)), indent=2))
    tmp.replace(out_dir / "run.json")


def _trainer(out_dir: Path, sets: Mapping[str, Any], *, batch_size: int, max_epochs: int, accelerator: str,
             devices: Any, precision: str, strategy: str | None, progress: bool,
             trainer_kwargs: Mapping[str, Any] | None):
    """The Lightning trainer, and its ``last`` and ``best`` checkpoint callbacks."""
    import lightning as L
    from lightning.pytorch.callbacks import ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

    has_val = sets["val"] is not None
    # ``last.ckpt`` after every epoch, ``best.ckpt`` when val/acc_valid improves (two callbacks: a
    # monitored ModelCheckpoint only refreshes its save_last file when the monitor improves). ``best``
    # saves first, so ``last.ckpt`` holds the best callback's updated state: resuming from it never
    # forgets a best checkpoint written in the same epoch.
    folder = out_dir / "checkpoints"
    last = ModelCheckpoint(dirpath=folder, filename="last", save_top_k=1, enable_version_counter=False)
    best = ModelCheckpoint(dirpath=folder, filename="best", monitor="val/acc_valid", mode="max", save_top_k=1,
                           enable_version_counter=False) if has_val else last
    options = {"max_epochs": max_epochs, "accelerator": accelerator, "devices": devices,
               "precision": precision, "logger": [CSVLogger(out_dir, name="logs"),
                                                  TensorBoardLogger(out_dir, name="tensorboard")],
               "callbacks": [best, last] if has_val else [last], "default_root_dir": out_dir,
               "enable_progress_bar": progress, "enable_model_summary": False, "num_sanity_val_steps": 0,
               "log_every_n_steps": _log_interval(len(sets["train"]), batch_size, trainer_kwargs),
               **({"strategy": strategy} if strategy else {}), **dict(trainer_kwargs or {})}
    return L.Trainer(**options), (last, best)


def _log_interval(n_samples: int, batch_size: int, trainer_kwargs: Mapping[str, Any] | None) -> int:
    """Log every 10 steps, or once per epoch when an epoch has fewer batches."""
    batches = -(-n_samples // batch_size)
    limit = (trainer_kwargs or {}).get("limit_train_batches")
    if isinstance(limit, int) and not isinstance(limit, bool):
        batches = min(batches, limit)
    elif isinstance(limit, float):
        batches = max(1, int(batches * limit))
    return max(1, min(10, batches))


@contextlib.contextmanager
def _quiet_lightning():
    """Lightning without its informational chatter, tips and one known upstream deprecation.

    Lightning prints "GPU available...", "💡 Tip: ... litlogger" and "`Trainer.fit` stopped"
    through its ``rank_zero`` logger at INFO level: that logger is raised to WARNING while
    training runs, so Lightning's warnings still show. Lightning 2.6 builds
    ``torch.utils._pytree.LeafSpec`` objects, which torch 2.13 deprecates (a FutureWarning on
    every fit that a user cannot act on): that one warning, from that one module, is
    ignored, and so is the "checkpoint directory is not empty" warning on resuming, since
    :func:`~dynvision.training.checks.prepare_run_folder` already decided about the folder.
    """
    loggers = [logging.getLogger(name) for name in ("lightning.pytorch.utilities.rank_zero",
                                                     "lightning.fabric.utilities.rank_zero")]
    levels = [log.level for log in loggers]
    try:
        for log in loggers:
            log.setLevel(logging.WARNING)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated",
                                    category=FutureWarning, module=r"lightning\.pytorch\.utilities\._pytree")
            # dynvision decides about existing checkpoints itself (checks.prepare_run_folder refuses
            # a folder that holds another run); Lightning's generic warning would fire on every resume.
            warnings.filterwarnings("ignore", message=r"Checkpoint directory .* exists and is not empty",
                                    category=UserWarning, module=r"lightning\.pytorch\.callbacks\.model_checkpoint")
            yield
    finally:
        for log, level in zip(loggers, levels):
            log.setLevel(level)
