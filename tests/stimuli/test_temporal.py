"""Temporal generators: schema, exact timing in steps, contrast about 0.5, condition grids."""

import json

import numpy as np
import pytest

from dynvision.registry import UnknownNameError
from dynvision.stimuli import (
    DIMS,
    STIMULI,
    build_stimulus,
    grey,
    list_stimuli,
    make_images,
    make_sequences,
    make_stimulus,
    presentation,
    repetition,
    validate_stimulus,
)

DT = 2.0


@pytest.fixture(scope="module")
def digits():
    return make_images("digits", n=2, size=6)


def _case(name, digits):
    common = {"dt": DT, "t_pre": 4.0, "t_post": 6.0}
    return {
        "grey": lambda: make_stimulus("grey", 2, duration=10.0, dt=DT, size=6),
        "presentation": lambda: make_stimulus(
            "presentation", digits, t_stim=[4.0, 8.0], contrast=[0.3, 1.0], **common
        ),
        "repetition": lambda: make_stimulus(
            "repetition", digits, t_stim=4.0, t_interval=[2.0, 6.0], **common
        ),
        "sequence": lambda: make_stimulus(
            "sequence", make_sequences("blocks", 2, n_frames=3, size=6), framerate_hz=250, **common
        ),
    }[name]()


def test_every_registered_stimulus_has_a_case(digits):
    for name in list_stimuli():
        _case(name, digits)


@pytest.mark.parametrize("name", sorted(STIMULI.list()))
def test_schema(name, digits):
    stim = _case(name, digits)
    assert validate_stimulus(stim) is stim
    assert stim.name == "stimulus" and stim.dims == DIMS and stim.dtype == np.float32
    np.testing.assert_allclose(stim.time.values, DT * np.arange(stim.sizes["time"]))
    assert stim.time.attrs["units"] == "ms"
    assert stim.attrs["dt"] == DT and stim.attrs["background"] == 0.5
    assert stim.attrs["stimulus"] == name
    assert isinstance(json.loads(stim.attrs["config"]), dict)
    assert 0.0 <= float(stim.min()) and float(stim.max()) <= 1.0
    assert stim.sample.values.tolist() == list(range(stim.sizes["sample"]))
    assert np.all(stim.isel(time=0).values == 0.5)  # every stimulus starts on grey
    if name != "grey":
        assert stim.stim_onset.dims == ("sample",) and stim.stim_onset.attrs["units"] == "ms"
        assert np.all(stim.isel(time=-1).values == 0.5)  # t_post is grey


def _trace(stim, k):
    """Whether each step of sample k differs from the grey background."""
    return np.any(stim.isel(sample=k).values != 0.5, axis=(1, 2, 3))


@pytest.mark.parametrize(
    "dt, t_pre, t_stim, t_post", [(1.0, 5.0, 3.0, 2.0), (0.5, 2.5, 1.5, 0.0), (2.0, 0.0, 4.0, 4.0)]
)
def test_presentation_timing_is_exact(dt, t_pre, t_stim, t_post):
    stim = presentation(np.ones((1, 3, 3)), dt=dt, t_pre=t_pre, t_stim=t_stim, t_post=t_post)
    on = _trace(stim, 0)
    onset, n_on = int(np.argmax(on)), int(on.sum())
    assert onset == round(t_pre / dt)
    assert n_on == round(t_stim / dt) and on[onset : onset + n_on].all()
    assert stim.sizes["time"] == round((t_pre + t_stim + t_post) / dt)
    assert float(stim.stim_onset[0]) == t_pre and float(stim.stim_offset[0]) == t_pre + t_stim
    assert stim.time.values[onset] == t_pre


def test_interval_gap_is_exact():
    stim = repetition(np.ones((1, 2, 2)), dt=1.0, t_pre=3, t_stim=2, t_interval=[1, 4], t_post=1)
    for k, gap in enumerate([1, 4]):
        on = _trace(stim, k)
        assert on.tolist()[3 : 3 + 2 + gap + 2] == [True] * 2 + [False] * gap + [True] * 2
        assert float(stim.interval[k]) == gap
        assert float(stim.onset2[k]) == 3 + 2 + gap and float(stim.offset2[k]) == 3 + 2 + gap + 2
        assert stim.time.values[int(stim.onset2[k])] == float(stim.onset2[k])
    assert stim.sizes["time"] == 3 + 2 + 4 + 2 + 1  # longest condition + t_post
    assert stim.attrs["n_presentations"] == 2


