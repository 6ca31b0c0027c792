"""The ``dynvision train`` command (wired into ``dynvision`` by ``dynvision.cli``).

:func:`add_train_command` registers ``train`` on an argparse subparsers object and sets
``func`` so the caller dispatches with ``args.func(args)`` (which returns the exit code).
``--set KEY=VALUE`` values are typed: ``3`` -> int, ``0.5`` -> float, ``true``/``false`` ->
bool, ``none`` -> None, ``[10, 1, 16, 16]`` -> list; anything else stays a string.

Example:
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="dynvision")
    >>> _ = add_train_command(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["train", "--model", "DyRCNNx4", "--set", "width=0.25", "--epochs", "3"])
    >>> args.model_kwargs, args.epochs
    ({'width': 0.25}, 3)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Sequence

from dynvision.notebooks.cli import parse_value  # one typing rule for every command

_EPILOG = """examples:
  dynvision train --model DyRCNNx4 --data digits --set width=0.25 --set "input_dims=[20, 1, 16, 16]" \\
      --set tff=2 --t-pre 8 --reaction-time 10 --epochs 30 --out results/digits
  dynvision train --model DyRCNNx2 --data natural_patches --data-option n_per_image=64 --tbptt 5
  dynvision train --model DyRCNNx4 --data digits --strategy ddp --devices 2      # 2 CPU processes (gloo)
  dynvision train --model DyRCNNx4 --data image_folder --data-option root=~/images --accelerator gpu \\
      --precision 16-mixed
  dynvision train ... --out results/digits --resume last                            # continue a run

Writes to --out: checkpoints/ (best by val/acc_valid, and last.ckpt), logs/version_N/metrics.csv,
tensorboard/version_N (view with `tensorboard --logdir OUT/tensorboard`) and run.json (settings
and final metrics, test accuracy included). --save-pretrained NAME also stores the model as a
shipped checkpoint, loadable with dynvision.create_model(MODEL, pretrained=NAME).
Exit status: 0 ok, 2 bad usage."""


class _KeyValueAction(argparse.Action):
    """Collect ``KEY=VALUE`` items into a dict of typed values."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        key, sep, value = values.partition("=")
        if not sep or not key.strip().isidentifier():
            parser.error(f"{option_string} expects KEY=VALUE (e.g. width=0.25), got {values!r}")
        items = dict(getattr(namespace, self.dest) or {})
        items[key.strip()] = parse_value(value)
        setattr(namespace, self.dest, items)


