"""The /inzage page with `serve --peers`, over plain HTTP against real log servers on loopback:
the front's rows merged with the healthy peer's in time order with a Log column, the stopped peer
making the result partial (banner, JSON, CSV), each peer logging exactly one Inzage per search,
and the page's role rule holding whatever a peer returns."""

from __future__ import annotations

import csv
import io
import json
import threading
from pathlib import Path
from typing import Iterator

import jwt
import pytest

from tests.server.pages_support import BSN, OTHER_BSN, OUD_DOEL, SECRET, start_server
from tests.server.peers_support import (
    PEER_CLIENT, PEER_SECRET, PERIOD, WRONG_SECRET, Federation, HostilePeer, crafted, inzage_count, logged_in,
    read_page, start_federation, write_peers,
)
from tests.support.logserver import LogServer
from tests.support.servers import uvicorn_server

BANNER = ("Onvolledig resultaat. Niet alle logs hebben geantwoord; dit overzicht kan verwerkingen missen. "
          "Ontbreekt: kapot (niet bereikbaar).")
# anna (role inzage): normaal and opgeheven, from both logs, grouped by verwerking, in time order
ANNA = [
    ("Intake", [["sociaal", "Intakegesprek", "01-02-2024 09:00:00 (+01:00)", "eigen organisatie"]]),
    ("Huwelijk", [["eigen log", "Raadplegen persoon", "01-03-2024 10:00:00 (+01:00)", "OIN 00000001002220647000"],
                  ["sociaal", "Toetsen getuige", "01-03-2024 12:00:00 (+01:00)", "eigen organisatie"],
                  ["eigen log", "Controleren getuigen", "02-03-2024 11:30:00 (+01:00)", "eigen organisatie"]]),
    ("Schuldhulp", [["sociaal", "Uitbetalen", "10-04-2024 09:00:00 (+02:00)", "OIN 00000001003214345000"]]),
]


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    fed = start_federation(tmp_path_factory.mktemp("federation"))
    yield fed
    for server in (fed.front, fed.sociaal, fed.kapot):
        if server.running:
            server.stop()


def search(federation: Federation, user: str, path: str = "/inzage/zoeken", **extra: str) -> tuple[int, str, bytes]:
    client, token = logged_in(federation.front, user)
    try:
        r = client.post(path, data={"csrf": token, "bsn": BSN, **PERIOD, **extra})
        return r.status_code, r.text, r.content
    finally:
        client.close()


def group_ids(federation: Federation, groups: list[tuple[str, list[list[str]]]]) -> list[tuple[str, list[list[str]]]]:
    """The h3 text without the verwerkingId the page shows after the name (checked separately)."""
    return [(title.split(" ")[0], [row[:4] for row in rows]) for title, rows in groups]


def test_the_search_merges_both_logs_in_time_order_and_names_the_stopped_one(federation: Federation) -> None:
    before = {name: inzage_count(getattr(federation, name)) for name in ("front", "sociaal")}
    status, html, _ = search(federation, "anna")
    assert status == 200
    page = read_page(html)
    assert group_ids(federation, page.groups) == ANNA
    huwelijk = next(rows for title, rows in page.groups if title.startswith("Huwelijk"))
    assert next(t for t, _ in page.groups if t.startswith("Huwelijk")) == f"Huwelijk {federation.verwerkingen['Huwelijk']}"
    # the peer's row gets the doel of the register version valid at its tijdstip, like the front's own
    assert huwelijk[1][4] == f"{OUD_DOEL} Raadplegen persoonsgegevens voor huwelijk"
    assert page.texts["alert"] == [BANNER]
    assert page.texts["status"] == ["5 verwerkingsacties in 3 verwerkingen."]
    assert "Zoekt in dit log en in de andere logs van de organisatie: sociaal, kapot." in page.texts["logs"][0]
    # every log asked recorded exactly one Inzage for this search (the peer: one page of results)
    assert {name: inzage_count(getattr(federation, name)) for name in ("front", "sociaal")} == {
        name: count + 1 for name, count in before.items()}
    for text in ("Geheim onderzoek", "Andermans dossier", "Vorig jaar", "Vertrouwelijk"):
        assert text not in html
    front_log = federation.front.log_text()
    assert "peer kapot did not answer the Inzage: ConnectError" in front_log
    for secret in (BSN, OTHER_BSN, PEER_SECRET, SECRET):
        assert secret not in front_log


