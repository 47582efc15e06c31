"""@verwerkingsactie on sync and async functions and methods, as a context manager, object specs."""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import re
import uuid
from typing import Any

import pytest

import verwerkingen_otel as vo
from verwerkingen_otel.testing import RecordedVerwerkingen

from tests.support.values import ACTIVITEIT, BSN_A, BSN_B, BSN_C

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def bsn_object(bsn: str, betrokkenheid: str | None = None, *soorten: str) -> dict[str, Any]:
    obj: dict[str, Any] = {"objecttype": "persoon", "soortObjectId": "BSN", "objectId": bsn}
    if betrokkenheid is not None:
        obj["betrokkenheid"] = betrokkenheid
    if soorten:
        obj["verwerkteSoortenGegevens"] = [{"soortGegeven": s} for s in soorten]
    return obj


@vo.verwerkingsactie(
    actie_naam="Raadplegen persoon",
    verwerkingsactiviteit_id=ACTIVITEIT,
    verwerkingsactiviteit_url="https://register.example.nl/activiteiten/1",
    handeling_naam="Opvragen",
    objecten=[vo.persoon("bsn", betrokkenheid="Aanvrager", soorten_gegevens=["Naam", "Adres"])],
)
def raadplegen(bsn: str | int, *, reden: str = "balie") -> dict[str, Any]:
    """Look a person up; the docstring must survive decoration."""
    return {"bsn": bsn, "reden": reden}


def test_sync_function_records_exactly_the_post_body(verwerkingen: RecordedVerwerkingen) -> None:
    before = dt.datetime.now(dt.timezone.utc)
    assert raadplegen(BSN_A) == {"bsn": BSN_A, "reden": "balie"}
    (body,) = verwerkingen.acties
    assert UUID_RE.match(body.pop("verwerkingId"))
    tijdstip = dt.datetime.fromisoformat(body.pop("tijdstip"))
    assert before <= tijdstip <= dt.datetime.now(dt.timezone.utc)
    assert tijdstip.utcoffset() == dt.timedelta(0)
    assert body == {
        "actieNaam": "Raadplegen persoon",
        "handelingNaam": "Opvragen",
        "verwerkingsactiviteitId": ACTIVITEIT,
        "verwerkingsactiviteitUrl": "https://register.example.nl/activiteiten/1",
        "vertrouwelijkheid": "normaal",
        "verwerkteObjecten": [bsn_object(BSN_A, "Aanvrager", "Naam", "Adres")],
    }


def test_every_call_is_one_action_with_its_own_verwerking(verwerkingen: RecordedVerwerkingen) -> None:
    raadplegen(BSN_A)
    raadplegen(BSN_B)
    first, second = verwerkingen.acties
    assert first["verwerkteObjecten"][0]["objectId"] == BSN_A
    assert second["verwerkteObjecten"][0]["objectId"] == BSN_B
    assert first["verwerkingId"] != second["verwerkingId"]


def test_int_bsn_is_zero_padded(verwerkingen: RecordedVerwerkingen) -> None:
    raadplegen(12345611)
    assert verwerkingen.acties[0]["verwerkteObjecten"][0]["objectId"] == "012345611"
    assert verwerkingen.for_bsn(12345611) == verwerkingen.acties


def test_signature_name_and_docstring_are_kept() -> None:
    def original(bsn: str | int, *, reden: str = "balie") -> dict[str, Any]:
        """Look a person up; the docstring must survive decoration."""
        return {}

    assert inspect.signature(raadplegen) == inspect.signature(original)
    assert raadplegen.__name__ == "raadplegen"
    assert raadplegen.__qualname__ == "raadplegen"
    assert raadplegen.__doc__ == original.__doc__
    assert raadplegen.__module__ == __name__
    assert raadplegen.__wrapped__.__name__ == "raadplegen"
    assert inspect.isfunction(raadplegen) and not inspect.iscoroutinefunction(raadplegen)


async def test_async_function(verwerkingen: RecordedVerwerkingen) -> None:
    @vo.verwerkingsactie(actie_naam="Async", objecten=[vo.persoon("bsn")])
    async def ophalen(bsn: str) -> str:
        """Async doc."""
        await asyncio.sleep(0)  # deliberate: a real suspension point inside the action (what is tested)
        assert vo.current_actie() is not None
        return bsn[::-1]

    assert inspect.iscoroutinefunction(ophalen)
    assert ophalen.__doc__ == "Async doc." and ophalen.__name__ == "ophalen"
    assert list(inspect.signature(ophalen).parameters) == ["bsn"]
    assert await ophalen(BSN_A) == BSN_A[::-1]
    verwerkingen.assert_one(actie_naam="Async")


