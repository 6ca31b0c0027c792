"""Adaptive gain really adapts: it falls under sustained input and recovers in blanks."""

import numpy as np
import pytest
import torch

import dynvision
from dynvision.layers.gain import AdaptiveGain
from dynvision.registry import UnknownNameError


def run_gain(values, strength=2.0, tau=50.0, dt=2.0):
    """The adapted signal at the end of each step (the trace follows the input held over it)."""
    g = AdaptiveGain(strength, tau, dt)
    trace = torch.zeros(1, dtype=torch.float64)
    out = []
    for v in values:
        y, trace = g.step(torch.tensor([float(v)], dtype=torch.float64), trace)
        out.append(float(y))
    return np.array(out)


def test_gain_falls_under_sustained_input_as_the_analytic_trace_says():
    y = run_gain([1.0] * 100)
    t = 2.0 * np.arange(1, 101)
    np.testing.assert_allclose(y, 1 / (1 + 2 * (1 - np.exp(-t / 50))), rtol=1e-12)
    assert np.all(np.diff(y) < 0)
    assert y[-1] == pytest.approx(1 / 3, rel=0.02)  # steady state: y = 1 / (1 + s * 1)


def test_gain_recovers_after_blank_and_a_new_stimulus_is_not_ignored():
    short = run_gain([1.0] * 100 + [0.0] * 5 + [1.0] * 5)
    long = run_gain([1.0] * 100 + [0.0] * 200 + [1.0] * 5)
    fresh = run_gain([1.0])[0]
    assert long[300] == pytest.approx(fresh, rel=0.01)  # fully recovered after 400 ms (8 time constants)
    # the trace after 200 ms on, 10 ms blank, then one 2 ms step back on
    trace = (1 - np.exp(-200 / 50)) * np.exp(-10 / 50)
    trace = 1 + (trace - 1) * np.exp(-2 / 50)
    assert short[105] == pytest.approx(1 / (1 + 2 * trace), rel=1e-9)
    assert short[99] < short[105] < long[300]  # partially recovered: a response, not ignored


def test_bad_parameters():
    with pytest.raises(ValueError, match="strength must be >= 0"):
        AdaptiveGain(-1.0)
    with pytest.raises(ValueError, match="tau must be >= 0"):
        AdaptiveGain(1.0, -1.0)


def test_instantaneous_pooled_gain_is_static_divisive_normalisation():
    g = AdaptiveGain(2.0, 0.0, 2.0, pool="channels")
    x = torch.tensor([[[[1.0]], [[-3.0]]]])  # two channels at one position: mean |x| = 2
    y, trace = g.step(x, torch.zeros(1, 1, 1, 1))
    assert torch.allclose(y, x / (1 + 2.0 * 2.0)) and float(trace) == 2.0


def test_model_input_gain_adapts_and_recovers():
    torch.manual_seed(0)
    model = dynvision.create_model("DyRCNNx2", n_classes=2, input_dims=(1, 1, 8, 8), width=0.25,
                                   recurrence_type="none", input_gain=3.0, tau_gain=40.0, tau=4.0)
    image = torch.rand(1, 1, 1, 8, 8)
    grey = torch.full_like(image, 0.5)

    def sequence(gap_steps):
        parts = [image.expand(1, 60, 1, 8, 8), grey.expand(1, gap_steps, 1, 8, 8), image.expand(1, 20, 1, 8, 8)]
        return torch.cat(parts, dim=1)

    with torch.no_grad():
        a = model.run(sequence(5), record={"V1": "mean"}).recordings["V1"].sum(-1)[0]
        b = model.run(sequence(200), record={"V1": "mean"}).recordings["V1"].sum(-1)[0]
    first_peak = float(a[:60].max())
    assert float(a[59]) < 0.8 * first_peak  # sustained response adapts
    second_short, second_long = float(a[65:].max()), float(b[260:].max())
    assert second_long > 0.95 * first_peak  # recovered after a long blank
    assert float(a[59]) < second_short < second_long  # a short blank: reduced but not ignored


def test_subtractive_gain_is_a_high_pass_with_an_offset_swing():
    g = AdaptiveGain(1.0, 20.0, 2.0, mode="subtractive")
    trace, out = torch.zeros(1), []
    for v in [1.0] * 100 + [0.0] * 20:
        y, trace = g.step(torch.tensor([v]), trace)
        out.append(float(y))
    out = np.array(out)
    assert out[0] == pytest.approx(np.exp(-2 / 20)) and abs(out[99]) < 1e-3  # sustained input cancelled
    assert out[100] == pytest.approx(-np.exp(-2 / 20), abs=1e-3)  # the offset swings the other way
    assert out[-1] > out[100]  # and relaxes back
    with pytest.raises(UnknownNameError, match="'multiplicative'.*'divisive', 'shunting', 'subtractive'"):
        AdaptiveGain(1.0, mode="multiplicative")
