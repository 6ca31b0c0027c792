"""The ``dynvision`` command.

Subcommands:

- ``run <experiment>``: run an experiment on a model, write its activations, metrics and
  figures, print a summary table;
- ``list``: registered models, pretrained models, experiments, datasets, stimuli;
- ``notebook run`` / ``sweep``: execute notebooks with papermill, alone or as a Dask sweep;
- ``train``: train a model with Lightning;
- ``explore``: serve the activation explorer of a stored run.

Example:
    $ dynvision run contrast --model DyRCNNx4 --set width=0.25 --set contrasts=0.2,0.5,1.0
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import textwrap
from typing import Any, Sequence

EPILOG_RUN = """\
parameters (--set KEY=VALUE, repeatable):
  KEY is an experiment parameter (listed below per experiment) or a constructor argument of the
  model (e.g. tau, trc, recurrence_type, width; see `dynvision list models`). VALUE is typed like
  YAML (3, 0.5, true, none, [1, 2], text). Comma-separated values:
    - for a tuple-valued experiment parameter (contrasts, durations, intervals, record) they are
      its value: --set contrasts=0.1,0.5,1.0
    - for a model argument they make a comparison across models, one per value, sharing one
      result with a `model` coordinate: --set recurrence_type=full,self,depthpointwise

