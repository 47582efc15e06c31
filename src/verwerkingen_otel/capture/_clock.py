"""The action's `tijdstip`: now, strictly increasing within the process at microsecond precision
(ARCHITECTURE "Time"), so successive actions never share or reverse their order."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time

__all__ = ["next_tijdstip_us", "tijdstip_of", "tijdstip_text"]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_timedelta = dt.timedelta
_clock_lock = threading.Lock()
_last_us = 0


def next_tijdstip_us() -> int:
    """Now in microseconds since the epoch, one more than the last value if the clock lags."""
    global _last_us
    now = time.time_ns() // 1000
    with _clock_lock:
        if now <= _last_us:
            now = _last_us + 1
        _last_us = now
    return now


def _new_clock_lock() -> None:
    global _clock_lock
    _clock_lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # a child must not inherit a lock held at fork time
    os.register_at_fork(after_in_child=_new_clock_lock)


def tijdstip_of(us: int) -> dt.datetime:
    return _EPOCH + _timedelta(0, 0, us)  # positional: cheaper than microseconds=us


_iso_second = (-1, "")


def tijdstip_text(us: int) -> str:
    """`tijdstip_of(us).isoformat(timespec="microseconds")`, reusing the text of the same second."""
    global _iso_second
    second, fraction = divmod(us, 1_000_000)
    cached_second, prefix = _iso_second
    if second != cached_second:
        prefix = (_EPOCH + dt.timedelta(seconds=second)).isoformat()[:19]
        _iso_second = (second, prefix)
    return f"{prefix}.{fraction:06d}+00:00"
