"""`VerwerkingenInstrumentor`: capture an unmodified Flask or FastAPI app.

    VERWERKINGEN_RULES=rules.toml opentelemetry-instrument python app.py

Registered as the `verwerkingen` entry point of `opentelemetry_instrumentor`, so
`opentelemetry-instrument` calls `instrument()` before the app is imported. It covers every
supported library that is installed:

- Flask: every `Flask(...)` created afterwards gets the `Verwerkingen` extension;
- Starlette/FastAPI: every app builds its middleware stack with our ASGI middleware as its
  innermost user middleware (inside Starlette's error handling, so the 503 answer works, and
  inside authentication, so the gebruiker hook sees the user);
- httpx: every Client and AsyncClient sends the six headers and `traceparent`.

It uses the current pipeline or configures one from the environment (`VERWERKINGEN_*`), and
loads the rules file named by the `rules` setting (`VERWERKINGEN_RULES`), checked at once:
a mistake stops start-up with a message naming the file, the rule and the key.
`instrument(exclude=[...], gebruiker=hook)` passes those on (without `exclude`, the comma list
in OTEL_PYTHON_VERWERKINGEN_EXCLUDED_URLS); `uninstrument()` undoes the patches (apps already
built keep their middleware).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
from typing import Any, Collection

import wrapt

try:
    from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
except ModuleNotFoundError as exc:  # say which extra brings it, not only which module is missing
    raise ModuleNotFoundError("VerwerkingenInstrumentor needs opentelemetry-instrumentation: "
                              "pip install 'verwerkingen-otel[instrument]'", name=exc.name) from None

from ..capture import ConfigurationError, current_pipeline, get_pipeline
from ._rules import Rules, RulesError, load_path

__all__ = ["VerwerkingenInstrumentor"]

logger = logging.getLogger("verwerkingen_otel.web")

EXCLUDE_ENV = "OTEL_PYTHON_VERWERKINGEN_EXCLUDED_URLS"
"""Comma list of excluded paths (`/health,/static/*`) when `instrument()` gets no `exclude`."""


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _under_auto_instrumentation() -> bool:
    site = sys.modules.get("sitecustomize")
    return "auto_instrumentation" in str(getattr(site, "__file__", ""))


class VerwerkingenInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Instruments Flask, Starlette/FastAPI and httpx, whichever are installed."""

    _patched: list[tuple[Any, str]]

    def __init__(self) -> None:
        # BaseInstrumentor is a singleton: __init__ runs on every VerwerkingenInstrumentor().
        if not hasattr(self, "_patched"):
            self._patched = []

    def instrumentation_dependencies(self) -> Collection[str]:
        return ()  # each library is optional; those not installed are skipped

    def _instrument(self, **kwargs: Any) -> None:
        try:
            rules = self._rules(kwargs.get("rules"))
        except (RulesError, ConfigurationError) as exc:
            if _under_auto_instrumentation():
                # opentelemetry-instrument would log and carry on unrecorded: stop instead. Not by
                # SystemExit: inside sitecustomize Python buries that under a "Fatal Python error"
                # report and a traceback. Nothing of the app has run yet, so there is nothing to flush.
                sys.stderr.write(f"verwerkingen-otel: {exc}\n")
                sys.stderr.flush()
                os._exit(1)
            raise
        exclude = kwargs.get("exclude")
        if exclude is None:
            exclude = [p.strip() for p in os.environ.get(EXCLUDE_ENV, "").split(",") if p.strip()]
        options = {"exclude": tuple(exclude), "gebruiker": kwargs.get("gebruiker"), "rules": rules}
        if _installed("flask"):
            self._instrument_flask(options)
        if _installed("starlette"):
            self._instrument_starlette(options)
        if _installed("httpx"):
            from . import _httpx as our_httpx

            our_httpx.instrument()

    def _uninstrument(self, **kwargs: Any) -> None:
        for owner, name in reversed(self._patched):
            current = owner.__dict__.get(name)
            if isinstance(current, wrapt.FunctionWrapper):
                setattr(owner, name, current.__wrapped__)
        self._patched.clear()
        if _installed("httpx"):
            from . import _httpx as our_httpx

            our_httpx.uninstrument()

    @staticmethod
    def _rules(given: Rules | str | None) -> Rules | None:

        current_pipeline() or get_pipeline()  # instrument() configures one from the environment if none exists
        return load_path(given)  # None: the pipeline's `rules` setting

    def _patch(self, owner: Any, name: str, wrapper: Any) -> None:
        if not isinstance(owner.__dict__.get(name), wrapt.FunctionWrapper):
            wrapt.wrap_function_wrapper(owner, name, wrapper)
            self._patched.append((owner, name))

    def _instrument_flask(self, options: dict[str, Any]) -> None:
        import flask

        from ._flask import Verwerkingen

        extension = Verwerkingen(**options)

        def init(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> None:
            wrapped(*args, **kwargs)
            try:
                extension.init_app(instance)
            except Exception:  # noqa: BLE001 - never break the host app's construction
                logger.exception("could not instrument a Flask app")

        self._patch(flask.Flask, "__init__", init)

    def _instrument_starlette(self, options: dict[str, Any]) -> None:
        from starlette.applications import Starlette
        from starlette.middleware import Middleware

        from ._asgi import VerwerkingenMiddleware

        from ._fastapi import request_hook

        options = dict(options, gebruiker=request_hook(options["gebruiker"]))

        def build(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            stack = getattr(instance, "user_middleware", None)
            if isinstance(stack, list) and not any(m.cls is VerwerkingenMiddleware for m in stack):
                stack.append(Middleware(VerwerkingenMiddleware, **options))  # innermost, see fastapi.py
            return wrapped(*args, **kwargs)

        self._patch(Starlette, "build_middleware_stack", build)
        if _installed("fastapi"):
            import fastapi

            if "build_middleware_stack" in fastapi.FastAPI.__dict__:
                self._patch(fastapi.FastAPI, "build_middleware_stack", build)
