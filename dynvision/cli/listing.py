"""``dynvision list``: what can be named on the command line.

Example:
    $ dynvision list pretrained
    $ dynvision list arguments DyRCNNx4
"""

from __future__ import annotations

import argparse

WHAT = ("all", "models", "pretrained", "experiments", "datasets", "stimuli", "arguments")


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``list`` to ``subparsers``; ``args.func(args)`` runs it."""
    p = subparsers.add_parser(
        "list", help="list models, pretrained models, experiments, datasets or stimuli",
        description="List what can be named on the command line.", formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  dynvision list\n  dynvision list pretrained\n"
               "  dynvision list arguments DyRCNNx4     # constructor arguments (--set KEY=VALUE) with defaults")
    p.add_argument("what", nargs="?", default="all", choices=WHAT, help="what to list (default: all)")
    p.add_argument("model", nargs="?", default="DyRCNNx4", metavar="MODEL",
                   help="for 'arguments': a model name, checkpoint or training folder (default: DyRCNNx4)")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Print the lists asked for."""
    what = args.what
    if what in ("models", "all"):
        from dynvision.models import list_models

        print("models:", ", ".join(list_models()))
    if what in ("pretrained", "all"):
        from dynvision.models.pretrained import list_pretrained

        print("pretrained:", ", ".join(list_pretrained()) or "(none)")
    if what in ("experiments", "all"):
        from dynvision.experiments.library import EXPERIMENTS

        print("experiments:", ", ".join(EXPERIMENTS.list()))
    if what in ("datasets", "all"):
        from dynvision.data import list_datasets

        print("datasets:", ", ".join(list_datasets()))
    if what in ("stimuli", "all"):
        from dynvision.stimuli import list_sources, list_stimuli

        print("image sources:", ", ".join(list_sources()))
        print("stimuli:", ", ".join(list_stimuli()))
    if what == "arguments":
        from dynvision.cli.params import model_arguments
        from dynvision.cli.values import type_words
        from dynvision.models import describe_model

        source = describe_model(args.model)
        stored = dict(source.kwargs)
        print(f"arguments of {source.label} ({source.model}); set with --set KEY=VALUE:")
        arguments = model_arguments(source.model)
        for name, param in arguments.items():
            if f"{name}_ms" in arguments:  # a bare alias of a time in ms: listed once, under its _ms name
                continue
            value = stored.get(name, stored.get(name[:-3], param.default) if name.endswith("_ms") else param.default)
            print(f"  {name:20s} = {value!r:24s} {type_words(param.annotation)}")
    return 0
