"""The phenomena criteria: margins, meaningful fits, suppression and decay measured honestly."""

import re

import numpy as np
import pytest
import xarray as xr

from dynvision.analysis import naka_rushton
from dynvision.experiments.phenomena import Check, _p2p1, decay_time, greater, markdown_table, nr_against_line, runs_table


def _images(values):
    return xr.DataArray(np.asarray(values, dtype=float), dims="image")


def test_a_comparison_needs_five_percent_and_two_standard_errors():
    b = _images([1.0, 1.0, 1.0, 1.0])
    assert not bool(greater(b * 1.04, b))  # under the 5 % margin
    assert bool(greater(b * 1.2, b))
    noisy = _images([0.2, 2.2, 0.4, 2.0])  # mean 1.2, but the paired differences scatter
    assert not bool(greater(noisy, b))
    assert not bool(greater(b, b * 1.2))


def _curve(values, c):
    return xr.DataArray(np.asarray(values)[None, :], dims=("area", "contrast"),
                        coords={"area": ["V1"], "contrast": c})


def test_naka_rushton_must_saturate_inside_the_tested_contrasts_and_beat_a_line():
    c = np.linspace(0.1, 1.0, 10)
    sig = nr_against_line(_curve(naka_rushton(c, 1.0, 0.4, 2.5, 0.0), c)).squeeze()
    assert 0.1 <= float(sig.c50) <= 1.0 and float(sig.aic_nr) < float(sig.aic_line) - 2
    line = nr_against_line(_curve(0.2 + 0.5 * c, c)).squeeze()
    assert not (0.1 <= float(line.c50) <= 1.0 and float(line.aic_nr) < float(line.aic_line) - 2)


def test_decay_time_is_the_fall_to_one_over_e_and_never_negative():
    t = np.arange(0.0, 200.0, 0.5)
    tau = 10.0
    r = np.where(t < 50, 0.0, np.where(t < 100, 1.0, np.exp(-(t - 100) / tau)))
    da = xr.DataArray(r, dims="time", coords={"time": t, "stim_onset": 50.0, "stim_offset": 100.0})
    assert float(decay_time(da)) == pytest.approx(tau, abs=0.5)
    undershoot = np.where(t < 100, r, -0.5 + 1.5 * np.exp(-(t - 100) / 3.0))  # falls below baseline fast
    da2 = da.copy(data=undershoot)
    assert 0 < float(decay_time(da2)) < tau


def test_repetition_suppression_ignores_intervals_where_the_first_response_has_not_decayed():
    t = np.arange(0.0, 300.0, 1.0)

    def pair(gap, second=0.6):
        on2 = 50 + 20 + gap
        first = np.where((t >= 50) & (t < 70), 1.0, 0.0)
        first = np.where(t >= 70, np.exp(-(t - 70) / 10.0), first)
        bump = second * np.exp(-0.5 * ((t - on2 - 5) / 3) ** 2) * (t >= on2)
        return first + bump, on2

    rs, onsets = zip(*(pair(g) for g in (2, 60)))
    da = xr.DataArray(np.array(rs), dims=("sample", "time"),
                      coords={"time": t, "stim_onset": ("sample", [50.0, 50.0]),
                              "onset2": ("sample", np.array(onsets, dtype=float))})
    ratio = _p2p1(da)
    assert np.isnan(float(ratio[0]))  # 2 ms: the first response is still above half its peak
    assert float(ratio[1]) == pytest.approx(0.6, abs=0.05)


def test_the_contrast_fit_uses_the_mean_over_images():
    """Naka-Rushton is fitted on the image mean, not on one image (a defect the suite missed)."""
    from dynvision.experiments import EXPERIMENTS

    spec = EXPERIMENTS.get("contrast")(n_images=2)
    c = np.array(spec.contrasts)
    t = np.arange(0.0, 140.0, 2.0)
    shapes = {0: (1.0, 0.2), 1: (3.0, 0.7)}  # two images with very different curves
    rows, coords = [], {"contrast": [], "image": [], "stim_onset": [], "stim_offset": []}
    for img, (rmax, c50) in shapes.items():
        for ci in c:
            height = naka_rushton(ci, rmax, c50, 2.0)
            rows.append(np.where((t >= 40) & (t < 100), height, 0.0))
            coords["contrast"].append(ci), coords["image"].append(img)
            coords["stim_onset"].append(40.0), coords["stim_offset"].append(100.0)
    resp = xr.DataArray(np.array(rows)[None, None], dims=("model", "area", "sample", "time"),
                        coords={"model": ["m"], "area": ["V1"], "time": t,
                                **{k: ("sample", v) for k, v in coords.items()}})
    metrics = spec.metrics(resp)
    mean_curve = (naka_rushton(c, 1.0, 0.2, 2.0) + naka_rushton(c, 3.0, 0.7, 2.0)) / 2
    from dynvision.analysis import fit_naka_rushton
    expected = fit_naka_rushton(xr.DataArray(mean_curve, dims="contrast", coords={"contrast": c}))
    assert float(metrics["nr_c50"].squeeze()) == pytest.approx(float(expected.c50), rel=1e-3)


