"""Checks that run before training starts: every argument, and the run folder.

A training run owns its folder: ``run.json`` (settings, status, final metrics),
``checkpoints/best.ckpt`` and ``last.ckpt``, ``logs/version_N`` and ``tensorboard/version_N``.
:func:`prepare_run_folder` enforces the rules:

- a folder that holds a run is never overwritten silently: continue it with
  ``resume="last"``, replace it with ``overwrite=True`` (which removes only the files a run
  writes), or choose another folder;
- ``resume="last"`` needs ``checkpoints/last.ckpt`` (no silent restart from scratch), and
  a resumed run must have the settings of the run it continues (:func:`check_same_run`).

Example:
    >>> import tempfile
    >>> prepare_run_folder(tempfile.mkdtemp(), resume=None, overwrite=False) is None
    True
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, Mapping

from dynvision.validation import InvalidValueError, check_choice, check_int

RUN_FILE = "run.json"
RUN_FILES = ("run.json", "checkpoints/best.ckpt", "checkpoints/last.ckpt")
RUN_FOLDERS = ("logs", "tensorboard")
ACCELERATORS = ("cpu", "gpu", "cuda", "mps", "tpu", "auto")
PRECISIONS = ("32-true", "32", "64-true", "64", "16-mixed", "16", "bf16-mixed", "bf16", "16-true", "bf16-true",
              "transformer-engine")
SAME_RUN_KEYS = ("model", "model_kwargs", "module", "data", "data_kwargs", "batch_size", "seed", "world_size",
                 "loader")
"""Settings a resumed run must share with the run it continues (``max_epochs`` may grow)."""


def is_primary_process() -> bool:
    """Whether this is the first process of a (possibly distributed) launch.

    Processes that Lightning or a cluster launcher starts for ranks > 0 re-run the training
    command; only the first one checks and prepares the run folder.
    """
    return all(os.environ.get(var, "0") in ("", "0") for var in ("RANK", "LOCAL_RANK", "NODE_RANK"))


def check_train_arguments(*, max_epochs: Any, batch_size: Any, n_steps: Any, devices: Any, accelerator: Any,
                          precision: Any, seed: Any, loader: Any, num_workers: Any, num_threads: Any,
                          trainer_kwargs: Mapping[str, Any] | None) -> None:
    """Check :func:`~dynvision.training.train`'s own arguments (each error names value and range).

    Example:
        >>> check_train_arguments(max_epochs=-1, batch_size=8, n_steps=4, devices=1, accelerator="cpu",
        ...                       precision="32-true", seed=0, loader="plain", num_workers=0, num_threads=None,
        ...                       trainer_kwargs=None)
        Traceback (most recent call last):
        ...
        dynvision.validation.InvalidValueError: max_epochs=-1 is invalid: expected a whole number >= 1
    """
    from dynvision.data import list_loaders

    check_int("max_epochs", max_epochs, lo=1)
    check_int("batch_size", batch_size, lo=1)
    check_int("n_steps", n_steps, lo=1)
    if devices != "auto":
        if isinstance(devices, (list, tuple)):
            if not devices:
                raise InvalidValueError("devices", devices, "a number >= 1, a list of device indices or 'auto'")
        else:
            check_int("devices", devices, lo=1)
    check_choice("accelerator", accelerator, ACCELERATORS)
    check_choice("precision", str(precision), PRECISIONS)
    check_int("seed", seed, lo=0)
    check_choice("loader", loader, list_loaders())
    check_int("num_workers", num_workers, lo=0)
    check_int("num_threads", num_threads, lo=1, allow_none=True)
    for key in ("limit_train_batches", "limit_val_batches", "limit_test_batches"):
        value = (trainer_kwargs or {}).get(key)
        if value is not None and not (isinstance(value, float) and 0 < value <= 1):
            check_int(key, value, lo=1)


def _existing(folder: Path) -> list[str]:
    files = [name for name in RUN_FILES if (folder / name).is_file()]
    files += [f"{name}/" for name in RUN_FOLDERS if (folder / name).is_dir() and any((folder / name).iterdir())]
    return files


def run_status(folder: str | os.PathLike) -> str:
    """A few words on the run in ``folder`` (for messages): finished or interrupted, epochs done."""
    record = read_run(folder)
    if not record:
        return "a training run"
    status, done, total = record.get("status", "finished"), record.get("epochs_done"), record.get("max_epochs")
    epochs = f", {done} of {total} epochs" if done is not None and total is not None else ""
    return f"a {'finished' if status == 'finished' else 'interrupted'} training run of {record.get('model')}{epochs}"


def read_run(folder: str | os.PathLike) -> dict[str, Any]:
    """The ``run.json`` of a run folder (empty when missing or unreadable)."""
    path = Path(folder) / RUN_FILE
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def prepare_run_folder(out_dir: str | os.PathLike, resume: str | os.PathLike | None,
                       overwrite: bool) -> str | None:
    """Check (and with ``overwrite`` clear) a run folder; return the checkpoint to resume from.

    Args:
        out_dir: The run folder.
        resume: ``None``, ``"last"`` or a checkpoint path.
        overwrite: Replace a run that is there (only the files a run writes are removed).

    Returns:
        The checkpoint path to resume from, or ``None``.

    Raises:
        NotADirectoryError: ``out_dir`` is a file (or lies inside one).
        FileExistsError: The folder holds a run and neither ``resume`` nor ``overwrite`` is given.
        FileNotFoundError: Nothing to resume from.
        ValueError: ``resume`` and ``overwrite`` together.
    """
    folder = Path(out_dir).expanduser()
    for p in (folder, *folder.parents):
        if p.exists():
            if not p.is_dir():
                raise NotADirectoryError(f"out_dir {str(folder)!r} is not a folder ({str(p)!r} is a file)")
            break
    if resume is not None and overwrite:
        raise ValueError("resume and overwrite exclude each other: resume continues the run in the folder, "
                         "overwrite replaces it")
    existing = _existing(folder) if folder.is_dir() else []
    if resume is None:
        if existing and not overwrite:
            raise FileExistsError(
                f"{folder} holds {run_status(folder)} ({', '.join(existing)}); continue it with --resume last "
                f"(resume='last'), replace it with --overwrite (overwrite=True), or choose another --out")
        if existing and overwrite and is_primary_process():
            for name in RUN_FILES:
                (folder / name).unlink(missing_ok=True)
            for name in RUN_FOLDERS:
                for version in (folder / name).glob("version_*"):
                    shutil.rmtree(version, ignore_errors=True)
        return None
    if str(resume) == "last":
        last = folder / "checkpoints" / "last.ckpt"
        if not last.is_file():
            why = f"{folder} holds {run_status(folder)} that ended before its first checkpoint" if existing else \
                f"{folder} holds no training run"
            raise FileNotFoundError(f"resume='last': no checkpoint to resume ({last} does not exist; {why}); "
                                    f"start the run without --resume" + (" and with --overwrite" if existing else ""))
        return str(last)
    path = Path(resume).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"resume={str(resume)!r}: no such checkpoint file")
    if existing and folder.resolve() not in path.resolve().parents:
        raise FileExistsError(f"{folder} holds {run_status(folder)} ({', '.join(existing)}); resuming "
                              f"{str(path)!r} there would overwrite it: choose another --out")
    return str(path)


def check_same_run(folder: str | os.PathLike, settings: Mapping[str, Any]) -> None:
    """Refuse to resume a run with settings that differ from the ones it was started with.

    Raises:
        ValueError: Lists every differing setting with both values.
    """
    from dynvision.conventions import jsonable

    before = read_run(folder)
    if not before:
        return
    now = jsonable(dict(settings))
    diffs = []
    for key in SAME_RUN_KEYS:
        if key not in before or key not in now:
            continue
        a, b = before[key], now[key]
        if isinstance(a, dict) and isinstance(b, dict):
            diffs += [f"{key}.{k}: {a.get(k)!r} -> {b.get(k)!r}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
        elif a != b:
            diffs.append(f"{key}: {a!r} -> {b!r}")
    if diffs:
        raise ValueError(f"cannot resume the run in {folder} with other settings ({'; '.join(diffs)}); resume with "
                         f"the same settings, or start a new run with --overwrite or another --out")
