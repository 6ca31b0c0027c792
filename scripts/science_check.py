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

Usage: .venv/bin/python scripts/science_check.py [--model NAME] [--compare NAME|none] [--readme README.md]
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="dyrcnnx4-digits", help="model name, pretrained name or checkpoint")
    parser.add_argument("--compare", default="dyrcnnx4-digits-self",
                        help="the model to compare recurrence with ('none' to skip the comparisons)")
    parser.add_argument("--n-images", type=int, default=8, help="images per condition (default: 8)")
    parser.add_argument("--out", default="results/science", help="folder for science_check.json")
    parser.add_argument("--readme", default=None, help="rewrite the phenomena table in this README")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default: 1)")
    args = parser.parse_args(argv)

    import torch

    from dynvision.experiments.phenomena import check_phenomena, markdown_table

    torch.set_num_threads(args.threads)
    compare = None if args.compare in (None, "", "none") else args.compare
    rows = check_phenomena(args.model, compare, n_images=args.n_images)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "science_check.json").write_text(json.dumps([r.asdict() for r in rows], indent=1, default=str))
    for row in rows:
        print(f"{'yes' if row.holds else 'NO ':3s}  {row.phenomenon:52s} {row.metric}: {row.values}")
    held = sum(r.holds for r in rows)
    print(f"\n{held} of {len(rows)} hold; details in {out / 'science_check.json'}")
    if args.readme:
        path = Path(args.readme)
        text = path.read_text()
        pattern = re.compile(r"(<!-- phenomena:start -->\n)(?:.*?\n)?(<!-- phenomena:end -->)", re.S)
        if not pattern.search(text):
            parser.error(f"{path} has no <!-- phenomena:start --> ... <!-- phenomena:end --> markers")
        header = f"`{args.model}`" + (f" compared with `{compare}`" if compare else "")
        table = f"Measured on {header} with {args.n_images} images per condition " \
                f"(`python scripts/science_check.py`):\n\n" + markdown_table(rows)
        path.write_text(pattern.sub(lambda m: m.group(1) + table + "\n" + m.group(2), text))
        print(f"updated the table in {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
