"""gunicorn settings for examples/gunicorn/app.py: forked workers sharing one outbox.

    gunicorn -c examples/gunicorn/gunicorn.conf.py --bind 127.0.0.1:8000
"""

from __future__ import annotations

import os
from typing import Any

chdir = os.path.dirname(os.path.abspath(__file__))
wsgi_app = "app:app"
bind = "127.0.0.1:8000"
workers = 2
# Load (and configure) the app once in the master, then fork: faster start, and a bad
# VERWERKINGEN_* setting stops gunicorn at once instead of every worker failing to boot.
# Without preload every worker imports the app and configures itself: that works as well.
preload_app = True
# Time a worker gets on SIGTERM to finish requests and flush (below); keep it above the flush timeout.
graceful_timeout = 30


def worker_exit(server: Any, worker: Any) -> None:
    """Wait (up to 10 s) until this worker's actions are in the log before it exits.

    Not needed for safety: what is not delivered stays in the outbox file and the next
    process (another worker, or the next start) sends it. It makes a stop leave the outbox empty.
    """
    import verwerkingen_otel as vo

    if not vo.shutdown(timeout=10.0):
        server.log.warning("worker %s: verwerkingsacties still in the outbox; they go out after the next start",
                           worker.pid)
