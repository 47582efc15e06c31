"""A producing process for the group-commit crash test: THREADS threads record actions through
the outbox without end, each printing `OK name` after its call returned and `ERR name` after it
raised RecordingError, until the test kills the process.

    python -m tests.delivery.producer_threads OUTBOX API_URL ACTIVITEIT THREADS
"""

from __future__ import annotations

import sys
import threading

from tests.delivery.conftest import FAST, SECRET, make_actie
from verwerkingen_otel.delivery import ApiExporter, OutboxDelivery, RecordingError


def main(argv: list[str]) -> int:
    outbox, api_url, activiteit, threads = argv[0], argv[1], argv[2], int(argv[3])
    delivery = OutboxDelivery([ApiExporter(api_url, client_id="app", secret=SECRET, timeout=5.0)],
                              outbox, policy=FAST, concurrency=4)
    out = threading.Lock()
    start = threading.Barrier(threads)

    def record(t: int) -> None:
        start.wait()
        i = 0
        while True:
            # every 7th name is one the test's trigger in the outbox file refuses
            name = f"refuse-{t}-{i}" if i % 7 == 3 else f"ok-{t}-{i}"
            try:
                delivery.submit(make_actie(activiteit, n=t * 100_000 + i, actie_naam=name))
                line = f"OK {name}\n"
            except RecordingError:
                line = f"ERR {name}\n"
            with out:
                sys.stdout.write(line)
                sys.stdout.flush()
            i += 1

    for t in range(threads):
        threading.Thread(target=record, args=(t,), daemon=True).start()
    threading.Event().wait()  # until killed
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
