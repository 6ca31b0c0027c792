"""The ``dynvision`` command line: one module per subcommand, one coercion of values.

- :mod:`~dynvision.cli.app`: the table of subcommands (:data:`COMMANDS`), :func:`main`
  (one-line errors, exit status 2, tracebacks only with ``--debug``);
- :mod:`~dynvision.cli.values`: :func:`coerce` / :func:`coerce_values`, which type every
  value given on the command line or in a run configuration by the parameter it is for;
- :mod:`~dynvision.cli.params`: where parameters and their types come from (experiment
  specs, model constructors, notebook parameters cells);
- :mod:`~dynvision.cli.runconfig`: run configurations in YAML (``dynvision run --config``);
- one module per subcommand (``run``, ``listing``, ``train``, ``notebook``, ``sweep``,
  ``explore``), each with ``register(subparsers)`` and ``run(args) -> int``.

Nothing here imports torch until a command runs, so ``dynvision --help`` is instant.

Example:
    >>> from dynvision.cli import coerce
    >>> coerce("contrasts", "0.2,1", tuple[float, ...])
    (0.2, 1.0)
"""

from dynvision.cli.app import COMMANDS, build_parser, main
from dynvision.cli.values import coerce, coerce_values, parse_value

__all__ = ["COMMANDS", "build_parser", "coerce", "coerce_values", "main", "parse_value"]
