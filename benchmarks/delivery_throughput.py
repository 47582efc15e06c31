"""Delivery throughput to the real local log, side by side in one run.

Starts the log server (SQLite, one uvicorn worker) on loopback and measures, against it:
(1) the log's own POST capacity: an independent load generator (a separate process, asyncio +
    httpx, the same requests our worker sends: JWT + Idempotency-Key), best of 4, 8 and 16
    requests in flight;
(2) the outbox delivery: N actions already in the outbox, the worker started, time until the
    outbox is empty;
(3) a naive loop: one `httpx.post` per action.
Target: (2) >= 0.8 x (1).

    .venv/bin/python benchmarks/delivery_throughput.py [--actions N] [--concurrency C]
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

import httpx  # noqa: E402

from tests.support.logserver import LogServer, mint_token, write_clients_file  # noqa: E402
from verwerkingen_otel.delivery import OutboxDelivery, RetryPolicy  # noqa: E402
from verwerkingen_otel.delivery import ApiExporter  # noqa: E402
from verwerkingen_otel.delivery import Outbox  # noqa: E402

SECRET = "benchmark-secret-0123456789abcdef0123456789abcdef"


def body(i: int) -> dict:
    return {
        "actieNaam": f"Raadplegen persoon {i}", "verwerkingId": str(uuid.uuid4()),
        "verwerkingsactiviteitId": "5f0bef4c-f66f-4311-84a5-19e8bf359eaf", "vertrouwelijkheid": "normaal",
        "bewaartermijn": "P10Y", "tijdstip": "2024-04-05T14:35:42.000001+00:00", "systeem": "benchmark",
        "verwerkteObjecten": [{"objecttype": "persoon", "soortObjectId": "BSN", "objectId": "999993653",
                               "betrokkenheid": "Getuige", "verwerkteSoortenGegevens": [{"soortGegeven": "Naam"}]}],
    }


LOADGEN = r'''
import asyncio, json, sys, time, uuid, httpx
url, token, n, inflight = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
bodies = [json.loads(line) for line in sys.stdin]
async def main():
    limits = httpx.Limits(max_connections=inflight, max_keepalive_connections=inflight)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        queue = asyncio.Queue()
        for b in bodies: queue.put_nowait(b)
        async def worker():
            while not queue.empty():
                b = queue.get_nowait()
                r = await client.post(url, json=b, headers={"Authorization": "Bearer " + token,
                                                           "Idempotency-Key": str(uuid.uuid4())})
                assert r.status_code == 201, r.status_code
        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(inflight)))
        print(len(bodies) / (time.perf_counter() - start))
asyncio.run(main())
'''


def load_generator(api_url: str, n: int, inflight: int = 16) -> float:
    token = mint_token("bench", SECRET, exp=3600)
    data = "\n".join(json.dumps(body(i)) for i in range(n))
    out = subprocess.run([sys.executable, "-c", LOADGEN, f"{api_url}/verwerkingsacties", token, str(n), str(inflight)],
                         input=data, capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def outbox_delivery(api_url: str, tmp: str, n: int, concurrency: int) -> float:
    path = os.path.join(tmp, f"outbox-{uuid.uuid4().hex}.db")
    outbox = Outbox(path)
    for i in range(n):
        outbox.add(str(uuid.uuid4()), json.dumps(body(i)), ["api"])
    outbox.close()
    exporter = ApiExporter(api_url, client_id="bench", secret=SECRET, max_connections=concurrency)
    start = time.perf_counter()
    delivery = OutboxDelivery([exporter], path, concurrency=concurrency, policy=RetryPolicy(backoff_base=0.01))
    assert delivery.force_flush(300.0), "outbox not empty"
    rate = n / (time.perf_counter() - start)
    delivery.shutdown(5.0)
    return rate


def naive(api_url: str, n: int) -> float:
    token = mint_token("bench", SECRET, exp=3600)
    start = time.perf_counter()
    for i in range(n):
        r = httpx.post(f"{api_url}/verwerkingsacties", json=body(i),
                       headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())})
        assert r.status_code == 201
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actions", type=int, default=1500)
    parser.add_argument("--concurrency", type=int, default=8)
    options = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="throughput-")
    clients = write_clients_file(Path(tmp) / "clients.toml", {"bench": (SECRET, ["create:normal"])})
    with LogServer(f"sqlite:///{tmp}/log.db", clients, extra_args=["--log-level", "warning"]) as server:
        load_generator(server.api_url, 300)  # warm up
        capacity, ours, loop = [], [], []
        for _ in range(2):  # interleaved: each sees the same server and database state
            capacity += [load_generator(server.api_url, options.actions, inflight) for inflight in (4, 8, 16)]
            ours.append(outbox_delivery(server.api_url, tmp, options.actions, options.concurrency))
            loop.append(naive(server.api_url, options.actions // 10))
    cap, mine, nav = max(capacity), max(ours), max(loop)
    print(f"{options.actions} actions per run, best of 2 rounds; worker concurrency {options.concurrency}")
    print(f"log POST capacity (independent load generator) {cap:8.0f} actions/s")
    print(f"outbox delivery worker                         {mine:8.0f} actions/s")
    print(f"naive loop, one httpx.post per action           {nav:8.0f} actions/s")
    print(f"  ratio worker / log capacity   {mine / cap:5.2f} x   (target >= 0.8)")
    print(f"  ratio worker / naive loop     {mine / nav:5.2f} x")


if __name__ == "__main__":
    main()
