"""Three server processes on one PostgreSQL behave as one log.

All three are hammered at once with PUT, PATCH and DELETE on the same verwerkingen and with POSTs
that share one Idempotency-Key. Afterwards: every response was the right one, every accepted
change is a version of its action (nothing lost), versions of an action are numbered 1..n with
exactly one current (nothing forked), and the key produced one action.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator

import httpx
import pytest
from sqlalchemy import select

from tests.server.conftest import CLIENTS, actie_body, full_put_body, secret_of
from tests.support.bsn import random_bsn
from tests.support.logserver import LogServer, mint_token, write_clients_file
from verwerkingen_otel.server.tables import idempotentie, vervangen, versies
from verwerkingen_otel.server.settings import database_url as to_url
from verwerkingen_otel.server.storage import Storage

ROUNDS = 120


@pytest.fixture(scope="module")
def three(postgres_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[LogServer], str]]:
    import psycopg
    name = f"vi_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = postgres_admin_url.rsplit("/", 1)[0] + "/" + name
    tmp = tmp_path_factory.mktemp("three")
    clients = write_clients_file(tmp / "clients.toml", {c: (secret_of(c), s) for c, s in CLIENTS.items()})
    servers = [LogServer(url, clients, log_path=tmp / f"s{i}.log") for i in range(3)]
    with ThreadPoolExecutor(3) as pool:  # all three start (and check the schema) at once
        list(pool.map(lambda s: s.start(timeout=60), servers))
    yield servers, url
    for s in servers:
        s.stop()
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _headers(**extra: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + mint_token("all", secret_of("all")), **extra}


def test_three_instances_hammered_at_once(three: tuple[list[LogServer], str]) -> None:
    servers, url = three
    http = httpx.Client(timeout=60)
    bsn = random_bsn()
    verwerkingen = [str(uuid.uuid4()) for _ in range(3)]
    acties: dict[str, list[dict[str, Any]]] = {
        v: [http.post(f"{servers[i % 3].api_url}/verwerkingsacties", headers=_headers(),
                      json=actie_body(bsn, verwerkingId=v)).json() for i in range(3)] for v in verwerkingen}
    doomed_verwerking = str(uuid.uuid4())  # only DELETEs here, so the counts below stay exact
    doomed = [http.post(f"{servers[0].api_url}/verwerkingsacties", headers=_headers(),
                        json=actie_body(bsn, verwerkingId=doomed_verwerking)).json() for _ in range(4)]
    key, body = str(uuid.uuid4()), actie_body(bsn)
    rng = random.Random(15)
    plan: list[tuple[str, Any]] = []
    for k in range(ROUNDS):
        v = rng.choice(verwerkingen)
        plan.append(("PUT", (rng.choice(acties[v]), f"versie {k}")) if k % 2 else ("PATCH", (v, f"P{k + 1}D")))
    plan += [("DELETE", a) for a in doomed for _ in range(3)] + [("POST", None)] * 9
    rng.shuffle(plan)
    lock = threading.Lock()
    results: list[tuple[str, Any, httpx.Response]] = []

    def run(n_step: tuple[int, tuple[str, Any]]) -> None:
        n, (op, arg) = n_step
        api = servers[n % 3].api_url
        with httpx.Client(timeout=60) as client:
            if op == "PUT":
                original, naam = arg
                r = client.put(f"{api}/verwerkingsacties/{original['actieId']}", headers=_headers(),
                               json=full_put_body(original, actieNaam=naam))
            elif op == "PATCH":
                r = client.patch(f"{api}/verwerkingsacties", params={"verwerkingId": arg[0]}, headers=_headers(),
                                 json={"bewaartermijn": arg[1]})
            elif op == "DELETE":
                r = client.delete(f"{api}/verwerkingsacties/{arg['actieId']}", headers=_headers())
            else:
                r = client.post(f"{api}/verwerkingsacties", headers=_headers(**{"Idempotency-Key": key}), json=body)
        with lock:
            results.append((op, arg, r))

    with ThreadPoolExecutor(12) as pool:
        list(pool.map(run, enumerate(plan)))

    # every response was the right one
    statuses = Counter((op, r.status_code) for op, _, r in results)
    assert statuses == Counter({("PUT", 200): ROUNDS // 2, ("PATCH", 204): ROUNDS // 2, ("DELETE", 204): 4,
                                ("DELETE", 404): 8, ("POST", 201): 9}), statuses
    deleted_by = Counter(arg["actieId"] for op, arg, r in results if op == "DELETE" and r.status_code == 204)
    assert sorted(deleted_by) == sorted(a["actieId"] for a in doomed)  # each exactly once
    posted = {r.json()["actieId"] for op, _, r in results if op == "POST"}
    assert len(posted) == 1

    storage = Storage(to_url(url))
    try:
        with storage.engine.connect() as conn:
            rows = conn.execute(select(versies.c.seq, versies.c.chain_id, versies.c.versie, versies.c.actie_id,
                                       versies.c.vervallen)).all()
            replaced = set(conn.execute(select(vervangen.c.versie_seq)).scalars())
            keys = conn.execute(select(idempotentie.c.actie_id).where(idempotentie.c.sleutel == key)).scalars().all()
        chain_of = {r.actie_id: r.chain_id for r in rows}
        by_chain: dict[str, list[Any]] = {}
        for r in rows:
            by_chain.setdefault(r.chain_id, []).append(r)
        # nothing forked: versions 1..n, exactly one current (the newest), the others replaced
        for chain, versions in by_chain.items():
            versions.sort(key=lambda r: r.versie)
            assert [r.versie for r in versions] == list(range(1, len(versions) + 1)), chain
            assert [r.seq in replaced for r in versions] == [True] * (len(versions) - 1) + [False], chain
        # nothing lost: every accepted PUT is a version of its action; versions = 1 + PUTs + PATCHes
        expected = Counter()
        for op, arg, r in results:
            if op == "PUT":
                assert chain_of[r.json()["actieId"]] == chain_of[arg[0]["actieId"]]
                expected[chain_of[arg[0]["actieId"]]] += 1
            elif op == "PATCH":
                for a in acties[arg[0]]:
                    expected[chain_of[a["actieId"]]] += 1
        for v in verwerkingen:
            for a in acties[v]:
                chain = chain_of[a["actieId"]]
                assert len(by_chain[chain]) == 1 + expected[chain], a["actieNaam"]
        for a in doomed:
            versions = by_chain[chain_of[a["actieId"]]]
            assert [r.vervallen for r in versions] == [False, True]
        # the key made one action, one row
        assert keys == list(posted) and len(by_chain[chain_of[keys[0]]]) == 1
    finally:
        storage.dispose()

    # every instance answers the same for every old id, and lists the same
    for v in verwerkingen:
        for a in acties[v]:
            currents = {http.get(f"{s.api_url}/verwerkingsacties/{a['actieId']}", headers=_headers()).json()["actieId"]
                        for s in servers}
            assert len(currents) == 1
    for a in doomed:
        assert {http.get(f"{s.api_url}/verwerkingsacties/{a['actieId']}", headers=_headers()).status_code
                for s in servers} == {404}
    lists = [http.get(f"{s.api_url}/verwerkingsacties", headers=_headers(),
                      params={"objecttype": "persoon", "soortObjectId": "BSN", "objectId": bsn}).json()
             for s in servers]
    assert lists[0]["count"] == lists[1]["count"] == lists[2]["count"] == 9 + 1
    http.close()
