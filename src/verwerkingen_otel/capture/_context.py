"""What is known about the current request and verwerking, kept in contextvars.

Context flows into threads and asyncio tasks the way contextvars do: a new task copies the
context it was created in; a thread pool does not, so submit work through
`contextvars.copy_context().run` (see `run_in_context`). Web middleware sets the afnemer for one
request; `verwerking(...)` and `verwerkingsactie(...)` set the rest.
"""

from __future__ import annotations

import contextvars
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Protocol, TypeVar

from opentelemetry import context as otel_context
from opentelemetry.trace import SpanContext

from ..model import Afnemer

__all__ = [
    "AFNEMER_KEY",
    "RouteSource",
    "afnemer_var",
    "gebruiker_var",
    "inbound_trace_var",
    "inbound_tracestate_var",
    "request_var",
    "current_afnemer",
    "current_gebruiker",
    "current_inbound_trace",
    "current_inbound_tracestate",
    "current_route",
    "run_in_context",
    "use_afnemer",
    "use_gebruiker",
    "use_inbound_trace",
]

T = TypeVar("T")


afnemer_var: contextvars.ContextVar[Afnemer | None] = contextvars.ContextVar(
    "verwerkingen_afnemer", default=None
)
gebruiker_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "verwerkingen_gebruiker", default=None
)
inbound_trace_var: contextvars.ContextVar[SpanContext | None] = contextvars.ContextVar(
    "verwerkingen_inbound_trace", default=None
)
inbound_tracestate_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "verwerkingen_inbound_tracestate", default=None
)
"""The caller's W3C `tracestate`, valid and as sent (OpenTelemetry's TraceState keeps only some
keys), passed on by outbound calls of actions in the caller's trace."""


class RouteSource(Protocol):
    """The request being handled, as capture sees it: asked for its route when an action starts."""

    def route(self) -> str | None: ...


request_var: contextvars.ContextVar[RouteSource | None] = contextvars.ContextVar(
    "verwerkingen_request", default=None
)
"""Set by the web middleware for one request (its per-request `RequestScope`)."""


def current_route() -> str | None:
    """The route template (`/personen/{bsn}`) of the request being handled, once it is routed.

    Read lazily: the framework routes after our middleware starts, so the request is asked
    when an action starts. Never the concrete path (it may hold a BSN).
    """
    request = request_var.get()
    return request.route() if request is not None else None


AFNEMER_KEY = otel_context.create_key("verwerkingen-afnemer")
"""Where the propagator's `extract` leaves the afnemer in an OpenTelemetry Context."""


def current_afnemer(context: otel_context.Context | None = None) -> Afnemer | None:
    """The afnemer of the request being handled, if any.

    Set by our middleware; else the one the `verwerkingen` propagator extracted into the
    current OpenTelemetry Context (an app instrumented by opentelemetry-instrumentation-*), or
    into `context` when given (the current one, already read by the caller).
    """
    afnemer = afnemer_var.get()
    if afnemer is None:
        value = otel_context.get_value(AFNEMER_KEY, context)
        if isinstance(value, Afnemer):
            return value
    return afnemer


def current_gebruiker() -> str | None:
    """The user the current request acts for, if a hook supplied one."""
    return gebruiker_var.get()


@contextmanager
def use_afnemer(afnemer: Afnemer | None) -> Iterator[None]:
    """Make `afnemer` the caller of every action recorded inside the block."""
    token = afnemer_var.set(afnemer)
    try:
        yield
    finally:
        afnemer_var.reset(token)


@contextmanager
def use_gebruiker(gebruiker: str | None) -> Iterator[None]:
    """Record `gebruiker` on every action inside the block."""
    token = gebruiker_var.set(gebruiker)
    try:
        yield
    finally:
        gebruiker_var.reset(token)


def current_inbound_trace() -> SpanContext | None:
    """The caller's W3C trace context (`traceparent`) of the request being handled, if any.

    A top-level action parents to it, so the caller's action and ours share one trace
    (Logboek: the processing that caused this one, also across services).
    """
    return inbound_trace_var.get()


def current_inbound_tracestate() -> str | None:
    """The caller's `tracestate` (already checked by the W3C rules), if it sent a valid one."""
    return inbound_tracestate_var.get()


@contextmanager
def use_inbound_trace(span_context: SpanContext | None) -> Iterator[None]:
    """Make `span_context` (remote, valid) the parent of top-level actions inside the block."""
    token = inbound_trace_var.set(span_context)
    try:
        yield
    finally:
        inbound_trace_var.reset(token)


def run_in_context(fn: Callable[..., T]) -> Callable[..., T]:
    """Wrap `fn` to run in a copy of the current context, e.g. for `executor.submit`.

    `pool.submit(run_in_context(work), arg)` carries the afnemer, the verwerking and the
    current action into the worker thread, as `asyncio.to_thread` does by itself.
    """
    ctx = contextvars.copy_context()

    def runner(*args: Any, **kwargs: Any) -> T:
        return ctx.run(fn, *args, **kwargs)

    return runner
