"""What an HTTP answer from the log means: its failure kind, and when to ask again.

The one mapping from status code to failure kind in this project. The client raises its
exceptions by it and the `api` exporter sorts records by it, so the two can never disagree
on which answers are worth retrying:

| status                         | kind           | what the caller does                        |
|--------------------------------|----------------|---------------------------------------------|
| 2xx                            | `"ok"`         | read the answer                             |
| 408, 425, 429, 5xx             | `"retry"`      | send the same request again later           |
| 401, 403                       | `"auth"`       | fix credentials or grants; the request is fine |
| every other 4xx                | `"permanent"`  | the log refuses this request: do not repeat |
| 1xx, 3xx, anything else        | `"unexpected"` | a proxy or a wrong URL in between, not the log's verdict: retry |

408 (the request timed out before it arrived whole) and 425 (too early, TLS early data) say
nothing about the request itself, so they are retried like 429 and 5xx.
"""

from __future__ import annotations

import datetime as dt
import time
from email.utils import parsedate_to_datetime
from typing import Literal

__all__ = ["FailureKind", "failure_kind", "parse_retry_after"]

FailureKind = Literal["ok", "retry", "auth", "permanent", "unexpected"]

_RETRY = frozenset({408, 425, 429})
_AUTH = frozenset({401, 403})


def failure_kind(status: int) -> FailureKind:
    """The kind of answer `status` is: "ok", "retry", "auth", "permanent" or "unexpected"."""
    if 200 <= status <= 299:
        return "ok"
    if status in _RETRY or 500 <= status <= 599:
        return "retry"
    if status in _AUTH:
        return "auth"
    if 400 <= status <= 499:
        return "permanent"
    return "unexpected"


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date; None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))
