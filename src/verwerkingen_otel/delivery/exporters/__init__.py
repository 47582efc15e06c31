"""The exporters a delivery hands records to: `api` (the verwerkingenlog), `console`, `memory`."""

from __future__ import annotations

from ._api import ApiExporter
from ._console import ConsoleExporter
from ._memory import InMemoryExporter

__all__ = ["ApiExporter", "ConsoleExporter", "InMemoryExporter"]

for _name in __all__:
    globals()[_name].__module__ = __name__
