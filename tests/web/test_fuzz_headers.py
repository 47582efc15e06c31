"""Hypothesis fuzzing of inbound VNG header values through real apps: never a 5xx, never a crash,
the action always recorded, and whatever was kept is valid by the model's own rules."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from verwerkingen_otel.model import HEADER_NAMES
from verwerkingen_otel.model import parse_verwerkingsactie

from . import test_asgi, test_flask

names = st.sampled_from(HEADER_NAMES).flatmap(lambda n: st.sampled_from([n, n.lower(), n.upper()]))
values = st.one_of(
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f"), max_size=120),
    st.from_regex(r"\A[0-9]{0,24}\Z"),
    st.uuids().map(str),
    st.sampled_from(["normaal", "Vertrouwelijk", "opgeheven", "P10Y", "10", "0", "9999", "P", "PT", "http://x", "https://a.example/" + "b" * 2100]),
)
header_sets = st.lists(st.tuples(names, values), max_size=6)
FUZZ = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def check_recorded(verwerkingen: Any, actie_naam: str) -> None:
    actie = verwerkingen.assert_one(actie_naam=actie_naam)
    assert actie["verwerkteObjecten"][0]["objectId"] == "999993653"
    parse_verwerkingsactie(actie)  # every afnemer field kept is valid
    if "afnemerId" in actie:
        assert actie["soortAfnemerId"] == "OIN"
    verwerkingen.clear()


def test_fuzz_flask(verwerkingen: Any) -> None:
    client = test_flask.make_app().test_client()

    @FUZZ
    @given(header_sets)
    def run(headers: list[tuple[str, str]]) -> None:
        response = client.get("/personen/999993653", headers=headers)
        assert response.status_code == 200
        check_recorded(verwerkingen, "Raadplegen persoon")

    run()


def test_fuzz_fastapi(verwerkingen: Any) -> None:
    with TestClient(test_asgi.make_app()) as client:

        @FUZZ
        @given(header_sets)
        def run(headers: list[tuple[str, str]]) -> None:
            raw = [(n.encode(), v.encode("latin-1")) for n, v in headers]
            response = client.get("/sync/999993653", headers=raw)
            assert response.status_code == 200
            check_recorded(verwerkingen, "Sync")

        run()
