"""Global OpenTelemetry state a test may change: snapshot it, restore it, say what leaked.

The global TracerProvider can be set only once per process (OpenTelemetry guards it with a
`Once`), so a test that sets one changes every later test. Tests that need their own global
provider use `global_tracer_provider(...)`; the root conftest checks after every test that the
provider, the propagator, our pipeline and the class patches (Flask, Starlette, httpx) are as
they were before it, restores them, and fails the test that leaked.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

import wrapt
from opentelemetry import propagate, trace
from opentelemetry.util._once import Once

__all__ = ["Snapshot", "global_tracer_provider", "snapshot"]


def _places() -> dict[str, tuple[Any, str]]:
    """The methods our instrumentation wraps."""
    import flask
    import httpx
    from starlette.applications import Starlette

    return {"flask.Flask.__init__": (flask.Flask, "__init__"),
            "Starlette.build_middleware_stack": (Starlette, "build_middleware_stack"),
            "httpx.Client.send": (httpx.Client, "send"),
            "httpx.AsyncClient.send": (httpx.AsyncClient, "send")}


def _patched() -> dict[str, bool]:
    return {label: isinstance(owner.__dict__.get(name), wrapt.ObjectProxy)
            for label, (owner, name) in _places().items()}


@dataclass
class Snapshot:
    provider: Any
    provider_set: bool
    textmap: Any
    pipeline: Any
    patched: dict[str, bool]

    def leaks(self, now: Snapshot) -> list[str]:
        found = []
        if now.provider is not self.provider or now.provider_set != self.provider_set:
            found.append("the global TracerProvider")
        if now.textmap is not self.textmap:
            found.append("the global propagator (set_global_textmap)")
        if now.pipeline is not self.pipeline:
            found.append("the current verwerkingen pipeline")
        found += [f"a patch on {label}" for label, on in now.patched.items() if on != self.patched.get(label)]
        return found

    def restore(self) -> None:
        from verwerkingen_otel import capture as pipeline

        trace._TRACER_PROVIDER = self.provider  # noqa: SLF001 - no public way to unset it
        once = Once()
        once._done = self.provider_set  # noqa: SLF001
        trace._TRACER_PROVIDER_SET_ONCE = once  # noqa: SLF001
        propagate.set_global_textmap(self.textmap)
        for label, (owner, name) in _places().items():
            current = owner.__dict__.get(name)
            if isinstance(current, wrapt.ObjectProxy) and not self.patched.get(label):
                setattr(owner, name, current.__wrapped__)
        left = pipeline.install(self.pipeline)
        if left is not None and left is not self.pipeline:
            left.shutdown(1.0)


def snapshot() -> Snapshot:
    from verwerkingen_otel import capture as pipeline

    return Snapshot(trace._TRACER_PROVIDER, trace._TRACER_PROVIDER_SET_ONCE._done,  # noqa: SLF001
                    propagate.get_global_textmap(), pipeline.current_pipeline(), _patched())


@contextmanager
def global_tracer_provider(provider: trace.TracerProvider) -> Iterator[trace.TracerProvider]:
    """Make `provider` the global one for a block, then put back whatever was there."""
    before = snapshot()
    trace._TRACER_PROVIDER_SET_ONCE = Once()  # noqa: SLF001
    trace.set_tracer_provider(provider)
    try:
        yield provider
    finally:
        trace._TRACER_PROVIDER = before.provider  # noqa: SLF001
        once = Once()
        once._done = before.provider_set  # noqa: SLF001
        trace._TRACER_PROVIDER_SET_ONCE = once  # noqa: SLF001
