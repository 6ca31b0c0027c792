"""Constraints on optimised stimuli, applied as true (Euclidean) projections.

Stimuli are optimised as their contrast ``delta = x - background`` (rows ``(R, time, C, H, W)``
or ``(R, 1, C, H, W)`` for a static image). Three convex sets, each with an exact projection:

- **value range** ``lo <= delta <= hi`` elementwise (luminance ``value_range`` minus the
  background): clamping;
- **norm ball** ``||delta||_2 <= norm`` per row (over time, channels and space): radial scaling;
- **temporal smoothness**: ``delta`` lies, along time, in the span of the orthonormal cosine
  (DCT-II) components whose frequency ``k / (2 T dt)`` is at most ``cutoff_hz``
  (:func:`lowpass_basis`): a band-limited movie. The projection is ``B^T B`` along time.

With one active set the projection is its closed form. Range and norm together: the
projection is ``clamp(s * delta, lo, hi)`` for the largest ``s <= 1`` whose result lies in the
ball (the optimality conditions; ``s`` found by bisection, on the feasible side). With the
smoothness constraint among several, :meth:`Constraints.project` runs Dykstra's alternating
projections, which converge to the Euclidean projection onto the intersection, and ends with a
radial shrink toward the background (``delta -> s * delta``, ``s <= 1``) that makes the result
feasible to round-off: every set contains the background (``lo <= 0 <= hi``), is convex and is
closed under that shrink.

Example:
    >>> import torch
    >>> c = Constraints(norm=1.0, lo=-0.5, hi=0.5)
    >>> d = c.project(torch.tensor([[[[[2.0, 0.1]]]]]))
    >>> d.flatten().tolist(), c.violation(d) <= 1e-6
    ([0.5, 0.10000000149011612], True)
"""

from __future__ import annotations

import math

import torch

from dynvision.validation import check_int, check_number


def lowpass_basis(n_steps: int, dt_ms: float, cutoff_hz: float, device=None, dtype=None) -> torch.Tensor:
    """Orthonormal ``(K, n_steps)`` DCT-II rows with frequency ``k / (2 n dt)`` <= ``cutoff_hz``.

    Row 0 is the constant (mean over time); ``cutoff_hz = 0`` therefore allows static movies only.

    Example:
        >>> lowpass_basis(10, 2.0, 50.0).shape  # frequencies 0, 25, 50 Hz
        torch.Size([3, 10])
    """
    n = check_int("n_steps", n_steps, lo=1)
    dt_ms = check_number("dt_ms", dt_ms, lo=0, lo_open=True, unit="ms")
    cutoff_hz = check_number("temporal_cutoff_hz", cutoff_hz, lo=0, unit="Hz")
    k_max = min(n - 1, int(math.floor(cutoff_hz * 2 * n * dt_ms / 1000.0 + 1e-9)))
    t = torch.arange(n, dtype=torch.float64)
    rows = [torch.full((n,), 1 / math.sqrt(n), dtype=torch.float64)]
    rows += [math.sqrt(2 / n) * torch.cos(math.pi * k * (t + 0.5) / n) for k in range(1, k_max + 1)]
    return torch.stack(rows).to(device=device, dtype=dtype or torch.float32)


