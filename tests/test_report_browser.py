"""A generated run report in headless Chromium: it renders with every image loaded and no console
errors; the screenshot is left in the test's directory.

Under CI (CI=true) scripts/test.sh installs Chromium and its driver from Debian and this test must
run; elsewhere it skips, saying what is missing."""

from __future__ import annotations

import importlib.util
import os
import shutil

import pytest

# Offline and quiet: no first-run pages, no update, sync or background requests (the machines reach
# package registries only), and a profile of its own that no earlier run left state in.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")


def require_browser() -> tuple[str, str]:
    """The chromium and chromedriver executables; skips without them (fails under CI=true, where
    scripts/test.sh installs them, so that CI never passes without opening a report)."""
    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    needed = {"selenium (pip install -e '.[test]')": importlib.util.find_spec("selenium"),
              "chromium": chromium, "chromedriver": chromedriver}
    missing = [name for name, found in needed.items() if not found]
    if missing:
        reason = (f"the report's browser test needs {', '.join(missing)}; "
                  "CI=true bash scripts/test.sh installs Chromium (apt-get install chromium chromium-driver)")
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return chromium, chromedriver


def test_report_renders_with_all_images_and_no_console_errors(trainlab, tmp_path):
    chromium, chromedriver = require_browser()
    from selenium import webdriver

    run_dir = tmp_path / "run"
    code, _, _ = trainlab("train", "image-classification", "--data", "digits", "--quiet", "--out", run_dir,
                          "train.epochs=1", "data.limit=60", "model.channels=[4]", "model.hidden_size=8")
    assert code == 0
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}",
                     "--window-size=412,915"):  # a phone-sized window
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = webdriver.ChromeService(executable_path=chromedriver)
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
