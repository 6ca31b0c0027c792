"""Train dynvision's small shipped ensemble and save it to dynvision/pretrained/dyrcnnx4-ens-<type>-s<seed>/.

The ensemble is the default architecture (DyRCNNx4 with skip connections, bounded recurrence
and a divisive adaptive input gain, as scripts/train_default.py) at width 0.125 (7k-19k
parameters, 36-84 kB each), trained by the project's own training code
(:func:`dynvision.training.train`) with several seeds and both recurrence types (``full``
and ``self``), on the ``digits`` dataset at 16 x 16 px: 20 ms of grey, then the digit for
40 ms, in steps of 2 ms; the loss counts the steps from 10 ms after onset, plus a small
activity penalty. Each member is a pretrained model like any other (``load_pretrained``,
``create_model(..., pretrained=...)``); ``dynvision.Ensemble("dyrcnnx4-ens-*")`` loads them all,
ordered by test accuracy.

Usage (from the repository root):
    python scripts/train_ensemble.py                         # 3 seeds x 2 types, 10 epochs, ~25 s each on 1 thread
    python scripts/train_ensemble.py --seeds 0 1 --types full --epochs 1 --limit-batches 3 --root /tmp/ens
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

PREFIX = "dyrcnnx4-ens"
MODEL = "DyRCNNx4"
MODEL_KWARGS = {"n_classes": 10, "input_dims": (30, 1, 16, 16), "width": 0.125, "dt": 2.0, "tau": 5.0,
                "tff": 2.0, "trc": 4.0, "recurrence_bound": 0.9, "input_gain": 1.0, "tau_gain": 100.0}
DATA = "digits"
DATA_KWARGS = {"size": 16, "channels": 1, "seed": 0}
TRAINING = {"lr": 3e-3, "optimizer": "adamw", "weight_decay": 0.01, "scheduler": "cosine", "t_pre": 20.0,
            "reaction_time": 10.0, "gradient_clip": 1.0, "activity_weight": 0.01}


def member_name(recurrence_type: str, seed: int, prefix: str = PREFIX) -> str:
    """The pretrained name of one member, e.g. ``dyrcnnx4-ens-full-s0``."""
    return f"{prefix}-{recurrence_type}-s{seed}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds (default: 0 1 2)")
    parser.add_argument("--types", nargs="+", default=["full", "self"], help="recurrence types (default: full self)")
    parser.add_argument("--epochs", type=int, default=10, help="epochs per model (default: 10)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default: 1)")
    parser.add_argument("--limit-batches", type=int, default=None, help="batches per epoch (quick checks)")
    parser.add_argument("--out", type=Path, default=Path("results/pretrained-ensemble"), help="run folders")
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1] / "dynvision",
                        help="data root to save into (default: the package, dynvision/pretrained/<name>)")
    parser.add_argument("--prefix", default=PREFIX, help=f"name prefix (default: {PREFIX})")
    parser.add_argument("--min-accuracy", type=float, default=0.5,
                        help="refuse to save a member whose test accuracy (acc_valid) is lower (default: 0.5)")
    args = parser.parse_args(argv)

    from dynvision.models.pretrained import save_pretrained
    from dynvision.training import train

    limits = {"limit_train_batches": args.limit_batches, "limit_val_batches": args.limit_batches} \
        if args.limit_batches else {}
    summary, failed = {}, []
    for recurrence_type in args.types:
        for seed in args.seeds:
            name = member_name(recurrence_type, seed, args.prefix)
            kwargs = {**MODEL_KWARGS, "recurrence_type": recurrence_type}
            start = time.time()
            result = train(MODEL, kwargs, DATA, data_kwargs=DATA_KWARGS, max_epochs=args.epochs,
                           batch_size=args.batch_size, out_dir=args.out / name, num_threads=args.threads, seed=seed,
                           progress=False, trainer_kwargs=limits, **TRAINING)
            metrics = {k[len("test/"):]: v for k, v in result.metrics.items() if k.startswith("test/")}
            metrics["train_minutes"] = round((time.time() - start) / 60, 2)
            summary[name] = {"acc_valid": round(metrics.get("acc_valid", 0.0), 4), "minutes": metrics["train_minutes"]}
            print(name, json.dumps(summary[name]), flush=True)
            if metrics.get("acc_valid", 0.0) < args.min_accuracy:
                failed.append(name)
                continue
            training = {"data": DATA, "data_kwargs": DATA_KWARGS, "presentation": asdict(result.presentation),
                        "settings": TRAINING, "epochs": args.epochs, "batch_size": args.batch_size, "seed": seed,
                        "threads": args.threads, "ensemble": args.prefix,
                        "command": "python scripts/train_ensemble.py " + " ".join(argv or sys.argv[1:])}
            save_pretrained(result.model, name, metrics, root=args.root, training=training, overwrite=True)
    print(json.dumps(summary, indent=2))
    if failed:
        print(f"not saved (test accuracy < {args.min_accuracy}): {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
