"""POST /verwerkingsacties (NOTES §1, §2, §6): body, scopes, errors, check order, idempotency."""

from __future__ import annotations

import json
import re
import uuid

from tests.server.conftest import actie_body, random_bsn

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
NULL_FIELDS = ("verwerkingsactiviteitUrl", "gebruiker", "soortAfnemerId", "afnemerId",
               "verwerkingsactiviteitIdAfnemer", "verwerkingsactiviteitUrlAfnemer", "verwerkingIdAfnemer")


def test_created_body_location_and_nulls(api):
    bsn = random_bsn()
    body = actie_body(bsn)
    r = api.post(body)
    assert r.status_code == 201
    got = r.json()
    assert UUID_RE.match(got["actieId"])
    assert got["url"] == f"{api.server.api_url}/verwerkingsacties/{got['actieId']}"
    assert r.headers["Location"] == got["url"]
    for key in ("actieNaam", "handelingNaam", "verwerkingNaam", "verwerkingId", "verwerkingsactiviteitId",
                "bewaartermijn", "uitvoerder", "systeem", "gegevensbron", "tijdstip", "vertrouwelijkheid"):
        assert got[key] == body[key], key
    for key in NULL_FIELDS:
        assert key in got and got[key] is None, key
    assert re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$", got["tijdstipRegistratie"])
    [obj] = got["verwerkteObjecten"]
    assert UUID_RE.match(obj["verwerktObjectId"])
    assert obj["url"] == f"{api.server.api_url}/verwerkte-objecten/{obj['verwerktObjectId']}"
    assert {k: obj[k] for k in ("objecttype", "soortObjectId", "objectId", "betrokkenheid",
                                "verwerkteSoortenGegevens")} == body["verwerkteObjecten"][0]
    assert api.current(got["actieId"]) == got


def test_any_case_enums_stored_lowercase_and_tijdstip_as_sent(api):
    body = actie_body(vertrouwelijkheid="NoRMaal", tijdstip="2024-12-31T23:30:00.123456-05:00")
    body["verwerkteObjecten"][0]["objecttype"] = "PERSOON"
    got = api.create(body)
    assert got["vertrouwelijkheid"] == "normaal"
    assert got["verwerkteObjecten"][0]["objecttype"] == "persoon"
    assert got["tijdstip"] == "2024-12-31T23:30:00.123456-05:00"


def test_empty_objects_accepted_and_read_only_fields_ignored(api):
    body = actie_body(verwerkteObjecten=[], actieId="00000000-0000-4000-8000-000000000000",
                      url="http://evil.example/x", tijdstipRegistratie="2000-01-01T00:00:00Z")
    got = api.create(body)
    assert got["verwerkteObjecten"] == []
    assert got["actieId"] != "00000000-0000-4000-8000-000000000000"
    assert got["url"].startswith(api.server.api_url)
    assert not got["tijdstipRegistratie"].startswith("2000")


def test_null_means_unset(api):
    got = api.create(actie_body(actieNaam=None, bewaartermijn=None))
    assert got["actieNaam"] is None and got["bewaartermijn"] is None


def test_confidential_needs_create_confidential(api):
    body = actie_body(vertrouwelijkheid="vertrouwelijk")
    for client in ("create-normal", "plain", "read-conf"):
        r = api.post(body, client=client)
        assert r.status_code == 403, client
        assert r.json()["status"] == 403 and r.json()["code"] == "permission_denied"
    assert api.create(body, client="create-conf")["vertrouwelijkheid"] == "vertrouwelijk"


def test_normal_needs_only_registration(api):
    assert api.create(actie_body(), client="plain")["vertrouwelijkheid"] == "normaal"


def test_opgeheven_is_always_403(api):
    for client in ("all", "create-conf"):
        r = api.post(actie_body(vertrouwelijkheid="opgeheven"), client=client)
        assert r.status_code == 403


def test_validation_errors_name_every_field(api):
    body = actie_body(verwerkingId="not-a-uuid", bewaartermijn="10", uitvoerder="x00000001821002193000x",
                      tijdstip="2024-04-05T14:35:42", afnemerId="00000001821002193000")
    body["verwerkteObjecten"][0]["objectId"] = "123456789"
    body["verwerkteObjecten"].append({"objecttype": "auto", "soortObjectId": "BSN"})
    r = api.post(body)
    assert r.status_code == 400
    problem = r.json()
    assert problem["status"] == 400 and problem["instance"].startswith("urn:uuid:")
    names = {p["name"]: p["code"] for p in problem["invalidParams"]}
    assert names == {
        "verwerkingId": "invalid_uuid", "bewaartermijn": "invalid_duration", "uitvoerder": "invalid_oin",
        "tijdstip": "no_offset", "soortAfnemerId": "required",
        "verwerkteObjecten.0.objectId": "invalid_bsn",
        "verwerkteObjecten.1.objecttype": "choice", "verwerkteObjecten.1.objectId": "required",
    }
    assert all(p["reason"] for p in problem["invalidParams"])


