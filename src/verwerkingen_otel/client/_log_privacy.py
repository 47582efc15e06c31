"""Keep BSNs out of httpx's own log lines.

httpx logs every request at INFO as `HTTP Request: GET <url> "HTTP/1.1 200 OK"`. The standard's
list and Inzage queries name the person in the URL (`objectId=<BSN>`), so an application that
logs at INFO would write BSNs into its ordinary log through this client. A filter on httpx's
logger masks the value of every `objectId` query parameter in those lines (`objectId=***`);
the rest of the line, and every other httpx line, stays as it was. Installed once, by the first
client made.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

import httpx

__all__ = ["PersonQueryFilter", "hide_persons_in_httpx_log"]

_PERSON = re.compile(r"([?&]objectId=)[^&#\s\"]*", re.IGNORECASE)
_lock = threading.Lock()


def _masked(arg: Any) -> Any:
    text = arg if isinstance(arg, str) else str(arg) if isinstance(arg, httpx.URL) else None
    if text is None or "objectid=" not in text.lower():
        return arg
    return _PERSON.sub(r"\1***", text)


class PersonQueryFilter(logging.Filter):
    """Masks `objectId=` values in the message and arguments of httpx's records."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(_masked(a) for a in record.args)
        if isinstance(record.msg, str) and "objectid=" in record.msg.lower():
            record.msg = _PERSON.sub(r"\1***", record.msg)
        return True


def hide_persons_in_httpx_log() -> None:
    """Add the filter to the `httpx` logger (idempotent)."""
    logger = logging.getLogger("httpx")
    with _lock:
        if not any(isinstance(f, PersonQueryFilter) for f in logger.filters):
            logger.addFilter(PersonQueryFilter())
