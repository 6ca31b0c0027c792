"""The documentation site builds (mkdocs --strict, offline): the API reference from the docstrings,
the CLI reference from the live --help, and pages that load nothing from outside."""

from __future__ import annotations

import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("mkdocs")
pytest.importorskip("mkdocstrings")


class _Requests(HTMLParser):
    """The URLs a page makes the browser fetch (scripts, stylesheets, images, frames)."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "img", "iframe") and attrs.get("src"):
            self.urls.append(attrs["src"])
        if tag == "link" and attrs.get("href") and attrs.get("rel") in ("stylesheet", "preload", "icon"):
            self.urls.append(attrs["href"])


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "WARNING" not in proc.stderr, proc.stderr
    return out


@pytest.mark.slow
def test_the_api_reference_is_built_from_the_docstrings(site):
    models = (site / "api" / "models" / "index.html").read_text()
    assert "load_model" in models and "A model from anything that names one" in models
    cli = (site / "api" / "cli" / "index.html").read_text()
    assert "coerce_values" in cli and "Type" in cli
    for package in ("analysis", "data", "dynamics", "experiments", "io", "layers", "notebooks", "simulation", "stimuli",
                    "training", "views"):
        assert (site / "api" / package / "index.html").is_file(), package


@pytest.mark.slow
def test_the_cli_page_holds_the_help_of_every_command(site):
    from dynvision.cli import COMMANDS

    page = (site / "cli" / "index.html").read_text()
    for name in COMMANDS:
        assert f"dynvision {name}" in page, name
    assert "usage: dynvision run [-h]" in page and "--save-pretrained" in page and "--grid" in page


@pytest.mark.slow
def test_no_page_fetches_anything_from_outside(site):
    outside = []
    for page in site.rglob("*.html"):
        parser = _Requests()
        parser.feed(page.read_text())
        outside += [f"{page.relative_to(site)}: {u}" for u in parser.urls if u.startswith(("http:", "https:", "//"))]
    assert not outside, outside
    assert (site / "index.html").is_file() and (site / "search" / "search_index.json").is_file()
