"""The action capture records and the span it makes for it say the same thing.

Capture builds each typed action itself and hands it to delivery; the span (made through the
public OpenTelemetry API) carries the same fields in the attribute convention, so a processor
someone adds to the verwerkingen provider, or the VerwerkingenlogExporter reading such spans,
sees exactly the recorded action: the span maps back to the very body that was delivered.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

import verwerkingen_otel as vo
from verwerkingen_otel import model as A
from verwerkingen_otel.capture import use_afnemer, use_gebruiker
from verwerkingen_otel.model import Afnemer, parse_verwerkingsactie
from verwerkingen_otel.testing import RecordedVerwerkingen

from tests.support.strategies import annotations, bsns, durations, identificators, names, oins, uuids
from tests.support.values import BSN_A, BSN_B

ACT = "5f0bef4c-f66f-4311-84a5-19e8bf359eaf"
OIN = "00000001234567890000"


def _watch(verwerkingen: RecordedVerwerkingen) -> InMemorySpanExporter:
    """The verwerkingen spans, through a processor added to the test pipeline's provider (once)."""
    pipeline: Any = verwerkingen.pipeline
    spans = pipeline.__dict__.get("_test_spans")
    if spans is None:
        spans = InMemorySpanExporter()
        pipeline.provider.add_span_processor(SimpleSpanProcessor(spans))
        pipeline.__dict__["_test_spans"] = spans
    spans.clear()
    return spans


def _assert_bodies_are_the_mapping(spans: InMemorySpanExporter, bodies: list[dict[str, Any]]) -> None:
    finished = spans.get_finished_spans()
    assert len(finished) == len(bodies)
    for span, body in zip(finished, bodies):
        mapped = A.span_to_verwerkingsactie(span)
        assert mapped is not None
        expected = mapped.to_api()
        assert list(body.items()) == list(expected.items())  # same keys, values and key order


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    annotation=annotations,
    outer=st.none() | st.fixed_dictionaries({}, optional={"verwerking_naam": names, "verwerking_id": uuids}),
    context=st.none() | st.fixed_dictionaries({}, optional={"verwerking_naam": names, "bewaartermijn": durations}),
    caller=st.none() | st.builds(vo.Afnemer, oin=st.none() | oins, verwerking_id=st.none() | uuids),
    gebruiker=st.none() | identificators,
    persons=st.lists(bsns, min_size=1, max_size=3),
    fail=st.booleans(),
)
def test_the_delivered_body_is_the_mapping_of_the_span(
    verwerkingen: RecordedVerwerkingen,
    annotation: dict[str, Any],
    outer: dict[str, Any] | None,
    context: dict[str, Any] | None,
    caller: vo.Afnemer | None,
    gebruiker: str | None,
    persons: list[str],
    fail: bool,
) -> None:
    spans = _watch(verwerkingen)
    verwerkingen.clear()

    @vo.verwerkingsactie(**annotation)
    def inner(bsns: list[str]) -> None:
        actie = vo.current_actie()
        assert actie is not None
        for bsn in bsns:
            actie.add_object(bsn)
        if fail:
            raise LookupError("not found")

    def run() -> None:
        if outer is None:
            with pytest.raises(LookupError) if fail else _nothing():
                inner(persons)
            return
        with vo.verwerkingsactie(**outer) as parent:  # a nested action: id and naam from the parent
            parent.add_object(BSN_A)
            with pytest.raises(LookupError) if fail else _nothing():
                inner(persons)

    with vo.use_afnemer(caller) if caller is not None else _nothing(), use_gebruiker(gebruiker):
        if context is None:
            run()
        else:
            with vo.verwerking(**context):
                run()
    bodies = verwerkingen.acties
    _assert_bodies_are_the_mapping(spans, bodies)


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def test_an_attribute_changed_on_the_span_afterwards_does_not_change_the_recorded_action(
    verwerkingen: RecordedVerwerkingen,
) -> None:
    """The record is what capture collected; the span is its mirror, not its source."""
    spans = _watch(verwerkingen)
    with vo.verwerkingsactie(actie_naam="Raadplegen", handeling_naam="Opvragen") as actie:
        actie.add_object(BSN_A)
        actie.span.set_attribute(A.ACTIE_NAAM, "Wijzigen")  # app code, after capture set it
    (body,) = verwerkingen.acties
    assert body["actieNaam"] == "Raadplegen" and body["handelingNaam"] == "Opvragen"
    (span,) = spans.get_finished_spans()
    assert span.attributes[A.ACTIE_NAAM] == "Wijzigen"


@vo.verwerkingsactie(
    actie_naam="Raadplegen",
    verwerkingsactiviteit_id=ACT,
    handeling_naam="Opvragen",
    objecten=[vo.persoon("bsn", betrokkenheid="Aanvrager", soorten_gegevens=["Naam", "Adres"])],
)
def raadplegen(bsn: str, fail: bool = False) -> str:
    if fail:
        raise KeyError("gone")
    return bsn


def _record(verwerkingen: RecordedVerwerkingen, fail: bool) -> tuple[Any, dict[str, Any]]:
    spans = InMemorySpanExporter()
    verwerkingen.pipeline.provider.add_span_processor(SimpleSpanProcessor(spans))
    with use_afnemer(Afnemer(oin=OIN, verwerking_id="0b1c6a2e-3b55-4c85-a1b8-5c1f4e0ad001")), use_gebruiker("u-1"):
        with vo.verwerking(verwerking_naam="Zaak"):
            if fail:
                with pytest.raises(KeyError):
                    raadplegen(BSN_A, fail=True)
            else:
                with vo.verwerkingsactie(actie_naam="Buiten") as actie:
                    actie.add_object(BSN_B, betrokkenheid="Getuige")
                    raadplegen(BSN_A)
    finished = spans.get_finished_spans()
    return finished, verwerkingen.acties


@pytest.mark.parametrize("fail", [False, True])
def test_the_span_carries_every_field_of_the_recorded_action_and_nothing_more(
    verwerkingen: RecordedVerwerkingen, fail: bool
) -> None:
    spans, bodies = _record(verwerkingen, fail)
    assert len(spans) == len(bodies) == (1 if fail else 2)
    for span, body in zip(spans, bodies):
        expected = A.verwerkingsactie_attributes(parse_verwerkingsactie(body))
        attributes = dict(span.attributes)
        if fail:
            assert attributes.pop(A.ERROR_TYPE) == "KeyError"
            assert span.status.status_code is StatusCode.ERROR
        else:
            assert span.status.status_code is StatusCode.OK
        assert attributes == expected  # every field on the span, nothing more, same text
        assert A.span_to_verwerkingsactie(span).to_api() == body  # the slow mapping agrees
    assert bodies[0]["afnemerId"] == OIN
    assert bodies[0]["gebruiker"] == "u-1"
    assert bodies[0]["verwerkingNaam"] == "Zaak"


