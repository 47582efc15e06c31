"""`@verwerkingsactie` above the route decorator records nothing: the framework registered the
undecorated function. The first request logs an ERROR naming each such route, and `register
coverage` does not count it as recorded; the right order (also under another decorator) is quiet."""

from __future__ import annotations

import functools
import logging
from typing import Any, Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from flask import Flask

import verwerkingen_otel as vo
from verwerkingen_otel.fastapi import instrument_app
from verwerkingen_otel.flask import Verwerkingen
from verwerkingen_otel.web import misplaced_decorators

ACTIVITEIT = "5f0bef4c-f66f-4311-84a5-19e8bf359eaf"
BSN = "999993653"


def actie(naam: str) -> vo.verwerkingsactie:
    return vo.verwerkingsactie(actie_naam=naam, verwerkingsactiviteit_id=ACTIVITEIT, objecten=[vo.persoon("bsn")])


def login_required(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)
    return wrapper


def message(route: str) -> str:
    return (f"route {route}: @verwerkingsactie sits above the route decorator, so the route runs the undecorated "
            "function and records no verwerkingsactie; put @verwerkingsactie(...) under @app.get(...) / @app.route(...)")


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "verwerkingen_otel.web" and r.levelno == logging.ERROR]


def test_flask_names_the_route_whose_decorator_is_above_it(verwerkingen: Any, caplog: pytest.LogCaptureFixture) -> None:
    app = Flask(__name__)
    Verwerkingen(app)

    @actie("Boven de route")
    @app.get("/boven/<bsn>")
    def boven(bsn: str) -> dict:
        return {"bsn": bsn}

    @app.get("/onder/<bsn>")
    @login_required
    @actie("Onder de route")
    def onder(bsn: str) -> dict:
        return {"bsn": bsn}

    client = app.test_client()
    assert client.get(f"/onder/{BSN}").status_code == 200
    assert client.get(f"/boven/{BSN}").status_code == 200
    assert [a["actieNaam"] for a in verwerkingen.acties] == ["Onder de route"]  # the mistake records nothing
    assert errors(caplog) == [message("GET /boven/{bsn}")]  # once, at the first request
    assert misplaced_decorators(app) == ["GET /boven/{bsn}"]


def test_fastapi_names_the_route_whose_decorator_is_above_it(verwerkingen: Any,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    api = FastAPI()
    instrument_app(api)

    @actie("Boven de route")
    @api.get("/boven/{bsn}")
    async def boven(bsn: str) -> dict:
        return {"bsn": bsn}

    @api.get("/onder/{bsn}")
    @actie("Onder de route")
    async def onder(bsn: str) -> dict:
        return {"bsn": bsn}

    with TestClient(api) as client:
        assert client.get(f"/onder/{BSN}").status_code == 200
        assert client.get(f"/boven/{BSN}").status_code == 200
    assert [a["actieNaam"] for a in verwerkingen.acties] == ["Onder de route"]
    assert errors(caplog) == [message("GET /boven/{bsn}")]


def test_the_right_order_is_quiet(verwerkingen: Any, caplog: pytest.LogCaptureFixture) -> None:
    app = Flask(__name__)
    Verwerkingen(app)

    @app.get("/personen/<bsn>")
    @actie("Raadplegen persoon")
    def raadplegen(bsn: str) -> dict:
        return {"bsn": bsn}

    assert app.test_client().get(f"/personen/{BSN}").status_code == 200
    verwerkingen.assert_one(actie_naam="Raadplegen persoon")
    assert errors(caplog) == [] and misplaced_decorators(app) == []
