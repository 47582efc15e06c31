"""docs/server.md "Running on PostgreSQL, step by step", run as written against a real PostgreSQL.

The roles and database get unique names per run; everything else is the documented SQL and
the documented `serve` commands. The runtime role can read and append, never UPDATE.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.support.logserver import LogServer, write_clients_file

ROOT = Path(__file__).resolve().parents[1]
SECRET = "postgres-doc-secret-0123456789abcdef0123456789"


def documented_sql() -> dict[str, str]:
    text = (ROOT / "docs" / "server.md").read_text(encoding="utf-8")
    section = text.split("## Running on PostgreSQL, step by step", 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r"<!-- sql: (\w+) -->\n```sql\n(.*?)```", section, re.DOTALL))


def test_the_section_has_both_sql_blocks() -> None:
    assert set(documented_sql()) == {"superuser", "owner"}


def test_postgres_step_by_step(postgres_admin_url: str, tmp_path: Path) -> None:
    import psycopg

    from verwerkingen_otel.client import VerwerkingenlogClient
    from verwerkingen_otel.model import Vertrouwelijkheid, VerwerktObject, Verwerkingsactie

    suffix = uuid.uuid4().hex[:8]
    names = {"verwerkingenlog_eigenaar": f"vl_eig_{suffix}", "verwerkingenlog": f"vl_rt_{suffix}",
             "verwerkingen": f"vl_db_{suffix}"}

    def rename(sql: str) -> str:
        return re.sub(r"\b(verwerkingenlog_eigenaar|verwerkingenlog|verwerkingen)\b", lambda m: names[m[1]], sql)

    parts = urlsplit(postgres_admin_url)
    server = f"{parts.hostname}:{parts.port}"

    def url(role: str, password: str) -> str:  # the documented URL shape, on the test's server
        return f"postgresql://{names[role]}:{password}@{server}/{names['verwerkingen']}"

    sql = documented_sql()
    clients = write_clients_file(tmp_path / "clients.toml", {"app": (SECRET, ["create:normal", "read:confidential"])})
    with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
        for statement in filter(str.strip, rename(sql["superuser"]).split(";")):
            admin.execute(statement)
        try:
            # step 3: the owner creates the tables
            with LogServer(database=url("verwerkingenlog_eigenaar", "change-me-owner"), clients_file=clients):
                pass
            # step 4: grants, as the owner
            with psycopg.connect(url("verwerkingenlog_eigenaar", "change-me-owner"), autocommit=True) as owner:
                for statement in filter(str.strip, rename(sql["owner"]).split(";")):
                    owner.execute(statement)
            # step 5: the runtime role serves: create and read back
            runtime = url("verwerkingenlog", "change-me-runtime")
            with LogServer(database=runtime, clients_file=clients, extra_args=["--workers", "2"]) as log:
                actie = Verwerkingsactie(
                    vertrouwelijkheid=Vertrouwelijkheid.NORMAAL,
                    tijdstip=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc),
                    verwerkte_objecten=(VerwerktObject("persoon", "BSN", "999993653"),),
                    actie_naam="Raadplegen persoon", verwerking_id=str(uuid.uuid4()),
                    verwerkingsactiviteit_id="5f0bef4c-f66f-4311-84a5-19e8bf359eaf")
                with VerwerkingenlogClient(log.api_url, client_id="app", secret=SECRET) as client:
                    created = client.create(actie)
                    (found,) = list(client.list(soort_object_id="BSN", object_id="999993653"))
                assert (found.actie_id, found.actie_naam) == (created.actie_id, "Raadplegen persoon")
            # append-only by the database's own rules
            with psycopg.connect(runtime, autocommit=True) as conn:
                for statement in ("UPDATE vl_actie_versies SET seq = seq", "DELETE FROM vl_verwerkte_objecten",
                                  "TRUNCATE vl_idempotentie"):
                    with pytest.raises(psycopg.errors.InsufficientPrivilege):
                        conn.execute(statement)
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {names['verwerkingen']} WITH (FORCE)")
            admin.execute(f"DROP ROLE IF EXISTS {names['verwerkingenlog']}")
            admin.execute(f"DROP ROLE IF EXISTS {names['verwerkingenlog_eigenaar']}")
