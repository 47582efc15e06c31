"""examples/batch: the nightly job as documented, through the outbox into the real log server."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support.logserver import LogServer
from verwerkingen_otel.delivery import Outbox

from .conftest import SECRET, example_env, logged, readme_command, run_documented

BSNS = ["999993653", "999995017", "999990019", "999990032"]
ACTIVITEIT = "3e9d1f6b-2a47-4c8e-b5d0-8f1a6c2e7b94"


def run_job(api_url: str, outbox: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = readme_command("batch", replace={
        "http://127.0.0.1:8000/api/v1": api_url, "dev-client": "app", "dev-secret": SECRET,
        "/var/tmp/adrescontrole-outbox.db": str(outbox)})
    return run_documented(" ".join([command, *extra]), example_env())


def objects(body: dict) -> list[tuple[str, str, str | None]]:
    return [(o["soortObjectId"], o["objectId"], o.get("betrokkenheid")) for o in body["verwerkteObjecten"]]


def test_batch_job_as_documented(logserver: LogServer, tmp_path: Path) -> None:
    done = run_job(logserver.api_url, tmp_path / "outbox.db")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:3] == ["stap 1/3: inlezen", "stap 2/3: vergelijken met de BRP",
                                            "stap 3/3: brieven klaarzetten"]
    assert done.stdout.splitlines()[-1] == "alle verwerkingsacties staan in het verwerkingenlog"
    verwerking_id = done.stdout.splitlines()[3].rsplit(" ", 1)[1]

    acties = logged(logserver.api_url, BSNS)
    assert [a["actieNaam"] for a in acties] == [
        "Inlezen personenbestand", "Vergelijken adres met BRP", "Klaarzetten brief adresonderzoek"]
    for actie in acties:
        assert (actie["verwerkingId"], actie["verwerkingNaam"], actie["verwerkingsactiviteitId"],
                actie["vertrouwelijkheid"], actie["bewaartermijn"]) == (
            verwerking_id, "Nachtelijke adrescontrole", ACTIVITEIT, "normaal", "P1Y")
    inlezen, vergelijken, brieven = acties
    everyone = [("BSN", bsn, None) for bsn in BSNS] + [("ongeldig", "ingehouden", None)]
    assert objects(inlezen) == everyone
    assert objects(vergelijken) == everyone
    assert objects(brieven) == [("BSN", "999995017", "Geadresseerde"), ("BSN", "999990032", "Geadresseerde")]
    assert "123456789" not in done.stdout + done.stderr  # the invalid value is withheld everywhere
    assert "recorded with objectId withheld" in done.stderr
    assert Outbox(tmp_path / "outbox.db").pending() == 0


def test_batch_job_with_the_log_down_keeps_its_actions_for_the_next_run(logserver: LogServer, tmp_path: Path) -> None:
    outbox = tmp_path / "outbox.db"
    logserver.stop()
    down = run_job(logserver.api_url, outbox, "--wacht", "1")
    assert down.returncode == 1
    assert "ze blijven in de outbox en gaan mee met de volgende run" in down.stderr
    assert Outbox(outbox).pending() == 3

    logserver.start()
    again = run_job(logserver.api_url, outbox)
    assert again.returncode == 0, again.stderr
    acties = logged(logserver.api_url, BSNS)
    assert [a["actieNaam"] for a in acties] == [
        "Inlezen personenbestand", "Vergelijken adres met BRP", "Klaarzetten brief adresonderzoek"] * 2
    assert len({a["verwerkingId"] for a in acties}) == 2  # one verwerking per run
    assert Outbox(outbox).pending() == 0
