"""The `memory` exporter: keeps every record in a list — the shipped fake that the pytest plugin,
the demo and tests read back."""

from __future__ import annotations

import threading
from typing import Any

from .._record import Record

__all__ = ["InMemoryExporter"]


class InMemoryExporter:
    """Keeps every record in a list; what the pytest plugin and the demo read back."""

    name = "memory"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[Record] = []

    def export(self, record: Record) -> None:
        with self._lock:
            self._records.append(record)

    @property
    def records(self) -> list[Record]:
        with self._lock:
            return list(self._records)

    @property
    def bodies(self) -> list[dict[str, Any]]:
        """The POST bodies, oldest first."""
        return [r.body for r in self.records]

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def shutdown(self) -> None:
        pass
