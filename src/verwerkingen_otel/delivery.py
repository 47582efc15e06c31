"""Getting recorded actions to their exporters: the outbox delivery and its worker.

`OutboxDelivery` (the default) writes each action to the SQLite outbox on the request path —
one row per exporter, committed before the decorated call returns — and a background worker
delivers the rows. `MemoryDelivery` does the same from a bounded in-memory queue: fast, but it
loses what is queued when the process dies and drops (counting them) when the queue is full.

The worker is one dispatcher thread and `concurrency` sender threads, all daemons. The
dispatcher is the only one that touches the store on the worker side: it leases due rows, hands
them to senders and applies their outcomes in batches (one transaction for many deletes). Per
exporter it keeps a failure streak: after a retryable or auth failure it pauses that exporter
(exponential backoff with jitter, or the log's Retry-After up to a cap) and probes with one
record at a time until one gets through, so an outage costs one request per backoff, not one
per waiting action. A record the log refuses for good (other 4xx) goes to the dead letters;
nothing behind it waits.
"""

from __future__ import annotations

import collections
import heapq
import itertools
import json
import logging
import os
import queue
import random
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any, Iterable, Protocol, Sequence

from opentelemetry import metrics

from .delivery_base import (
    ActionExporter,
    AuthFailure,
    PermanentFailure,
    Record,
    RecordingError,
    RetryableFailure,
)
from .model import Verwerkingsactie, new_uuid4
from .outbox import Outbox, OutboxError, OutboxRow

__all__ = ["MemoryDelivery", "OutboxDelivery", "RetryPolicy", "api_exporter", "memory_delivery",
           "outbox_delivery"]

logger = logging.getLogger("verwerkingen_otel.delivery")
COALESCE = 0.005
"""Seconds the dispatcher waits for more outcomes before it commits a batch."""
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)  # built once: request path


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff in seconds: base·2^(n-1) capped at `backoff_max`, with jitter (half to full)."""

    backoff_base: float = 0.5
    backoff_max: float = 60.0
    retry_after_cap: float = 60.0

    def delay(self, failures: int, retry_after: float | None = None) -> float:
        step = min(self.backoff_max, self.backoff_base * (2 ** max(0, failures - 1)))
        delay = step / 2 + random.random() * step / 2
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.retry_after_cap))
        return delay


# --- health -----------------------------------------------------------------------------


class _Instruments:
    """The delivery metrics (OpenTelemetry metrics API; a no-op without a MeterProvider)."""

    def __init__(self, meter_provider: metrics.MeterProvider | None = None,
                 workers: Any = None) -> None:
        meter = metrics.get_meter("verwerkingen_otel.delivery", meter_provider=meter_provider)
        self._workers = workers
        self.delivered = meter.create_counter(
            "verwerkingen.delivery.delivered", unit="{action}", description="actions delivered")
        self.retried = meter.create_counter(
            "verwerkingen.delivery.retried", unit="{attempt}", description="failed tries that will be retried")
        self.dead_lettered = meter.create_counter(
            "verwerkingen.delivery.dead_lettered", unit="{action}", description="actions refused for good")
        self.dropped = meter.create_counter(
            "verwerkingen.delivery.dropped", unit="{action}", description="actions dropped (memory delivery, queue full)")
        self.latency = meter.create_histogram(
            "verwerkingen.delivery.latency", unit="s", description="from recording to delivery")
        meter.create_observable_gauge(
            "verwerkingen.outbox.depth", callbacks=[self._observe_depth], unit="{action}",
            description="actions waiting for delivery")

    def _observe_depth(self, options: Any) -> Iterable[metrics.Observation]:
        for worker in list(self._workers if self._workers is not None else _LIVE):
            for name, depth in worker.depths().items():
                yield metrics.Observation(depth, {"exporter": name, "delivery": worker.kind})


_LIVE: weakref.WeakSet[_Worker] = weakref.WeakSet()
_instruments: _Instruments | None = None
_instruments_lock = threading.Lock()


def _get_instruments(worker: _Worker, meter_provider: metrics.MeterProvider | None) -> _Instruments:
    """The global provider's instruments are shared; an explicit provider gets its own."""
    global _instruments
    if meter_provider is not None:
        return _Instruments(meter_provider, weakref.WeakSet([worker]))
    with _instruments_lock:
        if _instruments is None:
            _instruments = _Instruments()
        return _instruments


# --- stores -------------------------------------------------------------------------------


