"""ActivationExplorer: scrub through activations by area, channel, condition and time.

One explorer works on anything :func:`~dynvision.views.trees.as_trees` accepts: the tree
``Simulation.run`` returns, a zarr store (path or URL, read lazily), an experiment folder or
:class:`~dynvision.experiments.ExperimentResult` (one tree per model). Its parameters are the
state (``model``, ``area``, ``channel``, ``sample``, ``time``); :meth:`ActivationExplorer.select`
moves to the sample with given condition values. The views are HoloViews elements built from
plain slices of the tree (``activity_data`` and friends), and :meth:`ActivationExplorer.panel`
lays them out with widgets and a play button, for JupyterLab or ``panel serve``.

It opens where there is something to see: at the largest contrast (if contrast varies) and at
the time the area's response peaks. Times are shown from stimulus onset (where all samples
share one), with the stimulus window shaded on the time course; every view's title carries
the time it shows, so a title and its plot always agree, also while the slider is held.
Changing the model, area, channel or sample redraws the views with ranges that fit the new
selection (all 256 channels of IT after V1's 64).

Example:
    >>> from dynvision.views import ActivationExplorer, extension
    >>> extension()  # doctest: +SKIP
    >>> explorer = ActivationExplorer("results/contrast")  # doctest: +SKIP
    >>> explorer.select(contrast=0.5); explorer.time = 40.0  # doctest: +SKIP
    >>> explorer.panel()  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import param
import xarray as xr

from dynvision.views import trees as T
from dynvision.views.offline import ensure_backend

REDUCED_NOTE = ("{area} was stored reduced ({how}): there is no spatial map, so the plot beside the "
                "stimulus shows the channel profile at the current time. Store full maps with `Simulation.run(..., reduce=None)` "
                "or `run_experiment(..., reduce='none')`.")


def _label(widget_type, text: str) -> dict[str, str]:
    """``label=`` where Panel has it (1.8+), else ``name=``."""
    return {"label": text} if "label" in widget_type.param else {"name": text}


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


class ActivationExplorer(param.Parameterized):
    """Explore activations: area, channel, condition and time, beside the stimulus.

    Args:
        source: Activations (tree, store path/URL, experiment folder or result, or a mapping
            ``{label: tree}``).
        **params: Initial values of the parameters below (``time`` in ms).

    Example:
        >>> explorer = ActivationExplorer(tree, area="V2", time=20.0)  # doctest: +SKIP
        >>> explorer.activity_data().dims  # doctest: +SKIP
        ('y', 'x')
    """

    model = param.Selector(doc="Which activations (model label) to show.")
    area = param.Selector(doc="Which area.")
    channel = param.Selector(default=T.MEAN, objects=[T.MEAN], doc="One channel, or the mean over channels.")
    sample = param.Integer(default=0, bounds=(0, 0), doc="Position along sample (set it through the conditions).")
    time = param.Selector(doc="The time shown by the maps (ms).")
    cmap = param.Selector(default="viridis", objects=["viridis", "magma", "inferno", "cividis", "gray"],
                          doc="Colour map of the activity map.")

    def __init__(self, source: Any, **params: Any):
        super().__init__()
        self._trees = T.as_trees(source)
        self._widgets: dict[str, Any] = {}
        self._syncing = False
        self._previous_conditions: dict[str, Any] = {}
        self.param.model.objects = list(self._trees)
        self.model = params.pop("model", next(iter(self._trees)))
        conditions = {k: params.pop(k) for k in list(params) if k in T.conditions(self.tree, derived=True)}
        if "area" in params:  # first: it sets the channels to choose from
            self.area = params.pop("area")
        chosen = set(params) | set(conditions)
        self.param.update(**params)
        if conditions:
            self.select(**conditions)
        if not chosen & {"sample", *conditions}:  # open where there is something to see
            self.sample = T.strongest_sample(self.tree)
        if "time" not in chosen:
            self.time = T.peak_time(self.tree, self.area, self.sample, self.channel)

    # ----------------------------------------------------------------------------- state
    @property
    def trees(self) -> dict[str, xr.DataTree]:
        """All activation trees, by label."""
        return dict(self._trees)

    @property
    def tree(self) -> xr.DataTree:
        """The tree of the current model."""
        return self._trees[self.model]

    @property
    def conditions(self) -> dict[str, Any]:
        """Condition values of the current sample."""
        return T.sample_conditions(self.tree, self.sample)

    @param.depends("model", watch=True, on_init=False)
    def _on_model(self) -> None:
        tree = self.tree
        areas, times = T.area_names(tree), T.times(tree)
        self.param.area.objects = areas
        self.param.time.objects = {self._time_text(t): t for t in times}
        self.param.sample.bounds = (0, T.activity(tree, areas[0]).sizes["sample"] - 1)
        area = self.area if self.area in areas else areas[0]
        self.param.channel.objects = T.channels(tree, area)
        wanted = self._previous_conditions  # keep the condition when switching models
        sample = T.find_sample(tree, wanted) if wanted else min(self.sample, self.param.sample.bounds[1])
        time = min(times, key=lambda t: abs(t - self.time)) if self.time is not None else times[0]
        channel = self.channel if self.channel in self.param.channel.objects else T.MEAN
        self.param.update(area=area, channel=channel, sample=sample, time=time)
        self._rebuild_condition_widgets()

    @param.depends("area", watch=True)
    def _on_area(self) -> None:
        self.param.channel.objects = T.channels(self.tree, self.area)
        if self.channel not in self.param.channel.objects:
            self.channel = T.MEAN

    @param.depends("sample", watch=True)
    def _on_sample(self) -> None:
        self._previous_conditions = self.conditions
        self._syncing = True
        try:
            for name, widget in self._widgets.items():
                if name in self._previous_conditions:
                    widget.value = self._previous_conditions[name]
        finally:
            self._syncing = False

    def select(self, **conditions: Any) -> int:
        """Move to the sample with these condition values (the best match) and return it.

        Raises:
            ValueError: A name that is not a condition of the current model (the message
                lists them).

        Example:
            >>> explorer.select(contrast=1.0, image="digit7-1527")  # doctest: +SKIP
            3
        """
        known = T.conditions(self.tree, derived=True)
        for name in conditions:
            if name not in known:
                raise ValueError(f"{name!r} is not a condition of {self.model!r}; "
                                 f"conditions: {', '.join(known) or '(none)'}")
        self.sample = T.find_sample(self.tree, {**self.conditions, **conditions}, keep=list(conditions))
        return self.sample

    @property
    def onset(self) -> float | None:
        """The stimulus onset (ms) that times are shown from (``None``: absolute times)."""
        return T.onset(self.tree)

    def _time_text(self, t: float) -> str:
        """A time as shown: from stimulus onset where there is one."""
        on = T.onset(self.tree)
        return f"{t - on:g} ms" if on is not None else f"{t:g} ms"

    def _state(self) -> tuple[xr.DataTree, str, Any, int, float]:
        """The current selection, coerced to what the current tree holds (mid-update safe)."""
        tree = self.tree
        areas = T.area_names(tree)
        area = self.area if self.area in areas else areas[0]
        channel = self.channel if self.channel in T.channels(tree, area) else T.MEAN
        sample = min(max(int(self.sample), 0), T.activity(tree, area).sizes["sample"] - 1)
        time = self.time if self.time is not None else T.times(tree)[0]
        return tree, area, channel, sample, float(time)

    # ----------------------------------------------------------------------------- data
    def activity_data(self) -> xr.DataArray:
        """The map shown: ``(y, x)`` at the current time, or ``(channel,)`` for a reduced area."""
        tree, area, channel, sample, time = self._state()
        return T.activity_map(tree, area, sample, time, channel)

    def time_course_data(self) -> xr.DataArray:
        """The time course shown: the area's (channel's) mean response over time."""
        tree, area, channel, sample, _ = self._state()
        return T.time_course(tree, area, sample, channel)

    def stimulus_data(self) -> xr.DataArray | None:
        """The stimulus frame at the current time (``None`` when not stored)."""
        tree, _, _, sample, time = self._state()
        return T.stimulus_frame(tree, sample, time)

    @property
    def reduced(self) -> bool:
        """Whether the current area has no spatial map."""
        tree, area, *_ = self._state()
        return T.is_reduced(tree, area)

    # ----------------------------------------------------------------------------- elements
    def activity_element(self):
        """HoloViews view of :meth:`activity_data`: an Image, or the channel profile."""
        hv = ensure_backend()
        tree, area, channel, sample, time = self._state()
        data = self.activity_data()
        lo, hi = T.value_range(tree, area, sample, channel)
        vdim = hv.Dimension("activity", range=(lo, hi))
        size = {"width": 310, "height": 260, "framewise": True, "axiswise": True}
        when = f"t = {self._time_text(time)}"
        if data.dims == ("channel",):
            curve = hv.Curve((data["channel"].values, data.values), "channel", vdim)
            points = ([channel], [float(data.sel(channel=channel))]) if channel != T.MEAN else ([], [])
            marker = hv.Scatter(points, "channel", vdim)
            overlay = curve.opts(color="#1f77b4", backend="bokeh") * marker.opts(color="#d62728", size=8,
                                                                                backend="bokeh")
            curve = curve.opts(framewise=True, axiswise=True, backend="bokeh")
            return overlay.opts(title=f"{area} channels · {when}", show_legend=False,
                                fontsize={"title": "10pt"}, backend="bokeh", **size)
        label = "mean" if channel == T.MEAN else f"ch {channel}"
        img = hv.Image((data["x"].values, data["y"].values, data.values), ["x", "y"], vdim)
        return img.opts(title=f"{area} · {label} · {when}", cmap=self.cmap, colorbar=True,
                        invert_yaxis=True, tools=["hover"], fontsize={"title": "10pt"}, backend="bokeh", **size)

    def _time_dim(self):
        hv = ensure_backend()
        if self.onset is None:
            return hv.Dimension("time", unit="ms")
        return hv.Dimension("time_from_onset", label="time from stimulus onset", unit="ms")

    def time_course_element(self):
        """HoloViews Curve of :meth:`time_course_data` over the stimulus windows (shaded), with
        time from stimulus onset (the marker comes from :meth:`time_marker`)."""
        hv = ensure_backend()
        tree, area, channel, sample, _ = self._state()
        data = self.time_course_data()
        shift = self.onset or 0.0
        label = "mean of channels" if channel == T.MEAN else f"channel {channel}"
        shown = T.conditions(tree)
        what = ", ".join(f"{k}={_fmt(v)}" for k, v in T.sample_conditions(tree, sample).items() if k in shown)
        tdim, rdim = self._time_dim(), hv.Dimension("response", label=f"{area} response")
        curve = hv.Curve((data["time"].values - shift, data.values), tdim, rdim).opts(
            framewise=True, axiswise=True, tools=["hover"], line_width=2, color="#1f77b4", backend="bokeh")
        spans = [hv.VSpan(a - shift, b - shift, kdims=[tdim, rdim]).opts(color="grey", alpha=0.15, backend="bokeh")
                 for a, b in T.stimulus_windows(tree, sample)]
        title = f"{self.model} · {area} · {label}" + (f" · {what}" if what else "")
        return hv.Overlay([*spans, curve]).opts(title=title, framewise=True, width=560, height=230,
                                                backend="bokeh")

    def time_marker(self):
        """A vertical line at the current time (from stimulus onset where there is one)."""
        hv = ensure_backend()
        t = self._state()[4] - (self.onset or 0.0)
        return hv.VLine(t, kdims=[self._time_dim(), "response"]).opts(
            color="#d62728", line_dash="dashed", line_width=1.5, backend="bokeh")

    def stimulus_element(self):
        """HoloViews view of the stimulus frame (grey Image, RGB, or a note when not stored)."""
        hv = ensure_backend()
        data = self.stimulus_data()
        size = {"width": 230, "height": 230}
        if data is None:
            note = hv.Text(0.5, 0.5, "no stimulus stored\n(store_stimulus=False)")
            return note.opts(title="stimulus", xaxis=None, yaxis=None, backend="bokeh", **size)
        opts = {"title": f"stimulus · t = {self._time_text(self._state()[4])}", "invert_yaxis": True,
                "fontsize": {"title": "10pt"}, **size}
        xs, ys = data["x"].values, data["y"].values
        if data.ndim == 3:
            return hv.RGB((xs, ys, *[data.values[..., i] for i in range(3)])).opts(backend="bokeh", **opts)
        vdim = hv.Dimension("luminance", range=(0.0, 1.0))
        return hv.Image((xs, ys, data.values), ["x", "y"], vdim).opts(cmap="gray", colorbar=False, framewise=True,
                                                                     backend="bokeh", **opts)

    # ----------------------------------------------------------------------------- layout
    def _dynamic(self, method, params=("time", "cmap")):
        """A DynamicMap of ``method`` that follows the time (and colour map); a change of
        anything else builds a new one (:meth:`panel`), so that ranges start afresh."""
        hv = ensure_backend()

        return hv.DynamicMap(lambda **_: method(), streams=[hv.streams.Params(self, list(params))])

    def _rebuild_condition_widgets(self) -> None:
        box = getattr(self, "_conditions_box", None)
        if box is None:
            return
        import panel as pn

        self._widgets = {}
        tree = self.tree
        current = self.conditions
        for name, values in T.conditions(tree).items():
            widget = pn.widgets.Select(**_label(pn.widgets.Select, name), options={_fmt(v): v for v in values},
                                       value=current[name], width=220)
            widget.param.watch(lambda event, n=name: None if self._syncing else self.select(**{n: event.new}),
                               "value")
            self._widgets[name] = widget
        table = T.sample_table(tree).map(T._scalar)
        names = list(self._widgets)
        unique = bool(names) and not table[names].duplicated().any()
        objects = list(self._widgets.values())
        if not unique and len(table) > 1:
            objects.append(pn.widgets.IntSlider.from_param(self.param.sample, width=220))
        box.objects = objects or [pn.Spacer(height=0)]  # an empty layout is a Bokeh warning
        box.visible = bool(objects)

    def _info(self) -> str:
        tree, area, _, sample, _ = self._state()
        da = T.activity(tree, area)
        shape = " × ".join(f"{d} {n}" for d, n in da.sizes.items() if d not in ("sample", "time"))
        conds = ", ".join(f"{k} = {_fmt(v)}" for k, v in T.sample_conditions(tree, sample).items()) or "—"
        text = (f"**{self.model}** · dt = {_fmt(tree.attrs.get('dt', '?'))} ms · {area}: {shape}  \n"
                f"sample {sample}: {conds}")
        if T.is_reduced(tree, area):
            how = tree[area].attrs.get("reduce", "spatial mean")
            text += "\n\n" + REDUCED_NOTE.format(area=area, how=how)
        return text

    def panel(self):
        """The explorer as a Panel layout: widgets and play button left, views right.

        Example:
            >>> ActivationExplorer(tree).panel()  # doctest: +SKIP
        """
        import panel as pn

        self._conditions_box = pn.Column(width=230, margin=0)
        self._rebuild_condition_widgets()
        map_pane = pn.pane.HoloViews(self._dynamic(self.activity_element), backend="bokeh", linked_axes=False)
        stim_pane = pn.pane.HoloViews(self._dynamic(self.stimulus_element, ("time",)), backend="bokeh",
                                      linked_axes=False)

        def course():
            return self.time_course_element() * hv_dynamic_marker(self)

        course_pane = pn.pane.HoloViews(course(), backend="bokeh", linked_axes=False)

        def refresh(event):
            # a new selection: new plots, whose ranges fit it (a DynamicMap would keep the old ones)
            map_pane.object = self._dynamic(self.activity_element)
            course_pane.object = course()
            if event.name in ("model", "sample"):
                stim_pane.object = self._dynamic(self.stimulus_element, ("time",))

        self.param.watch(refresh, ["model", "area", "channel", "sample"])
        w = dict(width=220)
        player = {"interval": 150, "loop_policy": "loop", "show_value": False, "width": 220}
        if "visible_buttons" in pn.widgets.DiscretePlayer.param:  # Panel >= 1.5
            player.update(visible_buttons=["first", "previous", "reverse", "pause", "play", "next", "last"],
                          show_loop_controls=False)
        time_label = "time from onset" if self.onset is not None else "time"
        controls = pn.Column(
            pn.pane.Markdown("### Activations", margin=(0, 10)),
            *([pn.widgets.Select.from_param(self.param.model, **w)] if len(self._trees) > 1 else []),
            pn.widgets.Select.from_param(self.param.area, **w),
            pn.widgets.Select.from_param(self.param.channel, **w),
            self._conditions_box,
            # The time's label is drawn by the server alone: Panel's DiscreteSlider updates its
            # own label in the browser and again from the server, and with a busy server a
            # stale update could land last and stay (the label one step behind the plots).
            pn.pane.HTML(pn.bind(lambda t: f"{time_label}: <b>{self._time_text(t)}</b>", self.param.time),
                         margin=(5, 10, 0, 10), styles={"white-space": "nowrap"}),
            pn.widgets.DiscreteSlider.from_param(self.param.time, show_value=False,
                                                 **_label(pn.widgets.DiscreteSlider, ""), **w),
            pn.widgets.DiscretePlayer.from_param(self.param.time, **_label(pn.widgets.DiscretePlayer, "play"),
                                                 **player),
            pn.widgets.Select.from_param(self.param.cmap, **_label(pn.widgets.Select, "colour map"), **w),
            width=240,
        )
        info = pn.pane.Markdown(pn.bind(lambda *_: self._info(), self.param.model, self.param.area,
                                        self.param.sample), width=560)
        views = pn.Column(pn.Row(stim_pane, map_pane), course_pane, info)
        return pn.Row(controls, views, name="ActivationExplorer")

    def save(self, path: str | Path, **kwargs: Any) -> Path:
        """Write a snapshot of the explorer (current selection) as one offline HTML file.

        JavaScript and stylesheets are inline, so the file opens without network access; the
        plots keep zoom and hover, while the widgets need Python (a notebook kernel or
        :func:`~dynvision.views.serve_explorer`) to change the selection.

        Args:
            path: The ``.html`` file.
            **kwargs: Passed to Panel's ``save`` (``title``...).

        Example:
            >>> ActivationExplorer(tree, area="IT").save("explorer.html")  # doctest: +SKIP
            PosixPath('explorer.html')
        """
        from bokeh.resources import INLINE

        from dynvision.views.offline import inline_panel_assets

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("title", f"dynvision · {self.model}")
        self.panel().save(str(path), resources=INLINE, **kwargs)
        path.write_text(inline_panel_assets(path.read_text(encoding="utf-8")), encoding="utf-8")
        return path


def hv_dynamic_marker(explorer: ActivationExplorer):
    """A DynamicMap of the explorer's time marker that only follows ``time``."""
    hv = ensure_backend()

    return hv.DynamicMap(lambda **_: explorer.time_marker(), streams=[hv.streams.Params(explorer, ["time"])])


# The ``explore`` command and the server live in :mod:`dynvision.views.serve`; re-exported here too.
from dynvision.views.serve import add_explore_command, serve_explorer  # noqa: E402

__all__ = ["ActivationExplorer", "add_explore_command", "serve_explorer"]
