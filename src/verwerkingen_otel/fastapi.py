"""FastAPI and Starlette: `instrument_app(app)` adds the verwerkingen middleware once.

The implementation lives in `verwerkingen_otel.web`; this module is its public face.
"""

from __future__ import annotations

try:
    from .web import instrument_app, uninstrument_app
except ModuleNotFoundError as exc:  # Starlette is not installed: say which extra brings it
    if exc.name != "starlette":
        raise
    raise ModuleNotFoundError("verwerkingen_otel.fastapi needs FastAPI or Starlette: "
                              "pip install 'verwerkingen-otel[fastapi]'", name=exc.name) from None

__all__ = ["instrument_app", "uninstrument_app"]
