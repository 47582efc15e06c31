"""How long to wait before trying a record again: exponential backoff with jitter, Retry-After capped.

Backoff is per record, by its own attempt count, so a record that keeps failing never makes the
others wait, and successes of others never reset it (issue 11: a refused record was retried
every 0.25–0.5 s for ever). A failure counts against the whole exporter (a pause, probing one
record at a time) only when none of the exporter's records has been accepted lately (`accepting`).
A 403 while others are accepted is that record's grant problem: dead-lettered after
`forbidden_attempts` tries. 401, and 403 on everything, are retried and never dead-lettered.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["RetryPolicy"]


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff in seconds: base·2^(n-1) capped at `backoff_max`, with jitter (half to full)."""

    backoff_base: float = 0.5
    backoff_max: float = 60.0
    retry_after_cap: float = 60.0
    forbidden_attempts: int = 5
    accept_window: float = 60.0  # seconds: "the exporter's other records are accepted" lately

    def delay(self, failures: int, retry_after: float | None = None) -> float:
        step = min(self.backoff_max, self.backoff_base * (2 ** max(0, failures - 1)))
        delay = step / 2 + random.random() * step / 2
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.retry_after_cap))
        return delay

    def accepting(self, last_delivered: float, now: float) -> bool:
        """Were the exporter's other records accepted lately? Then a failure is the record's own."""
        return now - last_delivered <= max(self.accept_window, self.backoff_max)

    def record_retry(self, attempt: int, retry_after: float | None, now: float, exporter_pause: float = 0.0) -> float:
        """When to try a record again after its `attempt`-th failure. After an exporter-wide pause
        it comes after the pause ends, so the probe that ends the pause is another record."""
        return now + exporter_pause + self.delay(attempt, retry_after)

    def dead_letters_forbidden(self, attempt: int) -> bool:
        return attempt >= self.forbidden_attempts
