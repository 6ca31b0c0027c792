"""serve_explorer and the ``explore`` command (the browser side is in tests/browser)."""

from __future__ import annotations

import argparse
import re
import urllib.request

import pytest

import dynvision
from dynvision.views.serve import add_explore_command, explorer_app, free_port, serve_explorer

pytest.importorskip("panel")


def _parser():
    parser = argparse.ArgumentParser(prog="dynvision")
    add_explore_command(parser.add_subparsers(dest="command"))
    return parser


def test_explore_command_arguments():
    args = _parser().parse_args(["explore", "results/contrast", "--port", "5010", "--model-explorer"])
    assert (args.store, args.port, args.address, args.model_explorer, args.show) == \
        ("results/contrast", 5010, "127.0.0.1", True, False)
    assert callable(args.func)


def test_explore_help_lists_the_options(capsys):
    with pytest.raises(SystemExit) as exit_:
        _parser().parse_args(["explore", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for option in ("STORE", "--port", "--address", "--model-explorer", "127.0.0.1"):
        assert option in out


def test_explore_without_anything_to_explore_is_a_usage_error(capsys):
    args = _parser().parse_args(["explore"])
    with pytest.raises(SystemExit) as exit_:
        args.func(args)
    assert exit_.value.code == 2 and "--model-explorer" in capsys.readouterr().err


def test_explore_missing_store_is_a_usage_error(tmp_path, capsys):
    args = _parser().parse_args(["explore", str(tmp_path / "missing.zarr")])
    with pytest.raises(SystemExit):
        args.func(args)
    assert "no activations" in capsys.readouterr().err


def test_app_needs_a_store_or_the_model_explorer():
    with pytest.raises(ValueError, match="nothing to explore"):
        explorer_app(None)


def test_served_page_loads_its_scripts_from_the_server(tmp_path):
    model = dynvision.create_model("DyRCNNx2", n_classes=3, input_dims=(4, 1, 16, 16), width=0.25)
    dynvision.Simulation(model, progress=False).run(__import__("torch").rand(2, 4, 1, 16, 16),
                                                     store=tmp_path / "run.zarr")
    port = free_port()
    server = serve_explorer(tmp_path / "run.zarr", port=port, verbose=False)
    try:
        html = ""
        for _ in range(100):
            try:
                html = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=20).read().decode()
                break
            except OSError:
                __import__("time").sleep(0.2)
        assert "bokeh" in html
        scripts = re.findall(r'<script[^>]+src="([^"]+)"', html)
        assert scripts and not [s for s in scripts if s.startswith(("http:", "https:", "//"))]
    finally:
        server.stop()
