"""The inline animation player in a real browser: play advances, the slider seeks, nothing leaves the page."""

from __future__ import annotations

import base64

import imageio.v3 as iio
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM} to drive"),
]


def test_player_plays_and_seeks_offline(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    from dynvision.stimuli import moving_digits
    from dynvision.views import animate

    anim = animate(moving_digits(1, n_frames=8, size=12), fps=20, dpi=30)
    page_file = tmp_path / "player.html"
    page_file.write_text(f"<html><body>{anim.to_html()}</body></html>")
    expected = [base64.b64encode(iio.imwrite("<bytes>", f, extension=".png")).decode()
                for f in anim.frames()]
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            errors, external = [], []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: None if r.url.startswith(("file:", "data:")) else external.append(r.url))
            page.goto(page_file.as_uri())
            shown = lambda: page.eval_on_selector("img", "e => e.src.split(',')[1]")  # noqa: E731
            assert page.inner_text("span") == "frame 0" and shown() == expected[0]
            page.click("button")
            page.wait_for_function("() => document.querySelector('span').textContent === 'frame 7'", timeout=10_000)
            assert page.input_value("input") == "7" and shown() == expected[7]  # played to the end, then stopped
            page.eval_on_selector("input", "e => { e.value = 3; e.dispatchEvent(new Event('input')); }")
            assert page.inner_text("span") == "frame 3" and shown() == expected[3]
            assert errors == [] and external == []
        finally:
            browser.close()
