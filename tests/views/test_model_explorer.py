"""ModelExplorer: every knob rebuilds and re-simulates; invalid settings show an error."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from dynvision.views.model_explorer import KNOBS, ModelExplorer

pytest.importorskip("panel")

TINY = {"width": 0.125, "input_dims": (1, 1, 16, 16), "n_classes": 4}


@pytest.fixture(scope="module")
def explorer():
    return ModelExplorer("DyRCNNx4", TINY)


@pytest.fixture(autouse=True)
def _reset(explorer):
    yield
    explorer.param.update(**{k: explorer.param[k].default for k in (*KNOBS, "contrast", "t_stim")})


def test_starts_from_the_model_defaults_with_area_responses(explorer):
    r = explorer.responses
    assert r.dims == ("area", "time") and r["area"].values.tolist() == ["V1", "V2", "V4", "IT"]
    assert float(r["time"][1] - r["time"][0]) == explorer.dt == 2.0
    assert explorer.error == "" and "40 steps" in explorer.status
    xr.testing.assert_identical(explorer.reference, r)
    assert float(r.sel(area="V1").max()) > 0


@pytest.mark.parametrize("change", [{"tau": 15.0}, {"recurrence_type": "self"}, {"tff": 4.0},
                                    {"skip": False}, {"dynamics": "voltage"}, {"contrast": 0.3}])
def test_each_knob_changes_the_responses(explorer, change):
    before = explorer.responses
    explorer.param.update(**change)
    assert explorer.error == ""
    assert explorer.responses.shape == before.shape
    assert not np.allclose(explorer.responses.values, before.values)


def test_same_settings_give_the_same_responses(explorer):
    start = explorer.responses
    explorer.tau = 20.0
    explorer.tau = 5.0
    xr.testing.assert_allclose(explorer.responses, start)


def test_rebuilt_models_share_the_reference_weights(explorer):
    first = explorer.build().state_dict()
    explorer.recurrence_type = "depthwise"
    second = explorer.build().state_dict()
    assert np.array_equal(first["areas.V2.conv.weight"], second["areas.V2.conv.weight"])
    assert first["areas.V2.recurrence.conv.weight"].shape != second["areas.V2.recurrence.conv.weight"].shape


def test_dt_changes_the_number_of_steps(explorer):
    explorer.dt = 1.0
    assert explorer.error == ""
    assert explorer.responses.sizes["time"] == 80 and float(explorer.responses["time"][1]) == 1.0


def test_invalid_delay_shows_the_error_and_keeps_the_last_responses(explorer):
    import panel as pn

    layout = explorer.panel()
    alerts = layout.select(pn.pane.Alert)
    before = explorer.responses
    explorer.tff = 3.0
    assert "tff_ms=3 is not a multiple of dt_ms=2" in explorer.error
    assert explorer.responses is before
    shown = [a for a in alerts if a.alert_type == "danger"][0]
    assert shown.visible and "not a multiple of dt" in str(shown.object if isinstance(shown.object, str)
                                                               else shown.object())
    explorer.tff = 4.0
    assert explorer.error == "" and not shown.visible


def test_coarse_euler_step_is_a_warning(explorer):
    explorer.param.update(integrator="euler", dt=4.0, trc=8.0, tfb=32.0, tau=5.0)
    assert explorer.error == ""
    assert "forward Euler" in explorer.note


def test_a_built_model_is_the_reference():
    import dynvision

    model = dynvision.create_model("DyRCNNx2", n_classes=3, input_dims=(1, 1, 16, 16), width=0.25, tau=8.0, trc=4.0)
    ex = ModelExplorer(model)
    assert (ex.tau, ex.trc) == (8.0, 4.0) and ex.responses["area"].values.tolist() == ["V1", "V2"]
    assert np.array_equal(ex.build().state_dict()["areas.V1.conv.weight"], model.state_dict()["areas.V1.conv.weight"])


def test_element_overlays_current_and_reference_curves(explorer):
    explorer.tau = 10.0
    overlay = explorer.element()
    curves = overlay.Curve
    labels = [c.label for c in curves]
    assert labels.count("V1") == 1 and labels.count("V1 start") == 1
    np.testing.assert_allclose(curves.V1.dimension_values("response"), explorer.responses.sel(area="V1").values)


def test_delay_sliders_step_by_dt(explorer):
    import panel as pn

    layout = explorer.panel()
    sliders = {w.name: w for w in layout.select(pn.widgets.FloatSlider)}
    tff = next(w for name, w in sliders.items() if name.startswith("tff"))
    assert tff.step == explorer.dt == 2.0  # one step right is a valid delay, not 1 ms
    explorer.dt = 1.0
    assert tff.step == 1.0


def test_time_runs_from_stimulus_onset(explorer):
    overlay = explorer.element()
    r = explorer.responses
    onset = float(r.stim_onset)
    np.testing.assert_allclose(overlay.Curve.V1.dimension_values(0), r["time"].values - onset)
    (span,) = overlay.VSpan
    assert tuple(span.data) == (0.0, float(r.stim_offset) - onset)
