"""The model: every rule of NOTES §1, valid and invalid, the API body, and BSN privacy."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verwerkingen_otel.model import (
    InvalidValue,
    ValidationError,
    Vertrouwelijkheid,
    VerwerktObject,
    VerwerktSoortGegeven,
    Verwerkingsactie,
    check_bsn,
    check_datetime,
    check_duration,
    check_oin,
    check_uuid,
    format_tijdstip,
    make_verwerkt_object,
    new_uuid4,
    parse_verwerkingsactie,
)

from tests.support.strategies import acties, bsns
from tests.support.values import ACTIVITEIT, BSN_A, BSN_B, OIN_AFNEMER, ZAAK


def body(**changes: Any) -> dict[str, Any]:
    """A valid POST body; `changes` replace keys (None removes one)."""
    base: dict[str, Any] = {
        "actieNaam": "Raadplegen persoon",
        "verwerkingId": ZAAK,
        "verwerkingsactiviteitId": ACTIVITEIT,
        "vertrouwelijkheid": "normaal",
        "tijdstip": "2024-05-01T10:00:00.123456+02:00",
        "verwerkteObjecten": [
            {
                "objecttype": "persoon",
                "soortObjectId": "BSN",
                "objectId": BSN_A,
                "betrokkenheid": "Aanvrager",
                "verwerkteSoortenGegevens": [{"soortGegeven": "Naam"}],
            }
        ],
    }
    for key, value in changes.items():
        if value is None:
            base.pop(key, None)
        else:
            base[key] = value
    return base


def errors_of(raw: Any, **kwargs: Any) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as info:
        parse_verwerkingsactie(raw, **kwargs)
    return [(e.name, e.code) for e in info.value.errors]


def obj(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"objecttype": "persoon", "soortObjectId": "BSN", "objectId": BSN_A}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not ...}


# --- single values -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", [BSN_A, BSN_B, "999990019", 999993653, 12345611, "012345611"])
def test_valid_bsns(value: object) -> None:
    assert check_bsn(value) == (f"{value:09d}" if isinstance(value, int) else value)


def test_int_bsn_is_zero_padded() -> None:
    assert check_bsn(12345611) == "012345611"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("999993654", "invalid_bsn"),  # fails the 11-test
        ("000000000", "invalid_bsn"),
        ("99999365", "invalid_bsn"),  # 8 digits
        ("9999936530", "invalid_bsn"),  # 10 digits
        ("99999365a", "invalid_bsn"),
        ("٩٩٩٩٩٣٦٥٣", "invalid_bsn"),  # non-ASCII digits
        (" 99999365", "invalid_bsn"),
        (-1, "invalid_bsn"),
        (1_000_000_000, "invalid_bsn"),
        (True, "invalid_bsn"),
        (None, "invalid"),
        (99999365.3, "invalid"),
    ],
)
def test_invalid_bsns(value: object, code: str) -> None:
    with pytest.raises(InvalidValue) as info:
        check_bsn(value)
    assert info.value.code == code
    assert str(value) not in str(info.value)


def test_bsn_11_test_reason_is_named() -> None:
    with pytest.raises(InvalidValue, match="^must pass the BSN 11-test$"):
        check_bsn("999993654")


@given(bsns)
def test_generated_bsns_pass(bsn: str) -> None:
    assert check_bsn(bsn) == bsn


@given(bsns, st.integers(1, 9), st.integers(0, 8))
def test_changing_one_digit_breaks_the_11_test(bsn: str, delta: int, position: int) -> None:
    digit = (int(bsn[position]) + delta) % 10
    changed = bsn[:position] + str(digit) + bsn[position + 1 :]
    with pytest.raises(InvalidValue):
        check_bsn(changed)


@pytest.mark.parametrize("value", [ZAAK, ZAAK.upper()])
def test_uuid_valid_and_lowercased(value: str) -> None:
    assert check_uuid(value) == ZAAK


@pytest.mark.parametrize("value", ["", "not-a-uuid", ZAAK[:-1], ZAAK.replace("-", ""), "{" + ZAAK + "}", 5])
def test_uuid_invalid(value: object) -> None:
    with pytest.raises(InvalidValue):
        check_uuid(value)


def test_oin() -> None:
    assert check_oin(OIN_AFNEMER) == OIN_AFNEMER
    for bad in ("0000000123456789000", "000000012345678900000", "0000000123456789000a", "x" + OIN_AFNEMER):
        with pytest.raises(InvalidValue, match="20 digits"):
            check_oin(bad)


@pytest.mark.parametrize("value", ["P10Y", "P1Y6M", "PT36H", "P2W", "P1DT12H", "P0.5Y", "PT1,5S"])
def test_durations_valid(value: str) -> None:
    assert check_duration(value) == value


@pytest.mark.parametrize("value", ["10", "P", "PT", "10Y", "P10", "P1Y2Y", "p10y", "P-1Y", "PT1H1D"])
def test_durations_invalid(value: str) -> None:
    with pytest.raises(InvalidValue):
        check_duration(value)


@pytest.mark.parametrize(("value", "offset"), [
    ("2024-05-01T10:00:00Z", dt.timedelta(0)),
    ("2024-05-01T10:00:00+02:00", dt.timedelta(hours=2)),
    ("2024-05-01T10:00:00.123456-05:30", -dt.timedelta(hours=5, minutes=30)),
])
def test_datetime_with_offset(value: str, offset: dt.timedelta) -> None:
    assert check_datetime(value).utcoffset() == offset


_TWO = dt.timezone(dt.timedelta(hours=2))


@pytest.mark.parametrize(("value", "expected"), [
    ("2024-05-01T10:00:00.12+02:00", dt.datetime(2024, 5, 1, 10, 0, 0, 120000, _TWO)),
    ("2024-05-01T10:00:00.1234567+02:00", dt.datetime(2024, 5, 1, 10, 0, 0, 123456, _TWO)),
    ("2024-05-01T10:00:00,5+02:00", dt.datetime(2024, 5, 1, 10, 0, 0, 500000, _TWO)),
    ("2024-05-01T10:00:00+0200", dt.datetime(2024, 5, 1, 10, 0, 0, 0, _TWO)),
    ("2024-05-01T10:00:00.1Z", dt.datetime(2024, 5, 1, 10, 0, 0, 100000, dt.timezone.utc)),
])
def test_datetime_rfc3339_forms_python_3_10_rejects(value: str, expected: dt.datetime) -> None:
    """requires-python >=3.10: 3.10's fromisoformat only reads 3- or 6-digit fractions and
    offsets with a colon; other clients send the rest, and the log must not answer 400."""
    moment = check_datetime(value)
    assert (moment, moment.utcoffset()) == (expected, expected.utcoffset())


@pytest.mark.parametrize("value", ["2024-05-01T10:00:00", "2024-05-01", "yesterday", "2024-13-01T10:00:00Z",
                                   "2024-05-01T10:00:00.5+2:00"])
def test_datetime_without_offset_or_malformed(value: str) -> None:
    with pytest.raises(InvalidValue):
        check_datetime(value)


def test_naive_datetime_object_refused() -> None:
    with pytest.raises(InvalidValue, match="offset"):
        check_datetime(dt.datetime(2024, 5, 1, 10, 0))


def test_format_tijdstip_keeps_offset_and_microseconds() -> None:
    moment = dt.datetime(2024, 5, 1, 10, 0, 0, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert format_tijdstip(moment) == "2024-05-01T10:00:00.000005+02:00"


def test_new_uuid4_is_a_version_4_uuid() -> None:
    import uuid

    seen = {new_uuid4() for _ in range(2000)}  # spans several blocks of random bytes
    assert len(seen) == 2000
    for text in seen:
        parsed = uuid.UUID(text)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122 and str(parsed) == text


def test_new_uuid4_keeps_every_random_digit_random() -> None:
    """Each of the 30 random hex places takes every digit, the variant place each of 89ab, and
    the UUIDs are not one block repeated: no place is fixed by the block-wise formatting."""
    texts = [new_uuid4() for _ in range(1200)]  # several blocks of random bytes
    fixed = {8: "-", 13: "-", 14: "4", 18: "-", 23: "-"}
    for place in range(36):
        seen = {text[place] for text in texts}
        if place in fixed:
            assert seen == {fixed[place]}
        elif place == 19:
            assert seen == set("89ab")
        else:
            assert seen == set("0123456789abcdef"), place
    assert len({text[:8] for text in texts}) > 1150  # 32 random bits: a repeat among 1200 is rare


# --- bodies ------------------------------------------------------------------------------------


def test_valid_body_parses_and_serialises_back_exactly() -> None:
    raw = body()
    actie = parse_verwerkingsactie(raw)
    assert actie.vertrouwelijkheid is Vertrouwelijkheid.NORMAAL
    assert actie.tijdstip == dt.datetime(2024, 5, 1, 8, 0, 0, 123456, tzinfo=dt.timezone.utc)
    assert actie.to_api() == raw


@pytest.mark.parametrize("key", ["vertrouwelijkheid", "tijdstip", "verwerkteObjecten"])
def test_required_keys(key: str) -> None:
    assert errors_of(body(**{key: None})) == [(key, "required")]


def test_null_counts_as_unset_for_optional_and_as_missing_for_required() -> None:
    raw = body()
    raw["actieNaam"] = None
    assert parse_verwerkingsactie(raw).actie_naam is None
    raw["tijdstip"] = None
    assert errors_of(raw) == [("tijdstip", "required")]


@pytest.mark.parametrize("value", ["NORMAAL", "Vertrouwelijk", "opgeheven", " normaal "])
def test_vertrouwelijkheid_any_case_stored_lowercase(value: str) -> None:
    actie = parse_verwerkingsactie(body(vertrouwelijkheid=value))
    assert actie.to_api()["vertrouwelijkheid"] == value.strip().lower()


@pytest.mark.parametrize("value", ["geheim", "", 1])
def test_vertrouwelijkheid_unknown(value: object) -> None:
    assert errors_of(body(vertrouwelijkheid=value)) == [("vertrouwelijkheid", "choice")]


@pytest.mark.parametrize(
    ("key", "limit"),
    [
        ("actieNaam", 242),
        ("handelingNaam", 242),
        ("verwerkingNaam", 242),
        ("systeem", 242),
        ("gegevensbron", 242),
        ("gebruiker", 40),
        ("soortAfnemerId", 242),
    ],
)
def test_text_lengths(key: str, limit: int) -> None:
    assert parse_verwerkingsactie(body(**{key: "x" * limit})).to_api()[key] == "x" * limit
    assert errors_of(body(**{key: "x" * (limit + 1)})) == [(key, "max_length")]


@pytest.mark.parametrize(
    "key", ["verwerkingId", "verwerkingsactiviteitId", "verwerkingsactiviteitIdAfnemer", "verwerkingIdAfnemer"]
)
def test_uuid_fields(key: str) -> None:
    assert parse_verwerkingsactie(body(**{key: ZAAK.upper()})).to_api()[key] == ZAAK
    assert errors_of(body(**{key: "zaak-1"})) == [(key, "invalid_uuid")]


@pytest.mark.parametrize("key", ["verwerkingsactiviteitUrl", "verwerkingsactiviteitUrlAfnemer"])
def test_uri_fields(key: str) -> None:
    url = "https://register.example.nl/activiteiten/1"
    assert parse_verwerkingsactie(body(**{key: url})).to_api()[key] == url
    assert errors_of(body(**{key: "register/activiteiten/1"})) == [(key, "invalid_uri")]
    long_url = "https://e.nl/" + "a" * (2042 - len("https://e.nl/"))
    assert parse_verwerkingsactie(body(**{key: long_url})).to_api()[key] == long_url
    assert errors_of(body(**{key: long_url + "a"})) == [(key, "max_length")]


def test_bewaartermijn() -> None:
    assert parse_verwerkingsactie(body(bewaartermijn="P10Y")).bewaartermijn == "P10Y"
    assert errors_of(body(bewaartermijn="10")) == [("bewaartermijn", "invalid_duration")]
    assert errors_of(body(bewaartermijn=10)) == [("bewaartermijn", "invalid")]


def test_uitvoerder_is_an_oin() -> None:
    assert parse_verwerkingsactie(body(uitvoerder=OIN_AFNEMER)).uitvoerder == OIN_AFNEMER
    assert errors_of(body(uitvoerder="1234")) == [("uitvoerder", "invalid_oin")]


def test_tijdstip_needs_an_offset() -> None:
    assert errors_of(body(tijdstip="2024-05-01T10:00:00")) == [("tijdstip", "no_offset")]
    assert errors_of(body(tijdstip="gisteren")) == [("tijdstip", "invalid_datetime")]


def test_tijdstip_is_returned_as_sent() -> None:
    raw = body(tijdstip="2024-05-01T10:00:00.000001-03:30")
    assert parse_verwerkingsactie(raw).to_api()["tijdstip"] == "2024-05-01T10:00:00.000001-03:30"


class TestAfnemer:
    def test_oin_afnemer(self) -> None:
        actie = parse_verwerkingsactie(body(soortAfnemerId="OIN", afnemerId=OIN_AFNEMER))
        assert (actie.soort_afnemer_id, actie.afnemer_id) == ("OIN", OIN_AFNEMER)

    def test_oin_afnemer_must_be_20_digits(self) -> None:
        assert errors_of(body(soortAfnemerId="oin", afnemerId="123")) == [("afnemerId", "invalid_oin")]

    def test_bsn_afnemer_must_be_9_digits(self) -> None:
        assert parse_verwerkingsactie(body(soortAfnemerId="BSN", afnemerId=BSN_B)).afnemer_id == BSN_B
        assert errors_of(body(soortAfnemerId="BSN", afnemerId="12345")) == [("afnemerId", "invalid_bsn")]

    def test_other_kind_is_an_identificator(self) -> None:
        assert parse_verwerkingsactie(body(soortAfnemerId="KvK", afnemerId="x" * 40)).afnemer_id == "x" * 40
        assert errors_of(body(soortAfnemerId="KvK", afnemerId="x" * 41)) == [("afnemerId", "max_length")]

    def test_soort_required_with_afnemer_id(self) -> None:
        assert errors_of(body(afnemerId=OIN_AFNEMER)) == [("soortAfnemerId", "required")]


class TestObjects:
    def test_empty_list_is_accepted_by_the_model(self) -> None:
        assert parse_verwerkingsactie(body(verwerkteObjecten=[])).verwerkte_objecten == ()

    def test_not_a_list(self) -> None:
        assert errors_of(body(verwerkteObjecten={"objectId": BSN_A})) == [("verwerkteObjecten", "invalid")]

    def test_object_not_an_object(self) -> None:
        assert errors_of(body(verwerkteObjecten=["x"])) == [("verwerkteObjecten.0", "invalid")]

    @pytest.mark.parametrize("key", ["objecttype", "soortObjectId", "objectId"])
    def test_object_required_keys(self, key: str) -> None:
        raw = body(verwerkteObjecten=[obj(**{key: ...})])
        assert (f"verwerkteObjecten.0.{key}", "required") in errors_of(raw)

    def test_objecttype_any_case(self) -> None:
        actie = parse_verwerkingsactie(body(verwerkteObjecten=[obj(objecttype="PERSOON")]))
        assert actie.verwerkte_objecten[0].objecttype == "persoon"

    def test_objecttype_other_than_persoon(self) -> None:
        assert errors_of(body(verwerkteObjecten=[obj(objecttype="auto")])) == [
            ("verwerkteObjecten.0.objecttype", "choice")
        ]

    def test_bsn_object_id_is_checked(self) -> None:
        assert errors_of(body(verwerkteObjecten=[obj(), obj(objectId="999993654")])) == [
            ("verwerkteObjecten.1.objectId", "invalid_bsn")
        ]

    def test_bsn_soort_any_case(self) -> None:
        assert errors_of(body(verwerkteObjecten=[obj(soortObjectId="bsn", objectId="123")])) == [
            ("verwerkteObjecten.0.objectId", "invalid_bsn")
        ]

    def test_other_object_id_up_to_40(self) -> None:
        ok = body(verwerkteObjecten=[obj(soortObjectId="A-nummer", objectId="x" * 40)])
        assert parse_verwerkingsactie(ok).verwerkte_objecten[0].object_id == "x" * 40
        bad = body(verwerkteObjecten=[obj(soortObjectId="A-nummer", objectId="x" * 41)])
        assert errors_of(bad) == [("verwerkteObjecten.0.objectId", "max_length")]

    def test_lengths(self) -> None:
        bad = body(
            verwerkteObjecten=[
                obj(
                    soortObjectId="x" * 243,
                    betrokkenheid="x" * 243,
                    verwerkteSoortenGegevens=[{"soortGegeven": "x" * 243}, {}],
                )
            ]
        )
        assert errors_of(bad) == [
            ("verwerkteObjecten.0.soortObjectId", "max_length"),
            ("verwerkteObjecten.0.betrokkenheid", "max_length"),
            ("verwerkteObjecten.0.verwerkteSoortenGegevens.0.soortGegeven", "max_length"),
            ("verwerkteObjecten.0.verwerkteSoortenGegevens.1.soortGegeven", "required"),
        ]

    def test_soorten_not_a_list(self) -> None:
        assert errors_of(body(verwerkteObjecten=[obj(verwerkteSoortenGegevens="Naam")])) == [
            ("verwerkteObjecten.0.verwerkteSoortenGegevens", "invalid")
        ]

    def test_read_only_verwerkt_object_id_kept_for_matching_but_not_sent(self) -> None:
        actie = parse_verwerkingsactie(body(verwerkteObjecten=[obj(verwerktObjectId=ZAAK)]))
        assert actie.verwerkte_objecten[0].verwerkt_object_id == ZAAK
        assert "verwerktObjectId" not in actie.to_api()["verwerkteObjecten"][0]


def test_every_error_is_collected() -> None:
    raw = body(verwerkingId="x", bewaartermijn="10", vertrouwelijkheid="geheim")
    assert errors_of(raw) == [
        ("verwerkingId", "invalid_uuid"),
        ("vertrouwelijkheid", "choice"),
        ("bewaartermijn", "invalid_duration"),
    ]


def test_body_must_be_an_object() -> None:
    assert errors_of([body()]) == [("nonFieldErrors", "invalid")]


def test_read_only_and_unknown_keys_ignored() -> None:
    raw = body(url="https://log.example.nl/x", actieId=ZAAK, tijdstipRegistratie="2024-01-01T00:00:00Z", extra=1)
    assert parse_verwerkingsactie(raw).to_api() == body()


def test_full_replacement_requires_every_writable_key() -> None:
    names = [name for name, code in errors_of(body(), require_all_keys=True)]
    assert "bewaartermijn" in names and "afnemerId" in names and "actieNaam" not in names
    complete = {key: None for key in names} | body()
    assert parse_verwerkingsactie(complete, require_all_keys=True).to_api() == body()


def test_to_api_leaves_out_unset_fields_and_read_only_fields() -> None:
    actie = Verwerkingsactie(
        vertrouwelijkheid=Vertrouwelijkheid.VERTROUWELIJK,
        tijdstip=dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc),
        verwerkte_objecten=(VerwerktObject("persoon", "BSN", BSN_A, verwerkt_object_id=ZAAK),),
    )
    assert actie.to_api() == {
        "vertrouwelijkheid": "vertrouwelijk",
        "tijdstip": "2024-01-02T03:04:05.000000+00:00",
        "verwerkteObjecten": [{"objecttype": "persoon", "soortObjectId": "BSN", "objectId": BSN_A}],
    }


@settings(max_examples=150)
@given(acties())
def test_round_trip_through_the_api_body(actie: Verwerkingsactie) -> None:
    again = parse_verwerkingsactie(actie.to_api())
    assert again == actie
    assert again.tijdstip.utcoffset() == actie.tijdstip.utcoffset()
    assert again.to_api() == actie.to_api()


# --- make_verwerkt_object ----------------------------------------------------------------------


def test_make_verwerkt_object() -> None:
    made = make_verwerkt_object(999993653, betrokkenheid="Getuige", soorten_gegevens=["Naam", "Adres"])
    assert made == VerwerktObject(
        "persoon", "BSN", BSN_A, "Getuige", (VerwerktSoortGegeven("Naam"), VerwerktSoortGegeven("Adres"))
    )


def test_make_verwerkt_object_errors_name_the_path() -> None:
    with pytest.raises(ValidationError) as info:
        make_verwerkt_object("999993654", betrokkenheid="x" * 243, path="add_object")
    assert [(e.name, e.code) for e in info.value.errors] == [
        ("add_object.objectId", "invalid_bsn"),
        ("add_object.betrokkenheid", "max_length"),
    ]
    with pytest.raises(ValidationError):
        make_verwerkt_object(BSN_A, soorten_gegevens="Naam")  # type: ignore[arg-type]


# --- privacy -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        body(verwerkteObjecten=[obj(objectId="999993654")]),
        body(verwerkteObjecten=[obj(objectId="99999365")]),
        body(verwerkteObjecten=[obj(objectId=999993654)]),
        body(verwerkteObjecten=[obj(soortObjectId="A-nummer", objectId="999993653" * 5)]),
        body(soortAfnemerId="BSN", afnemerId="99999365x"),
        body(soortAfnemerId="OIN", afnemerId="999993653"),
        body(gebruiker="999993653" * 5),
        body(actieNaam="999993653" * 30),
    ],
)
def test_no_error_message_contains_the_value(raw: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as info:
        parse_verwerkingsactie(raw)
    text = str(info.value) + repr(info.value.errors)
    assert "99999365" not in text


@given(bsns.map(lambda b: b[:8] + str((int(b[8]) + 1) % 10)))
def test_no_error_message_contains_a_broken_bsn(bad: str) -> None:
    raw = body(verwerkteObjecten=[obj(objectId=bad)])
    try:
        parse_verwerkingsactie(raw)
    except ValidationError as exc:
        assert bad not in str(exc) and bad not in repr(exc.errors)
    else:  # pragma: no cover - changing the check digit always breaks the 11-test
        pytest.fail("a BSN with a changed check digit passed")


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_new_uuid4_differs_in_a_forked_child() -> None:
    import os

    new_uuid4()  # the parent holds an unused rest of a random block
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(write, new_uuid4().encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 100).decode()
    os.waitpid(pid, 0)
    assert child and child != new_uuid4()


def test_new_uuid4_from_many_threads_is_unique() -> None:
    import threading

    found: list[str] = []

    def many() -> None:
        found.extend(new_uuid4() for _ in range(2000))

    threads = [threading.Thread(target=many) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(found)) == 8000
