"""The transparency pages in a real headless Chromium: /register for citizens, /inzage for the
privacy officer (login, search, results with the doel of that time, downloads, logout, CSRF).

With VERWERKINGEN_TEST_SCREENSHOTS=1 the screenshots of both pages are written into docs/.
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

from tests.server.pages_support import (
    BSN, OTHER_BSN, OUD_DOEL, PASSWORDS, ROOT, inzage_actions, seed_actions, start_server,
)
from tests.support.browser import Browser
from tests.support.logserver import LogServer

DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LogServer]:
    srv = start_server(tmp_path_factory.mktemp("pages"))
    seed_actions(srv)
    yield srv
    srv.stop()


def screenshot(browser: Browser, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    browser.screenshot(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("VERWERKINGEN_TEST_SCREENSHOTS"):
        shutil.copy(path, DOCS / name)


def login(browser: Browser, server: LogServer, user: str) -> None:
    browser.driver.get(f"{server.base_url}/inzage")
    assert browser.driver.title == "Inloggen voor inzage · Verwerkingenlog"
    browser.fill("#gebruiker", user)
    browser.fill("#wachtwoord", PASSWORDS[user])
    browser.find("form[action='/inzage/inloggen'] button").click()
    browser.wait_for(lambda: browser.driver.title == "Inzage in verwerkingen · Verwerkingenlog")


def search(browser: Browser, bsn: str, begin: str = "2024-01-01", eind: str = "2024-12-31") -> None:
    browser.fill("#bsn", bsn)
    browser.fill("#begin", begin)
    browser.fill("#eind", eind)
    browser.find("form[action='/inzage/zoeken'] button").click()
    browser.wait_for(lambda: browser.find_all(".resultaat") or browser.find_all(".melding"))


def test_register_page_shows_and_filters_the_register(server: LogServer, browser: Browser, tmp_path: Path) -> None:
    browser.driver.get(f"{server.base_url}/register")
    assert browser.driver.title == "Register van verwerkingsactiviteiten · Verwerkingenlog"
    names = [h.text for h in browser.find_all("article.activiteit h2")]
    assert names == ["Beoordelen bijstandsaanvraag", "Raadplegen persoonsgegevens voor huwelijk",
                     "Wijzigen van geslachtsnaam"]
    first = browser.find("article.activiteit").text
    for text in ("Vaststellen of de aanvrager recht heeft op bijstand", "Publieke taak", "Participatiewet, artikel 11",
                 "Inkomen (aanvrager)", "Inlichtingenbureau", "10 jaar na beëindiging van de uitkering",
                 "Betrokkene, BRP, UWV, Belastingdienst"):
        assert text in first
    screenshot(browser, tmp_path, "register-pagina.png")
    from selenium.webdriver.support.ui import Select
    Select(browser.find("#categorie")).select_by_visible_text("Sociaal domein")
    browser.find("form.filter button").click()
    browser.wait_for(lambda: "categorie=Sociaal" in browser.driver.current_url)
    assert [h.text for h in browser.find_all("article.activiteit h2")] == ["Beoordelen bijstandsaanvraag"]
    assert browser.find("p.aantal").text == "1 verwerkingsactiviteit in de categorie Sociaal domein."


def test_the_privacy_officer_searches_downloads_and_logs_out(server: LogServer, browser: Browser,
                                                            tmp_path: Path) -> None:
    looks_before = inzage_actions(server)
    browser.driver.get(f"{server.base_url}/inzage")
    browser.fill("#gebruiker", "anna")
    browser.fill("#wachtwoord", "niet het wachtwoord")
    browser.find("form[action='/inzage/inloggen'] button").click()
    assert browser.wait_for(lambda: browser.find_all(".melding"))[0].text == "Gebruikersnaam of wachtwoord is onjuist."
    login(browser, server, "anna")

    search(browser, BSN)
    assert BSN not in browser.driver.title
    groups = browser.find_all("article.verwerking")
    assert [g.find_element("css selector", "h3").text.split(" ")[0] for g in groups] == ["Huwelijk"]
    rows = [[td.text for td in tr.find_elements("css selector", "td")]
            for tr in groups[0].find_elements("css selector", "tbody tr")]
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("Raadplegen persoon", "01-03-2024 10:00:00 (+01:00)", "OIN 00000001002220647000"),
        ("Controleren getuigen", "02-03-2024 11:30:00 (+01:00)", "eigen organisatie")]
    assert rows[0][3] == f"{OUD_DOEL}\nRaadplegen persoonsgegevens voor huwelijk"  # the doel of 2024, not today's
    assert rows[0][4].startswith("Wettelijke verplichting")
    assert "vertrouwelijk" not in browser.find(".resultaat").text.lower()  # not for the `inzage` role
    assert browser.find(".resultaat [role=status]").text == "2 verwerkingsacties in 1 verwerking."
    assert browser.find_all("p.logs") == [] and browser.find_all(".resultaat [role=alert]") == []
    assert [th.text for th in groups[0].find_elements("css selector", "thead th")] == [
        "Actie", "Tijdstip", "Afnemer", "Doel", "Grondslag"]  # no Log column without --peers
    assert inzage_actions(server) == looks_before + 1  # the search itself is logged

    browser.find("form.download button[value=json]").click()
    answer = json.loads(browser.download(".json").read_text(encoding="utf-8"))
    assert answer["betrokkene"] == {"objecttype": "persoon", "soortObjectId": "BSN", "objectId": BSN}
    assert answer["periode"] == {"van": "2024-01-01", "totEnMet": "2024-12-31"}
    assert [a["actie_naam"] for v in answer["verwerkingen"] for a in v["acties"]] == [
        "Raadplegen persoon", "Controleren getuigen"]
    assert answer["verwerkingen"][0]["acties"][0]["doel"] == OUD_DOEL
    # without --peers: one log, so no completeness fields and no `log` per action
    assert list(answer) == ["betrokkene", "periode", "verwerkingen"]
    assert all("log" not in a for v in answer["verwerkingen"] for a in v["acties"])
    browser.find("form.download button[value=csv]").click()
    rows_csv = list(csv.DictReader(io.StringIO(browser.download(".csv").read_text(encoding="utf-8-sig"))))
    assert [(r["actie_naam"], r["grondslag"]) for r in rows_csv] == [
        ("Raadplegen persoon", "Wettelijke verplichting"), ("Controleren getuigen", "Wettelijke verplichting")]
    assert inzage_actions(server) == looks_before + 3  # each download is a look as well

    browser.find("form[action='/inzage/uitloggen'] button").click()
    browser.wait_for(lambda: browser.driver.title == "Inloggen voor inzage · Verwerkingenlog")
    browser.driver.get(f"{server.base_url}/inzage")
    assert browser.find_all("#gebruiker")  # logged out: the login form again

    visited = browser.urls()
    assert any(u.endswith("/inzage/zoeken") for u in visited) and any(u.endswith("/inzage/download") for u in visited)
    assert [u for u in visited if BSN in u] == []
    assert BSN not in server.log_text() and OTHER_BSN not in server.log_text()


def test_the_confidential_role_sees_vertrouwelijk_actions_marked(server: LogServer, browser: Browser,
                                                                 tmp_path: Path) -> None:
    login(browser, server, "vera")
    search(browser, BSN)
    titles = [h.text for h in browser.find_all("article.verwerking h3")]
    assert [t.split(" ")[0] for t in titles] == ["Huwelijk", "Bijstand"]
    marked = browser.find_all("tr.vertrouwelijk")
    assert len(marked) == 1
    cells = [td.text for td in marked[0].find_elements("css selector", "td")]
    assert cells[0] == "Beoordelen aanvraag Vertrouwelijk"
    assert cells[3] == "Vaststellen of de aanvrager recht heeft op bijstand\nBeoordelen bijstandsaanvraag"
    screenshot(browser, tmp_path, "inzage-pagina.png")
    assert [u for u in browser.urls() if BSN in u] == []


def test_forged_forms_are_refused(server: LogServer, browser: Browser) -> None:
    looks_before = inzage_actions(server)
    login(browser, server, "anna")
    # same page, token taken out: refused
    browser.fill("#bsn", BSN)
    browser.fill("#begin", "2024-01-01")
    browser.fill("#eind", "2024-12-31")
    browser.driver.execute_script("document.querySelector(\"form[action='/inzage/zoeken'] input[name=csrf]\").remove()")
    browser.find("form[action='/inzage/zoeken'] button").click()
    browser.wait_for(lambda: browser.driver.title.startswith("Verzoek geweigerd"))
    assert "Het formulier is verlopen of niet van deze pagina afkomstig." in browser.find(".melding").text
    # a wrong token: refused
    browser.driver.get(f"{server.base_url}/inzage")
    browser.driver.execute_script(
        "document.querySelector(\"form[action='/inzage/zoeken'] input[name=csrf]\").value = 'vervalst'")
    search(browser, BSN)
    assert browser.driver.title.startswith("Verzoek geweigerd")
    # another site's form: the SameSite=Strict cookie is not sent, so not logged in
    forged = (f"data:text/html,<form method=post action='{server.base_url}/inzage/zoeken'>"
              "<input name=bsn value=111222333><button>go</button></form>")
    browser.driver.get(forged)
    browser.find("button").click()
    browser.wait_for(lambda: browser.driver.title.startswith("Verzoek geweigerd"))
    assert "U bent niet (meer) ingelogd." in browser.find(".melding").text
    assert inzage_actions(server) == looks_before  # nothing was searched, so nothing logged


def test_the_pages_work_by_keyboard_and_label_every_field(server: LogServer, browser: Browser) -> None:
    from selenium.webdriver.common.keys import Keys

    for path in ("/register", "/inzage"):
        browser.driver.get(f"{server.base_url}{path}")
        assert browser.find("html").get_attribute("lang") == "nl"
        assert len(browser.find_all("h1")) == 1 and browser.find_all("main")
        for field in browser.find_all("input:not([type=hidden]), select"):
            assert browser.find_all(f"label[for='{field.get_attribute('id')}']"), (path, field.get_attribute("name"))
        assert browser.find_all("script") == []
    # log in with the keyboard only: the skip link first, then the fields in order, Enter submits
    browser.driver.get(f"{server.base_url}/inzage")
    body = browser.find("body")
    body.send_keys(Keys.TAB)
    active = browser.driver.switch_to.active_element
    assert active.text == "Naar de inhoud"
    active.send_keys(Keys.ENTER)
    browser.wait_for(lambda: browser.driver.current_url.endswith("#inhoud"))
    browser.find("#gebruiker").send_keys("anna", Keys.TAB)
    browser.driver.switch_to.active_element.send_keys(PASSWORDS["anna"], Keys.ENTER)
    browser.wait_for(lambda: browser.driver.title == "Inzage in verwerkingen · Verwerkingenlog")
    assert "Ingelogd als anna" in browser.find(".sessie").text
