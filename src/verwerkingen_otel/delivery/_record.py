"""The seam between capture and delivery: a recorded action on its way out, and the two
protocols on either side of it (`Delivery` takes actions, `ActionExporter` takes records).

A record's POST body is made when first needed and encoded to JSON once: the outbox stores
exactly that text (on the request path, since it must be durable) and the api exporter sends it
as it is (`content=`); a record kept in memory holds the typed action until someone reads it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from ..model import Verwerkingsactie, new_uuid4

__all__ = ["ActionExporter", "Delivery", "Record", "SpanInfo", "encode_body", "split_span", "wants_span", "with_span"]

encode_body = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
"""The POST body as compact JSON text (non-ASCII kept as is: the API speaks UTF-8)."""


class Record:
    """One action on its way: `id` is the Idempotency-Key, the same on every try.

    Made from the typed action, the body (a dict) or its JSON text (`content`, an outbox row);
    the other forms are derived on first use. BSNs inside are kept out of the repr.
    """

    __slots__ = ("id", "_actie", "_body", "_content")

    def __init__(self, id: str, body: dict[str, Any] | None = None, content: str | None = None,
                 actie: Verwerkingsactie | None = None) -> None:
        if body is None and content is None and actie is None:
            raise ValueError("a Record needs its action, its body or its content")
        self.id = id
        self._actie = actie
        self._body = body
        self._content = content

    @classmethod
    def of(cls, actie: Verwerkingsactie) -> Record:
        """A new record for `actie`: a fresh uuid4; its POST body is made when first read."""
        return cls(new_uuid4(), actie=actie)

    @property
    def body(self) -> dict[str, Any]:
        """The POST body as a dict (each reader gets the same dict: treat it as read-only)."""
        if self._body is None:
            if self._actie is not None:
                self._body = self._actie.to_api()
            else:
                self._body = json.loads(self._content)  # type: ignore[arg-type]
        return self._body

    @property
    def content(self) -> str:
        """The POST body as JSON text: exactly what is sent."""
        if self._content is None:
            self._content = encode_body(self.body)
        return self._content

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Record) and other.id == self.id and other.body == self.body

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"Record(id={self.id!r})"


@dataclass(frozen=True)
class SpanInfo:
    """Where and when an action ran, for exporters that write spans of their own (LDV).

    Ids in lowercase hex, times in nanoseconds since the epoch; `error_type` is the qualified
    class name of the exception the processing raised (never its message).
    """

    trace_id: str
    span_id: str
    parent_span_id: str | None
    start_ns: int
    end_ns: int
    error_type: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"traceId": self.trace_id, "spanId": self.span_id, "parentSpanId": self.parent_span_id,
                "start": self.start_ns, "end": self.end_ns, "errorType": self.error_type}

    @classmethod
    def from_json(cls, data: Any) -> SpanInfo | None:
        if not isinstance(data, dict):
            return None
        try:
            return cls(str(data["traceId"]), str(data["spanId"]), data.get("parentSpanId"), int(data["start"]),
                       int(data["end"]), data.get("errorType"))
        except (KeyError, TypeError, ValueError):
            return None


def wants_span(exporter: object) -> bool:
    """An exporter that sets `wants_span = True` gets its records' span with the body."""
    return getattr(exporter, "wants_span", False) is True


def with_span(content: str, span: SpanInfo | None) -> str:
    """The record body for an exporter that wants the span: `{"span": …, "actie": <POST body>}`."""
    return '{"span":' + encode_body(span.to_json() if span is not None else None) + ',"actie":' + content + "}"


def split_span(body: dict[str, Any]) -> tuple[dict[str, Any], SpanInfo | None]:
    """(the POST body, its span) from a body made by `with_span`; a plain POST body has no span."""
    if set(body) == {"span", "actie"} and isinstance(body["actie"], dict):
        return body["actie"], SpanInfo.from_json(body["span"])
    return body, None


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
    RecordingError when the action cannot be recorded. Timeouts are seconds. `span`, when
    given, reaches the exporters that want it (`wants_span`); capture passes it only then.
    """

    def submit(self, actie: Verwerkingsactie, span: SpanInfo | None = None) -> None: ...

    def force_flush(self, timeout: float = 5.0) -> bool: ...

    def shutdown(self, timeout: float = 5.0) -> bool: ...
