"""Several writers at once: nothing lost, no duplicate actieId, versions never fork."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.server.conftest import actie_body, full_put_body, random_bsn, secret_of
from tests.support.logserver import LogServer, mint_token

WRITERS = 8
PER_WRITER = 25


def _headers() -> dict[str, str]:
    return {"Authorization": "Bearer " + mint_token("all", secret_of("all"))}


def _all_ids(api, bsn: str) -> list[str]:
    ids, url = [], None
    page = api.list(bsn).json()
    while True:
        ids += [a["actieId"] for a in page["results"]]
        url = page["next"]
        if url is None:
            return ids
        page = api.http.get(url, headers=api.auth()).json()


def _post_many(urls: list[str], bsn: str) -> list[str]:
    def writer(n: int) -> list[str]:
        out = []
        with httpx.Client(timeout=60) as http:
            for i in range(PER_WRITER):
                r = http.post(f"{urls[n % len(urls)]}/verwerkingsacties", headers=_headers(),
                              json=actie_body(bsn, actieNaam=f"w{n}-{i}"))
                assert r.status_code == 201, r.text
                out.append(r.json()["actieId"])
        return out
    with ThreadPoolExecutor(WRITERS) as pool:
        return [i for chunk in pool.map(writer, range(WRITERS)) for i in chunk]


def test_concurrent_writers_lose_nothing(api, storage):
    bsn = random_bsn()
    before = storage.count_versions()
    ids = _post_many([api.server.api_url], bsn)
    assert len(ids) == len(set(ids)) == WRITERS * PER_WRITER
    assert storage.count_versions() == before + WRITERS * PER_WRITER
    listed = _all_ids(api, bsn)
    assert sorted(listed) == sorted(ids)


def test_concurrent_puts_on_one_action_never_fork(api, storage):
    created = api.create(actie_body())
    body = full_put_body(created)

    def put(n: int) -> httpx.Response:
        with httpx.Client(timeout=60) as http:
            return http.put(f"{api.server.api_url}/verwerkingsacties/{created['actieId']}", headers=_headers(),
                            json={**body, "actieNaam": f"versie {n}"})
    with ThreadPoolExecutor(WRITERS) as pool:
        results = list(pool.map(put, range(WRITERS)))
    assert [r.status_code for r in results] == [200] * WRITERS
    ids = {r.json()["actieId"] for r in results}
    assert len(ids) == WRITERS
    current = api.current(created["actieId"])
    assert current["actieId"] in ids
    # every old id (original and each intermediate version) resolves to that one current version
    for old in ids | {created["actieId"]}:
        assert api.current(old)["actieId"] == current["actieId"]


def test_concurrent_same_idempotency_key_one_record(api, storage):
    body = actie_body()
    key = str(uuid.uuid4())
    before = storage.count_versions()

    def post(_: int) -> httpx.Response:
        with httpx.Client(timeout=60) as http:
            return http.post(f"{api.server.api_url}/verwerkingsacties", headers={**_headers(), "Idempotency-Key": key},
                             json=body)
    with ThreadPoolExecutor(WRITERS) as pool:
        results = list(pool.map(post, range(WRITERS)))
    assert [r.status_code for r in results] == [201] * WRITERS
    assert len({r.json()["actieId"] for r in results}) == 1
    assert storage.count_versions() == before + 1


def test_two_servers_with_workers_on_one_database(api, server, database_url, clients_file, tmp_path):
    """A second server process with two uvicorn workers writes the same database at the same time."""
    other = LogServer(database_url, clients_file, extra_args=["--workers", "2"], log_path=tmp_path / "w.log")
    other.start(timeout=60)
    try:
        bsn = random_bsn()
        ids = _post_many([server.api_url, other.api_url], bsn)
        assert len(set(ids)) == WRITERS * PER_WRITER
        assert sorted(_all_ids(api, bsn)) == sorted(ids)
    finally:
        assert other.stop() == 0


@pytest.mark.parametrize("signal_name", ["stop", "kill"])
def test_restart_keeps_everything(api, server, signal_name):
    created = api.create(actie_body())
    getattr(server, signal_name)()
    assert not server.running
    server.start()
    assert api.current(created["actieId"]) == created
