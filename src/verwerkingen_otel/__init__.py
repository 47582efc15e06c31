"""verwerkingen-otel: VNG Verwerkingenlogging for Python services, captured as OpenTelemetry spans."""

from __future__ import annotations

__version__ = "0.1.0"

from .capture import Actie, current_actie, current_verwerking, verwerking, verwerkingsactie
from .config import ConfigurationError, Settings
from .context import Afnemer, current_afnemer, current_gebruiker, run_in_context, use_afnemer, use_gebruiker
from .delivery_base import RecordingError
from .model import ValidationError, Vertrouwelijkheid, VerwerktObject, VerwerktSoortGegeven, Verwerkingsactie
from .objects import personen_uit_resultaat, persoon
from .pipeline import Pipeline, configure, force_flush, shutdown

__all__ = [
    "Actie",
    "Afnemer",
    "ConfigurationError",
    "Pipeline",
    "RecordingError",
    "Settings",
    "ValidationError",
    "Vertrouwelijkheid",
    "VerwerktObject",
    "VerwerktSoortGegeven",
    "Verwerkingsactie",
    "__version__",
    "configure",
    "current_actie",
    "current_afnemer",
    "current_gebruiker",
    "current_verwerking",
    "force_flush",
    "personen_uit_resultaat",
    "persoon",
    "run_in_context",
    "shutdown",
    "use_afnemer",
    "use_gebruiker",
    "verwerking",
    "verwerkingsactie",
]
