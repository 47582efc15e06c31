"""How long to wait before trying again: per record by its own attempt count, per exporter by its
failure streak; exponential backoff with jitter, Retry-After honoured up to a cap."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Callable

__all__ = ["RetryPolicy"]


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff in seconds: base·2^(n-1) capped at `backoff_max`, with jitter (half to full).

    `jitter` returns a number in [0, 1) (tests inject a fixed one); `refused_attempts` is how
    many 403s a record gets, while its exporter's other records are accepted, before it is
    dead-lettered.
    """

    backoff_base: float = 0.5
    backoff_max: float = 60.0
    retry_after_cap: float = 60.0
    refused_attempts: int = 5
    jitter: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    @classmethod
    def capped(cls, retry_after_max: float) -> RetryPolicy:
        """The policy of the `retry_after_max` setting (or a destination's own): the log's
        Retry-After honoured up to it, backoff steps at most it (between 1 and 60 s)."""
        return cls(retry_after_cap=retry_after_max, backoff_max=max(1.0, min(60.0, retry_after_max)))

    def delay(self, failures: int, retry_after: float | None = None) -> float:
        """A record's wait after its `failures`-th failed try (or an exporter's, by its streak)."""
        step = min(self.backoff_max, self.backoff_base * (2 ** max(0, failures - 1)))
        delay = step / 2 + self.jitter() * step / 2
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.retry_after_cap))
        return delay

    def pause(self, streak: int, retry_after: float | None = None) -> float:
        """How long an exporter holds back after `streak` failures in a row of different records.

        The first failure may be that record's own problem: no pause, the next record goes out
        as a probe at once (only the log's Retry-After holds it back). From the second on the log
        itself is failing: one probe per backoff, so an outage is not hammered.
        """
        if streak <= 1:
            return min(retry_after, self.retry_after_cap) if retry_after is not None else 0.0
        return self.delay(streak - 1, retry_after)
