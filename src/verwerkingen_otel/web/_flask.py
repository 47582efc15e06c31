"""Flask extension: `Verwerkingen(app)` or `ext = Verwerkingen(); ext.init_app(app)`.

It wraps `app.wsgi_app` in the WSGI middleware (trace context, afnemer, fail-closed answer)
and adds what needs Flask's own request context: the `gebruiker` hook, called with
`flask.request` after the app's earlier `before_request` functions (so e.g. Flask-Login's
`current_user` is known), route rules matched on Flask's resolved `url_rule`, and an error
handler that turns RecordingError into 503 application/problem+json. View functions are not
wrapped, so endpoint names stay as they are.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Sequence

import flask

from ._scope import RequestScope, problem_503, run_gebruiker_hook
from ..delivery import RecordingError
from ._rules import Rules, load_path
from ._tenant import Resolution, resolver_for
from ._wsgi import SCOPE_KEY, VerwerkingenWSGIMiddleware
from ._body import body_cap, parse_body
from ._coverage import warn_misplaced_decorators

logger = logging.getLogger("verwerkingen_otel.web")

__all__ = ["Verwerkingen"]

EXTENSION_KEY = "verwerkingen"
ROUTES_CHECKED_KEY = "verwerkingen.routes_checked"
DECORATORS_CHECKED_KEY = "verwerkingen.decorators_checked"


class Verwerkingen:
    """The Flask extension; one instance may serve several apps (configuration only)."""

    def __init__(
        self,
        app: flask.Flask | None = None,
        *,
        exclude: Sequence[str] = (),
        gebruiker: Callable[[flask.Request], str | None] | None = None,
        rules: Rules | str | None = None,
        tenant: Callable[[flask.Request], str | None] | None = None,
    ) -> None:
        """`tenant` names the tenant of a request (tenants file); else `configure(tenant=...)`."""
        self.tenant = tenant
        self.exclude = tuple(exclude)
        self.gebruiker = gebruiker
        self.rules = load_path(rules) if not isinstance(rules, Rules) else rules
        if app is not None:
            self.init_app(app)

    def init_app(self, app: flask.Flask) -> None:
        if EXTENSION_KEY in app.extensions:
            return  # instrumenting twice must not record twice
        app.extensions[EXTENSION_KEY] = self
        app.wsgi_app = VerwerkingenWSGIMiddleware(  # type: ignore[method-assign]
            app.wsgi_app, exclude=self.exclude, rules=self.rules, rules_in_app=True,
            tenant=(lambda environ: self.tenant(flask.Request(environ))) if self.tenant is not None else None,
        )
        app.before_request(self._before_request)
        app.register_error_handler(RecordingError, _recording_error)

    def _before_request(self) -> None:
        app = flask.current_app
        if not app.extensions.get(DECORATORS_CHECKED_KEY):
            app.extensions[DECORATORS_CHECKED_KEY] = True  # first request: every route is registered
            warn_misplaced_decorators(app)
        if self.gebruiker is None and self.rules is None:  # nothing else to do per request
            return
        request = flask.request
        scope: RequestScope | None = request.environ.get(SCOPE_KEY)
        if scope is None:  # excluded path
            return
        scope.enter_gebruiker(run_gebruiker_hook(self.gebruiker, request))
        if self.rules is None or not len(self.rules) or request.url_rule is None:
            return
        if not app.extensions.get(ROUTES_CHECKED_KEY):
            app.extensions[ROUTES_CHECKED_KEY] = True  # first request: every route is registered
            self.rules.warn_unknown_routes({r.rule for r in app.url_map.iter_rules()})
        scope.rule_match = self.rules.for_route(request.method, request.url_rule.rule, request.view_args or {})
        if scope.rule_match is None:
            return
        if scope.rule_match.rule.tenant is not None:  # the rule's path parameter names the tenant
            tenancy = resolver_for(None)
            if tenancy is not None:
                resolution = tenancy.from_rule(Resolution(None), scope.rule_match)
                if resolution.refused:
                    raise RecordingError("the request names no tenant of the tenants file")
                scope.enter_tenant(resolution.name)
        scope.query = request.args.to_dict(flat=False)
        if scope.rule_match.rule.needs_request_body:
            scope.request_json = _rule_body(request, scope.rule_match.rule.name)
        scope.open_rule_action()


def _rule_body(request: Any, rule: str) -> Any:
    """The JSON body a rule reads, as the raw middlewares read it (see `_body`): at most the
    `max_body` setting, never raising (nested too deep, cut off: no person, with a warning).
    werkzeug caches what it read, so the view reads the same bytes (or the same disconnect)."""
    if not request.is_json:
        return None
    length = request.content_length
    cap = body_cap(None)
    if length is not None and length > cap:
        logger.warning("rule %r: request body of %d bytes is over VERWERKINGEN_MAX_BODY (%d); "
                       "no person from the body", rule, length, cap)
        return None
    try:
        data = request.get_data(cache=True)
    except Exception:  # noqa: BLE001 - the client went away mid-body; the view sees it too
        logger.warning("rule %r: the request body could not be read; no person from the body", rule)
        return None
    return parse_body(data, rule)


def _recording_error(error: RecordingError) -> Any:
    body, headers = problem_503()
    flask.current_app.logger.error("verwerkingsactie could not be recorded (%s); answered 503", error)
    return flask.Response(body, status=503, headers=headers)


def uninstrument_app(app: flask.Flask) -> None:
    """Undo init_app as far as Flask allows (the error handler and hook become no-ops)."""
    ext = app.extensions.pop(EXTENSION_KEY, None)
    if ext is None:
        return
    wsgi_app = app.wsgi_app
    if isinstance(wsgi_app, VerwerkingenWSGIMiddleware):
        app.wsgi_app = wsgi_app.app  # type: ignore[method-assign]
    funcs = app.before_request_funcs.get(None, [])
    app.before_request_funcs[None] = [f for f in funcs if getattr(f, "__self__", None) is not ext]
    app.error_handler_spec.get(None, {}).get(None, {}).pop(RecordingError, None)
