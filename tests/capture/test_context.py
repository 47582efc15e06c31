"""Context: verwerking(...), nesting, precedence, afnemer and gebruiker, threads and tasks."""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import threading
import uuid
from typing import Any

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import verwerkingen_otel as vo
from verwerkingen_otel.testing import RecordedVerwerkingen

from tests.support.values import ACTIVITEIT, BSN_A, BSN_B, BSN_C, OIN_AFNEMER, ZAAK

AFNEMER_ACTIVITEIT = "7e1d2f3a-0000-4000-8000-000000000001"
AFNEMER_VERWERKING = "7e1d2f3a-0000-4000-8000-000000000002"


def actie(naam: str = "Actie", **kwargs: Any) -> vo.verwerkingsactie:
    return vo.verwerkingsactie(actie_naam=naam, **kwargs)


def record(naam: str = "Actie", bsn: str = BSN_A, **kwargs: Any) -> vo.Actie:
    with actie(naam, **kwargs) as a:
        a.add_object(bsn)
    return a


# --- nesting ---------------------------------------------------------------------------------


def test_nested_actions_share_one_new_verwerking_id(verwerkingen: RecordedVerwerkingen) -> None:
    spans = InMemorySpanExporter()
    verwerkingen.pipeline.provider.add_span_processor(SimpleSpanProcessor(spans))

    @vo.verwerkingsactie(actie_naam="Binnen", objecten=[vo.persoon("bsn")])
    def binnen(bsn: str) -> None:
        pass

    @vo.verwerkingsactie(actie_naam="Buiten", objecten=[vo.persoon("bsn")])
    def buiten(bsn: str) -> None:
        binnen(BSN_B)
        binnen(BSN_C)

    buiten(BSN_A)
    buiten(BSN_A)
    names = [b["actieNaam"] for b in verwerkingen.acties]
    assert names == ["Binnen", "Binnen", "Buiten"] * 2  # inner ones end (and are recorded) first
    first, second = verwerkingen.acties[:3], verwerkingen.acties[3:]
    assert len({b["verwerkingId"] for b in first}) == 1
    assert len({b["verwerkingId"] for b in second}) == 1
    assert first[0]["verwerkingId"] != second[0]["verwerkingId"]
    inner, _, outer = spans.get_finished_spans()[:3]
    assert inner.parent is not None and inner.parent.span_id == outer.context.span_id
    assert inner.context.trace_id == outer.context.trace_id
    assert outer.parent is None


def test_nested_action_inherits_verwerking_naam_not_other_annotation_values(
    verwerkingen: RecordedVerwerkingen,
) -> None:
    with actie("Buiten", verwerking_naam="Huwelijk", vertrouwelijkheid="vertrouwelijk", bewaartermijn="P5Y") as a:
        a.add_object(BSN_A)
        record("Binnen", BSN_B)
    binnen = verwerkingen.assert_one(actie_naam="Binnen")
    assert binnen["verwerkingNaam"] == "Huwelijk"
    assert binnen["vertrouwelijkheid"] == "normaal"  # only argument, context and header count
    assert "bewaartermijn" not in binnen


# --- verwerking(...) ---------------------------------------------------------------------------


def test_verwerking_context_gives_defaults(verwerkingen: RecordedVerwerkingen) -> None:
    with vo.verwerking(verwerking_id=ZAAK, verwerking_naam="Huwelijk", vertrouwelijkheid="Vertrouwelijk",
                       bewaartermijn="P20Y") as v:
        assert v.verwerking_id == ZAAK and vo.current_verwerking() is v
        record("Aanvraag")
        record("Toets", BSN_B)
    assert vo.current_verwerking() is None
    for body in verwerkingen.acties:
        assert (body["verwerkingId"], body["verwerkingNaam"], body["vertrouwelijkheid"], body["bewaartermijn"]) == (
            ZAAK,
            "Huwelijk",
            "vertrouwelijk",
            "P20Y",
        )


def test_verwerking_without_id_gets_one_shared_uuid4(verwerkingen: RecordedVerwerkingen) -> None:
    with vo.verwerking(verwerking_naam="Verhuizing") as v:
        record("Een")
        record("Twee")
    assert uuid.UUID(v.verwerking_id).version == 4
    assert {b["verwerkingId"] for b in verwerkingen.acties} == {v.verwerking_id}


def test_annotation_beats_verwerking_context(verwerkingen: RecordedVerwerkingen) -> None:
    eigen = str(uuid.uuid4())
    with vo.verwerking(verwerking_id=ZAAK, verwerking_naam="Huwelijk", bewaartermijn="P20Y"):
        record("Eigen", verwerking_id=eigen, verwerking_naam="Apart", bewaartermijn="P1Y")
    body = verwerkingen.assert_one(actie_naam="Eigen")
    assert (body["verwerkingId"], body["verwerkingNaam"], body["bewaartermijn"]) == (eigen, "Apart", "P1Y")


