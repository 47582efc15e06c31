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
from ._rules_objects import parse_json
from ._tenant import asgi_tenant_headers, resolver_for

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
        tenant: Callable[[Scope], str | None] | None = None,
    ) -> None:
        """`tenant`: gets the ASGI scope, names the tenant (else `configure(tenant=...)`)."""
        self.app = app
        self.tenant = tenant
        self.exclude = tuple(exclude)
        self.gebruiker = gebruiker
        self.rules = load_path(rules) if not isinstance(rules, Rules) else rules
        self._routes_checked = False  # a one-time start-up check, not request state

    def _check_routes(self, scope: Scope) -> None:
        self._routes_checked = True
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
        request.enter(carrier, afnemer, run_gebruiker_hook(self.gebruiker, scope) if self.gebruiker else None)
        if self.rules is not None:
            if not self._routes_checked:
                self._check_routes(scope)
            request.rule_match = match_rule(self.rules, scope.get("method", "GET"), _route_path(scope))
        if request.rule_match is not None:
            request.query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            if request.rule_match.rule.needs_request_body:
                body, receive = await _read_body(receive)
                request.request_json = parse_json(body)
        tenancy = resolver_for(self.tenant)
        if tenancy is not None:  # a service for several organisations: whose request is this?
            host, named = asgi_tenant_headers(scope.get("headers"), tenancy.header)
            resolution = tenancy.from_rule(tenancy.resolve(scope, host, named), request.rule_match)
            if resolution.refused:
                request.close()
                await _send_problem(send)
                return
            request.enter_tenant(resolution.name)
        response = _Response(send, hold=request.rule_match is not None)
        error: BaseException | None = None
        try:
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
            await response.flush()
            return
        failure = recording_error_in(error)
        if failure is None or response.sent:
            raise error
        logger.error("verwerkingsactie could not be recorded (%s); answered 503", failure)
        await _send_problem(send)


async def _send_problem(send: Send) -> None:
    body, problem_headers = problem_503()
    await send({
        "type": "http.response.start",
        "status": 503,
        "headers": [(k.encode(), v.encode()) for k, v in problem_headers],
    })
    await send({"type": "http.response.body", "body": body})


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


async def _read_body(receive: Receive) -> tuple[bytes, Receive]:
    """Read the whole request body, and a receive that replays it to the app."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


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
