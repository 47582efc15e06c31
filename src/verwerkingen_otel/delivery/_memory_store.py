"""The in-memory counterpart of the outbox (delivery=memory): bounded, lost when the process dies."""

from __future__ import annotations

import collections
import heapq
import itertools
import os
import threading
import time
import weakref
from typing import Any, Iterable, Mapping, Sequence

from ._outbox import OutboxRow

__all__ = ["MemoryStore"]


class MemoryStore:
    """The in-memory counterpart of the outbox, bounded; dead letters kept (bounded) in memory."""

    def __init__(self, exporters: Sequence[str], max_size: int) -> None:
        self.max_size = max_size
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._rows: dict[int, OutboxRow] = {}
        self._ready: dict[str, collections.deque[int]] = {e: collections.deque() for e in exporters}
        self._delayed: dict[str, list[tuple[float, int]]] = {e: [] for e in exporters}
        self.dead: collections.deque[tuple[OutboxRow, int | None, str]] = collections.deque(maxlen=1000)
        # A fork while a thread of the parent holds the lock would leave the child's copy locked
        # for ever (that thread does not exist there): the child gets a fresh one (issue 11).
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _fresh_lock(ref))

    def add(self, record_id: str, body: Any, exporters: Sequence[str], bodies: Mapping[str, Any] | None = None) -> bool:
        """Queue one action per exporter; `bodies` gives some exporters a body of their own."""
        own = bodies or {}
        with self._lock:
            if len(self._rows) + len(exporters) > self.max_size:
                return False
            now = time.time()
            for exporter in exporters:
                rowid = next(self._ids)
                self._rows[rowid] = OutboxRow(rowid, record_id, exporter, own.get(exporter, body), now, 0)
                self._ready[exporter].append(rowid)
            return True

    def claim(self, exporter: str, limit: int) -> list[OutboxRow]:
        with self._lock:
            now = time.time()
            delayed, ready = self._delayed[exporter], self._ready[exporter]
            while delayed and delayed[0][0] <= now:
                ready.append(heapq.heappop(delayed)[1])
            rows = []
            while ready and len(rows) < limit:
                rows.append(self._rows[ready.popleft()])
            return rows

    def complete(self, delivered: Iterable[int] = (), retry: Iterable[tuple[int, float, str]] = (),
                 dead: Iterable[tuple[int, int | None, str]] = ()) -> None:
        with self._lock:
            for rowid in delivered:
                self._rows.pop(rowid, None)
            for rowid, at, _reason in retry:
                row = self._rows.get(rowid)
                if row is not None:
                    self._rows[rowid] = OutboxRow(rowid, row.record_id, row.exporter, row.body,
                                                  row.created, row.attempts + 1)
                    heapq.heappush(self._delayed[row.exporter], (at, rowid))
            for rowid, status, problem in dead:
                row = self._rows.pop(rowid, None)
                if row is not None:
                    self.dead.append((row, status, problem))

    def cycle(self, delivered: Iterable[int], retry: Iterable[tuple[int, float, str]],
              dead: Iterable[tuple[int, int | None, str]], release: Iterable[int],
              claims: Sequence[tuple[str, int]]) -> dict[str, list[OutboxRow]]:
        self.complete(delivered, retry, dead)
        with self._lock:
            for rowid in reversed(list(release)):
                row = self._rows.get(rowid)
                if row is not None:
                    self._ready[row.exporter].appendleft(rowid)
        return {exporter: self.claim(exporter, limit) for exporter, limit in claims}

    def checkpoint(self) -> None:
        pass

    writes = 0

    def pending(self, exporters: Sequence[str] | None = None) -> int:
        with self._lock:
            if exporters is None:
                return len(self._rows)
            return sum(1 for r in self._rows.values() if r.exporter in exporters)

    def next_due(self, exporter: str) -> float | None:
        with self._lock:
            if self._ready[exporter]:
                return 0.0
            delayed = self._delayed[exporter]
            return delayed[0][0] if delayed else None


def _fresh_lock(ref: weakref.ref[MemoryStore]) -> None:
    store = ref()
    if store is not None:
        store._lock = threading.Lock()