class _Store(Protocol):
    def cycle(self, delivered: Iterable[int], retry: Iterable[tuple[int, float, str]],
              dead: Iterable[tuple[int, int | None, str]], release: Iterable[int],
              claims: Sequence[tuple[str, int]]) -> dict[str, list[OutboxRow]]: ...
    def checkpoint(self) -> None: ...
    @property
    def writes(self) -> int: ...
    def pending(self, exporters: Sequence[str] | None = None) -> int: ...
    def next_due(self, exporter: str) -> float | None: ...


class _MemoryStore:
    """The in-memory counterpart of the outbox, bounded; dead letters kept (bounded) in memory."""

    def __init__(self, exporters: Sequence[str], max_size: int) -> None:
        self.max_size = max_size
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._rows: dict[int, OutboxRow] = {}
        self._ready: dict[str, collections.deque[int]] = {e: collections.deque() for e in exporters}
        self._delayed: dict[str, list[tuple[float, int]]] = {e: [] for e in exporters}
        self.dead: collections.deque[tuple[OutboxRow, int | None, str]] = collections.deque(maxlen=1000)

    def add(self, record_id: str, body: Any, exporters: Sequence[str]) -> bool:
        with self._lock:
            if len(self._rows) + len(exporters) > self.max_size:
                return False
            now = time.time()
            for exporter in exporters:
                rowid = next(self._ids)
                self._rows[rowid] = OutboxRow(rowid, record_id, exporter, body, now, 0)
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


# --- the worker ---------------------------------------------------------------------------


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


class _Worker:
    """Dispatcher + senders over one store. Started lazily, restarted in a forked child."""

    def __init__(self, store: _Store, exporters: Sequence[ActionExporter], *, kind: str,
                 concurrency: int, policy: RetryPolicy, decode: Any,
                 meter_provider: metrics.MeterProvider | None = None, lease_factor: int = 2) -> None:
        self.store = store
        # Rows leased per sender: a few keep senders busy between the dispatcher's commits;
        # an in-memory store has no commits to gather, so it leases more per turn.
        self.lease_factor = max(1, lease_factor)
        self.kind = kind
        self.exporters = {e.name: e for e in exporters}
        self.concurrency = max(1, int(concurrency))
        self.policy = policy
        self.decode = decode
        self.instruments = _get_instruments(self, meter_provider)
        self._start_lock = threading.Lock()
        self._init_state()
        self._pid = -1
        _LIVE.add(self)

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
                self.instruments.delivered.add(1, attrs)
                self.instruments.latency.record(max(0.0, now - o.row.created), attrs)
            elif o.kind == "dead":
                dead.append((o.row.rowid, o.status, json.dumps(o.problem or {})))
                self.instruments.dead_lettered.add(1, attrs)
                logger.error(
                    "verwerkingen %s delivery: exporter %r refused action %s for good (%s); moved to "
                    "the dead letters", self.kind, o.exporter, o.row.record_id, o.reason)
            else:
                self._failures[o.exporter] += 1
                failures = self._failures[o.exporter]
                pause = self.policy.delay(failures, o.retry_after)
                self._paused_until[o.exporter] = max(self._paused_until[o.exporter], now + pause)
                self._tripped[o.exporter] = False  # the pause above takes over
                self._failed_at[o.exporter] = max(self._failed_at[o.exporter], o.ended)
                retry.append((o.row.rowid, now + pause, o.reason[:200]))
                self.instruments.retried.add(1, {**attrs, "reason": o.kind})
                if o.kind == "auth":
                    logger.error(
                        "verwerkingen %s delivery: exporter %r was refused (%s): the credentials or "
                        "grants are wrong (check VERWERKINGEN_CLIENT_ID, VERWERKINGEN_SECRET or "
                        "VERWERKINGEN_TOKEN and the client's scopes); retrying in %.1f s, nothing is "
                        "dropped", self.kind, o.exporter, o.reason, pause)
                elif failures == 1 or failures % 10 == 0:
                    logger.warning(
                        "verwerkingen %s delivery: exporter %r failed (%s), %d in a row; retrying "
                        "in %.1f s", self.kind, o.exporter, o.reason, failures, pause)
        return delivered, retry, dead, release

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
                exporter.export(Record(id=row.record_id, body=self.decode(row.body)))
            except RetryableFailure as exc:
                self._tripped[name] = True
                outcome.kind, outcome.retry_after, outcome.reason = "retry", exc.retry_after, str(exc)
            except AuthFailure as exc:
                self._tripped[name] = True
                outcome.kind, outcome.reason = "auth", str(exc)
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
        _LIVE.discard(self)
        return ended


def _after_fork(ref: weakref.ref[_Worker]) -> None:
    worker = ref()
    if worker is not None:
        worker.after_fork_in_child()


