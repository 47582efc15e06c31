"""Authentication and scope narrowing (NOTES §5); secrets, tokens and BSNs never in server logs."""

from __future__ import annotations

import base64
import json
import time

import jwt

from tests.server.conftest import actie_body, random_bsn, secret_of
from tests.support.logserver import mint_token
from tests.support.wait import wait_until


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def status(api, token: str | None, path: str = "/verwerkingsacties", **kw) -> int:
    headers = {} if token is None else {"Authorization": token}
    return api.request("POST", path, client=None, headers=headers, json=actie_body(), **kw).status_code


def test_401_cases(api):
    good = mint_token("all", secret_of("all"))
    assert status(api, f"Bearer {good}") == 201
    unsigned = b64({"alg": "none", "typ": "JWT"}) + "." + b64({"client_id": "all"}) + "."
    cases = {
        "missing": None,
        "empty": "",
        "basic scheme": "Basic YWxsOnNlY3JldA==",
        "no token": "Bearer",
        "garbage": "Bearer not.a.jwt",
        "alg none": f"Bearer {unsigned}",
        "wrong key": "Bearer " + mint_token("all", "wrong-secret-0123456789abcdef0123456789"),
        "expired": "Bearer " + mint_token("all", secret_of("all"), exp=-60),
        "unknown client": "Bearer " + mint_token("stranger", secret_of("stranger")),
        "another client's secret": "Bearer " + mint_token("all", secret_of("plain")),
        "no client id": "Bearer " + jwt.encode({"iat": int(time.time())}, secret_of("all"), algorithm="HS256"),
        "HS512": "Bearer " + jwt.encode({"client_id": "all"}, secret_of("all"), algorithm="HS512"),
        "scope not a string": "Bearer " + mint_token("all", secret_of("all"), claims={"scope": ["read:normal"]}),
    }
    for name, header in cases.items():
        r = api.request("POST", "/verwerkingsacties", client=None, json=actie_body(),
                        headers={} if header is None else {"Authorization": header})
        assert r.status_code == 401, name
        assert r.json()["status"] == 401 and r.json()["code"] == "not_authenticated"
        assert r.headers["WWW-Authenticate"].startswith("Bearer")


def test_exp_leeway_and_iss_fallback(api):
    assert status(api, "Bearer " + mint_token("all", secret_of("all"), exp=-10)) == 201  # within 30 s leeway
    assert status(api, "Bearer " + mint_token("all", secret_of("all"), exp=3600)) == 201
    iss = jwt.encode({"iss": "all", "iat": int(time.time())}, secret_of("all"), algorithm="HS256")
    assert status(api, f"Bearer {iss}") == 201
    no_iat = mint_token("all", secret_of("all"), iat=False, exp=60)  # exp alone is enough (NOTES §5)
    assert status(api, f"bearer {no_iat}") == 201  # scheme is case-insensitive


def test_scope_claim_narrows_never_widens(api):
    bsn = random_bsn()
    api.create(actie_body(bsn, vertrouwelijkheid="vertrouwelijk"))
    params = {"objecttype": "persoon", "soortObjectId": "BSN", "objectId": bsn}

    def list_status(client, **kw):
        headers = {"Authorization": "Bearer " + mint_token(client, secret_of(client), **kw)}
        return api.get("/verwerkingsacties", params=params, client=None, headers=headers).status_code

    assert list_status("all") == 200
    assert list_status("all", scopes=["read:normal"]) == 403  # narrowed: must ask normaal only
    assert list_status("all", scopes=["create:normal"]) == 403
    assert list_status("all", scopes=["read:confidential"]) == 200
    assert list_status("all", claims={"scopes": ["read:confidential", "delete:normal"]}) == 200
    assert list_status("all", claims={"scopes": ["delete:normal"]}) == 403
    assert list_status("read-normal", scopes=["read:confidential"]) == 403  # cannot widen
    assert list_status("plain", scopes=["read:confidential"]) == 403
    # narrowing to nothing still allows creating normaal actions: every registered client may
    token = "Bearer " + mint_token("all", secret_of("all"), scopes=[])
    assert status(api, token) == 201
    r = api.request("POST", "/verwerkingsacties", client=None, headers={"Authorization": token},
                    json=actie_body(vertrouwelijkheid="vertrouwelijk"))
    assert r.status_code == 403


def test_no_secret_token_or_bsn_in_server_log(api):
    bsn = random_bsn()
    token = mint_token("all", secret_of("all"))
    api.request("POST", "/verwerkingsacties", client=None, headers={"Authorization": f"Bearer {token}"},
                json=actie_body(bsn))
    api.request("POST", "/verwerkingsacties", client=None, headers={"Authorization": f"Bearer {token}x"},
                json=actie_body(bsn))
    api.list(bsn)
    api.get(f"/verwerkingsacties/{bsn}")  # a BSN in a path
    api.get("/verwerkte-objecten", params={"objecttype": "persoon", "soortObjectId": "BSN", "objectId": bsn,
                                           "beginDatum": "2024-01-01", "eindDatum": "2025-01-01"})
    api.post(actie_body(bsn, bewaartermijn="bad"))
    api.get("/log-sentinel")
    log = api.server.wait_for_log("/log-sentinel 404")
    assert "/verwerkingsacties" in log  # the access log is there, so this test can see
    assert bsn not in log
    assert token not in log and token.split(".")[2] not in log
    for client in ("all", "plain", "read-normal"):
        assert secret_of(client) not in log


def test_access_log_cannot_be_forged(api):
    api.get("/verwerkingsacties/x%0a2026-01-01 INFO forged line%0d")
    log = api.server.wait_for_log("forged line? 404")
    assert "\n2026-01-01 INFO forged line" not in log
    assert "GET /api/v1/verwerkingsacties/x?2026-01-01 INFO forged line? 404" in log


def test_a_reused_token_expires_on_time(api):
    """Verified tokens are cached; their `exp` (with 30 s leeway) still counts on every call."""
    raw = mint_token("all", secret_of("all"), exp=-29)
    token = "Bearer " + raw
    assert status(api, token) == 201
    expires = jwt.decode(raw, options={"verify_signature": False})["exp"] + 30  # the server's leeway
    wait_until(lambda: time.time() > expires, timeout=5, what="the token's exp + leeway to pass")
    assert status(api, token) == 401
    assert status(api, token) == 401
