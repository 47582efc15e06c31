"""A service acting for several organisations: each request's tenant (host, trusted header,
function, rule path parameter, default) puts that tenant's OIN, defaults and activity ids on
its actions, sends its OIN outbound and routes to its log; unresolved requests fail closed."""

from __future__ import annotations

import asyncio
import json
import logging
import types
from pathlib import Path
from typing import Any, Iterator

import flask
import httpx
import pytest
from fastapi import FastAPI, Request

import verwerkingen_otel as vo
from tests.support.logserver import LogServer, write_clients_file
from verwerkingen_otel.client import VerwerkingenlogClient
from verwerkingen_otel.fastapi import instrument_app
from verwerkingen_otel.flask import Verwerkingen
from verwerkingen_otel.httpx import instrument_client

from .conftest import uvicorn_server, werkzeug_server

SECRET = "tenants-test-secret-0123456789abcdef0123456789"
SCOPES = ["create:normal", "read:normal", "create:confidential", "read:confidential"]
GENERIC = "5f0bef4c-f66f-4311-84a5-19e8bf359eaf"  # the activity id the code annotates
TENANTS = {
    "utrecht": {"oin": "00000001002220647000", "activiteit": "11111111-1111-4111-8111-111111111111",
                "systeem": "zaken-utrecht", "bsn": "999993653", "host": "utrecht.zaken.example"},
    "amersfoort": {"oin": "00000001001234567000", "activiteit": "22222222-2222-4222-8222-222222222222",
                   "systeem": "zaken-amersfoort", "bsn": "999990019", "host": "amersfoort.zaken.example"},
}


def tenants_toml(default: str | None = None, destinations: bool = True) -> str:
    lines = ['[resolver]', 'header = "X-Gemeente"']
    if default:
        lines.append(f'default = "{default}"')
    for name, t in TENANTS.items():
        lines += [f"[tenants.{name}]", f'oin = "{t["oin"]}"', f'hosts = ["{t["host"]}"]',
                  f'systeem = "{t["systeem"]}"', 'bewaartermijn = "P7Y"']
        if destinations:
            lines.append(f'destination = "{name}"')
        lines += [f"[tenants.{name}.verwerkingsactiviteiten]", f'"{GENERIC}" = "{t["activiteit"]}"']
    return "\n".join(lines) + "\n"


