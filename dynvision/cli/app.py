"""The ``dynvision`` command: a table of subcommands, one-line errors, ``--debug``.

Each subcommand is a module exposing ``register(subparsers)`` (adds its argparse parser and
calls ``set_defaults(func=run)``) and ``run(args) -> int``. :data:`COMMANDS` maps the name to
that module and a one-line help; only the module of the command being run is imported, so
``dynvision --help`` and ``dynvision run --help`` import neither torch nor any subcommand's
heavy dependencies. Adding a subcommand is one line in :data:`COMMANDS`.

Errors a user can cause (``ValueError``, ``TypeError``, missing or existing files) are
printed as one line, ``dynvision <command>: error: <message>``, with exit status 2; the
traceback is shown only with ``--debug`` (or ``DYNVISION_DEBUG=1``).

Example:
    >>> main(["list", "experiments"])  # doctest: +SKIP
    experiments: contrast, duration, interval, response
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import NoReturn, Sequence

from dynvision.registry import unknown_name_message

COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("dynvision.cli.run", "run an experiment and write activations, metrics and figures"),
    "list": ("dynvision.cli.listing", "list models, pretrained models, experiments, datasets or stimuli"),
    "train": ("dynvision.cli.train", "train a model on images shown over time (Lightning)"),
    "notebook": ("dynvision.cli.notebook", "run a Jupyter notebook with parameters (papermill)"),
    "sweep": ("dynvision.cli.sweep", "run a notebook over a parameter grid in parallel (Dask)"),
    "explore": ("dynvision.cli.explore", "explore activations (and model dynamics) in the browser"),
    "visualize": ("dynvision.insilico.visualize", "write weight, readout, impulse-response and MEI figures of a model"),
    "check": ("dynvision.io.check_cli", "verify a zarr activation store (every chunk present and checksummed)"),
}
"""``name: (module, one-line help)``; the module exposes ``register`` and ``run``."""

USER_ERRORS = (ValueError, TypeError, FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError,
               PermissionError)
"""Exceptions reported as a one-line error (exit status 2) rather than a traceback."""

DESCRIPTION = """\
dynvision: build, train, simulate and analyse recurrent visual networks (all times in ms).

Run `dynvision COMMAND --help` for a command's options and examples; add --debug to any
command to see the traceback of an error."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line: ``PROG: error: MESSAGE (see PROG --help)``."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)\n")


def one_line(message: object) -> str:
    """``message`` on one line (whitespace runs collapsed)."""
    return " ".join(str(message).split())


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """``--debug``, accepted before or after the subcommand."""
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the full traceback of an error")


def _chosen(argv: Sequence[str]) -> str | None:
    """The subcommand named in ``argv`` (the first word that is not an option)."""
    for word in argv:
        if word == "--":
            return None
        if not word.startswith("-"):
            return word
    return None


def build_parser(argv: Sequence[str] | None = None) -> Parser:
    """The parser of ``dynvision``; only the subcommand named in ``argv`` is fully registered.

    Without ``argv`` every subcommand is registered (importing each subcommand's module).

    Example:
        >>> args = build_parser(["list", "models"]).parse_args(["list", "models"])
        >>> args.command, args.what
        ('list', 'models')
    """
    import dynvision

    parser = Parser(prog="dynvision", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"dynvision {dynvision.__version__}")
    add_common_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    chosen = _chosen(argv) if argv is not None else None
    for name, (module, help_text) in COMMANDS.items():
        if argv is not None and name != chosen:
            sub.add_parser(name, help=help_text, add_help=False)  # listed in --help, parsed only when chosen
            continue
        try:
            register = importlib.import_module(module).register
        except (ImportError, AttributeError) as err:  # an optional part that cannot load: say so when used
            broken = sub.add_parser(name, help=f"{help_text} (unavailable: {one_line(err)})")
            broken.set_defaults(func=lambda args, err=err: _unavailable(args, err))
            continue
        register(sub)
    for choice in sub.choices.values():
        if "debug" not in {a.dest for a in choice._actions}:
            add_common_options(choice)
    return parser


def _unavailable(args: argparse.Namespace, err: Exception) -> int:
    print(f"dynvision {args.command}: error: this command cannot load: {one_line(err)}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``dynvision`` with ``argv`` (default: the process arguments); returns the exit status.

    Example:
        >>> main(["list", "experiments"])  # doctest: +SKIP
        0
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    chosen = _chosen(argv)
    if chosen is not None and chosen not in COMMANDS:
        print(f"dynvision: error: {unknown_name_message('command', chosen, COMMANDS)} (see dynvision --help)",
              file=sys.stderr)
        return 2
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    debug = getattr(args, "debug", False) or os.environ.get("DYNVISION_DEBUG", "") not in ("", "0")
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"dynvision {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into a program that stopped reading (| head): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except USER_ERRORS as err:
        if debug:
            raise
        print(f"dynvision {args.command}: error: {one_line(err)}", file=sys.stderr)
        return 2


def usage_errors(run, parser: argparse.ArgumentParser):
    """Wrap a subcommand's ``run`` so that user errors become ``parser.error`` (exit 2).

    For callers that dispatch ``args.func(args)`` themselves (the compatibility helpers
    ``add_*_command``) rather than through :func:`main`.
    """

    def call(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except USER_ERRORS as err:
            parser.error(str(err))

    call.__name__ = getattr(run, "__name__", "run")
    return call
