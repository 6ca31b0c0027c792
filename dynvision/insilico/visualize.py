"""``dynvision visualize``: every weight, readout, impulse response and MEI of a model, as files.

:func:`visualize_model` writes into one folder:

- ``weights/<area>``: the area's kernels per (output, input) channel, feedforward beside
  recurrent, then skip and feedback connections; ``weights/classifier``: the classifier's
  weights per output unit;
- ``readouts/<session>`` (readout models): all masks and feature weights, and one figure per
  neuron (``readouts/<session>_<neuron>``);
- ``impulse/<area>`` and ``impulse/output``: every channel's response to a flash;
- ``meis/<area>``, ``meis/output``, ``meis/readout_<session>``: the MEI of every channel's
  centre unit and every output unit (or of ``units``), ``meis/traces``, and ``meis.zarr``;
- ``index.html``: one offline page showing all of them (relative links, no external resource),
  and ``visualize.json``: what was drawn, of which model, with which settings.

Figures are PNG and/or SVG (matplotlib). A folder holding another run's figures (or anything
else) is only written into with ``overwrite=True``; files the command did not write are never
deleted.

Example:
    $ dynvision visualize dyrcnnx4-digits --out results/visualize
    $ dynvision visualize results/train --out results/visualize-trained --areas V1 V2 --units V1:0 output:3
"""

from __future__ import annotations

import argparse
import html
import json
import os
from pathlib import Path
from typing import Any, Callable, Sequence

from dynvision.conventions import jsonable
from dynvision.validation import check_int, ms_aliases

MARKER = "visualize.json"


def _check_folder(out: Path, record: dict, overwrite: bool) -> None:
    if not out.exists() or not any(out.iterdir()):
        return
    marker = out / MARKER
    if overwrite:
        return
    if marker.is_file():
        previous = json.loads(marker.read_text())
        if previous.get("model") == record["model"] and previous.get("settings") == record["settings"]:
            return  # the same run again: its own files are replaced
        raise FileExistsError(f"{out} holds the figures of another visualize run ({previous.get('label')!r}, other "
                              f"settings); pass overwrite=True (--overwrite) or choose another --out")
    raise FileExistsError(f"{out} is not empty and was not written by dynvision visualize; pass overwrite=True "
                          f"(--overwrite) to write into it, or choose another --out")


@ms_aliases
def visualize_model(model: Any, out: str | os.PathLike, *, areas: Sequence[str] | None = None,
                    units: Sequence[str] | None = None, formats: Sequence[str] = ("png", "svg"),
                    meis: bool = True, impulse: bool = True, mei_steps: int = 100, n_starts: int = 1,
                    duration_ms: float | None = None, seed: int = 0, dpi: int = 120, overwrite: bool = False,
                    progress: bool = True) -> Path:
    """Write the figures of ``model`` (see the module docstring) and return ``index.html``.

    Args:
        model: A model, or anything :func:`~dynvision.insilico.loading.load_model` takes.
        out: Output folder.
        areas: Areas to draw (default all), plus ``"output"`` for the output units (included by
            default) and ``"readout"`` for readout sessions.
        units: Units whose MEIs to optimise (default: every channel's centre unit of the chosen
            areas, every output unit and readout neuron).
        formats: ``png``, ``svg`` and/or ``pdf``.
        meis: Optimise and draw MEIs.
        impulse: Measure and draw impulse responses.
        mei_steps: Optimisation steps per MEI.
        n_starts: Random starts per MEI.
        duration_ms: How long MEIs are shown (default: the model's ``input_dims`` steps).
        seed: Seed of the MEI starts (and of an untrained model's weights).
        dpi: Resolution of PNG files.
        overwrite: Write into a folder that holds something else.
        progress: Show progress bars.
    """
    from tqdm.auto import tqdm

    from dynvision.insilico.loading import load_model, model_label
    from dynvision.insilico.units import OUTPUT, READOUT, parse_unit
    from dynvision.models.base import config_dict
    from dynvision.registry import UnknownNameError, unknown_name_message

    model = load_model(model, seed=seed)
    label = model_label(model)
    has_readouts = getattr(model, "readouts", None) is not None
    valid = list(model.area_names) + [OUTPUT] + ([READOUT] if has_readouts else [])
    chosen = list(valid) if areas is None else list(areas)
    for a in chosen:
        if a not in valid:
            raise UnknownNameError(unknown_name_message("area", a, valid))
    internal = [a for a in model.area_names if a in chosen]
    with_output = OUTPUT in chosen and int(getattr(model, "n_classes", 0)) > 0
    with_readouts = READOUT in chosen and has_readouts
    mei_units = [parse_unit(u) for u in units] if units is not None else None
    settings = jsonable({"areas": chosen, "units": [u.label for u in mei_units] if mei_units else None,
                         "formats": list(formats), "meis": meis, "impulse": impulse, "mei_steps": mei_steps,
                         "n_starts": n_starts, "duration_ms": duration_ms, "seed": seed, "dpi": dpi})
    config = config_dict(model.core if has_readouts and getattr(model, "is_model", False) else model)
    record = {"label": label, "model": config, "settings": settings}
    out = Path(out)
    _check_folder(out, record, overwrite)
    out.mkdir(parents=True, exist_ok=True)
    sections: dict[str, list[tuple[str, list[str]]]] = {}
    jobs: list[tuple[str, str, str, Callable]] = []  # (section, file stem, caption, figure factory)
    _weight_jobs(model, internal, with_output, jobs)
    if with_readouts:
        _readout_jobs(model, jobs)
    results: dict[str, Any] = {}
    if impulse:
        from dynvision.insilico.impulse import impulse_responses

        results["impulse"] = lambda: impulse_responses(model, internal, output=with_output)
        _impulse_jobs(internal + ([OUTPUT] if with_output else []), results, jobs)
    if meis:
        _mei_jobs(model, internal, with_output, with_readouts, mei_units, mei_steps, n_starts, duration_ms, seed,
                  out, progress, results, jobs)
    from dynvision.views.insilico import save_figure

    for section, stem, caption, make in tqdm(jobs, desc=f"figures of {label}", disable=not progress):
        fig = make()
        paths = save_figure(fig, out / stem, formats, dpi=dpi)
        sections.setdefault(section, []).append((caption, [str(p.relative_to(out)) for p in paths]))
    (out / MARKER).write_text(json.dumps(record, indent=2) + "\n")
    index = out / "index.html"
    index.write_text(_index_html(label, config, settings, sections, meis), encoding="utf-8")
    return index


