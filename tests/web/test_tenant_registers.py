"""Each tenant's own register of processing activities (tenants file `register`): the code
annotates an activity by name once; every gemeente's action carries that gemeente's own
verwerkingsactiviteit id, url and defaults. Annotations are checked in every tenant's register at
configure() (or at decoration once configured), naming the tenant; `activiteit` routes match
each tenant's id."""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from fastapi import FastAPI

import verwerkingen_otel as vo
from tests.support.registers import ACTIVITEITEN, register_data, write_register
from tests.support.servers import uvicorn_server
from verwerkingen_otel import capture as pipeline_module
from verwerkingen_otel.capture import separate_annotations
from verwerkingen_otel.fastapi import instrument_app

NAAM = "Raadplegen persoon"
MAIN_ID = "0b0b0b0b-0000-4000-8000-000000000000"
UTRECHT_ID = "11111111-1111-4111-8111-111111111111"
AMERSFOORT_ID = "22222222-2222-4222-8222-222222222222"
OIN = {"utrecht": "00000001002220647000", "amersfoort": "00000001001234567000"}
BSN = "999993653"


def activiteit(id_: str, **extra: Any) -> dict[str, Any]:
    item = copy.deepcopy(ACTIVITEITEN[2])
    item.update(id=id_, naam=NAAM, **extra)
    return item


@pytest.fixture(autouse=True)
def own_pipeline(isolated_pipeline: None) -> Iterator[None]:
    """The root conftest's isolated pipeline; configure() checks only this file's annotations."""
    with separate_annotations():
        yield


def write_files(tmp_path: Path, *, amersfoort_register: bool = True, utrecht_items: list[dict[str, Any]] | None = None,
                routes: str = "") -> dict[str, str]:
    """Registers beside the tenants file (relative paths), one memory destination per tenant."""
    (tmp_path / "registers").mkdir(exist_ok=True)
    write_register(tmp_path / "registers" / "utrecht.json", register_data(utrecht_items or [
        activiteit(UTRECHT_ID, url=f"https://var.utrecht.example/api/v1/verwerkingsactiviteiten/{UTRECHT_ID}",
                   bewaartermijnDuur="P10Y")]))
    write_register(tmp_path / "registers" / "amersfoort.toml", register_data([
        activiteit(AMERSFOORT_ID, vertrouwelijkheid="vertrouwelijk", bewaartermijnDuur="P5Y"),
        activiteit("33333333-3333-4333-8333-333333333333") | {"naam": "Verstrekken parkeervergunning"}]))
    write_register(tmp_path / "main.toml", register_data([activiteit(MAIN_ID, bewaartermijnDuur="P1Y")]))
    tenants = ['[resolver]', 'header = "X-Gemeente"']
    for name in OIN:
        tenants += [f"[tenants.{name}]", f'oin = "{OIN[name]}"', f'destination = "{name}"']
        if name == "utrecht":
            tenants.append('register = "registers/utrecht.json"')
        elif amersfoort_register:
            tenants.append('register = "registers/amersfoort.toml"')
    (tmp_path / "tenants.toml").write_text("\n".join(tenants) + "\n")
    (tmp_path / "destinations.toml").write_text(
        "".join(f'[destinations.{n}]\nexporters = ["memory"]\n' for n in OIN)
        + '[destinations.sociaal]\nexporters = ["memory"]\n' + routes)
    return {"tenants": str(tmp_path / "tenants.toml"), "destinations": str(tmp_path / "destinations.toml"),
            "main": str(tmp_path / "main.toml")}


def configure(files: dict[str, str], **settings: Any) -> vo.Pipeline:
    return vo.configure(destinations=files["destinations"], tenants=files["tenants"], delivery="sync", **settings)


def record(tenant: str, **annotation: Any) -> None:
    with vo.use_tenant(tenant):
        with vo.verwerkingsactie("Raadplegen", **annotation) as actie:
            actie.add_object(BSN)


def bodies(pipeline: vo.Pipeline, destination: str) -> list[dict[str, Any]]:
    return pipeline.exporter(f"memory:{destination}").bodies  # type: ignore[union-attr]


def fields(body: dict[str, Any]) -> tuple[Any, ...]:
    return (body["uitvoerder"], body.get("verwerkingsactiviteitId"), body.get("verwerkingsactiviteitUrl"),
            body["vertrouwelijkheid"], body.get("bewaartermijn"))