def test_nested_verwerking_inner_wins_but_confidentiality_stays(verwerkingen: RecordedVerwerkingen) -> None:
    with vo.verwerking(verwerking_id=ZAAK, verwerking_naam="Buiten", vertrouwelijkheid="vertrouwelijk",
                       bewaartermijn="P20Y"):
        with vo.verwerking(verwerking_naam="Binnen", vertrouwelijkheid="normaal"):
            record("X")
        record("Y")
    x = verwerkingen.assert_one(actie_naam="X")
    assert (x["verwerkingId"], x["verwerkingNaam"], x["vertrouwelijkheid"], x["bewaartermijn"]) == (
        ZAAK,
        "Binnen",
        "vertrouwelijk",
        "P20Y",
    )
    assert verwerkingen.assert_one(actie_naam="Y")["verwerkingNaam"] == "Buiten"


async def test_verwerking_async_with(verwerkingen: RecordedVerwerkingen) -> None:
    async with vo.verwerking(verwerking_id=ZAAK):
        record()
    assert verwerkingen.acties[0]["verwerkingId"] == ZAAK


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("verwerking_id", "zaak-12"),
        ("vertrouwelijkheid", "geheim"),
        ("vertrouwelijkheid", "opgeheven"),
        ("bewaartermijn", "20"),
        ("verwerking_naam", "x" * 243),
    ],
)
def test_verwerking_bad_arguments_name_the_setting(setting: str, value: str) -> None:
    with pytest.raises(vo.ConfigurationError) as info:
        vo.verwerking(**{setting: value})
    assert info.value.setting == setting
    assert str(info.value).startswith(f"{setting}: ")


# --- precedence ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argument", "context", "header", "expected"),
    [
        (None, None, None, "normaal"),
        ("normaal", None, None, "normaal"),
        ("vertrouwelijk", None, None, "vertrouwelijk"),
        (None, "vertrouwelijk", None, "vertrouwelijk"),
        (None, None, "vertrouwelijk", "vertrouwelijk"),
        ("normaal", "vertrouwelijk", None, "vertrouwelijk"),
        ("normaal", None, "vertrouwelijk", "vertrouwelijk"),
        ("vertrouwelijk", "normaal", "normaal", "vertrouwelijk"),
        (None, "normaal", "opgeheven", "normaal"),
        (None, None, "opgeheven", "normaal"),
        ("vertrouwelijk", None, "opgeheven", "vertrouwelijk"),
    ],
)
def test_vertrouwelijkheid_is_the_most_confidential_source(
    verwerkingen: RecordedVerwerkingen, argument: str | None, context: str | None, header: str | None,
    expected: str,
) -> None:
    afnemer = vo.Afnemer(vertrouwelijkheid=vo.Vertrouwelijkheid(header)) if header else None
    with vo.use_afnemer(afnemer), vo.verwerking(vertrouwelijkheid=context):
        a = record(vertrouwelijkheid=argument)
    assert a.vertrouwelijkheid.value == expected
    assert verwerkingen.acties[0]["vertrouwelijkheid"] == expected


@pytest.mark.verwerkingen(bewaartermijn="P99Y")
@pytest.mark.parametrize(
    ("argument", "context", "header", "expected"),
    [
        ("P1Y", "P2Y", "P3Y", "P1Y"),
        (None, "P2Y", "P3Y", "P2Y"),
        (None, None, "P3Y", "P3Y"),
        (None, None, None, "P99Y"),
    ],
)
def test_bewaartermijn_first_set_of_argument_context_header_setting(
    verwerkingen: RecordedVerwerkingen, argument: str | None, context: str | None, header: str | None,
    expected: str,
) -> None:
    with vo.use_afnemer(vo.Afnemer(bewaartermijn=header)), vo.verwerking(bewaartermijn=context):
        a = record(bewaartermijn=argument)
    assert a.bewaartermijn == expected
    assert verwerkingen.acties[0]["bewaartermijn"] == expected


def test_no_bewaartermijn_anywhere_leaves_it_out(verwerkingen: RecordedVerwerkingen) -> None:
    record()
    assert "bewaartermijn" not in verwerkingen.acties[0]


# --- afnemer, gebruiker, settings -------------------------------------------------------------


