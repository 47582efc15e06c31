"""What is known about the current request and verwerking, kept in contextvars.

Context flows into threads and asyncio tasks the way contextvars do: a new task copies the
context it was created in; a thread pool does not, so submit work through
`contextvars.copy_context().run` (see `run_in_context`). Web middleware sets the afnemer for one
request; `verwerking(...)` and `verwerkingsactie(...)` (capture.py) set the rest.
"""

from __future__ import annotations

import contextvars
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import Any, Callable, Iterator, Protocol, TypeVar

from opentelemetry import context as otel_context
from opentelemetry.trace import SpanContext

from .model import Vertrouwelijkheid

__all__ = [
    "AFNEMER_KEY",
    "Afnemer",
    "current_afnemer",
    "current_gebruiker",
    "current_inbound_trace",
    "current_route",
    "run_in_context",
    "use_afnemer",
    "use_gebruiker",
    "use_inbound_trace",
]

T = TypeVar("T")


@dataclass(frozen=True)
class Afnemer:
    """The caller's side of a request: the six VNG headers, already validated (NOTES §4)."""

    oin: str | None = None
    verwerkingsactiviteit_id: str | None = None
    verwerkingsactiviteit_url: str | None = None
    verwerking_id: str | None = None
    vertrouwelijkheid: Vertrouwelijkheid | None = None
    bewaartermijn: str | None = None

    def is_empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))


_afnemer: contextvars.ContextVar[Afnemer | None] = contextvars.ContextVar(
    "verwerkingen_afnemer", default=None
)
_gebruiker: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "verwerkingen_gebruiker", default=None
)
_inbound_trace: contextvars.ContextVar[SpanContext | None] = contextvars.ContextVar(
    "verwerkingen_inbound_trace", default=None
)


class RouteSource(Protocol):
    """The request being handled, as capture sees it: asked for its route when an action starts."""

    def route(self) -> str | None: ...


_request: contextvars.ContextVar[RouteSource | None] = contextvars.ContextVar(
    "verwerkingen_request", default=None
)
"""Set by the web middleware for one request (its per-request `RequestScope`)."""


def current_route() -> str | None:
    """The route template (`/personen/{bsn}`) of the request being handled, once it is routed.

    Read lazily: the framework routes after our middleware starts, so the request is asked
    when an action starts. Never the concrete path (it may hold a BSN).
    """
    request = _request.get()
    return request.route() if request is not None else None


AFNEMER_KEY = otel_context.create_key("verwerkingen-afnemer")
"""Where propagation.py's `extract` leaves the afnemer in an OpenTelemetry Context."""


def current_afnemer() -> Afnemer | None:
    """The afnemer of the request being handled, if any.

    Set by our middleware; else the one the `verwerkingen` propagator extracted into the
    current OpenTelemetry Context (an app instrumented by opentelemetry-instrumentation-*).
    """
    afnemer = _afnemer.get()
    if afnemer is None:
        value = otel_context.get_value(AFNEMER_KEY)
        if isinstance(value, Afnemer):
            return value
    return afnemer


def current_gebruiker() -> str | None:
    """The user the current request acts for, if a hook supplied one."""
    return _gebruiker.get()


@contextmanager
def use_afnemer(afnemer: Afnemer | None) -> Iterator[None]:
    """Make `afnemer` the caller of every action recorded inside the block."""
    token = _afnemer.set(afnemer)
    try:
        yield
    finally:
        _afnemer.reset(token)


@contextmanager
def use_gebruiker(gebruiker: str | None) -> Iterator[None]:
    """Record `gebruiker` on every action inside the block."""
    token = _gebruiker.set(gebruiker)
    try:
        yield
    finally:
        _gebruiker.reset(token)


def current_inbound_trace() -> SpanContext | None:
    """The caller's W3C trace context (`traceparent`) of the request being handled, if any.

    A top-level action parents to it, so the caller's action and ours share one trace
    (Logboek: the processing that caused this one, also across services).
    """
    return _inbound_trace.get()


@contextmanager
def use_inbound_trace(span_context: SpanContext | None) -> Iterator[None]:
    """Make `span_context` (remote, valid) the parent of top-level actions inside the block."""
    token = _inbound_trace.set(span_context)
    try:
        yield
    finally:
        _inbound_trace.reset(token)


def run_in_context(fn: Callable[..., T]) -> Callable[..., T]:
    """Wrap `fn` to run in a copy of the current context, e.g. for `executor.submit`.

    `pool.submit(run_in_context(work), arg)` carries the afnemer, the verwerking and the
    current action into the worker thread, as `asyncio.to_thread` does by itself.
    """
    ctx = contextvars.copy_context()

    def runner(*args: Any, **kwargs: Any) -> T:
        return ctx.run(fn, *args, **kwargs)

    return runner
