"""``dynvision sweep``: run a notebook once per point of a parameter grid, in parallel (Dask).

``--grid NAME=V1,V2`` values are typed like ``-p`` values: by the notebook parameter's
default, or by the model argument of that name (``--grid tau=5,10,20``), else read like YAML.
The sweep itself (folders, run index, resume, locks) is :func:`dynvision.notebooks.sweep`.

Example:
    $ dynvision sweep notebooks/contrast.ipynb --grid n_images=1,2 -p fast true --workers 2
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from dynvision.cli.notebook import add_parameter_option, add_run_options, timeout_seconds, typed_parameters
from dynvision.cli.values import parse_value, split_top_level

EPILOG = """examples:
  dynvision sweep notebooks/contrast.ipynb --grid model=DyRCNNx2,DyRCNNx4 --grid n_images=1,2
  dynvision sweep notebooks/contrast.ipynb --grid tau=5,10,20 --workers 2 --out results/sweep
  dynvision sweep nb.ipynb -g lr=1e-3,1e-2 -p epochs 2 --workers 4 --out results/lr-sweep
  dynvision sweep nb.ipynb -g sizes="[[8, 16], [32]]" --scheduler tcp://10.0.0.5:8786

Every combination runs in its own folder (e.g. model=DyRCNNx2__n_images=1) inside --out, in
parallel on a local Dask cluster (or the scheduler given). --out/index.csv lists each run's
status, duration, outputs and error, updated as runs finish. Running the same command
again redoes only failed or missing runs. Combine results in Python with
dynvision.notebooks.combine_sweep(OUT, "result.zarr").
Exit status: 0 all runs ok, 1 some run failed, 2 bad usage."""


def parse_grid_item(text: str) -> tuple[str, list[Any]]:
    """Parse ``NAME=V1,V2,...`` (or ``NAME=[v1, v2]``) into a name and values read like YAML.

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
    return name, [parse_value(v) for v in split_top_level(values)]


class GridAction(argparse.Action):
    """Collect ``--grid NAME=V1,V2`` as ``(name, values)`` in ``dest`` and the text in ``<dest>_text``."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        try:
            item = parse_grid_item(values)
        except argparse.ArgumentTypeError as err:
            parser.error(f"{option_string}: {err}")
        setattr(namespace, self.dest, [*(getattr(namespace, self.dest) or []), item])
        texts = [*(getattr(namespace, self.dest + "_text", None) or []), (item[0], values.partition("=")[2])]
        setattr(namespace, self.dest + "_text", texts)


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``sweep`` to ``subparsers``."""
    sw = subparsers.add_parser("sweep", help="run a notebook over a parameter grid in parallel (Dask)",
                               epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
                               description="Run NOTEBOOK once per combination of the --grid values, in parallel,\n"
                                           "each into its own subfolder of --out.")
    sw.add_argument("notebook", type=Path, help="the .ipynb to run (needs a cell tagged 'parameters')")
    sw.add_argument("-g", "--grid", action=GridAction, required=True, metavar="NAME=V1,V2",
                    help="a swept parameter and its values, comma separated or as a [list] (repeatable; "
                         "all combinations run)")
    add_parameter_option(sw, "a fixed value shared by all runs (repeatable)")
    sw.add_argument("-o", "--out", type=Path, metavar="DIR", help="sweep folder (default: results/<notebook name>-sweep)")
    sw.add_argument("-w", "--workers", type=int, metavar="N",
                    help="local worker processes (default: one per CPU, at most one per run)")
    sw.add_argument("--scheduler", metavar="ADDRESS",
                    help="use a running Dask scheduler, e.g. tcp://10.0.0.5:8786, instead of a local cluster")
    sw.add_argument("--no-retry-failed", dest="retry_failed", action="store_false",
                    help="when rerunning into --out, keep earlier failures instead of running them again")
    sw.add_argument("--overwrite", action="store_true",
                    help="replace runs in --out that another sweep (other parameters or notebook) wrote")
    add_run_options(sw)
    sw.set_defaults(func=run, _parser=sw)
    return sw


def typed_grid(notebook: Path, given: list[tuple[str, str]], fixed: dict[str, Any]) -> dict[str, list[Any]]:
    """``--grid`` values typed by the notebook's parameters, else by the notebook model's arguments."""
    from dynvision.cli.params import lookup, model_arguments, notebook_parameter_types
    from dynvision.cli.values import coerce_values

    declared = notebook_parameter_types(notebook)
    grid: dict[str, list[Any]] = {}
    model_params = None
    for name, text in given:
        if name in grid:
            raise ValueError(f"--grid {name} given twice; list all its values in one --grid")
        param = declared.get(name)
        if param is None:
            if model_params is None:
                model_params = _notebook_model_arguments(declared, fixed)
            param = lookup(name, model_params)
        grid[name] = coerce_values(name, text, param.annotation if param is not None else None)
    return grid


def _notebook_model_arguments(declared: dict, fixed: dict[str, Any]) -> dict:
    """The constructor arguments of the model a notebook runs (its ``model`` parameter), if any."""
    from dynvision.cli.params import model_arguments
    from dynvision.models import describe_model

    model = fixed.get("model", declared["model"].default if "model" in declared else None)
    try:
        return model_arguments(describe_model(model).model) if isinstance(model, str) else {}
    except (ValueError, FileNotFoundError):
        return {}


def run(args: argparse.Namespace) -> int:
    """Run the sweep; prints the count of runs per status and the failures."""
    from dynvision.cli.run import check_folder
    from dynvision.notebooks.sweep import sweep
    from dynvision.validation import check_int

    fixed = typed_parameters(args.notebook, getattr(args, "parameters_text", []))
    grid = typed_grid(args.notebook, getattr(args, "grid_text", []), fixed)
    workers = check_int("--workers", args.workers, lo=1, allow_none=True)
    out = check_folder(args.out or Path("results") / f"{args.notebook.stem}-sweep", "--out")
    threads = check_int("--threads", args.threads, lo=1, allow_none=True)
    index = sweep(args.notebook, grid, out, workers=workers, scheduler=args.scheduler, fixed=fixed,
                  progress=args.progress, retry_failed=args.retry_failed, kernel_name=args.kernel,
                  timeout=timeout_seconds(args.timeout), export_html=args.html, overwrite=args.overwrite,
                  threads=threads, warnings_as_errors=tuple(args.warnings_as_errors))
    counts = index.status.value_counts().to_dict()
    print(", ".join(f"{n} {s}" for s, n in counts.items()) + f" -> {Path(out) / 'index.csv'}")
    for row in index[index.status == "failed"].itertuples():
        print(f"failed {row.run_id}: {row.error}", file=sys.stderr)
    return 1 if counts.get("failed") else 0
