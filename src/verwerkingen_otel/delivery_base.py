"""The seam between capture and delivery: what a recorded action looks like on its way out.

Capture hands each finished `Verwerkingsactie` to a `Delivery`; a delivery hands `Record`s to
`ActionExporter`s (console, memory, api, ...). Kept apart from both sides so neither imports the
other's machinery.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from .model import Verwerkingsactie, new_uuid4

__all__ = [
    "ActionExporter",
    "AuthFailure",
    "Delivery",
    "DeliveryFailure",
    "PermanentFailure",
    "Record",
    "RecordingError",
    "RetryableFailure",
]


class RecordingError(RuntimeError):
    """The action could not be recorded, so the call that processed personal data fails.

    Fail-closed: a processing that cannot be accounted for must not look like a success.
    The message never contains personal data; the cause is chained.
    """


@dataclass(frozen=True)
class Record:
    """One action on its way: `id` is the Idempotency-Key, the same on every try."""

    id: str
    body: dict[str, Any] = field(repr=False)  # holds BSNs: kept out of reprs, logs and tracebacks

    @classmethod
    def of(cls, actie: Verwerkingsactie) -> Record:
        """A new record for `actie`: a fresh uuid4 and exactly the POST body.

        Filled like the frozen __init__ would, without its two object.__setattr__ calls (a
        third of a microsecond on the request path); equality, hash and repr are the same.
        """
        record = _new(cls)
        fields = record.__dict__
        fields["id"] = new_uuid4()
        fields["body"] = actie.to_api()
        return record


_new = object.__new__


class DeliveryFailure(Exception):
    """An exporter could not deliver a record. Subclasses say whether trying again helps."""


class RetryableFailure(DeliveryFailure):
    """408/429/5xx or a network error: try again, after `retry_after` seconds if the log said so."""

    def __init__(self, message: str = "", retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AuthFailure(DeliveryFailure):
    """401/403: credentials or grants are wrong; retried with backoff, reported loudly."""


class PermanentFailure(DeliveryFailure):
    """Any other 4xx: this record will never be accepted; `problem` is the log's problem JSON."""

    def __init__(self, message: str = "", problem: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.problem = problem or {}


@runtime_checkable
class ActionExporter(Protocol):
    """A sink for records. `export` raises a DeliveryFailure (subclass) when it cannot deliver."""

    name: str

    def export(self, record: Record) -> None: ...

    def shutdown(self) -> None: ...


@runtime_checkable
class Delivery(Protocol):
    """How actions reach every configured exporter. Owns its exporters (shuts them down).

    `submit` runs on the request path, before the decorated call returns; it raises
    RecordingError when the action cannot be recorded. Timeouts are seconds.
    """

    def submit(self, actie: Verwerkingsactie) -> None: ...

    def force_flush(self, timeout: float = 5.0) -> bool: ...

    def shutdown(self, timeout: float = 5.0) -> bool: ...
