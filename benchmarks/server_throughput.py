"""POSTs per second at concurrency 16 over loopback: the full server vs a bare insert endpoint.

Both run as uvicorn subprocesses on the same kind of database, measured in one run:

- full: `verwerkingen-otel serve` (JWT auth, size/media checks, validation, scopes, insert);
- bare: a Starlette app whose POST /verwerkingsacties only parses JSON and does the same
  insert through the same Storage (no auth, no validation), in the same threadpool.

    python benchmarks/server_throughput.py [--requests 2000] [--postgres URL]

PostgreSQL is used when --postgres or VERWERKINGEN_TEST_POSTGRES_URL names a server (a fresh
database is created for each run and dropped after). Target: full >= 0.7x bare.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.logserver import free_port, mint_token, write_clients_file  # noqa: E402

CONCURRENCY = 16
SECRET = "benchmark-secret-0123456789abcdef0123456789abcdef"
BODY = {
    "actieNaam": "Raadplegen persoon", "handelingNaam": "Intake", "verwerkingNaam": "Huwelijk",
    "verwerkingId": "48086bf2-11b7-4603-9526-67d7c3bb6587",
    "verwerkingsactiviteitId": "5f0bef4c-f66f-4311-84a5-19e8bf359eaf", "vertrouwelijkheid": "normaal",
    "bewaartermijn": "P10Y", "uitvoerder": "00000001821002193000", "systeem": "FooBarApp v2.1",
    "tijdstip": "2024-04-05T14:35:42+01:00",
    "verwerkteObjecten": [{"objecttype": "persoon", "soortObjectId": "BSN", "objectId": "999993653",
                           "betrokkenheid": "Getuige", "verwerkteSoortenGegevens": [{"soortGegeven": "Naam"}]}],
}


def bare_app(database: str):  # noqa: ANN201 - a Starlette app
    """The comparison endpoint: JSON in, the same insert, 201 out. Nothing else."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from verwerkingen_otel.server.settings import database_url
    from verwerkingen_otel.server.storage import NewActie, Storage, StoredObject

    storage = Storage(database_url(database))
    storage.create_schema()

    async def create(request: Request) -> JSONResponse:
        body = await request.json()
        o = body["verwerkteObjecten"][0]
        new = NewActie(
            client_id="bare", vertrouwelijkheid=body["vertrouwelijkheid"], tijdstip=body["tijdstip"],
            tijdstip_instant=datetime.fromisoformat(body["tijdstip"]),
            velden={k: v for k, v in body.items() if k not in ("vertrouwelijkheid", "tijdstip", "verwerkteObjecten")},
            objecten=(StoredObject(
                str(uuid.uuid4()), o["objecttype"], o["soortObjectId"], o["objectId"], o.get("betrokkenheid"),
                tuple(s["soortGegeven"] for s in o["verwerkteSoortenGegevens"])),),
        )
        stored, _ = await run_in_threadpool(storage.create, new, None)
        return JSONResponse({"actieId": stored.actie_id}, status_code=201)

    return Starlette(routes=[Route("/api/v1/verwerkingsacties", create, methods=["POST"])])


def start(cmd: list[str], port: int, log: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(cmd, stdout=open(log, "wb"), stderr=subprocess.STDOUT, cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            return proc
        except httpx.TransportError:
            if proc.poll() is not None:
                raise RuntimeError(log.read_text()) from None
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("server did not start")


async def load(url: str, headers: dict[str, str], total: int) -> float:
    """Requests per second for `total` POSTs by CONCURRENCY keep-alive workers."""
    counter = iter(range(total))
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        async def worker() -> None:
            for _ in counter:
                r = await client.post(url, json=BODY, headers=headers)
                if r.status_code != 201:
                    raise RuntimeError(f"{r.status_code}: {r.text[:200]}")
        warm = iter(range(CONCURRENCY * 4))
        async def warmup() -> None:
            for _ in warm:
                await client.post(url, json=BODY, headers=headers)
        await asyncio.gather(*(warmup() for _ in range(CONCURRENCY)))
        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return total / (time.perf_counter() - t0)


def measure(kind: str, database: str, tmp: Path, total: int) -> tuple[float, float]:
    clients = write_clients_file(tmp / "clients.toml", {"bench": (SECRET, ["create:normal"])})
    headers = {"Authorization": "Bearer " + mint_token("bench", SECRET)}
    results: dict[str, float] = {}
    for mode in ("full", "bare", "full", "bare"):  # alternate, keep each one's best: a shared machine is noisy
        port = free_port()
        db = database(mode) if callable(database) else database
        if mode == "full":
            cmd = [sys.executable, "-m", "verwerkingen_otel.cli", "serve", "--port", str(port), "--database", db,
                   "--clients", str(clients), "--log-level", "warning"]
        else:
            cmd = [sys.executable, __file__, "--bare-serve", db, "--port", str(port)]
        proc = start(cmd, port, tmp / f"{kind}-{mode}-{port}.log")
        try:
            rate = asyncio.run(load(f"http://127.0.0.1:{port}/api/v1/verwerkingsacties", headers, total))
            results[mode] = max(rate, results.get(mode, 0.0))
        finally:
            proc.terminate()
            proc.wait(15)
    return results["full"], results["bare"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--postgres", default=os.environ.get("VERWERKINGEN_TEST_POSTGRES_URL"))
    parser.add_argument("--bare-serve", metavar="DATABASE", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_serve:
        import uvicorn
        uvicorn.run(bare_app(args.bare_serve), host="127.0.0.1", port=args.port, log_level="warning",
                    access_log=False)
        return 0
    print(f"POST /verwerkingsacties, concurrency {CONCURRENCY}, {args.requests} requests per measurement")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        runs = [("sqlite", lambda mode: f"sqlite:///{tmp}/{mode}.db")]
        created: list[str] = []
        if args.postgres:
            import psycopg

            def pg(mode: str) -> str:
                name = f"bench_{mode}_{uuid.uuid4().hex[:8]}"
                with psycopg.connect(args.postgres, autocommit=True) as conn:
                    conn.execute(f'CREATE DATABASE "{name}"')
                created.append(name)
                return args.postgres.rsplit("/", 1)[0] + "/" + name
            runs.append(("postgresql", pg))
        else:
            print("postgresql: skipped (no --postgres / VERWERKINGEN_TEST_POSTGRES_URL)")
        try:
            for kind, database in runs:
                full, bare = measure(kind, database, tmp, args.requests)
                verdict = "ok" if full >= 0.7 * bare else "BELOW TARGET 0.7"
                print(f"{kind:10s} full {full:7.0f}/s   bare {bare:7.0f}/s   ratio {full / bare:.2f}  {verdict}")
        finally:
            if created:
                import psycopg
                with psycopg.connect(args.postgres, autocommit=True) as conn:
                    for name in created:
                        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
