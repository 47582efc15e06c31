"""Wait for a condition, never for a fixed time: `wait_until(condition, timeout=..., what=...)`.

A fixed sleep is either too short on a loaded 2-core machine (a flaky test) or too long
everywhere else (a slow one). Poll the condition the test actually needs, with a deadline that
only a real failure reaches; the failure message says what was awaited.
"""

from __future__ import annotations

import time
from typing import Callable, TypeVar

__all__ = ["wait_until"]

T = TypeVar("T")


def wait_until(condition: Callable[[], T], *, timeout: float = 10.0, interval: float = 0.02,
               what: str = "the condition") -> T:
    """Call `condition` until it returns something truthy and return that; AssertionError at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)  # the poll interval, not a wait for something to happen
