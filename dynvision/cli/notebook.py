"""``dynvision notebook run|params``: execute a notebook with parameters (papermill).

``-p NAME VALUE`` values are typed by the default value in the notebook's ``parameters``
cell (``-p n_images 2`` is an int, ``-p contrasts 0.5`` a list of one, ``-p model 3`` the
text ``'3'`` when ``model`` holds text); names without a typed default are read like YAML.

Example:
    $ dynvision notebook run notebooks/contrast.ipynb -p fast true --out results/nb
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from dynvision.cli.values import parse_value

RUN_EPILOG = """examples:
  dynvision notebook run notebooks/contrast.ipynb -p model DyRCNNx4 -p fast true
  dynvision notebook run notebooks/contrast.ipynb -p model results/train     # a trained checkpoint folder
  dynvision notebook run analysis.ipynb -p contrasts "[0.1, 0.5, 1.0]" --out results/analysis

The executed notebook (same name) and an offline HTML copy go to --out; a notebook that
assigns `output_dir` in its parameters cell gets --out injected, so it can save its results
there. VALUE is typed by the parameter's default in the notebook (a single value for a list
parameter is a list of one). Exit status: 0 ok, 1 the notebook raised (traceback in the
executed copy), 2 bad usage."""


class ParameterAction(argparse.Action):
    """Collect ``-p NAME VALUE`` as ``(name, value read like YAML)`` in ``dest`` and the text
    given in ``<dest>_text`` (typed later by the notebook's parameters cell)."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        name, value = values
        if not name.isidentifier():
            parser.error(f"{option_string} {name!r}: parameter names are Python identifiers")
        items = list(getattr(namespace, self.dest) or [])
        items.append((name, parse_value(value)))
        setattr(namespace, self.dest, items)
        texts = list(getattr(namespace, self.dest + "_text", None) or [])
        texts.append((name, value))
        setattr(namespace, self.dest + "_text", texts)


def add_parameter_option(parser: argparse.ArgumentParser, what: str) -> None:
    """``-p/--parameter NAME VALUE`` (repeatable)."""
    parser.add_argument("-p", "--parameter", dest="parameters", nargs=2, action=ParameterAction, default=[],
                        metavar=("NAME", "VALUE"),
                        help=f"{what}; VALUE is typed by the parameter's default: 3, 0.5, true, none, [1, 2], text")


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """Kernel, cell timeout and HTML options shared by ``notebook run`` and ``sweep``."""
    parser.add_argument("-k", "--kernel", metavar="NAME",
                        help="Jupyter kernel (default: python3, the ipykernel of this Python)")
    parser.add_argument("--timeout", metavar="SECONDS", help="fail a run if one cell takes longer")
    parser.add_argument("--no-html", dest="html", action="store_false", help="skip the HTML copy")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True,
                        help="show a progress bar (default: on)")
    parser.add_argument("--threads", type=int, metavar="N",
                        help="torch threads per kernel (default: the cores shared out among parallel kernels)")
    parser.add_argument("--warnings-as-errors", metavar="PACKAGE", action="append", default=[],
                        help="a warning raised from this package's code fails the cell (repeatable)")


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``notebook run`` and ``notebook params`` to ``subparsers``."""
    fmt = argparse.RawDescriptionHelpFormatter
    nb = subparsers.add_parser("notebook", help="run a Jupyter notebook with parameters (papermill)",
                               description="Run Jupyter notebooks with parameters via papermill.", formatter_class=fmt)
    nb_sub = nb.add_subparsers(dest="notebook_command", metavar="COMMAND", required=True)
    run_p = nb_sub.add_parser("run", help="execute a notebook with parameters into a folder", epilog=RUN_EPILOG,
                              formatter_class=fmt,
                              description="Execute NOTEBOOK with the given parameters; write the executed notebook\n"
                                          "and an HTML copy to --out.")
    run_p.add_argument("notebook", type=Path, help="the .ipynb to run (needs a cell tagged 'parameters')")
    add_parameter_option(run_p, "value injected after the notebook's parameters cell (repeatable)")
    run_p.add_argument("-o", "--out", type=Path, metavar="DIR", help="output folder (default: results/<notebook name>)")
    add_run_options(run_p)
    run_p.set_defaults(func=run, _parser=run_p)
    params = nb_sub.add_parser("params", help="list the parameters a notebook accepts", formatter_class=fmt,
                               description="Print the names, defaults and help comments of NOTEBOOK's\n"
                                           "parameters cell.")
    params.add_argument("notebook", type=Path, help="the .ipynb to inspect")
    params.set_defaults(func=run_params, _parser=params)
    return nb


def typed_parameters(notebook: Path, given: list[tuple[str, str]]) -> dict[str, Any]:
    """``-p`` values typed by the notebook's parameters cell (a name given twice is an error)."""
    from dynvision.cli.params import notebook_parameter_types
    from dynvision.cli.values import coerce

    declared = notebook_parameter_types(notebook)
    out: dict[str, Any] = {}
    for name, text in given:
        if name in out:
            raise ValueError(f"parameter {name!r} given twice")
        param = declared.get(name)
        out[name] = coerce(name, text, param.annotation) if param is not None else parse_value(text)
    return out


def timeout_seconds(text: str | None) -> float | None:
    """``--timeout`` as seconds (> 0)."""
    from dynvision.cli.values import coerce
    from dynvision.validation import check_number

    return None if text is None else check_number("--timeout", coerce("--timeout", text, float), lo=0, lo_open=True)


def run(args: argparse.Namespace) -> int:
    """Execute the notebook; prints where the executed copy and the HTML went."""
    from dynvision.cli.run import check_folder
    from dynvision.notebooks.runner import run_notebook
    from dynvision.validation import check_int

    params = typed_parameters(args.notebook, getattr(args, "parameters_text", []))
    out = check_folder(args.out or Path("results") / args.notebook.stem, "--out")
    threads = check_int("--threads", args.threads, lo=1, allow_none=True)
    record = run_notebook(args.notebook, out, params, kernel_name=args.kernel, progress=args.progress,
                          export_html=args.html, timeout=timeout_seconds(args.timeout), threads=threads,
                          warnings_as_errors=tuple(args.warnings_as_errors))
    print(f"{record.status}: {record.output_notebook} ({record.duration_s:.1f} s)")
    if record.html:
        print(f"html: {record.html}")
    if not record.ok:
        print(f"error: {record.error}", file=sys.stderr)
    return 0 if record.ok else 1


def run_params(args: argparse.Namespace) -> int:
    """Print the notebook's parameters with their defaults and help comments."""
    from dynvision.cli.params import notebook_parameter_types

    for name, param in notebook_parameter_types(args.notebook).items():
        print(f"{name} = {param.source or repr(param.default)}" + (f"  # {param.doc}" if param.doc else ""))
    return 0
