"""verwerkingen-otel: VNG Verwerkingenlogging for Python services, captured as OpenTelemetry spans.

The public names are imported on first use (PEP 562), so that importing a submodule — the
pytest plugin in every test session, for one — does not pull in the OpenTelemetry SDK.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "Actie": "capture",
    "current_actie": "capture",
    "current_verwerking": "capture",
    "verwerking": "capture",
    "verwerkingsactie": "capture",
    "ConfigurationError": "config",
    "Settings": "config",
    "Afnemer": "context",
    "current_afnemer": "context",
    "current_gebruiker": "context",
    "run_in_context": "context",
    "use_afnemer": "context",
    "use_gebruiker": "context",
    "RecordingError": "delivery_base",
    "ValidationError": "model",
    "Vertrouwelijkheid": "model",
    "VerwerktObject": "model",
    "VerwerktSoortGegeven": "model",
    "Verwerkingsactie": "model",
    "personen_uit_resultaat": "objects",
    "persoon": "objects",
    "Pipeline": "pipeline",
    "configure": "pipeline",
    "force_flush": "pipeline",
    "shutdown": "pipeline",
    "AsyncVerwerkingenlogClient": "client",
    "VerwerkingenlogClient": "client",
    "VerwerkingenlogExporter": "exporter",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:
    from .capture import Actie, current_actie, current_verwerking, verwerking, verwerkingsactie
    from .config import ConfigurationError, Settings
    from .context import Afnemer, current_afnemer, current_gebruiker, run_in_context, use_afnemer, use_gebruiker
    from .client import AsyncVerwerkingenlogClient, VerwerkingenlogClient
    from .delivery_base import RecordingError
    from .exporter import VerwerkingenlogExporter
    from .model import ValidationError, Vertrouwelijkheid, VerwerktObject, VerwerktSoortGegeven, Verwerkingsactie
    from .objects import personen_uit_resultaat, persoon
    from .pipeline import Pipeline, configure, force_flush, shutdown
