"""``dynvision train``: train a model with Lightning, then say where it is and how to use it.

Every option is checked before training starts (``--epochs -1``, ``--batch-size 0``,
``--save-pretrained ../x``, an unknown ``--set`` name, a folder that already holds a run...).
``--set`` values are typed by the model's constructor arguments, ``--data-option`` values by
the dataset's options. A run folder is never overwritten without ``--overwrite``;
``--resume last`` continues it exactly where it stopped.

Example:
    $ dynvision train --model DyRCNNx4 --data digits --set width=0.25 --epochs 5 --out results/train
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any, Mapping

from dynvision.cli.params import Param, closest, function_parameters, lookup, model_arguments
from dynvision.cli.values import coerce

EPILOG = """examples:
  dynvision train --model DyRCNNx4 --data digits --set width=0.25 --set "input_dims=[20, 1, 16, 16]" \\
      --set tff=2 --t-pre 8 --reaction-time 10 --epochs 30 --out results/digits
  dynvision train --model DyRCNNx2 --data natural_patches --data-option n_per_image=64 --tbptt 5
  dynvision train --model DyRCNNx4 --data digits --strategy ddp --devices 2      # 2 CPU processes (gloo)
  dynvision train --model DyRCNNx4 --data image_folder --data-option root=~/images --accelerator gpu \\
      --precision 16-mixed
  dynvision train ... --out results/digits --resume last                            # continue a run
  dynvision train --model dyrcnnx4-digits --data digits --epochs 2 --out results/finetune   # fine-tune

Writes to --out: checkpoints/ (best by val/acc_valid, and last.ckpt), logs/version_N/metrics.csv,
tensorboard/version_N (view with `tensorboard --logdir OUT/tensorboard`) and run.json (settings,
status and final metrics, test accuracy included). A folder that holds a run is kept: continue it
with --resume last (the result equals an uninterrupted run, bit for bit on CPU), replace it with
--overwrite, or choose another --out. --save-pretrained NAME also stores the model under NAME in
the user data folder ($DYNVISION_DATA, default ~/.local/share/dynvision), so `--model NAME`
works in every command. Ends by printing where the model is and the command that runs an
experiment on it. Exit status: 0 ok, 2 bad usage."""


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``train`` to ``subparsers``; ``args.func(args)`` runs it."""
    p = subparsers.add_parser(
        "train", help="train a model on images shown over time (Lightning)", epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train a dynvision model on a dataset. Every image is shown as a sequence on the model's "
                    "time grid: --t-pre ms of grey, then the image (by --pattern); the loss is the cross-entropy "
                    "averaged over the steps at least --reaction-time ms (and the model's response latency) "
                    "after onset.")
    g = p.add_argument_group("model and data")
    g.add_argument("--model", default="DyRCNNx4", metavar="MODEL",
                   help="registered model name (default: DyRCNNx4), or a pretrained name, checkpoint or training "
                        "folder to fine-tune")
    g.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="model constructor argument, repeatable: width=0.25, tff=2, 'input_dims=[20, 1, 16, 16]'; "
                        "n_classes and input_dims default to the data's")
    g.add_argument("--data", default="digits", metavar="NAME",
                   help="dataset name: digits, natural_patches, image_folder (default: digits)")
    g.add_argument("--data-option", action="append", default=[], metavar="KEY=VALUE",
                   help="dataset option, repeatable: size=16, channels=3, seed=1, root=DIR, n_per_image=64")
    g.add_argument("--steps", default="10", metavar="N",
                   help="time steps of the sequence when input_dims is not --set (default: 10)")
    g.add_argument("--loader", default="plain", help="batch loader: plain or ffcv (default: plain)")
    g.add_argument("--workers", default="0", metavar="N", help="loader workers (default: 0)")

    o = p.add_argument_group("optimisation")
    o.add_argument("--epochs", default="10", metavar="N", help="epochs, in all when resuming (default: 10)")
    o.add_argument("--batch-size", default="64", metavar="N", help="samples per batch and process (default: 64)")
    o.add_argument("--lr", default="1e-3", metavar="LR", help="learning rate (default: 1e-3)")
    o.add_argument("--optimizer", default="adamw", help="adamw, adam or sgd (default: adamw)")
    o.add_argument("--weight-decay", default="0.01", metavar="W", help="(default: 0.01)")
    o.add_argument("--scheduler", default="cosine", help="per-epoch lr schedule: cosine, step or none (default: cosine)")
    o.add_argument("--recurrence-lr-factor", default="1", metavar="F",
                   help="lr factor of recurrent weights (parameters named *.recurrence.*) (default: 1)")
    o.add_argument("--feedback-lr-factor", default="1", metavar="F", help="lr factor of feedback connections (default: 1)")
    o.add_argument("--gradient-clip", default=None, metavar="NORM", help="clip the gradient norm")
    o.add_argument("--tbptt", default="0", metavar="STEPS",
                   help="truncated BPTT window in steps; 0 back-propagates through the whole sequence (default: 0)")
    o.add_argument("--activity-weight", default="0", metavar="W",
                   help="weight of the L2 activity penalty on the areas' activity (default: 0, off)")
    o.add_argument("--rest-weight", default="0", metavar="W",
                   help="weight of the L2 penalty on the resting activity over the grey before the stimulus "
                        "(needs --t-pre; default: 0, off)")
    o.add_argument("--seed", default="0", help="seed of weights, data order and pattern shuffling (default: 0)")

    t = p.add_argument_group("presentation (times in ms)")
    t.add_argument("--t-pre", default="0", metavar="MS", help="grey before the image (default: 0)")
    t.add_argument("--t-stim", default=None, metavar="MS", help="stimulus period (default: the rest of the sequence)")
    t.add_argument("--pattern", default="1", help="on/off blocks over the stimulus period, e.g. 1011 (default: 1)")
    t.add_argument("--shuffle-pattern", action="store_true", help="shuffle the pattern's blocks every batch")
    t.add_argument("--reaction-time", default="0", metavar="MS",
                   help="time after each onset that the loss ignores (default: 0)")
    t.add_argument("--hold", default="0", metavar="MS",
                   help="time after each offset that the loss still counts: a memory period, with a pattern "
                        "that turns the image off, e.g. 110 (default: 0)")

    h = p.add_argument_group("hardware, output and resuming")
    h.add_argument("--accelerator", default="cpu", help="cpu, gpu, mps or auto (default: cpu)")
    h.add_argument("--devices", default="1", metavar="N", help="devices / processes, or 'auto' (default: 1)")
    h.add_argument("--strategy", default=None, help="Lightning strategy: ddp, ddp_spawn, ... (default: automatic)")
    h.add_argument("--precision", default="32-true", help="32-true, bf16-mixed or 16-mixed (GPU) (default: 32-true)")
    h.add_argument("--threads", default=None, metavar="N", help="torch CPU threads per process")
    h.add_argument("--out", default="results/train", metavar="DIR", help="run folder (default: results/train)")
    h.add_argument("--resume", default=None, metavar="CKPT", help="continue the run in --out ('last') or from a checkpoint")
    h.add_argument("--overwrite", action="store_true",
                   help="replace the run already in --out (and a pretrained model of the same name)")
    h.add_argument("--limit-batches", default=None, metavar="N",
                   help="use only N training and validation batches per epoch (quick checks)")
    h.add_argument("--save-pretrained", default=None, metavar="NAME",
                   help="also save the trained model as pretrained NAME (see --pretrained-root)")
    h.add_argument("--pretrained-root", default=None, metavar="DIR",
                   help="data folder for --save-pretrained (default: $DYNVISION_DATA or ~/.local/share/dynvision)")
    h.add_argument("--no-progress", dest="progress", action="store_false", help="hide the progress bar")
    p.set_defaults(func=run)
    return p


