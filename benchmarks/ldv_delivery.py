"""OTLP delivery throughput of the ldv exporter vs the receiver's own capacity, in one run.

The receiver is a real local LDV log — our server's `POST /v1/traces` (JWT, decoding, the
checks, the SQLite insert; one uvicorn worker) — or, with `--receiver bare`, the test suite's
bare OTLP/HTTP receiver (tests/support/otlp_receivers.py: decode and keep in memory). Against it,
interleaved:
(1) the receiver's capacity: an independent load generator (a separate process: threads, each
    with one keep-alive `http.client` connection) POSTing the same requests our exporter sends —
    one action's logregels, protobuf, encoded the same way — best of 4, 8 and 16 in flight;
(2) the outbox delivery with the ldv exporter: N actions already in the outbox, the worker
    started, time until the outbox is empty (the conversion to logregels, the official
    OTLP/HTTP exporter, the outbox bookkeeping: everything).
Target: (2) >= 0.8 x (1). The worker's threads share exports (the exporter coalesces the records
handed in together, up to the worker's concurrency per request), so (1) is also measured with
that many actions per request.

    .venv/bin/python benchmarks/ldv_delivery.py [--actions N] [--concurrency C]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.logserver import free_port  # noqa: E402
from tests.support.otlp import protobuf_body  # noqa: E402
from verwerkingen_otel.delivery import Outbox, OutboxDelivery, RetryPolicy, SpanInfo, with_span  # noqa: E402
from tests.support.logserver import LogServer, mint_token, write_clients_file  # noqa: E402
from verwerkingen_otel.delivery.exporters import JwtAuth, LdvExporter, OtlpTransport  # noqa: E402
from verwerkingen_otel.ldv import ActieSpan, LogregelMapping, PseudonymKey  # noqa: E402

SECRET = "benchmark-secret-0123456789abcdef0123456789abcdef"
KEY = PseudonymKey.from_bytes(b"benchmark-ldv-key-0123456789abcdef!!")
MAPPING = LogregelMapping(KEY, service_name="benchmark")


def body(i: int) -> dict:
    return {
        "actieNaam": f"Raadplegen persoon {i}", "verwerkingId": str(uuid.uuid4()),
        "verwerkingsactiviteitId": "5f0bef4c-f66f-4311-84a5-19e8bf359eaf", "vertrouwelijkheid": "normaal",
        "bewaartermijn": "P10Y", "tijdstip": "2024-04-05T14:35:42.000001+00:00", "systeem": "benchmark",
        "verwerkteObjecten": [{"objecttype": "persoon", "soortObjectId": "BSN", "objectId": "999993653",
                               "betrokkenheid": "Getuige", "verwerkteSoortenGegevens": [{"soortGegeven": "Naam"}]}],
    }


def span(i: int) -> SpanInfo:
    return SpanInfo(os.urandom(16).hex(), os.urandom(8).hex(), None, 1_712_324_142_000_000_000 + i,
                    1_712_324_142_001_000_000 + i)


LOADGEN = r'''
import http.client, sys, threading, time
host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
n, inflight, token = int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
auth = {"Authorization": "Bearer " + token} if token != "-" else {}
bodies = [bytes.fromhex(line) for line in sys.stdin.read().split()]
counter = iter(range(n))
lock = threading.Lock()
def worker():
    conn = http.client.HTTPConnection(host, port, timeout=30)  # one keep-alive connection each
    while True:
        with lock:
            k = next(counter, None)
        if k is None:
            return
        conn.request("POST", path, body=bodies[k % len(bodies)], headers={"Content-Type": "application/x-protobuf", **auth})
        response = conn.getresponse()
        response.read()
        assert response.status == 200, response.status
threads = [threading.Thread(target=worker) for _ in range(inflight)]
start = time.perf_counter()
for t in threads: t.start()
for t in threads: t.join()
print(n / (time.perf_counter() - start))
'''


def load_generator(endpoint: str, n: int, inflight: int, token: str = "-", per_request: int = 1) -> float:
    """Actions/s in requests like the exporter's (the action's logregels, encoded the same way),
    `per_request` actions per request; all distinct, so the log stores each."""
    regels = [MAPPING.logregels(body(i), ActieSpan(s.trace_id, s.span_id, None, s.start_ns, s.end_ns))
              for i, s in ((i, span(i)) for i in range(n))]
    encoded = [protobuf_body([r for rs in regels[k:k + per_request] for r in rs])
               for k in range(0, n, per_request)]
    n = len(encoded)
    host, _, rest = endpoint.removeprefix("http://").partition(":")
    port, _, path = rest.partition("/")
    out = subprocess.run([sys.executable, "-c", LOADGEN, host, port, "/" + path, str(n), str(inflight), token],
                         input="\n".join(e.hex() for e in encoded), capture_output=True, text=True, check=True)
    return float(out.stdout.strip()) * per_request


def outbox_delivery(endpoint: str, tmp: str, n: int, concurrency: int, auth: JwtAuth | None) -> float:
    path = os.path.join(tmp, f"outbox-{uuid.uuid4().hex}.db")
    outbox = Outbox(path)
    for i in range(n):
        outbox.add(str(uuid.uuid4()), with_span(json.dumps(body(i)), span(i)), ["ldv"])
    outbox.close()
    exporter = LdvExporter(MAPPING, OtlpTransport("http/protobuf", endpoint=endpoint, timeout=10.0, auth=auth))
    start = time.perf_counter()
    delivery = OutboxDelivery([exporter], path, concurrency=concurrency, policy=RetryPolicy(backoff_base=0.01))
    assert delivery.force_flush(300.0), "outbox not empty"
    rate = n / (time.perf_counter() - start)
    assert delivery.outbox.dead_letters() == []
    delivery.shutdown(5.0)
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actions", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--receiver", choices=["log", "bare"], default="log")
    options = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="ldv-throughput-")
    if options.receiver == "log":
        clients = write_clients_file(Path(tmp) / "clients.toml", {"bench": (SECRET, ["create:normal"])})
        server = LogServer(f"sqlite:///{tmp}/log.db", clients, extra_args=["--log-level", "warning"]).start()
        stop, endpoint = server.stop, f"{server.base_url}/v1/traces"
        token, auth = mint_token("bench", SECRET, exp=3600), JwtAuth("bench", SECRET)
    else:
        port = free_port()
        receiver = subprocess.Popen([sys.executable, "-m", "tests.support.otlp_receivers", "http", "--port", str(port)],
                                    cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert receiver.stdout is not None and receiver.stdout.readline().startswith("listening")
        stop, endpoint, token, auth = receiver.terminate, f"http://127.0.0.1:{port}/v1/traces", "-", None
    try:
        load_generator(endpoint, 300, 8, token)  # warm up
        capacity, batched, ours = [], [], []
        for _ in range(2):  # interleaved: each sees the same receiver
            capacity += [load_generator(endpoint, options.actions, inflight, token) for inflight in (4, 8, 16)]
            batched += [load_generator(endpoint, options.actions, inflight, token, options.concurrency)
                        for inflight in (1, 2, 4)]
            ours.append(outbox_delivery(endpoint, tmp, options.actions, options.concurrency, auth))
    finally:
        stop()
    cap, cap_batched, mine = max(capacity), max(batched), max(ours)
    what = "our log's /v1/traces (SQLite)" if options.receiver == "log" else "bare test receiver"
    print(f"{options.actions} actions per run (one logregel each), best of 2 rounds; worker concurrency "
          f"{options.concurrency}; receiver: {what}")
    print(f"receiver capacity, one action per request           {cap:8.0f} actions/s")
    print(f"receiver capacity, {options.concurrency} actions per request            {cap_batched:8.0f} actions/s")
    print(f"outbox delivery, ldv exporter (official OTLP/HTTP)  {mine:8.0f} actions/s")
    print(f"  ratio ldv delivery / receiver capacity (one per request)   {mine / cap:5.2f} x   (target >= 0.8)")
    print(f"  ratio ldv delivery / receiver capacity ({options.concurrency} per request)    {mine / cap_batched:5.2f} x")


if __name__ == "__main__":
    main()
