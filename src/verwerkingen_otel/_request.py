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
from contextlib import ExitStack
from typing import Any, Callable, Iterable, Mapping, Sequence

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from .context import Afnemer, use_afnemer, use_gebruiker
from .delivery_base import RecordingError
from .model import IDENTIFICATOR_MAX
from .rules import RuleMatch, Rules, find_objects

__all__ = ["RecordingError", "RequestScope", "is_excluded", "problem_503", "recording_error_in"]

logger = logging.getLogger("verwerkingen_otel.web")
_W3C = TraceContextTextMapPropagator()

PROBLEM_TYPE = "https://verwerkingen-otel.readthedocs.io/problems/recording-unavailable"


def problem_503() -> tuple[bytes, list[tuple[str, str]]]:
    """The fail-closed answer: a problem+json body that says nothing about the request's data."""
    body = json.dumps(
        {
            "type": PROBLEM_TYPE,
            "code": "recording_unavailable",
            "title": "De verwerking kan niet worden vastgelegd.",
            "status": 503,
            "detail": "The processing could not be recorded in the verwerkingenlog, so it was not carried out.",
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
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = recording_error_in(inner)
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

    `enter(...)` attaches the inbound trace context (only when no local span is active, so an
    application's own OpenTelemetry server span stays the parent), sets the afnemer and the
    gebruiker; `open_rule_action()` starts the rule's action; `finish_rule(...)` adds its
    persons; `close()` ends everything in reverse order — ending the action records it, which
    may raise RecordingError.
    """

    __slots__ = ("_stack", "rule_match", "actie", "query", "request_json", "rule_opened")

    def __init__(self) -> None:
        self._stack = ExitStack()
        self.rule_match: RuleMatch | None = None
        self.actie: Any = None
        self.query: Mapping[str, list[str]] | None = None
        self.request_json: Any = None
        self.rule_opened = False

    def enter(
        self,
        headers: Iterable[tuple[Any, Any]] | Mapping[str, str],
        afnemer: Afnemer | None,
        gebruiker: str | None,
    ) -> None:
        carrier: dict[str, str] = {}
        for name, value in headers.items() if isinstance(headers, Mapping) else headers:
            key = (name.decode("latin-1") if isinstance(name, bytes) else name).lower()
            if key in ("traceparent", "tracestate"):
                carrier[key] = value.decode("latin-1") if isinstance(value, bytes) else value
        if carrier and not trace.get_current_span().get_span_context().is_valid:
            ctx = _W3C.extract(carrier)
            if trace.get_current_span(ctx).get_span_context().is_valid:
                token = otel_context.attach(ctx)
                self._stack.callback(otel_context.detach, token)
        if afnemer is not None:
            self._stack.enter_context(use_afnemer(afnemer))
        if gebruiker is not None:
            self._stack.enter_context(use_gebruiker(gebruiker))

    def enter_gebruiker(self, gebruiker: str | None) -> None:
        """For frameworks whose user is known only inside their own request handling (Flask)."""
        if gebruiker is not None:
            self._stack.enter_context(use_gebruiker(gebruiker))

    def open_rule_action(self) -> None:
        """Start the matched rule's action; everything the handler does runs inside it."""
        if self.rule_match is None or self.rule_opened:
            return
        from .capture import verwerkingsactie  # late: capture imports the pipeline

        self.rule_opened = True
        self.actie = self._stack.enter_context(verwerkingsactie(**self.rule_match.rule.actie))

    def finish_rule(self, status: int, response_body: bytes | None) -> None:
        """Add the rule's persons once the handler is done; only a successful response counts."""
        if not self.rule_opened or self.actie is None or self.rule_match is None or status >= 400:
            return
        from .rules import parse_json

        rule = self.rule_match.rule
        response_json = parse_json(response_body) if rule.needs_response_body and response_body else None
        for found in find_objects(
            rule,
            path_params=self.rule_match.path_params,
            query=self.query,
            request_json=self.request_json,
            response_json=response_json,
        ):
            self.actie.add_object(**found.as_kwargs())

    def close(self, exc: BaseException | None = None) -> None:
        """End the request's context; raises RecordingError when the action cannot be recorded."""
        if exc is None:
            self._stack.close()
        else:
            self._stack.__exit__(type(exc), exc, exc.__traceback__)


def match_rule(rules: Rules | None, method: str, path: str) -> RuleMatch | None:
    return rules.match(method, path) if rules is not None and len(rules) else None