def _weight_jobs(model, areas, with_output, jobs) -> None:
    from dynvision.analysis.weights import layer_kernels
    from dynvision.views.insilico import area_kernels_figure, classifier_figure

    for area in areas:
        if layer_kernels(model, [area]):
            jobs.append(("Weights", f"weights/{area}", f"{area}: kernels per (output, input) channel",
                         lambda area=area: area_kernels_figure(model, area)))
    if with_output and getattr(model, "classifier", None) is not None:
        jobs.append(("Weights", "weights/classifier", "classifier weights per output unit",
                     lambda: classifier_figure(model)))


def _readout_jobs(model, jobs) -> None:
    from dynvision.views.insilico import readout_figure, readout_overview

    for key in model.readouts.readout_keys():
        readout = model.readouts[key]
        jobs.append(("Readouts", f"readouts/{key}", f"session {key}: masks on {model.readout_area} and feature weights",
                     lambda r=readout, key=key: readout_overview(r, title=f"readout session {key}")))
        for n in range(readout.n_neurons):
            jobs.append(("Readouts", f"readouts/{key}_{n}", f"session {key}, neuron {n}",
                         lambda r=readout, n=n, key=key: readout_figure(r, n, title=f"session {key}, neuron {n}")))


def _cached(results: dict, key: str):
    if callable(results[key]):
        results[key] = results[key]()
    return results[key]


def _impulse_jobs(nodes, results, jobs) -> None:
    from dynvision.views.insilico import impulse_figure

    for node in nodes:
        jobs.append(("Impulse responses", f"impulse/{node}", f"{node}: response to a flash (on, off)",
                     lambda node=node: impulse_figure(_cached(results, "impulse"), node)))


def _mei_jobs(model, areas, with_output, with_readouts, units, steps, n_starts, duration_ms, seed, out, progress,
              results, jobs) -> None:
    from dynvision.insilico.meis import mei
    from dynvision.insilico.store import save_meis
    from dynvision.insilico.units import READOUT, Unit, all_units, resolve_units
    from dynvision.views.insilico import mei_figure, mei_trace_figure

    if units is None:
        units = all_units(model, areas, output=with_output)
        if with_readouts:
            units += [Unit(READOUT, n, session=k) for k in model.readouts.readout_keys()
                      for n in range(model.readouts[k].n_neurons)]
    units = resolve_units(model, units)
    steps = check_int("mei_steps", steps, lo=1)

    def compute():
        ds = mei(model, units, steps=steps, n_starts=n_starts, duration_ms=duration_ms, seed=seed, progress=progress,
                 batch_size=256)
        save_meis(ds, out / "meis.zarr", overwrite=True)  # the folder is this run's (checked before)
        return ds

    results["meis"] = compute
    groups: dict[str, list[Unit]] = {}
    for u in units:
        groups.setdefault(u.area if u.area != READOUT else f"readout_{u.session}", []).append(u)
    for key, members in groups.items():
        jobs.append(("Most exciting inputs", f"meis/{key}", f"{key}: most exciting inputs (unit, objective)",
                     lambda key=key, members=members: mei_figure(_cached(results, "meis"), [u.label for u in members],
                                                                 title=f"most exciting inputs: {key}")))
    jobs.append(("Most exciting inputs", "meis/traces", "convergence of every MEI",
                 lambda: mei_trace_figure(_cached(results, "meis"))))