def test_the_confidential_role_is_told_that_peers_show_no_vertrouwelijk(federation: Federation) -> None:
    status, html, _ = search(federation, "vera")
    assert status == 200
    page = read_page(html)
    # vera also sees the front's vertrouwelijk Bijstand; the peer's vertrouwelijk action never
    # comes through its Inzage API
    assert [t.split(" ")[0] for t, _ in page.groups] == ["Intake", "Huwelijk", "Schuldhulp", "Bijstand"]
    assert page.groups[-1][1][0][:2] == ["eigen log", "Beoordelen aanvraag Vertrouwelijk"]
    assert "Geheim onderzoek" not in html
    assert page.texts["logs"][0] == (
        "Zoekt in dit log en in de andere logs van de organisatie: sociaal, kapot. Elk ander log legt de vraag "
        "zelf ook als inzage vast. Vertrouwelijke verwerkingen uit de andere logs zijn hier niet te zien: hun "
        "Inzage-API geeft die niet.")


def test_the_downloads_carry_the_log_and_say_they_are_partial(federation: Federation) -> None:
    before = inzage_count(federation.sociaal)
    status, _, content = search(federation, "anna", "/inzage/download", formaat="json")
    assert status == 200
    answer = json.loads(content)
    assert (answer["complete"], answer["missing"]) == (False, ["kapot"])
    assert answer["logs"] == {"self": {"complete": True}, "sociaal": {"complete": True},
                              "kapot": {"complete": False, "reden": "niet bereikbaar"}}
    assert [(v["verwerking_naam"], [(a["log"], a["actie_naam"], a["vertrouwelijkheid"]) for a in v["acties"]])
            for v in answer["verwerkingen"]] == [
        ("Intake", [("sociaal", "Intakegesprek", "opgeheven")]),
        ("Huwelijk", [("self", "Raadplegen persoon", "normaal"), ("sociaal", "Toetsen getuige", "normaal"),
                      ("self", "Controleren getuigen", "normaal")]),
        ("Schuldhulp", [("sociaal", "Uitbetalen", "normaal")])]
    status, _, content = search(federation, "anna", "/inzage/download", formaat="csv")
    assert status == 200
    text = content.decode("utf-8-sig")
    first, rest = text.split("\r\n", 1)
    assert first == "# ONVOLLEDIG: geen (volledig) antwoord van: kapot (niet bereikbaar)"
    rows = list(csv.DictReader(io.StringIO(rest)))
    assert list(rows[0])[:3] == ["log", "verwerking_id", "verwerking_naam"]
    assert [(r["log"], r["actie_naam"], r["tijdstip"]) for r in rows] == [
        ("sociaal", "Intakegesprek", "2024-02-01T09:00:00+01:00"),
        ("self", "Raadplegen persoon", "2024-03-01T10:00:00+01:00"),
        ("sociaal", "Toetsen getuige", "2024-03-01T12:00:00+01:00"),
        ("self", "Controleren getuigen", "2024-03-02T11:30:00+01:00"),
        ("sociaal", "Uitbetalen", "2024-04-10T09:00:00+02:00")]
    assert inzage_count(federation.sociaal) == before + 2  # each download is a look at the peer too


def test_the_result_is_complete_once_the_stopped_log_runs(federation: Federation) -> None:
    federation.kapot.start()
    try:
        status, html, _ = search(federation, "anna")
        page = read_page(html)
        assert page.texts["alert"] == []
        assert page.texts["logs"][1] == "Alle logs hebben geantwoord: eigen log, sociaal, kapot."
        assert group_ids(federation, page.groups) == ANNA  # kapot holds nothing of this person
        assert inzage_count(federation.kapot) == 1
        _, _, content = search(federation, "anna", "/inzage/download", formaat="csv")
        assert content.decode("utf-8-sig").split("\r\n", 1)[0] == (
            "# VOLLEDIG: alle logs hebben geantwoord: self, sociaal, kapot")
        _, _, content = search(federation, "anna", "/inzage/download", formaat="json")
        assert (json.loads(content)["complete"], json.loads(content)["missing"]) == (True, [])
    finally:
        federation.kapot.stop()


def test_a_peer_that_refuses_our_credentials_is_named_and_logs_nothing(federation: Federation,
                                                                         tmp_path: Path) -> None:
    peers = write_peers(tmp_path, {"sociaal": federation.sociaal.api_url}, secrets={"sociaal": WRONG_SECRET})
    before = inzage_count(federation.sociaal)
    with start_server(tmp_path, "--peers", str(peers)) as front:
        page = read_page(search(Federation(front, federation.sociaal, federation.kapot, {}), "anna")[1])
        assert page.texts["alert"] == [
            "Onvolledig resultaat. Niet alle logs hebben geantwoord; dit overzicht kan verwerkingen missen. "
            "Ontbreekt: sociaal (toegang geweigerd, HTTP 401)."]
        assert page.groups == []  # this front holds nothing, the peer gave nothing
        assert "peer sociaal did not answer the Inzage: HTTP 401" in front.log_text()
        assert WRONG_SECRET not in front.log_text() and BSN not in front.log_text()
    assert inzage_count(federation.sociaal) == before


