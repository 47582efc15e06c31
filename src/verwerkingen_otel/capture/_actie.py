"""The action being recorded: what `current_actie()` returns and `with verwerkingsactie(...) as actie`
binds. Holds the effective values (after the precedence rules), which outbound calls propagate
as headers, and the objects collected so far."""

from __future__ import annotations

import datetime as dt
from contextvars import ContextVar, Token
from typing import Any, Iterable

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span

from ..model import (
    ACTIE_NAAM,
    BEWAARTERMIJN,
    VERTROUWELIJKHEID,
    VERWERKING_ID,
    VERWERKING_NAAM,
    VERWERKINGSACTIVITEIT_ID,
    VERWERKINGSACTIVITEIT_URL,
    Vertrouwelijkheid,
)
from ._clock import tijdstip_of
from ._object_parts import Part, render_object

__all__ = ["Actie", "actie_var", "current_actie"]

_EMPTY_CONTEXT = Context()


class Actie:
    """The action being recorded: what `current_actie()` returns and `with ... as actie` binds.

    Exposes the effective values (after the precedence rules), which outbound calls propagate
    as headers, and `add_object` for persons known only at run time. The values live in the
    attributes this action's span started with; the properties read them from there.
    """

    __slots__ = ("span", "attributes", "tijdstip_us", "pipeline", "base_values", "_label", "_parts", "_strict", "_token",
                 "_context")

    span: Span
    attributes: dict[str, str]
    tijdstip_us: int
    pipeline: Any  # the Pipeline the action began under: it records the action too
    base_values: dict[str, Any] | None  # the typed action's fields shared by its annotation, when they hold
    _label: str
    _parts: list[Part]
    _strict: bool
    _token: Token[Actie | None]
    _context: Context | None

    @property
    def actie_naam(self) -> str | None:
        return self.attributes.get(ACTIE_NAAM)

    @property
    def verwerking_id(self) -> str:
        return self.attributes[VERWERKING_ID]

    @property
    def verwerking_naam(self) -> str | None:
        return self.attributes.get(VERWERKING_NAAM)

    @property
    def verwerkingsactiviteit_id(self) -> str | None:
        return self.attributes.get(VERWERKINGSACTIVITEIT_ID)

    @property
    def verwerkingsactiviteit_url(self) -> str | None:
        return self.attributes.get(VERWERKINGSACTIVITEIT_URL)

    @property
    def vertrouwelijkheid(self) -> Vertrouwelijkheid:
        return Vertrouwelijkheid(self.attributes[VERTROUWELIJKHEID])

    @property
    def bewaartermijn(self) -> str | None:
        return self.attributes.get(BEWAARTERMIJN)

    @property
    def tijdstip(self) -> dt.datetime:
        """When the action started (UTC, microseconds): the recorded `tijdstip`."""
        return tijdstip_of(self.tijdstip_us)

    def add_object(
        self,
        object_id: object = None,
        *,
        objecttype: str = "persoon",
        soort_object_id: str = "BSN",
        betrokkenheid: str | None = None,
        soorten_gegevens: Iterable[str] = (),
        label: str = "add_object",
    ) -> None:
        """Record that this action processed the data of one more person (or object).

        A BSN may be a str or an int. An invalid value is handled like an invalid argument:
        recorded with objectId withheld and a warning, or ValidationError under `strict`;
        `label` is what that warning or error calls the object (never its value).
        """
        part = render_object(
            object_id,
            objecttype=objecttype,
            soort_object_id=soort_object_id,
            betrokkenheid=betrokkenheid,
            soorten_gegevens=soorten_gegevens,
            label=label,
            actie_label=self._label,
            strict=self._strict,
        )
        if part is not None:
            self._parts.append(part)

    @property
    def object_count(self) -> int:
        return len(self._parts)

    def span_context(self) -> Context:
        """An OpenTelemetry context whose span is this action (parent of nested actions)."""
        if self._context is None:  # made on first use: most actions have no nested ones
            self._context = trace.set_span_in_context(self.span, _EMPTY_CONTEXT)
        return self._context

    def __repr__(self) -> str:
        return f"<Actie {self.actie_naam!r} verwerking_id={self.verwerking_id!r}>"


actie_var: ContextVar[Actie | None] = ContextVar("verwerkingen_actie", default=None)


def current_actie() -> Actie | None:
    """The action being recorded in this context, or None outside any."""
    return actie_var.get()
