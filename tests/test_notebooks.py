"""Every notebook in notebooks/ and tutorials/ runs (papermill, small parameters) and is committed clean.

The executions use ``fast=True`` and a tiny DyRCNNx4 (width 0.125, 16 px) wherever a notebook takes a
``model``; kernels run with one torch thread (tiny models are fastest that way, and the test machine
is shared). Each run must finish without an error output, and the HTML it exports (the executed
notebook's copy, figures, explorers) and the executed notebook must not load scripts or stylesheets
from other hosts.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

pytest.importorskip("papermill")

from dynvision.notebooks import notebook_parameters, run_notebook  # noqa: E402
from dynvision.views.offline import cdn_urls  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "tutorials").glob("*.ipynb"))
EXPECTED = {"notebooks": {"response", "contrast", "duration", "interval", "weights", "classifier"}}
SMALL = {"fast": True, "model": "DyRCNNx4",
         "model_kwargs": {"width": 0.125, "input_dims": [1, 1, 16, 16], "n_classes": 10}}


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def _parameter_cells(nb) -> list:
    return [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]


def test_every_experiment_has_a_notebook_and_tutorials_exist():
    assert EXPECTED["notebooks"] <= {p.stem for p in NOTEBOOKS if p.parent.name == "notebooks"}
    assert len([p for p in NOTEBOOKS if p.parent.name == "tutorials"]) >= 5


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_committed_clean(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# "), "starts with a title"
    assert "widgets" not in nb.metadata, "widget state in the notebook metadata"
    for cell in nb.cells:
        assert "execution" not in cell.metadata and "widgets" not in cell.metadata
        if cell.cell_type == "code":
            assert cell.outputs == [], f"outputs committed in cell {cell.id}"
            assert cell.execution_count is None, f"execution count committed in cell {cell.id}"
    cells = _parameter_cells(nb)
    assert len(cells) == 1, f"{len(cells)} cells tagged 'parameters'"
    assert "fast" in notebook_parameters(path)


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """Run every notebook once, two at a time (each kernel uses one core), with one torch thread.

    Kernels inherit the environment, so ``OMP_NUM_THREADS=1`` reaches them; the runs are
    independent processes, so two in parallel use both cores of a small machine.
    """
    from concurrent.futures import ThreadPoolExecutor

    saved = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    os.environ.update({k: "1" for k in saved})
    root = tmp_path_factory.mktemp("notebooks")

    def run(path: Path):
        declared = notebook_parameters(path)
        parameters = {k: v for k, v in SMALL.items() if k in declared}
        out = root / path.parent.name / path.stem
        return path, run_notebook(path, out, parameters, timeout=300), out

    try:
        with ThreadPoolExecutor(max_workers=max(1, min(2, os.cpu_count() or 1))) as pool:
            return {path: (record, out) for path, record, out in pool.map(run, NOTEBOOKS)}
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_runs_without_errors(path, executed):
    record, out = executed[path]
    nb = nbformat.read(record.output_notebook, as_version=4)
    errors = [f"cell {c.id}: {o.get('ename')}: {o.get('evalue')}" for c in nb.cells
              for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert record.ok and not errors, f"{record.error}; {errors} (executed copy: {record.output_notebook})"
    assert all(c.execution_count for c in nb.cells if c.cell_type == "code"), "every code cell ran"


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_exported_html_is_offline(path, executed):
    record, out = executed[path]
    pages = sorted(out.rglob("*.html"))
    assert record.html and Path(record.html) in pages
    for page in [*pages, Path(record.output_notebook)]:
        assert cdn_urls(page.read_text(encoding="utf-8")) == [], f"{page} loads scripts or styles from other hosts"
