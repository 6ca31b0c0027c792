#!/usr/bin/env python
"""Write the DynVision 0.1.0 fixture that ``tests/models/test_interop.py`` checks against.

The published DynVision package is also imported as ``dynvision``, so it lives in its own
venv, built exactly as ``../shared/bench/peer_dynvision.sh`` builds it (PyPI's
``dynvision==0.1.0`` without its declared dependencies, plus what its model code imports).
Run this script with any python: it builds that venv if needed (``--venv``, default
``$PEER_VENV`` or ``/tmp/dynvision-peer-venv``) and runs itself again there, without
``PYTHONPATH``, so the real package is the one imported::

    python scripts/dynvision_fixture.py            # -> tests/fixtures/dynvision/

For each configuration in :data:`CONFIGS` it builds DynVision's own model with the given
constructor arguments, sets every weight from a deterministic recipe (nonzero biases,
recurrence biases included; distinct time constants per area), runs DynVision's ``forward``
on an input from the same kind of recipe, and stores DynVision's logits and the responses of
each area (what its ``record`` operation sees; a step at which an area has emitted nothing is
stored as zeros and marked in ``present_<area>``). One configuration is trained for one step
with DynVision's Lightning module and its checkpoint is stored as written.

Weights and inputs are stored as their recipe (key, shape, seed, power-of-two scale) plus a
SHA-256 of the exact float32 bytes: DynVision's DyRCNNx4 has 1.2 million parameters whatever
the input size, which would not fit a small fixture. :func:`recipe_state_dict` rebuilds the
state dict bit for bit (tests verify every checksum first). Outputs are stored as computed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "fixtures" / "dynvision"
DEFAULT_VENV = os.environ.get("PEER_VENV", "/tmp/dynvision-peer-venv")
PEER_PACKAGES = ["torch==2.13.0", "pytorch-lightning", "pydantic", "pandas", "pyyaml", "psutil",
                 "ruamel.yaml~=0.18.3", "python-dotenv~=1.0.1", "torchsummary~=1.5.0", "tqdm", "matplotlib",
                 "seaborn", "wandb"]

# Per-area time constants (ms) written into the state dict: DynVision keeps one per area
# (tau_V1 ... or tstep_layer1.tau), so from_dynvision must read them from there.
TAUS = {"V1": 4.0, "V2": 5.0, "V4": 6.0, "IT": 8.0, "layer1": 4.0, "layer2": 6.0}

# name, DynVision class, constructor arguments (DynVision's names), batch, steps, input size.
CONFIGS = [
    dict(name="x4_full", model="DyRCNNx4", batch=2, steps=8, size=6, full_responses=True,
         kwargs=dict(recurrence_type="full", dt=2, tau=5, tff=0, trc=2, skip=True, feedback=False)),
    dict(name="x4_delays", model="DyRCNNx4", batch=1, steps=12, size=8,
         kwargs=dict(recurrence_type="full", dt=2, tau=5, tff=4, trc=4, skip=True, t_skip=2, feedback=True,
                     t_feedback=4)),
    dict(name="x4_self_feedback", model="DyRCNNx4", batch=1, steps=10, size=8,
         kwargs=dict(recurrence_type="self", dt=1, tau=5, tff=1, trc=3, skip=False, feedback=True,
                     t_feedback=2, taugrad=True)),
    dict(name="x4_depthpointwise", model="DyRCNNx4", batch=1, steps=8, size=8,
         kwargs=dict(rctype="depthpointwise", dt=2, tau=5, tff=0, trc=0, skip=True, tsk=4, feedback=True,
                     tfb=0)),
    dict(name="x4_pointdepthwise", model="DyRCNNx4", batch=1, steps=8, size=8,
         kwargs=dict(recurrence_type="pointdepthwise", dt=2, tau=5, tff=2, trc=2, skip=True, bias=False)),
    dict(name="x4_uneven_delays", model="DyRCNNx4", batch=1, steps=10, size=8,
         kwargs=dict(recurrence_type="full", dt=2, tau=5, tff=3, trc=7, skip=True, t_skip=7, feedback=True,
                     t_feedback=5)),
    dict(name="x4_feedforward_only", model="DyRCNNx4", batch=1, steps=6, size=8,
         kwargs=dict(recurrence_type="full", dt=2, tau=5, tff=2, trc=2, skip=False, feedforward_only=True)),
    dict(name="x2_feedback", model="DyRCNNx2", batch=1, steps=8, size=8,
         kwargs=dict(recurrence_type="full", dt=2, tau=5, tff=2, trc=4, skip=False, feedback=True,
                     t_feedback=2)),
]
CHECKPOINT = dict(name="x2_checkpoint", model="DyRCNNx2", batch=2, steps=6, size=8,
                  kwargs=dict(recurrence_type="self", n_classes=3, dt=2, tau=5, tff=0, trc=2, skip=False,
                              feedback=True, t_feedback=2, learning_rate=1e-3))
N_CLASSES = 5


# ------------------------------------------------------------------------------------------
# recipes (numpy only: the tests import these functions to rebuild the state dicts)
def recipe_values(seed: int, n: int, exponent: int) -> np.ndarray:
    """``n`` float32 values ``q * 2**-exponent``, ``q`` in {-3, -2, -1, 1, 2, 3}, from PCG64(seed).

    Exact in float32 and reproducible on any machine (numpy's bit generators are stable).
    """
    raw = np.random.PCG64(seed).random_raw(n) >> np.uint64(32)
    q = (raw % np.uint64(6)).astype(np.int64) - 3
    q[q >= 0] += 1
    return (q.astype(np.float64) * 2.0 ** -exponent).astype(np.float32)


def recipe_uniform(seed: int, shape) -> np.ndarray:
    """Values in [0, 1) on a 2**-24 grid (exact in float32), from PCG64(seed)."""
    raw = np.random.PCG64(seed).random_raw(int(np.prod(shape))) >> np.uint64(40)
    return (raw.astype(np.float64) / 2.0 ** 24).astype(np.float32).reshape(shape)


def seed_of(*parts: str) -> int:
    return zlib.crc32("/".join(parts).encode())


def sha256(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array, dtype=np.float32).tobytes()).hexdigest()


def recipe_array(entry: dict) -> np.ndarray:
    """The array an entry of ``fixture.json`` describes (checks its SHA-256)."""
    shape = tuple(entry["shape"])
    if "value" in entry:
        array = np.full(shape, entry["value"], dtype=np.float32)
    elif "exponent" in entry:
        array = recipe_values(entry["seed"], int(np.prod(shape)), entry["exponent"]).reshape(shape)
    else:
        array = recipe_uniform(entry["seed"], shape)
    if sha256(array) != entry["sha256"]:
        raise ValueError(f"recipe for {entry.get('key', 'input')!r} does not reproduce the stored checksum")
    return array


def recipe_state_dict(config: dict) -> dict:
    """The DynVision state dict of a fixture configuration, as torch tensors (aliases included)."""
    import torch

    out = {}
    for entry in config["state_dict"]:
        if entry.get("dtype", "float32") != "float32":
            tensor = torch.tensor(entry["value"], dtype=getattr(torch, entry["dtype"]))
        else:
            tensor = torch.from_numpy(recipe_array(entry).copy())
        for key in [entry["key"], *entry.get("aliases", [])]:
            out[key] = tensor
    return out


def exponent_for(key: str, shape) -> int | None:
    """Power-of-two scale of a weight (None: not a recipe weight)."""
    if key.endswith("bias"):
        return 4
    if len(shape) == 4:
        fan_in = shape[1] * shape[2] * shape[3]
        extra = 1 if (".recurrence." in key or key.startswith(("addskip", "addfeedback"))) else 0
        return int(round(np.log2(2.16 * np.sqrt(fan_in / 2.0)))) + extra
    if len(shape) == 2:  # classifier
        return int(round(np.log2(2.16 * np.sqrt(shape[1] / 2.0))))
    if key.endswith("recurrence.weight"):  # self recurrence: one scalar
        return 3
    return None


# ------------------------------------------------------------------------------------------
# the peer (only inside its own venv)
def import_peer():
    """Import DynVision 0.1.0's models, as ../shared/bench/peer_dynvision.py does.

    The peer imports torchvision at module scope for its AlexNet/ResNet wrappers; torchvision
    does not import beside CPU torch 2.13 here and no DyRCNN code path uses it, so it is stubbed.
    """
    import types

    import torch.nn as nn
    import pytorch_lightning  # noqa: F401  (import while torchvision is really absent)

    tv, tvm, tvr = (types.ModuleType(n) for n in ("torchvision", "torchvision.models", "torchvision.models.resnet"))
    tvm.ResNet = type("ResNet", (nn.Module,), {})
    for n in ["AlexNet_Weights", "ResNet18_Weights", "ResNet34_Weights", "ResNet50_Weights",
              "ResNet101_Weights", "ResNet152_Weights"]:
        setattr(tvm, n, type(n, (), {"DEFAULT": None}))
    tvr.BasicBlock = type("BasicBlock", (), {})
    tvr.Bottleneck = type("Bottleneck", (), {})
    tvm.resnet, tv.models = tvr, tvm
    sys.modules.update({"torchvision": tv, "torchvision.models": tvm, "torchvision.models.resnet": tvr})
    import logging

    logging.disable(logging.WARNING)
    import dynvision.models as peer

    return peer


def build(peer, config: dict):
    """DynVision's model with its lazily built skip/feedback convolutions created."""
    import torch

    cls = getattr(peer, config["model"])
    kwargs = {"n_classes": N_CLASSES, **config["kwargs"]}
    model = cls(input_dims=(config["steps"], 3, config["size"], config["size"]), **kwargs).eval()
    # DynVision creates a connection's 1 x 1 convolution at its first call with both ends present,
    # and fails if the target's feedforward input is still missing then (tff > 0 with skip=True).
    # Its own _initialize_connections means to run one pass without feedforward delay; it sets
    # model.delay_feedforward, which the layers do not read, so set the layers' delay here.
    layers = [getattr(model, n) for n in model.layer_names]
    saved = [layer.t_feedforward for layer in layers]
    for layer in layers:
        layer.t_feedforward = 0
    with torch.no_grad():
        model(torch.zeros(1, config["steps"], 3, config["size"], config["size"]))
    for layer, t in zip(layers, saved):
        layer.t_feedforward = t
    return model


def recipe_entries(model, name: str) -> list[dict]:
    """Set every weight of ``model`` from the recipe; return the fixture's description."""
    import torch

    state = model.state_dict(keep_vars=True)
    entries, seen = [], {}
    for key, tensor in state.items():
        ident = (tensor.data_ptr(), tuple(tensor.shape), tensor.dtype)
        if ident in seen and tensor.numel() > 0:
            seen[ident]["aliases"].append(key)
            continue
        entry = {"key": key, "shape": list(tensor.shape), "aliases": []}
        seen[ident] = entry
        entries.append(entry)
        area = key[4:] if key.startswith("tau_") else key.split(".")[0].removeprefix("tstep_")
        if key.startswith("tau_") or key.endswith(".tau"):
            entry["value"] = TAUS[area]
            array = np.full(tuple(tensor.shape), TAUS[area], dtype=np.float32)
        elif tensor.dtype != torch.float32:
            entry.update(dtype=str(tensor.dtype).removeprefix("torch."), value=tensor.item())
            continue
        else:
            exponent = exponent_for(key, tuple(tensor.shape))
            if exponent is None:
                raise ValueError(f"no recipe for {key} {tuple(tensor.shape)}")
            entry.update(seed=seed_of(name, key), exponent=exponent)
            array = recipe_values(entry["seed"], tensor.numel(), exponent).reshape(tuple(tensor.shape))
        entry["sha256"] = sha256(array)
        with torch.no_grad():
            tensor.copy_(torch.from_numpy(array))
    for entry in entries:
        if not entry["aliases"]:
            del entry["aliases"]
    return entries


def run_peer(model, x):
    """DynVision's forward, with what each area's ``record`` operation sees at every step."""
    import torch

    steps = []
    original = model._forward

    def capture(xt, t=None, feedforward_only=False, store_responses=True):
        out, responses = original(xt, t=t, feedforward_only=feedforward_only, store_responses=True)
        steps.append({k: None if v is None else v.detach().clone() for k, v in responses.items()})
        return out, responses

    with torch.no_grad():
        plain = model(x)
        model._forward = capture
        try:
            logits = model(x)
        finally:
            del model._forward
    if not torch.equal(plain, logits):
        raise RuntimeError("recording the responses changed DynVision's output")
    return logits, steps


def outputs(model, logits, steps, x, full: bool) -> dict:
    arrays = {"logits": logits.numpy()}
    for layer in model.layer_names:
        shape = next(s[layer] for s in steps if s.get(layer) is not None).shape
        present = np.array([s.get(layer) is not None for s in steps])
        full_array = np.stack([np.zeros(shape, np.float32) if s.get(layer) is None else s[layer].numpy()
                               for s in steps], axis=1)  # (batch, time, C, H, W)
        arrays[f"present_{layer}"] = present
        arrays[f"mean_{layer}"] = full_array.mean(axis=(-2, -1), dtype=np.float64).astype(np.float32)
        if full:
            arrays[f"full_{layer}"] = full_array[0]
    return arrays


def describe(config: dict, model, entries, x_entry) -> dict:
    out = {k: config[k] for k in ("name", "model", "batch", "steps", "size")}
    out["kwargs"] = {"n_classes": config["kwargs"].get("n_classes", N_CLASSES),
                     "input_dims": [config["steps"], 3, config["size"], config["size"]], **config["kwargs"]}
    out["layers"] = list(model.layer_names)
    out["input"] = x_entry
    out["state_dict"] = entries
    return out


def make_input(config: dict):
    import torch

    shape = [config["batch"], config["steps"], 3, config["size"], config["size"]]
    entry = {"seed": seed_of(config["name"], "input"), "shape": shape}
    array = recipe_uniform(entry["seed"], shape)
    entry["sha256"] = sha256(array)
    return torch.from_numpy(array.copy()), entry


def make_checkpoint(peer, config: dict, out: Path) -> dict:
    """Train one step with DynVision's Lightning module and keep the checkpoint it writes."""
    import pytorch_lightning as pl
    import torch
    import wandb

    wandb.init(mode="disabled")  # DynVision's monitoring logs to wandb on every batch
    model = build(peer, config)
    recipe_entries(model, config["name"])
    x, x_entry = make_input(config)
    generator = torch.Generator().manual_seed(0)
    labels = torch.randint(0, config["kwargs"]["n_classes"], (config["batch"], config["steps"]), generator=generator)
    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, labels), batch_size=config["batch"])
    trainer = pl.Trainer(max_steps=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, accelerator="cpu", deterministic=True)
    model.train()
    torch.manual_seed(0)  # fitting starts by re-creating DynVision's connection convolutions at random
    trainer.fit(model, data)
    path = out / f"{config['name']}.ckpt"
    trainer.save_checkpoint(path, weights_only=True)
    model.eval()
    logits, steps = run_peer(model, x)
    np.savez_compressed(out / f"{config['name']}.npz", **outputs(model, logits, steps, x, full=False))
    desc = describe(config, model, [], x_entry)
    desc["checkpoint"] = path.name  # the state dict is in the checkpoint
    del desc["state_dict"]
    return desc


