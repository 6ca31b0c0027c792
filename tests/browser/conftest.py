"""Headless Chromium (Debian's, driven by Playwright) and a JupyterLab on 127.0.0.1 for the browser tests.

Chromium starts with ``--disable-gpu`` (and software rendering may not provide WebGL), so a plot
that only draws with WebGL shows empty axes here: the pixel checks in these tests catch it.

What a page records (:class:`Page`): console errors, page errors, HTTP responses >= 400 (with their
URL, so a failure says which resource) and every request to a host other than 127.0.0.1.
"""

from __future__ import annotations

import io
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parents[2]
LOCAL = ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:", "about:")
SHOTS = os.environ.get("DYNVISION_SCREENSHOTS")
"""A folder to keep every screenshot in (to look at them); unset: screenshots stay in memory."""

# Every ColumnDataSource in the page: {id: {column: [finite numbers...]}} (flattened).
SOURCES_JS = """() => {
  const out = {};
  const flat = (a) => Array.isArray(a) ? a.flatMap(flat)
      : (ArrayBuffer.isView(a) ? Array.from(a) : (a && a.array ? Array.from(a.array) : [a]));
  for (const doc of Bokeh.documents) for (const m of doc.all_models) {
    const type = m.type || (m.constructor && m.constructor.__name__);
    if (type !== 'ColumnDataSource') continue;
    const d = {};
    for (const [k, v] of (m.data instanceof Map ? m.data.entries() : Object.entries(m.data))) {
      d[k] = flat(v).filter(x => typeof x === 'number' && isFinite(x));
    }
    out[m.id] = d;
  }
  return out;
}"""
# The frame (data area) of every rendered Bokeh plot, in page pixels, and its ranges and backend.
FRAMES_JS = """() => {
  const out = [];
  const walk = (view) => {
    if (!view) return;
    if (view.frame && view.el && view.model.x_range) {
      const r = view.el.getBoundingClientRect();
      const f = view.frame.bbox;
      out.push({id: view.model.id, title: view.model.title ? view.model.title.text : '',
                backend: view.model.output_backend, visible: r.width > 0 && r.height > 0,
                right: r.right + window.scrollX,
                x: r.left + f.left + window.scrollX, y: r.top + f.top + window.scrollY,
                width: f.width, height: f.height,
                x_range: [view.model.x_range.start, view.model.x_range.end],
                y_range: [view.model.y_range.start, view.model.y_range.end]});
    }
    for (const child of (view.child_views || [])) walk(child);
  };
  for (const root of Object.values(Bokeh.index)) walk(root);
  return out;
}"""
BOKEH_READY = "() => window.Bokeh && Bokeh.documents.length > 0 && Object.keys(Bokeh.index).length > 0"


class Page:
    """A Chromium page that records errors, failed responses and requests to other hosts."""

    def __init__(self, playwright, width: int = 1280, height: int = 1000, extra_args=(), **context):
        self.browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS + list(extra_args))
        self.page = self.browser.new_page(viewport={"width": width, "height": height}, **context)
        self.errors: list[str] = []
        self.failed: list[str] = []
        self.external: list[str] = []
        self.page.on("console", lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.on("response", lambda r: self.failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        self.page.on("request", lambda r: None if r.url.startswith(LOCAL) else self.external.append(r.url))

    def sources(self) -> dict:
        return self.page.evaluate(SOURCES_JS)

    def frames(self) -> list[dict]:
        return self.page.evaluate(FRAMES_JS)

    def wait_until(self, predicate, what: str, timeout_s: float = 30.0):
        """Poll the Bokeh sources until ``predicate(sources)`` holds; return them."""
        deadline = time.monotonic() + timeout_s
        while True:
            sources = self.sources()
            if predicate(sources):
                return sources
            if time.monotonic() > deadline:
                short = {k: {c: len(v) for c, v in d.items()} for k, d in sources.items()}
                raise AssertionError(f"the page never showed {what}; sources (lengths): {short}")
            self.page.wait_for_timeout(250)

    def screenshot(self, name: str) -> np.ndarray:
        """The whole page as an RGB array (also written to ``$DYNVISION_SCREENSHOTS/<name>.png``)."""
        from PIL import Image

        png = self.page.screenshot(full_page=True)
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            (Path(SHOTS) / f"{name}.png").write_bytes(png)
        return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))

    def close(self) -> None:
        self.browser.close()


