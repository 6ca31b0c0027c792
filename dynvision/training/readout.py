"""Fit Gaussian readouts (and optionally the core) to recorded responses, with Lightning.

:class:`ReadoutModel` puts :class:`~dynvision.layers.readout.MultiSessionReadout` s on one
area of a core: a dynvision model (the readouts read the area's recorded activity at every
step) or a feedforward core such as :class:`~dynvision.layers.spatiotemporal.SpatioTemporalCore`
(they read its output). Its ``run`` answers like a model's, so MEIs and ``dynvision visualize``
work on its readout neurons (``Unit("readout", n, session=...)``).

:func:`fit_readout` fits it to responses per session, ``{session: (stimuli, responses)}`` with
stimuli ``(N, T, C, H, W)`` in luminance and responses ``(N, T, neurons)`` (one value per step
of the model's output) or ``(N, neurons)`` (compared with the model's response averaged over
``window_ms``), by Poisson or mean-squared-error loss. With the core frozen (the default) its
activity is computed once, so only the readouts train. All sessions contribute to every
optimisation step.

Example:
    >>> import torch, dynvision
    >>> core = dynvision.create_model("DyRCNNx2", n_classes=2, input_dims=(4, 1, 8, 8), width=0.25)
    >>> model = ReadoutModel(core, {"mouse1": 5}, area="V1")
    >>> model(torch.rand(2, 4, 1, 8, 8), "mouse1").shape
    torch.Size([2, 4, 5])
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Mapping, Sequence

import lightning as L
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from dynvision.layers.readout import MultiSessionReadout, map_grid
from dynvision.models.base import RunOutput, config_dict
from dynvision.registry import check_choice
from dynvision.validation import check_bool, check_int, check_number, ms_aliases

LOSSES = ("poisson", "mse")


class ReadoutModel(nn.Module):
    """A core and Gaussian readouts of recorded neurons on one of its areas.

    Args:
        core: A dynvision model, or a module mapping ``(B, T, C, H, W)`` to activity
            ``(B, T, C', H', W')`` (then ``input_dims`` is needed).
        sessions: ``{session key: number of neurons}``.
        area: The area the readouts read (a model's area; default its top area).
        input_dims: ``(T, C, H, W)`` of a feedforward core's input.
        dt_ms: Time step of a feedforward core's frames (default: its layers' ``dt_ms``); a
            model core has its own ``dt``, and a different value here is an error.
        **readout_kwargs: Options of :class:`~dynvision.layers.readout.GaussianReadout`.
    """

    @ms_aliases
    def __init__(self, core: nn.Module, sessions: Mapping[str, int], area: str | None = None, *,
                 input_dims: Sequence[int] | None = None, dt_ms: float | None = None, **readout_kwargs):
        super().__init__()
        self.core = core
        self.is_model = hasattr(core, "areas") and hasattr(core, "run")
        if self.is_model:
            names = list(core.areas)
            self.readout_area = names[-1] if area is None else check_choice("area", area, names)
            channels, size = core.areas[self.readout_area].shape_at("record")
            self.input_dims, self.dt, self.n_classes = tuple(core.input_dims), float(core.dt), int(core.n_classes)
            if dt_ms is not None and float(dt_ms) != self.dt:
                raise ValueError(f"dt_ms={dt_ms} differs from the core model's dt={self.dt:g} ms; leave it out")
        else:
            if input_dims is None:
                raise ValueError("a feedforward core needs input_dims=(time, channels, height, width)")
            if dt_ms is None:
                dt_ms = next((float(m.dt_ms) for m in core.modules() if hasattr(m, "dt_ms")), None)
            if dt_ms is None:
                raise ValueError("give dt_ms, the time between the frames of the feedforward core")
            self.input_dims, self.dt = tuple(int(d) for d in input_dims), check_number("dt_ms", dt_ms, lo=0,
                                                                                       lo_open=True, unit="ms")
            self.n_classes = 0
            self.readout_area = "core" if area is None else str(area)
            with torch.no_grad():
                probe = core(torch.zeros(1, 1, *self.input_dims[1:]))
            channels, size = probe.shape[2], tuple(probe.shape[-2:])
        self.readouts = MultiSessionReadout(channels, size, sessions, **readout_kwargs)
        self.sessions = {k: int(v) for k, v in sessions.items()}
        self.readout_kwargs = dict(readout_kwargs)

    @property
    def areas(self):
        """The core's areas (a feedforward core shows as one area)."""
        if self.is_model:
            return self.core.areas
        size = self.readouts.session(self.readouts.readout_keys()[0]).size
        channels = self.readouts.session(self.readouts.readout_keys()[0]).in_channels
        return {self.readout_area: SimpleNamespace(shape_at=lambda op: (channels, size), out_channels=channels,
                                                   size=size)}

    @property
    def area_names(self) -> list[str]:
        return list(self.areas)

    def activity(self, x: torch.Tensor) -> torch.Tensor:
        """The read area's activity ``(B, T, C, H, W)`` for a stimulus ``(B, T, C, H, W)``."""
        if self.is_model:
            return self.core.run(x, record={self.readout_area: "none"}).recordings[self.readout_area]
        return self.core(x)

    def forward(self, x: torch.Tensor, session: str) -> torch.Tensor:
        """Responses ``(B, T, neurons)`` of session ``session`` to a stimulus ``(B, T, C, H, W)``."""
        return self.readouts(self.activity(x), session)

    def run(self, x: torch.Tensor, state=None, record=None) -> RunOutput:
        """Like a model's ``run``: logits (none for a feedforward core) and recorded areas."""
        if self.is_model:
            return self.core.run(x, state=state, record=record)
        return self._recorded(self.core(x), record)

    @property
    def has_affine_front(self) -> bool:
        """Whether the core has an affine first stage (see :meth:`affine_front`)."""
        return not self.is_model and hasattr(self.core, "front") and hasattr(self.core, "from_front")

    def affine_front(self, x: torch.Tensor) -> torch.Tensor:
        """The core's affine first stage (a feedforward core's ``front``): ``run(x)`` equals
        ``run_front(affine_front(x))`` and ``affine_front`` is affine in ``x``."""
        if not self.has_affine_front:
            raise TypeError(f"the core ({type(self.core).__name__}) has no affine first stage")
        return self.core.front(x)

    def run_front(self, y: torch.Tensor, state=None, record=None) -> RunOutput:
        """``run`` from the output of :meth:`affine_front`."""
        return self._recorded(self.core.from_front(y), record)

    def _recorded(self, act: torch.Tensor, record) -> RunOutput:
        if isinstance(record, str):
            record = [record]
        if isinstance(record, (list, tuple)):
            record = dict.fromkeys(record, "none")
        recordings = {}
        for name, reduce in (record or {}).items():  # every step at once: (B * T, C, H, W) -> (B, T, ...)
            check_choice("area", name, [self.readout_area])
            recordings[name] = act if reduce in ("none", None) else reduce(act.flatten(0, 1)).unflatten(0, act.shape[:2])
        return RunOutput(act.new_zeros(act.shape[0], act.shape[1], 0), recordings, None)

    def save(self, path: str | os.PathLike) -> str:
        """Write the model (core configuration, sessions, weights) to ``path`` (``torch.save``).

        The core must be a registered dynvision model, or a
        :class:`~dynvision.layers.spatiotemporal.SpatioTemporalCore` (its ``config``).
        """
        if self.is_model:
            core = {"model": getattr(type(self.core), "registry_name", None), "kwargs": config_dict(self.core)}
            core["kwargs"].pop("model", None)
        else:
            core = {"spatiotemporal": getattr(self.core, "config", None)}
            if core["spatiotemporal"] is None:
                raise TypeError(f"cannot save a {type(self.core).__name__} core: it has no config")
        torch.save({"dynvision": "readout_model", "core": core, "sessions": self.sessions, "area": self.readout_area,
                    "input_dims": list(self.input_dims), "dt_ms": self.dt, "readout_kwargs": self.readout_kwargs,
                    "state_dict": self.state_dict()}, os.fspath(path))
        return os.fspath(path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "ReadoutModel":
        """Rebuild a model written by :meth:`save` (in eval mode)."""
        ckpt = torch.load(os.fspath(path), map_location="cpu", weights_only=True)
        if not isinstance(ckpt, dict) or ckpt.get("dynvision") != "readout_model":
            raise ValueError(f"{os.fspath(path)} holds no readout model (written by ReadoutModel.save)")
        core_cfg = ckpt["core"]
        if "model" in core_cfg:
            from dynvision.models import create_model

            core = create_model(core_cfg["model"], **core_cfg["kwargs"])
        else:
            from dynvision.layers.spatiotemporal import SpatioTemporalCore

            core = SpatioTemporalCore(**core_cfg["spatiotemporal"])
        model = cls(core, ckpt["sessions"], ckpt["area"], input_dims=ckpt["input_dims"], dt_ms=ckpt["dt_ms"],
                    **ckpt["readout_kwargs"])
        model.load_state_dict(ckpt["state_dict"])
        return model.eval()


class ReadoutModule(L.LightningModule):
    """Lightning wrapper: the loss of every session's batch, summed, per optimisation step.

    With ``train_core`` false only the readouts are registered (the core's activity comes
    precomputed), so the core stays as it is (evaluation mode, untouched).
    """

    def __init__(self, model: ReadoutModel, loss: str, lr: float, train_core: bool, window_ms=None):
        super().__init__()
        self.readouts = model.readouts
        self.core = model.core if train_core else None
        self._model = [model]  # a list: the whole model is not registered twice
        self.loss_name, self.lr, self.window_ms, self.dt = loss, lr, window_ms, model.dt

    def _predict(self, session: str, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        act = self._model[0].activity(inputs) if self.core is not None else inputs
        pred = self.readouts(act, session)
        return _window_mean(pred, self.dt, self.window_ms) if target.ndim == 2 else pred

    def _loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.loss_name == "mse":
            return torch.mean((pred - target) ** 2)
        return torch.mean(pred - target * torch.log(pred + 1e-8))

    def training_step(self, batch, batch_idx):
        total = 0.0
        for session, (inputs, target) in batch.items():
            total = total + self._loss(self._predict(session, inputs, target), target)
        self.log("loss", total, prog_bar=True, on_step=False, on_epoch=True, batch_size=1)
        return total

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.lr)


@dataclass
class ReadoutFit:
    """What :func:`fit_readout` returns.

    Attributes:
        model: The fitted model (eval mode).
        loss: The training loss at the end of each epoch.
        correlation: ``{session: per-neuron correlation of prediction and response}`` on the
            training data.
    """

    model: ReadoutModel
    loss: list[float] = field(default_factory=list)
    correlation: dict[str, np.ndarray] = field(default_factory=dict)


def _tensor(x) -> torch.Tensor:
    values = x.values if hasattr(x, "dims") and hasattr(x, "values") else x
    return torch.as_tensor(np.asarray(values) if not torch.is_tensor(values) else values).float()


@ms_aliases
def fit_readout(model: ReadoutModel, data: Mapping[str, tuple[Any, Any]], *, loss: str = "poisson",
                train_core: bool = False, epochs: int = 100, lr: float = 0.01, batch_size: int = 64,
                window_ms: Sequence[float] | None = None, init_positions: bool = True, seed: int = 0,
                accelerator: str = "cpu",
                devices: int | str = 1, progress: bool = False) -> ReadoutFit:
    """Fit ``model``'s readouts (and with ``train_core`` its core) to recorded responses.

    Args:
        model: The :class:`ReadoutModel` (trained in place).
        data: ``{session: (stimuli (N, T, C, H, W), responses (N, T, neurons) or (N, neurons))}``.
        loss: ``"poisson"`` (responses are counts or rates) or ``"mse"``.
        train_core: Fit the core's parameters too (else only the readouts; the core's activity is
            computed once).
        epochs: Passes over the data.
        lr: Adam learning rate.
        batch_size: Samples per session and step.
        window_ms: For time-averaged responses: the part of the model's response that is averaged.
        init_positions: Start each neuron's mask at the map position whose activity correlates
            best with its responses (:func:`best_positions`), so no neuron starts in a far-off
            local optimum.
        seed: Seed of the data order.
        accelerator: Lightning accelerator (``cpu``, ``gpu``, ``auto``).
        devices: Lightning devices.
        progress: Show Lightning's progress bar.

    Returns:
        The fitted model, the loss per epoch and the per-neuron correlations.
    """
    check_choice("loss", loss, LOSSES)
    train_core = check_bool("train_core", train_core)
    epochs = check_int("epochs", epochs, lo=1)
    lr = check_number("lr", lr, lo=0, lo_open=True)
    batch_size = check_int("batch_size", batch_size, lo=1)
    unknown = [s for s in data if s not in model.sessions]
    if unknown or not data:
        raise ValueError(f"data must be keyed by the model's sessions {list(model.sessions)}, got {list(data)}")
    sets = {}
    for session, (stimuli, responses) in data.items():
        x, y = _tensor(stimuli), _tensor(responses)
        if x.ndim != 5 or len(x) != len(y) or y.shape[-1] != model.sessions[session] or y.ndim not in (2, 3):
            raise ValueError(f"session {session!r}: stimuli must be (N, T, C, H, W) and responses (N, T, "
                             f"{model.sessions[session]}) or (N, {model.sessions[session]}); got {tuple(x.shape)} "
                             f"and {tuple(y.shape)}")
        if loss == "poisson" and bool((y < 0).any()):
            raise ValueError(f"session {session!r}: Poisson loss needs non-negative responses; use loss='mse'")
        if not train_core:
            with torch.no_grad():
                model.eval()
                x = torch.cat([model.activity(x[i:i + 256]) for i in range(0, len(x), 256)])
        sets[session] = TensorDataset(x, y)
        if check_bool("init_positions", init_positions):
            with torch.no_grad():
                act = x if not train_core else torch.cat([model.activity(x[i:i + 256]) for i in range(0, len(x), 256)])
                readout = model.readouts[session]
                sigma = float(readout.sigma.mean())
                readout.set(mu=best_positions(act, y, model.dt, window_ms, sigma=sigma).clamp(-0.95, 0.95))
    model.train()
    if not train_core:
        model.core.eval()
    from lightning.pytorch.utilities import CombinedLoader

    g = torch.Generator().manual_seed(int(seed))
    loaders = {s: DataLoader(d, batch_size=batch_size, shuffle=True, generator=g) for s, d in sets.items()}
    module = ReadoutModule(model, loss, lr, train_core, window_ms)
    history = _History()
    with _quiet_lightning():
        trainer = L.Trainer(max_epochs=epochs, accelerator=accelerator, devices=devices, logger=False,
                            enable_checkpointing=False, enable_progress_bar=progress, enable_model_summary=False,
                            num_sanity_val_steps=0, callbacks=[history])
        trainer.fit(module, CombinedLoader(loaders, mode="max_size_cycle"))
    model.eval()
    return ReadoutFit(model, history.losses, _correlations(model, data, window_ms))


def best_positions(activity: torch.Tensor, responses: torch.Tensor, dt_ms: float = 1.0, window_ms=None,
                   sigma: float = 0.3, max_rows: int = 2048, max_positions: int = 256,
                   max_channels: int = 64) -> torch.Tensor:
    """``(neurons, 2)``: for each neuron the map position (normalised ``x, y``) where a Gaussian
    mask of extent ``sigma`` reads activity that best predicts its responses.

    The activity is blurred with the mask (normalised at the borders, as the readout's mask
    is); at each candidate position a least-squares fit of the response on the blurred
    channels (plus a constant) is scored by its residual, and the best position wins. Costs are
    bounded by using at most ``max_rows`` samples x steps, a grid of at most ``max_positions``
    positions and the first ``max_channels`` principal components of the channels.

    Args:
        activity: ``(N, T, C, H, W)``.
        responses: ``(N, T, neurons)``, or ``(N, neurons)`` compared with the activity averaged
            over ``window_ms``.
        sigma: Mask extent in normalised units (1 is half the map).
    """
    if responses.ndim == 2:
        a, y = _window_mean(activity.flatten(2), dt_ms, window_ms).view(len(activity), *activity.shape[2:]), responses
    else:
        a, y = activity.flatten(0, 1), responses.flatten(0, 1)
    step = max(1, len(a) // max_rows)
    a, y = a[::step].double(), y[::step].double()
    h, w = a.shape[-2:]
    a = _blur(a, sigma * h / 2, sigma * w / 2)
    stride = max(1, int(np.ceil(np.sqrt(h * w / max_positions))))
    a = a[..., stride // 2::stride, stride // 2::stride]
    m, c, ph, pw = a.shape
    x = a.permute(2, 3, 0, 1).reshape(ph * pw, m, c)  # (positions, rows, channels)
    x = x - x.mean(1, keepdim=True)
    if c > max_channels:  # the leading principal components of the channels
        _, _, v = torch.linalg.svd(x.reshape(-1, c), full_matrices=False)
        x = x @ v[:max_channels].T
    yc = y - y.mean(0)
    fit = torch.linalg.lstsq(x, yc.expand(len(x), -1, -1)).solution
    residual = (x @ fit - yc).pow(2).sum(1)  # (positions, neurons)
    best = residual.argmin(0)
    gx, gy = map_grid((h, w), dtype=torch.float64)
    gx = gx[stride // 2::stride, stride // 2::stride].flatten()
    gy = gy[stride // 2::stride, stride // 2::stride].flatten()
    return torch.stack([gx[best], gy[best]], 1).float()


def _blur(a: torch.Tensor, sy: float, sx: float) -> torch.Tensor:
    """Gaussian blur of ``(M, C, H, W)`` maps, normalised by the blurred border (zero padding)."""
    import torch.nn.functional as F

    def kernel(s: float, n: int) -> torch.Tensor:
        r = torch.arange(-(n - 1), n, dtype=a.dtype)
        k = torch.exp(-0.5 * (r / max(s, 1e-3)) ** 2)
        return k / k.sum()

    m, c, h, w = a.shape
    ky, kx = kernel(sy, h), kernel(sx, w)
    flat = torch.cat([a.reshape(m * c, 1, h, w), torch.ones(1, 1, h, w, dtype=a.dtype)])
    out = F.conv2d(flat, ky.view(1, 1, -1, 1), padding=(h - 1, 0))
    out = F.conv2d(out, kx.view(1, 1, 1, -1), padding=(0, w - 1))
    return (out[:-1] / out[-1:]).view(m, c, h, w)


def _window_mean(pred: torch.Tensor, dt_ms: float, window_ms) -> torch.Tensor:
    """``(N, T, n)`` -> ``(N, n)``: the mean over the steps at ``k * dt_ms`` within ``window_ms``."""
    if window_ms is None:
        return pred.mean(1)
    times = torch.arange(pred.shape[1], device=pred.device) * dt_ms
    keep = (times >= window_ms[0] - 1e-9) & (times <= window_ms[1] + 1e-9)
    if not bool(keep.any()):
        raise ValueError(f"window_ms={tuple(window_ms)} holds no step of the response (0 to "
                         f"{float(times[-1]):g} ms)")
    return pred[:, keep].mean(1)


@contextlib.contextmanager
def _quiet_lightning():
    """Lightning's banners ("GPU available", tips) and the warnings that do not apply to an in-memory fit."""
    loggers = [logging.getLogger(n) for n in ("lightning.pytorch.utilities.rank_zero",
                                              "lightning.fabric.utilities.rank_zero")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r".*does not have many workers.*")  # in-memory tensors
            # Lightning 2.6 builds torch's deprecated LeafSpec on every loader (torch >= 2.10 warns)
            warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)", category=FutureWarning)
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


class _History(L.Callback):
    def __init__(self):
        self.losses: list[float] = []

    def on_train_epoch_end(self, trainer, module):
        self.losses.append(float(trainer.callback_metrics["loss"]))


@torch.no_grad()
def _correlations(model: ReadoutModel, data, window_ms) -> dict[str, np.ndarray]:
    out = {}
    for session, (stimuli, responses) in data.items():
        x, y = _tensor(stimuli), _tensor(responses)
        pred = torch.cat([model(x[i:i + 256], session) for i in range(0, len(x), 256)])
        if y.ndim == 2:
            pred = _window_mean(pred, model.dt, window_ms)
        p, t = pred.reshape(-1, y.shape[-1]).double(), y.reshape(-1, y.shape[-1]).double()
        p, t = p - p.mean(0), t - t.mean(0)
        out[session] = ((p * t).sum(0) / (p.norm(dim=0) * t.norm(dim=0)).clamp_min(1e-30)).numpy()
    return out


__all__ = ["LOSSES", "ReadoutFit", "ReadoutModel", "ReadoutModule", "best_positions", "fit_readout"]
