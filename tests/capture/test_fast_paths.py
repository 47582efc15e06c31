"""The request-path shortcuts give exactly what the public OpenTelemetry paths give.

Capture puts its already-validated attributes straight into the span's attribute dict, and
the processor builds the action from what capture prepared instead of re-reading the span.
Each shortcut is checked here against its slow twin, so no consumer of the span (another
processor, the VerwerkingenlogExporter) and no exporter can tell them apart.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

import verwerkingen_otel as vo
from verwerkingen_otel import attributes as A
from verwerkingen_otel import pipeline as pipelines
from verwerkingen_otel.context import Afnemer, use_afnemer, use_gebruiker
from verwerkingen_otel.model import parse_verwerkingsactie
from verwerkingen_otel.testing import RecordedVerwerkingen

from .values import BSN_A, BSN_B

ACT = "5f0bef4c-f66f-4311-84a5-19e8bf359eaf"
OIN = "00000001234567890000"


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
@pytest.mark.parametrize("direct", [True, False])
def test_span_attributes_and_bodies_are_the_same_on_both_paths(
    verwerkingen: RecordedVerwerkingen, monkeypatch: pytest.MonkeyPatch, direct: bool, fail: bool
) -> None:
    monkeypatch.setattr(pipelines, "_FILL_DIRECTLY", direct)
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


def test_attributes_go_through_the_sdk_when_the_span_is_not_the_expected_shape() -> None:
    class Recorder:
        def __init__(self) -> None:
            self.given: dict[str, Any] = {}

        def set_attributes(self, attributes: dict[str, Any]) -> None:
            self.given.update(attributes)

    span = Recorder()
    pipelines.set_trusted_attributes(span, {A.ACTIE_NAAM: "x"})
    assert span.given == {A.ACTIE_NAAM: "x"}


def test_the_sampler_shares_one_answer_only_for_a_bare_root() -> None:
    from opentelemetry import trace
    from opentelemetry.context import Context
    from opentelemetry.sdk.trace.sampling import ALWAYS_ON, Decision
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState

    sampler = pipelines._AlwaysSample()
    root = sampler.should_sample(Context(), 1, "x")
    assert root is sampler.should_sample(Context(), 2, "y")
    assert root.decision is Decision.RECORD_AND_SAMPLE and not root.attributes and root.trace_state is None
    state = TraceState([("caller", "1")])
    parent = SpanContext(0x1234, 0x5678, is_remote=True, trace_flags=TraceFlags(1), trace_state=state)
    context = trace.set_span_in_context(NonRecordingSpan(parent), Context())
    child = sampler.should_sample(context, 0x1234, "x")
    assert child.decision is Decision.RECORD_AND_SAMPLE and child.trace_state == state
    with_attributes = sampler.should_sample(Context(), 1, "x", attributes={"a": "b"})
    assert dict(with_attributes.attributes) == {"a": "b"}
    assert sampler.get_description() == ALWAYS_ON.get_description()


_NAMES = st.text(min_size=1, max_size=20).filter(lambda s: s.strip() == s and s != "")


@settings(max_examples=150, deadline=None)
@given(
    betrokkenheid=st.none() | _NAMES,
    soorten=st.lists(_NAMES, max_size=3, unique=True),
    bsns=st.lists(st.sampled_from([BSN_A, BSN_B, "999990019"]), min_size=1, max_size=3),
)
def test_objects_rebuilt_from_their_template_equal_the_parsed_json(
    betrokkenheid: str | None, soorten: list[str], bsns: list[str]
) -> None:
    """The processor rebuilds a one-person action's object from its template: same as parsing."""
    try:
        spec = vo.persoon("bsn", betrokkenheid=betrokkenheid, soorten_gegevens=soorten)
    except vo.ConfigurationError:
        return  # a name the model refuses never becomes a template
    template = spec.template  # type: ignore[attr-defined]
    parts = [template.render(b, "persoon('bsn')", "test", True) for b in bsns]
    text = A.objects_json(parts)
    rebuilt = A._load_objects(text)
    assert rebuilt == json.loads(text)
    assert [list(o) for o in rebuilt] == [list(o) for o in json.loads(text)]  # same key order
    if len(parts) == 1:
        assert (text[1:text.find('"objectId":"') + 12], text[text.find('"objectId":"') + 21:-1]) in A._BSN_FORMS
    assert A._load_objects(text) is not rebuilt and rebuilt[0] is not A._load_objects(text)[0]  # fresh dicts


def test_objects_that_only_look_like_a_template_are_parsed() -> None:
    spec = vo.persoon("bsn", betrokkenheid="Aanvrager", soorten_gegevens=["Naam"])
    template = spec.template  # type: ignore[attr-defined]
    one = template.render(BSN_A, "persoon('bsn')", "test", True)
    for text in (
        "[" + one.replace(BSN_A, "99999365\\u0033") + "]",  # nine characters, not nine digits
        "[" + one.replace(BSN_A, "１２３４５６７８９") + "]",  # digits, not ASCII
        A.objects_json([one, template.render(BSN_B, "persoon('bsn')", "test", True)]),
        "[" + one[:-1] + ',"verwerktObjectId":"x"}]',
    ):
        assert A._load_objects(text) == json.loads(text)


def test_record_of_is_an_ordinary_frozen_record(verwerkingen: RecordedVerwerkingen) -> None:
    import dataclasses

    from verwerkingen_otel.delivery_base import Record

    raadplegen(BSN_A)
    actie = parse_verwerkingsactie(verwerkingen.acties[0])
    record = Record.of(actie)
    assert type(record) is Record
    assert record == Record(id=record.id, body=actie.to_api())
    assert record != Record(id=record.id + "x", body=record.body)
    assert record.body == verwerkingen.acties[0] and len(record.id) == 36 and record.id[14] == "4"
    assert Record.of(actie).id != record.id
    assert repr(record) == f"Record(id={record.id!r})"  # the body (BSNs) stays out of the repr
    assert dataclasses.asdict(record) == {"id": record.id, "body": record.body}
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.id = "x"  # type: ignore[misc]
