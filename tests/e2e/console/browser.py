"""Debian's chromium, headless, driven by Selenium through Debian's chromedriver; screenshots as test
artifacts and axe-core (from node_modules) injected into a page to check it for accessibility problems."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from devstack.stack import ROOT

CHROMIUM = Path(os.environ.get("CHROMIUM_BINARY", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("CHROMEDRIVER_PATH", "/usr/bin/chromedriver"))
"""Debian's chromium and chromedriver; ``CHROMIUM_BINARY`` and ``CHROMEDRIVER_PATH`` point elsewhere (a CI runner
whose distribution ships chromium as a snap, with Chrome and its driver preinstalled)."""
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts" / "console"
"""Where each page's screenshot goes (gitignored)."""
BLOCKING_IMPACTS = frozenset({"serious", "critical"})
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1000",
)


@contextmanager
def chromium() -> Iterator[WebDriver]:
    """A headless chromium with a fresh profile, closed (and its profile removed) at the end."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if missing:
        raise RuntimeError(f"{', '.join(missing)} missing: `make test-env` installs chromium and chromium-driver")
    profile = tempfile.mkdtemp(prefix="console-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    try:
        driver.set_page_load_timeout(30)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def screenshot(driver: WebDriver, name: str) -> Path:
    """The whole page as ``test-artifacts/console/<name>.png``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^a-z0-9-]+', '-', name.lower())}.png"
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, max(1000, min(int(height), 6000)))
    driver.save_screenshot(str(path))
    driver.set_window_size(1280, 1000)
    return path


def accessibility_violations(driver: WebDriver) -> list[dict[str, Any]]:
    """axe-core's violations of impact serious or critical on the current page."""
    driver.execute_script(AXE.read_text())
    violations: list[dict[str, Any]] = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']})"
        ".then(r => done(r.violations)).catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e)}]));"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n.get("target") for n in v["nodes"]]}
        for v in violations
        if v.get("impact") in BLOCKING_IMPACTS
    ]


def wait_for_text(driver: WebDriver, selector: str, text: str, timeout: float = 15.0) -> None:
    """Wait until the element at ``selector`` contains ``text`` (elements replaced meanwhile, by a navigation or an
    htmx swap, are looked up again)."""
    WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: any(text in element.text for element in d.find_elements(By.CSS_SELECTOR, selector)),
        message=f"{selector!r} never showed {text!r}",
    )
