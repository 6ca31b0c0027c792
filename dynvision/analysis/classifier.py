"""Classifier read-out over time: accuracy and confidence from logits.

Definitions, with ``p = softmax(logits)`` over the class dim at every time step:

- accuracy(t): fraction of samples whose top class (first maximum) equals the label;
- p_true(t): mean probability of the true class;
- p_top(t): mean probability of the top class (the classifier's confidence).

Labels are matched to the values of the class coordinate (or to positions ``0..K-1`` when
there is none).

Example:
    >>> import numpy as np, xarray as xr
    >>> logits = xr.DataArray(np.array([[[2.0, 0.0]], [[0.0, 2.0]]]),
    ...                       dims=("sample", "time", "class"),
    ...                       coords={"time": [0.0], "label": ("sample", [0, 0])})
    >>> classifier_response(logits).accuracy.values.tolist()
    [0.5]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr


def softmax(logits: xr.DataArray, class_dim: str = "class") -> xr.DataArray:
    """Softmax probabilities over ``class_dim`` (numerically stable).

    Example:
        >>> softmax(xr.DataArray([0.0, 0.0], dims="class")).values.tolist()
        [0.5, 0.5]
    """
    if class_dim not in logits.dims:
        raise ValueError(f"class_dim={class_dim!r} is not a dim of the logits; dims: {logits.dims}")
    z = logits - logits.max(class_dim)
    e = np.exp(z)
    return (e / e.sum(class_dim)).rename("probability")


def _label_positions(logits: xr.DataArray, labels: Any, class_dim: str, dim: str) -> xr.DataArray:
    if isinstance(labels, str):
        if labels not in logits.coords:
            raise ValueError(
                f"labels={labels!r} is not a coordinate of the logits; pass the labels"
            )
        labels = logits.coords[labels]
    if not isinstance(labels, xr.DataArray):
        labels = xr.DataArray(np.asarray(labels), dims=dim)
    classes = (
        logits[class_dim].values
        if class_dim in logits.coords
        else np.arange(logits.sizes[class_dim])
    )
    pos = pd.Index(classes).get_indexer(np.asarray(labels.values).ravel())
    if (pos < 0).any():
        bad = np.asarray(labels.values).ravel()[pos < 0][0].item()
        raise ValueError(
            f"label {bad!r} is not a class; valid classes: {np.asarray(classes).tolist()}"
        )
    return labels.copy(data=pos.reshape(labels.shape)).drop_vars(
        labels.coords.keys() - set(labels.dims)
    )


def classifier_response(
    logits: xr.DataArray,
    labels: Any = "label",
    *,
    class_dim: str = "class",
    dim: str | None = "sample",
) -> xr.Dataset:
    """Accuracy, true-class and top-class probability over time.

    Args:
        logits: Logits with a class dim, e.g. ``(sample, time, class)``.
        labels: A coordinate name (default ``"label"``) or the labels along ``dim``.
        class_dim: Name of the class dim.
        dim: Dim to average over; ``None`` keeps per-sample values (``accuracy`` is then
            1.0 where correct, 0.0 where not).

    Example:
        >>> logits = xr.DataArray(np.zeros((2, 3, 4)), dims=("sample", "time", "class"))
        >>> float(classifier_response(logits, [0, 1]).p_true.mean())
        0.25
    """
    p = softmax(logits, class_dim)
    pos = _label_positions(logits, labels, class_dim, dim or "sample")
    top = logits.argmax(class_dim)
    correct = (top == pos).astype(np.float64)
    p_true = p.isel({class_dim: pos}, drop=True)
    p_top = p.max(class_dim)
    out = xr.Dataset({"accuracy": correct, "p_true": p_true, "p_top": p_top})
    if dim is not None:
        out = out.mean(dim)
    out["accuracy"].attrs = {"long_name": "accuracy", "units": "1"}
    out["p_true"].attrs = {"long_name": "probability of the true class", "units": "1"}
    out["p_top"].attrs = {"long_name": "probability of the top class", "units": "1"}
    return out
