"""The span attribute convention and the lossless span ⇄ Verwerkingsactie mapping."""

from __future__ import annotations

import datetime as dt
from dataclasses import FrozenInstanceError, replace

import pytest
from hypothesis import given, settings
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from verwerkingen_otel import attributes as A
from verwerkingen_otel.model import Vertrouwelijkheid, VerwerktObject, VerwerktSoortGegeven, Verwerkingsactie

from .strategies import acties
from .values import ACTIVITEIT, BSN_A, ZAAK

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


def test_the_body_prepared_by_the_mapping_is_handed_out_once() -> None:
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


@settings(max_examples=150)
@given(acties())
def test_the_lazy_mapping_is_the_same_action(original: Verwerkingsactie) -> None:
    """The request path maps lazily (fields built on first read): nothing may tell it apart."""
    span = through_a_span(A.verwerkingsactie_attributes(original))
    body_first = A.span_to_verwerkingsactie(span, lazy=True)
    fields_first = A.span_to_verwerkingsactie(span, lazy=True)
    assert body_first is not None and fields_first is not None
    body = body_first.to_api()
    assert body == original.to_api()
    body["verwerkteObjecten"].clear()  # a consumer changing its body cannot change the action
    body["actieNaam"] = "gewijzigd"
    assert body_first == original and original == body_first
    assert hash(body_first) == hash(original)
    assert repr(body_first) == repr(A.span_to_verwerkingsactie(span))  # the eager mapping's repr
    assert fields_first.verwerkte_objecten == original.verwerkte_objecten
    assert fields_first.tijdstip == original.tijdstip and fields_first.tijdstip.utcoffset() == original.tijdstip.utcoffset()
    assert fields_first.to_api() == original.to_api()
    assert body_first.to_api() == original.to_api()  # handed out once, then computed
    assert fields_first.with_values(actie_naam="Ander") == replace(original, actie_naam="Ander")


def test_a_lazy_action_reads_like_an_eager_one_and_fails_like_one() -> None:
    lazy = A.attributes_to_verwerkingsactie(A.verwerkingsactie_attributes(actie()), lazy=True)
    assert lazy is not None
    assert lazy.actie_naam == actie().actie_naam and lazy.gebruiker is None
    with pytest.raises(AttributeError):
        lazy.geen_veld  # noqa: B018
    with pytest.raises(FrozenInstanceError):
        lazy.actie_naam = "x"  # type: ignore[misc]
    assert Verwerkingsactie(Vertrouwelijkheid.NORMAAL, actie().tijdstip).actie_naam is None  # defaults kept


def test_a_lazy_action_pickles_and_copies_as_its_fields() -> None:
    import copy
    import pickle

    for lazy in (True, False):
        mapped = A.attributes_to_verwerkingsactie(A.verwerkingsactie_attributes(actie()), lazy=lazy)
        assert mapped is not None
        again = pickle.loads(pickle.dumps(mapped))
        assert again == actie() and again.to_api() == actie().to_api()
        assert copy.copy(mapped) == actie() and copy.deepcopy(mapped) == actie()
        assert mapped.to_api() == actie().to_api()  # its own prepared body is still there for it


def test_a_lazy_action_read_from_several_threads_at_once_builds_one_answer() -> None:
    import threading

    for _ in range(50):
        lazy = A.attributes_to_verwerkingsactie(A.verwerkingsactie_attributes(actie()), lazy=True)
        assert lazy is not None
        seen: list[object] = []
        start = threading.Barrier(4)

        def read() -> None:
            start.wait()
            seen.append(lazy.verwerkte_objecten)  # type: ignore[union-attr]

        threads = [threading.Thread(target=read) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert seen == [actie().verwerkte_objecten] * 4
        assert lazy == actie()
