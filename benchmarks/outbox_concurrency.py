"""Group commit under concurrency: actions/s of N threads recording through the decorator, side by
side with N threads doing raw `synchronous=FULL` SQLite insert+commit of the same rows.

For N in 1, 4, 16, in interleaved rounds (A, B, B', A, B, B', ...), each for a fixed time:
(A)  N threads each calling a decorated function that records one action with one object, in
     outbox mode (`outbox_durability=power-loss`: FULL + group commit), the worker delivering
     meanwhile to an in-process exporter;
(B)  N threads each with its own connection to one WAL file, `synchronous=FULL`, inserting the
     same row and committing (one fsync per action; SQLite's busy handler between writers);
(B') the same rows through ONE connection shared under a lock (one fsync per action, no busy
     waits: the best a commit per action can do).
Prints actions/s of each and the ratios A/B and A/B'. Target (issue 10): at 16 threads A >= 3 x B.

    .venv/bin/python benchmarks/outbox_concurrency.py [--seconds S] [--rounds R] [--threads 1,4,16]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

import verwerkingen_otel as vo  # noqa: E402
from verwerkingen_otel.delivery import register_exporter  # noqa: E402
from verwerkingen_otel.delivery._outbox_schema import SCHEMA  # noqa: E402
from outbox_write import BSN, NullExporter, actie  # noqa: E402

INSERT = "INSERT INTO outbox (record_id, exporter, body, created, next_attempt) VALUES (?, ?, ?, ?, ?)"


def run_threads(n: int, seconds: float, make_worker: Callable[[], Callable[[], None]]) -> float:
    """Actions per second of `n` threads each calling its own worker function for `seconds`."""
    counts = [0] * n
    start = threading.Barrier(n + 1)
    stop = threading.Event()

    def loop(i: int) -> None:
        call = make_worker()
        start.wait()
        done = 0
        while not stop.is_set():
            call()
            done += 1
        counts[i] = done

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    start.wait()
    began = time.perf_counter()
    stop.wait(seconds)
    stop.set()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - began)


def raw_file(tmp: str, name: str) -> str:
    path = os.path.join(tmp, name)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.executescript(SCHEMA)
    conn.close()
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", default="1,4,16")
    options = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    tmp = tempfile.mkdtemp(prefix="outbox-concurrency-")
    body = json.dumps(actie().to_api(), separators=(",", ":"))
    register_exporter("null", lambda settings: NullExporter())
    pipeline = vo.configure(exporters="null", outbox=os.path.join(tmp, "pipe.db"), outbox_durability="power-loss")
    record = vo.verwerkingsactie(actie_naam="Raadplegen persoon",
                                 verwerkingsactiviteit_id="5f0bef4c-f66f-4311-84a5-19e8bf359eaf",
                                 objecten=[vo.persoon("bsn", betrokkenheid="Aanvrager", soorten_gegevens=["Naam"])])(
        lambda bsn: bsn[:3])
    own_path = raw_file(tmp, "raw-own.db")
    shared_path = raw_file(tmp, "raw-shared.db")
    shared = sqlite3.connect(shared_path, isolation_level=None, check_same_thread=False)
    shared.execute("PRAGMA synchronous = FULL")
    shared_lock = threading.Lock()

    def decorated() -> Callable[[], None]:
        return lambda: record(BSN)

    def raw_own() -> Callable[[], None]:
        conn = sqlite3.connect(own_path, timeout=30.0, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA synchronous = FULL")

        def call() -> None:
            now = time.time()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(INSERT, (str(uuid.uuid4()), "api", body, now, now))
            conn.execute("COMMIT")
        return call

    def raw_shared() -> Callable[[], None]:
        def call() -> None:
            now = time.time()
            with shared_lock:
                shared.execute("BEGIN IMMEDIATE")
                shared.execute(INSERT, (str(uuid.uuid4()), "api", body, now, now))
                shared.execute("COMMIT")
        return call

    for call in (decorated(), raw_own(), raw_shared()):  # warm up
        for _ in range(50):
            call()
    group = pipeline.delivery.outbox._group  # type: ignore[attr-defined]
    print(f"{options.rounds} interleaved rounds of {options.seconds:g} s each; actions/s (min-max over rounds)")
    for n in (int(x) for x in options.threads.split(",")):
        a, b, c = [], [], []
        batches, grouped = group.batches, group.grouped
        for _ in range(options.rounds):
            a.append(run_threads(n, options.seconds, decorated))
            b.append(run_threads(n, options.seconds, raw_own))
            c.append(run_threads(n, options.seconds, raw_shared))
        ab = [x / y for x, y in zip(a, b)]
        ac = [x / y for x, y in zip(a, c)]
        print(f"{n:>2} threads: decorated (outbox, group commit) {min(a):7.0f}-{max(a):7.0f}/s | "
              f"raw FULL own connections {min(b):6.0f}-{max(b):6.0f}/s | "
              f"raw FULL one shared connection {min(c):6.0f}-{max(c):6.0f}/s")
        print(f"            ratio decorated/raw-own {min(ab):5.2f}-{max(ab):5.2f} x   "
              f"decorated/raw-shared {min(ac):5.2f}-{max(ac):5.2f} x"
              + ("   (target at 16: >= 3 x)" if n == 16 else ""))
        print(f"            group commit: {(group.grouped - grouped) / max(1, group.batches - batches):.1f} "
              f"actions per fsync on average")
    pipeline.force_flush(60.0)
    pipeline.shutdown(5.0)


if __name__ == "__main__":
    main()
