"""The seam between capture and delivery: a recorded action on its way out, and the two
protocols on either side of it (`Delivery` takes actions, `ActionExporter` takes records).

A record's POST body is made when first needed and encoded to JSON once: the outbox stores
exactly that text (on the request path, since it must be durable) and the api exporter sends it
as it is (`content=`); a record kept in memory holds the typed action until someone reads it.
"""

from __future__ import annotations

import json
from typing import Any, Protocol, runtime_checkable

from ..model import Verwerkingsactie, new_uuid4

__all__ = ["ActionExporter", "Delivery", "Record", "encode_body"]

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
