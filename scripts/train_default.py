"""Train dynvision's default pretrained model and save it to dynvision/pretrained/<name>/ (package data).

The default model is a narrow DyRCNNx4 (width 0.25, ~74k parameters, ~0.3 MB) with full
recurrence (its loop gain bounded at 0.9: stable dynamics), a divisive adaptive input gain
(strength 1, 100 ms memory), transient input channels (the frame minus its 50 ms trace: ON and
OFF transients), shunting normalisation in V1 (strength 3, an instantaneous pool: responses
saturate with contrast and rise sooner at high contrast) and a supralinear activation (the
power law ``relu(x)^1.2``, continued along its tangent above a drive of 2, so that its slope is
at most 1.38 and the bound on the loop gain still holds), trained on the ``digits`` dataset at
16 x 16 px, shown for 50 steps of 2 ms: 40 ms of grey, then the digit; the loss counts the
steps from 10 ms after onset, plus a small activity penalty and a penalty on the resting
activity over the last 10 ms of grey (``rest_weight``: a low spontaneous level, so that stimuli
raise activity rather than modulate a high resting level). It is meant to reach >= 90 % test
accuracy within 15 minutes on 2 CPU cores.

Usage (from the repository root):
    python scripts/train_default.py                       # full run -> dynvision/pretrained/dyrcnnx4-digits
    python scripts/train_default.py --set recurrence_type=self --name dyrcnnx4-digits-self  # its twin
    python scripts/train_default.py --epochs 1 --limit-batches 3 --root /tmp/check --out /tmp/check/run

Equivalent command line:
    dynvision train --model DyRCNNx4 --data digits --set width=0.25 --set "input_dims=[50, 1, 16, 16]" \\
        --set tff=2 --set trc=4 --set recurrence_bound=0.9 --set input_gain=1 --set tau_gain=100 \\
        --set input_transient=1 --set 'normalization={"V1": 3, "V2": 0, "V4": 0, "IT": 0}' \\
        --set tau_normalization=0 --set normalization_mode=shunting \\
        --set activation=supralinear --set supralinearity=1.2 --set supralinear_limit=2 \\
        --data-option size=16 --t-pre 40 --reaction-time 10 --activity-weight 0.01 --rest-weight 3 \\
        --epochs 30 --lr 3e-3 --gradient-clip 1 --threads 1 --out results/pretrained-default \\
        --save-pretrained dyrcnnx4-digits --pretrained-root dynvision
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

NAME = "dyrcnnx4-digits"
MODEL = "DyRCNNx4"
MODEL_KWARGS = {"n_classes": 10, "input_dims": (50, 1, 16, 16), "width": 0.25, "dt": 2.0, "tau": 5.0,
                "tff": 2.0, "trc": 4.0, "recurrence_type": "full", "recurrence_bound": 0.9, "input_gain": 1.0,
                "tau_gain": 100.0, "input_transient": 1.0,
                "normalization": {"V1": 3.0, "V2": 0.0, "V4": 0.0, "IT": 0.0}, "tau_normalization": 0.0,
                "normalization_mode": "shunting", "activation": "supralinear", "supralinearity": 1.2,
                "supralinear_limit": 2.0}
DATA = "digits"
DATA_KWARGS = {"size": 16, "channels": 1, "seed": 0}
TRAINING = {"lr": 3e-3, "optimizer": "adamw", "weight_decay": 0.01, "scheduler": "cosine", "t_pre": 40.0,
            "reaction_time": 10.0, "pattern": "1", "hold": 0.0, "gradient_clip": 1.0, "activity_weight": 0.01, "rest_weight": 3.0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=30, help="epochs (default: 30)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (default: 1; on a busy machine 2 threads can be 10x slower)")
    parser.add_argument("--limit-batches", type=int, default=None, help="batches per epoch (quick checks)")
    parser.add_argument("--out", type=Path, default=Path("results/pretrained-default"), help="run folder")
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1] / "dynvision",
                        help="data root to save into (default: the package, dynvision/pretrained/<name>)")
    parser.add_argument("--name", default=NAME, help=f"pretrained name (default: {NAME})")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the initial weights and the batch order (default: 0, the shipped models; "
                             "the data split stays the same)")
    parser.add_argument("--min-accuracy", type=float, default=0.0,
                        help="refuse to save if the test accuracy (acc_valid) is lower")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="change a model argument of the recipe (e.g. recurrence_type=self for a variant)")
    parser.add_argument("--train", action="append", default=[], metavar="KEY=VALUE",
                        help=f"change a training setting of the recipe (one of {', '.join(TRAINING)}; "
                             "e.g. activity_weight=0.1)")
    args = parser.parse_args(argv)
    from dynvision.cli.params import model_arguments
    from dynvision.cli.values import coerce

    model_kwargs = dict(MODEL_KWARGS)
    arguments = model_arguments(MODEL)
    for item in args.set:
        key, _, value = item.partition("=")
        param = arguments.get(key.strip())
        model_kwargs[key.strip()] = coerce(key.strip(), value, param.annotation if param else None)

    training_settings = dict(TRAINING)
    for item in args.train:
        key, _, value = item.partition("=")
        key = key.strip()
        if key not in TRAINING:
            parser.error(f"--train {item!r}: unknown setting {key!r}; valid: {', '.join(TRAINING)}")
        training_settings[key] = coerce(key, value, type(TRAINING[key]))

    from dynvision.models.pretrained import save_pretrained
    from dynvision.training import train

    limits = {"limit_train_batches": args.limit_batches, "limit_val_batches": args.limit_batches} \
        if args.limit_batches else {}
    start = time.time()
    result = train(MODEL, model_kwargs, DATA, data_kwargs=DATA_KWARGS, max_epochs=args.epochs,
                   batch_size=args.batch_size, out_dir=args.out, num_threads=args.threads, seed=args.seed,
                   trainer_kwargs=limits, **training_settings)
    minutes = (time.time() - start) / 60
    metrics = {k[len("test/"):]: v for k, v in result.metrics.items() if k.startswith("test/")}
    metrics["train_minutes"] = round(minutes, 2)
    print(json.dumps({k: v for k, v in metrics.items() if k != "acc_per_step"}, indent=2))
    if metrics.get("acc_valid", 0.0) < args.min_accuracy:
        print(f"test accuracy {metrics.get('acc_valid')} < {args.min_accuracy}: not saved", file=sys.stderr)
        return 1
    training = {"data": DATA, "data_kwargs": DATA_KWARGS, "presentation": asdict(result.presentation),
                "settings": training_settings, "epochs": args.epochs, "batch_size": args.batch_size, "seed": args.seed,
                "threads": args.threads, "command": "python scripts/train_default.py " + " ".join(argv or sys.argv[1:])}
    folder = save_pretrained(result.model, args.name, metrics, root=args.root, training=training, overwrite=True)
    print(f"saved to {folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
