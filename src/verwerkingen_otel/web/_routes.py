"""The route template of a request (`/personen/{bsn}`), as the framework spells it.

Recorded as `http.route` on every action of the request. Only templates the framework itself
declared are returned, never the concrete path: that may hold a BSN. Starlette/FastAPI: the
app's routes are matched against the path the middleware saw (public `matches()`, mounts and
FastAPI's lazily included routers walked), since the scope holds only the innermost route
after routing. Flask (any Werkzeug app that sets it): the request's `url_rule.rule`.
"""

from __future__ import annotations

from typing import Any, Mapping

__all__ = ["starlette_route", "werkzeug_route"]


def werkzeug_route(environ: Mapping[str, Any]) -> str | None:
    """Flask's matched rule (`/personen/<bsn>`, blueprint prefixes included); None before routing or on a 404."""
    request = environ.get("werkzeug.request")
    rule = getattr(getattr(request, "url_rule", None), "rule", None)
    return rule if type(rule) is str else None


def starlette_route(app: Any, scope: Mapping[str, Any], path: str, root_path: str) -> str | None:
    """The template of the route `app` serves this request with (mount templates prefixed), or None.

    `path`/`root_path`: as they were when the middleware saw the request (routing rewrites them).
    """
    routes = getattr(app, "routes", None)
    if not routes:
        return None
    routed = scope.get("route")  # FastAPI's matched route, once routed: the cheap answer when it
    if routed is not None and scope.get("root_path", "") == root_path:  # is the app's own (no mount,
        if any(route is routed for route in routes):  # no included router between: full template)
            template = getattr(routed, "path", None)
            if isinstance(template, str):
                return template
    from starlette.routing import Match  # late: only for apps that have Starlette routes

    probe = dict(scope)
    probe["path"] = path
    probe["root_path"] = root_path
    probe.pop("fastapi", None)  # FastAPI's own per-request routing state: not ours to touch
    return _walk(routes, probe, "", Match.FULL)


def _walk(routes: Any, scope: dict[str, Any], prefix: str, full: Any) -> str | None:
    for route in routes:
        contexts = getattr(route, "effective_route_contexts", None)  # FastAPI >= 0.139: include_router
        if callable(contexts):
            for context in contexts():
                found, template = _match_context(context, scope, prefix, full)
                if found:
                    return template
            continue
        found, template = _match_route(route, scope, prefix, full)
        if found:
            return template
    return None


def _match_route(route: Any, scope: dict[str, Any], prefix: str, full: Any) -> tuple[bool, str | None]:
    """(matched, template): a matched mount decides, even when nothing inside it matches (404)."""
    match, child = route.matches(scope)
    if match != full:
        return False, None
    sub = getattr(route, "routes", None)  # Mount or Host
    path = getattr(route, "path", None)
    if sub is None:
        return True, prefix + path if isinstance(path, str) else None
    prefix = prefix + path if isinstance(path, str) else prefix  # a Host adds no path
    if sub:
        return True, _walk(sub, {**scope, **child}, prefix, full)
    # a mounted app whose routes we cannot see (static files, another framework): `/static/{path}`
    return True, prefix + "/{path}" if isinstance(path, str) else None


def _match_context(context: Any, scope: dict[str, Any], prefix: str, full: Any) -> tuple[bool, str | None]:
    """One effective route of a FastAPI included router: a prefixed Starlette route, or an API route."""
    route = getattr(context, "starlette_route", None)
    if route is not None:
        return _match_route(route, scope, prefix, full)
    regex = getattr(context, "path_regex", None)
    path = getattr(context, "path", None)
    if regex is None or not isinstance(path, str) or not regex.match(_route_path(scope)):
        return False, None
    methods = getattr(context, "methods", None)
    if methods and scope.get("method") not in methods:
        return False, None  # Starlette's partial match (405): keep looking for a full one
    return True, prefix + path


def _route_path(scope: Mapping[str, Any]) -> str:
    path: str = scope.get("path", "")
    root = scope.get("root_path", "")
    if root and path.startswith(root) and (len(path) == len(root) or path[len(root)] == "/"):
        return path[len(root):]
    return path
