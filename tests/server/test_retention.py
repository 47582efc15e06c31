"""Retention: `purge` deletes every version of an expired action with its objects, and records it.

Runs on its own (unguarded) SQLite file and PostgreSQL database: purging is the one exception
to append-only. Actions are stored through Storage with chosen tijdstip and bewaartermijn.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

import httpx
import pytest
from sqlalchemy import func, select

from tests.support.bsn import random_bsn
from tests.support.logserver import LogServer, mint_token
from verwerkingen_otel.model import format_tijdstip
from verwerkingen_otel.server.records import NewActie, PersonFilter, StoredObject
from verwerkingen_otel.server.retention import count_expired, purge
from verwerkingen_otel.server.tables import idempotentie, objecten, purge_log, vervangen, versies
from verwerkingen_otel.server.settings import database_url as to_url
from verwerkingen_otel.server.storage import Storage

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
SECRET = "retention-secret-0123456789abcdef0123456789abcdef"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'log.db'}"
        return
    import psycopg
    admin = request.getfixturevalue("postgres_admin_url")
    name = f"vr_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield admin.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def storage(db_url: str) -> Iterator[Storage]:
    s = Storage(to_url(db_url))
    s.create_schema()
    yield s
    s.dispose()


def store(storage: Storage, bsn: str, when: datetime, bewaartermijn: str | None, key: str | None = None) -> str:
    velden = {"actieNaam": "Raadplegen", "verwerkingId": str(uuid.uuid4())}
    if bewaartermijn:
        velden["bewaartermijn"] = bewaartermijn
    new = NewActie(client_id="c", vertrouwelijkheid="normaal", tijdstip=format_tijdstip(when), tijdstip_instant=when,
                   velden=velden, objecten=(StoredObject(str(uuid.uuid4()), "persoon", "BSN", bsn),))
    return storage.create(new, None if key is None else (key, "hash"))[0].actie_id


def ids(storage: Storage, bsn: str) -> list[str]:
    return [a.actie_id for a in storage.list_acties(PersonFilter("persoon", "BSN", bsn), 1, 100).items]


def rows(storage: Storage, table: Any) -> int:
    with storage.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_purge_deletes_expired_actions_only_and_records_each_batch(storage: Storage) -> None:
    bsn = random_bsn()
    expired = [store(storage, bsn, NOW - timedelta(days=400 + i), "P1Y", key=f"k{i}") for i in range(5)]
    kept = store(storage, bsn, NOW - timedelta(days=400), "P10Y")
    no_termijn = store(storage, bsn, NOW - timedelta(days=4000), None)
    recent = store(storage, bsn, NOW - timedelta(days=300), "P1Y")
    # a second version that lengthens the retention: the current version decides
    lengthened = store(storage, bsn, NOW - timedelta(days=500), "P1Y")

    def to_p5y(current: Any) -> NewActie:
        return NewActie(client_id="c", vertrouwelijkheid="normaal", tijdstip=current.tijdstip,
                        tijdstip_instant=NOW - timedelta(days=500), velden={**current.velden, "bewaartermijn": "P5Y"},
                        objecten=current.objecten)
    lengthened_now = storage.replace_current(lengthened, to_p5y).actie_id
    # and one the other way round: P10Y shortened to P1Y by a new version, both versions go
    shortened = store(storage, bsn, NOW - timedelta(days=800), "P10Y")
    storage.replace_current(shortened, lambda c: NewActie(
        client_id="c", vertrouwelijkheid="normaal", tijdstip=c.tijdstip, tijdstip_instant=NOW - timedelta(days=800),
        velden={**c.velden, "bewaartermijn": "P1Y"}, objecten=c.objecten))
    versions_before = rows(storage, versies)

    dry = count_expired(storage, NOW, None)
    assert (dry.acties, dry.versies, dry.objecten) == (6, 7, 7)
    assert rows(storage, versies) == versions_before  # the dry run changed nothing

    result = purge(storage, now=NOW, batch=2, door="test")
    assert (result.acties, result.versies, result.objecten, result.batches) == (6, 7, 7, 3)
    assert sorted(ids(storage, bsn)) == sorted([kept, no_termijn, recent, lengthened_now])
    for gone in [*expired, shortened]:
        assert storage.get_current(gone) is None
    assert rows(storage, versies) == versions_before - 7
    assert rows(storage, idempotentie) == 0  # the keys of purged actions went with them
    assert rows(storage, vervangen) == 1  # only `lengthened`'s superseded version remains
    with storage.engine.connect() as conn:
        log = conn.execute(select(purge_log).order_by(purge_log.c.id)).all()
    assert [(r.acties, r.door, r.standaard_bewaartermijn) for r in log] == [(2, "test", None)] * 3
    assert sum(r.versies for r in log) == 7 and sum(r.objecten for r in log) == 7
    assert len({r.run for r in log}) == 1
    assert min(r.oudste_tijdstip for r in log).date() == (NOW - timedelta(days=800)).date()
    text = " ".join(str(tuple(r)) for r in log)
    assert bsn not in text  # no personal data in the audit

    assert purge(storage, now=NOW).acties == 0  # nothing left to do

    # actions without a bewaartermijn follow the default
    assert purge(storage, now=NOW, default_bewaartermijn="P20Y").acties == 0
    result = purge(storage, now=NOW, default_bewaartermijn="P10Y")
    assert result.acties == 1 and storage.get_current(no_termijn) is None
    assert sorted(ids(storage, bsn)) == sorted([kept, recent, lengthened_now])


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "verwerkingen_otel.cli", *args], capture_output=True, text=True,
                          timeout=120)


def test_generate_then_purge_commands(db_url: str) -> None:
    r = run_cli("generate", "--database", db_url, "--actions", "2000")
    assert r.returncode == 0, r.stderr
    summary = r.stderr.strip().splitlines()[-1]
    assert summary.startswith("generate: ") and "2,000 actions in" in summary
    assert "heavy persons with 50, 50, 50, 200, 500 actions" in summary
    storage = Storage(to_url(db_url))
    try:
        assert storage.count_versions() >= 2000
        assert len(storage.list_acties(PersonFilter("persoon", "BSN", "900050000"), 1, 100).items) == 100
        expected = count_expired(storage, datetime.now(timezone.utc), None)
        assert expected.acties > 0
        r = run_cli("purge", "--database", db_url, "--dry-run")
        assert r.returncode == 0, r.stderr
        assert f"would delete {expected.acties:,} actions ({expected.versies:,} versions" in r.stdout
        r = run_cli("purge", "--database", db_url)
        assert r.returncode == 0, r.stderr
        line = r.stderr.strip().splitlines()[-1]
        assert line.startswith("purge: ") and f"{expected.acties:,} actions in" in line
        assert count_expired(storage, datetime.now(timezone.utc), None).acties == 0
        with storage.engine.connect() as conn:
            assert conn.execute(select(func.sum(purge_log.c.acties))).scalar_one() == expected.acties
            assert conn.execute(select(func.count()).select_from(objecten).where(
                objecten.c.versie_seq.notin_(select(versies.c.seq)))).scalar_one() == 0
    finally:
        storage.dispose()


@pytest.mark.parametrize("args, message", [
    (["--default-bewaartermijn", "20"], "--default-bewaartermijn must be an ISO 8601 duration"),
    (["--batch", "0"], "--batch must be a positive integer"),
])
def test_purge_option_errors_name_the_option(tmp_path: Any, args: list[str], message: str) -> None:
    r = run_cli("purge", "--database", str(tmp_path / "x.db"), *args)
    assert r.returncode == 2 and message in r.stderr
    assert not (tmp_path / "x.db").exists()


def test_generate_option_errors(tmp_path: Any) -> None:
    r = run_cli("generate", "--database", str(tmp_path / "x.db"), "--actions", "0")
    assert r.returncode == 2 and "--actions must be a positive integer" in r.stderr
    r = run_cli("generate", "--database", "ftp://x/y", "--actions", "5")
    assert r.returncode == 2 and "--database: unsupported database URL scheme 'ftp'" in r.stderr


def test_the_server_purges_on_a_schedule(tmp_path: Any) -> None:
    clients = {"app": (SECRET, ["create:normal", "read:normal"])}
    with LogServer(f"sqlite:///{tmp_path / 'log.db'}", clients=clients,
                   extra_args=["--purge-interval", "0.2", "--default-bewaartermijn", "P2Y"]) as srv:
        headers = {"Authorization": "Bearer " + mint_token("app", SECRET)}
        bsn = random_bsn()

        def post(when: datetime, termijn: str | None) -> str:
            body: dict[str, Any] = {"vertrouwelijkheid": "normaal", "tijdstip": when.isoformat(),
                                    "verwerkteObjecten": [{"objecttype": "persoon", "soortObjectId": "BSN",
                                                           "objectId": bsn}]}
            if termijn:
                body["bewaartermijn"] = termijn
            r = httpx.post(f"{srv.api_url}/verwerkingsacties", json=body, headers=headers)
            assert r.status_code == 201, r.text
            return r.json()["actieId"]

        now = datetime.now(timezone.utc)
        old = post(now - timedelta(days=800), "P1Y")
        old_default = post(now - timedelta(days=800), None)
        young_default = post(now - timedelta(days=300), None)
        kept = post(now - timedelta(days=800), "P10Y")
        deadline = time.monotonic() + 30
        while httpx.get(f"{srv.api_url}/verwerkingsacties/{old_default}", headers=headers).status_code != 404:
            assert time.monotonic() < deadline, srv.log_text()
            time.sleep(0.1)
        statuses = {a: httpx.get(f"{srv.api_url}/verwerkingsacties/{a}", headers=headers).status_code
                    for a in (old, old_default, young_default, kept)}
        assert statuses == {old: 404, old_default: 404, young_default: 200, kept: 200}
        metrics = httpx.get(f"{srv.base_url}/metrics").text
        assert "verwerkingenlog_purged_actions_total 2.0" in metrics
        assert 'verwerkingenlog_purge_runs_total{outcome="ok"}' in metrics
    storage = Storage(to_url(f"sqlite:///{tmp_path / 'log.db'}"))
    try:
        with storage.engine.connect() as conn:
            (door,) = set(conn.execute(select(purge_log.c.door)).scalars())
        assert door.startswith("server schedule ")
    finally:
        storage.dispose()
