"""The delivery worker: one dispatcher thread and `concurrency` sender threads over one store.

The dispatcher is the only one that touches the store on the worker side: it leases due rows,
hands them to senders and applies their outcomes in batches (one transaction, no fsync of its
own, for many deletes and leases). A failed record waits by its *own* attempt count (capped,
jittered; the log's Retry-After honoured up to a cap), so one failing record never holds up the
others. Per exporter the dispatcher also keeps a failure streak: after a failure it sends one
record at a time (a probe); a second failure in a row means the log itself is failing, and the
exporter pauses (backoff by the streak), so an outage costs one request per backoff, not one per
waiting action. The first success ends the streak and makes the records that backed off during
the outage due again. 403 for one record while others are accepted is that record's grant
problem: dead-lettered after `refused_attempts` tries; 401 (and 403 on everything) is retried,
loudly, never dead-lettered. Other 4xx dead-letter at once. Threads are daemons, restarted in a
forked child. `clock` (wall time, seconds) is injectable, so tests need no sleeps.
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
              claims: Sequence[tuple[str, int]], now: float | None = None,
              resume: Sequence[str] = ()) -> dict[str, list[OutboxRow]]: ...
    def checkpoint(self) -> None: ...
    @property
    def writes(self) -> int: ...
    def pending(self, exporters: Sequence[str] | None = None) -> int: ...
    def next_due(self, exporter: str) -> float | None: ...


@dataclass
class _Outcome:
    exporter: str
    row: OutboxRow
    kind: str  # "delivered" | "returned" | "retry" | "auth" (401) | "refused" (403) | "dead"
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
                 meter_provider: metrics.MeterProvider | None = None, lease_factor: int = 2,
                 clock: Callable[[], float] = time.time, min_turn: float = 0.0) -> None:
        self.store = store
        self.clock = clock
        self.min_turn = min_turn  # seconds between two store transactions of ours, at least
        # Rows leased per sender: a few keep senders busy between the dispatcher's commits;
        # an in-memory store has no commits to gather, so it leases more per turn.
        self.lease_factor = max(1, lease_factor)
        self.kind = kind
        self.exporters = {e.name: e for e in exporters}
        self.concurrency = max(1, int(concurrency))
        # A lane (exporter) may have its own policy and its own cap on rows in flight: a
        # destination's `retry_after_max` / `concurrency` (set_lane); else the shared ones.
        self.policies: dict[str, RetryPolicy] = {name: policy for name in self.exporters}
        self.limits: dict[str, int] = {}
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
        self._last_ok: dict[str, float] = {name: float("-inf") for name in self.exporters}
        self._refused_at: dict[int, float] = {}  # row id -> when its first 403 try began
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

    def set_lane(self, name: str, *, policy: RetryPolicy | None = None, limit: int | None = None) -> None:
        """Give lane `name` its own retry policy and/or at most `limit` rows in flight at once."""
        if name not in self.exporters:
            raise KeyError(name)
        if policy is not None:
            self.policies[name] = policy
        if limit is not None:
            self.limits[name] = max(1, int(limit))

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
        last_checkpoint = last_turn = time.monotonic()
        while True:
            try:
                if self._outcomes and not self._stop and len(self._outcomes) < self.concurrency:
                    time.sleep(COALESCE)  # a moment for more outcomes: one commit for many
                since = time.monotonic() - last_turn
                if since < self.min_turn and not self._stop:
                    # A stream of actions wakes us per action: gather them instead, so the
                    # request path meets one short worker transaction per interval, not per action.
                    time.sleep(self.min_turn - since)
                if self._turn():
                    last_turn = time.monotonic()
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
        delivered, retry, dead, release, resume = self._take_outcomes()
        claims = [] if self._stop else self._claims()
        if not (delivered or retry or dead or release or claims or resume):
            return False
        turn = self.store.cycle(delivered, retry, dead, release, claims, now=self.clock(), resume=resume)
        for name, rows in turn.items():
            for row in rows:
                self._inflight[name] += 1
                self._work.put((name, row))
        return True

    def _claims(self) -> list[tuple[str, int]]:
        now = self.clock()
        # Lease up to `lease_factor` rows a sender: a few rows wait ready, so senders stay busy
        # while the dispatcher gathers outcomes into fewer, larger transactions.
        free = self.lease_factor * self.concurrency - sum(self._inflight.values())
        if free <= 0:
            return []
        eligible: list[tuple[str, int]] = []  # (lane, at most this many rows), 0: as many as its share
        for name in self.exporters:
            if self._paused_until[name] > now:
                continue
            if self._failures[name]:  # probing a failing log: one record at a time
                if not self._inflight[name]:
                    eligible.append((name, 1))
                continue
            limit = self.limits.get(name)
            if limit is not None:
                room = limit - self._inflight[name]
                if room > 0:
                    eligible.append((name, room))
                continue
            eligible.append((name, 0))
        if not eligible:
            return []
        share = max(1, free // len(eligible))
        return [(name, min(share, most) if most else share) for name, most in eligible]

    def _next_wait(self) -> float:
        if self._outcomes:
            return 0.0
        now = self.clock()
        if sum(self._inflight.values()) >= self.lease_factor * self.concurrency:
            return 1.0
        wait = 1.0
        for name in self.exporters:
            if self._failures[name] and self._inflight[name]:
                continue
            if name in self.limits and self._inflight[name] >= self.limits[name]:
                continue  # at its cap: an outcome wakes us
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
                                      list[tuple[int, int | None, str]], list[int], list[str]]:
        """Sort finished tries into store changes; count, log and pause exporters meanwhile."""
        release: list[int] = []
        delivered: list[int] = []
        retry: list[tuple[int, float, str]] = []
        dead: list[tuple[int, int | None, str]] = []
        resume: list[str] = []
        batch: list[_Outcome] = []
        while self._outcomes:
            batch.append(self._outcomes.popleft())
        now = self.clock()
        for o in batch:
            self._inflight[o.exporter] -= 1
            attrs = {"exporter": o.exporter, "delivery": self.kind}
            if o.kind == "returned":
                release.append(o.row.rowid)
            elif o.kind == "delivered":
                delivered.append(o.row.rowid)
                self._refused_at.pop(o.row.rowid, None)
                self._last_ok[o.exporter] = max(self._last_ok[o.exporter], o.started)
                if o.started >= self._failed_at[o.exporter]:
                    # A try that began after the last failure was known: the log is back. (One
                    # already on the wire says nothing about a Retry-After it answered since.)
                    if self._failures[o.exporter] >= 2 and o.exporter not in resume:
                        resume.append(o.exporter)  # rows that backed off during the outage: due now
                    self._failures[o.exporter] = 0
                    self._paused_until[o.exporter] = 0.0
                self.instruments.delivered.add(1, attrs)
                self.instruments.latency.record(max(0.0, now - o.row.created), attrs)
            elif o.kind == "dead" or (o.kind == "refused" and self._refused_for_good(o)):
                self._refused_at.pop(o.row.rowid, None)
                if o.kind == "refused":
                    self._tripped[o.exporter] = False  # its own problem: the others go on at once
                dead.append((o.row.rowid, o.status, json.dumps(o.problem or {})))
                self.instruments.dead_lettered.add(1, attrs)
                logger.error(
                    "verwerkingen %s delivery: exporter %r refused action %s for good (%s%s); moved to "
                    "the dead letters", self.kind, o.exporter, o.row.record_id, o.reason,
                    f", {o.row.attempts + 1} tries while its other actions were accepted"
                    if o.kind == "refused" else "")
            else:
                retry.append(self._failed(o, now))
                self.instruments.retried.add(1, {**attrs, "reason": o.kind})
        return delivered, retry, dead, release, resume

    def _refused_for_good(self, o: _Outcome) -> bool:
        """A 403 is this record's own grant problem once it was refused `refused_attempts` times
        and a record of the same exporter was accepted after its first refusal."""
        first = self._refused_at.setdefault(o.row.rowid, o.started)
        return o.row.attempts + 1 >= self.policies[o.exporter].refused_attempts and self._last_ok[o.exporter] > first

    def _failed(self, o: _Outcome, now: float) -> tuple[int, float, str]:
        """A failed try to retry: the record waits by its own attempts; the exporter by its streak."""
        self._failures[o.exporter] += 1
        failures = self._failures[o.exporter]
        policy = self.policies[o.exporter]
        pause = policy.pause(failures, o.retry_after)
        self._paused_until[o.exporter] = max(self._paused_until[o.exporter], now + pause)
        self._tripped[o.exporter] = False  # the pause above takes over
        self._failed_at[o.exporter] = max(self._failed_at[o.exporter], o.ended)
        wait = policy.delay(o.row.attempts + 1, o.retry_after)
        if o.kind in ("auth", "refused"):
            logger.error(
                "verwerkingen %s delivery: exporter %r was refused (%s) for action %s, try %d: the "
                "credentials or grants are wrong (check VERWERKINGEN_CLIENT_ID, VERWERKINGEN_SECRET or "
                "VERWERKINGEN_TOKEN and the client's scopes%s); retrying in %.1f s, nothing is dropped",
                self.kind, o.exporter, o.reason, o.row.record_id, o.row.attempts + 1,
                ", e.g. create:confidential for a vertrouwelijk action" if o.kind == "refused" else "",
                wait)
        elif failures == 1 or failures % 10 == 0:
            logger.warning(
                "verwerkingen %s delivery: exporter %r failed (%s), %d in a row; retrying "
                "in %.1f s", self.kind, o.exporter, o.reason, failures, wait)
        return o.row.rowid, now + wait, o.reason[:200]

    # senders --------------------------------------------------------------------------

    def _send(self) -> None:
        while True:
            item = self._work.get()
            if item is None:
                return
            name, row = item
            exporter = self.exporters[name]
            outcome = _Outcome(name, row, "delivered")
            if self._tripped[name] or self._paused_until[name] > self.clock():
                outcome.kind = "returned"
                self._outcomes.append(outcome)
                self.wake()
                continue
            outcome.started = self.clock()
            try:
                exporter.export(self.make_record(row))
            except RetryableFailure as exc:
                self._tripped[name] = True
                outcome.kind, outcome.retry_after, outcome.reason = "retry", exc.retry_after, str(exc)
            except AuthFailure as exc:
                self._tripped[name] = True
                outcome.kind, outcome.reason = "refused" if exc.status == 403 else "auth", str(exc)
                outcome.problem, outcome.status = exc.problem, exc.status
            except PermanentFailure as exc:
                status = exc.problem.get("status") if isinstance(exc.problem, dict) else None
                outcome.kind, outcome.reason = "dead", str(exc)
                outcome.problem = exc.problem
                outcome.status = status if isinstance(status, int) else None
            except Exception as exc:  # an exporter bug must not lose the record: retry it
                self._tripped[name] = True
                outcome.kind, outcome.reason = "retry", f"exporter raised {type(exc).__name__}"
            outcome.ended = self.clock()
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