def generate(out: Path) -> None:
    import platform

    import torch

    torch.set_num_threads(1)
    peer = import_peer()
    out.mkdir(parents=True, exist_ok=True)
    described = []
    for config in CONFIGS:
        model = build(peer, config)
        entries = recipe_entries(model, config["name"])
        x, x_entry = make_input(config)
        logits, steps = run_peer(model, x)
        arrays = outputs(model, logits, steps, x, full=config.get("full_responses", False))
        np.savez_compressed(out / f"{config['name']}.npz", **arrays)
        described.append(describe(config, model, entries, x_entry))
        scale = {k: float(np.abs(v).max()) for k, v in arrays.items() if k.startswith(("logits", "mean_"))}
        print(config["name"], {k: round(v, 3) for k, v in scale.items()}, flush=True)
    described.append(make_checkpoint(peer, CHECKPOINT, out))
    from importlib.metadata import version

    meta = {"dynvision": version("dynvision"), "torch": torch.__version__,
            "pytorch_lightning": version("pytorch_lightning"), "python": platform.python_version(),
            "written_by": "scripts/dynvision_fixture.py"}
    (out / "fixture.json").write_text(json.dumps({"meta": meta, "configs": described}, indent=1) + "\n")
    print("wrote", out, flush=True)


# ------------------------------------------------------------------------------------------
def in_peer_venv() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("dynvision.model_components") is not None
    except ModuleNotFoundError:
        return False


