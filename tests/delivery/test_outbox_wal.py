"""The WAL stays bounded under a steady stream of writes while the worker works (the worker's
checkpoints never hold the request path back, except to let the WAL start over)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from tests.delivery.conftest import make_actie
from tests.support.logserver import free_port
from verwerkingen_otel.delivery import ApiExporter, OutboxDelivery, RetryPolicy

MB = 1024 * 1024


def test_the_wal_starts_over_under_a_steady_stream_of_writes(tmp_path: Path) -> None:
    # The log is down: every action stays, and the worker probes and checkpoints meanwhile.
    exporter = ApiExporter(f"http://127.0.0.1:{free_port()}/api/v1", client_id="app",
                           secret="wal-test-secret-0123456789abcdef0123456789", timeout=1.0)
    delivery = OutboxDelivery([exporter], tmp_path / "outbox.db", durability="process-crash",
                              policy=RetryPolicy(backoff_base=0.05, backoff_max=0.5))
    activiteit, n = str(uuid.uuid4()), 12_000
    for i in range(n):
        delivery.submit(make_actie(activiteit, n=i))
    wal = os.path.getsize(tmp_path / "outbox.db-wal")
    database = os.path.getsize(tmp_path / "outbox.db")
    assert delivery.pending() == n
    # Without the WAL starting over it grows by every page ever written (≈ 15 kB an action here,
    # ≈ 180 MB); with it, it stays within the 64 MiB it is truncated back to.
    assert wal <= 64 * MB + 4 * MB, (wal / MB, database / MB)
    assert wal < 8 * database + 16 * MB
    delivery.shutdown(0.5)