def test_afnemer_fields_from_the_request_context(verwerkingen: RecordedVerwerkingen) -> None:
    afnemer = vo.Afnemer(
        oin=OIN_AFNEMER,
        verwerkingsactiviteit_id=AFNEMER_ACTIVITEIT,
        verwerkingsactiviteit_url="https://afnemer.example.nl/activiteiten/9",
        verwerking_id=AFNEMER_VERWERKING,
    )
    with vo.use_afnemer(afnemer), vo.use_gebruiker("medewerker-42"):
        record(verwerkingsactiviteit_id=ACTIVITEIT)
    body = verwerkingen.acties[0]
    assert {k: body.get(k) for k in (
        "soortAfnemerId", "afnemerId", "verwerkingsactiviteitIdAfnemer", "verwerkingsactiviteitUrlAfnemer",
        "verwerkingIdAfnemer", "gebruiker", "verwerkingsactiviteitId",
    )} == {
        "soortAfnemerId": "OIN",
        "afnemerId": OIN_AFNEMER,
        "verwerkingsactiviteitIdAfnemer": AFNEMER_ACTIVITEIT,
        "verwerkingsactiviteitUrlAfnemer": "https://afnemer.example.nl/activiteiten/9",
        "verwerkingIdAfnemer": AFNEMER_VERWERKING,
        "gebruiker": "medewerker-42",
        "verwerkingsactiviteitId": ACTIVITEIT,  # our own, never the caller's
    }
    assert body["verwerkingId"] != AFNEMER_VERWERKING


def test_afnemer_without_oin_gives_no_afnemer_id(verwerkingen: RecordedVerwerkingen) -> None:
    with vo.use_afnemer(vo.Afnemer(verwerking_id=AFNEMER_VERWERKING)):
        record()
    body = verwerkingen.acties[0]
    assert "afnemerId" not in body and "soortAfnemerId" not in body
    assert body["verwerkingIdAfnemer"] == AFNEMER_VERWERKING


def test_no_afnemer_no_afnemer_fields(verwerkingen: RecordedVerwerkingen) -> None:
    record()
    assert not [k for k in verwerkingen.acties[0] if "fnemer" in k]


@pytest.mark.verwerkingen(strict=False)
def test_overlong_gebruiker_is_left_out_with_a_warning(
    verwerkingen: RecordedVerwerkingen, caplog: pytest.LogCaptureFixture
) -> None:
    with vo.use_gebruiker("g" * 41):
        record()
    assert "gebruiker" not in verwerkingen.acties[0]
    assert "gebruiker must be a string of at most 40 characters" in caplog.text
    assert "g" * 41 not in caplog.text


def test_overlong_gebruiker_raises_under_strict(verwerkingen: RecordedVerwerkingen) -> None:
    with vo.use_gebruiker("g" * 41), pytest.raises(vo.ValidationError, match="^gebruiker: "):
        record()
    verwerkingen.assert_none()


@pytest.mark.verwerkingen(systeem="Burgerzaken", gegevensbron="BRP", uitvoerder="00000009876543210000")
def test_settings_fill_systeem_gegevensbron_uitvoerder(verwerkingen: RecordedVerwerkingen) -> None:
    record()
    body = verwerkingen.acties[0]
    assert (body["systeem"], body["gegevensbron"], body["uitvoerder"]) == ("Burgerzaken", "BRP", "00000009876543210000")


def test_current_actie_exposes_effective_values_for_propagation(verwerkingen: RecordedVerwerkingen) -> None:
    with vo.use_afnemer(vo.Afnemer(vertrouwelijkheid=vo.Vertrouwelijkheid.VERTROUWELIJK, bewaartermijn="P7Y")):
        with vo.verwerking(verwerking_id=ZAAK, verwerking_naam="Huwelijk"):
            with actie("Uitgaand", verwerkingsactiviteit_id=ACTIVITEIT,
                       verwerkingsactiviteit_url="https://register.example.nl/a/1") as a:
                current = vo.current_actie()
                assert current is a
                assert (a.verwerking_id, a.verwerking_naam, a.verwerkingsactiviteit_id,
                        a.verwerkingsactiviteit_url, a.vertrouwelijkheid, a.bewaartermijn, a.actie_naam) == (
                    ZAAK, "Huwelijk", ACTIVITEIT, "https://register.example.nl/a/1",
                    vo.Vertrouwelijkheid.VERTROUWELIJK, "P7Y", "Uitgaand",
                )
                assert a.tijdstip.tzinfo is dt.timezone.utc


# --- threads and tasks -----------------------------------------------------------------------


def test_a_plain_thread_does_not_inherit_the_action(verwerkingen: RecordedVerwerkingen) -> None:
    seen: list[object] = []
    with actie("Buiten") as a:
        a.add_object(BSN_A)
        thread = threading.Thread(target=lambda: seen.append(vo.current_actie()))
        thread.start()
        thread.join()
    assert seen == [None]


