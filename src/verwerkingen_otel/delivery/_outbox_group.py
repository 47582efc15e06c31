"""Group commit: threads that record at the same moment share one transaction and one fsync.

The first caller to arrive while nobody is committing becomes the *leader* and commits at once
(a lone caller waits for nothing but its own commit, as before). Callers that arrive while a
commit is under way queue up; when it ends, the first of them leads the next commit, taking
everything queued meanwhile into one transaction. The leader takes the queue only once it holds
the write lock, so callers that arrive while it waits for the lock (the worker's turn, another
process's commit) join its commit too. Each caller returns only after the commit
that holds its own row succeeded, or raises the error of that commit: nobody returns on someone
else's success.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

__all__ = ["GroupCommit", "Waiter"]


class Waiter:
    """One caller's rows, waiting for the commit that holds them."""

    __slots__ = ("rows", "error", "leader", "_wake")

    def __init__(self, rows: Any) -> None:
        self.rows = rows
        self.error: BaseException | None = None  # set by the leader when this caller's rows failed
        self.leader = False  # set when this caller is handed the next commit
        self._wake = threading.Lock()
        self._wake.acquire()  # released (once) by whoever finishes with this caller


class GroupCommit:
    """Leader/follower batching of writes; `commit(take)` opens a transaction, calls `take()` for
    the waiters to write (everything queued by then) and commits them.

    `commit` sets `error` on a waiter whose own rows failed (the others still commit) and raises
    when the transaction as a whole failed (then every waiter of the batch fails).
    """

    def __init__(self, commit: Callable[[Callable[[], list[Waiter]]], None],
                 error: Callable[[BaseException], BaseException]) -> None:
        self._commit = commit
        self._error = error  # a fresh exception per waiter from the batch's failure
        self.reset()

    def reset(self) -> None:
        """Fresh state (also in a forked child: the parent's waiters are not there)."""
        self._mutex = threading.Lock()
        self._queue: list[Waiter] = []
        self._busy = False
        self.batches = 0  # commits made (for tests and benchmarks)
        self.grouped = 0  # callers served by them

    def submit(self, rows: Any) -> None:
        """Commit `rows`; return once they are durable, or raise the commit's error."""
        me = Waiter(rows)
        with self._mutex:
            self._queue.append(me)
            lead = not self._busy
            self._busy = True
        if not lead:
            me._wake.acquire()  # until our commit ended, or we are to lead the next one
            if not me.leader:
                if me.error is not None:
                    raise me.error
                return
        self._lead(me)
        if me.error is not None:
            raise me.error

    def _lead(self, me: Waiter) -> None:
        batch: list[Waiter] = []

        def take() -> list[Waiter]:
            if not batch:
                with self._mutex:
                    batch.extend(self._queue)
                    self._queue = []
            return batch

        try:
            self._commit(take)
        except BaseException as exc:  # the transaction failed: nobody in it is durable
            for waiter in take():
                if waiter.error is None:
                    waiter.error = exc if waiter is me else self._error(exc)
        finally:
            with self._mutex:
                self.batches += 1
                self.grouped += len(batch)
                successor = self._queue[0] if self._queue else None
                if successor is None:
                    self._busy = False
                else:
                    successor.leader = True
            for waiter in batch:
                if waiter is not me:
                    waiter._wake.release()
            if successor is not None:
                successor._wake.release()
