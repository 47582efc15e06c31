"""A real headless Chromium (Debian's chromium + chromium-driver) driven by selenium, for page tests.

`browser(tmp_path)` starts one with a fresh profile and a download folder; `Browser.urls()` is every
URL the browser requested or navigated to so far (from Chrome's performance log), so a test can
prove that something never appeared in one. Without /usr/bin/chromium the tests skip locally and
FAIL when CI is set (.ci/run installs it).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Callable

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--lang=nl-NL",
         "--window-size=1280,900", "--disable-dev-shm-usage"]


class Browser:
    def __init__(self, tmp: Path) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
            if os.environ.get("CI"):
                pytest.fail(f"CI is set but {CHROMIUM} or {CHROMEDRIVER} is missing: .ci/run should install them")
            pytest.skip("chromium / chromium-driver not installed")
        self.downloads = tmp / "downloads"
        self.downloads.mkdir()
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={tmp / 'profile'}")
        options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
        options.add_experimental_option("prefs", {"download.default_directory": str(self.downloads),
                                                  "download.prompt_for_download": False,
                                                  "intl.accept_languages": "nl-NL,nl"})
        self.driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
        self.driver.execute_cdp_cmd("Browser.setDownloadBehavior",
                                    {"behavior": "allow", "downloadPath": str(self.downloads)})
        self._urls: list[str] = []

    def urls(self) -> list[str]:
        """Every URL requested or shown so far (page loads, form posts, redirects, style sheets)."""
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message.get("method") in ("Network.requestWillBeSent", "Page.frameNavigated"):
                params = message["params"]
                url = params.get("request", {}).get("url") or params.get("frame", {}).get("url")
                if url:
                    self._urls.append(url)
        self._urls.append(self.driver.current_url)
        return list(self._urls)

    def find(self, css: str) -> Any:
        from selenium.webdriver.common.by import By
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> list[Any]:
        from selenium.webdriver.common.by import By
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def fill(self, css: str, value: str) -> None:
        field = self.find(css)
        if field.get_attribute("type") == "date":  # typing into a date input depends on the locale
            self.driver.execute_script("arguments[0].value = arguments[1]", field, value)
        else:
            field.clear()
            field.send_keys(value)

    def wait_for(self, condition: Callable[[], Any], timeout: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError("browser condition not met before the deadline")
            time.sleep(0.05)

    def download(self, suffix: str) -> Path:
        """The finished download with this suffix (waits for it)."""
        return self.wait_for(lambda: next((p for p in self.downloads.iterdir() if p.suffix == suffix), None))

    def screenshot(self, path: Path) -> None:
        """A full-page PNG: the window is made as tall as the page first."""
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        self.driver.set_window_size(1280, max(600, min(int(height) + 20, 3000)))
        self.driver.save_screenshot(str(path))
        self.driver.set_window_size(1280, 900)

    def quit(self) -> None:
        self.driver.quit()
