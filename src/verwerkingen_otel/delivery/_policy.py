"""How long to wait before trying a record again: exponential backoff with jitter, Retry-After capped."""

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

    def delay(self, failures: int, retry_after: float | None = None) -> float:
        step = min(self.backoff_max, self.backoff_base * (2 ** max(0, failures - 1)))
        delay = step / 2 + random.random() * step / 2
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.retry_after_cap))
        return delay
