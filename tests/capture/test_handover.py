"""The body capture hands over to the processor is exactly the body the span maps to.

Capture prepares the POST body of an action it recorded (constant part once per decoration and
pipeline); the processor uses it only while the span's attributes are still exactly what
capture wrote, and otherwise maps the span's attributes as for any other span.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import verwerkingen_otel as vo
from verwerkingen_otel import attributes as A
from verwerkingen_otel.context import use_gebruiker
from verwerkingen_otel.testing import RecordedVerwerkingen

from .strategies import annotations, bsns, durations, identificators, names, oins, uuids
from .values import BSN_A


def _watch(verwerkingen: RecordedVerwerkingen, monkeypatch: pytest.MonkeyPatch) -> tuple[InMemorySpanExporter, list[bool]]:
    """The spans our processor saw (a second processor after ours) and, per span, whether it
    used a handed-over body."""
    pipeline: Any = verwerkingen.pipeline
    spans = getattr(pipeline, "_test_spans", None)
    if spans is None:
        spans = InMemorySpanExporter()
        pipeline.provider.add_span_processor(SimpleSpanProcessor(spans))
        pipeline._test_spans = spans
    spans.clear()
    used: list[bool] = []
    take = A._take_handover

    def spy(span: Any, attributes: Any) -> Any:
        body = take(span, attributes)
        used.append(body is not None)
        return body

    monkeypatch.setattr(A, "_take_handover", spy)
    return spans, used


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
    monkeypatch: pytest.MonkeyPatch,
    annotation: dict[str, Any],
    outer: dict[str, Any] | None,
    context: dict[str, Any] | None,
    caller: vo.Afnemer | None,
    gebruiker: str | None,
    persons: list[str],
    fail: bool,
) -> None:
    spans, used = _watch(verwerkingen, monkeypatch)
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
    plain = context is None and caller is None and gebruiker is None
    assert used == [plain] * len(bodies)  # capture hands the body over whenever its plan covers the action
    _assert_bodies_are_the_mapping(spans, bodies)


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def test_an_attribute_changed_on_the_span_after_capture_is_what_is_delivered(
    verwerkingen: RecordedVerwerkingen, monkeypatch: pytest.MonkeyPatch
) -> None:
    spans, used = _watch(verwerkingen, monkeypatch)
    with vo.verwerkingsactie(actie_naam="Raadplegen", handeling_naam="Opvragen") as actie:
        actie.add_object(BSN_A)
        actie.span.set_attribute(A.ACTIE_NAAM, "Wijzigen")  # app code, after capture set it
    with vo.verwerkingsactie(actie_naam="Raadplegen") as actie:
        actie.add_object(BSN_A)
        actie.span.set_attribute("app.note", "unrelated")
    with vo.verwerkingsactie(actie_naam="Raadplegen") as actie:
        actie.add_object(BSN_A)
        actie.span.set_attribute(A.ACTIE_NAAM, "Raadplegen")  # the same value: nothing changed
    bodies = verwerkingen.acties
    assert [b["actieNaam"] for b in bodies] == ["Wijzigen", "Raadplegen", "Raadplegen"]
    assert bodies[0]["handelingNaam"] == "Opvragen"
    assert used == [False, False, True]  # any change: the span's attributes are mapped instead
    _assert_bodies_are_the_mapping(spans, bodies)


def test_the_hand_over_is_used_once(verwerkingen: RecordedVerwerkingen, monkeypatch: pytest.MonkeyPatch) -> None:
    spans, used = _watch(verwerkingen, monkeypatch)
    with vo.verwerkingsactie(actie_naam="Raadplegen") as actie:
        actie.add_object(BSN_A)
    (span,) = spans.get_finished_spans()
    again = A.span_to_verwerkingsactie(span)  # after the processor: the span is mapped
    assert again is not None and again.to_api() == verwerkingen.acties[0]
    assert used == [True, False]