def test_required_fields(api):
    r = api.post({"actieNaam": "x"})
    assert r.status_code == 400
    assert {p["name"] for p in r.json()["invalidParams"]} == {"vertrouwelijkheid", "tijdstip", "verwerkteObjecten"}


def test_body_must_be_an_object(api):
    for body in ([], "x", 3, None):
        r = api.request("POST", "/verwerkingsacties", content=json.dumps(body),
                        headers={"Content-Type": "application/json"})
        assert r.status_code == 400, body
        assert r.json()["invalidParams"][0]["name"] == "nonFieldErrors"


def test_not_json_is_415_or_400(api):
    r = api.request("POST", "/verwerkingsacties", content=b"actieNaam=x", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415 and r.json()["status"] == 415
    r = api.request("POST", "/verwerkingsacties", content=b"{}")  # no content type at all
    assert r.status_code == 415
    r = api.request("POST", "/verwerkingsacties", content=b'{"a": ', headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["invalidParams"][0]["code"] == "parse_error"
    r = api.request("POST", "/verwerkingsacties", content=b'{"a": "\xff"}',
                    headers={"Content-Type": "application/json; charset=utf-8"})
    assert r.status_code == 400


def test_over_one_mebibyte_is_413(api):
    big = json.dumps(actie_body(actieNaam="x" * (1024 * 1024)))
    r = api.request("POST", "/verwerkingsacties", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["status"] == 413

    def chunks():  # no Content-Length: the server must count while reading
        for _ in range(17):
            yield b" " * 65536
    r = api.request("POST", "/verwerkingsacties", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    exactly = json.dumps(actie_body()).encode()
    exactly += b" " * (1024 * 1024 - len(exactly))
    r = api.request("POST", "/verwerkingsacties", content=exactly, headers={"Content-Type": "application/json"})
    assert r.status_code == 201


def test_check_order(api):
    big = b"x" * (1024 * 1024 + 1)
    # 401 before 413
    r = api.request("POST", "/verwerkingsacties", client=None, content=big, headers={"Content-Type": "text/plain"})
    assert r.status_code == 401
    # 413 before 415
    r = api.request("POST", "/verwerkingsacties", content=big, headers={"Content-Type": "text/plain"})
    assert r.status_code == 413
    # 415 before 400
    r = api.request("POST", "/verwerkingsacties", content=b"{", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
    # 400 before 403
    r = api.post(actie_body(vertrouwelijkheid="opgeheven", bewaartermijn="tien jaar"), client="create-normal")
    assert r.status_code == 400


def test_idempotency_key_returns_original(api, storage):
    body = actie_body()
    key = str(uuid.uuid4())
    first = api.post(body, headers={"Idempotency-Key": key})
    assert first.status_code == 201
    before = storage.count_versions()
    # same value, different bytes (key order, spacing)
    again = api.request("POST", "/verwerkingsacties", headers={"Idempotency-Key": key, "Content-Type": "application/json"},
                        content=json.dumps(dict(reversed(list(body.items()))), indent=2))
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Location"] == first.headers["Location"]
    assert storage.count_versions() == before
    changed = api.post({**body, "actieNaam": "Anders"}, headers={"Idempotency-Key": key})
    assert changed.status_code == 422 and changed.json()["status"] == 422
    assert storage.count_versions() == before


def test_idempotency_key_is_per_client(api):
    key = str(uuid.uuid4())
    body = actie_body()
    a = api.post(body, headers={"Idempotency-Key": key}, client="all").json()
    b = api.post(body, headers={"Idempotency-Key": key}, client="plain").json()
    assert a["actieId"] != b["actieId"]


def test_idempotency_key_too_long_is_400(api):
    r = api.post(actie_body(), headers={"Idempotency-Key": "k" * 256})
    assert r.status_code == 400 and r.json()["invalidParams"][0]["name"] == "Idempotency-Key"
    assert api.post(actie_body(), headers={"Idempotency-Key": "k" * 255}).status_code == 201