def test_one_name_becomes_each_tenants_own_id_url_and_defaults(tmp_path: Path) -> None:
    pipeline = configure(write_files(tmp_path))
    record("utrecht", activiteit=NAAM)
    record("amersfoort", activiteit=NAAM)
    record("amersfoort", activiteit=NAAM, vertrouwelijkheid="normaal", bewaartermijn="P2Y")
    record("utrecht", activiteit=NAAM, vertrouwelijkheid="vertrouwelijk")
    assert [fields(b) for b in bodies(pipeline, "utrecht")] == [
        (OIN["utrecht"], UTRECHT_ID, f"https://var.utrecht.example/api/v1/verwerkingsactiviteiten/{UTRECHT_ID}",
         "normaal", "P10Y"),
        (OIN["utrecht"], UTRECHT_ID, f"https://var.utrecht.example/api/v1/verwerkingsactiviteiten/{UTRECHT_ID}",
         "vertrouwelijk", "P10Y")]
    # amersfoort's register says vertrouwelijk: the most confidential source wins over the annotation's
    # normaal; the annotation's bewaartermijn wins over the register's
    assert [fields(b) for b in bodies(pipeline, "amersfoort")] == [
        (OIN["amersfoort"], AMERSFOORT_ID, None, "vertrouwelijk", "P5Y"),
        (OIN["amersfoort"], AMERSFOORT_ID, None, "vertrouwelijk", "P2Y")]
    assert "unknown_activiteit" not in pipeline.counters


def test_an_id_of_the_main_register_becomes_the_tenants_activity_of_that_name(tmp_path: Path) -> None:
    files = write_files(tmp_path, amersfoort_register=False)
    pipeline = configure(files, register=files["main"])
    record("utrecht", verwerkingsactiviteit_id=MAIN_ID)
    record("amersfoort", verwerkingsactiviteit_id=MAIN_ID)  # no register of its own: the main one
    record("amersfoort", activiteit=NAAM)
    assert [fields(b) for b in bodies(pipeline, "utrecht")] == [
        (OIN["utrecht"], UTRECHT_ID, f"https://var.utrecht.example/api/v1/verwerkingsactiviteiten/{UTRECHT_ID}",
         "normaal", "P10Y")]
    assert [fields(b) for b in bodies(pipeline, "amersfoort")] == [
        (OIN["amersfoort"], MAIN_ID, None, "normaal", "P1Y"),
        (OIN["amersfoort"], MAIN_ID, None, "normaal", "P1Y")]


def test_an_annotation_missing_from_a_tenants_register_fails_configure_naming_the_tenant(tmp_path: Path) -> None:
    files = write_files(tmp_path)

    @vo.verwerkingsactie("Parkeren", activiteit="Verstrekken parkeervergunning", objecten=[vo.persoon("bsn")])
    def parkeren(bsn: str) -> None:
        pass

    with pytest.raises(vo.ConfigurationError) as info:
        configure(files)
    message = str(info.value)
    assert message.startswith("activiteit: ")
    where = f"{__name__}.test_an_annotation_missing_from_a_tenants_register_fails_configure_naming_the_tenant" \
            f".<locals>.parkeren (tenant 'utrecht', register {tmp_path}/registers/utrecht.json)"
    assert f"{where}: the register holds no verwerkingsactiviteit 'Verstrekken parkeervergunning'" in message
    assert "tenant 'amersfoort'" not in message  # amersfoort's register holds it
    assert pipeline_module.current_pipeline() is None  # nothing installed, no delivery left running


def test_a_decoration_after_configure_is_checked_in_every_tenants_register_at_once(tmp_path: Path) -> None:
    configure(write_files(tmp_path))
    with pytest.raises(vo.ConfigurationError) as info:
        @vo.verwerkingsactie("X", activiteit="Bestaat niet", objecten=[vo.persoon("bsn")])
        def x(bsn: str) -> None:
            pass
    message = str(info.value)
    assert "(tenant 'utrecht', register" in message and "(tenant 'amersfoort', register" in message
    # no register of the `register` setting is needed: every tenant has its own
    assert "set VERWERKINGEN_REGISTER" not in message


def test_an_unreadable_tenant_register_names_the_tenants_setting_file_tenant_and_key(tmp_path: Path) -> None:
    files = write_files(tmp_path)
    (tmp_path / "registers" / "utrecht.json").write_text("{not json")
    with pytest.raises(vo.ConfigurationError) as info:
        configure(files)
    assert str(info.value).startswith(f"tenants: {files['tenants']}: [tenants.utrecht] register: ")


