"""Headless Chromium driven by Selenium, for the playground's browser tests and its benchmark.

Uses the system's Chromium and chromedriver (Debian: ``apt-get install chromium chromium-driver``);
nothing is downloaded. Selenium is a test dependency, imported only here.
"""

from __future__ import annotations

import shutil
import tempfile
from typing import Any

__all__ = ["FLAGS", "find_chromium", "headless_chromium"]

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1360,900")
_BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def find_chromium() -> tuple[str, str] | None:
    """(browser, driver) paths of a Chromium and its chromedriver on PATH, or None when either is missing."""
    browser = next((p for name in _BROWSERS if (p := shutil.which(name))), None)
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def headless_chromium(browser: str, driver: str) -> Any:
    """A Selenium WebDriver for headless Chromium with a fresh profile (``.quit()`` it when done)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument("--user-data-dir=" + tempfile.mkdtemp(prefix="deltaprop-chromium-"))
    return webdriver.Chrome(service=Service(driver), options=options)