class Constraints:
    """The feasible set of stimulus contrasts (see the module docstring).

    Args:
        norm: Largest L2 norm of each row's contrast (``None``: no ball).
        lo: Smallest contrast (value range minimum minus background; ``None``: unbounded).
        hi: Largest contrast.
        basis: ``(K, T)`` orthonormal temporal basis (``None``: no smoothness constraint).
    """

    def __init__(self, norm: float | None = None, lo: float | None = None, hi: float | None = None,
                 basis: torch.Tensor | None = None):
        self.norm = check_number("norm", norm, lo=0, lo_open=True, allow_none=True)
        self.lo = check_number("value_range minimum - background", lo, hi=0, allow_none=True)
        self.hi = check_number("value_range maximum - background", hi, lo=0, allow_none=True)
        self.basis = basis

    @property
    def active(self) -> list[str]:
        """Names of the active sets, in projection order."""
        return [n for n, on in (("smooth", self.basis is not None), ("range", self.lo is not None or
                                self.hi is not None), ("norm", self.norm is not None)) if on]

    # the exact projections ------------------------------------------------------------------
    def _range(self, d: torch.Tensor) -> torch.Tensor:
        return d.clamp(self.lo, self.hi)

    def _ball(self, d: torch.Tensor) -> torch.Tensor:
        n = d.flatten(1).norm(dim=1).clamp_min(1e-30)
        return d * (self.norm / n).clamp(max=1.0).view(-1, *[1] * (d.ndim - 1))

    def _smooth(self, d: torch.Tensor) -> torch.Tensor:
        if d.shape[1] != self.basis.shape[1]:
            raise ValueError(f"the temporal basis covers {self.basis.shape[1]} steps, the stimulus {d.shape[1]}")
        b = self.basis.to(d)
        return torch.einsum("kt,rk...->rt...", b, torch.einsum("kt,rt...->rk...", b, d))

    def _sets(self):
        table = {"smooth": self._smooth, "range": self._range, "norm": self._ball}
        return [table[n] for n in self.active]

    # ----------------------------------------------------------------------------------------
    def project(self, delta: torch.Tensor, iterations: int = 200, tol: float = 1e-7) -> torch.Tensor:
        """The projection of ``delta`` (rows first) onto the feasible set."""
        sets = self._sets()
        if not sets:
            return delta
        if len(sets) == 1:
            return sets[0](delta)
        if self.basis is None:
            return self._range_and_ball(delta)
        x = delta
        increments = [torch.zeros_like(delta) for _ in sets]
        for _ in range(iterations):
            previous = x
            for i, project in enumerate(sets):
                z = project(x + increments[i])
                increments[i] = x + increments[i] - z
                x = z
            if float((x - previous).abs().max()) < tol:
                break
        return self._shrink(x)

    def _range_and_ball(self, d: torch.Tensor, iterations: int = 60) -> torch.Tensor:
        """Exact projection onto range and ball: ``clamp(s d)`` with the largest feasible ``s``."""
        shape = (-1, *[1] * (d.ndim - 1))
        inside = self._range(d).flatten(1).norm(dim=1) <= self.norm
        lo = torch.zeros(d.shape[0], dtype=d.dtype, device=d.device)
        hi = torch.ones_like(lo)
        for _ in range(iterations):
            mid = (lo + hi) / 2
            ok = self._range(d * mid.view(shape)).flatten(1).norm(dim=1) <= self.norm
            lo, hi = torch.where(ok, mid, lo), torch.where(ok, hi, mid)
        return self._range(d * torch.where(inside, torch.ones_like(lo), lo).view(shape))

    def _shrink(self, x: torch.Tensor) -> torch.Tensor:
        """Make ``x`` feasible to round-off by scaling each row toward the background."""
        if self.basis is not None:
            x = self._smooth(x)
        rows = x.flatten(1)
        scale = torch.ones(rows.shape[0], dtype=x.dtype, device=x.device)
        if self.norm is not None:
            scale = torch.minimum(scale, self.norm / rows.norm(dim=1).clamp_min(1e-30))
        if self.hi is not None:
            top = rows.amax(dim=1)
            scale = torch.where(top > self.hi, torch.minimum(scale, self.hi / top), scale)
        if self.lo is not None:
            bottom = rows.amin(dim=1)
            scale = torch.where(bottom < self.lo, torch.minimum(scale, self.lo / bottom), scale)
        return x * scale.view(-1, *[1] * (x.ndim - 1))

    def free_gradient(self, delta: torch.Tensor, grad: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
        """``grad`` without the components that push a pixel held at a bound of the range further out."""
        held = torch.zeros_like(grad, dtype=torch.bool)
        if self.hi is not None:
            held |= (delta >= self.hi - eps) & (grad > 0)
        if self.lo is not None:
            held |= (delta <= self.lo + eps) & (grad < 0)
        return grad.masked_fill(held, 0.0)

    def violation(self, delta: torch.Tensor) -> float:
        """The largest violation of any active constraint (0 when feasible)."""
        worst = 0.0
        if self.lo is not None:
            worst = max(worst, float((self.lo - delta).clamp_min(0).max()))
        if self.hi is not None:
            worst = max(worst, float((delta - self.hi).clamp_min(0).max()))
        if self.norm is not None:
            worst = max(worst, float((delta.flatten(1).norm(dim=1) - self.norm).clamp_min(0).max()))
        if self.basis is not None:
            worst = max(worst, float((delta - self._smooth(delta)).abs().max()))
        return worst


__all__ = ["Constraints", "lowpass_basis"]