class _DeliveryBase:
    """What both deliveries share: the worker, flushing, shutdown and exporter checks."""

    kind = "base"

    def __init__(self, exporters: Sequence[ActionExporter], store: _Store, *, concurrency: int,
                 policy: RetryPolicy | None, decode: Any,
                 meter_provider: metrics.MeterProvider | None, lease_factor: int = 2) -> None:
        names = [e.name for e in exporters]
        if len(set(names)) != len(names):
            raise ValueError(f"exporters: each name may occur once, got {names}")
        self._exporters = list(exporters)
        self._names = names
        self._store = store
        self._shut = False
        self._worker = _Worker(store, exporters, kind=self.kind, concurrency=concurrency,
                               policy=policy or RetryPolicy(), decode=decode,
                               meter_provider=meter_provider, lease_factor=lease_factor)
        ref = weakref.ref(self._worker)
        os.register_at_fork(after_in_child=lambda: _after_fork(ref))

    @property
    def exporter_names(self) -> list[str]:
        return list(self._names)

    def pending(self) -> int:
        """Actions not yet delivered to every exporter (rows, one per exporter)."""
        return self._store.pending(self._names)

    def force_flush(self, timeout: float = 5.0) -> bool:
        """True once nothing is pending (including replayed records); False at the timeout."""
        if self._shut:
            return self._store_pending_zero()
        return self._worker.force_flush(timeout)

    def _store_pending_zero(self) -> bool:
        try:
            return self._store.pending(self._names) == 0
        except Exception:
            return False

    def shutdown(self, timeout: float = 5.0) -> bool:
        """Flush within `timeout`, then stop the worker; what is left stays for the next start."""
        if self._shut:
            return True
        deadline = time.monotonic() + max(0.0, timeout)
        flushed = self.force_flush(timeout)
        self._shut = True
        stopped = self._worker.stop(deadline)
        self._after_stop(stopped)
        for exporter in self._exporters:
            try:
                exporter.shutdown()
            except Exception as exc:  # one exporter's failure must not stop the others
                logger.warning("verwerkingen delivery: exporter %r failed to shut down (%s)",
                               exporter.name, type(exc).__name__)
        return flushed and stopped

    def _after_stop(self, stopped: bool) -> None:
        pass


class OutboxDelivery(_DeliveryBase):
    """The default: durable SQLite outbox on the request path, delivered in the background."""

    kind = "outbox"

    def __init__(self, exporters: Sequence[ActionExporter], path: str | os.PathLike[str], *,
                 concurrency: int = 4, policy: RetryPolicy | None = None,
                 synchronous: str = "FULL", lease: float | None = None,
                 meter_provider: metrics.MeterProvider | None = None) -> None:
        try:
            outbox = Outbox(path, synchronous=synchronous, lease=lease if lease is not None else 120.0)
        except OutboxError as exc:
            raise RecordingError(f"outbox: {exc}") from None
        self.outbox = outbox
        super().__init__(exporters, outbox, concurrency=concurrency, policy=policy, decode=json.loads,
                         meter_provider=meter_provider)
        released = outbox.release_stale_leases()
        waiting = outbox.pending(self._names)
        if waiting:
            logger.info("verwerkingen outbox: %d action(s) left from an earlier run are delivered now "
                        "(%d were in flight when it stopped)", waiting, released)
        unknown = [e for e in outbox.exporters() if e not in self._names]
        if unknown:
            logger.warning("verwerkingen outbox: actions wait for exporter(s) %s that are not "
                           "configured; they stay in the outbox", ", ".join(sorted(unknown)))
        self._worker.ensure_started()

    def submit(self, actie: Verwerkingsactie) -> None:
        """Write the action to the outbox (one row per exporter) before returning."""
        if self._shut:
            raise RecordingError("the verwerkingen outbox delivery is shut down")
        if not self._names:  # exporters=none: recorded nowhere, by configuration
            return
        try:
            record = Record.of(actie)
            body = _ENCODER.encode(record.body)
            self.outbox.add(record.id, body, self._names)
        except OutboxError as exc:
            raise RecordingError(f"could not record the verwerkingsactie: {exc}") from None
        except (TypeError, ValueError) as exc:
            raise RecordingError(
                f"could not record the verwerkingsactie: its body is not serialisable ({type(exc).__name__})"
            ) from None
        self._worker.ensure_started()
        self._worker.wake()

    def _after_stop(self, stopped: bool) -> None:
        try:
            self.outbox.release_own_leases()
            if stopped:
                self.outbox.close()
        except OutboxError:
            pass


