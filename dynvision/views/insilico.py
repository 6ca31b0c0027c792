"""Figures of the in-silico analyses: kernels, readouts, classifier weights, impulse responses, MEIs.

Static figures are matplotlib ``Figure`` objects (no pyplot state: save them with
``fig.savefig`` or :func:`save_figure`, or let a notebook show them), drawn for print: colour
bars on every kernel plot, symmetric colour scales centred on zero, labelled axes and
legible fonts. Every function draws exactly the numbers it is given (weights come from
:mod:`dynvision.analysis.weights`, responses from :mod:`dynvision.insilico`); it computes
nothing else. Interactive versions (HoloViews, bokeh canvas) of the MEIs and gradient grids
are :func:`mei_view` and :func:`gradient_grid_view`.

- :func:`kernel_figure`: one layer, every (output, input) channel's spatial kernel as a tile;
- :func:`area_kernels_figure`: an area's feedforward kernels beside its recurrent ones (and
  skip / feedback connections);
- :func:`spatiotemporal_figure`: a spatio-temporal layer's spatial kernel, temporal kernel
  and basis weights (after openretina's weight visualisation);
- :func:`readout_figure`: a readout neuron's Gaussian mask over the area's map and its
  feature-weight bars; :func:`readout_overview`: all neurons of a session;
- :func:`classifier_figure`: the classifier's weights per output unit;
- :func:`impulse_figure`: every channel's response to a flash (on and off);
- :func:`mei_figure`, :func:`mei_trace_figure`: MEIs and their convergence;
- :func:`gradient_grid_figure`: the gradient field over the response map.

Example:
    >>> from dynvision.views.insilico import area_kernels_figure
    >>> fig = area_kernels_figure(model, "V1")  # doctest: +SKIP
    >>> fig.savefig("V1_kernels.png", dpi=150)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from dynvision.analysis.weights import LayerKernel, layer_kernels

STYLE = {"font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9, "xtick.labelsize": 8, "ytick.labelsize": 8,
         "legend.fontsize": 8, "figure.titlesize": 11, "axes.spines.top": False, "axes.spines.right": False}
KERNEL_CMAP = "RdBu_r"


@contextlib.contextmanager
def _style():
    import matplotlib

    with matplotlib.rc_context(STYLE):
        yield


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    _notebook_display()
    return Figure(figsize=(max(width, 2.5), max(height, 2.0)), layout="constrained")


def _notebook_display() -> None:
    """Inside IPython, show matplotlib figures as PNG when they are a cell's result (as
    ``%matplotlib inline`` does; figures made without pyplot otherwise print as text)."""
    import sys

    if "IPython" not in sys.modules:
        return
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None or getattr(shell, "_dynvision_figures", False):
        return
    from IPython.core.pylabtools import select_figure_formats

    select_figure_formats(shell, {"png"}, bbox_inches="tight")
    shell._dynvision_figures = True


def _symmetric(values: np.ndarray) -> float:
    finite = np.abs(values[np.isfinite(values)])
    return float(finite.max()) if finite.size and finite.max() > 0 else 1.0


def mosaic(weight: np.ndarray) -> np.ndarray:
    """``(out, in, kh, kw)`` kernels as one image: tile ``(o, i)`` at rows ``o (kh + 1)`` and columns
    ``i (kw + 1)``, separated by NaN lines.

    Example:
        >>> mosaic(np.ones((2, 3, 1, 1))).shape
        (3, 5)
    """
    o, i, kh, kw = weight.shape
    out = np.full((o * (kh + 1) - 1, i * (kw + 1) - 1), np.nan)
    for a in range(o):
        for b in range(i):
            out[a * (kh + 1):a * (kh + 1) + kh, b * (kw + 1):b * (kw + 1) + kw] = weight[a, b]
    return out


def _tile_ticks(ax, n: int, size: int, axis: str, label: str, limit: int = 16) -> None:
    step = max(1, math.ceil(n / limit))
    ticks = [k * (size + 1) + (size - 1) / 2 for k in range(0, n, step)]
    getattr(ax, f"set_{axis}ticks")(ticks, [str(k) for k in range(0, n, step)])
    getattr(ax, f"set_{axis}label")(label)


def _draw_kernel(fig, ax, kernel: LayerKernel) -> Any:
    import matplotlib

    w = kernel.weight
    o, i, kh, kw = w.shape
    m = _symmetric(w)
    cmap = matplotlib.colormaps[KERNEL_CMAP].with_extremes(bad="#f2f2f2")
    row = kernel.depthwise or i == 1
    if row:  # one input per output channel: one row of tiles
        img = ax.imshow(mosaic(w.transpose(1, 0, 2, 3)), cmap=cmap, vmin=-m, vmax=m, interpolation="nearest")
        _tile_ticks(ax, o, kw, "x", "channel (reads its own input channel)" if kernel.depthwise else "output channel")
        ax.set_yticks([])
    else:
        img = ax.imshow(mosaic(w), cmap=cmap, vmin=-m, vmax=m, interpolation="nearest")
        _tile_ticks(ax, i, kw, "x", "input channel")
        _tile_ticks(ax, o, kh, "y", "output channel")
    scale = f", x {kernel.scale:.3g} (recurrence bound)" if kernel.scale != 1 else ""
    ax.set_title(f"{kernel.area} {kernel.kind}: {kernel.name}\n{o} x {i} channels, {kh} x {kw}{scale}")
    ax.spines[:].set_visible(False)
    fig.colorbar(img, ax=ax, shrink=0.6 if row else 0.8, label="weight", location="bottom" if row else "right")
    return img


def _panel_size(kernel: LayerKernel) -> tuple[float, float]:
    """Inches for one kernel panel: about 7 inches for the mosaic's long side (a weight is at
    most 0.16 and at least 0.03 inch), plus room for the labels and the colour bar."""
    o, i, kh, kw = kernel.weight.shape
    cols, rows = (o, 1) if kernel.depthwise or i == 1 else (i, o)
    px, py = cols * (kw + 1), rows * (kh + 1)
    inch = min(0.16, max(0.03, 7.0 / max(px, py)))
    return 1.6 + inch * px, 1.2 + inch * py


def kernel_figure(kernel: LayerKernel, *, title: str = ""):
    """Every (output, input) channel's kernel of one layer as a tile, one symmetric colour scale.

    Args:
        kernel: A layer from :func:`dynvision.analysis.weights.layer_kernels`.
        title: Figure title.

    Example:
        >>> from dynvision.analysis.weights import layer_kernels
        >>> fig = kernel_figure(layer_kernels(model, ["V1"])[0])  # doctest: +SKIP
    """
    width, height = _panel_size(kernel)
    with _style():
        fig = _figure(width, height)
        _draw_kernel(fig, fig.add_subplot(), kernel)
        if title:
            fig.suptitle(title)
    return fig


def area_kernels_figure(model, area: str, kinds: Sequence[str] | None = None, *, title: str = ""):
    """An area's layers side by side: feedforward, recurrent (beside it), then skip and feedback.

    Example:
        >>> fig = area_kernels_figure(model, "V2")  # doctest: +SKIP
    """
    kernels = layer_kernels(model, [area], kinds)
    if not kernels:
        raise ValueError(f"area {area!r} has no weighted layers of kinds {list(kinds or [])}")
    widths, heights = zip(*[_panel_size(k) for k in kernels])
    rows = [k.depthwise or k.weight.shape[1] == 1 for k in kernels]
    top = max([h for h, r in zip(heights, rows) if r], default=0.0) + 0.8  # a row of tiles and its colour bar
    with _style():
        fig = _figure(sum(widths), max(max(heights), top))
        if any(rows) and not all(rows) and max(heights) > top:  # rows of tiles sit at the top, not stretched
            grid = fig.add_gridspec(2, len(kernels), width_ratios=widths, height_ratios=[top, max(heights) - top])
            axes = [fig.add_subplot(grid[0, j] if r else grid[:, j]) for j, r in enumerate(rows)]
        else:
            axes = fig.subplots(1, len(kernels), squeeze=False, width_ratios=widths)[0]
        for ax, kernel in zip(axes, kernels):
            _draw_kernel(fig, ax, kernel)
        fig.suptitle(title or f"{area}: weights per (output, input) channel")
    return fig


def spatiotemporal_figure(layer, out_channel: int = 0, in_channel: int = 0, *, title: str = ""):
    """One channel pair of a :class:`~dynvision.layers.spatiotemporal.SpatioTemporalConv`: the
    spatial kernel, the temporal kernel over the lags, and the basis weights behind it.

    Example:
        >>> fig = spatiotemporal_figure(core.layers[0], out_channel=2, in_channel=0)  # doctest: +SKIP
    """
    from dynvision.validation import check_int

    o = check_int("out_channel", out_channel, lo=0, hi=layer.out_channels - 1)
    i = check_int("in_channel", in_channel, lo=0, hi=layer.in_channels - 1)
    spatial = layer.spatial_weight.detach().float().cpu().numpy()[o, i]
    temporal = layer.temporal_kernel().detach().float().cpu().numpy()[o]
    coeffs = layer.temporal_weight.detach().float().cpu().numpy()[o]
    basis = layer.basis.detach().float().cpu().numpy()
    lags = layer.lags_ms.numpy()
    f = layer.n_frequencies
    names = [f"cos {k}" for k in range(f)] + [f"sin {k}" for k in range(1, f + 1)]
    with _style():
        fig = _figure(10, 3.0)
        ax_s, ax_t, ax_b = fig.subplots(1, 3, width_ratios=[1, 1.3, 1.3])
        m = _symmetric(spatial)
        img = ax_s.imshow(spatial, cmap=KERNEL_CMAP, vmin=-m, vmax=m, interpolation="nearest")
        fig.colorbar(img, ax=ax_s, shrink=0.8, label="weight")
        ax_s.set_title(f"spatial kernel (in {i} -> out {o})")
        ax_s.set_xlabel("x")
        ax_s.set_ylabel("y")
        ax_t.axhline(0, color="grey", lw=0.6)
        for k, row in enumerate(basis):
            ax_t.plot(lags, coeffs[k] * row, color="grey", lw=0.6, alpha=0.5)
        ax_t.plot(lags, temporal, color="black", lw=2, marker="o", ms=3, label="temporal kernel")
        ax_t.set_xlabel("lag (ms)")
        ax_t.set_ylabel("weight")
        ax_t.set_title(f"temporal kernel (out {o}; grey: weighted basis)")
        ax_b.bar(np.arange(len(coeffs)), coeffs, color=["#0072B2"] * f + ["#D55E00"] * f)
        ax_b.set_xticks(np.arange(len(coeffs)), names, rotation=45)
        ax_b.axhline(0, color="grey", lw=0.6)
        ax_b.set_title("basis weights (cosines, sines)")
        fig.suptitle(title or f"spatio-temporal layer, {layer.n_taps} taps of {layer.dt_ms:g} ms")
    return fig


def _ellipse(ax, readout, n: int, size, color="black"):
    from matplotlib.patches import Ellipse

    h, w = size
    mu = readout.mu.detach().float().cpu().numpy()[n]
    sx, sy = readout.sigma.detach().float().cpu().numpy()[n]
    rho = float(readout.correlation.detach()[n])
    cov = np.array([[sx * sx, rho * sx * sy], [rho * sx * sy, sy * sy]]) * np.array([[w * w, w * h], [w * h, h * h]]) / 4
    vals, vecs = np.linalg.eigh(cov)
    angle = math.degrees(math.atan2(vecs[1, 1], vecs[0, 1]))
    centre = ((mu[0] + 1) * w / 2 - 0.5, (mu[1] + 1) * h / 2 - 0.5)  # normalised -> pixel index
    ax.add_patch(Ellipse(centre, 2 * math.sqrt(vals[1]), 2 * math.sqrt(vals[0]), angle=angle, fill=False,
                         color=color, lw=1.2))
    return centre


def readout_figure(readout, neuron: int, activity: np.ndarray | None = None, *, title: str = ""):
    """A readout neuron: its Gaussian mask over the area's map (1-sigma ellipse; over the mean
    ``activity`` map when given) and its feature weight per channel.

    Args:
        readout: A :class:`~dynvision.layers.readout.GaussianReadout`.
        neuron: The neuron.
        activity: Optional ``(H, W)`` map drawn under the mask's outline (e.g. mean activity).

    Example:
        >>> fig = readout_figure(model.readouts["mouse1"], 5)  # doctest: +SKIP
    """
    from dynvision.validation import check_int

    n = check_int("neuron", neuron, lo=0, hi=readout.n_neurons - 1)
    mask = readout.mask().detach().float().cpu().numpy()[n]
    features = readout.features.detach().float().cpu().numpy()[n]
    with _style():
        fig = _figure(9, 3.2)
        fig.get_layout_engine().set(wspace=0.12)
        ax_m, ax_f = fig.subplots(1, 2, width_ratios=[1, 1.6])
        if activity is not None:
            ax_m.imshow(np.asarray(activity), cmap="Greys", interpolation="nearest")
            img = ax_m.imshow(mask, cmap="viridis", alpha=0.6, interpolation="nearest")
        else:
            img = ax_m.imshow(mask, cmap="viridis", interpolation="nearest")
        fig.colorbar(img, ax=ax_m, shrink=0.8, label="mask weight")
        _ellipse(ax_m, readout, n, readout.size, color="white")
        ax_m.set_title(f"spatial mask of neuron {n}")
        ax_m.set_xlabel("x (area map)")
        ax_m.set_ylabel("y")
        colors = np.where(features >= 0, "#D55E00", "#0072B2")
        ax_f.bar(np.arange(len(features)), features, color=colors)
        ax_f.axhline(0, color="grey", lw=0.6)
        ax_f.set_xticks(np.arange(0, len(features), max(1, len(features) // 16)))
        ax_f.set_xlabel("channel")
        ax_f.set_ylabel("feature weight")
        ax_f.set_title("feature weights")
        fig.suptitle(title or f"readout neuron {n}")
    return fig


def readout_overview(readout, *, title: str = ""):
    """Every neuron of a readout session: mask outlines on the area's map, and the feature
    weights as a neurons x channels matrix (symmetric colour scale)."""
    h, w = readout.size
    features = readout.features.detach().float().cpu().numpy()
    with _style():
        fig = _figure(9, 1.5 + 0.18 * max(readout.n_neurons, 10))
        ax_m, ax_f = fig.subplots(1, 2, width_ratios=[1, 1.6])
        ax_m.imshow(readout.mask().detach().float().cpu().numpy().sum(0), cmap="Greys", interpolation="nearest")
        for n in range(readout.n_neurons):
            x, y = _ellipse(ax_m, readout, n, readout.size, color="#D55E00")
            ax_m.annotate(str(n), (x, y), ha="center", va="center", fontsize=7, color="#D55E00")
        ax_m.set_xlim(-0.5, w - 0.5)
        ax_m.set_ylim(h - 0.5, -0.5)
        ax_m.set_title(f"{readout.n_neurons} masks (1 sigma)")
        m = _symmetric(features)
        img = ax_f.imshow(features, cmap=KERNEL_CMAP, vmin=-m, vmax=m, aspect="auto", interpolation="nearest")
        fig.colorbar(img, ax=ax_f, shrink=0.8, label="feature weight")
        ax_f.set_xlabel("channel")
        ax_f.set_ylabel("neuron")
        ax_f.set_title("feature weights")
        fig.suptitle(title or "readout")
    return fig


def classifier_figure(model, *, title: str = ""):
    """The classifier's weight of every feature for every output unit (rows), one symmetric scale."""
    w = next(p for n, p in model.classifier.named_parameters() if n.endswith("weight")).detach().float().cpu().numpy()
    w = w if w.ndim == 2 else w.reshape(len(w), -1)
    k, f = w.shape
    with _style():
        fig = _figure(1.8 + 0.09 * f, 1.2 + 0.25 * k)
        ax = fig.add_subplot()
        m = _symmetric(w)
        img = ax.imshow(w, cmap=KERNEL_CMAP, vmin=-m, vmax=m, aspect="auto", interpolation="nearest")
        fig.colorbar(img, ax=ax, label="weight")
        ax.set_yticks(np.arange(k), [str(c) for c in range(k)])
        ax.set_xlabel(f"feature the classifier reads ({f}; DyRCNN: the top area's channels, averaged over space)")
        ax.set_ylabel("output unit")
        ax.set_title(title or "classifier weights per output unit")
    return fig


