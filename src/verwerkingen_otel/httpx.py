"""Outbound httpx: send `traceparent` and the six VNG headers of the current verwerkingsactie.

    from verwerkingen_otel import httpx as vo_httpx
    vo_httpx.instrument()                  # every httpx.Client and AsyncClient in the process
    vo_httpx.instrument_client(client)     # just this one client (event hook)

The implementation lives in `verwerkingen_otel.web`; this module is its public face.
"""

from __future__ import annotations

from .web import UNTRACED, add_headers, instrument, instrument_client, is_instrumented, uninstrument

__all__ = ["UNTRACED", "add_headers", "instrument", "instrument_client", "is_instrumented", "uninstrument"]
