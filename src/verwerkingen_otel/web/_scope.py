"""What every web integration does per request, whatever the framework.

The ASGI and WSGI middleware differ only in how they read a request and write a response; the
steps in between live here once: the inbound W3C trace context, the afnemer, the failsafe
`gebruiker` hook, excluded paths, the route rule's action, and the fail-closed 503 answer.
All state is per request (a `RequestScope`), never on a middleware instance.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any, Callable, Mapping, Sequence

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from ..capture import (
    afnemer_var, gebruiker_var, inbound_trace_var, inbound_tracestate_var, request_var, verwerkingsactie,
)
from ..delivery import RecordingError, tenant_var
from ..model import IDENTIFICATOR_MAX, Afnemer
from ._rules import RuleMatch, Rules
from ._rules_objects import find_objects, parse_json
from ._tracestate import parse_tracestate

__all__ = ["RequestScope", "is_excluded", "match_rule", "problem_503", "recording_error_in", "run_gebruiker_hook"]

logger = logging.getLogger("verwerkingen_otel.web")
_W3C = TraceContextTextMapPropagator()

PROBLEM_TYPE = "urn:verwerkingen-otel:problem:recording-unavailable"


def problem_503() -> tuple[bytes, list[tuple[str, str]]]:
    """The fail-closed answer: a problem+json body that says nothing about the request's data."""
    body = json.dumps(
        {
            "type": PROBLEM_TYPE,
            "code": "recording_unavailable",
            "title": "De verwerking kan niet worden vastgelegd.",
            "status": 503,
            "detail": "De verwerkingsactie kon niet in het verwerkingenlog worden vastgelegd; "
            "daarom is het verzoek niet uitgevoerd. Probeer het later opnieuw.",
            "instance": f"urn:uuid:{uuid.uuid4()}",
        }
    ).encode()
    return body, [
        ("content-type", "application/problem+json"),
        ("content-length", str(len(body))),
        ("retry-after", "30"),
    ]


def recording_error_in(exc: BaseException) -> RecordingError | None:
    """The RecordingError behind `exc`, also inside an ExceptionGroup (anyio task groups)."""
    if isinstance(exc, RecordingError):
        return exc
    inner = getattr(exc, "exceptions", None)  # BaseExceptionGroup, or its backport on 3.10
    if isinstance(inner, (list, tuple)):
        for sub in inner:
            if isinstance(sub, BaseException):
                found = recording_error_in(sub)
                if found is not None:
                    return found
    return None


def is_excluded(path: str, exclude: Sequence[str]) -> bool:
    """Exact paths, or prefixes when written with a trailing `*` (`/static/*`)."""
    for pattern in exclude:
        if pattern.endswith("*"):
            if path.startswith(pattern[:-1]):
                return True
        elif path == pattern:
            return True
    return False


def run_gebruiker_hook(hook: Callable[[Any], Any] | None, arg: Any) -> str | None:
    """Call the user's hook failsafe: an error is logged (type only) and means no gebruiker."""
    if hook is None:
        return None
    try:
        value = hook(arg)
    except Exception as exc:  # noqa: BLE001 - a hook must never break the request
        logger.error("gebruiker hook failed with %s; the action is recorded without gebruiker", type(exc).__name__)
        return None
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value or len(value) > IDENTIFICATOR_MAX:
        logger.warning("gebruiker hook returned no identificator of 1 to %d characters; ignored", IDENTIFICATOR_MAX)
        return None
    return value