def test_argument_by_keyword_position_and_default(verwerkingen: RecordedVerwerkingen) -> None:
    @vo.verwerkingsactie(actie_naam="A", objecten=[vo.persoon("bsn")])
    def f(a: int, bsn: str = BSN_C, *, b: int = 0) -> None:
        pass

    f(1, BSN_A)
    f(1, bsn=BSN_B)
    f(1)
    assert [b["verwerkteObjecten"][0]["objectId"] for b in verwerkingen.acties] == [BSN_A, BSN_B, BSN_C]


def test_keyword_only_and_var_positional(verwerkingen: RecordedVerwerkingen) -> None:
    @vo.verwerkingsactie(actie_naam="K", objecten=[vo.persoon("bsn")])
    def k(*, bsn: str) -> None:
        pass

    @vo.verwerkingsactie(actie_naam="V", objecten=[vo.persoon("bsns", betrokkenheid="Gezinslid")])
    def v(*bsns: str) -> None:
        pass

    k(bsn=BSN_A)
    v(BSN_B, BSN_C)
    assert verwerkingen.objecten(actie_naam="K") == [bsn_object(BSN_A)]
    assert verwerkingen.objecten(actie_naam="V") == [bsn_object(BSN_B, "Gezinslid"), bsn_object(BSN_C, "Gezinslid")]


def test_list_argument_gives_one_object_per_bsn(verwerkingen: RecordedVerwerkingen) -> None:
    @vo.verwerkingsactie(actie_naam="L", objecten=[vo.persoon("bsns")])
    def many(bsns: list[str]) -> None:
        pass

    many([BSN_A, 999995017])
    assert verwerkingen.objecten() == [bsn_object(BSN_A), bsn_object(BSN_B)]


class Dienst:
    @vo.verwerkingsactie(actie_naam="Methode", objecten=[vo.persoon("bsn")])
    def methode(self, bsn: str) -> str:
        return bsn

    @classmethod
    @vo.verwerkingsactie(actie_naam="Klasse", objecten=[vo.persoon("bsn")])
    def klasse(cls, bsn: str) -> str:
        return bsn

    @staticmethod
    @vo.verwerkingsactie(actie_naam="Statisch", objecten=[vo.persoon("bsn")])
    def statisch(bsn: str) -> str:
        return bsn

    @vo.verwerkingsactie(actie_naam="Berekend", objecten=[vo.persoon(from_args=lambda self, aanvraag: aanvraag["bsn"])])
    def berekend(self, aanvraag: dict[str, str]) -> None:
        pass


def test_methods(verwerkingen: RecordedVerwerkingen) -> None:
    dienst = Dienst()
    assert dienst.methode(BSN_A) == BSN_A
    assert dienst.methode(bsn=BSN_A) == BSN_A
    assert Dienst.methode(dienst, BSN_A) == BSN_A
    assert Dienst.klasse(BSN_B) == BSN_B
    assert Dienst.statisch(BSN_C) == BSN_C
    dienst.berekend({"bsn": BSN_A})
    assert [(b["actieNaam"], b["verwerkteObjecten"][0]["objectId"]) for b in verwerkingen.acties] == [
        ("Methode", BSN_A),
        ("Methode", BSN_A),
        ("Methode", BSN_A),
        ("Klasse", BSN_B),
        ("Statisch", BSN_C),
        ("Berekend", BSN_A),
    ]


def test_from_args(verwerkingen: RecordedVerwerkingen) -> None:
    @vo.verwerkingsactie(
        actie_naam="Aanvraag",
        objecten=[
            vo.persoon(from_args=lambda aanvraag: aanvraag["aanvrager"], betrokkenheid="Aanvrager"),
            vo.persoon(from_args=lambda aanvraag: aanvraag.get("partner"), betrokkenheid="Partner"),
        ],
    )
    def aanvragen(aanvraag: dict[str, Any]) -> None:
        pass

    aanvragen({"aanvrager": BSN_A, "partner": 999995017})
    aanvragen({"aanvrager": BSN_C})
    first, second = verwerkingen.acties
    assert first["verwerkteObjecten"] == [bsn_object(BSN_A, "Aanvrager"), bsn_object(BSN_B, "Partner")]
    assert second["verwerkteObjecten"] == [bsn_object(BSN_C, "Aanvrager")]


def test_from_result(verwerkingen: RecordedVerwerkingen) -> None:
    @vo.verwerkingsactie(actie_naam="Aanmaken", objecten=[vo.persoon(from_result=lambda p: p["bsn"])])
    def aanmaken() -> dict[str, str]:
        return {"bsn": BSN_B}

    assert aanmaken() == {"bsn": BSN_B}
    verwerkingen.assert_one(actie_naam="Aanmaken")
    assert verwerkingen.objecten() == [bsn_object(BSN_B)]


