"""A bound on the gain of an area's recurrent loop, for guaranteed stable dynamics.

Within an area the rate dynamics relax toward ``phi(drive + R r)``. With a 1-Lipschitz
activation (ReLU) the map ``r -> phi(c + R r)`` is a contraction when the operator norm of the
recurrence ``R`` is below 1, so the area then has a single steady state that it approaches
from anywhere, whatever the weights learn. :class:`RecurrenceBound` estimates ``||R||`` by power
iteration on the recurrence module itself (any linear recurrence type: the adjoint comes from
autograd) and scales the recurrent term by ``min(1, bound / ||R||)``. With ``fixed=True`` (the
``recurrence_gain`` option) it scales by ``bound / ||R||``: the loop gain is set, and only the
connectivity pattern is learned, so recurrence types compare at equal gain.

The iteration vector is a persistent buffer (like ``torch.nn.utils.spectral_norm``): in
training a few iterations refine it at every forward pass; in evaluation the iteration runs to
convergence once for the current weights (cached until they change), so an evaluated model uses
its exact operator norm, deterministically.

Example:
    >>> import torch
    >>> from dynvision.layers.recurrence import make_recurrence
    >>> rec = make_recurrence("full", 4, 4, kernel_size=3, size=(6, 6))
    >>> with torch.no_grad():
    ...     _ = rec.conv.weight.fill_(1.0)   # a loop gain of about 36
    >>> bound = RecurrenceBound(rec, 0.9)
    >>> round((bound.scale() * bound.norm(iterations=100)).item(), 2)
    0.9
"""

from __future__ import annotations

import torch
from torch import nn


class RecurrenceBound(nn.Module):
    """Scale factor that keeps the operator norm of a recurrence at most ``bound``.

    Args:
        recurrence: The (linear) recurrence module, mapping (1, C, H, W) to (1, C, H, W).
        bound: The largest allowed gain (< 1 for a contraction).
        iterations: Power iterations per forward pass.
    """

    def __init__(self, recurrence: nn.Module, bound: float, iterations: int = 3, fixed: bool = False):
        super().__init__()
        if not 0 < bound:
            raise ValueError(f"recurrence_bound must be > 0, got {bound}")
        self.bound, self.iterations, self.fixed = float(bound), int(iterations), bool(fixed)
        self._recurrence = [recurrence]  # a list: not registered twice as a submodule
        c, size = recurrence.in_channels, recurrence.size
        if size is None or recurrence.in_channels != recurrence.out_channels:
            raise ValueError("recurrence_bound needs a recurrence at the output with a known size")
        u = torch.randn(1, c, *size, generator=torch.Generator().manual_seed(0))
        self.register_buffer("u", u / u.norm())
        with torch.no_grad():
            self.u.copy_(self._iterate(self.u, 30))

    @property
    def recurrence(self) -> nn.Module:
        return self._recurrence[0]

    def _linear(self, x: torch.Tensor) -> torch.Tensor:
        rec = self.recurrence
        return rec(x) - rec(torch.zeros_like(x))  # the linear part (drops any bias)

    def _iterate(self, u: torch.Tensor, n: int) -> torch.Tensor:
        for _ in range(n):
            with torch.enable_grad():
                z = u.detach().requires_grad_(True)
                v = self._linear(z)
                (u,) = torch.autograd.grad(v, z, v.detach())  # R^T R u
            u = u / u.norm().clamp_min(1e-12)
        return u.detach()

    def norm(self, iterations: int | None = None) -> torch.Tensor:
        """Estimated operator norm ``||R u||`` for the refined unit vector ``u`` (differentiable)."""
        dtype = next(self.recurrence.parameters()).dtype
        if not self.training and iterations is None:
            return self._converged_norm(dtype)
        u = self._iterate(self.u.to(dtype), self.iterations if iterations is None else iterations)
        if self.training:
            self.u.copy_(u)
        return self._linear(u).norm()

    def _converged_norm(self, dtype, tol: float = 1e-7, max_iterations: int = 2000) -> torch.Tensor:
        """The operator norm by power iteration run to convergence, cached for unchanged weights."""
        key = tuple((p.data_ptr(), p._version) for p in self.recurrence.parameters()) + (dtype,)
        cached = self.__dict__.get("_eval_norm")
        if cached is not None and cached[0] == key:
            return cached[1]
        u, last = self.u.to(dtype), None
        with torch.no_grad():
            for _ in range(0, max_iterations, 10):
                u = self._iterate(u, 10)
                value = float(self._linear(u).norm())
                if last is not None and abs(value - last) <= tol * max(value, 1e-12):
                    break
                last = value
        self.u.copy_(u.to(self.u.dtype))
        norm = self._linear(u).norm().detach()
        self.__dict__["_eval_norm"] = (key, norm)
        return norm

    def scale(self) -> torch.Tensor:
        """``min(1, bound / ||R||)`` (or ``bound / ||R||`` when the gain is ``fixed``): the factor
        applied to the recurrent term."""
        ratio = self.bound / self.norm().clamp_min(1e-12)
        return ratio if self.fixed else torch.clamp(ratio, max=1.0)

    def extra_repr(self) -> str:
        return f"bound={self.bound}, fixed={self.fixed}, iterations={self.iterations}"