class RequestScope:
    """One request's verwerkingen state, entered by the middleware and closed by it.

    `enter(...)` makes the inbound trace context the parent of top-level actions (and the
    current OpenTelemetry context when the app has no span of its own), sets the afnemer and the
    gebruiker; `open_rule_action()` starts the rule's action; `finish_rule(...)` adds its
    persons; `close()` ends everything in reverse order — ending the action records it, which
    may raise RecordingError. `suspend()`/`resume()` take the context off and put it back, for
    a WSGI body iterated after the app returned (nothing leaks between requests even when a
    server or test client never closes the body).
    """

    __slots__ = ("_values", "_tokens", "_otel", "_action_cm", "rule_match", "actie", "query",
                 "request_json", "rule_opened", "_route", "_find_route")

    def __init__(self, find_route: Callable[[], str | None] | None = None) -> None:
        """`find_route`: gives the route template once the framework has routed (see `route`)."""
        self._values: list[tuple[Any, Any]] = [(request_var, self)]  # (contextvar, value) of this request
        self._tokens: list[tuple[Any, Any]] = []  # (contextvar or None for otel, token) while active
        self._otel: Any = None
        self._action_cm: Any = None
        self.rule_match: RuleMatch | None = None
        self.actie: Any = None
        self.query: Mapping[str, list[str]] | None = None
        self.request_json: Any = None
        self.rule_opened = False
        self._route: str | None = None
        self._find_route = find_route

    def route(self) -> str | None:
        """This request's route template, asked by capture when an action starts.

        Found once and kept; not kept while unknown (before routing, or a 404), so an action
        after routing still gets it. A failing lookup only means no route (never an error).
        """
        route = self._route
        if route is None and self._find_route is not None:
            try:
                route = self._find_route()
            except Exception as exc:  # noqa: BLE001 - a route is nice to have, the action is not
                logger.debug("route template not found (%s)", type(exc).__name__)
                return None
            if type(route) is not str:
                return None
            self._route = route
        return route

    def enter(self, carrier: Mapping[str, str] | None, afnemer: Afnemer | None, gebruiker: str | None) -> None:
        """`carrier`: the inbound `traceparent` (and `tracestate`), read whatever OTEL_PROPAGATORS says."""
        inbound_value = None
        tracestate_value = None
        if carrier:
            ctx = _W3C.extract(carrier)
            inbound = trace.get_current_span(ctx).get_span_context()
            if inbound.is_valid:
                inbound_value = inbound
                tracestate_value = parse_tracestate(carrier.get("tracestate"))  # passed on unchanged outbound
                if not trace.get_current_span().get_span_context().is_valid:
                    self._otel = ctx
        # Every variable is set, None included: a request without a caller never runs with
        # whatever an earlier request on this thread may have left (issue 11).
        self._values.append((inbound_trace_var, inbound_value))
        self._values.append((inbound_tracestate_var, tracestate_value))
        self._values.append((afnemer_var, afnemer))
        self._values.append((gebruiker_var, gebruiker))
        self.resume()

    def enter_gebruiker(self, gebruiker: str | None) -> None:
        """For frameworks whose user is known only inside their own request handling (Flask)."""
        if gebruiker is not None:
            self._values.append((gebruiker_var, gebruiker))
            self._tokens.append((gebruiker_var, gebruiker_var.set(gebruiker)))

    def enter_tenant(self, tenant: str | None) -> None:
        """The tenant this request acts for (web/_tenant.py), before its actions start."""
        if tenant is not None:
            self._values.append((tenant_var, tenant))
            self._tokens.append((tenant_var, tenant_var.set(tenant)))

    def resume(self) -> None:
        if self._tokens:
            return
        tokens = [(var, var.set(value)) for var, value in self._values]
        if self._otel is not None:
            tokens.append((None, otel_context.attach(self._otel)))
        self._tokens = tokens

    def suspend(self) -> None:
        if not self._tokens:
            return
        tokens, self._tokens = self._tokens, []
        for var, token in reversed(tokens):
            try:
                if var is None:
                    otel_context.detach(token)
                else:
                    var.reset(token)
            except (ValueError, RuntimeError):  # another context, or already undone: nothing to do
                pass

    def open_rule_action(self) -> None:
        """Start the matched rule's action; everything the handler does runs inside it."""
        if self.rule_match is None or self.rule_opened:
            return

        self.rule_opened = True
        rule = self.rule_match.rule
        cm = verwerkingsactie(**rule.actie)
        self.actie = cm.__enter__()
        self._action_cm = cm
        span = getattr(self.actie, "span", None)
        if span is not None:  # which route and rule made this action (the dedicated span only)
            span.set_attribute("http.route", rule.route)
            span.set_attribute("verwerkingen.rule", rule.name)

    def finish_rule(self, status: int, response_body: bytes | None) -> None:
        """Add the rule's persons once the handler is done; only a successful response counts."""
        if not self.rule_opened or self.actie is None or self.rule_match is None or status >= 400:
            return

        rule = self.rule_match.rule
        response_json = parse_json(response_body) if rule.needs_response_body and response_body else None
        for found in find_objects(
            rule,
            path_params=self.rule_match.path_params,
            query=self.query,
            request_json=self.request_json,
            response_json=response_json,
        ):
            self.actie.add_object(**found.as_kwargs())  # checks it: invalid → placeholder or, strict, raises

    def close(self, exc: BaseException | None = None) -> None:
        """End the request's context; raises RecordingError when the action cannot be recorded."""
        error: BaseException | None = None
        cm, self._action_cm = self._action_cm, None
        if cm is not None:
            try:
                if exc is None:
                    cm.__exit__(None, None, None)
                else:
                    cm.__exit__(type(exc), exc, exc.__traceback__)
            except BaseException as err:  # noqa: BLE001 - re-raised once the context is reset
                error = err
        self.suspend()
        if error is not None:
            raise error


def match_rule(rules: Rules | None, method: str, path: str) -> RuleMatch | None:
    return rules.match(method, path) if rules is not None and len(rules) else None