def test_search_result_one_object_per_hit_each_with_its_betrokkenheid(verwerkingen: RecordedVerwerkingen) -> None:
    @vo.verwerkingsactie(
        actie_naam="Zoeken",
        objecten=[
            vo.personen_uit_resultaat(
                lambda hits: hits, betrokkenheid="Getoond in zoekresultaat", soorten_gegevens=["Naam"]
            )
        ],
    )
    def zoeken(achternaam: str) -> list[Any]:
        return [
            BSN_A,
            999995017,
            (BSN_C, "Gezinslid"),
            vo.VerwerktObject("persoon", "BSN", BSN_A, "Getuige"),
            None,
        ]

    zoeken("Jansen")
    (body,) = verwerkingen.acties
    assert body["verwerkteObjecten"] == [
        bsn_object(BSN_A, "Getoond in zoekresultaat", "Naam"),
        bsn_object(BSN_B, "Getoond in zoekresultaat", "Naam"),
        bsn_object(BSN_C, "Gezinslid", "Naam"),
        bsn_object(BSN_A, "Getuige"),
    ]
    assert "Jansen" not in str(body)  # search criteria are never logged


def test_empty_search_result_is_not_recorded(verwerkingen: RecordedVerwerkingen) -> None:
    @vo.verwerkingsactie(actie_naam="Zoeken", objecten=[vo.personen_uit_resultaat(lambda hits: hits)])
    def zoeken() -> list[str]:
        return []

    assert zoeken() == []
    assert verwerkingen.acties == []
    assert verwerkingen.pipeline.counters == {"not_recorded_no_objects": 1}


def test_none_argument_means_no_person_and_no_action(verwerkingen: RecordedVerwerkingen) -> None:
    @vo.verwerkingsactie(actie_naam="Optioneel", objecten=[vo.persoon("bsn")])
    def optioneel(bsn: str | None = None) -> str:
        return "ok"

    assert optioneel() == "ok"
    verwerkingen.assert_none()


def test_identical_objects_are_recorded_once(verwerkingen: RecordedVerwerkingen) -> None:
    @vo.verwerkingsactie(actie_naam="Dubbel", objecten=[vo.persoon("a"), vo.persoon("b")])
    def dubbel(a: str, b: str) -> None:
        vo.current_actie().add_object(BSN_A)  # type: ignore[union-attr]
        vo.current_actie().add_object(BSN_A, betrokkenheid="Getuige")  # type: ignore[union-attr]

    dubbel(BSN_A, BSN_A)
    assert verwerkingen.objecten() == [bsn_object(BSN_A), bsn_object(BSN_A, "Getuige")]


def test_add_object_at_run_time(verwerkingen: RecordedVerwerkingen) -> None:
    @vo.verwerkingsactie(actie_naam="Huwelijk")
    def huwelijk(getuigen: list[str]) -> None:
        actie = vo.current_actie()
        assert actie is not None
        for getuige in getuigen:
            actie.add_object(
                objecttype="persoon",
                soort_object_id="BSN",
                object_id=getuige,
                betrokkenheid="Getuige",
                soorten_gegevens=["Naam", "Adres"],
            )
        assert actie.object_count == len(getuigen)

    huwelijk([BSN_A, BSN_B])
    assert verwerkingen.objecten() == [
        bsn_object(BSN_A, "Getuige", "Naam", "Adres"),
        bsn_object(BSN_B, "Getuige", "Naam", "Adres"),
    ]


def test_add_object_other_kind_of_identifier(verwerkingen: RecordedVerwerkingen) -> None:
    with vo.verwerkingsactie(actie_naam="Overig") as actie:
        actie.add_object("A123", soort_object_id="A-nummer", objecttype="PERSOON")
    assert verwerkingen.objecten() == [{"objecttype": "persoon", "soortObjectId": "A-nummer", "objectId": "A123"}]


def test_current_actie_is_none_outside_an_action() -> None:
    assert vo.current_actie() is None


def test_context_manager(verwerkingen: RecordedVerwerkingen) -> None:
    with vo.verwerkingsactie(actie_naam="Blok", verwerkingsactiviteit_id=ACTIVITEIT) as actie:
        assert vo.current_actie() is actie
        actie.add_object(BSN_A, betrokkenheid="Betrokkene")
        assert actie.verwerkingsactiviteit_id == ACTIVITEIT
    assert vo.current_actie() is None
    body = verwerkingen.assert_one(actie_naam="Blok")
    assert body["verwerkingId"] == actie.verwerking_id
    assert body["tijdstip"] == actie.tijdstip.isoformat(timespec="microseconds")


