"""Animations: frame counts, what each panel shows, colour rules, files and the inline player."""

from __future__ import annotations

import imageio.v2 as imageio
import imageio.v3 as iio
import numpy as np
import pytest
import xarray as xr

from dynvision.stimuli import moving_digits, render_hex, sequence_stimulus
import dynvision.views.animation  # noqa: F401  (imported first: the package name must stay the function)
from dynvision.views import animate
from dynvision.views.offline import cdn_urls
from dynvision.validation import InvalidValueError


@pytest.fixture(scope="module")
def stim():
    """Two moving digits, 10 frames at 500 Hz on 2 ms steps (time 0..18 ms)."""
    return sequence_stimulus(moving_digits(2, n_frames=10, size=12, n_digits=1), framerate_hz=500, dt_ms=2,
                             t_pre_ms=0, t_post_ms=0)


def responses(stim, models=("m1", "m2", "m3")):
    """A fake activity (model, sample, time, y, x) with both signs: model k is k times the contrast."""
    base = stim.isel(channel=0) - 0.5
    return xr.concat([k * base for k in range(1, len(models) + 1)], dim="model").assign_coords(
        model=list(models)).rename("V1")


@pytest.mark.parametrize("stride, n", [(1, 10), (2, 5), (3, 4), (10, 1)])
def test_frame_count_and_times(stim, stride, n):
    anim = animate(stim, stride=stride)
    assert anim.n_frames == n and anim.times.tolist() == stim.time.values[::stride].tolist()
    assert len(anim.frames()) == n


def test_a_bare_stimulus_shows_its_frames_in_grey(stim):
    anim = animate(stim, samples=[1])
    assert anim.grid == (1, 1)
    (panel,) = anim.panels
    assert panel.kind == "image" and (panel.cmap, panel.vmin, panel.vmax) == ("gray", 0.0, 1.0)
    for i in (0, 4, 9):
        np.testing.assert_array_equal(anim.shown(i)[0], stim.values[1, i, 0])


def test_models_become_columns_and_responses_are_diverging_and_shared(stim):
    acts = responses(stim)
    anim = animate(stim, acts, samples=[0, 1], stride=2)
    assert anim.grid == (2, 4)
    at = {(p.row, p.col): i for i, p in enumerate(anim.panels)}
    titles = [anim.panels[at[0, c]].title for c in range(4)]
    assert titles == ["stimulus", "V1: m1", "V1: m2", "V1: m3"] and anim.panels[at[1, 0]].title == "stimulus"
    shown = anim.shown(3)  # time 12 ms
    np.testing.assert_allclose(shown[at[0, 2]], acts.sel(model="m2").isel(sample=0, time=6).values)
    np.testing.assert_allclose(shown[at[1, 3]], acts.sel(model="m3").isel(sample=1, time=6).values)
    np.testing.assert_array_equal(shown[at[1, 0]], stim.values[1, 6, 0])
    limits = {(p.cmap, p.vmin, p.vmax) for p in anim.panels if p.source == 1}
    m = float(abs(acts).max())
    assert limits == {("RdBu_r", -m, m)}  # centred at 0, one range for every model and sample
    per_panel = animate(stim, acts, samples=[0], share="panel")
    assert len({p.vmax for p in per_panel.panels if p.source == 1}) == 3
    only = animate(acts, models=["m3", "m1"], samples=[0])
    assert [p.title for p in only.panels] == ["V1: m3", "V1: m1"]


def test_coarser_inputs_are_held_and_hex_panels_show_receptors(stim):
    coarse = stim.isel(time=slice(0, None, 2)).rename("coarse")  # 4 ms steps
    hexes = render_hex(stim, extent=2, kernel_size=4).rename("eye")
    anim = animate(stim, coarse, hexes, samples=[0])
    assert [p.kind for p in anim.panels] == ["image", "image", "hex"]
    for i, t in enumerate(anim.times):
        held = int(t // 4) * 2  # the latest coarse frame at or before t
        np.testing.assert_array_equal(anim.shown(i)[1], stim.values[0, held, 0])
        np.testing.assert_allclose(anim.shown(i)[2], hexes.isel(sample=0, time=i, channel=0).values)


def test_rgb_stimuli_and_data_starting_late(stim):
    rgb = sequence_stimulus(moving_digits(1, n_frames=4, size=8, channels=3), framerate_hz=500, dt_ms=2, t_pre_ms=0,
                            t_post_ms=0)
    late = rgb.isel(channel=0).assign_coords(time=rgb.time + 4).rename("late")
    anim = animate(rgb, late)
    assert anim.panels[0].kind == "rgb" and np.isnan(anim.shown(0)[1]).all() and not np.isnan(anim.shown(2)[1]).any()


def test_saves_gif_and_mp4_with_every_frame(stim, tmp_path):
    anim = animate(stim, responses(stim), samples=[0], stride=2, dpi=40)
    gif = anim.save(tmp_path / "a.gif", fps=5)
    frames = iio.imread(gif)
    assert frames.shape[0] == 5 and frames.shape[-1] in (3, 4)
    mp4 = anim.save(tmp_path / "out" / "a.mp4")
    with imageio.get_reader(mp4, format="FFMPEG") as reader:
        assert reader.count_frames() == 5 and reader.get_meta_data()["fps"] == 10.0
        first = reader.get_data(0)
    assert first.shape[:2] == anim.frames()[0].shape[:2]
    assert np.abs(first.astype(float) - anim.frame(0).astype(float)).mean() < 8  # the same picture, compressed
    with pytest.raises(FileExistsError, match="overwrite=True"):
        anim.save(gif)
    anim.save(gif, overwrite=True)
    with pytest.raises(KeyError, match=r"unknown animation file type '.avi'; valid .*'.gif', '.mp4'"):
        anim.save(tmp_path / "a.avi")


def test_inline_player_is_offline_and_holds_every_frame(stim):
    anim = animate(stim, stride=3)
    html = anim._repr_html_()
    assert cdn_urls(html) == [] and "https://" not in html and "http://" not in html
    assert html.count("iVBORw0KGgo") == anim.n_frames + 1  # every frame as PNG, plus the first shown
    assert 'type="range"' in html and 'max="3"' in html and "time 18 ms" in html


def test_errors(stim):
    with pytest.raises(InvalidValueError, match=r"a time dimension"):
        animate(stim.isel(time=0))
    activity = xr.DataArray(np.zeros((1, 3, 4, 5, 5)), dims=("sample", "time", "channel", "y", "x"), name="V1")
    with pytest.raises(InvalidValueError, match=r"select one channel \(e.g. .isel\(channel=0\)\)"):
        animate(activity)
    many = xr.concat([stim] * 5, dim="sample")
    with pytest.raises(InvalidValueError, match=r"samples=None is invalid: expected a list of samples to show \(the data hold 10"):
        animate(many)
    with pytest.raises(InvalidValueError, match=r"models=\['m9'\] is invalid"):
        animate(responses(stim), models=["m9"])
    with pytest.raises(KeyError, match=r"unknown share 'model'"):
        animate(stim, share="model")


def test_the_public_name_is_the_function_even_after_its_module_is_imported():
    import dynvision.views as views

    assert callable(views.animate) and views.animate.__name__ == "animate"
    assert views.Animation.__name__ == "Animation"
