"""The `console` exporter: each record as one JSON line, on stdout or appended to a file."""

from __future__ import annotations

import os
import sys
import threading
from typing import IO

from .._errors import RetryableFailure
from .._record import Record

__all__ = ["ConsoleExporter"]


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
        line = record.content + "\n"
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
