"""Local sinks for records: the console (JSON lines) and memory (tests, demos).

The `api` exporter, which posts to the verwerkingenlog, lives with the delivery code.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import IO, Any

from .delivery_base import Record, RetryableFailure

__all__ = ["ConsoleExporter", "InMemoryExporter"]


class ConsoleExporter:
    """One JSON object per line: exactly the POST /verwerkingsacties body.

    Writes to stdout (looked up on every write, so redirection and capture work) or appends to
    a file, created readable by its owner only because it holds BSNs.
    """

    name = "console"

    def __init__(self, path: str | os.PathLike[str] | None = None, stream: IO[str] | None = None) -> None:
        self._lock = threading.Lock()
        self._stream = stream
        self._file: IO[str] | None = None
        if path is not None:
            fd = os.open(os.fspath(path), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            self._file = os.fdopen(fd, "a", encoding="utf-8")

    def export(self, record: Record) -> None:
        line = json.dumps(record.body, ensure_ascii=False, separators=(",", ":")) + "\n"
        stream = self._file or self._stream or sys.stdout
        try:
            with self._lock:
                stream.write(line)
                stream.flush()
        except (OSError, ValueError) as exc:  # disk full, closed stream
            raise RetryableFailure(f"console exporter could not write: {type(exc).__name__}") from exc

    def shutdown(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


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
