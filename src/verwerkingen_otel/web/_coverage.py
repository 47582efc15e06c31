"""`verwerkingen-otel register coverage --app module:app`: which activities does the app log?

For a Flask or FastAPI/Starlette app: every route with the activity its decorator or rule
records (or none), then every activity of the register that no route records — the privacy
officer's question "which of our activities are not logged?". Activities recorded inside a
handler with `with verwerkingsactie(...)` are not visible from outside and show as none.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from dataclasses import dataclass
from typing import Any, Iterator

import wrapt

from ..capture import annotation_of
from ..register import Register, RegisterError, open_source
from ._rules import Rules, RulesError, canonical_route, load_rules, rules_from_env

__all__ = ["RouteCoverage", "add_coverage_parser", "coverage", "load_app", "misplaced_decorators",
           "warn_misplaced_decorators"]

logger = logging.getLogger("verwerkingen_otel.web")

_IGNORED_METHODS = {"HEAD", "OPTIONS"}


@dataclass(frozen=True)
class RouteCoverage:
    method: str
    route: str
    by: str  # "decorator", "rule", "" (nothing records an action here) or "misplaced" (nothing: see _misplaced)
    activiteit: str | None  # as annotated: a naam or id
    activiteit_id: str | None  # resolved in the register; None when unknown or absent


def load_app(spec: str) -> Any:
    """`module:attribute` (the current directory on sys.path); a factory is called once."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValueError("--app: give module:attribute, e.g. myservice.main:app")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    app: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        app = getattr(app, part)
    if not hasattr(app, "url_map") and not hasattr(app, "routes") and callable(app):
        app = app()
    return app


def _routes(app: Any) -> Iterator[tuple[str, str, Any]]:
    """(method, route template, endpoint) of a Flask or Starlette/FastAPI app."""
    if hasattr(app, "url_map"):  # Flask
        for rule in app.url_map.iter_rules():
            if rule.endpoint == "static":
                continue
            for method in sorted(set(rule.methods or ()) - _IGNORED_METHODS):
                yield method, canonical_route(rule.rule), app.view_functions.get(rule.endpoint)
        return

    def walk(routes: Any, prefix: str) -> Iterator[tuple[str, str, Any]]:
        for route in routes:
            path = prefix + getattr(route, "path", "")
            if hasattr(route, "routes") and not hasattr(route, "endpoint"):  # a Mount
                yield from walk(route.routes, path)
                continue
            for method in sorted(set(getattr(route, "methods", None) or {"*"}) - _IGNORED_METHODS):
                yield method, canonical_route(path), getattr(route, "endpoint", None)

    yield from walk(getattr(app, "routes", ()), "")


_PROXIES = (wrapt.FunctionWrapper, wrapt.ObjectProxy,  # wrapt 2: the C proxies are BaseObjectProxy
            *([wrapt.BaseObjectProxy] if hasattr(wrapt, "BaseObjectProxy") else []))


def _misplaced(endpoint: Any) -> bool:
    """`@verwerkingsactie` sits above the route decorator: the framework registered the function
    the decorator was given, so the route calls it undecorated and records nothing. Capture knows
    that function by its annotation; a properly decorated endpoint is (or wraps) the decorator's
    wrapt proxy instead."""
    if endpoint is None or annotation_of(endpoint) is None:
        return False
    seen = endpoint
    for _ in range(20):  # other decorators between the route and ours (functools.wraps chains)
        if isinstance(seen, _PROXIES):
            return False
        seen = getattr(seen, "__wrapped__", None)
        if seen is None:
            return True
    return False


def misplaced_decorators(app: Any) -> list[str]:
    """`METHOD /route` of every route whose `@verwerkingsactie` sits above its route decorator."""
    try:
        return [f"{method} {route}" for method, route, endpoint in _routes(app) if _misplaced(endpoint)]
    except Exception:  # noqa: BLE001 - a check at the first request must never break the app
        return []


def warn_misplaced_decorators(app: Any) -> None:
    """Log each route that records nothing because of the decorator order (at its first request)."""
    for route in misplaced_decorators(app):
        logger.error("route %s: @verwerkingsactie sits above the route decorator, so the route runs the "
                     "undecorated function and records no verwerkingsactie; put @verwerkingsactie(...) "
                     "under @app.get(...) / @app.route(...)", route)


def coverage(app: Any, register: Register, rules: Rules | None) -> tuple[list[RouteCoverage], list[Any]]:
    """Every route with what records it, and the register's activities no route records."""
    found: list[RouteCoverage] = []
    for method, route, endpoint in _routes(app):
        misplaced = _misplaced(endpoint)
        annotation = annotation_of(endpoint) if endpoint is not None and not misplaced else None
        match = rules.for_route(method, route, {}) if rules is not None else None
        if misplaced and match is None:
            by, key = "misplaced", None
        elif annotation is not None:
            by, key = "decorator", annotation.activiteit or annotation.activiteit_id
        elif match is not None:
            by, key = "rule", match.rule.actie.get("activiteit") or match.rule.actie.get("verwerkingsactiviteit_id")
        else:
            by, key = "", None
        try:
            resolved = register.lookup(key).id if key is not None else None
        except RegisterError:
            resolved = None
        found.append(RouteCoverage(method, route, by, key, resolved))
    covered = {r.activiteit_id for r in found if r.activiteit_id}
    return found, [a for a in register if a.id not in covered]


def add_coverage_parser(register_subparsers: Any) -> None:
    p = register_subparsers.add_parser(
        "coverage", help="list an app's routes with the activity each records, and the activities none records")
    p.add_argument("--app", required=True, metavar="MODULE:APP", help="the Flask or FastAPI app, e.g. service.main:app")
    p.add_argument("--rules", metavar="FILE", help="the route rules file (default: $VERWERKINGEN_RULES)")
    p.add_argument("--register", metavar="FILE_OR_URL",
                   help="register file or VAR API base URL (default: $VERWERKINGEN_REGISTER)")
    p.set_defaults(func=_coverage_command)


def _coverage_command(args: argparse.Namespace) -> int:
    spec = args.register or os.environ.get("VERWERKINGEN_REGISTER")
    if not spec:
        print("verwerkingen-otel register coverage: --register: give a register (or set VERWERKINGEN_REGISTER)",
              file=sys.stderr)
        return 2
    try:
        register = open_source(spec).load()
        rules = load_rules(args.rules) if args.rules else rules_from_env()
        app = load_app(args.app)
    except (RegisterError, RulesError, ValueError, ImportError, AttributeError) as exc:
        print(f"verwerkingen-otel register coverage: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    routes, uncovered = coverage(app, register, rules)
    width = max([len(r.route) for r in routes] + [5])
    print(f"routes of {args.app} ({len(routes)}):")
    for r in routes:
        if r.by == "misplaced":
            what = "— no verwerkingsactie recorded: @verwerkingsactie sits above the route decorator"
        elif r.activiteit is None:
            what = "— no verwerkingsactie recorded"
        elif r.activiteit_id is None:
            what = f"{r.by}: {r.activiteit!r} — NOT IN THE REGISTER"
        else:
            what = f"{r.by}: {register.lookup(r.activiteit_id).naam!r} ({r.activiteit_id})"
        print(f"  {r.method:7s}{r.route:{width}s}  {what}")
    print(f"activities of the register that no route records ({len(uncovered)} of {len(register)}):")
    for a in uncovered:
        print(f"  {a.naam!r} ({a.id})")
    return 0
