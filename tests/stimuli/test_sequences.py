"""Run-time sequences, the Moving-MNIST loader and sample-and-hold resampling to dt."""

import numpy as np
import pytest

from dynvision.registry import UnknownNameError
from dynvision.stimuli import (
    frame_indices,
    make_sequences,
    moving_digits,
    random_walk_of_blocks,
    sequence_stimulus,
    validate_stimulus,
)
from dynvision.stimuli.sequences import FRAME_DIMS


@pytest.mark.parametrize("name", ["moving_digits", "blocks"])
def test_sequence_schema_and_seed(name):
    a = make_sequences(name, 2, n_frames=5, size=12, channels=3, seed=1)
    assert a.dims == FRAME_DIMS and a.shape == (2, 5, 3, 12, 12) and a.dtype == np.float32
    assert 0 <= float(a.min()) and float(a.max()) <= 1
    np.testing.assert_array_equal(
        a.values, make_sequences(name, 2, n_frames=5, size=12, channels=3, seed=1).values
    )
    assert not np.array_equal(
        a.values, make_sequences(name, 2, n_frames=5, size=12, channels=3, seed=2).values
    )
    assert not np.array_equal(a.values[:, 0], a.values[:, -1])  # something moves


def test_moving_digits_move_and_keep_their_ink():
    f = moving_digits(1, n_frames=6, size=16, n_digits=1, digit_size=8, speed=2.0, seed=0)
    ink = f.values[0, :, 0].sum(axis=(1, 2))
    np.testing.assert_allclose(ink, ink[0], rtol=1e-6)  # one digit, fully inside the frame
    ys, xs = np.nonzero(f.values[0, 0, 0] > 0.5), np.nonzero(f.values[0, -1, 0] > 0.5)
    assert ys[0].size and (ys[0].mean() != xs[0].mean() or ys[1].mean() != xs[1].mean())
    assert f.label.dims == ("sequence",) and f.digits.values[0] == str(int(f.label[0]))


def test_blocks_walk_on_grey():
    f = random_walk_of_blocks(1, n_frames=4, size=8, block_size=4, n_blocks=1, seed=0)
    for frame in f.values[0, :, 0]:
        assert (frame != 0.5).sum() == 16  # one 4x4 block, always inside (wrapping walk)


def test_make_sequences_errors():
    with pytest.raises(
        UnknownNameError, match=r"unknown sequence source 'mnist'.*'blocks', 'moving_digits'"
    ):
        make_sequences("mnist")
    with pytest.raises(UnknownNameError, match=r"'frames'.*valid keywords"):
        make_sequences("blocks", frames=3)
    with pytest.raises(ValueError, match=r"n_frames must be a positive integer, got n_frames=0"):
        moving_digits(n_frames=0)
    with pytest.raises(ValueError, match=r"digit_size=20 must be an int in \[1, 8\]"):
        moving_digits(size=8, digit_size=20)
    with pytest.raises(ValueError, match=r"block_size=9 is larger than the frame size"):
        random_walk_of_blocks(size=8, block_size=9)


@pytest.mark.parametrize(
    "n_frames, framerate, dt, expected",
    [
        (3, 100, 5, [0, 0, 1, 1, 2, 2]),  # 10 ms frames, 5 ms steps
        (4, 100, 10, [0, 1, 2, 3]),  # dt = frame duration: the exact sequence
        (3, 100, 4, [0, 0, 0, 1, 1, 2, 2, 2]),  # frames start at 0, 10, 20 ms
        (4, 50, 40, [0, 2]),  # steps longer than frames skip frames
    ],
)
def test_frame_indices_sample_and_hold(n_frames, framerate, dt, expected):
    idx = frame_indices(n_frames, framerate_hz=framerate, dt_ms=dt)
    assert idx.tolist() == expected
    onsets = np.arange(n_frames) * 1000.0 / framerate
    times = np.arange(len(idx)) * dt
    for t, i in zip(times, idx):  # latest frame with onset <= t
        assert i == np.nonzero(onsets <= t + 1e-9)[0].max()


def test_sequence_stimulus_padding_and_resampling():
    frames = (
        np.arange(3, dtype=float)[None, :, None, None].repeat(2, 2).repeat(2, 3) / 4
    )  # (1, 3, 2, 2)
    stim = sequence_stimulus(frames, framerate_hz=100, dt_ms=5, t_pre_ms=10, t_post=15)  # bare spelling too
    validate_stimulus(stim)
    trace = stim.isel(sample=0, channel=0, y=0, x=0).values.tolist()
    assert trace == [0.5, 0.5, 0.0, 0.0, 0.25, 0.25, 0.5, 0.5, 0.5, 0.5, 0.5]
    assert float(stim.stim_onset[0]) == 10 and float(stim.stim_offset[0]) == 40
    assert stim.attrs["framerate_hz"] == 100 and stim.attrs["stimulus"] == "sequence"


def test_sequence_stimulus_carries_coords_and_channels():
    frames = moving_digits(2, n_frames=2, size=8, n_digits=1)
    stim = sequence_stimulus(frames, framerate_hz=500, dt=1, t_pre=1, t_post=1, channels=3)
    assert stim.sizes["channel"] == 3
    assert stim.label.values.tolist() == frames.label.values.tolist()
    grey_stim = sequence_stimulus(
        stim.values[:, 1:3], framerate_hz=1000, dt=1, t_pre=0, t_post=0, channels=1
    )
    assert grey_stim.sizes["channel"] == 1


def test_sequence_stimulus_refuses_to_skip_frames_unless_asked():
    with pytest.raises(ValueError, match=r"dt_ms=40(.0)? is invalid.*2 of 4 frames would never be shown.*drop_frames"):
        sequence_stimulus(np.zeros((1, 4, 2, 2)), framerate_hz=50, dt_ms=40, t_pre_ms=0, t_post_ms=0)
    stim = sequence_stimulus(np.arange(4.0)[None, :, None, None].repeat(2, 2).repeat(2, 3) / 4, framerate_hz=50,
                             dt_ms=40, t_pre_ms=0, t_post_ms=0, drop_frames=True)
    assert stim.isel(sample=0, channel=0, y=0, x=0).values.tolist() == [0.0, 0.5]  # frames 0 and 2


@pytest.mark.parametrize(
    "frames, kwargs, match",
    [
        (np.zeros((1, 2, 2)), {}, r"frames=.* expected shape \(sequence, frame, y, x\)"),
        (np.full((1, 2, 2, 2), 1.5), {}, r"frames=.*1.5.* expected values in \[0, 1\]"),
        (np.zeros((1, 2, 2, 2)), {"framerate_hz": 0}, r"framerate_hz=0 is invalid: expected a finite number > 0 \(Hz\)"),
        (np.zeros((1, 2, 2, 2)), {"t_pre_ms": 3}, r"t_pre_ms=3 is not a multiple of dt_ms=2"),
        (np.zeros((1, 2, 2, 2)), {"channels": 2}, r"unknown channel count 2"),
    ],
)
def test_sequence_stimulus_errors(frames, kwargs, match):
    args = {"framerate_hz": 100, "dt_ms": 2, "t_pre_ms": 2, "t_post_ms": 0, **kwargs}
    with pytest.raises((ValueError, UnknownNameError), match=match):
        sequence_stimulus(frames, **args)