outputs:
  OUT/<experiment>/activations/<model>.zarr   activations (zarr; reopen with dynvision.open_activations)
  OUT/<experiment>/results.zarr               responses, metrics and classifier accuracy
  OUT/<experiment>/summary.csv                the printed summary table
  FIGURES/<experiment>/*.png|*.html           figures (static and interactive, offline)
A rerun with the same settings reuses the stored activations; an interrupted run resumes.

examples:
  dynvision run contrast
  dynvision run interval --set intervals=4,16,64 --set n_images=2
  dynvision run duration --model DyRCNNx4 --set width=0.25 --set input_dims=[60,1,16,16]
  dynvision run response --model DyRCNNx4 --set recurrence_type=full,self
"""


def parse_value(text: str) -> Any:
    """Type a command-line value (see :func:`dynvision.notebooks.cli.parse_value`)."""
    from dynvision.notebooks.cli import parse_value as parse

    return parse(text)


def _experiment_help() -> str:
    from dynvision.experiments import EXPERIMENTS

    lines = []
    for name in EXPERIMENTS.list():
        spec = EXPERIMENTS.get(name)
        lines.append(f"{name}: {spec.description}")
        docs = _attribute_docs(spec)
        for f in dataclasses.fields(spec):
            default = f.default if f.default is not dataclasses.MISSING else None
            doc = docs.get(f.name, "")
            lines.append(f"  {f.name:14s} = {default!r}" + (f"  {doc}" if doc else ""))
    return "\n".join(lines)


def _attribute_docs(cls) -> dict[str, str]:
    """Attribute descriptions from the ``Attributes:`` sections of a class and its bases."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        text = klass.__doc__ or ""
        if "Attributes:" not in text:
            continue
        current = None
        for line in text.split("Attributes:", 1)[1].splitlines()[1:]:
            stripped = line.strip()
            if not stripped:
                continue
            if ":" in stripped and line.startswith(" " * 8) and not line.startswith(" " * 12):
                current, _, desc = stripped.partition(":")
                docs[current] = desc.strip()
            elif current:
                docs[current] += " " + stripped
    return docs


def split_settings(experiment: str, settings: dict[str, Any]) -> tuple[dict, dict, dict]:
    """Sort ``--set`` items into experiment parameters, model arguments and comparisons."""
    from dynvision.experiments import EXPERIMENTS

    spec = EXPERIMENTS.get(experiment)
    fields = {f.name: f for f in dataclasses.fields(spec)}
    params, model_kwargs, compare = {}, {}, {}
    for key, value in settings.items():
        if key in fields:
            params[key] = tuple(value) if isinstance(value, list) and _is_tuple(fields[key]) else value
        elif isinstance(value, list) and key not in ("input_dims", "operations"):
            compare[key] = value
        else:
            model_kwargs[key] = value
    return params, model_kwargs, compare


def _is_tuple(field: dataclasses.Field) -> bool:
    return "tuple" in str(field.type)


def _parse_set(items: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise SystemExit(f"dynvision run: --set expects KEY=VALUE, got {item!r}")
        parsed = parse_value(value)
        if isinstance(parsed, str) and "," in value and not value.strip().startswith(("'", '"')):
            parsed = [parse_value(v) for v in value.split(",")]
        out[key] = parsed
    return out


def cmd_run(args: argparse.Namespace) -> int:
    from pathlib import Path

    import pandas as pd

    from dynvision.experiments import run_experiment

    params, model_kwargs, compare = split_settings(args.experiment, _parse_set(args.set))
    out = Path(args.out) / args.experiment
    figures = None if args.no_figures else Path(args.figures) / args.experiment
    result = run_experiment(args.experiment, model=args.model, model_kwargs=model_kwargs, compare=compare or None,
                            out=out, figures=figures, progress=not args.quiet, overwrite=args.overwrite, **params)
    with pd.option_context("display.max_rows", 200, "display.width", 160, "display.precision", 3):
        print(f"\n{args.experiment}: {', '.join(result.responses['model'].values.tolist())}")
        print(result.summary().to_string(index=False))
    print(f"\nresults:  {out.resolve()}")
    if figures is not None:
        print(f"figures:  {figures.resolve()}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    what = args.what
    if what in ("models", "all"):
        from dynvision.models import list_models

        print("models:", ", ".join(list_models()))
    if what in ("pretrained", "all"):
        from dynvision.models.pretrained import list_pretrained

        print("pretrained:", ", ".join(list_pretrained()) or "(none)")
    if what in ("experiments", "all"):
        from dynvision.experiments import list_experiments

        print("experiments:", ", ".join(list_experiments()))
    if what in ("datasets", "all"):
        from dynvision.data import list_datasets

        print("datasets:", ", ".join(list_datasets()))
    if what in ("stimuli", "all"):
        from dynvision.stimuli import list_sources, list_stimuli

        print("image sources:", ", ".join(list_sources()))
        print("stimuli:", ", ".join(list_stimuli()))
    return 0


def _unavailable(err: Exception) -> int:
    print(f"dynvision: this command cannot load: {err}", file=sys.stderr)
    return 2


def build_parser() -> argparse.ArgumentParser:
    import dynvision
    from dynvision.experiments import DEFAULT_MODEL, list_experiments

    parser = argparse.ArgumentParser(prog="dynvision", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"dynvision {dynvision.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    run = sub.add_parser("run", help="run an experiment and write activations, metrics and figures",
                         description="Run an experiment on a model (or compare several).",
                         epilog=EPILOG_RUN + "\nexperiments and their parameters (defaults; times in ms):\n"
                         + textwrap.indent(_experiment_help(), "  "),
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("experiment", choices=list_experiments(), help="which experiment")
    run.add_argument("--model", default=None,
                     help=f"registered or pretrained model name (default: the shipped {DEFAULT_MODEL!r})")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="an experiment parameter or model argument (repeatable; see below)")
    run.add_argument("--out", default="results", help="results folder (default: results)")
    run.add_argument("--figures", default="reports/figures", help="figures folder (default: reports/figures)")
    run.add_argument("--no-figures", action="store_true", help="do not write figures")
    run.add_argument("--overwrite", action="store_true", help="replace stores that hold a different run")
    run.add_argument("--quiet", action="store_true", help="no progress bars")
    run.set_defaults(func=cmd_run)

    lst = sub.add_parser("list", help="list models, pretrained models, experiments, datasets or stimuli")
    lst.add_argument("what", nargs="?", default="all",
                     choices=["all", "models", "pretrained", "experiments", "datasets", "stimuli"])
    lst.set_defaults(func=cmd_list)

    for module, adder in (("dynvision.notebooks.cli", "add_notebook_commands"),
                          ("dynvision.training.cli", "add_train_command"),
                          ("dynvision.views.serve", "add_explore_command")):
        try:
            add = getattr(__import__(module, fromlist=[adder]), adder)
        except (ImportError, AttributeError) as err:  # an optional part that cannot load: say so
            broken = sub.add_parser(module.split(".")[-1], help=f"(unavailable: {err})")
            broken.set_defaults(func=lambda args, err=err: _unavailable(err))
            continue
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, KeyError, FileNotFoundError, FileExistsError, FloatingPointError) as err:
        print(f"dynvision {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