OPTIONS: dict[str, tuple[str, Any]] = {
    # option dest: (train() / DynVisionModule keyword, annotation)
    "steps": ("n_steps", int), "workers": ("num_workers", int), "epochs": ("max_epochs", int),
    "batch_size": ("batch_size", int), "lr": ("lr", float), "weight_decay": ("weight_decay", float),
    "recurrence_lr_factor": ("recurrence_lr_factor", float), "feedback_lr_factor": ("feedback_lr_factor", float),
    "gradient_clip": ("gradient_clip", float | None), "tbptt": ("tbptt_steps", int),
    "activity_weight": ("activity_weight", float), "rest_weight": ("rest_weight", float), "seed": ("seed", int),
    "t_pre": ("t_pre", float),
    "t_stim": ("t_stim", float | None), "reaction_time": ("reaction_time", float),
    "hold": ("hold", float), "threads": ("num_threads", int),
    "limit_batches": ("limit_batches", int), "devices": ("devices", int),
}


FLAGS = {keyword: f"--{dest.replace('_', '-')}" for dest, (keyword, _) in OPTIONS.items()}
FLAGS.update({"limit_train_batches": "--limit-batches", "limit_val_batches": "--limit-batches",
              "accelerator": "--accelerator", "precision": "--precision", "loader": "--loader"})
"""Python keyword -> the option a user typed (for error messages)."""


def typed_options(args: argparse.Namespace) -> dict[str, Any]:
    """The numeric options of ``args``, typed (``--epochs abc`` names the option and the value)."""
    out = {}
    for dest, (keyword, annotation) in OPTIONS.items():
        value = getattr(args, dest)
        if value is None:
            out[keyword] = None
        elif dest == "devices" and str(value).strip() == "auto":
            out[keyword] = "auto"
        else:
            out[keyword] = coerce(f"--{dest.replace('_', '-')}", value, annotation)
    return out


