"""A generated run report in headless Chromium: it renders with every image loaded and no console
errors; the screenshot is left in the test's directory. Skipped where Chromium or selenium is absent."""

from __future__ import annotations

import shutil

import pytest

webdriver = pytest.importorskip("selenium.webdriver")


@pytest.mark.slow
@pytest.mark.skipif(not (shutil.which("chromium") and shutil.which("chromedriver")),
                    reason="headless Chromium (chromium, chromedriver) is not installed")
def test_report_renders_with_all_images_and_no_console_errors(trainlab, tmp_path):
    run_dir = tmp_path / "run"
    code, _, _ = trainlab("train", "image-classification", "--data", "digits", "--quiet", "--out", run_dir,
                          "train.epochs=1", "data.limit=60", "model.channels=[4]", "model.hidden_size=8")
    assert code == 0
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=412,915"):
        options.add_argument(argument)  # a phone-sized window
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = webdriver.ChromeService(executable_path=shutil.which("chromedriver"))
    browser = webdriver.Chrome(options=options, service=service)
    try:
        browser.get((run_dir / "report.html").resolve().as_uri())
        images = browser.execute_script(
            "return Array.from(document.images).map(i => [i.alt, i.complete && i.naturalWidth > 0])")
        assert images and all(loaded for _, loaded in images), images
        # Readable on a phone: nothing wider than the window (no sideways scrolling).
        widths = browser.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], widths
        browser.save_screenshot(str(tmp_path / "report.png"))
        errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
        assert errors == []
    finally:
        browser.quit()
    assert (tmp_path / "report.png").stat().st_size > 0
