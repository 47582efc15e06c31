"""The exporters a delivery hands records to: `api` (the verwerkingenlog), `console`, `memory`,
and `ldv` (Logboek Dataverwerkingen over OTLP; its module is imported only when configured,
since it needs the `ldv` extra)."""

from __future__ import annotations

from ..._exports import publish

from ._api import ApiExporter
from ._console import ConsoleExporter
from ._memory import InMemoryExporter

__all__ = ["ApiExporter", "ConsoleExporter", "InMemoryExporter"]

publish(globals(), __all__, __name__)  # reprs and docs show the short path

_LDV = {"LdvExporter": "_ldv", "JwtAuth": "_ldv", "ldv_exporter": "_ldv", "OtlpTransport": "_otlp",
        "readable_span": "_otlp"}


def __getattr__(name: str) -> object:
    """The ldv exporter's names, imported on first use (they need the `ldv` extra)."""
    module = _LDV.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    value.__module__ = __name__
    globals()[name] = value
    return value
