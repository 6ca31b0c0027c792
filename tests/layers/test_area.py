"""Physics of one area: analytic responses, dynamics forms, delays, fused convolutions."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from dynvision.layers.activation import make_activation
from dynvision.layers.area import DynamicArea
from dynvision.layers.operations import default_operations


def identity_area(tau=5.0, dt=1.0, integrator="exponential", form="rate", activation="identity",
                  tff=0.0, recurrence="none", trc=None, operations=None):
    conv = nn.Conv2d(1, 1, 1, bias=False)
    nn.init.ones_(conv.weight)
    return DynamicArea("A", conv, in_channels=1, out_channels=1, in_size=(1, 1), size=(1, 1),
                       operations=operations or default_operations(form), recurrence_type=recurrence,
                       dt=dt, tau=tau, tff=tff, trc=trc, integrator=integrator, dynamics=form,
                       activation=make_activation(activation))


@torch.no_grad()
def drive(area, values):
    area.prepare()
    state = area.initial_state(1)
    recorded, emitted = [], []
    for t, u in enumerate(values):
        out = area.step(torch.full((1, 1, 1, 1), float(u)), t, state)
        recorded.append(float(state.recorded))
        emitted.append(float(out))
    return np.array(recorded), np.array(emitted)


@pytest.mark.parametrize("dt", [0.5, 1.0, 2.0, 4.0])
def test_linear_unit_follows_analytic_exponential(dt):
    tau = 5.0
    r, _ = drive(identity_area(tau, dt), [1.0] * int(40 / dt))
    t = dt * np.arange(1, len(r) + 1)
    np.testing.assert_allclose(r, 1 - np.exp(-t / tau), rtol=0.01)


def test_rate_form_applies_phi_to_the_drive():
    # tau dr/dt = -r + relu(u): a negative drive lets r decay to 0 and never below
    r, _ = drive(identity_area(form="rate", activation="relu"), [1.0] * 10 + [-1.0] * 40)
    assert r[9] > 0.8 and r.min() >= 0 and r[-1] < 1e-3


def test_dynvision_form_rectifies_the_state_every_step():
    # r <- relu(r + dt/tau (u - r)) with Euler: exactly the DynVision update
    area = identity_area(form="dynvision", activation="relu", integrator="euler", dt=1.0, tau=5.0)
    u = [1.0] * 5 + [-3.0] * 5 + [1.0] * 5
    r, _ = drive(area, u)
    expected, x = [], 0.0
    for ui in u:
        x = max(0.0, x + (1.0 / 5.0) * (ui - x))
        expected.append(x)
    np.testing.assert_allclose(r, expected, atol=1e-6)


def test_voltage_form_keeps_the_unrectified_state():
    area = identity_area(form="voltage", activation="relu", integrator="euler", dt=1.0, tau=5.0)
    u = [1.0] * 5 + [-3.0] * 5 + [1.0] * 5
    _, out = drive(area, u)
    v, expected = 0.0, []
    for ui in u:
        v = v + 0.2 * (ui - v)
        expected.append(max(0.0, v))
    np.testing.assert_allclose(out, expected, atol=1e-6)
    # and it differs from the dynvision form once the state went negative
    r, _ = drive(identity_area(form="dynvision", activation="relu", integrator="euler", dt=1.0), u)
    assert not np.allclose(r, expected)


@pytest.mark.parametrize("steps", [0, 1, 3])
def test_feedforward_delay_shifts_output_by_exactly_that_many_steps(steps):
    dt = 2.0
    u = [0.0] * 3 + [1.0] * 10
    _, undelayed = drive(identity_area(dt=dt), u)
    _, delayed = drive(identity_area(dt=dt, tff=steps * dt), u)
    np.testing.assert_allclose(delayed[steps:], undelayed[: len(u) - steps])
    assert np.all(delayed[: 3 + steps] == 0) and delayed[3 + steps] > 0


def test_recurrent_delay_sets_when_recurrence_first_acts():
    dt = 1.0
    for trc in (1.0, 3.0):
        area = identity_area(dt=dt, recurrence="self", trc=trc)
        with torch.no_grad():
            area.recurrence.weight.fill_(0.5)
        plain = identity_area(dt=dt)
        u = [1.0] * 8
        r, _ = drive(area, u)
        p, _ = drive(plain, u)
        first = int(np.argmax(~np.isclose(r, p)))
        assert first == int(trc / dt)  # r(t) sees r(t - trc): nonzero from step trc/dt on


def test_fused_convolution_equals_separate_convolutions():
    torch.manual_seed(0)
    kw = dict(in_channels=3, out_channels=5, in_size=(8, 8), size=(8, 8), recurrence_type="full", trc=2.0, dt=2.0,
              operations=default_operations("rate"))
    conv = nn.Conv2d(3, 5, 3, padding=1)
    fused = DynamicArea("A", conv, **kw)
    fused.set_stimulus_driven(False)  # (an area reading a stimulus reuses its input's convolution instead)
    assert fused._target_ops == [DynamicArea._op_conv_recurrence_fused_relu]
    separate = DynamicArea("B", nn.Conv2d(3, 5, 3, padding=1), **kw)
    separate.load_state_dict(fused.state_dict())
    separate.set_stimulus_driven(False)
    separate._target_ops = [DynamicArea._op_conv, DynamicArea._op_recurrence, DynamicArea._op_nonlinearity]
    x = torch.randn(2, 3, 8, 8)
    for grad in (True, False):  # the plain fused convolution (training) and oneDNN's (inference)
        with torch.set_grad_enabled(grad):
            for area in (fused, separate):
                area.prepare()
            s1, s2 = fused.initial_state(2), separate.initial_state(2)
            for t in range(5):
                a, b = fused.step(x, t, s1), separate.step(x, t, s2)
                torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def plain_twin(area, **kw):
    """The same area (same weights) running its operations one by one, without oneDNN fusion."""
    twin = DynamicArea(area.name, nn.Conv2d(area.in_channels, area.out_channels, area.conv.kernel_size,
                                            stride=area.conv.stride, padding=area.conv.padding), **kw)
    twin.fuse = False
    twin.load_state_dict(area.state_dict())
    twin.set_stimulus_driven(area.stimulus_driven)
    return twin


@pytest.mark.parametrize("case", ["cat", "stride", "image", "no-recurrence", "silent", "channels-last", "bf16"])
def test_convolution_with_fused_addition_and_relu_gives_the_plain_operations_result(case, monkeypatch):
    """At inference on the CPU, ``conv (+ recurrence) -> ReLU`` runs as one oneDNN convolution with
    post-operations; it must compute what the operations compute one by one, and it must run."""
    from dynvision.layers import onednn

    if case == "bf16" and not onednn.BF16:
        pytest.skip("this CPU has no oneDNN bf16 kernels")
    torch.manual_seed(1)
    cin, stride, size, driven = {"image": (3, 1, 8, True), "stride": (6, 2, 4, False)}.get(case, (6, 1, 8, False))
    kw = dict(in_channels=cin, out_channels=5, in_size=(8, 8), size=(size, size), trc=2.0, dt=2.0,
              recurrence_type="none" if case == "no-recurrence" else "full", operations=default_operations("rate"),
              delay_fill="silent" if case == "silent" else "rest")
    area = DynamicArea("A", nn.Conv2d(cin, 5, 3, stride=stride, padding=1), **kw)
    with torch.no_grad():
        area.conv.bias.fill_(-0.2)  # some units below threshold: the ReLU matters
        if area.has_recurrence:
            area.recurrence.conv.weight.mul_(3.0)
    area.set_stimulus_driven(driven)
    expected_op = {"cat": DynamicArea._op_conv_recurrence_fused_relu, "no-recurrence": DynamicArea._op_conv_relu,
                   "image": DynamicArea._op_conv_recurrence_relu, "stride": DynamicArea._op_conv_recurrence_relu}
    assert expected_op.get(case, DynamicArea._op_conv_recurrence_fused_relu) in area._target_ops
    twin = plain_twin(area, **kw)
    dtype = torch.bfloat16 if case == "bf16" else torch.float32
    fmt = torch.channels_last if case in ("channels-last", "bf16") else torch.contiguous_format
    if dtype != torch.float32:
        area.to(dtype), twin.to(dtype)
    ready = []
    real = onednn.ready
    monkeypatch.setattr(onednn, "ready", lambda *a: ready.append(real(*a)) or ready[-1])
    frames = [torch.randn(2, cin, 8, 8).to(dtype).contiguous(memory_format=fmt) for _ in range(6)]
    with torch.no_grad():
        outs = []
        for a in (area, twin):
            a.prepare()
            st = a.initial_state(2, dtype=dtype, memory_format=fmt)
            outs.append([a.step(x, t, st) for t, x in enumerate(frames)])
    assert ready and all(ready), "the fused convolution did not run"
    tol = dict(rtol=2e-2, atol=2e-2) if dtype == torch.bfloat16 else dict(rtol=1e-5, atol=1e-6)
    for a, b in zip(*outs):
        if a is None or b is None:
            assert a is None and b is None
        else:
            assert (b > 0).any() and (b == 0).any()
            torch.testing.assert_close(a.float(), b.float(), **tol)


def test_fused_relu_steps_aside_for_gradients_autocast_and_costly_inputs():
    """Training, autocast and dispatch modes run the plain operations (the fused convolution has
    no gradient, would bypass autocast's precision, and FLOP counters do not know it); an area that evaluates its target twice per step from a
    many-channel input keeps convolving that input once."""
    from dynvision.layers import onednn

    x = torch.randn(1, 4, 5, 5)
    w = torch.randn(3, 4, 3, 3, requires_grad=True)
    assert onednn.ready(x, w) is False  # gradients wanted
    with torch.no_grad():
        assert onednn.ready(x, w) is onednn.AVAILABLE
        with torch.autocast("cpu", dtype=torch.bfloat16):
            assert onednn.ready(x, w) is False
        assert onednn.ready(x.double(), w.double()) is False
        from torch.utils.flop_counter import FlopCounterMode

        with FlopCounterMode(display=False):  # a dispatch mode sees the plain operations (FLOPs counted)
            assert onednn.ready(x, w) is False
    kw = dict(in_channels=8, out_channels=5, in_size=(8, 8), size=(8, 8), trc=2.0, dt=2.0, recurrence_type="full",
              operations=default_operations("rate"))
    driven = DynamicArea("A", nn.Conv2d(8, 5, 3, padding=1), **kw)  # stimulus-driven, etd2, 8 channels
    assert driven._target_ops[:2] == [DynamicArea._op_conv, DynamicArea._op_recurrence]
    area = DynamicArea("A", nn.Conv2d(3, 5, 3, padding=1), **dict(kw, in_channels=3))
    area.prepare()
    st = area.initial_state(1)
    out = area.step(torch.randn(1, 3, 8, 8), 0, st)
    out.sum().backward()  # the plain path under autograd
    assert area.conv.weight.grad is not None and area.conv.weight.grad.abs().sum() > 0


def test_trc_zero_with_recurrence_is_an_error():
    with pytest.raises(ValueError, match=r"trc_ms=0 is shorter than 1 step"):
        identity_area(recurrence="self", trc=0.0)


def test_learned_tau_stays_positive_and_gets_gradients():
    conv = nn.Conv2d(1, 2, 1)
    area = DynamicArea("A", conv, in_channels=1, out_channels=2, in_size=(2, 2), size=(2, 2),
                       operations=default_operations("rate"), recurrence_type="none", tau=5.0, train_tau=True)
    area.prepare()
    state = area.initial_state(1)
    out = area.step(torch.ones(1, 1, 2, 2), 0, state)
    out.sum().backward()
    assert area.log_tau.grad is not None
    assert math.isclose(float(area.tau.detach()), 5.0, rel_tol=1e-6)


# --- delay_fill: what a delayed read gives before its source first emitted --------------------
def biased_area(fill, trc=1.0, bias=0.5):
    """A 1-unit area with a self recurrence whose only drive is its recurrent bias."""
    conv = nn.Conv2d(1, 1, 1, bias=False)
    nn.init.zeros_(conv.weight)
    area = DynamicArea("A", conv, in_channels=1, out_channels=1, in_size=(1, 1), size=(1, 1),
                       operations=default_operations("dynvision"), recurrence_type="self", recurrence_bias=True,
                       dt=1.0, tau=4.0, trc=trc, dynamics="dynvision", activation=make_activation("relu"),
                       delay_fill=fill)
    with torch.no_grad():
        area.recurrence.weight.zero_()
        area.recurrence.bias.fill_(bias)
    return area


@pytest.mark.parametrize("trc", [1.0, 3.0])
def test_silent_fill_leaves_the_recurrent_bias_out_until_the_first_read_of_a_real_output(trc):
    # r <- relu(r + dt/tau (b - r)) once the recurrence reads a real output (from step trc/dt on);
    # before that its term is absent (DynVision): r stays 0. With "rest" it reads the zeros at once.
    a, b, n = 1.0 / 4.0, 0.5, 8
    r_silent, _ = drive(biased_area("silent", trc, b), [0.0] * n)
    r_rest, _ = drive(biased_area("rest", trc, b), [0.0] * n)
    first = int(trc)
    expected_rest = [b * (1 - (1 - a) ** (k + 1)) for k in range(n)]
    expected_silent = [0.0] * first + [b * (1 - (1 - a) ** (k + 1)) for k in range(n - first)]
    np.testing.assert_allclose(r_rest, expected_rest, rtol=1e-6)
    np.testing.assert_allclose(r_silent, expected_silent, rtol=1e-6, atol=0)


def test_silent_area_without_input_stays_and_emits_nothing():
    area = biased_area("silent")
    area.prepare()
    state = area.initial_state(1)
    with torch.no_grad():
        out = area.step(None, 0, state)  # no input, no recurrent output yet: no term at all
    assert out is None and state.history.read(1, 1) is None
    assert float(state.v) == 0.0 and float(state.recorded) == 0.0
    with pytest.raises(ValueError, match="unknown delay_fill 'hold'; valid choices: 'rest', 'silent'"):
        biased_area("hold")


def shunted_area(strength, tau_pool, dt, integrator="etd2", tau=5.0):
    from dynvision.layers.gain import AdaptiveGain

    area = identity_area(tau=tau, dt=dt, integrator=integrator)
    area.normalize = AdaptiveGain(strength, tau_pool, dt, "shunting", pool="channels")
    return DynamicArea("A", area.conv, in_channels=1, out_channels=1, in_size=(1, 1), size=(1, 1),
                       operations=default_operations("rate"), recurrence_type="none", dt=dt, tau=tau,
                       integrator=integrator, activation=make_activation("identity"), normalize=area.normalize)


@pytest.mark.parametrize("integrator", ["etd2", "exponential"])
def test_shunting_normalisation_raises_the_leak_analytically(integrator):
    """tau dr/dt = -(1 + s |u|) r + u with an instantaneous pool: r = u/c (1 - exp(-c t/tau)), c = 1 + s|u|;
    the steady state is the divisive one and a stronger input is answered sooner."""
    s, tau, dt = 2.0, 5.0, 1.0
    half = {}
    for u in (0.2, 2.0):
        r, _ = drive(shunted_area(s, 0.0, dt, integrator, tau), [u] * 40)
        t = dt * np.arange(1, 41)
        c = 1 + s * u
        np.testing.assert_allclose(r, u / c * (1 - np.exp(-c * t / tau)), rtol=1e-5)
        half[u] = tau * math.log(2) / c  # the time to half the steady state
    assert half[2.0] < 0.5 * half[0.2]


def test_shunting_with_a_slow_pool_matches_an_independent_solution_at_second_order():
    """The coupled ODEs tau dr/dt = -(1 + s a) r + u(t), tau_a da/dt = -a + |u(t)| for a smooth u,
    integrated here by a fine Runge-Kutta scheme: etd2's error falls ~4x per halving of dt."""
    s, tau, tau_a, t_end = 3.0, 5.0, 8.0, 40.0

    def u(t):
        return 1.0 + 0.8 * np.sin(t / 6.0)

    def rhs(t, y):
        r, a = y
        return np.array([(-(1 + s * a) * r + u(t)) / tau, (-a + abs(u(t))) / tau_a])

    h, y, ref = 0.005, np.zeros(2), {}
    for k in range(int(t_end / h)):
        t = k * h
        k1 = rhs(t, y)
        k2 = rhs(t + h / 2, y + h / 2 * k1)
        k3 = rhs(t + h / 2, y + h / 2 * k2)
        k4 = rhs(t + h, y + h * k3)
        y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        ref[round(t + h, 6)] = y[0]
    errors = []
    for dt in (2.0, 1.0, 0.5):
        area = shunted_area(s, tau_a, dt, "etd2", tau).double()
        area.prepare()
        state = area.initial_state(1, dtype=torch.float64)
        err = 0.0
        with torch.no_grad():
            for k in range(int(t_end / dt)):
                # the drive at the end of step k (t = (k+1) dt) and, for etd2, at its start
                x1 = torch.full((1, 1, 1, 1), u((k + 1) * dt), dtype=torch.float64)
                x0 = torch.full((1, 1, 1, 1), u(k * dt), dtype=torch.float64)
                area.step(x1, k, state, start=(x0, None, None))
                err = max(err, abs(float(state.v) - ref[round((k + 1) * dt, 6)]))
        errors.append(err)
    orders = [math.log2(errors[i] / errors[i + 1]) for i in range(2)]
    assert min(orders) >= 1.8, (errors, orders)
    peak = max(ref.values())
    assert errors[1] < 0.02 * peak  # at dt = 1 ms (c dt / tau up to 2.4 here: stiff at 2 ms)


def test_shunting_needs_a_leaky_unit():
    from dynvision.layers.gain import AdaptiveGain

    conv = nn.Conv2d(1, 1, 1, bias=False)
    with pytest.raises(ValueError, match="shunting normalize.*'dynvision' form"):
        DynamicArea("A", conv, in_channels=1, out_channels=1, in_size=(1, 1), size=(1, 1),
                    operations=default_operations("dynvision"), recurrence_type="none", dynamics="dynvision",
                    normalize=AdaptiveGain(1.0, 0.0, 2.0, "shunting", pool="channels"))
    with pytest.raises(ValueError, match="normalization_mode.*'divisive', 'shunting'"):
        import dynvision

        dynvision.create_model("DyRCNNx2", n_classes=2, input_dims=(2, 1, 8, 8), normalization=1.0,
                               normalization_mode="conductance")
