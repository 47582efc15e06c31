"""ASGI middleware: per HTTP request, the caller's context for every verwerkingsactie inside.

    app = VerwerkingenMiddleware(app, exclude=["/health"], gebruiker=lambda scope: ...)

Per request it reads the inbound W3C `traceparent` (itself, whatever OTEL_PROPAGATORS says) and
the six VNG headers into the afnemer context, runs the `gebruiker` hook failsafe, and — when a
route rule maps the request — runs the handler inside that rule's action. Lifespan and
websocket scopes, and excluded paths, pass through untouched.

Fail-closed: when an action cannot be recorded (RecordingError) before the response has
started, the client gets 503 application/problem+json instead of the handler's data. A rule's
action is recorded after the handler and before anything is sent, so such responses (streaming
ones too) are held back in full. A decorated handler's action ends when the handler returns,
before its (streaming) body is sent. Should recording fail after a response has started, the
error is re-raised so the server aborts the connection: the client sees a broken response,
never a complete-looking one.
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, MutableMapping, Sequence
from urllib.parse import parse_qs

from ._scope import RequestScope, is_excluded, match_rule, problem_503, recording_error_in, run_gebruiker_hook
from ..model import scan_asgi_headers
from ._routes import starlette_route
from ._rules import Rules, load_path, starlette_routes
from ._body import body_cap, check_max_body, parse_body, read_asgi_body
from ._tenant import asgi_tenant_headers, resolver_for
from ._coverage import warn_misplaced_decorators

__all__ = ["SCOPE_KEY", "VerwerkingenMiddleware"]

SCOPE_KEY = "verwerkingen_otel.handled"
"""Set in the scope of a request this middleware handles, so a nested instance passes it on."""

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

logger = logging.getLogger("verwerkingen_otel.web")


class VerwerkingenMiddleware:
    """Pure ASGI middleware; holds only configuration, never request state."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        exclude: Sequence[str] = (),
        gebruiker: Callable[[Scope], str | None] | None = None,
        rules: Rules | str | None = None,
        max_body: int | None = None,
        tenant: Callable[[Scope], str | None] | None = None,
    ) -> None:
        """`max_body`: bytes of a body buffered for a rule (default: the `max_body` setting).
        `tenant`: gets the ASGI scope, names the tenant (else `configure(tenant=...)`)."""
        self.app = app
        self.tenant = tenant
        self.exclude = tuple(exclude)
        self.gebruiker = gebruiker
        self.rules = load_path(rules) if not isinstance(rules, Rules) else rules
        self.max_body = check_max_body(max_body)
        self._routes_checked = False  # a one-time start-up check, not request state

    def _check_routes(self, scope: Scope) -> None:
        self._routes_checked = True
        warn_misplaced_decorators(scope.get("app"))
        templates = starlette_routes(scope.get("app"))
        if templates is not None and self.rules is not None:
            self.rules.warn_unknown_routes(templates)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or SCOPE_KEY in scope or is_excluded(scope.get("path", ""), self.exclude):
            await self.app(scope, receive, send)  # also: a mounted app of ours inside ours
            return
        request = RequestScope(_route_finder(scope, self.app))
        scope[SCOPE_KEY] = True
        afnemer, carrier = scan_asgi_headers(scope.get("headers") or ())
        gebruiker = run_gebruiker_hook(self.gebruiker, scope) if self.gebruiker else None
        request.enter(carrier, afnemer, gebruiker)
        # Everything after entering runs inside the try, so the scope is always closed and no
        # caller's context outlives its request, whatever fails (issue 11).
        response: _Response | None = None
        error: BaseException | None = None
        refused = False
        try:
            receive = await self._match(scope, receive, request)
            tenancy = resolver_for(self.tenant)
            if tenancy is not None:  # a service for several organisations: whose request is this?
                host, named = asgi_tenant_headers(scope.get("headers"), tenancy.header)
                resolution = tenancy.from_rule(tenancy.resolve(scope, host, named), request.rule_match)
                refused = resolution.refused
                if not refused:
                    request.enter_tenant(resolution.name)
            if not refused:
                response = _Response(send, hold=request.rule_match is not None)
                request.open_rule_action()
                await self.app(scope, receive, response.send)
                request.finish_rule(response.status, response.body())
        except BaseException as exc:  # noqa: BLE001 - re-raised below unless it is ours to answer
            error = exc
        try:
            request.close(error)
        except BaseException as exc:  # noqa: BLE001
            error = error or exc
        if error is None:
            if refused:  # no tenant for this request and no default: fail closed
                await _send_problem(send)
                return
            assert response is not None
            await response.flush()
            return
        failure = recording_error_in(error)
        if failure is None or (response is not None and response.sent):
            raise error
        logger.error("verwerkingsactie could not be recorded (%s); answered 503", failure)
        await _send_problem(send)


    async def _match(self, scope: Scope, receive: Receive, request: RequestScope) -> Receive:
        """The route rule of this request and, when it reads one, its JSON body; returns the
        receive the app must use (it replays what was read, a disconnect included)."""
        if not self._routes_checked:
            self._check_routes(scope)
        if self.rules is None:
            return receive
        request.rule_match = match_rule(self.rules, scope.get("method", "GET"), _route_path(scope))
        if request.rule_match is None:
            return receive
        request.query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        rule = request.rule_match.rule
        if rule.needs_request_body:
            body, receive = await read_asgi_body(receive, body_cap(self.max_body), rule.name,
                                                 _content_length(scope))
            request.request_json = parse_body(body, rule.name)
        return receive


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers") or ():
        if name.lower() == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def _route_finder(scope: Scope, inner: Any) -> Callable[[], str | None]:
    """Looks the route template up when an action asks, from the path as it is now (routing
    rewrites the scope's path and root_path) and the app as it is now (or, when our middleware
    wraps the app, `inner`, else the app Starlette puts in the scope)."""
    path, root_path, app = scope.get("path", ""), scope.get("root_path", ""), scope.get("app")

    def find() -> str | None:
        top = app if app is not None else inner if hasattr(inner, "routes") else scope.get("app")
        return starlette_route(top, scope, path, root_path)

    return find


def _route_path(scope: Scope) -> str:
    path: str = scope.get("path", "")
    root = scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


class _Response:
    """One response on its way out: passed through, or held until its action is recorded."""

    __slots__ = ("_send", "_hold", "_held", "status", "sent")

    def __init__(self, send: Send, hold: bool) -> None:
        self._send = send
        self._hold = hold
        self._held: list[Message] = []
        self.status = 500
        self.sent = False

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message.get("status", 500))
        if self._hold:
            self._held.append(message)
            return
        self.sent = True
        await self._send(message)

    def body(self) -> bytes | None:
        if not self._hold:
            return None
        return b"".join(m.get("body", b"") for m in self._held if m["type"] == "http.response.body")

    async def flush(self) -> None:
        held, self._held = self._held, []
        for message in held:
            self.sent = True
            await self._send(message)


async def _send_problem(send: Send) -> None:
    body, problem_headers = problem_503()
    await send({
        "type": "http.response.start",
        "status": 503,
        "headers": [(k.encode(), v.encode()) for k, v in problem_headers],
    })
    await send({"type": "http.response.body", "body": body})