def drawn_fraction(shot: np.ndarray, frame: dict, background=(255, 255, 255)) -> float:
    """The fraction of a plot frame's pixels that differ from the background (gridlines excluded
    by ignoring pixels within 12 grey levels of the background, and a 2-px border)."""
    x0, y0 = int(round(frame["x"])) + 2, int(round(frame["y"])) + 2
    x1, y1 = int(frame["x"] + frame["width"]) - 2, int(frame["y"] + frame["height"]) - 2
    area = shot[max(y0, 0):y1, max(x0, 0):x1].astype(int)
    if area.size == 0:
        return 0.0
    differs = np.abs(area - np.array(background)).max(axis=-1) > 12
    return float(differs.mean())


class Server:
    """A static file server on 127.0.0.1 for a folder (a thread; ``stop()`` ends it)."""

    def __init__(self, folder: Path):
        import functools
        import http.server
        import threading

        handler = functools.partial(_QuietHandler, directory=str(folder))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


def _quiet_handler():
    import http.server

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # no access log on stderr
            pass

        def do_GET(self):  # the browser asks for a favicon the files do not have
            if self.path == "/favicon.ico":
                self.send_response(204)
                self.end_headers()
                return
            super().do_GET()

    return Handler


_QuietHandler = _quiet_handler()


def assert_clean(page: Page) -> None:
    """No console or page errors, no failed responses, nothing requested from another host."""
    assert page.external == [], f"requests left 127.0.0.1: {page.external}"
    assert page.failed == [], f"failed responses: {page.failed}"
    assert page.errors == [], page.errors


@pytest.fixture(scope="session")
def playwright():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} to drive")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        yield p


class Lab:
    """A JupyterLab server on 127.0.0.1 serving one folder (see :func:`lab`)."""

    def __init__(self, folder: Path, runtime: Path):
        from dynvision.views.serve import free_port

        jupyter = Path(sys.executable).with_name("jupyter")
        if not jupyter.exists():
            pytest.skip(f"no jupyter executable beside {sys.executable}")
        self.folder, self.port, self.token = folder, free_port(), secrets.token_hex(16)
        # A fresh settings, workspace and runtime folder: nothing from an earlier session (an open
        # console or terminal in a saved workspace) is restored, so the page requests only what
        # this test opens. A restored workspace is what made the page ask for a console that no
        # longer existed (a 404) in some runs.
        home = runtime / "home"
        news = home / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
        news.parent.mkdir(parents=True, exist_ok=True)
        news.write_text('{"fetchNews": "false", "checkForUpdates": false}')  # no news pop-up over the page
        env = dict(os.environ, OMP_NUM_THREADS="1", JUPYTER_RUNTIME_DIR=str(runtime / "runtime"),
                   JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
                   JUPYTERLAB_SETTINGS_DIR=str(home / "settings"), JUPYTER_CONFIG_DIR=str(home / "config"))
        self.log_path = runtime / "lab.log"
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [str(jupyter), "lab", "--no-browser", "--allow-root", "--ServerApp.port_retries=0",
             "--ServerApp.ip=127.0.0.1", "--port", str(self.port), f"--ServerApp.token={self.token}",
             "--notebook-dir", str(folder), "--LabApp.news_url=",
             "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
            stdout=self._log, stderr=subprocess.STDOUT, env=env)
        self.base = f"http://127.0.0.1:{self.port}"
        for _ in range(600):
            try:
                urllib.request.urlopen(f"{self.base}/api/status?token={self.token}", timeout=2)
                return
            except OSError:
                if self.proc.poll() is not None:
                    pytest.fail(f"JupyterLab exited: {self.log_path.read_text()[-2000:]}")
                time.sleep(0.2)
        pytest.fail("JupyterLab did not start in 120 s")

    def url(self, notebook: str) -> str:
        """The address that opens ``notebook`` in a single-document workspace of its own."""
        return f"{self.base}/lab/workspaces/{secrets.token_hex(4)}/tree/{notebook}?reset&token={self.token}"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self._log.close()


