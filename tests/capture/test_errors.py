"""Failure paths: raising code, bad annotations, bad run-time data, a delivery that fails, privacy."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

import verwerkingen_otel as vo
from verwerkingen_otel.delivery import Record, RetryableFailure
from verwerkingen_otel.delivery import register_exporter
from verwerkingen_otel.testing import RecordedVerwerkingen

from tests.support.values import ACTIVITEIT, BSN_A, BSN_B

NOT_A_BSN = "999993654"  # fails the 11-test: might be a mistyped real BSN, so never shown


class Geweigerd(Exception):
    pass


def spans_of(verwerkingen: RecordedVerwerkingen) -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    verwerkingen.pipeline.provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


# --- the wrapped code raises -------------------------------------------------------------------


def test_raising_call_is_recorded_and_the_exception_propagates_unchanged(
    verwerkingen: RecordedVerwerkingen,
) -> None:
    spans = spans_of(verwerkingen)
    error = Geweigerd(f"geen toegang tot {BSN_A}")

    @vo.verwerkingsactie(actie_naam="Weigeren", objecten=[vo.persoon("bsn")])
    def weigeren(bsn: str) -> None:
        raise error

    with pytest.raises(Geweigerd) as info:
        weigeren(BSN_A)
    assert info.value is error
    assert info.value.__cause__ is None and info.value.__context__ is None
    body = verwerkingen.assert_one(actie_naam="Weigeren")
    assert body["verwerkteObjecten"][0]["objectId"] == BSN_A
    (span,) = spans.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description is None
    assert span.attributes["error.type"] == f"{__name__}.Geweigerd"
    assert span.events == ()  # no exception event: it would carry the message
    assert "geen toegang" not in str(dict(span.attributes))


async def test_raising_async_call_is_recorded(verwerkingen: RecordedVerwerkingen) -> None:
    spans = spans_of(verwerkingen)

    @vo.verwerkingsactie(actie_naam="Async fout", objecten=[vo.persoon("bsn")])
    async def fout(bsn: str) -> None:
        raise KeyError("x")

    with pytest.raises(KeyError):
        await fout(BSN_A)
    verwerkingen.assert_one(actie_naam="Async fout")
    assert spans.get_finished_spans()[0].attributes["error.type"] == "KeyError"


def test_raising_with_block_is_recorded(verwerkingen: RecordedVerwerkingen) -> None:
    with pytest.raises(ValueError, match="kapot"):
        with vo.verwerkingsactie(actie_naam="Blok") as actie:
            actie.add_object(BSN_A)
            raise ValueError("kapot")
    verwerkingen.assert_one(actie_naam="Blok")
    assert vo.current_actie() is None


def test_successful_call_has_ok_status(verwerkingen: RecordedVerwerkingen) -> None:
    spans = spans_of(verwerkingen)
    with vo.verwerkingsactie(actie_naam="Goed") as actie:
        actie.add_object(BSN_A)
    (span,) = spans.get_finished_spans()
    assert span.status.status_code is StatusCode.OK
    assert "error.type" not in span.attributes


def test_result_objects_are_absent_when_the_call_raised(verwerkingen: RecordedVerwerkingen) -> None:
    @vo.verwerkingsactie(
        actie_naam="Zoeken", objecten=[vo.persoon("bsn"), vo.personen_uit_resultaat(lambda r: r)]
    )
    def zoeken(bsn: str) -> list[str]:
        raise RuntimeError("database weg")

    with pytest.raises(RuntimeError):
        zoeken(BSN_A)
    assert [o["objectId"] for o in verwerkingen.objecten()] == [BSN_A]


# --- bad annotations fail at decoration time ---------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "value", "reason"),
    [
        ("verwerking_id", "zaak-12", "must be a UUID"),
        ("verwerkingsactiviteit_id", "activiteit", "must be a UUID"),
        ("verwerkingsactiviteit_url", "activiteiten/1", "must be an absolute URI"),
        ("vertrouwelijkheid", "geheim", "must be one of normaal, vertrouwelijk, opgeheven"),
        ("vertrouwelijkheid", "OPGEHEVEN", "a new action is never created opgeheven; use normaal or vertrouwelijk"),
        ("bewaartermijn", "10", "must be an ISO 8601 duration such as P10Y"),
        ("bewaartermijn", 10, "must be a string"),
        ("actie_naam", "x" * 243, "must be at most 242 characters"),
        ("handeling_naam", "x" * 243, "must be at most 242 characters"),
        ("verwerking_naam", "x" * 243, "must be at most 242 characters"),
    ],
)
def test_bad_annotation_names_the_setting(setting: str, value: Any, reason: str) -> None:
    with pytest.raises(vo.ConfigurationError) as info:
        vo.verwerkingsactie(**{setting: value})
    assert (info.value.setting, info.value.reason) == (setting, reason)
    assert str(info.value) == f"{setting}: {reason}"


def test_annotation_values_are_normalised(verwerkingen: RecordedVerwerkingen) -> None:
    annotation = vo.verwerkingsactie(verwerkingsactiviteit_id=ACTIVITEIT.upper(), vertrouwelijkheid="Normaal")
    with annotation as actie:
        assert actie.verwerkingsactiviteit_id == ACTIVITEIT
        assert actie.vertrouwelijkheid is vo.Vertrouwelijkheid.NORMAAL


def test_persoon_naming_no_argument_fails_at_decoration() -> None:
    annotation = vo.verwerkingsactie(actie_naam="x", objecten=[vo.persoon("bsn")])
    with pytest.raises(vo.ConfigurationError, match=r"^objecten: persoon\('bsn'\) names no argument"):

        @annotation
        def f(burgerservicenummer: str) -> None:
            pass


@pytest.mark.parametrize(
    ("make", "setting"),
    [
        (lambda: vo.persoon(), "objecten"),
        (lambda: vo.persoon("bsn", from_args=lambda bsn: bsn), "objecten"),
        (lambda: vo.persoon("not an identifier"), "objecten"),
        (lambda: vo.persoon(from_args="bsn"), "objecten"),
        (lambda: vo.persoon("bsn", betrokkenheid="x" * 243), "persoon.betrokkenheid"),
        (lambda: vo.persoon("bsn", soorten_gegevens="Naam"), "persoon.soorten_gegevens"),
        (lambda: vo.persoon("bsn", soorten_gegevens=["x" * 243]), "persoon.soorten_gegevens"),
        (lambda: vo.persoon("bsn", soort_object_id=""), None),
        (lambda: vo.personen_uit_resultaat("hits"), "objecten"),
        (lambda: vo.personen_uit_resultaat(list, betrokkenheid=5), "personen_uit_resultaat.betrokkenheid"),
        (lambda: vo.verwerkingsactie(objecten=vo.persoon("bsn")), "objecten"),
        (lambda: vo.verwerkingsactie(objecten=["bsn"]), "objecten"),
    ],
)
def test_bad_object_specs_fail_when_made(make: Any, setting: str | None) -> None:
    if setting is None:
        make()  # an empty soort is a valid (if useless) text
        return
    with pytest.raises(vo.ConfigurationError) as info:
        make()
    assert info.value.setting == setting


def test_argument_spec_in_a_with_block_is_refused() -> None:
    with pytest.raises(vo.ConfigurationError, match="^objecten: persoon\\('bsn'\\) reads the decorated call"):
        with vo.verwerkingsactie(objecten=[vo.persoon("bsn")]):
            pass


# --- bad data at run time ----------------------------------------------------------------------


@vo.verwerkingsactie(actie_naam="Raadplegen", objecten=[vo.persoon("bsn", betrokkenheid="Aanvrager",
                                                                     soorten_gegevens=["Naam"])])
def raadplegen(bsn: Any) -> str:
    return "gedaan"


@pytest.mark.parametrize("bad", [NOT_A_BSN, "12345", 1_000_000_000, "", 12.5, b"999993653"])
def test_strict_raises_before_the_call_and_records_nothing(verwerkingen: RecordedVerwerkingen, bad: Any) -> None:
    called: list[bool] = []

    @vo.verwerkingsactie(actie_naam="Streng", objecten=[vo.persoon("bsn")])
    def streng(bsn: Any) -> None:
        called.append(True)

    with pytest.raises(vo.ValidationError) as info:
        streng(bad)
    assert info.value.errors[0].name == "persoon('bsn')"
    assert not bad or str(bad) not in str(info.value)
    assert called == []
    verwerkingen.assert_none()


@pytest.mark.verwerkingen(strict=False)
def test_lenient_records_a_placeholder_warns_and_counts(
    verwerkingen: RecordedVerwerkingen, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    assert raadplegen(NOT_A_BSN) == "gedaan"
    body = verwerkingen.assert_one(actie_naam="Raadplegen")
    assert body["verwerkteObjecten"] == [
        {
            "objecttype": "persoon",
            "soortObjectId": "ongeldig",
            "objectId": "ingehouden",
            "betrokkenheid": "Aanvrager",
            "verwerkteSoortenGegevens": [{"soortGegeven": "Naam"}],
        }
    ]
    assert verwerkingen.pipeline.counters["invalid_objects"] == 1
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.getMessage() == (
        "verwerkingsactie 'Raadplegen': persoon('bsn') is not valid (must pass the BSN 11-test); "
        "recorded with objectId withheld"
    )
    assert NOT_A_BSN not in caplog.text


@pytest.mark.verwerkingen(strict=False)
def test_lenient_keeps_valid_objects_next_to_the_placeholder(verwerkingen: RecordedVerwerkingen) -> None:
    @vo.verwerkingsactie(actie_naam="Twee", objecten=[vo.persoon("a"), vo.persoon("b")])
    def twee(a: str, b: str) -> None:
        pass

    twee(BSN_A, "onzin")
    assert [o["soortObjectId"] for o in verwerkingen.objecten()] == ["BSN", "ongeldig"]


@pytest.mark.verwerkingen(strict=False)
def test_lenient_callable_that_raises(verwerkingen: RecordedVerwerkingen, caplog: pytest.LogCaptureFixture) -> None:
    @vo.verwerkingsactie(actie_naam="Lambda", objecten=[vo.persoon(from_args=lambda d: d["bsn"])])
    def f(d: dict[str, str]) -> str:
        return "ok"

    assert f({}) == "ok"
    assert verwerkingen.objecten()[0]["objectId"] == "ingehouden"
    assert "it raised KeyError" in caplog.text


def test_strict_callable_that_raises_propagates_its_error(verwerkingen: RecordedVerwerkingen) -> None:
    @vo.verwerkingsactie(actie_naam="Lambda", objecten=[vo.persoon(from_args=lambda d: d["bsn"])])
    def f(d: dict[str, str]) -> str:
        return "ok"

    with pytest.raises(KeyError):
        f({})


def test_strict_bad_search_hit_raises_after_the_call_but_records_the_valid_part(
    verwerkingen: RecordedVerwerkingen,
) -> None:
    @vo.verwerkingsactie(
        actie_naam="Zoeken", objecten=[vo.persoon("bsn"), vo.personen_uit_resultaat(lambda r: r)]
    )
    def zoeken(bsn: str) -> list[str]:
        return [BSN_B, NOT_A_BSN]

    with pytest.raises(vo.ValidationError) as info:
        zoeken(BSN_A)
    assert info.value.errors[0].name == "personen_uit_resultaat(<lambda>)[1]"
    body = verwerkingen.assert_one(actie_naam="Zoeken")  # the person from the argument was processed
    assert [o["objectId"] for o in body["verwerkteObjecten"]] == [BSN_A, BSN_B]


@pytest.mark.verwerkingen(strict=False)
def test_lenient_bad_search_hits(verwerkingen: RecordedVerwerkingen, caplog: pytest.LogCaptureFixture) -> None:
    @vo.verwerkingsactie(
        actie_naam="Zoeken",
        objecten=[vo.personen_uit_resultaat(lambda r: r, betrokkenheid="Getoond in zoekresultaat")],
    )
    def zoeken() -> list[Any]:
        return [BSN_B, NOT_A_BSN, (BSN_A, "x" * 243)]

    zoeken()
    assert verwerkingen.objecten() == [
        {"objecttype": "persoon", "soortObjectId": "BSN", "objectId": BSN_B,
         "betrokkenheid": "Getoond in zoekresultaat"},
        {"objecttype": "persoon", "soortObjectId": "ongeldig", "objectId": "ingehouden",
         "betrokkenheid": "Getoond in zoekresultaat"},
        {"objecttype": "persoon", "soortObjectId": "BSN", "objectId": BSN_A,
         "betrokkenheid": "Getoond in zoekresultaat"},
    ]
    assert verwerkingen.pipeline.counters["invalid_objects"] == 2
    assert NOT_A_BSN not in caplog.text


@pytest.mark.verwerkingen(strict=False)
def test_lenient_add_object(verwerkingen: RecordedVerwerkingen, caplog: pytest.LogCaptureFixture) -> None:
    with vo.verwerkingsactie(actie_naam="Handmatig") as actie:
        actie.add_object(NOT_A_BSN, betrokkenheid="Getuige", soorten_gegevens=["Naam"])
        actie.add_object(BSN_A, objecttype="auto")
    assert verwerkingen.objecten() == [
        {"objecttype": "persoon", "soortObjectId": "ongeldig", "objectId": "ingehouden",
         "betrokkenheid": "Getuige", "verwerkteSoortenGegevens": [{"soortGegeven": "Naam"}]},
        {"objecttype": "persoon", "soortObjectId": "ongeldig", "objectId": "ingehouden"},
    ]
    assert "add_object.objectId is not valid (must pass the BSN 11-test)" in caplog.text
    assert "add_object.objecttype is not valid (must be persoon)" in caplog.text


def test_strict_add_object(verwerkingen: RecordedVerwerkingen) -> None:
    with pytest.raises(vo.ValidationError, match=r"^add_object\.objectId: must pass the BSN 11-test$"):
        with vo.verwerkingsactie(actie_naam="Handmatig") as actie:
            actie.add_object(NOT_A_BSN)


# --- the action cannot be recorded --------------------------------------------------------------


class Weigerend:
    """An exporter that cannot deliver, as a disk that is full would."""

    name = "weigerend"

    def __init__(self) -> None:
        self.shut = False

    def export(self, record: Record) -> None:
        raise RetryableFailure(f"disk full while writing {record.body}")

    def shutdown(self) -> None:
        self.shut = True


@pytest.fixture
def failing_pipeline() -> Any:
    register_exporter("weigerend", lambda settings: Weigerend())
    return vo.configure(delivery="sync", exporters=["memory", "weigerend"])


def test_recording_error_fails_the_call_after_it_ran(failing_pipeline: Any, caplog: pytest.LogCaptureFixture) -> None:
    ran: list[str] = []

    @vo.verwerkingsactie(actie_naam="Vastleggen", objecten=[vo.persoon("bsn")])
    def vastleggen(bsn: str) -> str:
        ran.append(bsn)
        return "klaar"

    with pytest.raises(vo.RecordingError) as info:
        vastleggen(BSN_A)
    assert ran == [BSN_A]
    assert str(info.value) == "exporter 'weigerend' could not record the action (RetryableFailure)"
    assert isinstance(info.value.__cause__, RetryableFailure)
    assert BSN_A not in str(info.value) and BSN_A not in caplog.text
    assert failing_pipeline.counters["recording_failures"] == 1


def test_recording_error_wins_over_the_call_s_own_error_and_chains_it(failing_pipeline: Any) -> None:
    @vo.verwerkingsactie(actie_naam="Dubbel fout", objecten=[vo.persoon("bsn")])
    def fout(bsn: str) -> None:
        raise Geweigerd("nee")

    with pytest.raises(vo.RecordingError) as info:
        fout(BSN_A)
    chain = []
    error: BaseException | None = info.value
    while error is not None:
        chain.append(type(error))
        error = error.__cause__ or error.__context__
    assert chain == [vo.RecordingError, RetryableFailure, Geweigerd]


async def test_recording_error_in_async_code(failing_pipeline: Any) -> None:
    @vo.verwerkingsactie(actie_naam="Async", objecten=[vo.persoon("bsn")])
    async def f(bsn: str) -> None:
        pass

    with pytest.raises(vo.RecordingError):
        await f(BSN_A)


def test_recording_error_leaves_the_context_clean(failing_pipeline: Any) -> None:
    with pytest.raises(vo.RecordingError):
        with vo.verwerkingsactie(actie_naam="Blok") as actie:
            actie.add_object(BSN_A)
    assert vo.current_actie() is None


def test_recording_after_shutdown_fails_closed() -> None:
    pipeline = vo.configure(delivery="sync", exporters=["memory"])
    assert vo.shutdown(1.0) is True
    with pytest.raises(vo.RecordingError, match="shut down"):
        with vo.verwerkingsactie(actie_naam="Te laat") as actie:
            actie.add_object(BSN_A)
    assert pipeline.exporter("memory").records == []  # type: ignore[union-attr]


# --- privacy -----------------------------------------------------------------------------------


@pytest.mark.verwerkingen(strict=False)
def test_no_bsn_in_any_log_record(verwerkingen: RecordedVerwerkingen, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    @vo.verwerkingsactie(actie_naam="Alles", objecten=[vo.persoon("bsn"), vo.personen_uit_resultaat(lambda r: r)])
    def alles(bsn: Any) -> list[Any]:
        vo.current_actie().add_object(NOT_A_BSN)  # type: ignore[union-attr]
        return [BSN_B, "99999365"]

    for value in (BSN_A, NOT_A_BSN, 999993654, "9999936530"):
        alles(value)
    assert len(verwerkingen.acties) == 4
    assert caplog.records, "the invalid values must have been warned about"
    for text in ("99999365", "999995017", "999993654"):
        assert text not in caplog.text
        for record in caplog.records:
            assert text not in record.getMessage() and text not in str(record.args)
