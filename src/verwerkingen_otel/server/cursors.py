"""Page numbers mapped to keyset positions: where page N+1 of a list query starts.

The standard's lists are numbered pages. Serving page N by OFFSET re-walks N-1 pages; instead,
when the server serves page N of a query it remembers the position after its last row as the
start of page N+1 (per process, bounded LRU). A client following `next` thus gets every page
for the cost of one. A page without a remembered start (another instance, an evicted entry, a
client that jumps ahead) is served by OFFSET over the same person index — from the nearest
earlier page whose start is remembered, else from the first row: the same rows.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Hashable


class CursorCache:
    def __init__(self, capacity: int = 20_000) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            value = self._entries.get(key)
            if value is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return value

    def peek(self, key: Hashable) -> Any | None:
        """Like get, without counting a hit or a miss (for a search over several keys)."""
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def count(self, hit: bool) -> None:
        with self._lock:
            if hit:
                self.hits += 1
            else:
                self.misses += 1

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)


__all__ = ["CursorCache"]