def test_an_activity_the_tenants_register_lost_is_recorded_without_id_and_counted(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    files = write_files(tmp_path)
    pipeline = configure(files)
    with caplog.at_level(logging.WARNING, "verwerkingen_otel.capture"):
        with vo.use_tenant("amersfoort"):  # a context-manager annotation is not checked ahead
            with vo.verwerkingsactie("Onbekend", activiteit="Niet in het register") as actie:
                actie.add_object(BSN)
    [body] = bodies(pipeline, "amersfoort")
    assert "verwerkingsactiviteitId" not in body and body["uitvoerder"] == OIN["amersfoort"]
    assert pipeline.counters["unknown_activiteit"] == 1
    assert any("the register of tenant 'amersfoort' does not hold" in r.getMessage() for r in caplog.records)
    assert not any(BSN in r.getMessage() for r in caplog.records)


def test_an_activiteit_route_matches_each_tenants_own_id(tmp_path: Path) -> None:
    files = write_files(tmp_path, routes=f'[[routes]]\nactiviteit = "{NAAM}"\ndestinations = ["sociaal"]\n')
    pipeline = configure(files)
    record("utrecht", activiteit=NAAM)
    record("amersfoort", activiteit=NAAM)
    record("amersfoort", activiteit="Verstrekken parkeervergunning")  # no route: the tenant's destination
    assert [b["verwerkingsactiviteitId"] for b in bodies(pipeline, "sociaal")] == [UTRECHT_ID, AMERSFOORT_ID]
    assert [b["verwerkingsactiviteitId"] for b in bodies(pipeline, "amersfoort")] == [
        "33333333-3333-4333-8333-333333333333"]
    assert bodies(pipeline, "utrecht") == []


def test_requests_of_two_gemeenten_carry_their_own_registers_ids(tmp_path: Path) -> None:
    pipeline = configure(write_files(tmp_path))
    app = FastAPI()

    @vo.verwerkingsactie("Raadplegen persoon", activiteit=NAAM, objecten=[vo.persoon("bsn")])
    def raadplegen(bsn: str) -> None:
        pass

    @app.get("/personen/{bsn}")
    def persoon(bsn: str) -> dict[str, Any]:
        raadplegen(bsn)
        return {"tenant": vo.current_tenant()}

    instrument_app(app)
    with uvicorn_server(app) as url, httpx.Client(base_url=url) as http:
        for gemeente in ("amersfoort", "utrecht", "amersfoort"):
            assert http.get(f"/personen/{BSN}", headers={"X-Gemeente": gemeente}).json() == {"tenant": gemeente}
    assert [b["verwerkingsactiviteitId"] for b in bodies(pipeline, "amersfoort")] == [AMERSFOORT_ID] * 2
    assert [b["verwerkingsactiviteitId"] for b in bodies(pipeline, "utrecht")] == [UTRECHT_ID]


def test_a_tenants_register_from_a_var_api_is_cached_beside_the_outbox(tmp_path: Path) -> None:
    from tests.support.logserver import LogServer

    files = write_files(tmp_path)
    served = write_register(tmp_path / "served.json", register_data([
        activiteit(AMERSFOORT_ID, vertrouwelijkheid="vertrouwelijk", bewaartermijnDuur="P5Y")]))
    outbox = tmp_path / "outbox.db"
    with LogServer(clients={"a": ("x" * 40, [])}, extra_args=["--register", str(served)]) as log:
        text = Path(files["tenants"]).read_text().replace('register = "registers/amersfoort.toml"',
                                                         f'register = "{log.api_url}"')
        Path(files["tenants"]).write_text(text)
        pipeline = configure(files, outbox=str(outbox))
        pipeline.shutdown(1.0)
    cache = tmp_path / "outbox.db.register.amersfoort.json"
    assert cache.is_file()
    # the VAR API is gone now: the next configure() reads the cached copy
    pipeline = configure(files, outbox=str(outbox))
    record("amersfoort", activiteit=NAAM)
    [body] = bodies(pipeline, "amersfoort")
    # (a VAR API serves the standard's fields only: our vertrouwelijkheid / bewaartermijnDuur stay in files)
    assert fields(body) == (OIN["amersfoort"], AMERSFOORT_ID, f"{log.api_url}/verwerkingsactiviteiten/{AMERSFOORT_ID}",
                            "normaal", None)


def test_a_tenants_table_keyed_by_the_main_registers_id_wins_over_its_register(tmp_path: Path) -> None:
    files = write_files(tmp_path)
    mapped = "44444444-4444-4444-8444-444444444444"
    tenants = Path(files["tenants"])
    tenants.write_text(tenants.read_text() + f'[tenants.amersfoort.verwerkingsactiviteiten]\n"{MAIN_ID}" = "{mapped}"\n')

    @vo.verwerkingsactie("Parkeren", activiteit=NAAM, objecten=[vo.persoon("bsn")])
    def raadplegen(bsn: str) -> None:
        pass

    pipeline = configure(files, register=files["main"])
    with vo.use_tenant("amersfoort"):
        raadplegen(BSN)
    with vo.use_tenant("utrecht"):
        raadplegen(BSN)
    assert [b["verwerkingsactiviteitId"] for b in bodies(pipeline, "amersfoort")] == [mapped]
    assert [b["verwerkingsactiviteitId"] for b in bodies(pipeline, "utrecht")] == [UTRECHT_ID]
