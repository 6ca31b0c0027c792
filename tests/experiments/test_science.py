"""Science checks: each phenomenon of the visualisation guide, on metrics, on a small model
whose mechanisms produce it (feedforward delays, adaptive gain, recurrence of a known sign).

Which of them the shipped default model shows is reported by ``scripts/science_check.py``.
"""

import numpy as np
import pytest
import torch

from dynvision.analysis import weight_statistics
from dynvision.experiments import run_experiment
from dynvision.models import create_model

# feedforward delays (4 ms per area) and a divisive input gain with a 60 ms memory
MECHANISMS = dict(n_classes=10, input_dims=(1, 1, 16, 16), width=0.25, dt=2.0, tau=5.0, tff=4.0, trc=2.0,
                  input_gain=2.0, tau_gain=60.0)
FAST = dict(progress=False, n_images=2, t_pre=20.0)


def model(**changes):
    torch.manual_seed(0)
    return create_model("DyRCNNx4", **{**MECHANISMS, **changes})


def area_mean(metric):
    return metric.mean("image").isel(model=0) if "image" in metric.dims else metric.isel(model=0)


@pytest.fixture(scope="module")
def response():
    return run_experiment("response", model={"m": model()}, t_stim=120.0, t_post=60.0, **FAST)


def test_latency_grows_from_v1_to_it(response):
    latency = area_mean(response.metrics["onset_latency"])
    assert latency.area.values.tolist() == ["V1", "V2", "V4", "IT"]
    assert np.all(np.diff(latency.values) > 0), latency.values


def test_peak_time_grows_along_the_hierarchy(response):
    peak = area_mean(response.metrics["peak_time"])
    assert peak.sel(area="IT") > peak.sel(area="V1")


def test_sustained_stimulation_adapts(response):
    index = area_mean(response.metrics["adaptation_index"])
    assert np.all(index.values > 0.05), index.values  # response falls from its peak while the image stays on


@pytest.fixture(scope="module")
def contrast():
    return run_experiment("contrast", model={"m": model()}, contrasts=(0.1, 0.25, 0.5, 1.0), t_stim=40.0,
                          t_post=40.0, **FAST)


def test_higher_contrast_gives_a_larger_response_in_every_area(contrast):
    peak = area_mean(contrast.metrics["peak_height"])
    assert np.all(peak.diff("contrast") > 0), peak.values


def test_higher_contrast_gives_an_earlier_peak(contrast):
    peak_time = area_mean(contrast.metrics["peak_time"])
    assert np.all(peak_time.isel(contrast=-1) < peak_time.isel(contrast=0)), peak_time.values


def test_contrast_response_follows_naka_rushton(contrast):
    r2 = contrast.metrics["nr_r2"].isel(model=0)
    assert np.all(r2 > 0.95), r2.values


@pytest.fixture(scope="module")
def duration():
    return run_experiment("duration", model={"m": model()}, durations=(4.0, 8.0, 16.0, 32.0, 64.0), t_post=60.0,
                          **FAST)


def test_summed_response_grows_with_duration_but_sub_additively(duration):
    total = area_mean(duration.metrics["total_response"])
    assert np.all(total.diff("duration") > 0), total.values
    per_ms = total / total["duration"]
    assert np.all(per_ms.isel(duration=-1) < per_ms.isel(duration=0)), per_ms.values


@pytest.fixture(scope="module")
def interval():
    return run_experiment("interval", model={"m": model()}, intervals=(4.0, 16.0, 64.0, 256.0), t_stim=30.0,
                          t_post=40.0, **FAST)


def test_second_response_is_suppressed_at_short_intervals_and_recovers(interval):
    ratio = area_mean(interval.metrics["p2_p1_ratio"])
    # in every area some short interval leaves the second response weaker than the first...
    assert np.all(ratio.min("interval") < 0.9), ratio.values
    # ...and it recovers at long intervals (longer than the 60 ms adaptation memory)
    assert np.all(ratio.isel(interval=-1) > 0.95), ratio.values
    v1 = ratio.sel(area="V1")  # where the two responses never merge, recovery is monotonic
    assert np.all(v1.diff("interval") > 0), v1.values


def test_offset_response_with_a_transient_input_channel():
    transient = run_experiment("duration", model={"m": model(gain_mode="subtractive", input_gain=1.0)},
                               durations=(40.0,), t_post=60.0, **FAST)
    sustained = run_experiment("duration", model={"m": model(input_gain=0.0)}, durations=(40.0,), t_post=60.0,
                               **FAST)
    on_off = area_mean(transient.metrics["offset_response"]).sel(area="V1")
    plain = area_mean(sustained.metrics["offset_response"]).sel(area="V1")
    assert on_off > 0.1 and on_off > 3 * plain, (float(on_off), float(plain))


def _with_recurrence(kind, gain, trc=2.0):
    """Every recurrent synapse gets the same weight, ``gain / fan_in`` of a full-recurrence unit:
    equal synaptic strength, so full recurrence (C x 3 x 3 inputs per unit) has a loop gain of
    ``gain`` and self recurrence (one input per unit) ``gain / (9 C)``."""
    m = model(recurrence_type=kind, input_gain=0.0, trc=trc)
    with torch.no_grad():
        for area in m.areas.values():
            weight = gain / (area.out_channels * 9)
            for p in area.recurrence.parameters():
                p.fill_(weight)
    return m


def test_inhibitory_full_recurrence_adapts_more_than_self_recurrence():
    # delayed (20 ms) inhibition: the response rises before the inhibition arrives
    r = run_experiment("response", model={"full": _with_recurrence("full", -0.8, trc=20.0),
                                          "self": _with_recurrence("self", -0.8, trc=20.0)},
                       t_stim=120.0, t_post=40.0, **FAST)
    index = r.metrics["adaptation_index"].mean("image")
    assert np.all(index.sel(model="full") > index.sel(model="self")), index.values


def test_excitatory_full_recurrence_sustains_activity_longer_than_self_recurrence():
    # sustained activity as persistence after the stimulus (reverberation): the decay time
    # (without adaptation the sustained/transient ratio is 1 for both models)
    r = run_experiment("response", model={"full": _with_recurrence("full", 0.5), "self": _with_recurrence("self", 0.5)},
                       t_stim=40.0, t_post=80.0, **FAST)
    decay = r.metrics["decay_time"].mean("image")
    assert np.all(decay.sel(model="full") > decay.sel(model="self")), decay.values


def test_adaptation_accumulates_along_the_hierarchy():
    r = run_experiment("response", model={"m": model(input_gain=0.0, adaptation=1.0, tau_adaptation=60.0)},
                       t_stim=120.0, t_post=40.0, **FAST)
    index = area_mean(r.metrics["adaptation_index"])
    assert index.sel(area="IT") > index.sel(area="V1"), index.values


def test_feedforward_weights_are_broader_than_recurrent_at_initialisation():
    stats = weight_statistics(model())
    assert np.all(stats["std"].sel(kind="feedforward") > stats["std"].sel(kind="recurrent"))
