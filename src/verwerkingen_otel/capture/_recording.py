"""What one call of a decorated function records, apart from the decorator's own bookkeeping:
the parent of its span, the error type, the span's ids for delivery, and the typed action
built from the values capture already validated."""

from __future__ import annotations

import inspect
import logging
import time
from typing import Any, Callable

from opentelemetry import trace
from opentelemetry.context import Context

from ..model import (
    IDENTIFICATOR_MAX,
    SCALAR_ATTRIBUTES,
    VERTROUWELIJKHEID,
    VERWERKING_ID,
    FieldError,
    ValidationError,
    Vertrouwelijkheid,
    Verwerkingsactie,
)
from ..delivery import SpanInfo
from ._actie import Actie
from ._clock import tijdstip_of
from ._context import current_inbound_trace
from ._objects import Part

__all__ = [
    "action_values", "bad_gebruiker", "build_verwerkingsactie", "error_type", "root_context", "signature_of", "span_info",
]

logger = logging.getLogger("verwerkingen_otel.capture")

_VERTROUWELIJKHEDEN = {v.value: v for v in Vertrouwelijkheid}
_EMPTY_CONTEXT = Context()


def root_context() -> Context:
    """A top-level action's parent: the caller's inbound trace (set by the web middleware), if any."""
    inbound = current_inbound_trace()
    if inbound is None:
        return _EMPTY_CONTEXT
    return trace.set_span_in_context(trace.NonRecordingSpan(inbound), _EMPTY_CONTEXT)


def error_type(exc: BaseException) -> str:
    cls = type(exc)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def span_info(span: Any, exc: BaseException | None) -> SpanInfo | None:
    """Where and when the action ran, read through the span's public API (None: no valid span,
    e.g. OTEL_SDK_DISABLED; the LDV exporter then starts a trace of its own)."""
    context = span.get_span_context()
    if not context.is_valid:
        return None
    parent = getattr(span, "parent", None)  # ReadableSpan.parent: the SDK's public property
    start = getattr(span, "start_time", None) or time.time_ns()
    return SpanInfo(
        trace_id=format(context.trace_id, "032x"), span_id=format(context.span_id, "016x"),
        parent_span_id=format(parent.span_id, "016x") if parent is not None and parent.is_valid else None,
        start_ns=start, end_ns=max(start, time.time_ns()),
        error_type=error_type(exc) if exc is not None else None,
    )


def signature_of(fn: Callable[..., Any]) -> inspect.Signature | None:
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):
        return None


def bad_gebruiker(label: str, strict: bool) -> None:
    reason = f"must be a string of at most {IDENTIFICATOR_MAX} characters"
    if strict:
        raise ValidationError([FieldError("gebruiker", "max_length", reason)])
    logger.warning("verwerkingsactie %s: gebruiker %s; recorded without gebruiker", label, reason)


def action_values(attributes: dict[str, str]) -> dict[str, Any]:
    """The typed action's fields held in span attributes (tijdstip and objects still to fill)."""
    get = attributes.get
    values: dict[str, Any] = {field: get(key) for field, key in SCALAR_ATTRIBUTES}
    values["vertrouwelijkheid"] = _VERTROUWELIJKHEDEN[attributes[VERTROUWELIJKHEID]]
    return values


def build_verwerkingsactie(actie: Actie, parts: list[Part]) -> Verwerkingsactie:
    """The typed action from what capture collected: every value was validated when it came in.

    An action whose attributes are its annotation's shared ones plus only its verwerkingId (no
    tenant, caller, verwerking, parent or gebruiker: `actie.base_values` set) starts from the
    fields made once from those shared attributes, instead of mapping every attribute again.
    """
    base_values = actie.base_values
    if base_values is None:
        values = action_values(actie.attributes)
    else:
        values = base_values.copy()
        values["verwerking_id"] = actie.attributes[VERWERKING_ID]
    values["tijdstip"] = tijdstip_of(actie.tijdstip_us)
    values["verwerkte_objecten"] = (parts[0][0],) if len(parts) == 1 else tuple([obj for obj, _ in parts])
    return Verwerkingsactie.from_trusted(values)
