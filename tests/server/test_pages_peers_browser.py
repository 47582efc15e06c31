"""The /inzage page with `serve --peers` in a real headless Chromium: the privacy officer searches a
front log whose peer `sociaal` answers and whose peer `kapot` is stopped, reads the merged rows
with their Log column and the banner that names the missing log, and downloads JSON and CSV that
say the same. Each log asked records exactly one Inzage per search and per download.

With VERWERKINGEN_TEST_SCREENSHOTS=1 the screenshot is written into docs/ (inzage-pagina-logs.png).
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from pathlib import Path
from typing import Iterator

import pytest

from tests.server.pages_support import BSN, OTHER_BSN, PASSWORDS, ROOT
from tests.server.peers_support import Federation, inzage_count, start_federation
from tests.support.browser import Browser

BANNER = ("Onvolledig resultaat. Niet alle logs hebben geantwoord; dit overzicht kan verwerkingen missen. "
          "Ontbreekt: kapot (niet bereikbaar).")


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    fed = start_federation(tmp_path_factory.mktemp("federation"))
    yield fed
    for server in (fed.front, fed.sociaal):
        server.stop()


def login_and_search(browser: Browser, federation: Federation, user: str) -> None:
    browser.driver.get(f"{federation.front.base_url}/inzage")
    browser.fill("#gebruiker", user)
    browser.fill("#wachtwoord", PASSWORDS[user])
    browser.find("form[action='/inzage/inloggen'] button").click()
    browser.wait_for(lambda: browser.driver.title == "Inzage in verwerkingen · Verwerkingenlog")
    browser.fill("#bsn", BSN)
    browser.fill("#begin", "2024-01-01")
    browser.fill("#eind", "2024-12-31")
    browser.find("form[action='/inzage/zoeken'] button").click()
    browser.wait_for(lambda: browser.find_all(".resultaat"))


def rows(browser: Browser) -> list[tuple[str, list[list[str]]]]:
    return [(g.find_element("css selector", "h3").text.split(" ")[0],
             [[td.text for td in tr.find_elements("css selector", "td")][:3]
              for tr in g.find_elements("css selector", "tbody tr")])
            for g in browser.find_all("article.verwerking")]


def test_the_officer_sees_both_logs_the_missing_one_and_downloads_the_same(federation: Federation,
                                                                            browser: Browser, tmp_path: Path) -> None:
    before = {name: inzage_count(getattr(federation, name)) for name in ("front", "sociaal")}
    login_and_search(browser, federation, "anna")
    assert [th.text for th in browser.find_all("article.verwerking thead th")][:2] == ["Log", "Actie"]
    assert rows(browser) == [
        ("Intake", [["sociaal", "Intakegesprek", "01-02-2024 09:00:00 (+01:00)"]]),
        ("Huwelijk", [["eigen log", "Raadplegen persoon", "01-03-2024 10:00:00 (+01:00)"],
                      ["sociaal", "Toetsen getuige", "01-03-2024 12:00:00 (+01:00)"],
                      ["eigen log", "Controleren getuigen", "02-03-2024 11:30:00 (+01:00)"]]),
        ("Schuldhulp", [["sociaal", "Uitbetalen", "10-04-2024 09:00:00 (+02:00)"]]),
    ]
    banner = browser.find(".resultaat [role=alert]")
    assert " ".join(banner.text.split()) == BANNER
    assert browser.find(".resultaat [role=status]").text == "5 verwerkingsacties in 3 verwerkingen."
    assert "vertrouwelijk" not in browser.find(".resultaat").text.lower()
    assert {n: inzage_count(getattr(federation, n)) for n in ("front", "sociaal")} == {
        n: c + 1 for n, c in before.items()}
    path = tmp_path / "inzage-pagina-logs.png"
    browser.screenshot(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("VERWERKINGEN_TEST_SCREENSHOTS"):
        shutil.copy(path, ROOT / "docs" / path.name)

    browser.find("form.download button[value=json]").click()
    answer = json.loads(browser.download(".json").read_text(encoding="utf-8"))
    assert (answer["complete"], answer["missing"]) == (False, ["kapot"])
    assert [(a["log"], a["actie_naam"]) for v in answer["verwerkingen"] for a in v["acties"]] == [
        ("sociaal", "Intakegesprek"), ("self", "Raadplegen persoon"), ("sociaal", "Toetsen getuige"),
        ("self", "Controleren getuigen"), ("sociaal", "Uitbetalen")]
    browser.find("form.download button[value=csv]").click()
    first, rest = browser.download(".csv").read_text(encoding="utf-8-sig").split("\n", 1)
    assert first.rstrip("\r") == "# ONVOLLEDIG: geen (volledig) antwoord van: kapot (niet bereikbaar)"
    assert [(r["log"], r["actie_naam"]) for r in csv.DictReader(io.StringIO(rest))] == [
        ("sociaal", "Intakegesprek"), ("self", "Raadplegen persoon"), ("sociaal", "Toetsen getuige"),
        ("self", "Controleren getuigen"), ("sociaal", "Uitbetalen")]
    # the search and both downloads: one Inzage each, in this log and in the peer
    assert {n: inzage_count(getattr(federation, n)) for n in ("front", "sociaal")} == {
        n: c + 3 for n, c in before.items()}
    assert [u for u in browser.urls() if BSN in u] == []
    for server in (federation.front, federation.sociaal):
        assert BSN not in server.log_text() and OTHER_BSN not in server.log_text()


def test_the_confidential_role_sees_its_own_vertrouwelijk_but_is_told_about_the_peers(
        federation: Federation, browser: Browser) -> None:
    login_and_search(browser, federation, "vera")
    assert [title for title, _ in rows(browser)] == ["Intake", "Huwelijk", "Schuldhulp", "Bijstand"]
    marked = browser.find_all("tr.vertrouwelijk")
    assert [[td.text for td in tr.find_elements("css selector", "td")][:2] for tr in marked] == [
        ["eigen log", "Beoordelen aanvraag Vertrouwelijk"]]
    assert "Geheim onderzoek" not in browser.find(".resultaat").text
    assert "Vertrouwelijke verwerkingen uit de andere logs zijn hier niet te zien" in browser.find("p.logs").text
