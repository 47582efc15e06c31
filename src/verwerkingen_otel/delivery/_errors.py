"""Delivery's exceptions.

    RuntimeError
     └── RecordingError      the action could not be recorded: the call that processed personal
                             data fails (fail-closed); raised on the request path
    Exception
     ├── OutboxError         the outbox file cannot be opened or written (names the path);
     │                       on the request path it becomes a RecordingError
     └── DeliveryFailure     an exporter could not deliver one record; the worker decides
          ├── RetryableFailure   408/425/429/5xx or a network error: try again (Retry-After)
          ├── AuthFailure        401/403: credentials or grants wrong (retried, reported loudly),
          │                      or a 403 for one record's grant (dead-lettered after 5 tries)
          └── PermanentFailure   any other 4xx: dead-lettered with the log's problem JSON

    ValueError
     └── DestinationsError   a destinations, tenants or peers file is wrong (names file, section,
                             key): raised at configure(), never on the request path

Messages never contain personal data; causes are chained.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AuthFailure",
    "DeliveryFailure",
    "DestinationsError",
    "OutboxError",
    "PermanentFailure",
    "RecordingError",
    "RetryableFailure",
]


class RecordingError(RuntimeError):
    """The action could not be recorded, so the call that processed personal data fails.

    Fail-closed: a processing that cannot be accounted for must not look like a success.
    The message never contains personal data; the cause is chained.
    """


class OutboxError(Exception):
    """The outbox cannot be opened or written. The message names the path, never a record."""


class DeliveryFailure(Exception):
    """An exporter could not deliver a record. Subclasses say whether trying again helps."""


class RetryableFailure(DeliveryFailure):
    """408/425/429/5xx or a network error: try again, after `retry_after` seconds if the log said so."""

    def __init__(self, message: str = "", retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AuthFailure(DeliveryFailure):
    """401/403: credentials or grants are wrong; retried with backoff, reported loudly.

    A 403 (`status`) while the exporter's other records are accepted is that record's grant
    problem: the worker dead-letters it after a few tries, with `problem` (the log's JSON).
    """

    def __init__(self, message: str = "", status: int | None = None,
                 problem: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.problem = problem or {}


class PermanentFailure(DeliveryFailure):
    """Any other 4xx: this record will never be accepted; `problem` is the log's problem JSON."""

    def __init__(self, message: str = "", problem: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.problem = problem or {}


class DestinationsError(ValueError):
    """A mistake in a destinations, tenants or peers file: `where` says file, section and key."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason
