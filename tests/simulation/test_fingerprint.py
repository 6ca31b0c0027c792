"""The fingerprint covers exactly what determines a result: each input changes it, a fresh
process reproduces it, and what does not change the values (batch size) leaves it alone."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
import xarray as xr

import dynvision
from dynvision import Simulation

from shared_helpers import make_stimulus

OBJECTS = textwrap.dedent('''
    class Condition:
        """A plain object: its repr shows a memory address."""
        def __init__(self, name, level):
            self.name, self.level = name, level
''')


def _model(**kw):
    torch.manual_seed(0)
    return dynvision.create_model("DyRCNNx2", n_classes=3, input_dims=(6, 1, 16, 16), width=0.25, **kw)


def _stimulus(objects_module=None):
    stim = make_stimulus(n=4)
    if objects_module is not None:
        conds = np.empty(4, dtype=object)
        conds[:] = [objects_module.Condition(f"c{i}", i) for i in range(4)]
        stim = stim.assign_coords(condition=("sample", conds))
    return stim


def _fp(model=None, stim=None, **options):
    sim = Simulation(model if model is not None else _model(), progress=False,
                     channels_last=options.pop("channels_last", True), precision=options.pop("precision", "float32"))
    return sim.plan(stim if stim is not None else make_stimulus(n=4), **options).fingerprint


@pytest.fixture
def objects(tmp_path, monkeypatch):
    (tmp_path / "condition_objects.py").write_text(OBJECTS)
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib

    import condition_objects
    return importlib.reload(condition_objects)


def _changed_inputs(objects):
    """(what changed, fingerprint) for a baseline and one change of each input."""
    base_stim = _stimulus(objects)
    state = _model().steady_state(1)
    other_state = state.map(lambda t: t + 1e-3)

    def weight_changed():
        m = _model()
        with torch.no_grad():
            m.areas["V2"].conv.weight[0, 0, 0, 0] += 1e-6
        return m

    def set_value(stim, value):
        stim = stim.copy(deep=True)
        stim[3, 5, 0, 15, 15] = value
        return stim

    conds = base_stim["condition"].values.copy()
    conds[2] = objects.Condition("c2", 99)
    return {
        "baseline": _fp(stim=base_stim),
        "model config (tau)": _fp(model=_model(tau=6), stim=base_stim),
        "one weight": _fp(model=weight_changed(), stim=base_stim),
        "one stimulus value": _fp(stim=set_value(base_stim, 0.123)),
        "a numeric coordinate": _fp(stim=base_stim.assign_coords(contrast=("sample", [0.1, 0.2, 0.3, 0.5]))),
        "an object coordinate": _fp(stim=base_stim.assign_coords(condition=("sample", conds))),
        "background attribute": _fp(stim=base_stim.assign_attrs(background=0.25)),
        "another attribute": _fp(stim=base_stim.assign_attrs(stimulus="grating")),
        "time coordinate": _fp(stim=base_stim.assign_coords(time=base_stim["time"] + 2.0)),
        "initial_state steady": _fp(stim=base_stim, initial_state="steady"),
        "initial_state given": _fp(stim=base_stim, initial_state=state),
        "initial_state given, other values": _fp(stim=base_stim, initial_state=other_state),
        "record": _fp(stim=base_stim, record=["V1"]),
        "reduce": _fp(stim=base_stim, reduce="mean"),
        "reduce per area": _fp(stim=base_stim, record={"V1": "center", "V2": "none"}),
        "store_dtype": _fp(stim=base_stim, store_dtype="float16"),
        "store_stimulus": _fp(stim=base_stim, store_stimulus=False),
        "idle_ms": _fp(stim=base_stim, idle_ms=4),
        "precision": _fp(stim=base_stim, precision="bfloat16"),
        "channels_last": _fp(stim=base_stim, channels_last=False),
    }


def test_each_input_changes_the_fingerprint(objects):
    prints = _changed_inputs(objects)
    seen = {}
    for what, fp in prints.items():
        assert fp not in seen, f"changing {what!r} gives the same fingerprint as {seen.get(fp)!r}"
        seen[fp] = what


def test_batch_size_and_repeats_leave_the_fingerprint_alone(objects):
    stim = _stimulus(objects)
    assert _fp(stim=stim) == _fp(stim=stim, batch_size=3) == _fp(stim=stim, batch_size=1)
    assert _fp(stim=stim) == _fp(stim=_stimulus(objects))  # new, equal objects: the same


def test_a_fresh_process_gives_the_same_fingerprint(objects, tmp_path):
    code = textwrap.dedent(f'''
        import sys
        sys.path[:0] = [{str(tmp_path)!r}, {os.path.dirname(os.path.dirname(__file__))!r}]
        import condition_objects, torch
        from simulation.test_fingerprint import _fp, _stimulus
        torch.set_num_threads(1)
        print(_fp(stim=_stimulus(condition_objects)))
    ''')
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == _fp(stim=_stimulus(objects))


def test_a_lazy_stimulus_hashes_like_the_same_values_in_memory():
    stim = make_stimulus(n=6)
    lazy = stim.chunk({"sample": 2})
    assert _fp(stim=lazy) == _fp(stim=stim)


def test_unhashable_coordinate_is_a_clear_error():
    stim = make_stimulus(n=2)
    conds = np.empty(2, dtype=object)
    conds[:] = [lambda: 1, lambda: 2]  # same code, no value: hashed by their code, not addresses
    a = _fp(stim=stim.assign_coords(f=("sample", conds)))
    b = _fp(stim=stim.assign_coords(f=("sample", conds.copy())))
    assert a == b
    with pytest.raises(TypeError, match=r"stimulus.*cannot fingerprint"):
        gen = np.empty(2, dtype=object)
        gen[:] = [(i for i in range(2)), (i for i in range(3))]
        _fp(stim=stim.assign_coords(g=("sample", gen)))
