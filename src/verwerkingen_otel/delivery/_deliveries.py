"""The deliveries: how recorded actions reach every configured exporter.

`OutboxDelivery` (the default) writes each action to the SQLite outbox on the request path —
one row per exporter, committed before the decorated call returns — and a background worker
delivers the rows. `MemoryDelivery` queues the typed action in a bounded in-memory store (the
POST body is made by the worker, off the request path): fast, but it loses what is queued when
the process dies and drops (counting them) when the queue is full. `SyncDelivery` calls every
exporter before `submit` returns.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from typing import Callable, Sequence

from opentelemetry import metrics

from ..model import Verwerkingsactie, new_uuid4
from ._errors import RecordingError
from ._memory_store import MemoryStore
from ._outbox import Outbox, OutboxError, OutboxRow
from ._policy import RetryPolicy
from ._record import ActionExporter, Record, SpanInfo, encode_body, wants_span, with_span
from ._worker import Store, Worker, after_fork

__all__ = ["MemoryDelivery", "OutboxDelivery", "SyncDelivery"]

logger = logging.getLogger("verwerkingen_otel.delivery")

OUTBOX_TURN = 0.01
"""Seconds between two of the outbox worker's transactions, at least: its leases and deletes for
everything that happened meanwhile go into one short transaction without an fsync of its own."""


def _stored_record(row: OutboxRow) -> Record:
    """An outbox row holds the POST body as the JSON text that is sent."""
    return Record(row.record_id, content=row.body)


def _queued_record(row: OutboxRow) -> Record:
    """A memory row holds the typed action; its body is made by whoever reads it, in the worker.
    For an exporter that wants the span it holds (action, span): the body carries both."""
    if isinstance(row.body, tuple):
        actie, span = row.body
        return Record(row.record_id, content=with_span(encode_body(actie.to_api()), span))
    return Record(row.record_id, actie=row.body)


class SyncDelivery:
    """Calls every exporter before `submit` returns; any failure raises RecordingError.

    Nothing is ever pending, so flushing is immediate. Right for tests, demos and local sinks;
    the durable default is the outbox delivery.
    """

    route: Callable[[Verwerkingsactie], Sequence[str]] | None = None
    """Chooses the exporters (lanes) of each action when there are destinations; None: all."""

    def __init__(self, exporters: Sequence[ActionExporter]) -> None:
        self.exporters = tuple(exporters)
        self._closed = False
        self._span_wanted = any(wants_span(e) for e in self.exporters)
        """Some exporter wants the span: each is asked per action; else none is (the request path)."""

    def submit(self, actie: Verwerkingsactie, span: SpanInfo | None = None) -> None:
        if self._closed:
            raise RecordingError("the verwerkingen delivery is shut down; the action was not recorded")
        record = Record(new_uuid4(), actie=actie)  # Record.of, without its extra call
        exporters = self.exporters
        if self.route is not None:
            lanes = set(self.route(actie))
            exporters = tuple(e for e in exporters if e.name in lanes)
        span_wanted = self._span_wanted
        for exporter in exporters:
            try:
                exporter.export(Record(record.id, content=with_span(record.content, span))
                                if span_wanted and wants_span(exporter) else record)
            except Exception as exc:
                raise RecordingError(
                    f"exporter {exporter.name!r} could not record the action ({type(exc).__name__})"
                ) from exc

    def force_flush(self, timeout: float = 5.0) -> bool:
        return True

    def shutdown(self, timeout: float = 5.0) -> bool:
        if not self._closed:
            self._closed = True
            for exporter in self.exporters:
                try:
                    exporter.shutdown()
                except Exception:
                    logger.exception("exporter %r failed to shut down", exporter.name)
        return True


class _DeliveryBase:
    """What both deliveries share: the worker, flushing, shutdown and exporter checks."""

    kind = "base"
    route: Callable[[Verwerkingsactie], Sequence[str]] | None = None
    """Chooses the lanes (exporter names) of each action when there are destinations; None: all."""

    def __init__(self, exporters: Sequence[ActionExporter], store: Store, *, concurrency: int,
                 policy: RetryPolicy | None, make_record: Callable[[OutboxRow], Record],
                 meter_provider: metrics.MeterProvider | None, lease_factor: int = 2,
                 clock: Callable[[], float] = time.time, min_turn: float = 0.0) -> None:
        names = [e.name for e in exporters]
        if len(set(names)) != len(names):
            raise ValueError(f"exporters: each name may occur once, got {names}")
        self._exporters = list(exporters)
        self._names = names
        self._span_names = [e.name for e in exporters if wants_span(e)]
        self._store = store
        self._shut = False
        self._clock = clock
        self._worker = Worker(store, exporters, kind=self.kind, concurrency=concurrency,
                               policy=policy or RetryPolicy(), make_record=make_record,
                               meter_provider=meter_provider, lease_factor=lease_factor, clock=clock,
                               min_turn=min_turn)
        ref = weakref.ref(self._worker)
        os.register_at_fork(after_in_child=lambda: after_fork(ref))

    def set_lane(self, name: str, *, policy: RetryPolicy | None = None, limit: int | None = None) -> None:
        """Lane `name` (an exporter) with its own retry policy and/or at most `limit` rows in flight
        (a destination's `retry_after_max` / `concurrency`)."""
        self._worker.set_lane(name, policy=policy, limit=limit)

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
                 durability: str = "power-loss", synchronous: str | None = None,
                 lease: float | None = None, meter_provider: metrics.MeterProvider | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        try:
            outbox = Outbox(path, durability=durability, synchronous=synchronous,
                            lease=lease if lease is not None else 120.0)
        except OutboxError as exc:
            raise RecordingError(f"outbox: {exc}") from None
        self.outbox = outbox
        super().__init__(exporters, outbox, concurrency=concurrency, policy=policy, make_record=_stored_record,
                         meter_provider=meter_provider, clock=clock, min_turn=OUTBOX_TURN)
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

    def submit(self, actie: Verwerkingsactie, span: SpanInfo | None = None) -> None:
        """Write the action to the outbox (one row per exporter) before returning."""
        if self._shut:
            raise RecordingError("the verwerkingen outbox delivery is shut down")
        if not self._names:  # exporters=none: recorded nowhere, by configuration
            return
        names = self._names if self.route is None else self.route(actie)  # RecordingError: no route
        try:
            content = encode_body(actie.to_api())
            spanned = [name for name in self._span_names if name in names]
            bodies = {name: with_span(content, span) for name in spanned} if spanned else None
            self.outbox.add(new_uuid4(), content, names, self._clock(), bodies=bodies)
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
        self._memory = MemoryStore([e.name for e in exporters], max_queue)
        super().__init__(exporters, self._memory, concurrency=concurrency, policy=policy,
                         make_record=_queued_record, meter_provider=meter_provider, lease_factor=32)
        self.dropped = 0
        self._dropped_lock = threading.Lock()
        ref = weakref.ref(self)  # a fresh lock in a forked child, as MemoryStore's
        os.register_at_fork(after_in_child=lambda: _fresh_dropped_lock(ref))
        logger.warning(
            "verwerkingen delivery=memory: actions are kept in memory only (at most %d); they are "
            "LOST if the process dies and DROPPED (counted) when the queue is full. Use "
            "delivery=outbox for records that must not be lost.", max_queue)
        self._worker.ensure_started()

    @property
    def dead_letters(self) -> list[tuple[OutboxRow, int | None, str]]:
        return list(self._memory.dead)

    def submit(self, actie: Verwerkingsactie, span: SpanInfo | None = None) -> None:
        """Queue the action; when the queue is full the action is dropped and counted."""
        if self._shut:
            raise RecordingError("the verwerkingen memory delivery is shut down")
        if not self._names:
            return
        names = self._names if self.route is None else self.route(actie)  # RecordingError: no route
        # The typed action waits; the worker makes its POST body, off the request path.
        spanned = [name for name in self._span_names if name in names]
        bodies = {name: (actie, span) for name in spanned} if spanned else None
        if not self._memory.add(new_uuid4(), actie, names, bodies=bodies):
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


def _fresh_dropped_lock(ref: weakref.ref[MemoryDelivery]) -> None:
    delivery = ref()
    if delivery is not None:
        delivery._dropped_lock = threading.Lock()