def test_run_in_context_carries_action_and_verwerking_into_a_pool(verwerkingen: RecordedVerwerkingen) -> None:
    @vo.verwerkingsactie(actie_naam="Werker", objecten=[vo.persoon("bsn")])
    def werker(bsn: str) -> str | None:
        return vo.current_actie().verwerking_id  # type: ignore[union-attr]

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        with vo.verwerking(verwerking_id=ZAAK):
            with actie("Verdelen") as a:
                a.add_object(BSN_A)
                outer = vo.current_actie()
                futures = [pool.submit(vo.run_in_context(werker), b) for b in (BSN_B, BSN_C)]
                assert [f.result() for f in futures] == [ZAAK, ZAAK]
                assert vo.current_actie() is outer
            without = pool.submit(werker, BSN_A).result()
    assert without != ZAAK
    assert {b["verwerkingId"] for b in verwerkingen.find(actie_naam="Werker")} == {ZAAK, without}


def test_many_threads_record_every_action_with_a_unique_tijdstip(
    verwerkingen: RecordedVerwerkingen,
) -> None:
    @vo.verwerkingsactie(actie_naam="Parallel", objecten=[vo.persoon("bsn")])
    def parallel(bsn: str) -> None:
        pass

    def many() -> None:
        for _ in range(200):
            parallel(BSN_A)

    threads = [threading.Thread(target=many) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stamps = [b["tijdstip"] for b in verwerkingen.acties]
    assert len(stamps) == 800
    assert len(set(stamps)) == 800
    assert len({b["verwerkingId"] for b in verwerkingen.acties}) == 800


async def test_tasks_copy_the_context(verwerkingen: RecordedVerwerkingen) -> None:
    @vo.verwerkingsactie(actie_naam="Taak", objecten=[vo.persoon("bsn")])
    async def taak(bsn: str) -> None:
        await asyncio.sleep(0)  # deliberate: yields to the loop so the tasks interleave (what is tested)

    @vo.verwerkingsactie(actie_naam="Ouder", objecten=[vo.persoon("bsn")])
    async def ouder(bsn: str) -> None:
        await asyncio.gather(taak(BSN_B), asyncio.create_task(taak(BSN_C)))
        await asyncio.to_thread(lambda: vo.current_actie().add_object(BSN_C, betrokkenheid="Thread"))  # type: ignore[union-attr]

    await ouder(BSN_A)
    assert len({b["verwerkingId"] for b in verwerkingen.acties}) == 1
    assert [b["actieNaam"] for b in verwerkingen.acties].count("Taak") == 2
    assert verwerkingen.objecten(actie_naam="Ouder")[1]["betrokkenheid"] == "Thread"


async def test_concurrent_tasks_do_not_mix_actions(verwerkingen: RecordedVerwerkingen) -> None:
    @vo.verwerkingsactie(actie_naam="Verzoek", objecten=[vo.persoon("bsn")])
    async def verzoek(bsn: str) -> str:
        for _ in range(3):
            await asyncio.sleep(0)  # deliberate: yields to the loop so the tasks interleave (what is tested)
        vo.current_actie().add_object(bsn, betrokkenheid="Nogmaals")  # type: ignore[union-attr]
        return vo.current_actie().verwerking_id  # type: ignore[union-attr]

    ids = await asyncio.gather(*(verzoek(b) for b in (BSN_A, BSN_B, BSN_C) * 5))
    assert len(set(ids)) == 15
    for body in verwerkingen.acties:
        first, second = body["verwerkteObjecten"]
        assert first["objectId"] == second["objectId"]


def test_with_block_ended_in_another_context_is_reported(
    verwerkingen: RecordedVerwerkingen, caplog: pytest.LogCaptureFixture
) -> None:
    import contextvars

    annotation = vo.verwerkingsactie(actie_naam="Verdwaald")
    contextvars.copy_context().run(annotation.__enter__)  # entered in a context that is gone now
    annotation.__exit__(None, None, None)
    assert "verwerkingsactie 'Verdwaald': the block ended in another context; its action is lost" in caplog.text
    assert verwerkingen.pipeline.counters["recording_failures"] == 1


def test_record_repr_never_shows_the_body() -> None:
    from verwerkingen_otel.delivery import Record

    assert repr(Record(id="r1", body={"objectId": BSN_A})) == "Record(id='r1')"


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_tijdstip_clock_survives_fork_while_its_lock_is_held() -> None:
    import os
    import time

    from verwerkingen_otel.capture import _clock

    with _clock._clock_lock:  # as if another thread was taking a tijdstip at fork time
        pid = os.fork()
        if pid == 0:  # child: would deadlock on an inherited, held lock
            try:
                _clock.next_tijdstip_us()
            finally:
                os._exit(0)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.01)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    pytest.fail("the child hung on the tijdstip lock")
