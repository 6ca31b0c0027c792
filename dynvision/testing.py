"""Public testing helpers: an independent implementation of the DyRCNN equations.

:func:`reference_run` recomputes a DyRCNN run from the *equations* and the model's *stated*
configuration, sharing no code with the library: it reads the time constants, delays, ``dt``,
dynamics form, integrator and connection modes from the configuration the model was built with
(never from the modules, so an area that ignored its ``tau`` would disagree), the weights from
``state_dict()``, and the architecture (channels, kernels, strides, pooling, skip and feedback
pairs) from the family's declaration. Recurrence types, the topographic sheet, resampling,
delays, the integrators and the time convention are all written out here again, as plainly as
the equations read: one explicit loop over time and areas, emitted outputs kept per step, every
target recomputed from the states (no caching).

The equations (all times in ms, ``x`` the stimulus in [0, 1], grey 0.5 -> 0 after
normalisation ``(x - 0.5) / 0.25``):

- area ``i``'s target ``g_i(t) = phi(ff + rec + skip + fb)`` (rate form; without ``phi`` for
  the voltage and DynVision forms), with ``ff = W * input_i(t)``, ``rec = R(out_i(t - trc))``,
  ``skip``/``fb`` 1 x 1 convolutions of resampled ``out_j(t - tsk)`` / ``out_j(t - tfb)``;
  multiplicative modes use ``x * (1 + term)``; adaptation divides by ``1 + s a(t)`` with
  ``tau_a da/dt = -a + |drive|`` (or subtracts ``s a(t)`` with ``tau_a da/dt = -a + drive``);
  normalisation then divides by ``1 + s_n n(t)``, ``tau_n dn/dt = -n + mean_channels |drive|``;
- ``input_0(t)`` is the frame shown over ``[t - tin, t - tin + dt)`` (grey before the stimulus
  reaches V1; after the input gain, if any), with transient channels ``frame - s b(t)``,
  ``tau_b db/dt = -b + frame``, beside it if asked;
  ``input_i(t) = pool(out_{i-1}(t - tff))``;
- ``tau dr/dt = -r + g(t)`` (``etd2``: the target taken as linear between the step's ends;
  ``exponential``: held at its end value; ``euler``: forward Euler on the end value);
  DynVision: ``r <- relu(r + dt/tau (g - r))``;
- outputs at index ``k`` are the state at ``t_k``, before frame ``k`` acts.

Supported: DyRCNNx2/DyRCNNx4 with ReLU, identity or supralinear (with ``supralinear_limit``)
activations, every recurrence type (with ``recurrence_bound`` by the exact operator norm times
the activation's largest slope, excitatory or of any sign), skip and feedback connections in both modes,
input gain and per-area adaptation; no retina, norm, custom operation orders or two-stage areas.

Example:
    >>> import torch, dynvision
    >>> model = dynvision.create_model("DyRCNNx2", input_dims=(4, 1, 16, 16), width=0.25)
    >>> x = torch.rand(2, 4, 1, 16, 16)
    >>> logits, _ = reference_run(model, x)
    >>> torch.allclose(logits, model(x), atol=1e-5)
    True
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

__all__ = ["dt_convergence", "reference_forward", "reference_run"]


def _steps(ms: float, dt: float, name: str) -> int:
    n = ms / dt
    if abs(n - round(n)) > 1e-6:
        raise ValueError(f"{name}={ms} ms is not a multiple of dt={dt} ms")
    return int(round(n))


def _resample(h: torch.Tensor, size) -> torch.Tensor:
    """Area average down by an integer factor, nearest neighbour up."""
    H, W = h.shape[-2:]
    if (H, W) == tuple(size):
        return h
    if H >= size[0]:
        fy, fx = H // size[0], W // size[1]
        return h.unflatten(-1, (size[1], fx)).unflatten(-3, (size[0], fy)).mean(dim=(-1, -3))
    ry, rx = size[0] // H, size[1] // W
    return h.repeat_interleave(ry, dim=-2).repeat_interleave(rx, dim=-1)


def _sheet_matrix(weights: torch.Tensor, channels: int, size, kernel: int) -> torch.Tensor:
    """Dense (C*H*W x C*H*W) matrix of topographic lateral connections on the mirrored sheet.

    Channels tile a ``gy x gx`` block at each position (row-major, rows/columns of odd blocks
    mirrored); two units connect with the weight of their squared distance on the sheet (weights
    ordered by increasing distance), within the kernel's reach.
    """
    H, W = size
    gx = math.ceil(math.sqrt(channels))
    gy = math.ceil(channels / gx)
    where = {}
    for c in range(channels):
        for y in range(H):
            for x in range(W):
                cy, cx = c // gx, c % gx
                if y % 2:
                    cy = gy - 1 - cy
                if x % 2:
                    cx = gx - 1 - cx
                where[(y * gy + cy, x * gx + cx)] = (c * H + y) * W + x
    r = kernel // 2
    distances = sorted({dy * dy + dx * dx for dy in range(-r, r + 1) for dx in range(-r, r + 1)})
    rank = {d: i for i, d in enumerate(distances)}
    n = channels * H * W
    m = torch.zeros(n, n, dtype=weights.dtype)
    for (sy, sx), target in where.items():
        for dy in range(-r, r + 1):
            for dx in range(-r, r + 1):
                source = where.get((sy + dy, sx + dx))
                if source is not None:
                    m[target, source] += weights[rank[dy * dy + dx * dx]]
    return m


class _Weights(dict):
    """A state dict that also answers ``...weight`` for excitatory (``|v|``-parametrised) weights."""

    def __missing__(self, key):
        if key.endswith("weight"):
            stored = key[: -len("weight")] + "parametrizations.weight.original"
            if stored in self:
                return self[stored].abs()
        raise KeyError(key)

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default


class _Recurrence:
    """``h -> R h`` for one area, from the type's definition and the area's weights."""

    def __init__(self, kind: str, sd: dict, prefix: str, channels: int, size, kernel: int, bound, gain=None,
                 slope: float = 1.0):
        self.kind, self.channels, self.size = kind, channels, tuple(size)
        p = prefix + "recurrence."
        get = sd.get
        if kind in ("self", "scalar"):  # one weight per channel, or one for the area: broadcast
            self.w, self.b = sd[p + "weight"], get(p + "bias")
        elif kind in ("full", "depthwise", "pointwise"):
            self.w, self.b = sd[p + "conv.weight"], get(p + "conv.bias")
        elif kind in ("depthpointwise", "pointdepthwise"):
            self.dw, self.dwb = sd[p + "depthwise.weight"], get(p + "depthwise.bias")
            self.pw, self.pwb = sd[p + "pointwise.weight"], get(p + "pointwise.bias")
        elif kind in ("local", "localdepthwise"):
            self.m = _sheet_matrix(sd[p + "lateral.weight"], channels, size, kernel)
            self.mb = get(p + "lateral.bias")
            if kind == "localdepthwise":
                self.dw, self.dwb = sd[p + "depthwise.weight"], get(p + "depthwise.bias")
        elif kind != "none":
            raise NotImplementedError(f"recurrence type {kind!r}")
        self.scale = 1.0
        # bound and gain are on the loop gain, ||R|| times the activation's largest slope
        if bound is not None and kind != "none":
            self.scale = min(1.0, float(bound) / slope / self.operator_norm())
        if gain is not None and kind != "none":
            self.scale = float(gain) / slope / self.operator_norm()

    def linear(self, h):
        return self(h, bias=False)

    def __call__(self, h: torch.Tensor, bias: bool = True) -> torch.Tensor:
        k = self.kind
        if k == "none":
            return torch.zeros_like(h)
        if k in ("self", "scalar"):
            out = h * self.w.view(1, -1, 1, 1)
            out = out + self.b.view(1, -1, 1, 1) if (bias and self.b is not None) else out
        elif k == "full":
            out = F.conv2d(h, self.w, self.b if bias else None, padding=self.w.shape[-1] // 2)
        elif k == "depthwise":
            out = F.conv2d(h, self.w, self.b if bias else None, padding=self.w.shape[-1] // 2, groups=h.shape[1])
        elif k == "pointwise":
            out = F.conv2d(h, self.w, self.b if bias else None)
        elif k == "depthpointwise":
            d = F.conv2d(h, self.dw, self.dwb if bias else None, padding=self.dw.shape[-1] // 2, groups=h.shape[1])
            out = F.conv2d(d, self.pw, self.pwb if bias else None)
        elif k == "pointdepthwise":
            pnt = F.conv2d(h, self.pw, self.pwb if bias else None)
            out = F.conv2d(pnt, self.dw, self.dwb if bias else None, padding=self.dw.shape[-1] // 2,
                           groups=pnt.shape[1])
        else:  # local, localdepthwise: the dense sheet matrix
            flat = h.reshape(h.shape[0], -1) @ self.m.T.to(h.dtype)
            out = flat.view_as(h)
            if bias and self.mb is not None:
                out = out + self.mb
            if k == "localdepthwise":
                out = F.conv2d(out, self.dw, self.dwb if bias else None, padding=self.dw.shape[-1] // 2,
                               groups=out.shape[1])
        return self.scale * out

    def operator_norm(self) -> float:
        """The largest singular value of the linear part, from the dense matrix."""
        n = self.channels * math.prod(self.size)
        eye = torch.eye(n, dtype=torch.float64).view(n, self.channels, *self.size)
        saved, self.scale = self.scale, 1.0
        cols = self(eye, bias=False).reshape(n, n)
        self.scale = saved
        return float(torch.linalg.matrix_norm(cols.T, ord=2))


def _combine(mode: str, x, term):
    if term is None:
        return x
    return x + term if mode == "additive" else x * (1.0 + term)


def _phi(cfg: dict) -> tuple[Any, float]:
    """The activation and its largest slope."""
    name = cfg["activation"]
    if name == "relu":
        return torch.relu, 1.0
    if name == "identity":
        return (lambda v: v), 1.0
    n, x0 = float(cfg["supralinearity"]), cfg.get("supralinear_limit")
    if name == "supralinear" and x0 is not None and n >= 1:
        x0 = float(x0)

        def phi(v):  # x^n up to x0, then the tangent line at x0
            r = torch.clamp(v, min=0.0)
            return torch.where(r <= x0, r ** n, x0 ** n + n * x0 ** (n - 1) * (r - x0))

        return phi, n * x0 ** (n - 1)
    raise NotImplementedError(f"activation {name!r}")


def _weights(integrator: str, dt: float, tau: float) -> tuple[float, float, float]:
    """``(E, c0, c1)`` with ``x(t + dt) = E x + c0 g0 + c1 g1``."""
    z = dt / tau
    if integrator == "euler":
        return 1 - z, 0.0, z
    E = torch.exp(-z) if torch.is_tensor(z) else math.exp(-z)
    if integrator == "exponential":
        return E, 0.0, 1 - E
    if integrator == "etd2":
        return E, (1 - E) / z - E, 1 - (1 - E) / z
    raise NotImplementedError(f"integrator {integrator!r}")


def reference_run(model, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Logits ``(batch, time, classes)`` and every area's recording ``(batch, time, C, H, W)``."""
    from dynvision.models.base import config_dict  # reads the configuration as the user gave it

    cfg: dict[str, Any] = config_dict(model)
    if cfg.get("model") not in ("DyRCNNx2", "DyRCNNx4"):
        raise NotImplementedError(f"reference_run covers DyRCNNx2/x4, not {cfg.get('model')}")
    if cfg.get("retina") or cfg.get("norm") not in (None, "none") or cfg.get("operations"):
        raise NotImplementedError("reference_run has no retina, norm or custom operation order")
    if cfg.get("recurrence_target", "output") != "output":
        raise NotImplementedError("reference_run covers recurrence at the output")
    dynvision_style = {"delay_fill": "rest", "normalize_input": True, "connection_bias": False,
                       "connection_resample": "area"}
    changed = [k for k, default in dynvision_style.items() if cfg.get(k, default) != default]
    if changed:  # DynVision 0.1.0's conventions are checked against DynVision itself (test_interop)
        raise NotImplementedError(f"reference_run does not cover {changed}")
    sd = _Weights({k: v.detach().to(torch.float64) for k, v in model.state_dict().items()})
    dt = float(cfg["dt_ms"])
    form, integrator = cfg["dynamics"], cfg["integrator"]
    phi, slope = _phi(cfg)
    specs = type(model).specs
    names = [s.name for s in specs]
    taus = cfg["tau_ms"] if isinstance(cfg["tau_ms"], dict) else {n: float(cfg["tau_ms"]) for n in names}
    tff = _steps(float(cfg["tff_ms"]), dt, "tff")
    tin = _steps(float(cfg.get("tin_ms", 0.0)), dt, "tin")
    trc = _steps(float(cfg["trc_ms"]), dt, "trc")
    pairs = (list(type(model).skips) if cfg["skip"] else []) + (list(type(model).feedbacks) if cfg["feedback"] else [])
    delays = {"skip": _steps(float(cfg["tsk_ms"]), dt, "tsk"), "feedback": _steps(float(cfg["tfb_ms"]), dt, "tfb")}

    frames = ((x.detach().to(torch.float64) - 0.5) / 0.25)
    batch, steps = frames.shape[:2]
    # sizes: convolution with padding k // 2, then the pooling of the output sent on
    areas, size = [], tuple(frames.shape[-2:])
    for s in specs:
        w = sd[f"areas.{s.name}.conv.weight"]
        own = tuple((n + 2 * (s.kernel // 2) - s.kernel) // s.stride + 1 for n in size)
        rec = _Recurrence(cfg["recurrence_type"], sd, f"areas.{s.name}.", w.shape[0], own,
                          int(cfg["recurrence_kernel"]), cfg.get("recurrence_bound"), cfg.get("recurrence_gain"),
                          slope)
        areas.append(dict(name=s.name, w=w, b=sd.get(f"areas.{s.name}.conv.bias"), stride=s.stride,
                          pad=s.kernel // 2, size=own, pool=s.pool, rec=rec, tau=float(taus[s.name]),
                          channels=w.shape[0]))
        size = own if s.pool is None else tuple((n + 2 * s.pool[2] - s.pool[0]) // s.pool[1] + 1 for n in own)
    conns = {n: [] for n in names}
    for j, (src, tgt) in enumerate(pairs):
        kind = "skip" if names.index(src) < names.index(tgt) else "feedback"
        conns[tgt].append((kind, names.index(src), sd[f"connections.{j}.conv.weight"]))

    gain_s = float(cfg.get("input_gain") or 0.0)
    def per_area(key):
        value = cfg.get(key) or 0.0
        return {n: float(value[n] if isinstance(value, dict) else value) for n in names}

    adapt_strengths, norm_strengths = per_area("adaptation"), per_area("normalization")
    adapt_mode = cfg.get("adaptation_mode", "divisive")
    norm_mode = cfg.get("normalization_mode", "divisive")

    def adapt_apply(signal, trace, s, mode="divisive"):
        if mode == "shunting":  # a conductance: tau dr/dt = -(1 + s a) r + g, applied in the step
            return signal
        return signal / (1 + s * trace) if mode == "divisive" else signal - s * trace

    def trace_step(a, d0, d1, tau_a, integ):
        E, c0, c1 = _weights(integ, dt, tau_a)
        return E * a + c0 * d0 + c1 * d1

    # state: per area the state at the current time; emitted[i][t] the output at time t
    zeros = [torch.zeros(batch, a["channels"], *a["size"], dtype=torch.float64) for a in areas]
    state = list(zeros)
    emitted: list[dict[int, torch.Tensor]] = [{} for _ in areas]
    traces = [torch.zeros_like(z) for z in zeros]
    pools = [torch.zeros_like(z[:, :1]) for z in zeros]
    gain_trace = torch.zeros_like(frames[:, 0])
    trans_trace = torch.zeros_like(frames[:, 0])
    trans_s = float(cfg.get("input_transient") or 0.0)

    def out_of(i, v):
        return phi(v) if form == "voltage" else v

    def emitted_at(i, t):
        return emitted[i].get(t, out_of(i, zeros[i])) if t >= 0 else out_of(i, zeros[i])

    def sent_on(i, t):
        h = emitted_at(i, t - tff)
        p = areas[i]["pool"]
        return h if p is None else F.max_pool2d(h, p[0], p[1], p[2])

    def drive(i, inp, t):
        """The drive before adaptation and phi at time index t, for input ``inp``."""
        a = areas[i]
        d = F.conv2d(inp, a["w"], a["b"], stride=a["stride"], padding=a["pad"])
        d = _combine(cfg["recurrence_mode"], d, a["rec"](emitted_at(i, t - trc)))
        for kind in ("skip", "feedback"):
            total = None
            for k2, src, w in conns[a["name"]]:
                if k2 == kind:
                    term = F.conv2d(_resample(emitted_at(src, t - delays[kind]), a["size"]), w)
                    total = term if total is None else total + term
            d = _combine("additive" if kind == "skip" else cfg["feedback_mode"], d, total)
        return d

    def target(d, trace, pool, adapt_s, norm_s):
        """Adaptation, normalisation, then phi (rate form) on the drive ``d``."""
        if adapt_s > 0:
            d = adapt_apply(d, trace, adapt_s, adapt_mode)
        if norm_s > 0 and norm_mode != "shunting":
            d = d / (1 + norm_s * pool)
        return phi(d) if form == "rate" else d

    def adapted(d, trace, adapt_s):
        return adapt_apply(d, trace, adapt_s, adapt_mode) if adapt_s > 0 else d

    logits_in, records = [], {n: [] for n in names}
    for k in range(steps):
        # the state at t_k
        for i, a in enumerate(areas):
            records[a["name"]].append(out_of(i, state[i]))
        logits_in.append(sent_on(len(areas) - 1, k).mean(dim=(-2, -1)))
        # the frame shown tin ms ago (grey before), held over [t_k, t_k+1), through the input gain
        f = frames[:, k - tin] if k >= tin else torch.zeros_like(frames[:, 0])
        if gain_s > 0:
            mode = cfg.get("gain_mode", "divisive")
            y0 = adapt_apply(f, gain_trace, gain_s, mode)
            fd = f.abs() if mode == "divisive" else f
            # the frame is constant over the step: its trace follows the exact exponential
            gain_trace = trace_step(gain_trace, fd, fd, float(cfg["tau_gain_ms"]), "exponential")
            y1 = adapt_apply(f, gain_trace, gain_s, mode)
        else:
            y0 = y1 = f
        if trans_s > 0:  # transient channels: the frame minus a trace of itself, beside the frame
            z0 = f - trans_s * trans_trace
            trans_trace = trace_step(trans_trace, f, f, float(cfg["tau_transient_ms"]), "exponential")
            y0, y1 = torch.cat([y0, z0], 1), torch.cat([y1, f - trans_s * trans_trace], 1)
        for i, a in enumerate(areas):
            inp0 = y0 if i == 0 else sent_on(i - 1, k)
            inp1 = y1 if i == 0 else sent_on(i - 1, k + 1)
            d0, d1 = drive(i, inp0, k), drive(i, inp1, k + 1)
            trace0, pool0 = traces[i], pools[i]
            adapt_s, norm_s = adapt_strengths[a["name"]], norm_strengths[a["name"]]
            integ_a = "exponential" if form == "dynvision" else integrator
            if adapt_s > 0:
                follow = (lambda v: v) if adapt_mode == "subtractive" else (lambda v: v.abs())
                traces[i] = trace_step(traces[i], follow(d0), follow(d1), float(cfg["tau_adaptation_ms"]), integ_a)
            if norm_s > 0:  # the pool follows the population's adapted drive (is it, with tau_n = 0)
                a0 = adapted(d0, trace0, adapt_s).abs().mean(1, keepdim=True)
                a1 = adapted(d1, traces[i], adapt_s).abs().mean(1, keepdim=True)
                if float(cfg["tau_normalization_ms"]) == 0:
                    pool0, pools[i] = a0, a1
                else:
                    pools[i] = trace_step(pools[i], a0, a1, float(cfg["tau_normalization_ms"]), integ_a)
            g0, g1 = target(d0, trace0, pool0, adapt_s, norm_s), target(d1, traces[i], pools[i], adapt_s, norm_s)
            r, tau = state[i], a["tau"]
            # shunting gains add to the leak: tau dr/dt = -(1 + C(t)) r + g(t), with C held at its
            # mean over the step (second order) or, for first-order integrators, its end value
            leak0 = leak1 = 0.0
            if adapt_s > 0 and adapt_mode == "shunting":
                leak0, leak1 = leak0 + adapt_s * trace0, leak1 + adapt_s * traces[i]
            if norm_s > 0 and norm_mode == "shunting":
                leak0, leak1 = leak0 + norm_s * pool0, leak1 + norm_s * pools[i]
            if form == "dynvision":
                new = torch.relu(r + dt / tau * (g1 - r)) if cfg["activation"] == "relu" else r + dt / tau * (g1 - r)
            elif torch.is_tensor(leak1):
                leak = 1 + ((leak0 + leak1) / 2 if integrator == "etd2" else leak1)
                E, c0, c1 = _weights(integrator, dt, tau / leak)
                new = E * r + (c0 * g0 + c1 * g1) / leak
            else:
                E, c0, c1 = _weights(integrator, dt, tau)
                new = E * r + c0 * g0 + c1 * g1
            state[i] = new
            emitted[i][k + 1] = out_of(i, new)
    w, b = sd["classifier.weight"], sd["classifier.bias"]
    logits = torch.stack(logits_in, dim=1) @ w.T + b
    dtype = x.dtype if x.is_floating_point() else torch.float32
    return logits.to(dtype), {n: torch.stack(v, dim=1).to(dtype) for n, v in records.items()}


def reference_forward(model, x: torch.Tensor) -> torch.Tensor:
    """Logits ``(batch, time, classes)`` of ``model`` on ``x``, from :func:`reference_run`."""
    return reference_run(model, x)[0]


def dt_convergence(build, image: torch.Tensor, dts=(2.0, 1.0, 0.5), reference_dt: float = 0.125,
                   t_onset_ms: float = 10.0, t_end_ms: float = 60.0, background: float = 0.5) -> dict:
    """How much a model's response to a step stimulus depends on ``dt``.

    ``build(dt)`` returns the model at integration step ``dt`` (same weights at every ``dt``);
    the stimulus is grey until ``t_onset_ms``, then ``image`` (C, H, W) until ``t_end_ms``. Each
    area's spatially averaged response at every ``dt`` is compared with the reference run at
    ``reference_dt`` at the common times.

    Returns:
        ``{"error": {dt: {area: max |r - r_ref| / max |r_ref|}}, "order": {area: [log2 of the
        error ratio per halving]}, "latency": {dt: {area: half-max latency (ms)}}}``; the
        reference's latencies are under ``reference_dt``.
    """
    import numpy as np
    import xarray as xr

    from dynvision.analysis import onset_latency

    def run(dt):
        model = build(dt)
        n = int(round(t_end_ms / dt))
        t = dt * np.arange(n)
        x = torch.full((1, n, *image.shape), float(background), dtype=image.dtype)
        x[:, torch.from_numpy(t >= t_onset_ms)] = image
        with torch.no_grad():
            out = model.run(x, record={a: "mean" for a in model.area_names})
        return t, {a: out.recordings[a].mean(-1)[0].double().numpy() for a in model.area_names}

    t_ref, ref = run(reference_dt)
    result = {"error": {}, "latency": {}, "order": {}}
    for dt in (reference_dt, *dts):
        t, r = (t_ref, ref) if dt == reference_dt else run(dt)
        if dt != reference_dt:
            stride = int(round(dt / reference_dt))
            result["error"][dt] = {a: float(np.abs(r[a] - ref[a][::stride]).max() / np.abs(ref[a]).max()) for a in r}
        result["latency"][dt] = {
            a: float(onset_latency(xr.DataArray(v, dims="time", coords={"time": t}), onset=t_onset_ms))
            for a, v in r.items()}
    areas = list(ref)
    result["order"] = {a: [float(np.log2(result["error"][d][a] / result["error"][d2][a]))
                           for d, d2 in zip(dts, dts[1:])] for a in areas}
    return result
