#!/usr/bin/env python
"""Onset and peak latencies per area of a trained model, under its own settings and a preset.

Runs the ``response`` experiment (a digit on grey for 150 ms, ``n_images`` images) on the shipped
default model as trained and under ``preset="primate"`` (the same weights, macaque-scale delays
and time constants), and prints a markdown table of the mean onset latency (first crossing of
half the peak above baseline) and peak time after stimulus onset, next to typical primate onset
latencies. ``--readme README.md`` rewrites the table between ``<!-- latencies:start -->`` and
``<!-- latencies:end -->``.

Usage: .venv/bin/python scripts/latencies.py [--model NAME] [--n-images 8] [--readme README.md]
"""

from __future__ import annotations

import argparse

from _readme import replace_between  # scripts/_readme.py, beside this script

PRIMATE_ONSET_MS = {"V1": "40–70", "V2": "70–85", "V4": "90–105", "IT": "100–130"}
"""Typical onset latencies in the macaque (Schmolesky et al. 1998; Nowak & Bullier 1997)."""


def latencies(model, n_images: int) -> dict[str, tuple[float, float]]:
    """``{area: (onset latency, peak time)}`` in ms after stimulus onset, mean over images."""
    from dynvision.experiments import run_experiment

    result = run_experiment("response", model, n_images=n_images, progress=False)
    table = result.summary().groupby("area", sort=False)[["onset_latency", "peak_time"]].mean()
    return {area: (float(row.onset_latency), float(row.peak_time)) for area, row in table.iterrows()}


def markdown(rows: dict[str, dict[str, tuple[float, float]]]) -> str:
    labels = list(rows)
    areas = list(next(iter(rows.values())))
    head = "| area | " + " | ".join(f"{label}: onset / peak (ms)" for label in labels) + " | macaque onset (ms) |"
    lines = [head, "|" + "---|" * (len(labels) + 2)]
    for area in areas:
        cells = [f"{rows[label][area][0]:.0f} / {rows[label][area][1]:.0f}" for label in labels]
        lines.append(f"| {area} | " + " | ".join(cells) + f" | {PRIMATE_ONSET_MS.get(area, '')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="dyrcnnx4-digits", help="pretrained name (default: dyrcnnx4-digits)")
    parser.add_argument("--preset", default="primate", help="preset to compare with (default: primate)")
    parser.add_argument("--n-images", type=int, default=8, help="images (default: 8)")
    parser.add_argument("--readme", default=None, help="rewrite the latency table in this README")
    args = parser.parse_args(argv)

    import torch

    from dynvision.models import create_model

    torch.set_num_threads(1)
    models = {"as trained": create_model(args.model),
              f'preset="{args.preset}"': create_model(args.model, preset=args.preset)}
    rows = {label: latencies(model.eval(), args.n_images) for label, model in models.items()}
    table = markdown(rows)
    print(table)
    if args.readme:
        if not replace_between(args.readme, "latencies", table):
            raise SystemExit(f"{args.readme} has no <!-- latencies:start --> ... <!-- latencies:end --> markers")
        print(f"updated {args.readme}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