def _grid(n: int, max_cols: int = 8) -> tuple[int, int]:
    cols = min(max_cols, max(1, math.ceil(math.sqrt(n))))
    return math.ceil(n / cols), cols


def impulse_figure(tree, area: str, *, max_panels: int = 256, title: str = ""):
    """Every channel's (or output class's) impulse response, on (solid) and off (dashed), the flash shaded.

    Args:
        tree: The DataTree of :func:`dynvision.insilico.impulse_responses`.
        area: An area of the tree, or ``"output"``.
        max_panels: Draw at most this many channels.
    """
    da = tree[area]["response"]
    unit_dim = da.dims[-1]
    n = min(da.sizes[unit_dim], max_panels)
    rows, cols = _grid(n)
    onset, pulse = tree.attrs["onset_ms"], tree.attrs["pulse_ms"]
    t = da["time"].values
    with _style():
        fig = _figure(1.6 * cols + 0.5, 1.2 * rows + 0.6)
        axes = fig.subplots(rows, cols, squeeze=False, sharex=True, sharey=True)
        for k, ax in enumerate(axes.flat):
            if k >= n:
                ax.set_visible(False)
                continue
            ax.axvspan(onset, onset + pulse, color="grey", alpha=0.2, lw=0)
            ax.axhline(0, color="grey", lw=0.5)
            for pol in da["polarity"].values:
                ax.plot(t, da.sel(polarity=pol).isel({unit_dim: k}).values, lw=1.2,
                        ls="-" if pol == "on" else "--", color="#D55E00" if pol == "on" else "#0072B2", label=pol)
            ax.set_title(f"{unit_dim} {k}", fontsize=8, pad=2)
        axes[-1, 0].set_xlabel("time (ms)")
        axes[-1, 0].set_ylabel("response - rest")
        axes.flat[0].legend(loc="upper right", frameon=False)
        fig.suptitle(title or f"{area}: impulse responses ({pulse:g} ms flash at {onset:g} ms)")
    return fig


