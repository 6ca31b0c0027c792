"""The input stage of every model: the stimulus as the first area receives it.

Normalisation (grey -> 0), an optional front stage (a retina or a hexagonal lattice, run once
per distinct frame), then per step a delay, an optional adaptive gain and optional transient
(ON/OFF) channels. :class:`~dynvision.models.base.RecurrentModel` drives it.
"""

from __future__ import annotations

import torch
from torch import nn

from dynvision.conventions import BACKGROUND
from dynvision.layers.gain import AdaptiveGain
from dynvision.layers.retina import Retina


class InputStage(nn.Module):
    """Normalisation (grey -> 0), an optional retina, a delay, then an optional adaptive gain.

    Args:
        channels: Stimulus channels.
        mean: Luminance mapped to zero (the grey background by default).
        std: Luminance difference mapped to one.
        retina: Optional :class:`~dynvision.layers.retina.Retina`.
        gain: Optional :class:`~dynvision.layers.gain.AdaptiveGain` (stateful, per step).
        normalize: ``False`` passes the stimulus on unchanged (DynVision's models take their
            input as it comes; ``mean`` and ``std`` are then not used).
        delay_steps: Steps before a frame reaches the first area (the retina-to-V1 latency);
            the first area sees the grey background until then.
        transient: Optional subtractive :class:`~dynvision.layers.gain.AdaptiveGain`: the input is
            passed on twice, as it is (sustained channels) and minus a trace of itself
            (transient channels, a high-pass whose sign swings at offset: OFF responses).
    """

    def __init__(self, channels: int, mean: float = BACKGROUND, std: float = 0.25,
                 retina: Retina | None = None, gain: AdaptiveGain | None = None, normalize: bool = True,
                 delay_steps: int = 0, transient: AdaptiveGain | None = None):
        super().__init__()
        self.normalize = bool(normalize)
        self.register_buffer("mean", torch.full((1, channels, 1, 1), float(mean)), persistent=False)
        self.register_buffer("std", torch.full((1, channels, 1, 1), float(std)), persistent=False)
        self.retina, self.gain, self.delay_steps = retina, gain, int(delay_steps)
        self.transient = transient
        if transient is not None and transient.mode != "subtractive":
            raise ValueError("the transient channels need a subtractive AdaptiveGain (x minus a trace of x)")
        self.frame_channels = retina.out_channels if retina is not None else channels
        self.out_channels = self.frame_channels * (2 if transient is not None else 1)

    def frames(self, x: torch.Tensor, channels_last: bool = False) -> torch.Tensor:
        """The stateless part on all frames at once: (B, T, C, H, W) -> (T, B, C', H, W).

        Time comes first so that each step's frame is one contiguous block (in channels-last
        layout when the model uses it). A front stage (retina, hexagonal lattice) runs once per
        distinct frame: where consecutive frames are equal (a held stimulus, a grey interval)
        the steps share one result, and the return value is then a list of T (B, C', H, W)
        views rather than one tensor.
        """
        f = x.transpose(0, 1)
        t, b = f.shape[:2]
        index = None
        if self.retina is not None and t > 1 and f.device.type != "meta":  # meta: no values to compare
            # the front is stateless: run it once per distinct frame (a held stimulus is one frame)
            new = torch.ones(t, dtype=torch.bool, device=f.device)
            new[1:] = (f[1:] != f[:-1]).flatten(1).any(1)
            if not bool(new.all()):
                index = (torch.cumsum(new, 0) - 1).tolist()
                f = f[new]
        u = f.shape[0]
        f = f.reshape(u * b, *f.shape[2:])
        if channels_last:
            f = f.contiguous(memory_format=torch.channels_last)
        if self.normalize:
            f = torch.addcmul(-self.mean / self.std, f, 1.0 / self.std)  # (f - mean) / std in one pass
        if self.retina is not None:
            f = self.retina(f)
        f = f.view(u, b, *f.shape[1:]) if not channels_last else f.unflatten(0, (u, b))
        if index is not None:  # one view per step, no copies (gradients from repeated steps add up)
            return [f[i] for i in index]
        return f


__all__ = ["InputStage"]
