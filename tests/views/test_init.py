"""The views package: lazy public names; importing dynvision never loads holoviews/bokeh/panel."""

from __future__ import annotations

import subprocess
import sys

import dynvision.views as views


def test_public_names_resolve_lazily():
    assert "experiment_figures" in views.__all__ and "save_figures" in dir(views)
    assert callable(views.save_figures) and callable(views.conv_kernels)


def test_importing_the_package_loads_no_plotting_library():
    code = ("import sys, dynvision, dynvision.views, dynvision.experiments; "
            "heavy = [m for m in ('holoviews', 'bokeh', 'panel') if m in sys.modules]; "
            "assert not heavy, heavy; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
