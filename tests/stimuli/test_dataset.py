"""SequenceDataset and the Moving-MNIST loader: resampling arithmetic, parameters, augmentation, use."""

import numpy as np
import pytest
import torch
import xarray as xr

import dynvision
from dynvision.stimuli import (
    Flip,
    Jitter,
    Noise,
    Rotate,
    SequenceDataset,
    load_moving_mnist,
    moving_digits,
    sequence_stimulus,
    validate_stimulus,
)
from dynvision.validation import InvalidValueError


def coded_frames(n=2, t=5, size=4):
    """Frames whose every pixel says which (sequence, frame) it is: value = (10 n + t) / 255."""
    codes = (10 * np.arange(n)[:, None] + np.arange(t)[None, :]).astype(np.uint8)
    return np.broadcast_to(codes[:, :, None, None], (n, t, size, size)).copy()


@pytest.mark.parametrize("layout", ["TNHW", "NTHW"])
def test_moving_mnist_loader_reads_both_layouts(tmp_path, layout):
    frames = coded_frames(n=3, t=5)  # (N, T, H, W)
    path = tmp_path / "mm.npy"
    np.save(path, frames.transpose(1, 0, 2, 3) if layout == "TNHW" else frames)
    out = load_moving_mnist(path, layout=layout)
    assert out.dims == ("sequence", "frame", "channel", "y", "x") and out.shape == (3, 5, 1, 4, 4)
    assert out.dtype == np.float32 and out.attrs["source"] == "moving_mnist"
    np.testing.assert_allclose(out.values[:, :, 0], frames / 255.0, rtol=1e-6)
    assert out.sequence.values.tolist() == [0, 1, 2]
    two = load_moving_mnist(path, layout=layout, n=2, framerate_hz=24)
    assert two.shape[0] == 2 and two.attrs["framerate_hz"] == 24.0


def test_moving_mnist_default_layout_is_the_public_files(tmp_path):
    path = tmp_path / "mnist_test_seq.npy"
    np.save(path, np.zeros((20, 3, 8, 8), np.uint8))  # (T, N, H, W) as published
    assert load_moving_mnist(path).shape == (3, 20, 1, 8, 8)


def test_moving_mnist_errors(tmp_path):
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((2, 3, 4), np.uint8))
    with pytest.raises(InvalidValueError, match=r"a 4-D array \(TNHW\), found shape \(2, 3, 4\)"):
        load_moving_mnist(bad)
    np.save(bad, np.full((2, 3, 4, 4), 2.0))
    with pytest.raises(InvalidValueError, match=r"uint8 values, or floats in \[0, 1\]"):
        load_moving_mnist(bad)
    np.save(bad, np.zeros((2, 3, 4, 4), np.int16))
    with pytest.raises(InvalidValueError, match=r"uint8 or float frames, found int16"):
        load_moving_mnist(bad)
    np.save(bad, np.zeros((2, 3, 4, 4), np.uint8))
    with pytest.raises(InvalidValueError, match=r"n=4 is invalid: expected a whole number >= 1 and <= 3"):
        load_moving_mnist(bad, n=4)
    with pytest.raises(KeyError, match=r"unknown Moving-MNIST layout 'NHWT'"):
        load_moving_mnist(bad, layout="NHWT")


@pytest.mark.parametrize("framerate, dt, steps", [
    (24, 10, 21),   # 5 frames of 41.67 ms = 208.3 ms -> ceil(20.83) steps
    (100, 10, 5),   # dt = one frame: the exact sequence
    (100, 2.5, 20),
    (50, 4, 25),
])
def test_resampling_arithmetic(framerate, dt, steps):
    frames = coded_frames(n=2, t=5)
    ds = SequenceDataset(frames, framerate_hz=framerate, dt_ms=dt, t_pre_ms=2 * dt, t_post_ms=3 * dt)
    x, target = ds[1]
    assert tuple(x.shape) == (2 + steps + 3, 1, 4, 4) and int(target) == 1
    shown = np.rint(x[:, 0, 0, 0].numpy() * 255).astype(int)
    assert np.allclose(x[:2].numpy(), 0.5) and np.allclose(x[-3:].numpy(), 0.5)  # grey padding
    onsets = np.arange(5) * 1000.0 / framerate
    for k, value in enumerate(shown[2:-3]):  # step k shows the latest frame with onset <= k dt
        assert value - 10 == np.nonzero(onsets <= k * dt + 1e-9)[0].max()