class MemoryDelivery(_DeliveryBase):
    """Delivery from a bounded in-memory queue: can lose records (full queue, process death)."""

    kind = "memory"

    def __init__(self, exporters: Sequence[ActionExporter], *, max_queue: int = 10_000,
                 concurrency: int = 4, policy: RetryPolicy | None = None,
                 meter_provider: metrics.MeterProvider | None = None) -> None:
        if max_queue < 1:
            raise ValueError("max_queue must be at least 1")
        self._memory = _MemoryStore([e.name for e in exporters], max_queue)
        super().__init__(exporters, self._memory, concurrency=concurrency, policy=policy,
                         decode=lambda body: body, meter_provider=meter_provider, lease_factor=32)
        self.dropped = 0
        self._dropped_lock = threading.Lock()
        logger.warning(
            "verwerkingen delivery=memory: actions are kept in memory only (at most %d); they are "
            "LOST if the process dies and DROPPED (counted) when the queue is full. Use "
            "delivery=outbox for records that must not be lost.", max_queue)
        self._worker.ensure_started()

    @property
    def dead_letters(self) -> list[tuple[OutboxRow, int | None, str]]:
        return list(self._memory.dead)

    def submit(self, actie: Verwerkingsactie) -> None:
        """Queue the action; when the queue is full the action is dropped and counted."""
        if self._shut:
            raise RecordingError("the verwerkingen memory delivery is shut down")
        if not self._names:
            return
        # What Record.of makes, without the record object the queue does not keep.
        if not self._memory.add(new_uuid4(), actie.to_api(), self._names):
            with self._dropped_lock:
                self.dropped += 1
                dropped = self.dropped
            self._worker.instruments.dropped.add(1, {"delivery": self.kind})
            if dropped == 1 or dropped % 1000 == 0:
                logger.error("verwerkingen delivery=memory: queue full, %d action(s) dropped so far",
                             dropped)
            return
        self._worker.ensure_started()
        self._worker.wake()


# --- configure() registry entries (pipeline.py resolves "verwerkingen_otel.delivery:…") -------

DEFAULT_OUTBOX = "verwerkingen-outbox.db"
"""The outbox file when `outbox` / VERWERKINGEN_OUTBOX is not set: in the working directory."""


def _policy(settings: Any) -> RetryPolicy:
    return RetryPolicy(retry_after_cap=settings.retry_after_max,
                       backoff_max=max(1.0, min(60.0, settings.retry_after_max)))


def api_exporter(settings: Any) -> ActionExporter:
    """`exporters=api`: POST to `api_url` with the JWT or token, TLS files and timeout."""
    from .exporter import ApiExporter

    cert: str | tuple[str, str] | None = settings.client_cert
    if settings.client_key and not settings.client_cert:
        from .config import ConfigurationError

        given = settings.source("client_key")  # name the missing one the way the other was given
        missing = "client_cert" if given == "client_key" else settings.source("client_cert")
        raise ConfigurationError(missing, f"is required when {given} is set")
    if settings.client_cert and settings.client_key:
        cert = (settings.client_cert, settings.client_key)
    for name in ("ca_bundle", "client_cert", "client_key"):
        path = getattr(settings, name)
        if path and not os.path.isfile(path):
            raise settings.error(name, "is not a readable file")
    from .client import tls_context

    try:
        tls_context(settings.ca_bundle or True)
    except (OSError, ValueError):
        raise settings.error("ca_bundle", "cannot be loaded: not a PEM file of CA certificates") from None
    try:
        tls_context(True, cert)
    except (OSError, ValueError):
        raise settings.error("client_cert", "cannot be loaded with its key: not a PEM certificate and key") from None
    try:
        return ApiExporter(settings.api_url, client_id=settings.client_id, secret=settings.secret,
                           token=settings.token, timeout=settings.timeout,
                           verify=settings.ca_bundle or True, cert=cert,
                           max_connections=settings.concurrency)
    except ValueError as exc:
        raise settings.error("api_url", str(exc)) from None


def outbox_delivery(settings: Any, exporters: Sequence[ActionExporter]) -> OutboxDelivery:
    """`delivery=outbox` (the default): the durable outbox at `outbox`."""
    path = settings.outbox or DEFAULT_OUTBOX
    try:
        return OutboxDelivery(exporters, path, concurrency=settings.concurrency, policy=_policy(settings))
    except RecordingError as exc:  # the message starts "outbox: "; the setting's own name replaces it
        raise settings.error("outbox", str(exc).removeprefix("outbox: ")) from None


def memory_delivery(settings: Any, exporters: Sequence[ActionExporter]) -> MemoryDelivery:
    """`delivery=memory`: bounded in-memory queue of `memory_queue` actions; can lose records."""
    return MemoryDelivery(exporters, max_queue=settings.memory_queue, concurrency=settings.concurrency,
                          policy=_policy(settings))
