#!/usr/bin/env python
"""Which phenomena of the DynVision visualisation guide does a trained model show?

Runs the four experiments on a model (default: the shipped ``dyrcnnx4-digits``) and, with
``--compare``, the recurrence comparisons against a second model (default: its self-recurrence
twin ``dyrcnnx4-digits-self``); prints one line per phenomenon with the metric, its values per
area, the criterion, and whether the phenomenon holds. The criteria are strict and documented in
:mod:`dynvision.experiments.phenomena` (comparisons need a 5 % margin and two standard errors
over images; a Naka-Rushton fit needs its c50 inside the tested contrasts and to beat a line).

``--readme README.md`` rewrites the table between the markers ``<!-- phenomena:start -->`` and
``<!-- phenomena:end -->`` of the README.

Several runs (e.g. the same recipe trained with different seeds): ``--model A,B,C --compare
X,Y,Z --labels "seed 0,seed 1,seed 2"`` checks each pair and prints a table of which phenomena
hold in which run; with ``--readme`` it goes between ``<!-- phenomena-runs:start -->`` and
``<!-- phenomena-runs:end -->``.

Usage: .venv/bin/python scripts/science_check.py [--model NAME] [--compare NAME|none] [--readme README.md]
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from _readme import replace_between  # scripts/_readme.py, beside this script


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="dyrcnnx4-digits",
                        help="model name, pretrained name or checkpoint; several, comma-separated, for several runs")
    parser.add_argument("--compare", default="dyrcnnx4-digits-self",
                        help="the model to compare recurrence with ('none' to skip the comparisons); one per --model")
    parser.add_argument("--labels", default=None, help="names of the runs, comma-separated (default: the models)")
    parser.add_argument("--n-images", type=int, default=8, help="images per condition (default: 8)")
    parser.add_argument("--out", default="results/science", help="folder for science_check.json")
    parser.add_argument("--readme", default=None, help="rewrite the phenomena table in this README")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default: 1)")
    args = parser.parse_args(argv)
    models = [m.strip() for m in args.model.split(",")]
    compares = [None if c.strip() in ("", "none") else c.strip() for c in (args.compare or "none").split(",")]
    if len(compares) == 1:
        compares = compares * len(models)
    if len(compares) != len(models):
        parser.error(f"--compare names {len(compares)} models for the {len(models)} of --model; give one, or one each")
    labels = [lab.strip() for lab in args.labels.split(",")] if args.labels else models
    if len(labels) != len(models) or len(set(labels)) != len(labels):
        parser.error(f"--labels needs {len(models)} distinct names (one per --model), got {labels}")
    marker = "phenomena-runs" if len(models) > 1 else "phenomena"
    if args.readme and not replace_between(Path(args.readme), marker, None):  # checked before the runs
        parser.error(f"{args.readme} has no <!-- {marker}:start --> ... <!-- {marker}:end --> markers")

    import torch

    from dynvision.experiments.phenomena import check_phenomena, markdown_table, runs_table
    from dynvision.models.sources import load_model

    torch.set_num_threads(args.threads)
    for name in dict.fromkeys([*models, *compares]):  # a wrong name fails now, not after the runs before it
        if name is not None:
            try:
                load_model(name)
            except (LookupError, OSError, ValueError) as error:
                parser.error(f"{name!r}: {error}")
    runs = {}
    for label, model, compare in zip(labels, models, compares):
        rows = check_phenomena(model, compare, n_images=args.n_images)
        out = Path(args.out) if len(models) == 1 else Path(args.out) / re.sub(r"[^\w.-]+", "_", label)
        out.mkdir(parents=True, exist_ok=True)
        (out / "science_check.json").write_text(json.dumps([r.asdict() for r in rows], indent=1, default=str))
        if len(models) > 1:
            print(f"\n== {label}: {model}" + (f" compared with {compare}" if compare else ""))
        for row in rows:
            print(f"{'yes' if row.holds else 'NO ':3s}  {row.phenomenon:52s} {row.metric}: {row.values}")
        held = sum(r.holds for r in rows)
        print(f"\n{held} of {len(rows)} hold; details in {out / 'science_check.json'}")
        runs[label] = rows
    if len(models) > 1:
        table = runs_table(runs)
        print("\n" + table)
        command = " ".join(["python scripts/science_check.py", "--model", args.model, "--compare", args.compare,
                            *(["--labels", f"'{args.labels}'"] if args.labels else [])])
        text = f"Measured with {args.n_images} images per condition (`{command}`):\n\n" + table
    else:
        compare = compares[0]
        header = f"`{models[0]}`" + (f" compared with `{compare}`" if compare else "")
        text = f"Measured on {header} with {args.n_images} images per condition " \
               f"(`python scripts/science_check.py`):\n\n" + markdown_table(runs[labels[0]])
    if args.readme:
        if not replace_between(Path(args.readme), marker, text):
            parser.error(f"{args.readme} lost its <!-- {marker}:start --> ... <!-- {marker}:end --> markers")
        print(f"updated the table in {args.readme}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
