"""Issue 11, server side: the Inzage record cannot be hidden or shortened by its reader (item 5),
tokens must expire and cannot be probed (item 6), links behind a TLS proxy (item 4)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import httpx
import jwt
import pytest

from tests.server.conftest import actie_body, person_params, random_bsn, secret_of
from tests.server.test_cli import run_cli
from tests.support.logserver import LogServer, mint_token, write_clients_file

WINDOW = {"beginDatum": "2024-01-01", "eindDatum": "2025-01-01"}
INZAGE_ACTIVITEIT = "6c2b1f5e-4b3f-4d7e-9b1a-0e3a1c2d4f5a"
SECRET = "hardening-tests-secret-0123456789abcdef0123"


def inzage_record(api: Any, bsn: str) -> dict[str, Any]:
    [logged] = api.list(bsn, verwerkingsactiviteitId=INZAGE_ACTIVITEIT).json()["results"]
    return logged


# --- item 5: the log's own record of an Inzage ---------------------------------------------------

@pytest.mark.parametrize("reader", ["read-normal", "read-conf", "update-conf"])
def test_a_reader_cannot_hide_or_shorten_the_record_of_its_own_read(api, reader):
    bsn = random_bsn()
    api.create(actie_body(bsn))
    headers = {"Vertrouwelijkheid": "vertrouwelijk", "Bewaartermijn": "P1D", "OIN": "00000001821002193000"}
    r = api.get("/verwerkte-objecten", params=person_params(bsn, **WINDOW), client=reader, headers=headers)
    assert r.status_code == 200
    logged = inzage_record(api, bsn)
    assert (logged["vertrouwelijkheid"], logged["bewaartermijn"]) == ("normaal", "P1Y")
    assert (logged["soortAfnemerId"], logged["afnemerId"]) == ("OIN", "00000001821002193000")
    log = api.server.wait_for_log("Vertrouwelijkheid ignored on an Inzage call")
    assert "inbound header Vertrouwelijkheid ignored on an Inzage call" in log
    assert "inbound header Bewaartermijn ignored on an Inzage call" in log


def test_the_detail_read_is_recorded_the_same_way(api):
    bsn = random_bsn()
    oid = api.create(actie_body(bsn))["verwerkteObjecten"][0]["verwerktObjectId"]
    r = api.get(f"/verwerkte-objecten/{oid}", client="read-normal",
                headers={"Vertrouwelijkheid": "vertrouwelijk", "Bewaartermijn": "P1D"})
    assert r.status_code == 200
    logged = inzage_record(api, bsn)
    assert (logged["vertrouwelijkheid"], logged["bewaartermijn"]) == ("normaal", "P1Y")


def test_create_confidential_may_mark_its_read_vertrouwelijk_but_not_shorten_it(api):
    bsn = random_bsn()
    api.create(actie_body(bsn))
    r = api.get("/verwerkte-objecten", params=person_params(bsn, **WINDOW), client="all",
                headers={"Vertrouwelijkheid": "vertrouwelijk", "Bewaartermijn": "P1D"})
    assert r.status_code == 200
    logged = inzage_record(api, bsn)
    assert (logged["vertrouwelijkheid"], logged["bewaartermijn"]) == ("vertrouwelijk", "P1Y")


# --- item 6: tokens --------------------------------------------------------------------------------

def post_with(api: Any, token: str) -> httpx.Response:
    return api.request("POST", "/verwerkingsacties", client=None, json=actie_body(),
                       headers={"Authorization": f"Bearer {token}"})


def sign(claims: dict[str, Any], client: str = "all") -> str:
    return jwt.encode(claims, secret_of(client), algorithm="HS256")


def test_a_token_without_exp_and_iat_is_401(api):
    assert post_with(api, sign({"client_id": "all"})).status_code == 401
    assert post_with(api, sign({"client_id": "all", "exp": int(time.time()) + 60})).status_code == 201
    assert post_with(api, sign({"client_id": "all", "iat": int(time.time())})).status_code == 201


def test_a_token_living_longer_than_the_maximum_age_is_401(api):
    now = int(time.time())
    assert post_with(api, sign({"client_id": "all", "iat": now, "exp": now + 3600})).status_code == 201
    assert post_with(api, sign({"client_id": "all", "iat": now, "exp": now + 3601})).status_code == 401
    assert post_with(api, sign({"client_id": "all", "iat": now, "exp": now + 10 * 365 * 86400})).status_code == 401


def test_iat_alone_expires_after_the_maximum_age(api):
    now = int(time.time())
    assert post_with(api, sign({"client_id": "all", "iat": now - 3600 + 5})).status_code == 201
    assert post_with(api, sign({"client_id": "all", "iat": now - 3600 - 31})).status_code == 401  # 30 s leeway


def test_exp_as_a_string_is_read_as_pyjwt_validates_it_and_expires_from_the_cache(api):
    """PyJWT accepts `"exp": "1700000000"` (it calls int()); the cache must expire it the same way."""
    now = int(time.time())
    token = sign({"client_id": "all", "iat": now - 60, "exp": str(now - 29)})  # within the 30 s leeway
    assert post_with(api, token).status_code == 201
    deadline = time.monotonic() + 10
    while post_with(api, token).status_code == 201:  # cached; must run out at exp + leeway
        assert time.monotonic() < deadline, "a cached token with a string exp never expired"
        time.sleep(0.2)
    assert post_with(api, token).status_code == 401
    assert post_with(api, sign({"client_id": "all", "exp": "soon"})).status_code == 401
    assert post_with(api, sign({"client_id": "all", "iat": str(now)})).status_code == 201


def test_every_401_has_the_same_body(api):
    now = int(time.time())
    tokens = {
        "unknown client": sign({"client_id": "stranger", "iat": now}),
        "bad signature": jwt.encode({"client_id": "all", "iat": now}, "x" * 40, algorithm="HS256"),
        "expired": sign({"client_id": "all", "iat": now - 600, "exp": now - 300}),
        "no expiry": sign({"client_id": "all"}),
        "not a jwt": "not.a.jwt",
    }
    bodies = {}
    for name, token in tokens.items():
        r = post_with(api, token)
        assert r.status_code == 401, name
        body = r.json()
        body.pop("instance")
        bodies[name] = (body, r.headers["WWW-Authenticate"])
    r = api.request("POST", "/verwerkingsacties", client=None, json=actie_body())
    body = r.json()
    body.pop("instance")
    bodies["missing"] = (body, r.headers["WWW-Authenticate"])
    assert len({repr(b) for b in bodies.values()}) == 1, bodies


def test_a_short_secret_refuses_to_start_naming_the_client(tmp_path):
    clients = write_clients_file(tmp_path / "c.toml", {"goed": (SECRET, ["read:normal"]),
                                                       "zwak": ("kort-geheim", ["create:normal"])})
    r = run_cli("serve", "--database", str(tmp_path / "x.db"), "--clients", str(clients))
    assert r.returncode == 2
    assert r.stderr.strip() == ("verwerkingen-otel serve: --clients: client 'zwak': `secret` must be at least "
                                "32 bytes (it has 11)")
    assert "kort-geheim" not in r.stderr
    assert not (tmp_path / "x.db").exists()


def test_a_short_secret_in_the_factory_settings_names_the_variable(tmp_path):
    from verwerkingen_otel.server.errors import ConfigError
    from verwerkingen_otel.server.settings import Settings

    clients = write_clients_file(tmp_path / "c.toml", {"zwak": ("é" * 15, ["create:normal"])})  # 30 bytes
    with pytest.raises(ConfigError) as err:
        Settings.from_env({"VERWERKINGEN_SERVER_CLIENTS": str(clients)})
    assert str(err.value) == ("VERWERKINGEN_SERVER_CLIENTS: client 'zwak': `secret` must be at least 32 bytes "
                              "(it has 30)")


@pytest.mark.parametrize("option, value, message", [
    ("--max-token-age", "0", "--max-token-age must be a positive whole number of seconds"),
    ("--max-token-age", "1h", "--max-token-age must be a positive whole number of seconds"),
    ("--inzage-bewaartermijn", "7", "--inzage-bewaartermijn must be an ISO 8601 duration such as P1Y"),
    ("--forwarded-allow-ips", "proxy.local", "--forwarded-allow-ips: 'proxy.local' is not an IP address or network"),
])
def test_bad_hardening_options_fail_fast(tmp_path, option, value, message):
    clients = write_clients_file(tmp_path / "c.toml", {"a": (SECRET, ["read:normal"])})
    r = run_cli("serve", "--database", str(tmp_path / "x.db"), "--clients", str(clients), option, value)
    assert (r.returncode, r.stderr.strip()) == (2, f"verwerkingen-otel serve: {message}")


# --- a server with non-default settings (SQLite only: the settings are not about storage) ----------

@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LogServer]:
    tmp = tmp_path_factory.mktemp("tuned")
    clients = write_clients_file(tmp / "clients.toml", {"app": (SECRET, ["create:normal", "read:normal"])})
    srv = LogServer(f"sqlite:///{tmp / 'log.db'}", clients, log_path=tmp / "server.log",
                    extra_args=["--max-token-age", "120", "--inzage-bewaartermijn", "P5Y", "--page-size", "1",
                                "--proxy-headers"])
    srv.start()
    yield srv
    srv.stop()


def tuned_get(server: LogServer, path: str, headers: dict[str, str] | None = None, **params: Any) -> httpx.Response:
    auth = {"Authorization": "Bearer " + mint_token("app", SECRET)}
    return httpx.get(server.api_url + path, params=params, headers={**auth, **(headers or {})}, timeout=10)


def test_the_maximum_token_age_is_configurable(tuned):
    now = int(time.time())
    url = tuned.api_url + "/verwerkingsacties"

    def post(claims: dict[str, Any]) -> int:
        token = jwt.encode({"client_id": "app", **claims}, SECRET, algorithm="HS256")
        return httpx.post(url, json=actie_body(), headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code

    assert post({"iat": now, "exp": now + 120}) == 201
    assert post({"iat": now, "exp": now + 121}) == 401
    assert post({"iat": now - 120 - 31}) == 401
    assert post({"iat": now - 60}) == 201


def test_the_inzage_bewaartermijn_is_the_servers_setting(tuned):
    bsn = random_bsn()
    token = mint_token("app", SECRET)
    r = httpx.post(tuned.api_url + "/verwerkingsacties", json=actie_body(bsn),
                   headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert r.status_code == 201
    assert tuned_get(tuned, "/verwerkte-objecten", headers={"Bewaartermijn": "P1D"},
                     **person_params(bsn, **WINDOW)).status_code == 200
    page = tuned_get(tuned, "/verwerkingsacties", vertrouwelijkheid="normaal",
                     verwerkingsactiviteitId=INZAGE_ACTIVITEIT, **person_params(bsn)).json()
    assert [a["bewaartermijn"] for a in page["results"]] == ["P5Y"]


# --- item 4, server half: links behind a TLS proxy -------------------------------------------------

def two_page_list(server: LogServer, headers: dict[str, str]) -> dict[str, Any]:
    bsn = random_bsn()
    token = mint_token("app", SECRET)
    for _ in range(2):
        r = httpx.post(server.api_url + "/verwerkingsacties", json=actie_body(bsn),
                       headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert r.status_code == 201
    r = tuned_get(server, "/verwerkingsacties", headers=headers, vertrouwelijkheid="normaal", **person_params(bsn))
    assert r.status_code == 200
    return r.json()


@pytest.mark.parametrize("headers, origin", [
    ({"X-Forwarded-Proto": "https"}, "https://127.0.0.1:{port}"),
    ({"X-Forwarded-Proto": "https", "X-Forwarded-Host": "log.example.nl"}, "https://log.example.nl"),
    ({"Forwarded": 'for=192.0.2.60;proto=https;host="log.example.nl:8443"'}, "https://log.example.nl:8443"),
    # the proxy nearest to us appends its element: an earlier one may be the client's forgery
    ({"Forwarded": "proto=http;host=evil.example, proto=https;host=log.example.nl"}, "https://log.example.nl"),
    ({"X-Forwarded-Proto": "gopher", "X-Forwarded-Host": "evil.example/path?"}, "http://127.0.0.1:{port}"),
    ({}, "http://127.0.0.1:{port}"),
])
def test_proxy_headers_make_the_links_https(tuned, headers, origin):
    page = two_page_list(tuned, headers)
    expected = origin.format(port=tuned.port) + "/api/v1/verwerkingsacties?"
    assert page["next"].startswith(expected), page["next"]
    assert page["results"][0]["url"].startswith(origin.format(port=tuned.port) + "/api/v1/verwerkingsacties/")


def test_without_proxy_headers_forwarded_headers_are_ignored(api):
    """Without --proxy-headers nobody can steer the links (uvicorn trusts 127.0.0.1 by default)."""
    bsn = random_bsn()
    for _ in range(6):  # page size 5 in the shared server
        api.create(actie_body(bsn))
    for headers in ({"X-Forwarded-Proto": "https"}, {"Forwarded": "proto=https;host=evil.example"},
                    {"X-Forwarded-Host": "evil.example"}):
        page = api.get("/verwerkingsacties", params=person_params(bsn), headers=headers).json()
        assert page["next"].startswith(api.server.api_url + "/verwerkingsacties?"), page["next"]


def test_proxy_headers_from_an_untrusted_peer_are_ignored(tmp_path):
    clients = write_clients_file(tmp_path / "c.toml", {"app": (SECRET, ["create:normal", "read:normal"])})
    with LogServer(f"sqlite:///{tmp_path / 'log.db'}", clients, log_path=tmp_path / "s.log",
                   extra_args=["--page-size", "1", "--proxy-headers", "--forwarded-allow-ips", "10.1.2.3"]) as srv:
        page = two_page_list(srv, {"X-Forwarded-Proto": "https", "Forwarded": "proto=https;host=x.example"})
        assert page["next"].startswith(srv.api_url + "/verwerkingsacties?")


def test_base_url_wins_over_proxy_headers(tmp_path):
    clients = write_clients_file(tmp_path / "c.toml", {"app": (SECRET, ["create:normal", "read:normal"])})
    with LogServer(f"sqlite:///{tmp_path / 'log.db'}", clients, log_path=tmp_path / "s.log",
                   extra_args=["--page-size", "1", "--proxy-headers",
                               "--base-url", "https://verwerkingenlog.example.nl/api/v1"]) as srv:
        page = two_page_list(srv, {"X-Forwarded-Host": "evil.example"})
        assert page["next"].startswith("https://verwerkingenlog.example.nl/api/v1/verwerkingsacties?")


def test_the_defaults_of_the_options_module_match_the_server(tmp_path: Path):
    from verwerkingen_otel.server import auth, security_options, settings

    assert security_options.MAX_TOKEN_AGE_DEFAULT == auth.MAX_TOKEN_AGE_SECONDS == settings.Settings(
        database_url="sqlite:///x").max_token_age
    assert security_options.INZAGE_BEWAARTERMIJN_DEFAULT == settings.DEFAULT_INZAGE_BEWAARTERMIJN
    assert uuid.UUID(settings.DEFAULT_INZAGE_ACTIVITEIT)


def test_a_trailing_slash_is_404_not_a_redirect_to_the_callers_host(api):
    """Starlette's default 307 built its Location from the Host header and repeated the query (a BSN)."""
    bsn = random_bsn()
    r = api.get("/verwerkingsacties/", params=person_params(bsn), headers={"Host": "evil.example"})
    assert r.status_code == 404 and "location" not in r.headers
    assert bsn not in r.text