async def test_async_context_manager(verwerkingen: RecordedVerwerkingen) -> None:
    async with vo.verwerkingsactie(actie_naam="Async blok") as actie:
        await asyncio.sleep(0)  # deliberate: a real suspension point inside the action (what is tested)
        actie.add_object(BSN_A)
    verwerkingen.assert_one(actie_naam="Async blok")


def test_the_same_annotation_is_reusable(verwerkingen: RecordedVerwerkingen) -> None:
    annotation = vo.verwerkingsactie(actie_naam="Hergebruik", objecten=[vo.persoon("bsn")])

    @annotation
    def een(bsn: str) -> None:
        pass

    @annotation
    def twee(x: int, bsn: str) -> None:
        pass

    een(BSN_A)
    twee(1, BSN_B)
    with annotation.__class__(actie_naam="Hergebruik") as actie:
        actie.add_object(BSN_C)
    assert [o["objectId"] for o in verwerkingen.objecten(actie_naam="Hergebruik")] == [BSN_A, BSN_B, BSN_C]


def test_action_without_objects_is_not_recorded(verwerkingen: RecordedVerwerkingen) -> None:
    with vo.verwerkingsactie(actie_naam="Niemand"):
        pass
    verwerkingen.assert_none()
    assert verwerkingen.pipeline.counters["not_recorded_no_objects"] == 1


def test_span_name_defaults_to_the_function_when_no_actie_naam(verwerkingen: RecordedVerwerkingen) -> None:
    @vo.verwerkingsactie(objecten=[vo.persoon("bsn")])
    def zonder_naam(bsn: str) -> None:
        pass

    zonder_naam(BSN_A)
    (body,) = verwerkingen.acties
    assert "actieNaam" not in body


def test_verwerkingsactie_decorates_only_callables() -> None:
    with pytest.raises(TypeError, match="decorates a function"):
        vo.verwerkingsactie(actie_naam="x")(42)  # type: ignore[arg-type]


def test_the_decorator_without_its_parentheses_says_how_to_write_it() -> None:
    with pytest.raises(vo.ConfigurationError) as info:
        @vo.verwerkingsactie  # type: ignore[arg-type]
        def raadplegen(bsn: str) -> None:
            pass
    assert str(info.value) == (
        'actie_naam: verwerkingsactie takes its arguments first: write @verwerkingsactie("Raadplegen persoon", …), '
        "with parentheses, above test_the_decorator_without_its_parentheses_says_how_to_write_it.<locals>.raadplegen")


def test_generator_functions_are_refused() -> None:
    def gen() -> Any:
        yield 1

    async def agen() -> Any:
        yield 1

    for fn in (gen, agen):
        with pytest.raises(TypeError, match="cannot decorate a generator function"):
            vo.verwerkingsactie(actie_naam="x")(fn)


def test_tijdstip_strictly_increasing(verwerkingen: RecordedVerwerkingen, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    frozen = time.time_ns()
    monkeypatch.setattr(time, "time_ns", lambda: frozen)  # a clock that does not move
    for _ in range(50):
        raadplegen(BSN_A)
    stamps = [dt.datetime.fromisoformat(b["tijdstip"]) for b in verwerkingen.acties]
    assert all(b - a == dt.timedelta(microseconds=1) for a, b in zip(stamps, stamps[1:]))
    assert all(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$", b["tijdstip"]) for b in verwerkingen.acties)


def test_verwerking_id_from_the_annotation(verwerkingen: RecordedVerwerkingen) -> None:
    zaak = uuid.uuid4()

    @vo.verwerkingsactie(actie_naam="Vast", verwerking_id=zaak, objecten=[vo.persoon("bsn")])
    def vast(bsn: str) -> None:
        pass

    vast(BSN_A)
    vast(BSN_B)
    assert [b["verwerkingId"] for b in verwerkingen.acties] == [str(zaak), str(zaak)]


def test_empty_names_count_as_unset(verwerkingen: RecordedVerwerkingen) -> None:
    with vo.verwerking(verwerking_naam="Zaak"):
        with vo.verwerkingsactie(actie_naam="", handeling_naam="", verwerking_naam="") as actie:
            actie.add_object(BSN_A)
    (body,) = verwerkingen.acties
    assert "actieNaam" not in body and "handelingNaam" not in body
    assert body["verwerkingNaam"] == "Zaak"


def test_argument_taken_from_var_keyword(verwerkingen: RecordedVerwerkingen) -> None:
    @vo.verwerkingsactie(actie_naam="Kwargs", objecten=[vo.persoon("bsn")])
    def kwargs_only(**velden: str) -> None:
        pass

    kwargs_only(bsn=BSN_A)
    kwargs_only(naam="Jan")  # no bsn passed: nobody, no action
    assert [o["objectId"] for o in verwerkingen.objecten()] == [BSN_A]
