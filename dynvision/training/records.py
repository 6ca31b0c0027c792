"""What a pretrained model's ``config.json`` records about how it was trained.

Example:
    >>> training_record  # doctest: +ELLIPSIS
    <function training_record at ...>
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any, Mapping


def training_record(result, data: str, data_kwargs: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``training`` entry of ``config.json``: data, presentation and run settings.

    Args:
        result: A :class:`~dynvision.training.api.TrainResult`.
        data: The dataset's name.
        data_kwargs: Its options.
    """
    run_file = Path(result.out_dir) / "run.json"
    run = json.loads(run_file.read_text()) if run_file.is_file() else {}
    return {"data": data, "data_kwargs": dict(data_kwargs or {}),
            "presentation": asdict(result.presentation) if result.presentation is not None else None,
            "module": run.get("module", {}), "epochs": run.get("epochs_done"), "batch_size": run.get("batch_size"),
            "seed": run.get("seed"), "val": {k: v for k, v in result.metrics.items() if k.startswith("val/")}}
