"""verwerkingen-otel: VNG Verwerkingenlogging for Python services, captured as OpenTelemetry spans."""

from __future__ import annotations

__version__ = "0.1.0"