def add_train_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``train`` on ``subparsers``; ``args.func(args)`` runs it and returns the exit code.

    Example:
        >>> parser = argparse.ArgumentParser(prog="dynvision")
        >>> _ = add_train_command(parser.add_subparsers(dest="command"))
        >>> parser.parse_args(["train", "--strategy", "ddp", "--devices", "2"]).devices
        2
    """
    p = subparsers.add_parser(
        "train", help="train a model on images shown over time (Lightning)", epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train a registered dynvision model on a dataset. Every image is shown as a sequence on "
                    "the model's time grid: --t-pre ms of grey, then the image (by --pattern); the loss is the "
                    "cross-entropy averaged over the steps at least --reaction-time ms (and the model's "
                    "response latency) after onset.")
    g = p.add_argument_group("model and data")
    g.add_argument("--model", default="DyRCNNx4", metavar="NAME", help="registered model name (default: DyRCNNx4)")
    g.add_argument("--set", dest="model_kwargs", action=_KeyValueAction, default={}, metavar="KEY=VALUE",
                   help="model constructor argument, repeatable: width=0.25, tff=2, 'input_dims=[20, 1, 16, 16]'; "
                        "n_classes and input_dims default to the data's")
    g.add_argument("--data", default="digits", metavar="NAME",
                   help="dataset name: digits, natural_patches, image_folder (default: digits)")
    g.add_argument("--data-option", dest="data_kwargs", action=_KeyValueAction, default={}, metavar="KEY=VALUE",
                   help="dataset option, repeatable: size=16, channels=3, seed=1, root=DIR, n_per_image=64")
    g.add_argument("--steps", type=int, default=10, metavar="N",
                   help="time steps of the sequence when input_dims is not --set (default: 10)")
    g.add_argument("--loader", default="plain", choices=("plain", "ffcv"), help="batch loader (default: plain)")
    g.add_argument("--workers", type=int, default=0, metavar="N", help="loader workers (default: 0)")

    o = p.add_argument_group("optimisation")
    o.add_argument("--epochs", type=int, default=10, metavar="N", help="epochs (default: 10)")
    o.add_argument("--batch-size", type=int, default=64, metavar="N",
                   help="samples per batch and process (default: 64)")
    o.add_argument("--lr", type=float, default=1e-3, help="learning rate (default: 1e-3)")
    o.add_argument("--optimizer", default="adamw", choices=("adamw", "adam", "sgd"), help="(default: adamw)")
    o.add_argument("--weight-decay", type=float, default=0.01, help="(default: 0.01)")
    o.add_argument("--scheduler", default="cosine", choices=("cosine", "step", "none"),
                   help="per-epoch lr schedule (default: cosine)")
    o.add_argument("--recurrence-lr-factor", type=float, default=1.0, metavar="F",
                   help="lr factor of recurrent weights (parameters named *.recurrence.*) (default: 1)")
    o.add_argument("--feedback-lr-factor", type=float, default=1.0, metavar="F",
                   help="lr factor of feedback connections (default: 1)")
    o.add_argument("--gradient-clip", type=float, default=None, metavar="NORM", help="clip the gradient norm")
    o.add_argument("--tbptt", type=int, default=0, metavar="STEPS",
                   help="truncated BPTT window in steps; 0 back-propagates through the whole sequence (default: 0)")
    o.add_argument("--activity-weight", type=float, default=0.0, metavar="W",
                   help="weight of the L2 activity penalty on the areas' activity (default: 0, off)")
    o.add_argument("--seed", type=int, default=0, help="seed of weights, data order and pattern shuffling (default: 0)")

    t = p.add_argument_group("presentation (times in ms)")
    t.add_argument("--t-pre", type=float, default=0.0, metavar="MS", help="grey before the image (default: 0)")
    t.add_argument("--t-stim", type=float, default=None, metavar="MS",
                   help="stimulus period (default: the rest of the sequence)")
    t.add_argument("--pattern", default="1", help="on/off blocks over the stimulus period, e.g. 1011 (default: 1)")
    t.add_argument("--shuffle-pattern", action="store_true", help="shuffle the pattern's blocks every batch")
    t.add_argument("--reaction-time", type=float, default=0.0, metavar="MS",
                   help="time after each onset that the loss ignores (default: 0)")

    h = p.add_argument_group("hardware, output and resuming")
    h.add_argument("--accelerator", default="cpu", help="cpu, gpu, mps or auto (default: cpu)")
    h.add_argument("--devices", type=_devices, default=1, metavar="N",
                   help="devices / processes, or 'auto' (default: 1)")
    h.add_argument("--strategy", default=None, help="Lightning strategy: ddp, ddp_spawn, ... (default: automatic)")
    h.add_argument("--precision", default="32-true", help="32-true, bf16-mixed or 16-mixed (GPU) (default: 32-true)")
    h.add_argument("--threads", type=int, default=None, metavar="N", help="torch CPU threads per process")
    h.add_argument("--out", type=Path, default=Path("results/train"), metavar="DIR",
                   help="run folder (default: results/train)")
    h.add_argument("--resume", default=None, metavar="CKPT", help="checkpoint to continue from, or 'last'")
    h.add_argument("--limit-batches", type=int, default=None, metavar="N",
                   help="use only N training and validation batches per epoch (quick checks)")
    h.add_argument("--save-pretrained", default=None, metavar="NAME",
                   help="also save the trained model as data/pretrained/NAME (see --pretrained-root)")
    h.add_argument("--pretrained-root", type=Path, default=None, metavar="DIR",
                   help="data root for --save-pretrained (default: $DYNVISION_DATA or the repository's data/)")
    h.add_argument("--no-progress", dest="progress", action="store_false", help="hide the progress bar")
    p.set_defaults(func=run_train, _parser=p)
    return p


def _devices(text: str) -> int | str:
    return text if text == "auto" else int(text)


def run_train(args: argparse.Namespace) -> int:
    """Run ``dynvision train`` from parsed arguments; prints the final metrics as JSON."""
    from dynvision.training.api import train

    limits = {"limit_train_batches": args.limit_batches, "limit_val_batches": args.limit_batches} \
        if args.limit_batches else {}
    result = train(
        args.model, args.model_kwargs, args.data, data_kwargs=args.data_kwargs, n_steps=args.steps,
        max_epochs=args.epochs, batch_size=args.batch_size, out_dir=args.out, strategy=args.strategy,
        devices=args.devices, accelerator=args.accelerator, precision=args.precision, resume=args.resume,
        seed=args.seed, loader=args.loader, num_workers=args.workers, num_threads=args.threads,
        progress=args.progress, trainer_kwargs=limits, lr=args.lr, optimizer=args.optimizer,
        weight_decay=args.weight_decay, scheduler=args.scheduler, recurrence_lr_factor=args.recurrence_lr_factor,
        feedback_lr_factor=args.feedback_lr_factor, gradient_clip=args.gradient_clip, tbptt_steps=args.tbptt,
        activity_weight=args.activity_weight, t_pre=args.t_pre, t_stim=args.t_stim, pattern=args.pattern,
        shuffle_pattern=args.shuffle_pattern, reaction_time=args.reaction_time)
    if args.save_pretrained:
        from dynvision.models.pretrained import save_pretrained

        if result.rank == 0:
            metrics = {k[len("test/"):]: v for k, v in result.metrics.items() if k.startswith("test/")}
            folder = save_pretrained(result.model, args.save_pretrained, metrics, root=args.pretrained_root,
                                     training=training_record(result, args.data, args.data_kwargs),
                                     overwrite=True)
            print(f"saved pretrained model to {folder}", file=sys.stderr)
    print(json.dumps({k: v for k, v in result.metrics.items() if not isinstance(v, list)}, indent=2))
    return 0


def training_record(result, data: str, data_kwargs: dict) -> dict[str, Any]:
    """What ``config.json``'s ``training`` entry stores: data, presentation, run settings."""
    from dataclasses import asdict

    run_file = Path(result.out_dir) / "run.json"
    run = json.loads(run_file.read_text()) if run_file.is_file() else {}
    return {"data": data, "data_kwargs": dict(data_kwargs or {}),
            "presentation": asdict(result.presentation) if result.presentation is not None else None,
            "module": run.get("module", {}), "epochs": run.get("epochs_done"), "batch_size": run.get("batch_size"),
            "seed": run.get("seed"), "val": {k: v for k, v in result.metrics.items() if k.startswith("val/")}}


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` with only the train command and run it (for ``python -m dynvision.training.cli``)."""
    parser = argparse.ArgumentParser(prog="dynvision")
    add_train_command(parser.add_subparsers(dest="command", metavar="COMMAND", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