def ensure_venv(venv: Path) -> Path:
    """Build the peer venv as ../shared/bench/peer_dynvision.sh does (once); return its python."""
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import importlib.util as u; assert u.find_spec('dynvision.model_components')"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if python.exists() and subprocess.run(probe, env=env, capture_output=True).returncode == 0:
        return python
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "pip"), "install", "-q"]
    subprocess.run([*pip, "torch==2.13.0"], check=True, env=env)
    subprocess.run([*pip, "--no-deps", "dynvision==0.1.0"], check=True, env=env)
    subprocess.run([*pip, *PEER_PACKAGES], check=True, env=env)
    return python


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venv", type=Path, default=Path(DEFAULT_VENV), help="the DynVision 0.1.0 venv")
    parser.add_argument("--out", type=Path, default=OUT, help="fixture folder")
    args = parser.parse_args(argv)
    os.environ.setdefault("WANDB_MODE", "disabled")
    if in_peer_venv() and not os.environ.get("PYTHONPATH"):
        generate(args.out)
        return 0
    python = ensure_venv(args.venv)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    cmd = [str(python), str(Path(__file__).resolve()), "--venv", str(args.venv), "--out", str(args.out)]
    return subprocess.run(cmd, env=env, cwd="/").returncode


if __name__ == "__main__":
    sys.exit(main())
