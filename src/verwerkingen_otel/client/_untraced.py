"""Keeping the client's own HTTP calls out of every trace.

They may carry a BSN in a query string, and the application's tracing backend must not see
it. Every send runs inside `untraced()` — OpenTelemetry's own `suppress_instrumentation()` and
`suppress_http_instrumentation()` (opentelemetry-instrumentation, the public helpers every
instrumentation checks) when that package is installed; without it no instrumentation is there
to suppress — and each request carries the extension `UNTRACED_EXTENSION` so our own httpx
instrumentation skips it too.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable

__all__ = ["UNTRACED_EXTENSION", "untraced"]

UNTRACED_EXTENSION = "verwerkingen.untraced"
"""httpx request extension on every request of ours (the same marker as `httpx.UNTRACED`):
instrumentations must neither trace it nor add verwerkingen headers."""


def _suppressors() -> tuple[Callable[[], Any], ...]:
    try:
        from opentelemetry.instrumentation import utils
    except ImportError:  # no instrumentation package, so no instrumentation to keep out
        return ()
    found = (getattr(utils, "suppress_instrumentation", None), getattr(utils, "suppress_http_instrumentation", None))
    return tuple(f for f in found if f is not None)


_SUPPRESSORS = _suppressors()


class untraced:
    """Context manager: OpenTelemetry instrumentations skip HTTP calls made inside it."""

    def __enter__(self) -> None:
        self._stack = contextlib.ExitStack()
        for suppress in _SUPPRESSORS:
            self._stack.enter_context(suppress())

    def __exit__(self, *exc: object) -> None:
        self._stack.close()
