"""Memory stays flat while actions wait out an outage of the log.

Records 100,000 actions through `OutboxDelivery` with the `api` exporter pointed at a port where
nothing listens (the log is down the whole time), and prints the process's RSS growth from after
the first 1,000 (warm-up) to the end. Target: RSS growth < 20 MB.

The outbox runs with synchronous=NORMAL here to keep the run short: how often SQLite syncs to
disk does not change what is held in memory.

    .venv/bin/python benchmarks/outbox_memory.py [--actions N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import logging
import os
import socket
import tempfile
import time
import uuid

import psutil

from verwerkingen_otel.delivery import OutboxDelivery, RetryPolicy
from verwerkingen_otel.delivery import ApiExporter
from verwerkingen_otel.model import Vertrouwelijkheid, VerwerktObject, VerwerktSoortGegeven, Verwerkingsactie


def dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again: nothing listens there


def actie(i: int) -> Verwerkingsactie:
    return Verwerkingsactie(
        vertrouwelijkheid=Vertrouwelijkheid.NORMAAL,
        tijdstip=dt.datetime.now(dt.timezone.utc),
        verwerkte_objecten=(VerwerktObject("persoon", "BSN", "999993653", "Aanvrager",
                                           (VerwerktSoortGegeven("Naam"),)),),
        actie_naam=f"Raadplegen persoon {i}", verwerking_id=str(uuid.uuid4()),
        verwerkingsactiviteit_id="5f0bef4c-f66f-4311-84a5-19e8bf359eaf", bewaartermijn="P10Y",
    )


def rss_mb() -> float:
    gc.collect()
    return psutil.Process().memory_info().rss / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actions", type=int, default=100_000)
    options = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    tmp = tempfile.mkdtemp(prefix="outbox-memory-")
    url = f"http://127.0.0.1:{dead_port()}/api/v1"
    exporter = ApiExporter(url, client_id="bench", secret="benchmark-secret-0123456789abcdef0123", timeout=1.0)
    delivery = OutboxDelivery([exporter], os.path.join(tmp, "outbox.db"), synchronous="NORMAL",
                              policy=RetryPolicy(backoff_base=0.05, backoff_max=0.5))
    warm = 1_000
    for i in range(warm):
        delivery.submit(actie(i))
    base = rss_mb()
    start = time.perf_counter()
    samples = []
    for i in range(warm, options.actions):
        delivery.submit(actie(i))
        if i % 20_000 == 0:
            samples.append((i, rss_mb() - base))
    elapsed = time.perf_counter() - start
    end = rss_mb()
    waiting = delivery.pending()
    tries = delivery._worker._failures["api"]
    assert waiting == options.actions, f"{waiting} waiting, expected {options.actions}"
    print(f"{options.actions} actions recorded during an outage in {elapsed:.1f} s; "
          f"{waiting} waiting in the outbox; the worker probed {tries} times meanwhile")
    for i, growth in samples:
        print(f"  after {i:>7} actions: RSS +{growth:6.1f} MB")
    print(f"RSS after warm-up {base:.1f} MB, at the end {end:.1f} MB: growth {end - base:.1f} MB "
          f"(target < 20 MB); outbox file {os.path.getsize(os.path.join(tmp, 'outbox.db')) / 1e6:.1f} MB "
          f"+ WAL {os.path.getsize(os.path.join(tmp, 'outbox.db-wal')) / 1e6:.1f} MB")
    delivery.shutdown(0.5)


if __name__ == "__main__":
    main()
