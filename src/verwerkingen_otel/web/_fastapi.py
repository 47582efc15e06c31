"""FastAPI (and Starlette) glue: `instrument_app(app, gebruiker=...)`.

Adds the ASGI middleware as the innermost user middleware, with a `gebruiker` hook that gets a
`starlette.requests.Request` (e.g. `lambda request: request.user.identity` with Starlette's
AuthenticationMiddleware, added before or after this call).
Path operations are not touched: a `@verwerkingsactie` under `@app.get(...)` keeps FastAPI's
dependency injection, validation and OpenAPI schema, since the decorator keeps the signature.

A user known only inside a dependency can be recorded with `use_gebruiker` from an *async*
`yield` dependency (sync dependencies run in a worker thread whose context does not flow back).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request

from ._asgi import Scope, VerwerkingenMiddleware
from ._rules import Rules, load_path

__all__ = ["instrument_app", "uninstrument_app"]

_MARK = "_verwerkingen_instrumented"


def instrument_app(
    app: Starlette,
    *,
    exclude: Sequence[str] = (),
    gebruiker: Callable[[Request], str | None] | None = None,
    rules: Rules | str | None = None,
    tenant: Callable[[Request], str | None] | None = None,
) -> Starlette:
    """Add the verwerkingen middleware to a FastAPI/Starlette app, once; returns the app.

    `tenant` names the tenant of a request (tenants file); else `configure(tenant=...)`."""
    if getattr(app, _MARK, False):
        return app
    if app.middleware_stack is not None:
        raise RuntimeError("instrument_app(app) must be called before the app starts serving")
    # Innermost user middleware: inside Starlette's error handling (so the 503 answer works) and
    # inside e.g. AuthenticationMiddleware (so the gebruiker hook sees request.user).
    app.user_middleware.append(
        Middleware(
            VerwerkingenMiddleware,
            exclude=exclude,
            gebruiker=request_hook(gebruiker),
            rules=load_path(rules) if not isinstance(rules, Rules) else rules,
            tenant=request_hook(tenant),
        )
    )
    setattr(app, _MARK, True)
    return app


def request_hook(gebruiker: Callable[[Request], str | None] | None) -> Callable[[Scope], Any] | None:
    """Adapt a hook that takes a Starlette Request to the ASGI middleware's scope hook."""
    if gebruiker is None:
        return None

    def hook(scope: Scope) -> Any:
        return gebruiker(Request(scope))

    return hook


def uninstrument_app(app: Starlette) -> None:
    """Remove the middleware again (only before the app has started serving)."""
    app.user_middleware = [m for m in app.user_middleware if m.cls is not VerwerkingenMiddleware]
    app.middleware_stack = None
    setattr(app, _MARK, False)
