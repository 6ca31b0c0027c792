"""Compatibility: the ``train`` command now lives in :mod:`dynvision.cli.train`.

:func:`add_train_command` registers it on an argparse subparsers object (user errors exit
with status 2 through ``parser.error``), for code that builds its own parser.

Example:
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="dynvision")
    >>> _ = add_train_command(parser.add_subparsers(dest="command"))
    >>> parser.parse_args(["train", "--epochs", "3"]).epochs
    '3'
"""

from __future__ import annotations

import argparse

from dynvision.cli.values import parse_value  # noqa: F401  (the one value parser, formerly imported from here)
from dynvision.training.records import training_record  # noqa: F401


def add_train_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``train`` on ``subparsers``; ``args.func(args)`` runs it and returns the exit code."""
    from dynvision.cli import train
    from dynvision.cli.app import usage_errors

    parser = train.register(subparsers)
    parser.set_defaults(func=usage_errors(train.run, parser))
    return parser


def main(argv=None) -> int:
    """``python -m dynvision.training.cli ...``: the same as ``dynvision train ...``."""
    from dynvision.cli.train import main as train_main

    return train_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
