"""A producing process for the crash tests: records N actions through the outbox, then delivers.

    python -m tests.delivery.producer OUTBOX API_URL ACTIVITEIT N [START]

Prints `SUBMITTED` once every action is in the outbox, then flushes and prints `FLUSHED` (or
`PENDING n`). With N = 0 it only replays what an earlier (killed) run left behind.
"""

from __future__ import annotations

import sys

from tests.delivery.conftest import FAST, SECRET, make_actie
from verwerkingen_otel.delivery import OutboxDelivery
from verwerkingen_otel.delivery import ApiExporter


def main(argv: list[str]) -> int:
    outbox, api_url, activiteit, n = argv[0], argv[1], argv[2], int(argv[3])
    start = int(argv[4]) if len(argv) > 4 else 0
    delivery = OutboxDelivery([ApiExporter(api_url, client_id="app", secret=SECRET, timeout=5.0)],
                              outbox, policy=FAST, concurrency=4)
    for i in range(start, start + n):
        delivery.submit(make_actie(activiteit, n=i))
    print("SUBMITTED", flush=True)
    if delivery.force_flush(60.0):
        print("FLUSHED", flush=True)
    else:
        print(f"PENDING {delivery.pending()}", flush=True)
    delivery.shutdown(1.0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
