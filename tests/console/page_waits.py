"""Waiting on a page that htmx keeps rewriting (import after selenium's importorskip)."""

from __future__ import annotations

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.support.wait import WebDriverWait


def wait_for(driver, condition, timeout: float = 30, message: str = ""):
    # htmx replaces fragments under our feet: an element found a moment ago may be gone; look again.
    waiting = WebDriverWait(driver, timeout, 0.2, ignored_exceptions=(StaleElementReferenceException,))
    return waiting.until(lambda d: condition(d), message)
