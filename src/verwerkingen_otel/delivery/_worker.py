"""The delivery worker: one dispatcher thread and `concurrency` sender threads over one store.

The dispatcher is the only one that touches the store on the worker side: it leases due rows,
hands them to senders and applies their outcomes in batches (one transaction for many
deletes). Each failing record waits by its own attempt count (`_policy`). Per exporter it also
keeps a failure streak, used only while none of its records is accepted: then a retryable or
auth failure pauses that exporter (exponential backoff with jitter, or the log's Retry-After up
to a cap) and probes with one record at a time until one gets through, so an outage costs one
request per backoff, not one per waiting action; a record that fails while others get through
slows nobody. A record the log refuses for good (other 4xx) goes to the
dead letters; nothing behind it waits. Threads are daemons, restarted in a forked child.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import queue
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Protocol, Sequence

from opentelemetry import metrics

from ._errors import AuthFailure, PermanentFailure, RetryableFailure
from ._metrics import LIVE_WORKERS, get_instruments
from ._outbox import OutboxRow
from ._policy import RetryPolicy
from ._record import ActionExporter, Record

__all__ = ["COALESCE", "Store", "Worker", "after_fork"]

logger = logging.getLogger("verwerkingen_otel.delivery")
COALESCE = 0.005
"""Seconds the dispatcher waits for more outcomes before it commits a batch."""


class Store(Protocol):
    def cycle(self, delivered: Iterable[int], retry: Iterable[tuple[int, float, str]],
              dead: Iterable[tuple[int, int | None, str]], release: Iterable[int],
              claims: Sequence[tuple[str, int]]) -> dict[str, list[OutboxRow]]: ...
    def checkpoint(self) -> None: ...
    @property
    def writes(self) -> int: ...
    def pending(self, exporters: Sequence[str] | None = None) -> int: ...
    def next_due(self, exporter: str) -> float | None: ...


@dataclass
class _Outcome:
    exporter: str
    row: OutboxRow
    kind: str  # "delivered" | "retry" | "auth" | "dead"
    retry_after: float | None = None
    reason: str = ""
    status: int | None = None
    problem: dict[str, Any] | None = None
    started: float = 0.0  # when the try began
    ended: float = 0.0  # when its answer (or failure) came


class Worker:
    """Dispatcher + senders over one store. Started lazily, restarted in a forked child."""

    def __init__(self, store: Store, exporters: Sequence[ActionExporter], *, kind: str,
                 concurrency: int, policy: RetryPolicy, make_record: Callable[[OutboxRow], Record],
                 meter_provider: metrics.MeterProvider | None = None, lease_factor: int = 2) -> None:
        self.store = store
        # Rows leased per sender: a few keep senders busy between the dispatcher's commits;
        # an in-memory store has no commits to gather, so it leases more per turn.
        self.lease_factor = max(1, lease_factor)
        self.kind = kind
        self.exporters = {e.name: e for e in exporters}
        self.concurrency = max(1, int(concurrency))
        self.policy = policy
        self.make_record = make_record  # a stored row as the record its exporter gets
        self.instruments = get_instruments(self, meter_provider)
        self._start_lock = threading.Lock()
        self._init_state()
        self._pid = -1
        LIVE_WORKERS.add(self)

    def _init_state(self) -> None:
        self._wake = threading.Event()
        self._stop = False
        self._work: queue.SimpleQueue[tuple[str, OutboxRow] | None] = queue.SimpleQueue()
        self._outcomes: collections.deque[_Outcome] = collections.deque()
        self._inflight: dict[str, int] = {name: 0 for name in self.exporters}
        self._failures: dict[str, int] = {name: 0 for name in self.exporters}
        self._paused_until: dict[str, float] = {name: 0.0 for name in self.exporters}
        # Set by a sender the moment its try fails, so rows already handed to other senders are
        # given back instead of sent into a failing log (or past its Retry-After).
        self._tripped: dict[str, bool] = {name: False for name in self.exporters}
        self._failed_at: dict[str, float] = {name: 0.0 for name in self.exporters}
        self._last_delivered: dict[str, float] = {name: float("-inf") for name in self.exporters}
        self._threads: list[threading.Thread] = []

    def ensure_started(self) -> None:
        if self._pid == os.getpid() or self._stop:
            return
        with self._start_lock:
            if self._pid == os.getpid() or self._stop:
                return
            if self._pid != -1:  # we are a forked child: the parent's threads are not here
                self._init_state()
            self._pid = os.getpid()
            dispatcher = threading.Thread(target=self._dispatch, name=f"verwerkingen-{self.kind}-dispatcher",
                                          daemon=True)
            self._threads = [dispatcher] + [
                threading.Thread(target=self._send, name=f"verwerkingen-{self.kind}-sender-{i}", daemon=True)
                for i in range(self.concurrency)
            ]
            for thread in self._threads:
                thread.start()

    def after_fork_in_child(self) -> None:
        # Locks and events may have been held by threads that do not exist here.
        self._start_lock = threading.Lock()
        self._wake = threading.Event()

    def wake(self) -> None:
        if not self._wake.is_set():  # already signalled: spare the condition's lock and notify
            self._wake.set()

    def depths(self) -> dict[str, int]:
        try:
            return {name: self.store.pending([name]) for name in self.exporters}
        except Exception:  # closed, or the file went away: no observation rather than an error
            return {}

    # dispatcher ---------------------------------------------------------------------------

    def _dispatch(self) -> None:
        last_checkpoint = time.monotonic()
        while True:
            try:
                if self._outcomes and not self._stop and len(self._outcomes) < self.concurrency:
                    time.sleep(COALESCE)  # a moment for more outcomes: one commit for many
                self._turn()
                if self._stop:
                    return
                writes = self.store.writes
                if writes >= 1000 or (writes and time.monotonic() - last_checkpoint > 1.0):
                    self.store.checkpoint()
                    last_checkpoint = time.monotonic()
                timeout = self._next_wait()
            except Exception as exc:  # the store failed (disk full, file removed): retry later
                logger.error("verwerkingen %s delivery: cannot use the store (%s); retrying",
                             self.kind, type(exc).__name__)
                timeout = 1.0
            if timeout > 0:
                self._wake.wait(timeout)
            self._wake.clear()

    def _turn(self) -> bool:
        """Apply finished outcomes and lease new rows, in one store transaction."""
        delivered, retry, dead, release = self._take_outcomes()
        claims = [] if self._stop else self._claims()
        if not (delivered or retry or dead or release or claims):
            return False
        for name, rows in self.store.cycle(delivered, retry, dead, release, claims).items():
            for row in rows:
                self._inflight[name] += 1
                self._work.put((name, row))
        return True

    def _claims(self) -> list[tuple[str, int]]:
        now = time.time()
        # Lease up to `lease_factor` rows a sender: a few rows wait ready, so senders stay busy
        # while the dispatcher gathers outcomes into fewer, larger transactions.
        free = self.lease_factor * self.concurrency - sum(self._inflight.values())
        if free <= 0:
            return []
        eligible: list[tuple[str, bool]] = []
        for name in self.exporters:
            if self._paused_until[name] > now:
                continue
            if self._failures[name]:  # probing a failing log: one record at a time
                if not self._inflight[name]:
                    eligible.append((name, True))
                continue
            eligible.append((name, False))
        if not eligible:
            return []
        share = max(1, free // len(eligible))
        return [(name, 1 if probing else share) for name, probing in eligible]

    def _next_wait(self) -> float:
        if self._outcomes:
            return 0.0
        now = time.time()
        if sum(self._inflight.values()) >= self.lease_factor * self.concurrency:
            return 1.0
        wait = 1.0
        for name in self.exporters:
            if self._failures[name] and self._inflight[name]:
                continue
            if self._paused_until[name] > now:  # no need to ask the store
                wait = min(wait, self._paused_until[name] - now)
                continue
            due = self.store.next_due(name)
            if due is None:
                continue
            due = max(due, self._paused_until[name])
            wait = min(wait, max(0.0, due - now))
        return wait

    def _take_outcomes(self) -> tuple[list[int], list[tuple[int, float, str]],
                                      list[tuple[int, int | None, str]], list[int]]:
        """Sort finished tries into store changes; count, log and pause exporters meanwhile."""
        release: list[int] = []
        delivered: list[int] = []
        retry: list[tuple[int, float, str]] = []
        dead: list[tuple[int, int | None, str]] = []
        batch: list[_Outcome] = []
        while self._outcomes:
            batch.append(self._outcomes.popleft())
        if not batch:
            return delivered, retry, dead, release
        now = time.time()
        for o in batch:
            self._inflight[o.exporter] -= 1
            attrs = {"exporter": o.exporter, "delivery": self.kind}
            if o.kind == "returned":
                release.append(o.row.rowid)
            elif o.kind == "delivered":
                delivered.append(o.row.rowid)
                if o.started >= self._failed_at[o.exporter]:
                    # A try that began after the last failure was known: the log is back. (One
                    # already on the wire says nothing about a Retry-After it answered since.)
                    self._failures[o.exporter] = 0
                    self._paused_until[o.exporter] = 0.0
                self._last_delivered[o.exporter] = now
                self.instruments.delivered.add(1, attrs)
                self.instruments.latency.record(max(0.0, now - o.row.created), attrs)
            elif o.kind == "dead":
                dead.append((o.row.rowid, o.status, json.dumps(o.problem or {})))
                self.instruments.dead_lettered.add(1, attrs)
                logger.error(
                    "verwerkingen %s delivery: exporter %r refused action %s for good (%s); moved to "
                    "the dead letters", self.kind, o.exporter, o.row.record_id, o.reason)
            else:
                self._failed(o, now, retry, dead, attrs)
        return delivered, retry, dead, release

    def _failed(self, o: _Outcome, now: float, retry: list[tuple[int, float, str]],
                dead: list[tuple[int, int | None, str]], attrs: dict[str, str]) -> None:
        """A retryable or auth failure: the record's own backoff, and an exporter-wide pause
        only when none of the exporter's records has been accepted lately (see `_policy`)."""
        attempt = o.row.attempts + 1
        if self.policy.accepting(self._last_delivered[o.exporter], now):
            # Others get through: this record's own problem, and only it waits.
            if o.kind == "auth" and o.status == 403 and self.policy.dead_letters_forbidden(attempt):
                dead.append((o.row.rowid, 403, json.dumps(o.problem or {"status": 403})))
                self.instruments.dead_lettered.add(1, attrs)
                logger.error(
                    "verwerkingen %s delivery: exporter %r refused action %s %d times (%s) while it "
                    "accepts others: the client lacks the grant for it (e.g. create:confidential); "
                    "moved to the dead letters", self.kind, o.exporter, o.row.record_id, attempt, o.reason)
                return
            at = self.policy.record_retry(attempt, o.retry_after, now)
        else:
            self._failures[o.exporter] += 1
            pause = self.policy.delay(self._failures[o.exporter], o.retry_after)
            self._paused_until[o.exporter] = max(self._paused_until[o.exporter], now + pause)
            self._tripped[o.exporter] = False  # the pause above takes over
            self._failed_at[o.exporter] = max(self._failed_at[o.exporter], o.ended)
            at = self.policy.record_retry(attempt, o.retry_after, now, exporter_pause=pause)
        retry.append((o.row.rowid, at, o.reason[:200]))
        self.instruments.retried.add(1, {**attrs, "reason": o.kind})
        wait = at - now
        if o.kind == "auth":
            logger.error(
                "verwerkingen %s delivery: exporter %r was refused (%s): the credentials or grants "
                "are wrong (check VERWERKINGEN_CLIENT_ID, VERWERKINGEN_SECRET or VERWERKINGEN_TOKEN "
                "and the client's scopes); retrying in %.1f s, nothing is dropped",
                self.kind, o.exporter, o.reason, wait)
        elif attempt == 1 or attempt % 10 == 0:
            logger.warning(
                "verwerkingen %s delivery: exporter %r failed (%s), attempt %d of this action; "
                "retrying in %.1f s", self.kind, o.exporter, o.reason, attempt, wait)

    # senders --------------------------------------------------------------------------

    def _send(self) -> None:
        while True:
            item = self._work.get()
            if item is None:
                return
            name, row = item
            exporter = self.exporters[name]
            outcome = _Outcome(name, row, "delivered")
            if self._tripped[name] or self._paused_until[name] > time.time():
                outcome.kind = "returned"
                self._outcomes.append(outcome)
                self.wake()
                continue
            outcome.started = time.time()
            try:
                exporter.export(self.make_record(row))
            except RetryableFailure as exc:
                if not self.policy.accepting(self._last_delivered[name], time.time()):
                    self._tripped[name] = True  # the log is down: hold the others back
                outcome.kind, outcome.retry_after, outcome.reason = "retry", exc.retry_after, str(exc)
            except AuthFailure as exc:
                if not self.policy.accepting(self._last_delivered[name], time.time()):
                    self._tripped[name] = True  # credentials wrong: hold the others back
                outcome.kind, outcome.reason = "auth", str(exc)
                outcome.status, outcome.problem = exc.status, exc.problem
            except PermanentFailure as exc:
                status = exc.problem.get("status") if isinstance(exc.problem, dict) else None
                outcome.kind, outcome.reason = "dead", str(exc)
                outcome.problem = exc.problem
                outcome.status = status if isinstance(status, int) else None
            except Exception as exc:  # an exporter bug must not lose the record: retry it
                self._tripped[name] = True
                outcome.kind, outcome.reason = "retry", f"exporter raised {type(exc).__name__}"
            outcome.ended = time.time()
            self._outcomes.append(outcome)
            self.wake()

    # flushing and stopping -----------------------------------------------------------------

    def force_flush(self, timeout: float) -> bool:
        deadline = time.monotonic() + max(0.0, timeout)
        self.ensure_started()
        names = list(self.exporters)
        while True:
            self._wake.set()
            try:
                if self.store.pending(names) == 0:
                    return True
            except Exception:
                return False
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(0.01, remaining))

    def stop(self, deadline: float) -> bool:
        """Stop the threads; wait for them until `deadline` (monotonic). True if all ended."""
        self._stop = True
        for _ in range(self.concurrency):
            self._work.put(None)
        self._wake.set()
        ended = True
        for thread in self._threads:
            if thread.ident is None:
                continue
            thread.join(max(0.0, deadline - time.monotonic()))
            ended = ended and not thread.is_alive()
        LIVE_WORKERS.discard(self)
        return ended


def after_fork(ref: weakref.ref[Worker]) -> None:
    worker = ref()
    if worker is not None:
        worker.after_fork_in_child()
