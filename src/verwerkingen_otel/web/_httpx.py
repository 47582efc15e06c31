"""Outbound httpx: send `traceparent` and the six VNG headers of the current verwerkingsactie.

    instrument()                      # every httpx.Client and AsyncClient in the process
    instrument_client(client)         # just this one client (event hook)

Inside a verwerkingsactie each request gets the six headers (NOTES §4; OIN from the `oin`
setting) and, unless one is already there (e.g. from opentelemetry-instrumentation-httpx), W3C
trace context: a short client span of its own on the verwerkingen provider (a child of the
action's span, never on the application's provider), whose id is the `traceparent` parent-id,
so each call of an action is told apart and the provider's action joins the trace; and the
caller's `tracestate` unchanged, when the action continues the caller's trace and the caller
sent a valid one (W3C: passed on as received; an invalid one was dropped on the way in).
Outside an action nothing is added. With the `propagate_to` setting only the hosts it names get
the six headers (`traceparent` still goes everywhere, as OpenTelemetry sends it). Headers are set, never appended, so instrumenting twice or
combining both ways never sends a header twice.

Untraced requests: a request whose extensions carry `verwerkingen.untraced` (any true value)
is left alone — the delivery worker marks its calls to the log this way, so recording an action
never becomes a processing of its own:

    client.post(url, json=body, extensions={UNTRACED: True})

OpenTelemetry's `suppress_instrumentation()` (opentelemetry.instrumentation.utils) is honoured
as well; a worker that runs inside it is also skipped by every other OpenTelemetry
instrumentation (opentelemetry-instrumentation-httpx creates no span for it).

Sync and async clients share one implementation: the headers are added before `send` starts.
"""

from __future__ import annotations

from typing import Any

import httpx
import wrapt
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from ..capture import current_actie, current_inbound_trace, current_inbound_tracestate, current_pipeline, host_allowed
from ._propagator import current_outbound_headers

__all__ = ["UNTRACED", "add_headers", "instrument", "instrument_client", "is_instrumented", "uninstrument"]

UNTRACED = "verwerkingen.untraced"
"""httpx request extension that keeps a request free of our headers (the delivery worker)."""

_W3C = TraceContextTextMapPropagator()


def add_headers(request: httpx.Request) -> None:
    """Put the current verwerking's headers on `request` (no-op outside an action)."""
    if request.extensions.get(UNTRACED):
        return
    headers = current_outbound_headers()
    if not headers or _suppressed():
        return
    if _may_receive_vng_headers(request.url.host):  # traceparent below goes everywhere
        for name, value in headers.items():
            request.headers[name] = value
    if "traceparent" not in request.headers:
        actie = current_actie()
        if actie is not None:
            _add_trace_context(request, actie)


def _add_trace_context(request: httpx.Request, actie: Any) -> None:
    """`traceparent` from a client span of this call (child of the action's span), `tracestate`."""
    client = actie.pipeline.tracer.start_span(
        f"HTTP {request.method}", context=actie.span_context(), kind=SpanKind.CLIENT,
        attributes={"http.request.method": request.method},  # never the URL: it may hold a BSN
    )
    try:
        carrier: dict[str, str] = {}
        _W3C.inject(carrier, context=trace.set_span_in_context(client))
        if "traceparent" not in carrier:  # a provider shut down or disabled: no trace context
            return
        request.headers["traceparent"] = carrier["traceparent"]
    finally:
        client.end()
    inbound = current_inbound_trace()
    tracestate = current_inbound_tracestate()
    if tracestate and inbound is not None and inbound.trace_id == client.get_span_context().trace_id:
        request.headers["tracestate"] = tracestate


def _may_receive_vng_headers(host: str) -> bool:
    """The `propagate_to` setting (VERWERKINGEN_PROPAGATE_TO): unset, every host may."""
    pipeline = current_pipeline()
    patterns = pipeline.settings.propagate_to if pipeline is not None else None
    return host_allowed(host, patterns)


def _enabled_check() -> Any:
    """OpenTelemetry's public "is instrumentation on here?" helper, from the `instrument` extra
    (opentelemetry-instrumentation); None without it. The one place that knows where it lives."""
    try:
        from opentelemetry.instrumentation import utils
    except ImportError:
        return None
    return getattr(utils, "is_http_instrumentation_enabled", None) or getattr(utils, "is_instrumentation_enabled", None)


_is_enabled = _enabled_check()


def _suppressed() -> bool:
    """OpenTelemetry's own "leave this alone" (`suppress_instrumentation()`) is honoured too.

    Without the helper (no `instrument` extra) nothing outside the SDK can suppress, and the
    string key some older code sets is the only other sign."""
    if _is_enabled is not None:
        return not _is_enabled()
    return bool(otel_context.get_value("suppress_instrumentation"))


def _send_wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    request = args[0] if args else kwargs.get("request")
    if isinstance(request, httpx.Request):
        add_headers(request)
    return wrapped(*args, **kwargs)  # for AsyncClient: the coroutine, awaited by the caller


def instrument() -> None:
    """Instrument `send` of every httpx.Client and httpx.AsyncClient (idempotent)."""
    for cls in (httpx.Client, httpx.AsyncClient):
        if not isinstance(cls.__dict__["send"], wrapt.FunctionWrapper):
            wrapt.wrap_function_wrapper(cls, "send", _send_wrapper)


def uninstrument() -> None:
    for cls in (httpx.Client, httpx.AsyncClient):
        send = cls.__dict__["send"]
        if isinstance(send, wrapt.FunctionWrapper):
            setattr(cls, "send", send.__wrapped__)


def is_instrumented() -> bool:
    return isinstance(httpx.Client.__dict__["send"], wrapt.FunctionWrapper)


def _sync_hook(request: httpx.Request) -> None:
    add_headers(request)


async def _async_hook(request: httpx.Request) -> None:
    add_headers(request)


def instrument_client(client: httpx.Client | httpx.AsyncClient) -> None:
    """Instrument one client through its request event hooks (idempotent)."""
    hook: Any = _async_hook if isinstance(client, httpx.AsyncClient) else _sync_hook
    hooks = client.event_hooks
    if hook not in hooks["request"]:
        hooks["request"] = [*hooks["request"], hook]
        client.event_hooks = hooks
