"""Versioned migrations: a schema-1 log (as servers before issue 15 wrote it) becomes schema 2,
once, also when three servers start on it at the same moment; its lists then work as before."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any, Iterator

import httpx
import pytest
from sqlalchemy import (
    BigInteger, Boolean, Column, ForeignKey, Index, Integer, MetaData, String, Table, Text, UniqueConstraint,
    create_engine, insert, inspect, select, text,
)

from tests.support.logserver import LogServer, mint_token
from verwerkingen_otel.server.records import PersonFilter
from verwerkingen_otel.server.tables import schema_versie, versies
from verwerkingen_otel.server.settings import database_url as to_url
from verwerkingen_otel.server.storage import Storage

SECRET = "migration-secret-0123456789abcdef0123456789abcdef"
_ID = BigInteger().with_variant(Integer, "sqlite")
V1 = MetaData()
Table("vl_schema_versie", V1, Column("versie", Integer, primary_key=True, autoincrement=False))
V1_VERSIES = Table(
    "vl_actie_versies", V1,
    Column("seq", _ID, primary_key=True, autoincrement=True),
    Column("actie_id", String(36), nullable=False, unique=True),
    Column("chain_id", String(36), nullable=False), Column("versie", Integer, nullable=False),
    Column("client_id", String(255), nullable=False), Column("vertrouwelijkheid", String(16), nullable=False),
    Column("vervallen", Boolean, nullable=False, default=False), Column("verwerking_id", String(36)),
    Column("verwerkingsactiviteit_id", String(36)), Column("tijdstip", Text, nullable=False),
    Column("tijdstip_us", BigInteger, nullable=False), Column("tijdstip_datum", String(10), nullable=False),
    Column("tijdstip_registratie", Text, nullable=False), Column("velden", Text, nullable=False),
    UniqueConstraint("chain_id", "versie", name="vl_actie_versies_chain_versie"),
    Index("vl_actie_versies_order", "tijdstip_us", "actie_id"), Index("vl_actie_versies_verwerking", "verwerking_id"),
)
V1_OBJECTEN = Table(
    "vl_verwerkte_objecten", V1,
    Column("seq", _ID, primary_key=True, autoincrement=True),
    Column("versie_seq", _ID, ForeignKey("vl_actie_versies.seq"), nullable=False, index=True),
    Column("verwerkt_object_id", String(36), nullable=False, index=True), Column("positie", Integer, nullable=False),
    Column("objecttype", String(64), nullable=False), Column("soort_object_id", Text, nullable=False),
    Column("object_id", Text, nullable=False), Column("betrokkenheid", Text), Column("soorten_gegevens", Text),
    Index("vl_verwerkte_objecten_persoon", "object_id", "soort_object_id", "objecttype"),
)
Table("vl_idempotentie", V1, Column("client_id", String(255), primary_key=True),
      Column("sleutel", String(255), primary_key=True), Column("body_hash", String(64), nullable=False),
      Column("actie_id", String(36), nullable=False))
BSN = "999993653"


def write_v1_log(url: str) -> dict[str, Any]:
    """A schema-1 log: a current action, an action with two versions, a deleted one, a person twice."""
    engine = create_engine(url)
    ids: dict[str, Any] = {}
    with engine.begin() as conn:
        V1.create_all(conn)
        conn.execute(insert(V1.tables["vl_schema_versie"]).values(versie=1))
        seq = 0

        def version(name: str, chain: str, versie: int, day: int, *, vervallen: bool = False, persons: int = 1,
                    termijn: str = "P10Y") -> None:
            nonlocal seq
            seq += 1
            actie_id = str(uuid.uuid4())
            ids.setdefault(name, []).append(actie_id)
            conn.execute(insert(V1_VERSIES).values(
                seq=seq, actie_id=actie_id, chain_id=chain, versie=versie, client_id="c", vertrouwelijkheid="normaal",
                vervallen=vervallen, verwerking_id=chain, tijdstip=f"2024-01-{day:02d}T10:00:00+01:00",
                tijdstip_us=(1704099600 + day * 86400) * 1_000_000, tijdstip_datum=f"2024-01-{day:02d}",
                tijdstip_registratie="2024-02-01T00:00:00+00:00",
                velden=json.dumps({"actieNaam": name, "verwerkingId": chain, "bewaartermijn": termijn})))
            if not vervallen:
                for pos in range(persons):
                    conn.execute(insert(V1_OBJECTEN).values(
                        versie_seq=seq, verwerkt_object_id=f"{chain[:30]}-{pos:05d}", positie=pos, objecttype="persoon",
                        soort_object_id="BSN", object_id=BSN, betrokkenheid=f"rol {pos}"))

        version("enkel", str(uuid.uuid4()), 1, 3)
        chain = str(uuid.uuid4())
        version("gewijzigd", chain, 1, 2, termijn="P1Y")
        version("gewijzigd", chain, 2, 2, termijn="P5Y")
        chain = str(uuid.uuid4())
        version("verwijderd", chain, 1, 4)
        version("verwijderd", chain, 2, 4, vervallen=True)
        version("tweemaal", str(uuid.uuid4()), 1, 5, persons=2)
    engine.dispose()
    return ids


@pytest.fixture(params=["sqlite", "postgresql"])
def v1_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'v1.db'}"
        return
    import psycopg
    admin = request.getfixturevalue("postgres_admin_url")
    name = f"vm_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield admin.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_schema_1_log_is_migrated_once_and_lists_as_before(v1_url: str) -> None:
    ids = write_v1_log(to_url(v1_url))
    storage = Storage(to_url(v1_url))
    try:
        assert storage.schema_version() == 1 and not storage.schema_current()
        assert storage.create_schema() == [2]
        assert storage.create_schema() == []  # once
        with storage.engine.connect() as conn:
            found = conn.execute(select(schema_versie.c.versie).order_by(schema_versie.c.versie)).scalars().all()
            assert found == [1, 2]
            names = {i["name"] for i in inspect(conn).get_indexes("vl_verwerkte_objecten")}
            expiry = dict(conn.execute(select(versies.c.actie_id, versies.c.vervalt_us)).all())
        assert "vl_verwerkte_objecten_persoon_tijd" in names and "vl_verwerkte_objecten_persoon" not in names
        flt = PersonFilter("persoon", "BSN", BSN)
        page = storage.list_acties(flt, 1, 10)
        assert [a.actie_id for a in page.items] == [ids["gewijzigd"][1], ids["enkel"][0], ids["tweemaal"][0]]
        assert (page.count, page.exact) == (3, True)
        assert [len(a.objecten) for a in page.items] == [1, 1, 2]
        inzage = storage.list_objecten(flt, 1, 10)
        assert [(a.velden["actieNaam"], o.betrokkenheid) for o, a in inzage.items] == [
            ("gewijzigd", "rol 0"), ("enkel", "rol 0"), ("tweemaal", "rol 0"), ("tweemaal", "rol 1")]
        assert storage.get_current(ids["gewijzigd"][0]).actie_id == ids["gewijzigd"][1]
        assert storage.get_current(ids["verwijderd"][0]) is None
        # expiry from tijdstip + bewaartermijn: 2024-01-02T10:00+01:00 + P1Y / P5Y
        assert expiry[ids["gewijzigd"][0]] == int(datetime(2025, 1, 2, 9, tzinfo=timezone.utc).timestamp()) * 10**6
        assert expiry[ids["gewijzigd"][1]] == int(datetime(2029, 1, 2, 9, tzinfo=timezone.utc).timestamp()) * 10**6
    finally:
        storage.dispose()


def test_three_servers_starting_together_migrate_once(v1_url: str, tmp_path: Any) -> None:
    ids = write_v1_log(to_url(v1_url))
    servers = [LogServer(v1_url, clients={"app": (SECRET, ["read:normal"])}, log_path=tmp_path / f"s{i}.log")
               for i in range(3)]
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda s: s.start(timeout=60), servers))
    try:
        headers = {"Authorization": "Bearer " + mint_token("app", SECRET)}
        for srv in servers:
            assert httpx.get(f"{srv.base_url}/readyz").json() == {"status": "ready", "schema": 2}
            r = httpx.get(f"{srv.api_url}/verwerkingsacties", headers=headers,
                          params={"objecttype": "persoon", "soortObjectId": "BSN", "objectId": BSN,
                                  "vertrouwelijkheid": "normaal"})
            assert [a["actieId"] for a in r.json()["results"]] == [ids["gewijzigd"][1], ids["enkel"][0],
                                                                   ids["tweemaal"][0]]
    finally:
        for srv in servers:
            srv.stop()
    engine = create_engine(to_url(v1_url))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT versie FROM vl_schema_versie ORDER BY versie")).scalars().all() == [1, 2]
    engine.dispose()
