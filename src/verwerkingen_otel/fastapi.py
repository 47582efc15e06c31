"""FastAPI and Starlette: `instrument_app(app)` adds the verwerkingen middleware once.

The implementation lives in `verwerkingen_otel.web`; this module is its public face.
"""

from __future__ import annotations

from .web import instrument_app, uninstrument_app

__all__ = ["instrument_app", "uninstrument_app"]