# -- a peer that returns what the page must not show ----------------------------------------------------

VREEMD = [
    [crafted("Vreemd normaal", "2024-05-01T10:00:00+02:00", "normaal", actie_id="a1"),
     crafted("Vreemd vertrouwelijk", "2024-05-02T10:00:00+02:00", "vertrouwelijk"),
     crafted("Vreemd opgeheven", "2024-05-03T10:00:00+02:00", "opgeheven"),
     crafted("Vreemd geheim", "2024-05-04T10:00:00+02:00", "geheim")],
    [crafted("Vreemd normaal", "2024-05-01T10:00:00+02:00", "normaal", actie_id="a1"),  # a second object
     crafted("Vreemd ander persoon", "2024-05-05T10:00:00+02:00", "normaal", bsn=OTHER_BSN),
     crafted("Vreemd buiten de periode", "2025-01-01T00:30:00+01:00", "normaal")],
]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LogServer, HostilePeer, HostilePeer]]:
    """A front whose peers are `vreemd` (crafted rows over two pages), `storing` (503), `rommel`
    (one good row and one that is no Inzage result) and `traag` (answers after its 1 s timeout)."""
    tmp = tmp_path_factory.mktemp("hostile")
    vreemd = HostilePeer(VREEMD)
    storing = HostilePeer([[]], status=503)
    broken = crafted("Rommel goed", "2024-07-01T10:00:00+02:00", "normaal")
    rommel = HostilePeer([[broken, {"objecttype": "persoon", "verwerkingsactie": {"actieNaam": "zonder tijdstip"}}]])
    traag = HostilePeer([[crafted("Te laat", "2024-08-01T10:00:00+02:00", "normaal")]], hold=threading.Event())
    with uvicorn_server(vreemd) as a, uvicorn_server(storing) as b, uvicorn_server(rommel) as c, \
            uvicorn_server(traag) as d:
        peers = write_peers(tmp, {"vreemd": f"{a}/api/v1", "storing": f"{b}/api/v1", "rommel": f"{c}/api/v1",
                                  "traag": f"{d}/api/v1"}, timeouts={"traag": 1})
        front = start_server(tmp, "--peers", str(peers))
        try:
            yield front, vreemd, storing
        finally:
            front.stop()
            traag.hold.set()


def test_the_role_rule_holds_whatever_a_peer_returns(hostile: tuple[LogServer, HostilePeer, HostilePeer]) -> None:
    front, vreemd, storing = hostile
    fed = Federation(front, front, front, {})
    expected_alert = ("Onvolledig resultaat. Niet alle logs hebben geantwoord; dit overzicht kan verwerkingen "
                      "missen. Ontbreekt: storing (foutmelding, HTTP 503), rommel (1 onleesbaar resultaat), traag (geen "
                      "antwoord binnen de wachttijd).")
    seen = {}
    for user in ("anna", "vera"):
        vreemd.requests.clear()
        page = read_page(search(fed, user)[1])
        assert page.texts["alert"] == [expected_alert]
        seen[user] = [(row[0], row[1]) for _, rows in page.groups for row in rows]
        # every page asked at the peer's own address by number, never at the `next` link it gave
        assert [(path, query.get("page")) for path, query, _ in vreemd.requests] == [
            ("/api/v1/verwerkte-objecten", None), ("/api/v1/verwerkte-objecten", "2")]
        assert vreemd.requests[0][1] == {"objecttype": "persoon", "soortObjectId": "BSN", "objectId": BSN,
                                         "beginDatum": "2024-01-01", "eindDatum": "2025-01-01"}
        claims = jwt.decode(vreemd.requests[0][2].removeprefix("Bearer "), PEER_SECRET, algorithms=["HS256"])
        assert claims["client_id"] == PEER_CLIENT  # asked with the peer's own credentials
    assert "Te laat" not in str(seen)
    assert seen["anna"] == [("vreemd", "Vreemd normaal"), ("vreemd", "Vreemd opgeheven"),
                            ("rommel", "Rommel goed")]
    assert seen["vera"] == [("vreemd", "Vreemd normaal"), ("vreemd", "Vreemd vertrouwelijk Vertrouwelijk"),
                            ("vreemd", "Vreemd opgeheven"), ("rommel", "Rommel goed")]
    assert len(storing.requests) == 2  # asked once per search, answered 503
    log = front.log_text()
    assert "peer vreemd returned 4 result(s) outside the question or the user's role; left out" in log
    assert "peer rommel returned 1 result(s) that are not Inzage results" in log
    assert "peer storing did not answer the Inzage: HTTP 503" in log
    assert "peer traag did not answer the Inzage: ReadTimeout" in log
    assert BSN not in log and OTHER_BSN not in log
