"""The span attribute convention and the lossless span ⇄ Verwerkingsactie mapping."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from verwerkingen_otel import model as A
from verwerkingen_otel.model import Vertrouwelijkheid, VerwerktObject, VerwerktSoortGegeven, Verwerkingsactie

from tests.support.strategies import acties
from tests.support.values import ACTIVITEIT, BSN_A, ZAAK

_exporter = InMemorySpanExporter()
_provider = TracerProvider(
    span_limits=SpanLimits(max_span_attributes=SpanLimits.UNSET, max_span_attribute_length=SpanLimits.UNSET),
    shutdown_on_exit=False,
)
_provider.add_span_processor(SimpleSpanProcessor(_exporter))
_tracer = _provider.get_tracer("test")


def through_a_span(attributes: dict[str, object]) -> ReadableSpan:
    _exporter.clear()
    span = _tracer.start_span("actie", attributes=attributes)
    span.end()
    (finished,) = _exporter.get_finished_spans()
    return finished


def actie(**changes: object) -> Verwerkingsactie:
    base = Verwerkingsactie(
        vertrouwelijkheid=Vertrouwelijkheid.NORMAAL,
        tijdstip=dt.datetime(2024, 5, 1, 10, 0, 0, 1, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        verwerkte_objecten=(
            VerwerktObject("persoon", "BSN", BSN_A, "Aanvrager", (VerwerktSoortGegeven("Naam"),)),
        ),
        actie_naam="Raadplegen",
        verwerking_id=ZAAK,
        verwerkingsactiviteit_id=ACTIVITEIT,
    )
    return base.with_values(**changes)


def test_attribute_names_and_values() -> None:
    assert A.verwerkingsactie_attributes(actie()) == {
        "verwerkingen.vertrouwelijkheid": "normaal",
        "verwerkingen.tijdstip": "2024-05-01T10:00:00.000001+02:00",
        "verwerkingen.actie_naam": "Raadplegen",
        "verwerkingen.verwerking_id": ZAAK,
        "verwerkingen.verwerkingsactiviteit_id": ACTIVITEIT,
        "verwerkingen.verwerkte_objecten": '[{"objecttype":"persoon","soortObjectId":"BSN","objectId":"999993653",'
        '"betrokkenheid":"Aanvrager","verwerkteSoortenGegevens":[{"soortGegeven":"Naam"}]}]',
    }


def test_every_scalar_field_has_its_own_attribute() -> None:
    from dataclasses import fields

    mapped = {name for name, _ in A.SCALAR_ATTRIBUTES} | {"vertrouwelijkheid", "tijdstip", "verwerkte_objecten"}
    assert mapped == {f.name for f in fields(Verwerkingsactie)}
    assert all(key == "verwerkingen." + name for name, key in A.SCALAR_ATTRIBUTES)


@settings(max_examples=150)
@given(acties())
def test_round_trip_through_a_real_span(original: Verwerkingsactie) -> None:
    span = through_a_span(A.verwerkingsactie_attributes(original))
    again = A.span_to_verwerkingsactie(span)
    assert again == original
    assert again is not None and again.tijdstip.utcoffset() == original.tijdstip.utcoffset()
    assert again.to_api() == original.to_api()


def test_verwerkt_object_id_survives_the_mapping() -> None:
    original = actie(verwerkte_objecten=(VerwerktObject("persoon", "BSN", BSN_A, verwerkt_object_id=ZAAK),))
    assert A.span_to_verwerkingsactie(through_a_span(A.verwerkingsactie_attributes(original))) == original


def test_a_span_that_is_no_action_maps_to_none() -> None:
    assert A.span_to_verwerkingsactie(through_a_span({})) is None
    assert A.span_to_verwerkingsactie(through_a_span({"http.method": "GET"})) is None


def test_an_action_without_objects_maps_to_none() -> None:
    attributes = A.verwerkingsactie_attributes(actie(verwerkte_objecten=()))
    assert attributes[A.VERWERKTE_OBJECTEN] == "[]"
    assert A.span_to_verwerkingsactie(through_a_span(attributes)) is None
    del attributes[A.VERWERKTE_OBJECTEN]
    assert A.span_to_verwerkingsactie(through_a_span(attributes)) is None


def test_mapping_reads_a_plain_mapping_too() -> None:
    assert A.attributes_to_verwerkingsactie(A.verwerkingsactie_attributes(actie())) == actie()


def test_every_to_api_call_gives_a_fresh_body() -> None:
    mapped = A.span_to_verwerkingsactie(through_a_span(A.verwerkingsactie_attributes(actie())))
    assert mapped is not None
    first = mapped.to_api()
    first["verwerkteObjecten"].clear()
    first["actieNaam"] = "gewijzigd"
    second = mapped.to_api()
    assert second == actie().to_api() and second is not first


def test_foreign_spelling_of_tijdstip_and_vertrouwelijkheid_is_normalised() -> None:
    attributes = A.verwerkingsactie_attributes(actie())
    attributes[A.TIJDSTIP] = "2024-05-01T08:00:00Z"
    attributes[A.VERTROUWELIJKHEID] = "Vertrouwelijk"
    mapped = A.span_to_verwerkingsactie(through_a_span(attributes))
    assert mapped is not None
    body = mapped.to_api()
    assert (body["tijdstip"], body["vertrouwelijkheid"]) == ("2024-05-01T08:00:00.000000+00:00", "vertrouwelijk")
    assert body == mapped.with_values().to_api()