def _contrast_results(rel_low):
    """A contrast experiment whose areas respond with peak 1 at c max and ``rel_low[area][image]`` at c min."""
    from types import SimpleNamespace

    from dynvision.experiments.phenomena import _Results

    t = np.arange(0.0, 100.0, 2.0)
    contrasts = [0.1, 1.0]
    areas = list(rel_low)
    n_img = len(next(iter(rel_low.values())))
    rows = np.zeros((len(areas), 2 * n_img, t.size))
    coords = {"contrast": [], "image": []}
    for img in range(n_img):
        for ci, c in enumerate(contrasts):
            coords["contrast"].append(c), coords["image"].append(img)
            for ai, a in enumerate(areas):
                height = rel_low[a][img] if ci == 0 else 1.0
                rows[ai, 2 * img + ci] = np.where((t >= 40) & (t < 80), height, 0.0)
    resp = xr.DataArray(rows[None], dims=("model", "area", "sample", "time"),
                        coords={"model": ["model"], "area": areas, "time": t, "stim_onset": ("sample", [40.0] * rows.shape[1]),
                                **{k: ("sample", v) for k, v in coords.items()}})
    return _Results({"contrast": SimpleNamespace(responses=resp)})


def _check(name):
    from dynvision.experiments.phenomena import PHENOMENA

    return next(p.check for p in PHENOMENA if p.name == name)


def test_contrast_dependence_is_not_swamped_by_one_image_with_no_response_at_low_contrast():
    """IT relative response 0.05 (one image ~0: a contrast gain of 1e6) against V1's 0.3: holds;
    a gain ratio peak(c max)/peak(c min) would average to ~1e5 with a standard error as large."""
    check = _check("higher areas depend more on contrast")
    it = [0.05, 0.06, 0.04, 0.05, 1e-6, 0.05, 0.06, 0.04]
    v1 = [0.3, 0.31, 0.29, 0.3, 0.3, 0.32, 0.28, 0.3]
    assert check(_contrast_results({"V1": v1, "IT": it})).holds
    assert not check(_contrast_results({"V1": it, "IT": v1})).holds  # the reverse ordering fails
    assert not check(_contrast_results({"V1": v1, "IT": [x * 0.97 for x in v1]})).holds  # under the margin


def test_markdown_table_keeps_pipes_in_values_inside_their_cell():
    rows = [Check("higher layers have larger weights", "mean |w| feedforward", {"V1": 0.31, "IT": 0.11}, False,
                  "mean |w| of IT's > V1's")]
    line = markdown_table(rows).splitlines()[2]
    cells = re.split(r"(?<!\\)\|", line)[1:-1]  # split on unescaped pipes, as Markdown does
    assert [c.strip() for c in cells] == ["higher layers have larger weights", "**no**",
                                          r"mean \|w\| feedforward: V1 0.31, IT 0.11", r"mean \|w\| of IT's > V1's"]


def test_the_checks_leave_time_after_offset_to_measure_decay(monkeypatch):
    import dynvision.experiments as experiments
    from dynvision.experiments.phenomena import check_phenomena

    calls = {}

    def record(name, **kwargs):
        calls[name] = kwargs
        raise StopIteration  # the settings are all this test needs

    monkeypatch.setattr(experiments, "run_experiment", record)
    with pytest.raises(StopIteration):
        check_phenomena("dyrcnnx4-digits", n_images=2)
    assert calls["response"]["t_post"] >= 300 and calls["response"]["n_images"] == 2


def test_runs_table_marks_each_run_and_counts_both_ways():
    def run(*held):
        return [Check(name, "m", {}, h, "c") for name, h in zip(("early V1", "adapts", "larger | w"), held)]

    table = runs_table({"seed 0": run(True, True, False), "seed 1": run(True, False, False),
                        "seed 2": run(False, True, False)}).splitlines()
    assert table[0] == "| phenomenon | seed 0 | seed 1 | seed 2 | runs |"
    assert table[2] == "| early V1 | yes | yes | **no** | 2 of 3 |"
    assert table[3] == "| adapts | yes | **no** | yes | 2 of 3 |"
    assert table[4] == r"| larger \| w | **no** | **no** | **no** | 0 of 3 |"  # a pipe stays in its cell
    assert table[5] == "| **phenomena held** | 2 of 3 | 1 of 3 | 1 of 3 | |"
    with pytest.raises(ValueError, match=r"'seed 1' checked other phenomena than 'seed 0'"):
        runs_table({"seed 0": run(True, True, True), "seed 1": run(True, True)})
