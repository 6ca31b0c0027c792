"""Real-browser tests: the served explorer and a notebook in JupyterLab, in headless Chromium.

Both tests drive the page like a user (keyboard on the time slider, the area selector, JupyterLab's
Run menu) and read what the page plots from the Bokeh documents, so they check that the data that
reaches the browser changes, not only the Python side. The pages must not log errors, and nothing
may be requested from hosts other than 127.0.0.1 (everything is served locally / inline).
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM} to drive"),
]

# Summaries of every ColumnDataSource in the page: {id: {column: [number of values, their sum]}}.
SOURCES_JS = """() => {
  const out = {};
  const flat = (a) => Array.isArray(a) ? a.flatMap(flat)
      : (ArrayBuffer.isView(a) ? Array.from(a) : (a && a.array ? Array.from(a.array) : [a]));
  for (const doc of Bokeh.documents) for (const m of doc.all_models) {
    const type = m.type || (m.constructor && m.constructor.__name__);
    if (type !== 'ColumnDataSource') continue;
    const d = {};
    for (const [k, v] of (m.data instanceof Map ? m.data.entries() : Object.entries(m.data))) {
      const vals = flat(v).filter(x => typeof x === 'number' && isFinite(x));
      d[k] = [vals.length, Number(vals.reduce((s, x) => s + x, 0).toFixed(6))];
    }
    out[m.id] = d;
  }
  return out;
}"""
_STARTED = """() => [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]
    .some(e => /\\[(\\*|\\d+)\\]/.test(e.textContent))"""
BOKEH_READY = "() => window.Bokeh && Bokeh.documents.length > 0 && Bokeh.documents[0].roots().length > 0"


def _images(sources: dict) -> dict:
    return {k: v["image"] for k, v in sources.items() if "image" in v}


def _curves(sources: dict) -> dict:
    return {k: v["response"] for k, v in sources.items() if "response" in v}


class _Page:
    """A Chromium page that records console errors, page errors and requests to other hosts."""

    def __init__(self, playwright, **context):
        self.browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        self.page = self.browser.new_page(viewport={"width": 1400, "height": 1000}, **context)
        self.errors, self.external = [], []
        self.page.on("console", lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.on("request", lambda r: None if r.url.startswith(
            ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:", "about:")) else self.external.append(r.url))

    def wait_until(self, predicate, what: str, timeout_s: float = 20.0):
        """Poll the Bokeh sources until ``predicate(sources)`` holds; return them."""
        deadline = time.monotonic() + timeout_s
        while True:
            sources = self.page.evaluate(SOURCES_JS)
            if predicate(sources):
                return sources
            if time.monotonic() > deadline:
                raise AssertionError(f"the page never showed {what}; sources: {sources}")
            self.page.wait_for_timeout(250)

    def close(self):
        self.browser.close()


@pytest.fixture(scope="module")
def playwright():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A small stored run with full maps and two conditions (image x contrast)."""
    import torch

    import dynvision
    from dynvision.stimuli import make_images, presentation

    torch.manual_seed(0)
    model = dynvision.create_model("DyRCNNx4", n_classes=4, input_dims=(10, 1, 16, 16), width=0.125)
    stimulus = presentation(make_images("digits", n=2, size=16), dt=2.0, t_pre=4, t_stim=20, t_post=8,
                            contrast=[0.5, 1.0])
    path = tmp_path_factory.mktemp("browser") / "run.zarr"
    dynvision.Simulation(model, progress=False).run(stimulus, store=path)
    return path


def test_served_explorer_follows_the_time_slider_and_area(playwright, store):
    from dynvision.views import serve_explorer
    from dynvision.views.serve import free_port

    port = free_port()
    server = serve_explorer(store, port=port, verbose=False)
    browser = _Page(playwright)
    page = browser.page
    try:
        page.goto(f"http://127.0.0.1:{port}/", timeout=60_000)
        page.wait_for_function(BOKEH_READY, timeout=60_000)
        start = browser.wait_until(lambda s: len(_images(s)) == 2 and _curves(s), "the stimulus and V1 maps")
        activity_id = next(k for k, v in _images(start).items() if v[0] == 16 * 16 and v[1] != 128.0)
        stimulus_id = next(k for k in _images(start) if k != activity_id)
        assert start[stimulus_id]["image"] == [256, 128.0]  # t = 0: a grey (0.5) frame

        handle = page.locator(".noUi-handle").first  # the time slider
        handle.focus()
        for _ in range(6):
            handle.press("ArrowRight")
        page.get_by_text("12 ms", exact=True).first.wait_for(timeout=20_000)  # the slider's value
        moved = browser.wait_until(lambda s: s[activity_id]["image"] != start[activity_id]["image"]
                                   and s[stimulus_id]["image"] != start[stimulus_id]["image"],
                                   "new frames after moving the time slider")
        assert moved[activity_id]["image"][0] == 256  # still V1's 16 x 16 map
        course = _curves(moved)
        assert course == _curves(start)  # the time course stays; only its marker moves

        area = page.locator("select").filter(has=page.locator("option[value='IT']")).first
        area.select_option("V2")
        after = browser.wait_until(lambda s: any(v[0] == 8 * 8 for v in _images(s).values())
                                   and _curves(s) != course, "V2's 8 x 8 map and V2's time course")
        assert moved[stimulus_id]["image"] in _images(after).values()  # the same stimulus frame
        assert browser.errors == [], browser.errors
        assert browser.external == [], f"requests left 127.0.0.1: {browser.external}"
    finally:
        browser.close()
        server.stop()


