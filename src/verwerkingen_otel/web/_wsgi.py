"""WSGI middleware: the WSGI twin of asgi.py, for Flask and any other WSGI app.

    app.wsgi_app = VerwerkingenWSGIMiddleware(app.wsgi_app, exclude=["/health"])

Per request: inbound `traceparent` and the six VNG headers → afnemer context; the `gebruiker`
hook (given the environ) run failsafe; a route rule's action around the app. The context is set
while the app runs and again for each body chunk the server pulls (streaming), and taken off in
between, so nothing leaks into the next request even if a body is never closed.

Fail-closed: a RecordingError before the first body chunk is written becomes a 503
application/problem+json (WSGI lets the status change until then, through `exc_info`). A rule's
action is recorded before anything is returned, so its response is held in full. A
RecordingError after a chunk has gone out is re-raised and the server aborts the response.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Callable, Iterable, Iterator, Sequence
from urllib.parse import parse_qs

from ._scope import RequestScope, is_excluded, match_rule, problem_503, recording_error_in, run_gebruiker_hook
from ..model import afnemer_from_environ
from ._routes import werkzeug_route
from ._rules import Rules, load_path
from ._body import body_cap, check_max_body, parse_body, read_wsgi_body
from ._tenant import resolver_for, wsgi_tenant_headers

__all__ = ["SCOPE_KEY", "VerwerkingenWSGIMiddleware"]

logger = logging.getLogger("verwerkingen_otel.web")

SCOPE_KEY = "verwerkingen_otel.request"
"""environ key of the request's RequestScope, for framework glue inside the app (flask.py)."""

WSGIApp = Callable[[dict, Callable[..., Any]], Iterable[bytes]]


