"""Fixtures for the console: a data root with the workshop's bucket of tiny .rec files, a platform to render
pages over, and a headless Chromium (skipped, with the reason, where chromium or chromium-driver is absent;
CI installs both)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from console_servers import birds_bucket

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,2000",
)


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    return birds_bucket(tmp_path_factory.mktemp("data"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    # Keep each phase's report on the test, so the browser fixture knows whether to take a screenshot.
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _chromium() -> tuple[str, str] | None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


@pytest.fixture
def browser(request, tmp_path) -> Iterator[object]:
    """A fresh headless Chromium; on a failed test, a screenshot in the test's tmp dir."""
    found = _chromium()
    if found is None:
        if os.environ.get("ROOST_BROWSER_TESTS") == "required":
            pytest.fail("ROOST_BROWSER_TESTS=required (CI) but chromium or chromedriver is not installed")
        pytest.skip(
            "the browser tests need Debian's chromium and chromium-driver "
            "(apt-get install chromium chromium-driver; CI installs them)"
        )
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="the browser tests need selenium (pip install selenium)"
    )
    options = webdriver.ChromeOptions()
    options.binary_location = found[0]
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=found[1]))
    driver.implicitly_wait(0)
    yield driver
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        shot = tmp_path / "failure.png"
        driver.save_screenshot(str(shot))
        print(f"screenshot of the failure: {shot}")
    driver.quit()