def _mei_image(stim: np.ndarray) -> tuple[np.ndarray, dict]:
    """A displayable image of an MEI ``(C, H, W)``: grey for one channel, RGB for three."""
    if stim.shape[0] == 1:
        return stim[0], {"cmap": "gray", "vmin": 0.0, "vmax": 1.0}
    if stim.shape[0] == 3:
        return np.clip(stim.transpose(1, 2, 0), 0, 1), {}
    return stim, {}


def mei_figure(ds, units: Sequence[str] | None = None, *, max_panels: int = 256, title: str = ""):
    """Each unit's MEI (its best start) with its objective; movies show their frame of largest contrast.

    Args:
        ds: The Dataset of :func:`dynvision.insilico.mei` (or :func:`~dynvision.insilico.open_meis`).
        units: Unit labels to draw (default all, at most ``max_panels``).
    """
    from dynvision.insilico.meis import best_meis

    best = best_meis(ds)
    labels = list(ds["unit"].values if units is None else units)[:max_panels]
    bg = float(ds.attrs.get("background", 0.5))
    channels = best.sizes["channel"]
    per_unit = 1 if channels in (1, 3) else channels
    rows, cols = _grid(len(labels) * per_unit, max_cols=8 if per_unit == 1 else per_unit * max(1, 8 // per_unit))
    with _style():
        fig = _figure(1.3 * cols + 0.8, 1.45 * rows + 0.6)
        axes = fig.subplots(rows, cols, squeeze=False)
        img = None
        for ax in axes.flat:
            ax.set_axis_off()
        for k, label in enumerate(labels):
            stim = best.sel(unit=label).values
            note = ""
            if "time" in best.dims:
                frame = int(np.argmax(np.abs(stim - bg).reshape(stim.shape[0], -1).sum(1)))
                stim, note = stim[frame], f" @{float(best['time'][frame]):g} ms"
            objective = float(ds["objective"].sel(unit=label).max())
            if per_unit == 1:
                image, kw = _mei_image(stim)
                ax = axes.flat[k]
                img = ax.imshow(image, interpolation="nearest", **kw)
                ax.set_title(f"{label}\n{objective:.3g}{note}", fontsize=7, pad=2)
            else:
                for c in range(channels):
                    ax = axes.flat[k * channels + c]
                    img = ax.imshow(stim[c], cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
                    ax.set_title(f"{label} ch {c}\n{objective:.3g}{note}", fontsize=7, pad=2)
        if img is not None and (channels != 3):
            fig.colorbar(img, ax=axes, shrink=0.6, label="luminance")
        fig.suptitle(title or "most exciting inputs (title: unit, objective)")
    return fig


def mei_trace_figure(ds, units: Sequence[str] | None = None, *, title: str = ""):
    """The objective of every unit and start over the optimisation steps."""
    labels = list(ds["unit"].values if units is None else units)
    with _style():
        fig = _figure(6, 3.5)
        ax = fig.add_subplot()
        for k, label in enumerate(labels):
            for s in ds["start"].values:
                ax.plot(ds["step"].values, ds["trace"].sel(unit=label, start=s).values, lw=1,
                        color=f"C{k % 10}", label=label if s == ds["start"].values[0] else None)
        ax.set_xlabel("optimisation step")
        ax.set_ylabel("objective")
        if len(labels) <= 12:
            ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
        ax.set_title(title or "MEI convergence (one line per start)")
    return fig


def gradient_grid_figure(ds, *, title: str = ""):
    """The response over the two contrasts (colour) with the gradient field on top (arrows)."""
    dim_a, dim_b = ds["response"].dims
    a, b = ds[dim_a].values, ds[dim_b].values
    resp = ds["response"].values
    grad = ds["gradient"].values
    names = list(ds["component"].values)
    with _style():
        fig = _figure(5.2, 4.4)
        ax = fig.add_subplot()
        img = ax.pcolormesh(a, b, resp.T, shading="nearest", cmap="viridis")
        fig.colorbar(img, ax=ax, label=ds["response"].attrs.get("long_name", "response"))
        aa, bb = np.meshgrid(a, b, indexing="ij")
        ax.quiver(aa, bb, grad[0], grad[1], color="white", angles="xy", pivot="mid")
        ax.set_xlabel(f"contrast of {names[0]}")
        ax.set_ylabel(f"contrast of {names[1]}")
        ax.set_aspect("equal")
        ax.set_title(title or f"{ds.attrs.get('unit', '')}: response and its gradient")
    return fig


def save_figure(fig, path: str | Path, formats: Sequence[str] = ("png", "svg"), dpi: int = 150) -> list[Path]:
    """Write a matplotlib figure as ``path.<format>`` for each format; returns the paths."""
    from dynvision.registry import check_choice

    out = []
    for fmt in formats:
        check_choice("static format", fmt, ("png", "svg", "pdf"))
        target = Path(f"{Path(path).with_suffix('')}.{fmt}")
        target.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(target, dpi=dpi)
        out.append(target)
    return out


# -- interactive (HoloViews, bokeh canvas) --------------------------------------------------------
def gradient_grid_view(ds):
    """The gradient grid as an interactive HoloViews overlay: response image and vector field (hover)."""
    from dynvision.views._hv import hv, styled

    h = hv()
    dim_a, dim_b = ds["response"].dims
    a, b = ds[dim_a].values, ds[dim_b].values
    img = h.Image((a, b, ds["response"].values.T), kdims=[dim_a, dim_b], vdims=["response"])
    grad = ds["gradient"].values
    aa, bb = np.meshgrid(a, b, indexing="ij")
    mag = np.hypot(grad[0], grad[1])
    angle = np.arctan2(grad[1], grad[0])
    scale = mag / (mag.max() or 1.0)
    field = h.VectorField((aa.ravel(), bb.ravel(), angle.ravel(), scale.ravel()), kdims=[dim_a, dim_b],
                          vdims=["angle", "magnitude"])
    img = styled(img, {"cmap": "viridis", "colorbar": True}, bokeh={"tools": ["hover"], "frame_width": 320,
                                                                   "frame_height": 320})
    field = styled(field, {"color": "white", "magnitude": "magnitude"}, bokeh={"line_width": 1.5})
    return (img * field).opts(title=f"{ds.attrs.get('unit', '')}: response and gradient")


def mei_view(ds):
    """MEIs as an interactive HoloMap: one image per unit (best start), a unit selector beside it."""
    from dynvision.insilico.meis import best_meis
    from dynvision.views._hv import hv, styled

    h = hv()
    best = best_meis(ds)
    frames = {}
    for label in ds["unit"].values:
        stim = best.sel(unit=label).values
        if "time" in best.dims:
            stim = stim.mean(0)
        ys, xs = np.arange(stim.shape[-2]), np.arange(stim.shape[-1])
        frames[str(label)] = styled(h.Image((xs, ys, np.flipud(stim[0])), kdims=["x", "y"], vdims=["luminance"]),
                                    {"cmap": "gray", "clim": (0.0, 1.0), "colorbar": True},
                                    bokeh={"tools": ["hover"], "frame_width": 260, "frame_height": 260})
    return h.HoloMap(frames, kdims=["unit"])


__all__ = ["area_kernels_figure", "classifier_figure", "gradient_grid_figure", "gradient_grid_view",
           "impulse_figure", "kernel_figure", "mei_figure", "mei_trace_figure", "mei_view", "mosaic",
           "readout_figure", "readout_overview", "save_figure", "spatiotemporal_figure"]