class VerwerkingenWSGIMiddleware:
    """Holds configuration only; each request's state lives in a RequestScope."""

    def __init__(
        self,
        app: WSGIApp,
        *,
        exclude: Sequence[str] = (),
        gebruiker: Callable[[dict], str | None] | None = None,
        rules: Rules | str | None = None,
        rules_in_app: bool = False,
        max_body: int | None = None,
        tenant: Callable[[dict], str | None] | None = None,
    ) -> None:
        """`rules_in_app`: the framework glue matches rules and opens their action (Flask).
        `max_body`: bytes of a body buffered for a rule (default: the `max_body` setting).
        `tenant`: gets the environ, names the tenant (else `configure(tenant=...)`)."""
        self.app = app
        self.tenant = tenant
        self.exclude = tuple(exclude)
        self.gebruiker = gebruiker
        self.rules = load_path(rules) if not isinstance(rules, Rules) else rules
        self.rules_in_app = rules_in_app
        self.max_body = check_max_body(max_body)

    def __call__(self, environ: dict, start_response: Callable[..., Any]) -> Iterable[bytes]:
        if SCOPE_KEY in environ or is_excluded(environ.get("PATH_INFO", ""), self.exclude):
            return self.app(environ, start_response)  # also: an app of ours mounted inside ours
        request = RequestScope(lambda: werkzeug_route(environ))
        carrier, afnemer = _trace_headers(environ), afnemer_from_environ(environ)
        gebruiker = run_gebruiker_hook(self.gebruiker, environ) if self.gebruiker else None
        response = _Response(start_response, request)
        request.enter(carrier, afnemer, gebruiker)
        # Everything after entering runs inside the try: whatever fails, fail() closes the scope,
        # so no caller's context is left on this thread for the next request (issue 11).
        try:
            environ[SCOPE_KEY] = request
            if not self.rules_in_app:
                self._match(environ, request)
            tenancy = resolver_for(self.tenant)
            if tenancy is not None:  # a service for several organisations: whose request is this?
                host, named = wsgi_tenant_headers(environ, tenancy.header)
                resolution = tenancy.from_rule(tenancy.resolve(environ, host, named), request.rule_match)
                if resolution.refused:  # no tenant and no default: fail closed
                    request.close()
                    body, headers = problem_503()
                    start_response("503 Service Unavailable", headers)
                    return [body]
                request.enter_tenant(resolution.name)
            request.open_rule_action()
            result = self.app(environ, response.start_response)
            if not request.rule_opened:
                return response.stream(result)
            return response.held(result)
        except BaseException as exc:  # noqa: BLE001
            return response.fail(exc)

    def _match(self, environ: dict, request: RequestScope) -> None:
        """The route rule of this request, and its JSON body when the rule reads one."""
        request.rule_match = match_rule(self.rules, environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", ""))
        if request.rule_match is None:
            return
        request.query = parse_qs(environ.get("QUERY_STRING", ""))
        rule = request.rule_match.rule
        if rule.needs_request_body:
            body = read_wsgi_body(environ, body_cap(self.max_body), rule.name)
            request.request_json = parse_body(body, rule.name)


def _trace_headers(environ: dict) -> dict[str, str] | None:
    traceparent = environ.get("HTTP_TRACEPARENT")
    if traceparent is None:
        return None
    carrier = {"traceparent": traceparent}
    if "HTTP_TRACESTATE" in environ:
        carrier["tracestate"] = environ["HTTP_TRACESTATE"]
    return carrier


class _Response:
    """One response: streamed through with the context kept, or held until recorded."""

    def __init__(self, start_response: Callable[..., Any], request: RequestScope) -> None:
        self._start_response = start_response
        self.request = request
        self.status = 500
        self._start_args: tuple[Any, ...] | None = None
        self._held: list[bytes] = []
        self.written = False

    def start_response(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        self.status = int(status.split(" ", 1)[0])
        if self.request.rule_opened:
            self._start_args = (status, headers, exc_info)
            return self._held.append
        write = self._start_response(status, headers, exc_info)

        def tracked_write(data: bytes) -> None:
            self.written = True
            write(data)

        return tracked_write

    def held(self, result: Iterable[bytes]) -> Iterable[bytes]:
        """Buffer the whole body, record the action, then answer."""
        try:
            self._held.extend(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        body = b"".join(self._held)
        self.request.finish_rule(self.status, body)
        self.request.close()  # records the action; RecordingError → fail() via __call__
        assert self._start_args is not None
        self._start_response(*self._start_args)
        return [body]

    def stream(self, result: Iterable[bytes]) -> Iterable[bytes]:
        self.request.suspend()  # back on for each chunk the server pulls
        return _ClosingIterator(self, result)

    def fail(self, exc: BaseException) -> Iterable[bytes]:
        try:
            self.request.close(exc)
        except BaseException:  # noqa: BLE001 - the first error is the one to answer
            pass
        failure = recording_error_in(exc)
        if failure is None or self.written:
            raise exc
        logger.error("verwerkingsactie could not be recorded (%s); answered 503", failure)
        body, headers = problem_503()
        self._start_response("503 Service Unavailable", headers, sys.exc_info() if sys.exc_info()[0] else None)
        return [body]


class _ClosingIterator:
    """Iterates the app's body inside the request's context; resets the context on close()."""

    def __init__(self, response: _Response, result: Iterable[bytes]) -> None:
        self._response = response
        self._result = result
        self._iter: Iterator[bytes] = iter(result)
        self._closed = False
        self._failed: list[bytes] | None = None

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self._failed is not None:
            if self._failed:
                return self._failed.pop()
            raise StopIteration
        request = self._response.request
        request.resume()
        try:
            chunk = next(self._iter)
        except StopIteration:
            raise
        except BaseException as exc:  # noqa: BLE001
            if recording_error_in(exc) is None or self._response.written:
                raise
            self._closed = True
            self._close_result()
            self._failed = list(self._response.fail(exc))
            return self._failed.pop() if self._failed else b""
        finally:
            request.suspend()
        if chunk:
            self._response.written = True
        return chunk

    def _close_result(self) -> None:
        close = getattr(self._result, "close", None)
        if close is not None:
            close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        request = self._response.request
        request.resume()  # a generator's cleanup runs in the request's context too
        try:
            self._close_result()
        finally:
            request.close()