@pytest.mark.parametrize("contrast", [0.0, 0.25, 1.0])
def test_contrast_scales_about_mean_luminance(contrast, digits):
    stim = presentation(digits, dt=1, t_pre=1, t_stim=1, t_post=0, contrast=contrast)
    frame = stim.isel(time=1).values
    np.testing.assert_allclose(frame, 0.5 + contrast * (digits.values - 0.5), atol=1e-6)
    np.testing.assert_allclose(
        frame.mean(), 0.5 + contrast * (digits.values.mean() - 0.5), atol=1e-6
    )


def test_condition_grid_is_cartesian_with_image_coords():
    imgs = make_images("grating", size=4, orientation=[0, 90])
    stim = build_stimulus(imgs, dt=1, t_pre=1, t_stim=[1, 2, 3], t_post=1, contrast=[0.5, 1.0])
    assert stim.sizes["sample"] == 2 * 2 * 3
    assert stim.orientation.values.tolist() == [0.0] * 6 + [90.0] * 6  # image outermost
    assert stim.contrast.values.tolist()[:6] == [0.5] * 3 + [1.0] * 3
    assert stim.duration.values.tolist()[:3] == [1.0, 2.0, 3.0]
    np.testing.assert_allclose(stim.stim_offset.values, 1 + stim.duration.values)
    assert "interval" not in stim.coords and "onset2" not in stim.coords
    cfg = json.loads(stim.attrs["config"])
    assert cfg["t_stim"] == [1.0, 2.0, 3.0] and cfg["images"]["source"] == "grating"


def test_labels_travel_to_samples(digits):
    stim = presentation(digits, dt=1, t_pre=1, t_stim=1, t_post=0, contrast=[0.5, 1])
    assert stim.label.values.tolist() == np.repeat(digits.label.values, 2).tolist()
    assert stim.image.values.tolist() == np.repeat(digits.image.values, 2).tolist()


def test_grey():
    g = grey(3, duration=6, dt=2, size=(2, 4), channels=3)
    assert g.shape == (3, 3, 3, 2, 4) and np.all(g.values == 0.5)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"t_pre": 3.0}, r"t_pre_ms=3 is not a multiple of dt_ms=2"),
        ({"t_stim": 5.0}, r"t_stim_ms=5 is not a multiple of dt_ms=2"),
        ({"t_stim": [4.0, 0.0]}, r"t_stim_ms=0 is shorter than 1 step"),
        ({"t_post": -2.0}, r"t_post_ms=-2 is negative"),
        ({"t_interval": 1.0}, r"t_interval_ms=1 is not a multiple of dt_ms=2"),
        ({"dt": 0.0}, r"dt_ms must be a positive number of ms, got dt_ms=0"),
        ({"contrast": [0.5, 1.5]}, r"contrast 1.5 is outside \[0, 1\]"),
        ({"contrast": -0.1}, r"contrast -0.1 is outside \[0, 1\]"),
        ({"t_stim": []}, r"t_stim_ms is empty"),
    ],
)
def test_build_stimulus_errors(kwargs, match):
    args = {"dt": 2.0, "t_pre": 2.0, "t_stim": 4.0, "t_post": 2.0, **kwargs}
    with pytest.raises(ValueError, match=match):
        build_stimulus(np.ones((1, 2, 2)), **args)


def test_no_images_and_bad_images():
    with pytest.raises(ValueError, match="no images given"):
        presentation([], dt=1, t_pre=1, t_stim=1, t_post=1)
    with pytest.raises(ValueError, match=r"luminance must lie in \[0, 1\]"):
        presentation(np.full((1, 2, 2), 2.0), dt=1, t_pre=1, t_stim=1, t_post=1)


def test_registry_errors():
    with pytest.raises(
        UnknownNameError, match=r"unknown stimulus 'flash'.*'grey', 'presentation', 'repetition'"
    ):
        make_stimulus("flash")
    with pytest.raises(UnknownNameError, match=r"'t_on'.*valid keywords: .*t_pre"):
        make_stimulus("presentation", np.ones((1, 2, 2)), t_on=3)
    with pytest.raises(ValueError, match="t_interval_ms is required"):
        repetition(np.ones((1, 2, 2)), dt=1, t_pre=1, t_stim=1, t_interval=None, t_post=1)
