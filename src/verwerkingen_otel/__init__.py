"""verwerkingen-otel: VNG Verwerkingenlogging for Python services, captured as OpenTelemetry spans.

The public names are imported on first use (PEP 562), so that importing a submodule — the
pytest plugin in every test session, for one — does not pull in the OpenTelemetry SDK.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

_EXPORTS: dict[str, str] = {
    "Actie": "capture",
    "current_actie": "capture",
    "current_verwerking": "capture",
    "verwerking": "capture",
    "verwerkingsactie": "capture",
    "ConfigurationError": "capture",
    "Settings": "capture",
    "current_afnemer": "capture",
    "current_gebruiker": "capture",
    "run_in_context": "capture",
    "use_afnemer": "capture",
    "use_gebruiker": "capture",
    "personen_uit_resultaat": "capture",
    "persoon": "capture",
    "Pipeline": "capture",
    "configure": "capture",
    "force_flush": "capture",
    "shutdown": "capture",
    "VerwerkingenlogExporter": "capture",
    "RecordingError": "delivery",
    "current_tenant": "delivery",
    "use_tenant": "delivery",
    "Afnemer": "model",
    "ValidationError": "model",
    "Vertrouwelijkheid": "model",
    "VerwerktObject": "model",
    "VerwerktSoortGegeven": "model",
    "Verwerkingsactie": "model",
    "AsyncVerwerkingenlogClient": "client",
    "VerwerkingenlogClient": "client",
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
    from .delivery import current_tenant, use_tenant
    from .capture import (
        Actie,
        ConfigurationError,
        Pipeline,
        Settings,
        VerwerkingenlogExporter,
        configure,
        current_actie,
        current_afnemer,
        current_gebruiker,
        current_verwerking,
        force_flush,
        personen_uit_resultaat,
        persoon,
        run_in_context,
        shutdown,
        use_afnemer,
        use_gebruiker,
        verwerking,
        verwerkingsactie,
    )
    from .client import AsyncVerwerkingenlogClient, VerwerkingenlogClient
    from .delivery import RecordingError
    from .model import Afnemer, ValidationError, Vertrouwelijkheid, VerwerktObject, VerwerktSoortGegeven, Verwerkingsactie