@pytest.fixture
def lab(tmp_path):
    """JupyterLab on 127.0.0.1 serving ``tmp_path`` (copy notebooks there first)."""
    runtime = tmp_path / ".lab"
    runtime.mkdir()
    server = Lab(tmp_path, runtime)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(runtime / "runtime", ignore_errors=True)


def write_notebook(path: Path, cells: list[str], title: str = "# browser test") -> Path:
    """A notebook of a title and the given code cells."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(title), *[nbformat.v4.new_code_cell(c) for c in cells]]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


_DONE = """() => { const p = [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')];
    return p.length > 0 && p.every(e => /\\[\\d+\\]/.test(e.textContent)); }"""


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


def run_all(page: Page, url: str, n_cells: int, timeout_s: float = 240.0) -> list[str]:
    """Open a notebook in JupyterLab, wait for its kernel, run every cell in order and wait until all ran.

    Each cell is selected and run from the keyboard (Ctrl+Enter in command mode, which does not
    depend on menus opening in time), and the next one only once this one has run (``[n]``);
    a cell that is neither queued nor run 10 s after its key press is run again. On a loaded
    machine JupyterLab dropped key presses while it set up the kernel connection (the first
    cell lost, the others failing with NameErrors), and it attaches cells progressively: counted
    too early, only the first ran and the test waited for the others forever.

    Args:
        n_cells: How many code cells the notebook has (JupyterLab shows them progressively).

    Returns:
        The texts of dialogs that had to be accepted on the way.
    """
    p = page.page
    p.goto(url, timeout=60_000)
    p.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=60_000)
    p.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000)
    dialogs: list[str] = []
    cells = p.locator(".jp-NotebookPanel .jp-CodeCell")
    # JupyterLab 4 attaches cells progressively: wait for all of them (counting too early ran
    # only the first and then waited forever for the others)
    p.wait_for_function("(n) => document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell').length >= n",
                        arg=n_cells, timeout=60_000)
    prompt = lambda i: cells.nth(i).locator(".jp-InputArea-prompt").first.inner_text()  # noqa: E731
    deadline = time.monotonic() + timeout_s
    for i in range(cells.count()):
        pressed = None
        while not re.search(r"\[\d+\]", prompt(i)) and time.monotonic() < deadline:
            if "*" not in prompt(i) and (pressed is None or time.monotonic() - pressed > 10):
                _dismiss_dialogs(p, dialogs)
                cells.nth(i).locator(".jp-InputPrompt").first.click(timeout=10_000)  # select it
                p.keyboard.press("Escape")  # command mode
                p.keyboard.press("Control+Enter")  # run it, stay on it
                pressed = time.monotonic()
            p.wait_for_timeout(250)
    try:
        p.wait_for_function(_DONE, timeout=timeout_s * 1000)
    except Exception:  # noqa: BLE001 - playwright's TimeoutError: say where it stopped
        prompts = [e.inner_text() for e in p.locator(".jp-CodeCell .jp-InputArea-prompt").all()]
        status = p.locator(".jp-Notebook-ExecutionIndicator").first.get_attribute("data-status")
        page.screenshot("run-all-timeout")
        raise AssertionError(f"not every cell ran within {timeout_s:g} s: prompts {prompts}, kernel {status}, "
                             f"dialogs {dialogs}, page errors {page.errors}") from None
    p.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=timeout_s * 1000)
    return dialogs
