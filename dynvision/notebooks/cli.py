"""Command-line front end for notebook runs and sweeps (wired into ``dynvision`` by dynvision.cli).

:func:`add_notebook_commands` registers ``notebook run``, ``notebook params`` and ``sweep`` on
an argparse subparsers object; every command sets ``func`` so the caller dispatches with
``args.func(args)`` (which returns the exit code). Values on the command line are typed like
YAML scalars: ``3`` -> int, ``0.5`` and ``1e-3`` -> float, ``true``/``false`` -> bool,
``null``/``none`` -> None, ``[1, 2]`` -> list; anything else stays a string (``on``, ``no``
and dates stay strings too).

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
import ast
import re
import sys
from pathlib import Path
from typing import Any, Sequence

_INT = re.compile(r"[-+]?\d+")
_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")

_RUN_EPILOG = """examples:
  dynvision notebook run notebooks/contrast.ipynb -p model DyRCNNx4 -p fast true
  dynvision notebook run analysis.ipynb -p contrasts "[0.1, 0.5, 1.0]" --out results/analysis

The executed notebook (same name) and an offline HTML copy go to --out; a notebook that
assigns `output_dir` in its parameters cell gets --out injected, so it can save its results
there. Exit status: 0 ok, 1 the notebook raised (traceback in the executed copy), 2 bad usage."""

_SWEEP_EPILOG = """examples:
  dynvision sweep notebooks/contrast.ipynb --grid model=DyRCNNx2,DyRCNNx4 --grid seed=0,1,2
  dynvision sweep nb.ipynb -g lr=1e-3,1e-2 -p epochs 2 --workers 4 --out results/lr-sweep
  dynvision sweep nb.ipynb -g sizes="[[8, 16], [32]]" --scheduler tcp://10.0.0.5:8786

