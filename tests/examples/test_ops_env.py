"""examples/ops_env: the FastAPI example configured only by the .env file, delivering to the real log."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import httpx
import pytest

from tests.support.logserver import LogServer
from verwerkingen_otel.client import VerwerkingenlogClient
from verwerkingen_otel.delivery import Outbox

from .conftest import EXAMPLES, example_env, free_port, readme_command, run_documented

ENV_FILE = EXAMPLES / "ops_env" / "verwerkingen.env"


def env_values() -> dict[str, str]:
    lines = [line for line in ENV_FILE.read_text().splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


@pytest.fixture
def ops_log(tmp_path: Path) -> Iterator[LogServer]:
    """The log, started with the example's own clients file."""
    with LogServer(database=f"sqlite:///{tmp_path / 'log.db'}", clients_file=EXAMPLES / "ops_env" / "clients.toml") as s:
        yield s


def local_env_file(tmp_path: Path, log: LogServer, **changes: str) -> Path:
    """The example's file with the log's real port and a temporary outbox (and `changes`)."""
    text = ENV_FILE.read_text()
    text = text.replace("http://127.0.0.1:8000/api/v1", log.api_url)
    text = text.replace("/var/tmp/personen-api/outbox.db", str(tmp_path / "personen-api" / "outbox.db"))
    for key, value in changes.items():
        text = text.replace(f"{key}={env_values()[key]}", f"{key}={value}")
    path = tmp_path / "verwerkingen.env"
    path.write_text(text)
    return path


def test_every_line_is_a_setting() -> None:
    from verwerkingen_otel.capture import SETTINGS

    known = {env for _, env, _ in SETTINGS}
    assert set(env_values()) <= known
    assert "VERWERKINGEN_SECRET" in env_values() and "VERWERKINGEN_API_URL" in env_values()


def test_ops_env_example_as_documented(service, ops_log: LogServer, tmp_path: Path) -> None:
    port = free_port()
    command = readme_command("ops_env", replace={
        "examples/ops_env/verwerkingen.env": str(local_env_file(tmp_path, ops_log)), "8080": str(port)})
    app = service(command, example_env(), port, shell=True)
    headers = {"X-Gebruiker": "medewerker-1"}
    assert httpx.get(f"{app.base}/personen/999993653", headers=headers).status_code == 200
    assert httpx.post(f"{app.base}/verhuizingen", json={"bsn": "999995017", "nieuw_adres": "Kade 1, Urk"}).status_code == 201
    out, err = app.stop()
    assert "Application shutdown complete" in err

    # the lifespan's shutdown flushed: both actions are in the log, with the settings from the file
    values = env_values()
    with VerwerkingenlogClient(ops_log.api_url, client_id=values["VERWERKINGEN_CLIENT_ID"],
                               secret=values["VERWERKINGEN_SECRET"]) as client:
        (raadplegen,) = list(client.list(soort_object_id="BSN", object_id="999993653"))
        (verhuizen,) = list(client.list(soort_object_id="BSN", object_id="999995017"))
    for actie in (raadplegen, verhuizen):
        assert (actie.systeem, actie.gegevensbron, actie.uitvoerder) == ("personen-api", "BRP", "00000001234567890000")
    assert (raadplegen.actie_naam, raadplegen.bewaartermijn, raadplegen.gebruiker) == (
        "Raadplegen persoon", "P10Y", "medewerker-1")  # the VERWERKINGEN_BEWAARTERMIJN default
    assert (verhuizen.actie_naam, verhuizen.bewaartermijn, str(verhuizen.vertrouwelijkheid)) == (
        "Registreren verhuizing", "P20Y", "vertrouwelijk")  # the annotation wins over the setting
    outbox = tmp_path / "personen-api" / "outbox.db"
    assert Outbox(outbox).pending() == 0
    assert oct(outbox.stat().st_mode & 0o777) == "0o600" and oct(outbox.parent.stat().st_mode & 0o777) == "0o700"


def test_ops_env_mistake_stops_the_start_naming_the_variable(ops_log: LogServer, tmp_path: Path) -> None:
    command = readme_command("ops_env", replace={
        "examples/ops_env/verwerkingen.env": str(local_env_file(tmp_path, ops_log, VERWERKINGEN_UITVOERDER="123")),
        "8080": str(free_port())})
    done = run_documented(command, example_env(), timeout=60)
    assert done.returncode != 0
    assert "VERWERKINGEN_UITVOERDER: must be an OIN of exactly 20 digits" in done.stderr
    assert "example-only-secret" not in done.stdout + done.stderr
