"""The six VNG headers as an OpenTelemetry TextMapPropagator, registered as `verwerkingen`.

    OTEL_PROPAGATORS=tracecontext,verwerkingen

`inject` writes the headers of the current verwerkingsactie (NOTES §4; OIN from the `oin`
setting) into any carrier an instrumentation hands it — requests, urllib3, aiohttp, httpx.
`extract` reads the caller's headers into the OpenTelemetry Context, where `current_afnemer()`
finds them when no middleware of ours set an afnemer, so an app instrumented only by
opentelemetry-instrumentation-flask/-asgi still records its callers. `traceparent` is not this
propagator's business: pair it with `tracecontext`.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.propagators.textmap import (
    CarrierT,
    Getter,
    Setter,
    TextMapPropagator,
    default_getter,
    default_setter,
)

from ..capture import AFNEMER_KEY, current_actie, current_oin, current_pipeline, current_verwerking
from ..model import HEADER_NAMES, afnemer_from_headers, outbound_headers

__all__ = ["VerwerkingenPropagator", "current_outbound_headers"]


def current_outbound_headers() -> dict[str, str]:
    """The six headers for the current verwerkingsactie (or `verwerking(...)` block); empty outside."""

    actie: Any = current_actie() or current_verwerking()
    if actie is None:
        return {}
    pipeline = current_pipeline()
    return outbound_headers(actie, current_oin(pipeline))  # the tenant's OIN, else the `oin` setting


class VerwerkingenPropagator(TextMapPropagator):
    """Reads the six headers into the afnemer; writes those of the current verwerking."""

    def extract(
        self,
        carrier: CarrierT,
        context: otel_context.Context | None = None,
        getter: Getter[CarrierT] = default_getter,  # type: ignore[assignment]
    ) -> otel_context.Context:
        ctx = context if context is not None else otel_context.get_current()
        pairs: list[tuple[str, str]] = []
        for name in HEADER_NAMES:
            values = getter.get(carrier, name) or getter.get(carrier, name.lower())
            if values:
                pairs.extend((name, v) for v in values)
        afnemer = afnemer_from_headers(pairs) if pairs else None
        if afnemer is None:
            return ctx
        return otel_context.set_value(AFNEMER_KEY, afnemer, ctx)

    def inject(
        self,
        carrier: CarrierT,
        context: otel_context.Context | None = None,
        setter: Setter[CarrierT] = default_setter,  # type: ignore[assignment]
    ) -> None:
        # The current verwerkingsactie lives in capture's contextvars, not in `context`.
        for name, value in current_outbound_headers().items():
            setter.set(carrier, name, value)

    @property
    def fields(self) -> set[str]:
        return set(HEADER_NAMES)

