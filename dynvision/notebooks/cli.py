"""Compatibility: the ``notebook`` and ``sweep`` commands now live in :mod:`dynvision.cli`.

:func:`add_notebook_commands` registers ``notebook run``, ``notebook params`` and ``sweep``
on an argparse subparsers object (user errors exit with status 2 through ``parser.error``);
:func:`parse_value` and :func:`parse_grid_item` are the command line's value readers
(:mod:`dynvision.cli.values`).

Example:
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="dynvision")
    >>> add_notebook_commands(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["notebook", "run", "nb.ipynb", "-p", "seed", "3"])
    >>> args.parameters
    [('seed', 3)]
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from dynvision.cli.sweep import parse_grid_item  # noqa: F401
from dynvision.cli.values import parse_value  # noqa: F401


def add_notebook_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register ``notebook run``, ``notebook params`` and ``sweep`` on ``subparsers``.

    Example:
        >>> parser = argparse.ArgumentParser(prog="dynvision")
        >>> add_notebook_commands(parser.add_subparsers(dest="command", required=True))
        >>> parser.parse_args(["sweep", "nb.ipynb", "-g", "a=1,2"]).grid
        [('a', [1, 2])]
    """
    from dynvision.cli import notebook, sweep
    from dynvision.cli.app import usage_errors

    notebook.register(subparsers)
    for leaf in _leaves(subparsers):
        leaf.set_defaults(func=usage_errors(leaf.get_default("func"), leaf))
    sweep_parser = sweep.register(subparsers)
    sweep_parser.set_defaults(func=usage_errors(sweep.run, sweep_parser))


def _leaves(subparsers: argparse._SubParsersAction):
    nb = subparsers.choices["notebook"]
    for action in nb._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield from action.choices.values()


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` with only the notebook commands and run the chosen one (usage errors exit 2).

    Example:
        >>> main(["notebook", "params", "notebooks/contrast.ipynb"])  # doctest: +SKIP
    """
    from dynvision.cli.app import Parser

    parser = Parser(prog="dynvision")
    add_notebook_commands(parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                                parser_class=Parser))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # python -m dynvision.notebooks.cli ...
    sys.exit(main())