def typed_settings(items: list[str], params: Mapping[str, Param], owner: str, flag: str) -> dict[str, Any]:
    """``KEY=VALUE`` items typed by ``params`` (unknown keys list the valid ones)."""
    from dynvision.cli.run import parse_settings

    out = {}
    for key, text in parse_settings(items, flag).items():
        param = lookup(key, params)
        if param is None:
            raise ValueError(f"{flag} {key}={text}: {owner} has no argument {key!r}{closest(key, params)}; valid: "
                             f"{', '.join(sorted(params))}")
        out[key] = coerce(key, text, param.annotation)
    return out


def dataset_parameters(name: str) -> dict[str, Param]:
    """The options of a registered dataset: ``make_dataset``'s and the builder's own."""
    from dynvision.data.datasets import DATASETS, make_dataset

    params = {k: v for k, v in function_parameters(make_dataset).items() if k not in ("name", "split")}
    params.update({k: v for k, v in function_parameters(DATASETS.get(name)).items() if k != "split"})
    return params


def run(args: argparse.Namespace) -> int:
    """Run ``dynvision train`` from parsed arguments; prints where the model is and what to run next."""
    from dynvision.models import describe_model, load_model
    from dynvision.models.pretrained import _NAME, pretrained_root
    from dynvision.registry import check_choice

    opts = typed_options(args)
    source = describe_model(args.model)
    model_kwargs = typed_settings(args.set, model_arguments(source.model), f"model {source.model}", "--set")
    data_kwargs = typed_settings(args.data_option, dataset_parameters(args.data), f"dataset {args.data!r}",
                                 "--data-option")
    check_choice("optimizer", args.optimizer, ("adamw", "adam", "sgd"))
    check_choice("scheduler", args.scheduler, ("cosine", "step", "none"))
    saved_folder = None
    if args.save_pretrained is not None:
        if not _NAME.fullmatch(args.save_pretrained):
            raise ValueError(f"--save-pretrained {args.save_pretrained!r}: a name is letters, digits, '_', '.' or "
                             f"'-' (it becomes a folder name; use --pretrained-root to choose where it goes)")
        saved_folder = pretrained_root(args.pretrained_root) / args.save_pretrained
        if (saved_folder / "model.pt").exists() and not args.overwrite:
            raise FileExistsError(f"--save-pretrained {args.save_pretrained}: {saved_folder} already holds a model; "
                                  f"pass --overwrite to replace it, or choose another name")
    limit = opts.pop("limit_batches")
    limits = {"limit_train_batches": limit, "limit_val_batches": limit} if limit is not None else {}
    model: Any = args.model if source.kind == "registered" else load_model(args.model, **model_kwargs)
    from dynvision.training.api import train
    from dynvision.validation import InvalidValueError

    try:
        result = train(
            model, model_kwargs if source.kind == "registered" else None, args.data, data_kwargs=data_kwargs,
            out_dir=Path(args.out), strategy=args.strategy, accelerator=args.accelerator, precision=args.precision,
            resume=args.resume, overwrite=args.overwrite, loader=args.loader, progress=args.progress,
            trainer_kwargs=limits, optimizer=args.optimizer, scheduler=args.scheduler, pattern=args.pattern,
            shuffle_pattern=args.shuffle_pattern, **opts)
    except InvalidValueError as err:  # name the option the user typed, not the Python keyword
        flag = FLAGS.get(err.name)
        if flag is None:
            raise
        raise InvalidValueError(flag, err.value, err.expected) from None
    if result.rank != 0:
        return 0
    if saved_folder is not None:
        from dynvision.models.pretrained import save_pretrained
        from dynvision.training.records import training_record

        metrics = {k[len("test/"):]: v for k, v in result.metrics.items() if k.startswith("test/")}
        saved_folder = save_pretrained(result.model, args.save_pretrained, metrics, root=args.pretrained_root,
                                       training=training_record(result, args.data, data_kwargs), overwrite=True)
    print(summary(result, args, saved_folder))
    return 0


def summary(result, args: argparse.Namespace, saved: Path | None) -> str:
    """What the run gave, where the model is, and the command that runs an experiment on it."""
    m = result.metrics
    scores = [f"{label} {m[key]:.3f}" for label, key in (("test accuracy", "test/acc_valid"),
                                                        ("validation accuracy", "val/acc_valid")) if key in m]
    model_name = getattr(type(result.model), "registry_name", type(result.model).__name__)
    lines = [f"\ntrained {model_name} on {args.data}" + (f": {', '.join(scores)}" if scores else "")]
    lines.append(f"model:    {result.best_checkpoint or result.last_checkpoint}")
    lines.append(f"run:      {Path(result.out_dir).resolve()} (settings and metrics in run.json)")
    target = shlex.quote(str(result.out_dir))
    if saved is not None:
        lines.append(f"saved:    pretrained model {args.save_pretrained!r} in {saved}")
        target = args.save_pretrained if args.pretrained_root is None else shlex.quote(str(saved))
    lines.append(f"next:     dynvision run contrast --model {target}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``dynvision train ...`` alone (``python -m dynvision.cli.train``)."""
    from dynvision.cli.app import main as dynvision_main

    return dynvision_main(["train", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())