def _index_html(label, config, settings, sections, with_meis) -> str:
    esc = html.escape
    parts = [f"<h1>{esc(label)}</h1>",
             "<details><summary>model configuration and settings</summary><pre>"
             + esc(json.dumps({"model": config, "settings": settings}, indent=2)) + "</pre></details>"]
    if with_meis:
        parts.append('<p>MEIs, their objectives, traces and settings: <code>meis.zarr</code> '
                     '(<code>dynvision.insilico.open_meis("meis.zarr")</code>).</p>')
    for section, figures in sections.items():
        parts.append(f"<h2>{esc(section)}</h2>")
        for caption, paths in figures:
            shown = next((p for p in paths if p.endswith(".png")), next((p for p in paths if p.endswith(".svg")),
                                                                        paths[0]))
            links = " ".join(f'<a href="{esc(p)}">{esc(Path(p).suffix[1:])}</a>' for p in paths)
            parts.append(f'<figure><a href="{esc(shown)}"><img src="{esc(shown)}" alt="{esc(caption)}"></a>'
                         f"<figcaption>{esc(caption)} ({links})</figcaption></figure>")
    style = ("body{font-family:sans-serif;max-width:1400px;margin:1em auto;padding:0 1em}"
             "img{max-width:100%;border:1px solid #ddd}figure{margin:1.5em 0}figcaption{color:#444}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{esc(label)}: dynvision visualize</title>"
            f"<style>{style}</style></head><body>{''.join(parts)}</body></html>\n")


# -- the command -----------------------------------------------------------------------------------
def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``visualize`` subcommand to an argparse ``subparsers`` object."""
    p = subparsers.add_parser(
        "visualize", help="write weight, readout, impulse-response and MEI figures of a model",
        description="Write the weights (every conv layer per (output, input) channel, recurrent beside "
                    "feedforward, classifier), readouts, impulse responses and most exciting inputs of a model "
                    "as PNG/SVG files with an offline index.html.",
        epilog="examples:\n  dynvision visualize dyrcnnx4-digits --out results/visualize\n"
               "  dynvision visualize results/train/checkpoints/best.ckpt --out results/vis --areas V1 V2 output\n"
               "  dynvision visualize dyrcnnx4-digits --out results/vis --units V1:0 V4:3@1,2 output:7 --starts 4",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", metavar="MODEL_OR_CHECKPOINT",
                   help="a pretrained or registered model name, a checkpoint file or a training folder")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--areas", nargs="+", default=None, metavar="AREA",
                   help="areas to draw, plus 'output' and 'readout' (default: all)")
    p.add_argument("--units", nargs="+", default=None, metavar="UNIT",
                   help="units whose MEIs to compute, e.g. V1:0 V4:3@1,2 output:7 readout:SESSION:5 "
                        "(default: every channel's centre unit and every output unit)")
    p.add_argument("--formats", nargs="+", default=["png", "svg"], choices=["png", "svg", "pdf"])
    p.add_argument("--mei-steps", type=int, default=100, help="optimisation steps per MEI (default 100)")
    p.add_argument("--starts", type=int, default=1, help="random starts per MEI (default 1)")
    p.add_argument("--duration-ms", type=float, default=None, help="how long MEIs are shown (default: the model's)")
    p.add_argument("--no-meis", action="store_true", help="skip the MEIs")
    p.add_argument("--no-impulse", action="store_true", help="skip the impulse responses")
    p.add_argument("--seed", type=int, default=0, help="seed of the MEI starts (default 0)")
    p.add_argument("--dpi", type=int, default=120, help="PNG resolution (default 120)")
    p.add_argument("--overwrite", action="store_true", help="write into a folder that holds something else")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``dynvision visualize`` with parsed arguments; prints where the index page is."""
    index = visualize_model(args.model, args.out, areas=args.areas, units=args.units, formats=args.formats,
                            meis=not args.no_meis, impulse=not args.no_impulse, mei_steps=args.mei_steps,
                            n_starts=args.starts, duration_ms=args.duration_ms, seed=args.seed, dpi=args.dpi,
                            overwrite=args.overwrite, progress=not args.quiet)
    print(f"figures written to {index.parent}; open {index}")
    return 0


__all__ = ["register", "run", "visualize_model"]
