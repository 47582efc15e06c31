"""Capture without code changes: the rules file + VerwerkingenInstrumentor, in process and under
`opentelemetry-instrument` in a subprocess running the unmodified example app."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from verwerkingen_otel.web import VerwerkingenInstrumentor
from verwerkingen_otel.web import RulesError

from tests.support.logserver import free_port

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "rules_flask"
ACT = "5f0bef4c-f66f-4311-84a5-19e8bf359eaf"
OIN = "00000001234567890000"


@pytest.fixture
def instrumentor() -> Iterator[VerwerkingenInstrumentor]:
    inst = VerwerkingenInstrumentor()
    yield inst
    if inst.is_instrumented_by_opentelemetry:
        inst.uninstrument()


def test_instrument_captures_unmodified_flask_and_fastapi(verwerkingen: Any, instrumentor: VerwerkingenInstrumentor) -> None:
    from fastapi import FastAPI
    from flask import Flask
    from starlette.testclient import TestClient

    instrumentor.instrument(rules=str(EXAMPLE / "rules.toml"))
    flask_app = Flask("plain")

    @flask_app.get("/personen/<bsn>")
    def persoon(bsn: str) -> dict[str, str]:
        return {"bsn": bsn}

    fastapi_app = FastAPI()

    @fastapi_app.get("/personen")
    async def zoeken() -> dict[str, Any]:
        return {"resultaten": [{"bsn": "999995017"}, {"bsn": "999990019"}]}

    assert flask_app.test_client().get("/personen/999993653", headers={"OIN": OIN}).status_code == 200
    with TestClient(fastapi_app) as client:
        assert client.get("/personen?naam=x").status_code == 200
    raadplegen = verwerkingen.assert_one(actie_naam="Raadplegen persoon")
    assert raadplegen["afnemerId"] == OIN and raadplegen["verwerkingNaam"] == "Inzage basisregistratie"
    assert [o["objectId"] for o in verwerkingen.objecten(actie_naam="Zoeken persoon")] == ["999995017", "999990019"]

    instrumentor.uninstrument()
    verwerkingen.clear()
    later = Flask("later")
    later.add_url_rule("/personen/<bsn>", "p", lambda bsn: {"bsn": bsn})
    later.test_client().get("/personen/999993653")
    assert len(verwerkingen) == 0


def test_bad_rules_file_fails_at_start(verwerkingen: Any, instrumentor: VerwerkingenInstrumentor, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rules]]\nname = "x"\nmethod = "GET"\nroute = "/p"\nactie_naam = "A"\n')
    with pytest.raises(RulesError, match=r"bad.toml, rule 'x': key 'verwerkingsactiviteit_id': is required"):
        instrumentor.instrument(rules=str(bad))


EXAMPLES = {
    "flask": lambda port: [sys.executable, str(ROOT / "examples" / "rules_flask" / "app.py")],
    "fastapi": lambda port: [sys.executable, "-m", "uvicorn", "--app-dir", str(ROOT / "examples" / "rules_fastapi"),
                             "--port", str(port), "--log-level", "warning", "app:app"],
}


def run_example(kind: str, env_extra: dict[str, str]) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    env = dict(
        os.environ,
        PORT=str(port),
        VERWERKINGEN_DELIVERY="sync",
        VERWERKINGEN_EXPORTERS="console",
        OTEL_TRACES_EXPORTER="none",
        OTEL_METRICS_EXPORTER="none",
        OTEL_LOGS_EXPORTER="none",
        PYTHONUNBUFFERED="1",
        **env_extra,
    )
    bin_dir = Path(sys.executable).parent
    proc = subprocess.Popen(
        [str(bin_dir / "opentelemetry-instrument"), *EXAMPLES[kind](port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    return proc, port


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_unmodified_example_under_opentelemetry_instrument(kind: str) -> None:
    proc, port = run_example(kind, {"VERWERKINGEN_RULES": str(ROOT / "examples" / f"rules_{kind}" / "rules.toml")})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(base + "/health", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    proc.kill()
                    raise AssertionError(f"example did not start: {proc.communicate(timeout=5)}") from None
                time.sleep(0.1)
        headers = {"OIN": OIN, "Vertrouwelijkheid": "vertrouwelijk"}
        assert httpx.get(base + "/personen/999993653", headers=headers).json()["naam"] == "Suzanne Moulin"
        assert httpx.get(base + "/personen?naam=j").status_code == 200
        assert httpx.post(base + "/huwelijken", json={"partners": ["999995017", "999990019"]}).status_code == 201
        assert httpx.get(base + "/personen/999999999").status_code == 404
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    acties = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [a["actieNaam"] for a in acties] == ["Raadplegen persoon", "Zoeken persoon", "Registreren huwelijk"], err
    raadplegen, zoeken, huwelijk = acties
    assert raadplegen["afnemerId"] == OIN and raadplegen["vertrouwelijkheid"] == "vertrouwelijk"
    assert raadplegen["verwerkteObjecten"] == [
        {"objecttype": "persoon", "soortObjectId": "BSN", "objectId": "999993653",
         "verwerkteSoortenGegevens": [{"soortGegeven": "Naam"}]}]
    assert [(o["objectId"], o["betrokkenheid"]) for o in zoeken["verwerkteObjecten"]] == [
        ("999995017", "Getoond in zoekresultaat")]
    assert huwelijk["bewaartermijn"] == "P20Y" and huwelijk["vertrouwelijkheid"] == "vertrouwelijk"
    assert [o["objectId"] for o in huwelijk["verwerkteObjecten"]] == ["999995017", "999990019"]


def test_bad_rules_file_stops_opentelemetry_instrument(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rules]]\nname = "x"\nmethod = "GET"\nroute = "/p"\nactie_naam = "A"\n')
    proc, _ = run_example("flask", {"VERWERKINGEN_RULES": str(bad)})
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert err.splitlines() == [f"verwerkingen-otel: VERWERKINGEN_RULES: rules file {bad}, rule 'x': "
                                "key 'verwerkingsactiviteit_id': is required (or `activiteit`: a naam or id in the register)"]


def test_excluded_urls_from_the_environment(verwerkingen: Any, instrumentor: VerwerkingenInstrumentor,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from flask import Flask

    from verwerkingen_otel.capture import verwerkingsactie
    from verwerkingen_otel.capture import persoon

    monkeypatch.setenv("OTEL_PYTHON_VERWERKINGEN_EXCLUDED_URLS", "/intern/*, /health")
    instrumentor.instrument()
    app = Flask("uitgezonderd")

    @app.get("/intern/<bsn>")
    @verwerkingsactie(actie_naam="Intern", verwerkingsactiviteit_id=ACT, objecten=[persoon("bsn")])
    def intern(bsn: str) -> dict[str, str]:
        return {"bsn": bsn}

    @app.get("/extern/<bsn>")
    @verwerkingsactie(actie_naam="Extern", verwerkingsactiviteit_id=ACT, objecten=[persoon("bsn")])
    def extern(bsn: str) -> dict[str, str]:
        return {"bsn": bsn}

    client = app.test_client()
    client.get("/intern/999993653", headers={"OIN": OIN})
    client.get("/extern/999993653", headers={"OIN": OIN})
    assert "afnemerId" not in verwerkingen.assert_one(actie_naam="Intern")
    assert verwerkingen.assert_one(actie_naam="Extern")["afnemerId"] == OIN