Every combination runs in its own folder (e.g. model=DyRCNNx2__seed=0) inside --out, in
parallel on a local Dask cluster (or the scheduler given). --out/index.csv lists each run's
status, duration, outputs and error, updated as runs finish. Running the same command
again redoes only failed or missing runs. Combine results in Python with
dynvision.notebooks.combine_sweep(OUT, "result.zarr").
Exit status: 0 all runs ok, 1 some run failed, 2 bad usage."""


def parse_value(text: str) -> Any:
    """Type a command-line value like a YAML scalar (without YAML 1.1's surprises).

    ``true``/``false`` (any case) -> bool, ``none``/``null``/``~`` -> None, integers and
    decimals (``1e-3`` included) -> int/float, ``[...]``/``{...}`` -> list/dict (YAML flow
    syntax), ``'quoted'`` -> the string inside; anything else (``on``, ``no``, ``2024-01-01``,
    ``V1``) stays the string given.

    Example:
        >>> [parse_value(t) for t in ["3", "0.5", "1e-3", "true", "none", "on", "[1, 2]", "'7'", "V1"]]
        [3, 0.5, 0.001, True, None, 'on', [1, 2], '7', 'V1']
    """
    stripped = text.strip()
    low = stripped.lower()
    if low in ("none", "null", "~"):
        return None
    if low in ("true", "false"):
        return low == "true"
    if _INT.fullmatch(stripped):
        return int(stripped)
    if _FLOAT.fullmatch(stripped):
        return float(stripped)
    if len(stripped) >= 2 and stripped[0] in "'\"" and stripped[-1] == stripped[0]:
        return stripped[1:-1]
    if stripped[:1] in ("[", "{"):
        value = _flow_collection(stripped)
        if isinstance(value, (list, dict)):
            return value
    return text


def parse_grid_item(text: str) -> tuple[str, list[Any]]:
    """Parse ``NAME=V1,V2,...`` (or ``NAME=[v1, v2]``) into a name and typed values.

    Example:
        >>> parse_grid_item("seed=0,1,2")
        ('seed', [0, 1, 2])
    """
    name, sep, values = text.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier() or not values.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=V1,V2,... (e.g. seed=0,1,2), got {text!r}")
    if values.strip().startswith("["):
        parsed = parse_value(values)
        if not isinstance(parsed, list):
            raise argparse.ArgumentTypeError(f"could not read {values!r} as a list of values for {name!r}")
        return name, parsed
    return name, [parse_value(v) for v in values.split(",")]


def add_notebook_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register ``notebook run``, ``notebook params`` and ``sweep`` on ``subparsers``.

    Each leaf parser sets ``func`` (``args.func(args) -> int`` runs the command).

    Example:
        >>> parser = argparse.ArgumentParser(prog="dynvision")
        >>> add_notebook_commands(parser.add_subparsers(dest="command", required=True))
        >>> parser.parse_args(["sweep", "nb.ipynb", "-g", "a=1,2"]).grid
        [('a', [1, 2])]
    """
    fmt = argparse.RawDescriptionHelpFormatter
    nb = subparsers.add_parser("notebook", help="run a Jupyter notebook with parameters (papermill)",
                               description="Run Jupyter notebooks with parameters via papermill.", formatter_class=fmt)
    nb_sub = nb.add_subparsers(dest="notebook_command", metavar="COMMAND", required=True)

    run = nb_sub.add_parser("run", help="execute a notebook with parameters into a folder", epilog=_RUN_EPILOG,
                            formatter_class=fmt,
                            description="Execute NOTEBOOK with the given parameters; write the executed notebook\n"
                                        "and an HTML copy to --out.")
    run.add_argument("notebook", type=Path, help="the .ipynb to run (needs a cell tagged 'parameters')")
    _add_parameter_option(run, "value injected after the notebook's parameters cell (repeatable)")
    run.add_argument("-o", "--out", type=Path, metavar="DIR",
                     help="output folder (default: results/<notebook name>)")
    _add_run_options(run)
    run.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True,
                     help="show a progress bar over the cells (default: on)")
    run.set_defaults(func=_cmd_run, _parser=run)

    params = nb_sub.add_parser("params", help="list the parameters a notebook accepts", formatter_class=fmt,
                               description="Print the names, defaults and help comments of NOTEBOOK's\n"
                                           "parameters cell.")
    params.add_argument("notebook", type=Path, help="the .ipynb to inspect")
    params.set_defaults(func=_cmd_params, _parser=params)

    sw = subparsers.add_parser("sweep", help="run a notebook over a parameter grid in parallel (Dask)",
                               epilog=_SWEEP_EPILOG, formatter_class=fmt,
                               description="Run NOTEBOOK once per combination of the --grid values, in parallel,\n"
                                           "each into its own subfolder of --out.")
    sw.add_argument("notebook", type=Path, help="the .ipynb to run (needs a cell tagged 'parameters')")
    sw.add_argument("-g", "--grid", action="append", required=True, type=parse_grid_item, metavar="NAME=V1,V2",
                    help="a swept parameter and its values, comma separated or as a [list] (repeatable; "
                         "all combinations run)")
    _add_parameter_option(sw, "a fixed value shared by all runs (repeatable)")
    sw.add_argument("-o", "--out", type=Path, metavar="DIR", help="sweep folder (default: results/<notebook name>-sweep)")
    sw.add_argument("-w", "--workers", type=int, metavar="N",
                    help="local worker processes (default: one per CPU, at most one per run)")
    sw.add_argument("--scheduler", metavar="ADDRESS",
                    help="use a running Dask scheduler, e.g. tcp://10.0.0.5:8786, instead of a local cluster")
    sw.add_argument("--no-retry-failed", dest="retry_failed", action="store_false",
                    help="when rerunning into --out, keep earlier failures instead of running them again")
    _add_run_options(sw)
    sw.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True,
                    help="show a progress bar over finished runs (default: on)")
    sw.set_defaults(func=_cmd_sweep, _parser=sw)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` with only the notebook commands and run the chosen one.

    Example:
        >>> main(["notebook", "params", "notebooks/contrast.ipynb"])  # doctest: +SKIP
    """
    parser = argparse.ArgumentParser(prog="dynvision")
    add_notebook_commands(parser.add_subparsers(dest="command", metavar="COMMAND", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def _add_parameter_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("-p", "--parameter", dest="parameters", nargs=2, action=_ParameterAction, default=[],
                        metavar=("NAME", "VALUE"),
                        help=f"{what}; VALUE is typed like YAML: 3, 0.5, true, none, [1, 2], text")


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-k", "--kernel", metavar="NAME",
                        help="Jupyter kernel (default: python3, the ipykernel of this Python)")
    parser.add_argument("--timeout", type=float, metavar="SECONDS", help="fail a run if one cell takes longer")
    parser.add_argument("--no-html", dest="html", action="store_false", help="skip the HTML copy")


class _ParameterAction(argparse.Action):
    """Collect ``-p NAME VALUE`` pairs as ``(name, typed value)`` tuples."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        name, value = values
        if not name.isidentifier():
            parser.error(f"{option_string} {name!r}: parameter names are Python identifiers")
        items = list(getattr(namespace, self.dest) or [])
        items.append((name, parse_value(value)))
        setattr(namespace, self.dest, items)


def _parameters(args: argparse.Namespace) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name, value in args.parameters:
        if name in params:
            args._parser.error(f"parameter {name!r} given twice")
        params[name] = value
    return params


def _cmd_run(args: argparse.Namespace) -> int:
    from dynvision.notebooks.runner import run_notebook

    out = args.out or Path("results") / args.notebook.stem
    try:
        record = run_notebook(args.notebook, out, _parameters(args), kernel_name=args.kernel,
                              progress=args.progress, export_html=args.html, timeout=args.timeout)
    except (ValueError, KeyError, TypeError, FileNotFoundError) as exc:
        args._parser.error(str(exc))
    print(f"{record.status}: {record.output_notebook} ({record.duration_s:.1f} s)")
    if record.html:
        print(f"html: {record.html}")
    if not record.ok:
        print(f"error: {record.error}", file=sys.stderr)
    return 0 if record.ok else 1


def _cmd_params(args: argparse.Namespace) -> int:
    from dynvision.notebooks.parameters import notebook_parameters

    try:
        declared = notebook_parameters(args.notebook)
    except (ValueError, FileNotFoundError) as exc:
        args._parser.error(str(exc))
    for name, info in declared.items():
        print(f"{name} = {info['default']}" + (f"  # {info['help']}" if info["help"] else ""))
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from dynvision.notebooks.sweep import sweep

    grid: dict[str, list] = {}
    for name, values in args.grid:
        if name in grid:
            args._parser.error(f"--grid {name} given twice; list all its values in one --grid")
        grid[name] = values
    out = args.out or Path("results") / f"{args.notebook.stem}-sweep"
    try:
        index = sweep(args.notebook, grid, out, workers=args.workers, scheduler=args.scheduler,
                      fixed=_parameters(args), progress=args.progress, retry_failed=args.retry_failed,
                      kernel_name=args.kernel, timeout=args.timeout, export_html=args.html)
    except (ValueError, KeyError, TypeError, FileNotFoundError) as exc:
        args._parser.error(str(exc))
    counts = index.status.value_counts().to_dict()
    print(", ".join(f"{n} {s}" for s, n in counts.items()) + f" -> {Path(out) / 'index.csv'}")
    for row in index[index.status == "failed"].itertuples():
        print(f"failed {row.run_id}: {row.error}", file=sys.stderr)
    return 1 if counts.get("failed") else 0


def _flow_collection(text: str) -> Any:
    """A YAML flow list/dict (``[1, a]``), or a Python literal where PyYAML is missing."""
    try:
        import yaml
    except ImportError:
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


if __name__ == "__main__":  # python -m dynvision.notebooks.cli ...
    sys.exit(main())