def test_stimulus_for_simulation_carries_parameters(tiny_model):
    frames = moving_digits(3, n_frames=4, size=16, n_digits=1, seed=0)
    ds = SequenceDataset(frames, framerate_hz=250, dt_ms=2, t_pre_ms=2, params={"speed": [1.0, 2.0, 3.0]},
                         augment=[Flip(p_horizontal=0.5)], seed=3)
    stim = validate_stimulus(ds.stimulus())
    assert stim.dims == ("sample", "time", "channel", "y", "x") and stim.sizes["time"] == 1 + 8
    assert stim.speed.values.tolist() == [1.0, 2.0, 3.0] and stim.label.values.tolist() == frames.label.values.tolist()
    assert stim.sequence.values.tolist() == [0, 1, 2] and stim.flip_horizontal.dtype == bool
    assert float(stim.stim_onset[0]) == 2.0 and float(stim.stim_offset[0]) == 18.0
    for i in range(3):
        np.testing.assert_array_equal(stim.values[i], ds[i][0].numpy())  # one implementation for both
    tree = dynvision.Simulation(tiny_model, progress=False).run(stim.isel(time=slice(0, 6)))
    assert tree["V1"]["activity"].speed.values.tolist() == [1.0, 2.0, 3.0]
    assert int(ds[0][1]) == int(frames.label[0])  # the label is the default target


def test_training_batches_run_through_a_model(tiny_model):
    ds = SequenceDataset(moving_digits(4, n_frames=3, size=16, n_digits=1), framerate_hz=500, dt_ms=2, t_pre_ms=0)
    x, y = next(iter(torch.utils.data.DataLoader(ds, batch_size=4)))
    assert tuple(x.shape) == (4, 3, 1, 16, 16) and y.dtype == torch.int64
    logits = tiny_model(x)
    loss = torch.nn.functional.cross_entropy(logits[:, -1], y % 3)
    loss.backward()
    assert all(p.grad is not None for p in tiny_model.classifier.parameters())


def test_a_stimulus_source_is_resampled_and_a_framerate_for_it_is_an_error():
    stim = sequence_stimulus(coded_frames(1, 3) / 255.0, framerate_hz=250, dt_ms=4, t_pre_ms=0, t_post_ms=0)
    ds = SequenceDataset(stim, dt_ms=2, t_post_ms=2)
    shown = np.rint(ds[0][0][:, 0, 0, 0].numpy() * 255).round(3).tolist()
    assert shown[:6] == [0, 0, 1, 1, 2, 2] and ds[0][0].shape[0] == 7
    with pytest.raises(InvalidValueError, match=r"framerate_hz=100 is invalid: expected None for a stimulus.*ignored"):
        SequenceDataset(stim, dt_ms=2, framerate_hz=100)


def test_generator_with_a_parameter_table():
    def grating(period, phase=0.0):
        x = np.arange(8)
        t = np.arange(3)[:, None, None]
        return 0.5 + 0.5 * np.sin(2 * np.pi * (x[None, None, :] / period + phase + t / 4)).repeat(8, 1)

    ds = SequenceDataset(grating, params={"period": [4.0, 8.0], "phase": [0.0, 0.25]}, framerate_hz=100, dt_ms=10,
                         target="period")
    x, target = ds[1]
    np.testing.assert_allclose(x.numpy()[:, 0], grating(8.0, 0.25), atol=1e-6)
    assert float(target) == 8.0 and ds.stimulus().period.values.tolist() == [4.0, 8.0]


def test_augmentation_is_seeded_per_item_and_epoch():
    frames = np.random.default_rng(0).random((4, 3, 1, 8, 8)).astype(np.float32)
    make = lambda seed: SequenceDataset(frames, framerate_hz=100, dt_ms=10, seed=seed,  # noqa: E731
                                        augment=[Flip(0.5, 0.5), Rotate(), Jitter(2), Noise(0.05)])
    a, b = make(0), make(0)
    for i in range(4):
        torch.testing.assert_close(a[i][0], a[i][0])
        torch.testing.assert_close(a[i][0], b[i][0])
    assert not torch.equal(a[0][0], make(1)[0][0])
    before = a[0][0]
    a.set_epoch(1)
    assert not torch.equal(before, a[0][0])
    params = a.augmentation_params(2)
    assert set(params) == {"flip_horizontal", "flip_vertical", "rotation_deg", "shift_y", "shift_x", "noise_seed"}
    assert float(a[2][0].min()) >= 0 and float(a[2][0].max()) <= 1


