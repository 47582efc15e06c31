"""The `verwerkingen` TextMapPropagator: entry point, inject inside an action, extract to the afnemer."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from opentelemetry import context as otel_context
from opentelemetry.propagators.textmap import DefaultGetter

from verwerkingen_otel.capture import verwerkingsactie
from verwerkingen_otel.capture import current_afnemer
from verwerkingen_otel.model import Afnemer
from verwerkingen_otel.web import VerwerkingenPropagator

ACT = "5f0bef4c-f66f-4311-84a5-19e8bf359eaf"
OIN = "00000001234567890000"


def test_registered_for_otel_propagators() -> None:
    code = (
        "from opentelemetry import propagate\n"
        "names = sorted(type(p).__name__ for p in propagate.get_global_textmap()._propagators)\n"
        "print(','.join(names))\n"
    )
    env = dict(os.environ, OTEL_PROPAGATORS="tracecontext,verwerkingen")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "TraceContextTextMapPropagator,VerwerkingenPropagator"


@pytest.mark.verwerkingen(oin=OIN)
def test_inject_inside_an_action_only(verwerkingen: Any) -> None:
    propagator = VerwerkingenPropagator()
    outside: dict[str, str] = {}
    propagator.inject(outside)
    assert outside == {}
    carrier: dict[str, str] = {}
    with verwerkingsactie(actie_naam="Uitgaand", verwerkingsactiviteit_id=ACT, vertrouwelijkheid="vertrouwelijk",
                          bewaartermijn="P10Y") as actie:
        actie.add_object("999993653")
        propagator.inject(carrier)
        verwerking_id = actie.verwerking_id
    assert carrier == {
        "OIN": OIN,
        "VerwerkingsactiviteitId": ACT,
        "VerwerkingId": verwerking_id,
        "Vertrouwelijkheid": "vertrouwelijk",
        "Bewaartermijn": "P10Y",
    }
    assert propagator.fields == {"OIN", "VerwerkingsactiviteitId", "VerwerkingsactiviteitUrl", "VerwerkingId",
                                 "Vertrouwelijkheid", "Bewaartermijn"}


def test_extract_puts_the_afnemer_in_the_context() -> None:
    ctx = VerwerkingenPropagator().extract({"oin": OIN, "bewaartermijn": "3", "verwerkingid": "nope"}, getter=DefaultGetter())
    assert current_afnemer() is None
    token = otel_context.attach(ctx)
    try:
        assert current_afnemer() == Afnemer(oin=OIN, bewaartermijn="P3Y")
    finally:
        otel_context.detach(token)
    assert VerwerkingenPropagator().extract({"accept": "*/*"}) == otel_context.get_current()


def test_app_traced_only_by_opentelemetry_flask_still_records_its_caller(verwerkingen: Any) -> None:
    from flask import Flask
    from opentelemetry import propagate
    from opentelemetry.instrumentation.flask import FlaskInstrumentor
    from opentelemetry.propagators.composite import CompositePropagator
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    from verwerkingen_otel.capture import persoon

    app = Flask("alleen_otel")

    @app.get("/personen/<bsn>")
    @verwerkingsactie(actie_naam="Via propagator", verwerkingsactiviteit_id=ACT, objecten=[persoon("bsn")])
    def raadplegen(bsn: str) -> dict[str, str]:
        return {"bsn": bsn}

    previous = propagate.get_global_textmap()
    propagate.set_global_textmap(CompositePropagator([TraceContextTextMapPropagator(), VerwerkingenPropagator()]))
    FlaskInstrumentor().instrument_app(app, tracer_provider=TracerProvider())
    try:
        response = app.test_client().get("/personen/999993653", headers={"OIN": OIN, "Bewaartermijn": "P2Y"})
    finally:
        FlaskInstrumentor().uninstrument_app(app)
        propagate.set_global_textmap(previous)
    assert response.status_code == 200
    actie = verwerkingen.assert_one(actie_naam="Via propagator")
    assert (actie["afnemerId"], actie["bewaartermijn"]) == (OIN, "P2Y")