@pytest.fixture(autouse=True)
def own_pipeline(isolated_pipeline: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The root conftest's isolated pipeline, and the logs' secret the destinations file names."""
    monkeypatch.setenv("TENANT_LOG_SECRET", SECRET)


def memory_setup(tmp_path: Path, default: str | None = None, **settings: Any) -> vo.Pipeline:
    dests = tmp_path / "destinations.toml"
    dests.write_text("".join(f'[destinations.{n}]\nexporters = ["memory"]\n' for n in TENANTS))
    tenants = tmp_path / "tenants.toml"
    tenants.write_text(tenants_toml(default))
    return vo.configure(destinations=str(dests), tenants=str(tenants), delivery="sync",
                        systeem="leverancier", **settings)


@types.coroutine
def _other_tasks_run() -> Iterator[None]:
    """Hand the event loop to the other requests once (what a real await of I/O does)."""
    yield


def make_app(**options: Any) -> FastAPI:
    app = FastAPI()

    @vo.verwerkingsactie("Raadplegen persoon", verwerkingsactiviteit_id=GENERIC, objecten=[vo.persoon("bsn")])
    async def raadplegen(bsn: str) -> None:
        await _other_tasks_run()  # let other requests interleave inside the action

    @app.get("/personen/{bsn}")
    async def persoon(bsn: str, label: str) -> dict[str, Any]:
        with vo.verwerking(verwerking_naam=label):
            await raadplegen(bsn)
        return {"tenant": vo.current_tenant()}

    instrument_app(app, **options)
    return app


def bodies(pipeline: vo.Pipeline, tenant: str) -> list[dict[str, Any]]:
    return pipeline.exporter(f"memory:{tenant}").bodies  # type: ignore[union-attr]


def test_host_header_and_default_resolve_and_set_the_tenants_fields(tmp_path: Path) -> None:
    pipeline = memory_setup(tmp_path, default="utrecht")
    with uvicorn_server(make_app()) as url:
        with httpx.Client(base_url=url) as http:
            assert http.get("/personen/999990019?label=a", headers={"Host": "amersfoort.zaken.example"}
                            ).json() == {"tenant": "amersfoort"}
            assert http.get("/personen/999990019?label=b", headers={"X-Gemeente": "amersfoort"}
                            ).json() == {"tenant": "amersfoort"}
            assert http.get("/personen/999993653?label=c").json() == {"tenant": "utrecht"}  # the default
    [u] = bodies(pipeline, "utrecht")
    assert (u["verwerkingNaam"], u["uitvoerder"], u["systeem"], u["verwerkingsactiviteitId"], u["bewaartermijn"]) == (
        "c", TENANTS["utrecht"]["oin"], "zaken-utrecht", TENANTS["utrecht"]["activiteit"], "P7Y")
    a, b = bodies(pipeline, "amersfoort")
    assert [x["verwerkingNaam"] for x in (a, b)] == ["a", "b"]
    assert {x["uitvoerder"] for x in (a, b)} == {TENANTS["amersfoort"]["oin"]}
    assert {x["verwerkingsactiviteitId"] for x in (a, b)} == {TENANTS["amersfoort"]["activiteit"]}


def test_unresolved_or_unknown_tenant_fails_closed_with_503(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    pipeline = memory_setup(tmp_path)  # no default
    with uvicorn_server(make_app()) as url, httpx.Client(base_url=url) as http:
        with caplog.at_level(logging.ERROR, "verwerkingen_otel.web"):
            nobody = http.get("/personen/999993653?label=x")
            unknown = http.get("/personen/999993653?label=y", headers={"X-Gemeente": "zeist"})
    for response in (nobody, unknown):
        assert response.status_code == 503
        assert response.json()["code"] == "recording_unavailable"
    assert bodies(pipeline, "utrecht") == bodies(pipeline, "amersfoort") == []
    messages = [r.getMessage() for r in caplog.records]
    assert any("has no [resolver] default; answered 503" in m for m in messages)
    assert any("names a tenant (by header x-gemeente) that is not in" in m for m in messages)
    assert not any("zeist" in m for m in messages)


def test_a_tenant_function_wins_and_outside_requests_use_tenant_or_default(tmp_path: Path) -> None:
    pipeline = memory_setup(tmp_path, tenant=lambda scope: "amersfoort" if scope["path"].endswith("1") else None)
    with uvicorn_server(make_app(tenant=lambda request: request.query_params.get("gemeente"))) as url:
        with httpx.Client(base_url=url) as http:
            # the middleware's own function comes first, then configure()'s, then the header
            assert http.get("/personen/999993653?label=f&gemeente=utrecht",
                            headers={"X-Gemeente": "amersfoort"}).json() == {"tenant": "utrecht"}
    with vo.use_tenant("amersfoort"):
        with vo.verwerkingsactie("Achtergrond", verwerkingsactiviteit_id=GENERIC) as actie:
            actie.add_object("999990019")
    with pytest.raises(vo.RecordingError, match="no tenant for this verwerkingsactie"):
        with vo.verwerkingsactie("Zonder tenant", verwerkingsactiviteit_id=GENERIC) as actie:
            actie.add_object("999990019")
    assert [b["verwerkingNaam"] for b in bodies(pipeline, "utrecht")] == ["f"]
    assert [b["actieNaam"] for b in bodies(pipeline, "amersfoort")] == ["Achtergrond"]


def test_outbound_calls_carry_the_tenants_oin(tmp_path: Path) -> None:
    memory_setup(tmp_path, default="utrecht", oin="00000009999999999000")
    echo = FastAPI()

    @echo.get("/echo")
    async def echo_headers(request: Request) -> dict[str, Any]:
        return {"oin": request.headers.get("oin")}

    with uvicorn_server(echo) as echo_url:
        app = FastAPI()

        @app.get("/personen/{bsn}")
        @vo.verwerkingsactie("Doorvragen", verwerkingsactiviteit_id=GENERIC, objecten=[vo.persoon("bsn")])
        async def persoon(bsn: str) -> dict[str, Any]:
            async with httpx.AsyncClient() as client:
                instrument_client(client)
                return (await client.get(f"{echo_url}/echo")).json()

        instrument_app(app)
        with uvicorn_server(app) as url, httpx.Client(base_url=url) as http:
            assert http.get("/personen/1", headers={"X-Gemeente": "amersfoort"}).json() == {
                "oin": TENANTS["amersfoort"]["oin"]}
            assert http.get("/personen/1").json() == {"oin": TENANTS["utrecht"]["oin"]}


def test_flask_extension_and_a_rule_path_parameter(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(f"""
[[rules]]
name = "persoon"
method = "GET"
route = "/<gemeente>/personen/<bsn>"
tenant = "gemeente"
actie_naam = "Raadplegen via regel"
verwerkingsactiviteit_id = "{GENERIC}"
[[rules.objecten]]
from = "path"
name = "bsn"
""")
    pipeline = memory_setup(tmp_path, default="utrecht")
    app = flask.Flask(__name__)

    @app.get("/<gemeente>/personen/<bsn>")
    def persoon(gemeente: str, bsn: str) -> dict[str, Any]:
        return {"tenant": vo.current_tenant()}

    @app.get("/direct/<bsn>")
    @vo.verwerkingsactie("Direct", verwerkingsactiviteit_id=GENERIC, objecten=[vo.persoon("bsn")])
    def direct(bsn: str) -> dict[str, Any]:
        return {"tenant": vo.current_tenant()}

    Verwerkingen(app, rules=str(rules), tenant=lambda request: request.args.get("g"))
    with werkzeug_server(app) as url, httpx.Client(base_url=url) as http:
        assert http.get("/amersfoort/personen/999990019").json() == {"tenant": "amersfoort"}
        assert http.get("/direct/999990019?g=amersfoort").json() == {"tenant": "amersfoort"}
        assert http.get("/zeist/personen/999990019").status_code == 503
    assert [b["actieNaam"] for b in bodies(pipeline, "amersfoort")] == ["Raadplegen via regel", "Direct"]
    assert bodies(pipeline, "utrecht") == []


def test_isolation_two_tenants_200_concurrent_requests_each(tmp_path: Path) -> None:
    clients = write_clients_file(tmp_path / "clients.toml", {"app": (SECRET, SCOPES)})
    logs = {name: LogServer(f"sqlite:///{tmp_path}/{name}.db", clients, log_path=tmp_path / f"{name}.log")
            for name in TENANTS}
    for log in logs.values():
        log.start()
    try:
        dests = tmp_path / "destinations.toml"
        dests.write_text("".join(f'[destinations.{n}]\napi_url = "{log.api_url}"\nclient_id = "app"\n'
                                 f'secret_env = "TENANT_LOG_SECRET"\n' for n, log in logs.items()))
        tenants = tmp_path / "tenants.toml"
        tenants.write_text(tenants_toml())
        pipeline = vo.configure(destinations=str(dests), tenants=str(tenants), outbox=str(tmp_path / "o.db"),
                                systeem="leverancier")
        per_tenant = 200

        async def run(url: str) -> list[int]:
            # A fresh connection per request: a kept-alive one can be closed by uvicorn's keep-alive
            # timeout just as the next request goes out on a loaded machine (a transport race, not ours).
            limits = httpx.Limits(max_connections=32, max_keepalive_connections=0)
            async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as http:
                async def one(i: int) -> int:
                    name = "utrecht" if i % 2 == 0 else "amersfoort"
                    t = TENANTS[name]
                    # utrecht by its host, amersfoort by the trusted header: both ways interleaved
                    headers = {"Host": t["host"]} if name == "utrecht" else {"X-Gemeente": name}
                    r = await http.get(f"/personen/{t['bsn']}", params={"label": f"{name}-{i // 2}"},
                                       headers=headers)
                    assert r.json() == {"tenant": name}
                    return r.status_code
                return await asyncio.gather(*(one(i) for i in range(2 * per_tenant)))

        with uvicorn_server(make_app()) as url:
            statuses = asyncio.run(run(url))
        assert statuses == [200] * (2 * per_tenant)
        assert pipeline.force_flush(60)
        for name, log in logs.items():
            t = TENANTS[name]
            other = TENANTS["amersfoort" if name == "utrecht" else "utrecht"]
            with VerwerkingenlogClient(log.api_url, client_id="app", secret=SECRET) as client:
                mine = list(client.list(soort_object_id="BSN", object_id=t["bsn"]))
                theirs = list(client.list(soort_object_id="BSN", object_id=other["bsn"]))
            assert theirs == []
            assert sorted(a.verwerking_naam or "" for a in mine) == sorted(f"{name}-{i}" for i in range(per_tenant))
            assert {(a.uitvoerder, a.systeem, a.verwerkingsactiviteit_id) for a in mine} == {
                (t["oin"], t["systeem"], t["activiteit"])}
            text = json.dumps([a.to_api() for a in mine])
            for value in (other["oin"], other["activiteit"], other["systeem"], other["bsn"], other["host"],
                          "amersfoort-" if name == "utrecht" else "utrecht-"):
                assert value not in text
    finally:
        for log in logs.values():
            log.kill()
