"""Keeping the client's own HTTP calls out of every trace.

They may carry a BSN in a query string, and the application's tracing backend must not see
it. Every send runs inside `untraced()` (OpenTelemetry's suppress-instrumentation context keys
set), and each request carries the extension `UNTRACED_EXTENSION` so our own httpx
instrumentation skips it too.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import context as otel_context

__all__ = ["UNTRACED_EXTENSION", "untraced"]

UNTRACED_EXTENSION = "verwerkingen.untraced"
"""httpx request extension on every request of ours (the same marker as `httpx.UNTRACED`):
instrumentations must neither trace it nor add verwerkingen headers."""


class untraced:
    """Context manager: OpenTelemetry instrumentations skip HTTP calls made inside it."""

    def __enter__(self) -> None:
        ctx = otel_context.set_value(otel_context._SUPPRESS_INSTRUMENTATION_KEY, True)
        ctx = otel_context.set_value(otel_context._SUPPRESS_HTTP_INSTRUMENTATION_KEY, True, ctx)
        self._token: Any = otel_context.attach(ctx)

    def __exit__(self, *exc: object) -> None:
        otel_context.detach(self._token)
