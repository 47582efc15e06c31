"""The six VNG headers: parsing inbound claims (never raising, never echoing) and emitting them."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verwerkingen_otel.model import Afnemer
from verwerkingen_otel.model import (
    HEADER_NAMES,
    afnemer_from_environ,
    afnemer_from_headers,
    outbound_headers,
)
from verwerkingen_otel.model import Vertrouwelijkheid

OIN = "00000001234567890000"
ACT = "5f0bef4c-f66f-4311-84a5-19e8bf359eaf"
VID = "0b1c6a2e-3b55-4c85-a1b8-5c1f4e0ad001"
URL = "https://register.example.nl/activiteiten/5f0bef4c"


def test_all_six_headers_parsed_case_insensitively_from_asgi_bytes() -> None:
    headers = [
        (b"oin", OIN.encode()),
        (b"VERWERKINGSACTIVITEITID", ACT.upper().encode()),
        (b"verwerkingsactiviteitUrl", URL.encode()),
        (b"Verwerkingid", VID.encode()),
        (b"vertrouwelijkheid", b" Vertrouwelijk "),
        (b"bewaartermijn", b"P20Y"),
    ]
    assert afnemer_from_headers(headers) == Afnemer(
        oin=OIN,
        verwerkingsactiviteit_id=ACT,
        verwerkingsactiviteit_url=URL,
        verwerking_id=VID,
        vertrouwelijkheid=Vertrouwelijkheid.VERTROUWELIJK,
        bewaartermijn="P20Y",
    )


@pytest.mark.parametrize(("raw", "expected"), [("10", "P10Y"), ("007", "P7Y"), ("P1Y6M", "P1Y6M"), ("PT36H", "PT36H")])
def test_bewaartermijn_bare_years_become_duration(raw: str, expected: str) -> None:
    assert afnemer_from_headers({"Bewaartermijn": raw}) == Afnemer(bewaartermijn=expected)


def test_no_vng_headers_is_none() -> None:
    assert afnemer_from_headers([(b"accept", b"*/*")]) is None
    assert afnemer_from_headers(None) is None
    assert afnemer_from_headers({}) is None


@pytest.mark.parametrize(
    ("header", "value", "reason"),
    [
        ("OIN", "999993653", "must be an OIN of exactly 20 digits"),
        ("VerwerkingId", "999993653", "must be a UUID"),
        ("VerwerkingsactiviteitId", "not-a-uuid-999993653", "must be a UUID"),
        ("VerwerkingsactiviteitUrl", "999993653", "must be an absolute URI"),
        ("Vertrouwelijkheid", "geheim999993653", "longer than 13 characters"),
        ("Vertrouwelijkheid", "geheim", "must be one of normaal, vertrouwelijk, opgeheven"),
        ("Bewaartermijn", "10 jaar 999993653", "must be an ISO 8601 duration such as P10Y"),
        ("VerwerkingsactiviteitUrl", "https://x.example/" + "a" * 3000, "longer than 2042 characters"),
        ("VerwerkingsactiviteitUrl", "https://x.example/\u00e9999993653", "must be printable ASCII"),
    ],
)
def test_invalid_value_dropped_with_warning_that_never_echoes(
    caplog: pytest.LogCaptureFixture, header: str, value: str, reason: str
) -> None:
    caplog.set_level(logging.WARNING, logger="verwerkingen_otel.model")
    assert afnemer_from_headers({header: value, "OIN": OIN} if header != "OIN" else {header: value}) == (
        Afnemer(oin=OIN) if header != "OIN" else None
    )
    assert [r.getMessage() for r in caplog.records] == [f"inbound header {header} dropped: {reason}"]
    assert "999993653" not in caplog.text


def test_conflicting_duplicates_are_dropped_equal_ones_kept(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="verwerkingen_otel.model")
    assert afnemer_from_headers([("OIN", OIN), ("oin", "00000001234567890001")]) is None
    assert "sent more than once with different values" in caplog.text
    assert afnemer_from_headers([("OIN", OIN), ("oin", OIN)]) == Afnemer(oin=OIN)


def test_environ() -> None:
    environ = {"HTTP_OIN": OIN, "HTTP_BEWAARTERMIJN": "5", "HTTP_ACCEPT": "x", "PATH_INFO": "/"}
    assert afnemer_from_environ(environ) == Afnemer(oin=OIN, bewaartermijn="P5Y")
    assert afnemer_from_environ({"PATH_INFO": "/"}) is None


@dataclass
class Values:
    verwerking_id: str | None = None
    verwerkingsactiviteit_id: str | None = None
    verwerkingsactiviteit_url: str | None = None
    vertrouwelijkheid: Vertrouwelijkheid | str | None = None
    bewaartermijn: str | None = None


def test_outbound_headers() -> None:
    values = Values(VID, ACT, URL, Vertrouwelijkheid.VERTROUWELIJK, "P20Y")
    assert outbound_headers(values, OIN) == {
        "OIN": OIN,
        "VerwerkingsactiviteitId": ACT,
        "VerwerkingsactiviteitUrl": URL,
        "VerwerkingId": VID,
        "Vertrouwelijkheid": "vertrouwelijk",
        "Bewaartermijn": "P20Y",
    }
    assert outbound_headers(Values(verwerking_id=VID)) == {"VerwerkingId": VID}
    assert outbound_headers(None, OIN) == {}


# --- properties -----------------------------------------------------------------------------

header_name = st.sampled_from(HEADER_NAMES).flatmap(
    lambda n: st.sampled_from([n, n.lower(), n.upper(), n.swapcase()])
)
any_value = st.one_of(
    st.text(max_size=300),
    st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
    st.from_regex(r"\A[0-9]{0,25}\Z"),
    st.uuids().map(str),
    st.sampled_from(["normaal", "VERTROUWELIJK", "opgeheven", "P10Y", "10", "", " ", "PT", "P"]),
    st.text(min_size=2000, max_size=2100, alphabet="ab/:"),
)


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(st.tuples(header_name, any_value), max_size=8))
def test_parse_never_raises_and_keeps_only_valid_values(pairs: list[tuple[str, str]]) -> None:
    result = afnemer_from_headers([(n.encode("latin-1"), v.encode("latin-1", "replace")) for n, v in pairs])
    if result is None:
        return
    assert not result.is_empty()
    if result.oin is not None:
        assert len(result.oin) == 20 and result.oin.isdigit()
    for value in (result.verwerking_id, result.verwerkingsactiviteit_id):
        if value is not None:
            assert str(uuid.UUID(value)) == value
    if result.bewaartermijn is not None:
        assert result.bewaartermijn.startswith("P")
    if result.verwerkingsactiviteit_url is not None:
        assert len(result.verwerkingsactiviteit_url) <= 2042
    # what came in valid goes out again unchanged: parse(outbound(parse(x))) == parse(x)
    values = Values(
        result.verwerking_id,
        result.verwerkingsactiviteit_id,
        result.verwerkingsactiviteit_url,
        result.vertrouwelijkheid,
        result.bewaartermijn,
    )
    assert afnemer_from_headers(outbound_headers(values, result.oin)) == result


@settings(max_examples=500, deadline=None)
@given(
    st.builds(
        Values,
        st.none() | st.uuids().map(str),
        st.none() | st.uuids().map(str),
        st.none() | st.from_regex(r"\Ahttps://[a-z]{1,20}\.example/[a-z0-9/]{0,40}\Z"),
        st.none() | st.sampled_from(list(Vertrouwelijkheid)),
        st.none() | st.from_regex(r"\AP[1-9][0-9]{0,2}[YMWD]\Z"),
    ),
    st.none() | st.from_regex(r"\A[0-9]{20}\Z"),
)
def test_round_trip_outbound_then_inbound(values: Values, oin: str | None) -> None:
    parsed = afnemer_from_headers(outbound_headers(values, oin))
    expected = Afnemer(
        oin=oin,
        verwerking_id=values.verwerking_id,
        verwerkingsactiviteit_id=values.verwerkingsactiviteit_id,
        verwerkingsactiviteit_url=values.verwerkingsactiviteit_url,
        vertrouwelijkheid=values.vertrouwelijkheid,
        bewaartermijn=values.bewaartermijn,
    )
    assert parsed == (None if expected.is_empty() else expected)


def test_scan_asgi_headers_one_pass() -> None:
    from verwerkingen_otel.model import scan_asgi_headers

    tp = b"00-" + b"a" * 32 + b"-" + b"b" * 16 + b"-01"
    afnemer, carrier = scan_asgi_headers([(b"host", b"x"), (b"oin", OIN.encode()), (b"traceparent", tp), (b"bewaartermijn", b"3")])
    assert afnemer == Afnemer(oin=OIN, bewaartermijn="P3Y")
    assert carrier == {"traceparent": tp.decode()}
    assert scan_asgi_headers([(b"accept", b"*/*")]) == (None, None)
    assert scan_asgi_headers([(b"oin", OIN.encode()), (b"oin", b"00000001234567890001")]) == (None, None)