def test_each_augmentation_does_what_it_says():
    f = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4) / 16
    assert np.array_equal(Flip().apply(f, {"flip_horizontal": True, "flip_vertical": False}), f[..., ::-1])
    assert np.array_equal(Rotate().apply(f, {"rotation_deg": 90.0}), np.rot90(f, 1, axes=(-2, -1)))
    shifted = Jitter(fill=0.5).apply(f, {"shift_y": 1, "shift_x": -1})
    assert np.array_equal(shifted[..., 1:, :3], f[..., :3, 1:]) and np.all(shifted[..., 0, :] == 0.5)
    assert np.all(shifted[..., :, 3] == 0.5)
    noisy = Noise(0.1).apply(np.full((2, 1, 32, 32), 0.5), {"noise_seed": 1})
    assert abs(noisy.std() - 0.1) < 0.01 and not np.array_equal(noisy[0], noisy[1])
    custom = SequenceDataset(f[None], framerate_hz=100, dt_ms=10, augment=[lambda x, rng: 1 - x])
    np.testing.assert_allclose(custom[0][0].numpy(), 1 - f)


def test_nothing_is_silently_ignored():
    frames = coded_frames(1, 4) / 255.0
    with pytest.raises(InvalidValueError, match=r"framerate_hz=None is invalid: expected the frames' native rate"):
        SequenceDataset(frames, dt_ms=2)
    with pytest.raises(InvalidValueError, match=r"dt_ms=40(.0)? is invalid.*2 of 4 frames would never be shown"):
        SequenceDataset(frames, framerate_hz=50, dt_ms=40)
    assert SequenceDataset(frames, framerate_hz=50, dt_ms=40, drop_frames=True)[0][0].shape[0] == 2
    stamped = xr.DataArray(frames[:, :, None], dims=("sequence", "frame", "channel", "y", "x"),
                           attrs={"framerate_hz": 24.0})
    assert SequenceDataset(stamped, dt_ms=2).framerate_hz == 24.0
    with pytest.raises(InvalidValueError, match=r"framerate_hz=25 is invalid: expected the frames' own rate 24 Hz"):
        SequenceDataset(stamped, dt_ms=2, framerate_hz=25)
    with pytest.raises(InvalidValueError, match=r"params=.*one row per sequence \(1\)"):
        SequenceDataset(frames, framerate_hz=50, dt_ms=2, params={"a": [1, 2]})
    with pytest.raises(InvalidValueError, match=r"target='speed' is invalid"):
        SequenceDataset(frames, framerate_hz=50, dt_ms=2, target="speed")
    with pytest.raises(ValueError, match=r"t_pre_ms=3 is not a multiple of dt_ms=2"):
        SequenceDataset(frames, framerate_hz=50, dt_ms=2, t_pre_ms=3)
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'framerate'"):
        SequenceDataset(frames, framerate=50, dt_ms=2)


@pytest.mark.parametrize("step, dt", [(4.0, 2.0), (10.0, 4.0), (1000 / 24, 2.0), (3.0, 2.0)])
def test_the_one_resampler_agrees_with_the_simulations(step, dt):
    """Simulation.as_stimulus still resamples by itself; it should call hold_resample (same rule, same result)."""
    from dynvision.simulation import as_stimulus
    from dynvision.stimuli import hold_resample

    n = 7
    stim = xr.DataArray(np.random.default_rng(0).random((2, n, 1, 3, 3)), dims=("sample", "time", "channel", "y", "x"),
                        coords={"time": ("time", np.arange(n) * step, {"units": "ms"})})
    ours, theirs = hold_resample(stim, dt), as_stimulus(stim, dt)
    np.testing.assert_array_equal(ours.values, theirs.values)
    np.testing.assert_allclose(ours.time.values, theirs.time.values)
