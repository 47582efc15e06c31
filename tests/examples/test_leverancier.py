"""examples/leverancier: one service for two gemeenten, configured by files only, run exactly as
its README says against two real logs; each gemeente's actions in its own log, with its own OIN,
activity ids and terms from its own register."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from tests.support.logserver import LogServer
from verwerkingen_otel.client import VerwerkingenlogClient

from .conftest import EXAMPLES, example_env, free_port, readme_command

HERE = EXAMPLES / "leverancier"
PRIVACY_SECRET = "example-only-privacy-secret-0123456789abcdef012"
UTRECHT = ("00000001002220647000", "0f7d4b0e-8f59-4bd4-9b7e-0c0d31a5c0a1")
AMERSFOORT = ("00000001001234567000", "3c9b7a15-2d4e-4f60-9b81-a2c3d4e5f607", "8e4d2c1b-0a9f-4e8d-b7c6-5a4b3c2d1e0f")


@pytest.fixture
def two_logs(tmp_path: Path) -> Iterator[dict[str, LogServer]]:
    with LogServer(database=f"sqlite:///{tmp_path / 'utrecht.db'}", clients_file=HERE / "clients.toml") as utrecht, \
            LogServer(database=f"sqlite:///{tmp_path / 'amersfoort.db'}", clients_file=HERE / "clients.toml") as amersfoort:
        yield {"utrecht": utrecht, "amersfoort": amersfoort}


def local_files(tmp_path: Path, logs: dict[str, LogServer]) -> Path:
    """The example's env file with the logs' real ports and a temporary outbox."""
    destinations = (HERE / "destinations.toml").read_text()
    destinations = destinations.replace("http://127.0.0.1:8001/api/v1", logs["utrecht"].api_url)
    destinations = destinations.replace("http://127.0.0.1:8002/api/v1", logs["amersfoort"].api_url)
    (tmp_path / "destinations.toml").write_text(destinations)
    env = (HERE / "leverancier.env").read_text()
    env = env.replace("examples/leverancier/destinations.toml", str(tmp_path / "destinations.toml"))
    env = env.replace("/var/tmp/leverancier/outbox.db", str(tmp_path / "outbox" / "outbox.db"))
    path = tmp_path / "leverancier.env"
    path.write_text(env)
    return path


def stored(log: LogServer, bsn: str) -> list[tuple[Any, ...]]:
    with VerwerkingenlogClient(log.api_url, client_id="privacy", secret=PRIVACY_SECRET) as client:
        return [(a.actie_naam, a.uitvoerder, a.verwerkingsactiviteit_id, a.vertrouwelijkheid.value, a.bewaartermijn,
                 a.systeem) for a in client.list(soort_object_id="BSN", object_id=bsn)]


def test_leverancier_example_as_documented(service: Any, two_logs: dict[str, LogServer], tmp_path: Path) -> None:
    port = free_port()
    command = readme_command("leverancier", replace={
        "examples/leverancier/leverancier.env": str(local_files(tmp_path, two_logs)), "8080": str(port)})
    app = service(command, example_env(), port, shell=True)
    utrecht = httpx.get(f"{app.base}/personen/999993653", headers={"Host": "utrecht.zaken.example"})
    assert utrecht.json() == {"bsn": "999993653", "naam": "Suzanne Moulin", "gemeente": "utrecht"}
    amersfoort = httpx.get(f"{app.base}/personen/999995017", headers={"X-Gemeente": "amersfoort"})
    assert amersfoort.json()["gemeente"] == "amersfoort"
    aanvraag = httpx.post(f"{app.base}/bijstandsaanvragen", headers={"X-Gemeente": "amersfoort"},
                          json={"bsn": "999990019"})
    assert aanvraag.status_code == 201
    nobody = httpx.get(f"{app.base}/personen/999993653")
    assert nobody.status_code == 503 and nobody.json()["code"] == "recording_unavailable"
    unknown = httpx.get(f"{app.base}/personen/999993653", headers={"X-Gemeente": "zeist"})
    assert unknown.status_code == 503
    out, err = app.stop()  # the lifespan's shutdown flushes the outbox to both logs
    # no BSN in the service's own output (its paths hold them: the access log is off)
    assert not any(bsn in out + err for bsn in ("999993653", "999995017", "999990019"))

    assert stored(two_logs["utrecht"], "999993653") == [
        ("Raadplegen persoon", UTRECHT[0], UTRECHT[1], "normaal", "P2Y", "zaaksysteem-leverancier")]
    assert stored(two_logs["amersfoort"], "999995017") == [
        ("Raadplegen persoon", AMERSFOORT[0], AMERSFOORT[1], "normaal", "P1Y", "zaaksysteem-leverancier")]
    assert stored(two_logs["amersfoort"], "999990019") == [
        ("Registreren aanvraag", AMERSFOORT[0], AMERSFOORT[2], "vertrouwelijk", "P7Y", "zaaksysteem-leverancier")]
    # nothing of one gemeente in the other's log; the 503s recorded nothing anywhere
    assert stored(two_logs["amersfoort"], "999993653") == []
    assert stored(two_logs["utrecht"], "999995017") == stored(two_logs["utrecht"], "999990019") == []


def test_an_activity_missing_from_one_gemeentes_register_stops_the_start(
        service: Any, two_logs: dict[str, LogServer], tmp_path: Path) -> None:
    env_file = local_files(tmp_path, two_logs)
    registers = tmp_path / "registers"
    registers.mkdir()
    (registers / "utrecht.json").write_text((HERE / "registers" / "utrecht.json").read_text())
    # Amersfoort's register without "Beoordelen bijstandsaanvraag"
    (registers / "amersfoort.toml").write_text(
        (HERE / "registers" / "amersfoort.toml").read_text().split("\n[[verwerkingsactiviteiten]]\nid = \"8e4d")[0])
    (tmp_path / "tenants.toml").write_text((HERE / "tenants.toml").read_text())
    env_file.write_text(env_file.read_text().replace("examples/leverancier/tenants.toml", str(tmp_path / "tenants.toml")))
    port = free_port()
    command = readme_command("leverancier", replace={"examples/leverancier/leverancier.env": str(env_file),
                                                     "8080": str(port)})
    with pytest.raises(AssertionError) as info:
        service(command, example_env(), port, shell=True)
    message = str(info.value).replace("\\'", "'")  # stderr, inside the repr of (stdout, stderr)
    assert ("app.registreren (tenant 'amersfoort', register " f"{registers}/amersfoort.toml): the register holds no "
            "verwerkingsactiviteit 'Beoordelen bijstandsaanvraag'") in message
    assert "tenant 'utrecht'" not in message