@pytest.fixture
def lab(tmp_path):
    """JupyterLab on 127.0.0.1 serving a copy of the getting-started tutorial (fast parameters)."""
    from papermill.iorw import load_notebook_node, write_ipynb
    from papermill.parameterize import parameterize_notebook

    from dynvision.views.serve import free_port

    nb = parameterize_notebook(load_notebook_node(str(ROOT / "tutorials" / "01_getting_started.ipynb")),
                               {"fast": True, "output_dir": str(tmp_path / "out")})
    write_ipynb(nb, str(tmp_path / "tutorial.ipynb"))
    port, token = free_port(), secrets.token_hex(16)
    jupyter = Path(sys.executable).with_name("jupyter")
    if not jupyter.exists():
        pytest.skip(f"no jupyter executable beside {sys.executable}")
    env = dict(os.environ, OMP_NUM_THREADS="1", JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    log = open(tmp_path / "lab.log", "w")
    proc = subprocess.Popen(
        [str(jupyter), "lab", "--no-browser", "--allow-root", "--ServerApp.port_retries=0",
         "--ServerApp.ip=127.0.0.1", "--port", str(port), f"--ServerApp.token={token}",
         "--notebook-dir", str(tmp_path), "--LabApp.news_url=",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        stdout=log, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"JupyterLab exited: {(tmp_path / 'lab.log').read_text()[-2000:]}")
                time.sleep(0.2)
        yield f"{base}/lab/tree/tutorial.ipynb?token={token}"
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        shutil.rmtree(tmp_path / "runtime", ignore_errors=True)


def _dismiss_dialogs(page, seen: list) -> None:
    """Accept any modal JupyterLab dialog (e.g. kernel selection on a fresh environment)."""
    for _ in range(5):
        dialog = page.locator(".jp-Dialog")
        if dialog.count() == 0:
            return
        seen.append(dialog.first.inner_text(timeout=5_000)[:200])
        accept = page.locator(".jp-Dialog .jp-mod-accept")
        if accept.count():
            accept.first.click(timeout=5_000)
        else:
            page.keyboard.press("Escape")
        page.wait_for_timeout(500)


def test_notebook_runs_in_jupyterlab_and_its_explorer_responds(playwright, lab):
    browser = _Page(playwright)
    page = browser.page
    try:
        page.goto(lab, timeout=60_000)
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=60_000)
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
        dialogs: list[str] = []
        for _ in range(4):  # "Run All" before the kernel's session is connected runs nothing: retry
            _dismiss_dialogs(page, dialogs)  # and a modal dialog (kernel selection...) blocks the menu
            try:
                page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click(timeout=10_000)
                page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click(timeout=10_000)
                page.wait_for_function(_STARTED, timeout=15_000)
                break
            except Exception:  # noqa: BLE001 - playwright's TimeoutError
                page.keyboard.press("Escape")  # close a menu left open
                continue
        page.locator(".noUi-handle").first.wait_for(timeout=75_000)  # the explorer's time slider
        page.wait_for_function(BOKEH_READY, timeout=30_000)
        start = browser.wait_until(lambda s: len(_images(s)) >= 2, "the explorer's maps")
        # the explorer is the last cell: Run All got there, so no cell raised; and every cell has run
        prompts = page.eval_on_selector_all(".jp-CodeCell .jp-InputArea-prompt", "els => els.map(e => e.textContent)")
        assert prompts and all(p.strip().strip("[]:").isdigit() for p in prompts), prompts
        assert page.locator(".jp-OutputArea-output", has_text="Traceback").count() == 0

        handle = page.locator(".noUi-handle").first
        handle.scroll_into_view_if_needed()
        handle.focus()
        for _ in range(10):
            handle.press("ArrowRight")
        moved = browser.wait_until(lambda s: _images(s) != _images(start),
                                   "new maps after moving the time slider (kernel round trip)", timeout_s=30)
        assert any(v[1] != start.get(k, {}).get("image", [0, None])[1] for k, v in _images(moved).items())
        page.get_by_text("20 ms", exact=True).first.wait_for(timeout=10_000)  # the slider's value
        assert browser.errors == [], (browser.errors, dialogs)
        assert browser.external == [], f"requests left 127.0.0.1: {browser.external}"
    finally:
        browser.close()
