"""examples/gunicorn: real gunicorn, --preload, 2 forked workers, the real log server."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.logserver import LogServer
from verwerkingen_otel.delivery import Outbox

from .conftest import SECRET, example_env, free_port, logged, readme_command, run_documented

BSNS = ["999993653", "999995017", "999990019"]


def command(api_url: str, outbox: Path, port: int) -> str:
    return readme_command("gunicorn", replace={
        "http://127.0.0.1:8000/api/v1": api_url, "dev-client": "app", "dev-secret": SECRET,
        "/var/tmp/personen-outbox.db": str(outbox), "127.0.0.1:8080": f"127.0.0.1:{port}"})


def test_gunicorn_example_two_forked_workers(service, logserver: LogServer, tmp_path: Path) -> None:
    outbox, port = tmp_path / "outbox.db", free_port()
    app = service(command(logserver.api_url, outbox, port), example_env(), port, shell=True)
    workers: set[int] = set()
    rounds = 0
    with httpx.Client(timeout=5.0) as web:
        while rounds < 10 or (len(workers) < 2 and rounds < 100):  # Connection: close spreads them
            for bsn in BSNS:
                response = web.get(f"{app.base}/personen/{bsn}", headers={"Connection": "close"})
                assert response.status_code == 200
                workers.add(response.json()["worker"])
            rounds += 1
    out, err = app.stop()
    assert app.proc.returncode == 0, err
    assert len(workers) == 2, err  # both forked workers recorded actions
    assert "Booting worker" in err and "verwerkingsacties still in the outbox" not in err

    # every action is in the log once gunicorn has stopped (worker_exit flushed), exactly once
    acties = logged(logserver.api_url, BSNS)
    assert len(acties) == 3 * rounds
    assert {a["actieNaam"] for a in acties} == {"Raadplegen persoon"}
    assert sorted(a["verwerkteObjecten"][0]["objectId"] for a in acties) == sorted(BSNS * rounds)
    assert len({a["verwerkingId"] for a in acties}) == 3 * rounds
    assert Outbox(outbox).pending() == 0


def test_gunicorn_example_stops_at_once_on_a_bad_setting(tmp_path: Path) -> None:
    done = run_documented(command("ftp://nowhere", tmp_path / "outbox.db", free_port()), example_env())
    assert done.returncode != 0
    assert "VERWERKINGEN_API_URL: must be an absolute http or https URL" in done.stderr
    assert "Booting worker" not in done.stderr  # --preload: it failed in the master, once
