"""``dynvision run``: run an experiment on one or several models, write results and figures.

Everything is checked before any work starts: the experiment, each model (a registered or
pretrained name, a training checkpoint or a training folder), every ``--set`` value (typed by
the experiment parameter or model argument it is for), the output folders, and whether they
already hold a different run (kept unless ``--overwrite``). The configuration that ran is
written to ``<out>/<experiment>/run.yaml`` so ``dynvision run --config`` repeats it.

Example:
    $ dynvision run contrast --model results/train --set contrasts=0.2,0.5,1 --set n_images=2
"""

from __future__ import annotations

import argparse
import json
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from dynvision.cli.params import Param, closest, experiment_parameters, lookup, model_arguments
from dynvision.cli.values import coerce, coerce_values, is_sequence_type, split_top_level

EPILOG = """\
parameters (--set KEY=VALUE, repeatable):
  KEY is an experiment parameter (listed below per experiment) or a constructor argument of the
  model (e.g. tau, trc, recurrence_type, width; see `dynvision list models`). VALUE is typed by
  the parameter: numbers, true/false, none, text, [lists] and {mappings}. Comma-separated values:
    - for a list parameter (contrasts, durations, intervals, record) they are its value, and a
      single value is a list of one: --set contrasts=0.1,0.5,1.0 --set record=V1
    - for a model argument they make a comparison across models, one per value, sharing one
      result with a `model` coordinate: --set recurrence_type=full,self,depthpointwise

models (--model, comma separated to compare several in one result):
  a registered model (DyRCNNx4), a pretrained one (dyrcnnx4-digits), a training checkpoint
  (results/train/checkpoints/best.ckpt) or a training run folder (results/train).

run configurations (--config FILE): YAML with experiment, models, parameters, compare, out and
figures; options on the command line win. Each run writes what it ran to
OUT/<experiment>/run.yaml: `dynvision run --config OUT/<experiment>/run.yaml` repeats it.

outputs:
  OUT/<experiment>/activations/<model>.zarr   activations (zarr; reopen with dynvision.open_activations)
  OUT/<experiment>/results.zarr               responses, metrics and classifier accuracy
  OUT/<experiment>/summary.csv                the printed summary table
  OUT/<experiment>/run.yaml                   the run configuration
  FIGURES/<experiment>/*.png|*.html           figures (static and interactive, offline)
A rerun with the same settings reuses the stored activations; an interrupted run resumes. A
folder that holds a different run is never replaced without --overwrite.

examples:
  dynvision run contrast
  dynvision run interval --set intervals=4,16,64 --set n_images=2
  dynvision run duration --model DyRCNNx4 --set width=0.25 --set input_dims=[60,1,16,16]
  dynvision run response --model DyRCNNx4 --set recurrence_type=full,self
  dynvision run contrast --model dyrcnnx4-digits,dyrcnnx4-digits-self
  dynvision run contrast --model results/train --set tau=10
  dynvision run --config results/contrast/run.yaml
"""


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``run`` to ``subparsers``; ``args.func(args)`` runs it."""
    from dynvision.experiments.library import EXPERIMENTS

    p = subparsers.add_parser(
        "run", help="run an experiment and write activations, metrics and figures",
        description="Run an experiment on a model (or compare several).",
        epilog=EPILOG + "\nexperiments and their parameters (defaults; times in ms):\n"
        + textwrap.indent(_experiment_help(), "  "), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("experiment", nargs="?", metavar="EXPERIMENT",
                   help=f"which experiment: {', '.join(EXPERIMENTS.list())} (or give --config)")
    p.add_argument("--config", metavar="FILE", help="a run configuration (YAML; see below)")
    p.add_argument("--model", default=None, metavar="MODEL[,MODEL...]",
                   help="model name, checkpoint or training folder; several, comma separated, are compared "
                        "(default: the shipped 'dyrcnnx4-digits')")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="an experiment parameter or model argument (repeatable; see below)")
    p.add_argument("--out", default=None, metavar="DIR", help="results folder (default: results)")
    p.add_argument("--figures", default=None, metavar="DIR", help="figures folder (default: reports/figures)")
    p.add_argument("--no-figures", action="store_true", help="do not write figures")
    p.add_argument("--overwrite", action="store_true",
                   help="replace results and stores in OUT that hold a different run")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)
    return p


def _experiment_help() -> str:
    from dynvision.experiments.library import EXPERIMENTS

    lines = []
    for name in EXPERIMENTS.list():
        lines.append(f"{name}: {EXPERIMENTS.get(name).description}")
        for param in experiment_parameters(name).values():
            lines.append(f"  {param.name:14s} = {param.default!r}" + (f"  {param.doc}" if param.doc else ""))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
@dataclass
class RunPlan:
    """A checked ``dynvision run``: what will run, and where it goes."""

    experiment: str
    models: list[str]
    params: dict[str, Any] = field(default_factory=dict)
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    compare: dict[str, list[Any]] = field(default_factory=dict)
    out: Path = Path("results")
    figures: Path | None = Path("reports/figures")

    @property
    def folder(self) -> Path:
        return self.out / self.experiment

    def config(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        """The run configuration that repeats this run (all parameters, absolute paths)."""
        return {"experiment": self.experiment, "models": [_absolute_if_path(m) for m in self.models],
                "parameters": {k: v for k, v in spec.items() if k != "experiment"},
                "model_arguments": dict(self.model_kwargs), "compare": dict(self.compare),
                "out": str(self.out.resolve()), "figures": str(self.figures.resolve()) if self.figures else False}


def split_models(text: str) -> list[str]:
    """``A,B,C`` -> three models (a path that exists is one model even with commas)."""
    if Path(text).expanduser().exists():
        return [text]
    models = split_top_level(text)
    if any(not m for m in models):
        raise ValueError(f"--model {text!r}: empty model name (give names separated by single commas)")
    return models


def parse_settings(items: Sequence[str], flag: str = "--set") -> dict[str, str]:
    """``KEY=VALUE`` items as ``{key: text}``; a key given twice is an error."""
    out: dict[str, str] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise ValueError(f"{flag} expects KEY=VALUE (e.g. n_images=2), got {item!r}")
        if key in out:
            raise ValueError(f"{flag} {key} given twice ({key}={out[key]} and {key}={value}); give it once "
                             f"(comma-separated values for a list or a comparison)")
        out[key] = value
    return out


def sort_settings(experiment: str, models: Sequence[str], settings: Mapping[str, Any],
                  origin: str = "--set") -> tuple[dict, dict, dict]:
    """Sort settings into experiment parameters, model arguments and comparisons, typed.

    Args:
        experiment: The experiment's name.
        models: The model sources (their registry classes give the model arguments).
        settings: ``{name: value}``: text from the command line or values from YAML.
        origin: Where the settings come from (for error messages).

    Returns:
        ``(params, model_kwargs, compare)``.

    Raises:
        InvalidValueError: A value of the wrong type.
        ValueError: A name that is neither an experiment parameter nor a model argument
            (both are listed, with the closest names), or several values for one parameter.

    Example:
        >>> sort_settings("contrast", ["DyRCNNx4"], {"contrasts": "0.5", "recurrence_type": "full,self"})
        ({'contrasts': (0.5,)}, {}, {'recurrence_type': ['full', 'self']})
    """
    spec_params = experiment_parameters(experiment)
    params, model_kwargs, compare = {}, {}, {}
    model_params: dict[str, Param] | None = None
    for key, value in settings.items():
        if key in spec_params:
            annotation = spec_params[key].annotation
            if not is_sequence_type(annotation) and _several(value):
                raise ValueError(f"{origin} {key}={_text(value)}: {key!r} takes one value (several values make a "
                                 f"comparison only for model arguments)")
            params[key] = coerce(key, value, annotation)
            continue
        if model_params is None:
            model_params = _model_params(models)
        param = lookup(key, model_params)
        if param is None:
            raise ValueError(_neither(origin, key, value, experiment, spec_params, models, model_params))
        if is_sequence_type(param.annotation) or (isinstance(value, dict)):
            model_kwargs[key] = coerce(key, value, param.annotation)
            continue
        values = coerce_values(key, value, param.annotation)
        if len(values) == 1 and not isinstance(value, list):
            model_kwargs[key] = values[0]
        else:
            compare[key] = values
    return params, model_kwargs, compare


def _several(value: Any) -> bool:
    return isinstance(value, (list, tuple)) or (isinstance(value, str) and len(split_top_level(value)) > 1)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _model_params(models: Sequence[str]) -> dict[str, Param]:
    from dynvision.models import describe_model

    out: dict[str, Param] = {}
    for name in dict.fromkeys(describe_model(m).model for m in models):
        for key, param in model_arguments(name).items():
            out.setdefault(key, param)
    return out


def _neither(origin: str, key: str, value: Any, experiment: str, spec_params: Mapping[str, Param],
             models: Sequence[str], model_params: Mapping[str, Param]) -> str:
    hint = closest(key, list(spec_params) + list(model_params))
    names = ", ".join(models)
    return (f"{origin} {key}={_text(value)}: {key!r} is neither a parameter of experiment {experiment!r} nor an "
            f"argument of model {names}{hint}; experiment parameters: {', '.join(spec_params)}; model arguments: "
            f"{', '.join(sorted(k for k in model_params if not k.endswith('_ms') or k[:-3] not in model_params))}")


def _absolute_if_path(model: str) -> str:
    path = Path(model).expanduser()
    return str(path.resolve()) if path.exists() else model


def check_folder(path: Path, flag: str) -> Path:
    """Refuse a folder option that names a file, or lies below one."""
    for p in (path, *path.parents):
        if p.exists():
            if not p.is_dir():
                what = "is a file" if p == path else f"lies inside {str(p)!r}, which is a file"
                raise NotADirectoryError(f"{flag} {str(path)!r} {what}, not a folder")
            break
    return path


def plan(args: argparse.Namespace) -> RunPlan:
    """Check every option of ``dynvision run`` and return what will run (nothing is written)."""
    from dynvision.cli.runconfig import RunConfig, read_run_config
    from dynvision.experiments.library import EXPERIMENTS
    from dynvision.experiments.runner import DEFAULT_MODEL
    from dynvision.registry import check_choice

    config = read_run_config(args.config) if args.config else RunConfig()
    experiment = args.experiment or config.experiment
    if experiment is None:
        raise ValueError("give an EXPERIMENT (e.g. dynvision run contrast) or a --config file that names one")
    check_choice("experiment", experiment, EXPERIMENTS.list())
    models = split_models(args.model) if args.model else config.models or [DEFAULT_MODEL]
    cli_settings = parse_settings(args.set)
    origin = f"run configuration {config.source}:" if config.source else "--set"
    settings = {**config.parameters, **cli_settings}
    params, model_kwargs, compare = {}, {}, {}
    for key, value in settings.items():
        where = "--set" if key in cli_settings else origin
        p, k, c = sort_settings(experiment, models, {key: value}, where)
        params.update(p)
        model_kwargs.update(k)
        compare.update(c)
    if config.model_arguments:
        for key, value in config.model_arguments.items():
            if key in cli_settings:
                continue
            _, k, c = sort_settings(experiment, models, {key: value}, origin)
            if not k and not c:
                raise ValueError(f"{origin} model_arguments: {key!r} is an experiment parameter; move it to parameters")
            model_kwargs.update(k)
            compare.update(c)
    for key, values in config.compare.items():
        if key not in cli_settings:
            _, k, c = sort_settings(experiment, models, {key: list(values)}, origin)
            compare.update(c or {key: list(k.values())})
    if compare and len(models) > 1:
        raise ValueError(f"comparing model arguments ({', '.join(compare)}) needs one --model; got {len(models)} "
                         f"({', '.join(models)}): compare either several models or several values of an argument")
    EXPERIMENTS.get(experiment).from_params(**params)  # the spec validates its values now
    out = check_folder(Path(args.out or config.out or "results").expanduser(), "--out")
    check_folder(out / experiment, "--out")
    figures: Path | None
    if args.no_figures or config.figures is False:
        figures = None
    else:
        figures = check_folder(Path(args.figures or config.figures or "reports/figures").expanduser(), "--figures")
    return RunPlan(experiment, models, params, model_kwargs, compare, out, figures)


def check_existing(folder: Path, spec: Mapping[str, Any], models: Mapping[str, Any], overwrite: bool) -> None:
    """Refuse to replace the results of a different run in ``folder`` (unless ``overwrite``)."""
    from dynvision.conventions import jsonable
    from dynvision.models.base import config_dict

    stored_file = folder / "spec.json"
    if overwrite or not stored_file.is_file():
        return
    try:
        stored = json.loads(stored_file.read_text())
    except (OSError, json.JSONDecodeError):
        raise ValueError(f"{stored_file} is unreadable, so the results in {folder} cannot be checked; "
                         f"pass --overwrite to replace them, or choose another --out") from None
    current = {"spec": jsonable(dict(spec)), "models": sorted(models)}
    before = {"spec": stored.get("spec"), "models": sorted(stored.get("models", {}))}
    differences = [k for k in current["spec"] if current["spec"][k] != (before["spec"] or {}).get(k)]
    if current["models"] != before["models"]:
        differences.insert(0, f"models {', '.join(before['models'])} -> {', '.join(current['models'])}")
    configs = {k: jsonable(config_dict(m)) for k, m in models.items()}
    for label, config in (stored.get("models") or {}).items():
        if label in configs and isinstance(config, dict) and jsonable(config) != configs[label]:
            differences.append(f"configuration of model {label}")
    if differences:
        raise FileExistsError(f"{folder} holds the results of a different run ({'; '.join(differences)}); pass "
                              f"--overwrite to replace them, or choose another --out")


def run(args: argparse.Namespace) -> int:
    """Run ``dynvision run`` from parsed arguments; prints the summary table."""
    the_plan = plan(args)
    import pandas as pd

    from dynvision.cli.runconfig import write_run_config
    from dynvision.experiments.library import EXPERIMENTS
    from dynvision.experiments.runner import resolve_models, run_experiment

    spec = EXPERIMENTS.get(the_plan.experiment).from_params(**the_plan.params)
    models = resolve_models(the_plan.models if len(the_plan.models) > 1 else the_plan.models[0],
                            the_plan.model_kwargs, the_plan.compare or None, seed=spec.seed)
    check_existing(the_plan.folder, spec.asdict(), models, args.overwrite)
    result = run_experiment(the_plan.experiment, model=models, out=the_plan.folder,
                            figures=the_plan.figures / the_plan.experiment if the_plan.figures else None,
                            progress=not args.quiet, overwrite=args.overwrite, **the_plan.params)
    config_file = write_run_config(the_plan.folder / "run.yaml", the_plan.config(spec.asdict()))
    with pd.option_context("display.max_rows", 500, "display.width", 160, "display.precision", 3):
        print(f"\n{the_plan.experiment}: {', '.join(result.responses['model'].values.tolist())}")
        print(result.summary().to_string(index=False))
    print(f"\nresults:  {the_plan.folder.resolve()}")
    if the_plan.figures is not None:
        print(f"figures:  {(the_plan.figures / the_plan.experiment).resolve()}")
    print(f"repeat:   dynvision run --config {config_file.resolve()}")
    return 0
