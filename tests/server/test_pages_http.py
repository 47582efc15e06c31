"""The /inzage pages over plain HTTP: cookie flags, headers, rate limit, idle timeout, form limits."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from tests.server.pages_support import BSN, PASSWORDS, inzage_actions, seed_actions, start_server
from tests.support.logserver import LogServer


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LogServer]:
    srv = start_server(tmp_path, "--inzage-idle-timeout", "3")
    yield srv
    srv.stop()


def csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def login(client: httpx.Client, user: str = "anna", password: str | None = None) -> httpx.Response:
    token = csrf(client.get("/inzage").text)
    return client.post("/inzage/inloggen", data={"csrf": token, "gebruiker": user,
                                                 "wachtwoord": PASSWORDS[user] if password is None else password})


def test_cookies_headers_and_session_lifecycle(server: LogServer) -> None:
    with httpx.Client(base_url=server.base_url) as client:
        first = client.get("/inzage")
        assert first.headers["set-cookie"].startswith("vo_inzage_csrf=")
        assert "HttpOnly" in first.headers["set-cookie"] and "SameSite=strict" in first.headers["set-cookie"]
        assert "Secure" not in first.headers["set-cookie"]  # plain http on loopback
        assert first.headers["cache-control"] == "no-store"
        assert first.headers["content-security-policy"].startswith("default-src 'none'; style-src 'self'")
        r = login(client)
        assert (r.status_code, r.headers["location"]) == (303, "/inzage")
        session_cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("vo_inzage="))
        assert "HttpOnly" in session_cookie and "SameSite=strict" in session_cookie and "Path=/inzage" in session_cookie
        page = client.get("/inzage")
        assert "Ingelogd als <strong>anna</strong>" in page.text
        token = csrf(page.text)
        form = {"csrf": token, "bsn": BSN, "begin": "2024-01-01", "eind": "2024-12-31"}
        assert client.post("/inzage/zoeken", data=form).status_code == 200
        # Idle for longer than --inzage-idle-timeout (3 s). This sleep is the idleness under test:
        # polling would touch the session and keep it alive.
        time.sleep(3.5)  # deliberate: the idle period under test
        r = client.post("/inzage/zoeken", data=form)
        assert r.status_code == 401 and "U bent niet (meer) ingelogd." in r.text


def test_the_session_cookie_is_secure_over_https(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    from tests.server.pages_support import EXAMPLE_REGISTER, add_users
    from verwerkingen_otel.server.app import create_app
    from verwerkingen_otel.server.settings import Settings

    settings = Settings(database_url=f"sqlite:///{tmp_path / 'log.db'}", register_file=str(EXAMPLE_REGISTER),
                        users_file=str(add_users(tmp_path / "users.toml")))
    with TestClient(create_app(settings), base_url="https://log.gemeente.example") as client:
        r = client.get("/inzage")
        assert "Secure" in r.headers["set-cookie"]
        r = client.post("/inzage/inloggen", data={"csrf": csrf(r.text), "gebruiker": "anna",
                                                  "wachtwoord": PASSWORDS["anna"]}, follow_redirects=False)
        assert r.status_code == 303
        assert all("Secure" in c for c in r.headers.get_list("set-cookie"))


def test_login_is_rate_limited(server: LogServer) -> None:
    with httpx.Client(base_url=server.base_url) as client:
        for _ in range(5):
            r = login(client, password="geraden wachtwoord")
            assert r.status_code == 401 and "Gebruikersnaam of wachtwoord is onjuist." in r.text
        r = login(client)  # the right password, but too many failures just now
        assert r.status_code == 429 and "Te veel mislukte pogingen." in r.text
        r = login(client, "vera")  # the limit is per address too
        assert r.status_code == 429


def test_forms_without_token_or_too_large_are_refused_and_nothing_is_logged(server: LogServer) -> None:
    seed_actions(server)
    with httpx.Client(base_url=server.base_url) as client:
        r = client.post("/inzage/inloggen", data={"gebruiker": "anna", "wachtwoord": PASSWORDS["anna"]})
        assert r.status_code == 403 and "Verzoek geweigerd" in r.text
        assert login(client).status_code == 303
        token = csrf(client.get("/inzage").text)
        r = client.post("/inzage/zoeken", data={"csrf": token, "bsn": BSN, "begin": "2024-01-01",
                                                "eind": "2024-12-31", "x": "y" * 20_000})
        assert r.status_code == 403
        r = client.post("/inzage/zoeken", data={"csrf": token, "bsn": "123456789", "begin": "2024-02-30",
                                                "eind": "2023-01-01"})
        assert r.status_code == 400
        assert "Vul een geldig BSN in" in r.text and "Vul een geldige begindatum in" in r.text
        assert "123456789" not in r.text  # an invalid BSN is not echoed back
        r = client.post("/inzage/download", data={"csrf": token, "bsn": BSN, "begin": "2024-01-01",
                                                  "eind": "2024-12-31", "formaat": "xml"})
        assert r.status_code == 400
        assert inzage_actions(server) == 0
        r = client.post("/inzage/download", data={"csrf": token, "bsn": BSN, "begin": "2024-01-01",
                                                  "eind": "2024-12-31", "formaat": "csv"})
        assert r.status_code == 200 and r.headers["content-disposition"] == (
            'attachment; filename="inzage-2024-01-01-2024-12-31.csv"')
        assert r.headers["cache-control"] == "no-store"
        # without --peers: no status line, no `log` column (the CSV of one log)
        assert r.content.decode("utf-8-sig").split("\r\n")[0] == (
            "verwerking_id,verwerking_naam,actie_id,actie_naam,tijdstip,afnemer,vertrouwelijkheid,"
            "verwerkingsactiviteit_id,activiteit_naam,doel,grondslag,toelichting_grondslag,bewaartermijn")
        assert inzage_actions(server) == 1
    assert BSN not in server.log_text()


def test_without_a_users_file_inzage_is_off(tmp_path: Path) -> None:
    with LogServer(clients={"a": ("x" * 40, [])}, extra_args=["--register", str(Path(__file__).resolve().parents[2]
                   / "examples" / "register" / "register.toml")]) as srv:
        r = httpx.get(f"{srv.base_url}/inzage")
        assert r.status_code == 404 and "Inzage niet ingeschakeld" in r.text
        assert httpx.get(f"{srv.base_url}/register").status_code == 200


def test_peildatum_serves_the_version_valid_on_that_date(server: LogServer) -> None:
    from tests.server.pages_support import HUWELIJK, OUD_DOEL

    url = f"{server.api_url}/verwerkingsactiviteiten/{HUWELIJK}"
    assert httpx.get(url, params={"peildatum": "2021-06-30"}).json()["doel"] == OUD_DOEL
    assert httpx.get(url, params={"peildatum": "2020-01-01"}).json()["doel"] == OUD_DOEL  # valid from that day
    assert httpx.get(url, params={"peildatum": "2019-12-31"}).status_code == 404  # did not exist yet
    assert httpx.get(url).json()["doel"].startswith("Controleren of de aanstaande echtgenoten")
    listed = httpx.get(f"{server.api_url}/verwerkingsactiviteiten", params={"peildatum": "2021-06-30"}).json()
    assert listed["count"] == 3 and OUD_DOEL in [a["doel"] for a in listed["results"]]
