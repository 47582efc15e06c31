"""Web integration: the request scope, ASGI and WSGI middleware, the six VNG headers in and out,
route templates, the route rules file, outbound httpx, the propagator and the instrumentor.

Builds on capture (and delivery's RecordingError); nothing below imports it. Names that need a
framework or an extra (Flask, Starlette, opentelemetry-instrumentation) load on first use, so
importing this package needs neither.
"""

from __future__ import annotations

from .._exports import publish

import importlib
from typing import TYPE_CHECKING, Any

from ._asgi import SCOPE_KEY, VerwerkingenMiddleware
from ._coverage import RouteCoverage, add_coverage_parser, coverage, load_app, misplaced_decorators
from ._httpx import UNTRACED, add_headers, instrument, instrument_client, is_instrumented, uninstrument
from ._propagator import VerwerkingenPropagator, current_outbound_headers
from ._routes import starlette_route, werkzeug_route
from ._rules import Rule, RuleMatch, Rules, RulesError, canonical_route, load_path, load_rules, parse_rules, rules_from_env
from ._rules_cli import add_rules_parser
from ._rules_objects import FoundObject, find_objects, parse_json
from ._scope import RequestScope, is_excluded, match_rule, problem_503, recording_error_in, run_gebruiker_hook
from ._wsgi import VerwerkingenWSGIMiddleware

_LAZY = {
    "Verwerkingen": "._flask",
    "instrument_app": "._fastapi",
    "uninstrument_app": "._fastapi",
    "VerwerkingenInstrumentor": "._instrumentor",
}

__all__ = [
    "SCOPE_KEY",
    "UNTRACED",
    "FoundObject",
    "RequestScope",
    "RouteCoverage",
    "Rule",
    "RuleMatch",
    "Rules",
    "RulesError",
    "Verwerkingen",
    "VerwerkingenInstrumentor",
    "VerwerkingenMiddleware",
    "VerwerkingenPropagator",
    "VerwerkingenWSGIMiddleware",
    "add_headers",
    "add_coverage_parser",
    "add_rules_parser",
    "coverage",
    "load_app",
    "canonical_route",
    "current_outbound_headers",
    "find_objects",
    "instrument",
    "instrument_app",
    "instrument_client",
    "is_excluded",
    "is_instrumented",
    "load_path",
    "load_rules",
    "match_rule",
    "misplaced_decorators",
    "parse_json",
    "parse_rules",
    "problem_503",
    "recording_error_in",
    "rules_from_env",
    "run_gebruiker_hook",
    "starlette_route",
    "uninstrument",
    "uninstrument_app",
    "werkzeug_route",
]


publish(globals(), __all__, __name__)  # reprs and docs show the short path


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from ._fastapi import instrument_app, uninstrument_app
    from ._flask import Verwerkingen
    from ._instrumentor import VerwerkingenInstrumentor
