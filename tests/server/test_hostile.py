"""Hostile input: never a 500, parameters always bound (SQL injection is just data)."""

from __future__ import annotations

import json

import pytest

from tests.server.conftest import actie_body, random_bsn

INJECTIONS = [
    "' OR '1'='1", "1; DROP TABLE vl_actie_versies; --", "\") OR 1=1 --", "%' OR 1=1 --",
    "x' UNION SELECT actie_id FROM vl_actie_versies --", "\\'; SELECT pg_sleep(5); --",
]


def test_injection_in_query_values_is_only_data(api, storage):
    bsn = random_bsn()
    api.create(actie_body(bsn))
    before = storage.count_versions()
    for value in INJECTIONS:
        for key in ("soortObjectId", "objectId"):
            params = {"objecttype": "persoon", "soortObjectId": "BSN", "objectId": bsn, key: value}
            r = api.get("/verwerkingsacties", params=params)
            assert r.status_code in (200, 400), (key, value)
            if r.status_code == 200:
                assert r.json()["count"] == 0
        r = api.get("/verwerkingsacties", params={"objecttype": "persoon", "soortObjectId": "BSN",
                                                  "objectId": bsn, "verwerkingsactiviteitId": value})
        assert r.status_code == 400
    assert api.list(bsn).json()["count"] == 1
    assert storage.count_versions() == before


def test_injection_in_bodies_is_stored_verbatim(api):
    value = INJECTIONS[1]
    body = actie_body(actieNaam=value)
    body["verwerkteObjecten"][0].update(soortObjectId="kenteken", objectId="x' OR 1=1 --")
    created = api.create(body)
    got = api.current(created["actieId"])
    assert got["actieNaam"] == value and got["verwerkteObjecten"][0]["objectId"] == "x' OR 1=1 --"
    r = api.get("/verwerkingsacties", params={"objecttype": "persoon", "soortObjectId": "kenteken",
                                              "objectId": "x' OR 1=1 --"})
    assert [a["actieId"] for a in r.json()["results"]] == [created["actieId"]]


@pytest.mark.parametrize("params", [
    {"objectId": "\x00"}, {"objectId": "1" * 41}, {"soortObjectId": "s" * 243}, {"beginDatum": "2024-13-01"},
    {"eindDatum": "99999-01-01"}, {"beginDatum": "\x00"}, {"page": "1e3"}, {"page": "\u0661"},
    {"vertrouwelijkheid": "normaal,\x00"}, {"objecttype": "PERSOON\x00"},
])
def test_bad_query_values_are_400(api, params):
    query = {"objecttype": "persoon", "soortObjectId": "BSN", "objectId": random_bsn(), **params}
    r = api.get("/verwerkingsacties", params=query)
    assert r.status_code == 400, r.text
    assert r.json()["invalidParams"]
    if "vertrouwelijkheid" in params:  # not a parameter of the Inzage list
        return
    r = api.get("/verwerkte-objecten", params={**query, "beginDatum": query.get("beginDatum", "2024-01-01"),
                                               "eindDatum": query.get("eindDatum", "2025-01-01")})
    assert r.status_code == 400


def test_invalid_utf8_in_the_query_string_is_never_500(api):
    for raw in ("%ff%fe", "%ed%a0%80", "%c0%af", "%00%00"):
        r = api.get(f"/verwerkingsacties?objecttype=persoon&soortObjectId=BSN&objectId={raw}")
        assert r.status_code in (200, 400), raw
        if r.status_code == 200:
            assert r.json()["count"] == 0
        r = api.get(f"/verwerkingsacties?objecttype=persoon&soortObjectId=BSN&objectId=1&verwerkingsactiviteitId={raw}")
        assert r.status_code == 400


def test_duplicate_single_params_are_400(api):
    r = api.get("/verwerkingsacties", params=[("objecttype", "persoon"), ("soortObjectId", "BSN"),
                                              ("objectId", random_bsn()), ("objectId", random_bsn())])
    assert r.status_code == 400 and r.json()["invalidParams"][0] == {
        "name": "objectId", "code": "duplicate", "reason": "mag maar één keer voorkomen"}


@pytest.mark.parametrize("raw", [
    b'{"actieNaam": "\\u0000"}', b'{"actieNaam": "\\ud800"}', b"[" * 100000 + b"]" * 100000,
    b'{"tijdstip": 1e400}', b"NaN", b'{"verwerkteObjecten": [{"objectId": {"$gt": ""}}]}',
    "{\"actieNaam\": \"é\"}".encode("latin-1"), b"\xef\xbb\xbf{}",
])
def test_bad_bodies_are_400(api, raw):
    r = api.request("POST", "/verwerkingsacties", content=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text


def test_nul_in_stored_fields_is_400_with_its_name(api):
    body = actie_body()
    body["verwerkteObjecten"][0]["betrokkenheid"] = "Getuige\x00"
    r = api.post(body)
    assert r.status_code == 400
    assert r.json()["invalidParams"][0]["name"] == "verwerkteObjecten.0.betrokkenheid"


def test_extreme_but_valid_values(api):
    body = actie_body(tijdstip="0001-01-01T00:00:00+14:00", actieNaam="é" * 242)
    body["verwerkteObjecten"][0]["verwerkteSoortenGegevens"] = [{"soortGegeven": "s"}] * 500
    created = api.create(body)
    assert created["tijdstip"] == "0001-01-01T00:00:00+14:00"
    assert api.create(actie_body(tijdstip="9999-12-31T23:59:59.999999-12:00"))["tijdstip"].startswith("9999")


def test_unknown_routes_and_methods_are_problem_json(api):
    r = api.get("/nergens")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    r = api.request("DELETE", "/verwerkingsacties")
    assert r.status_code == 405 and r.json()["status"] == 405
    r = api.request("POST", "/verwerkte-objecten", json={})
    assert r.status_code == 405


def test_wrong_json_types_never_500(api):
    for body in ({"verwerkteObjecten": {}}, {"verwerkteObjecten": [1, None, "x"]},
                 {"vertrouwelijkheid": 1, "tijdstip": True, "verwerkteObjecten": []},
                 {"verwerkteObjecten": [{"verwerkteSoortenGegevens": [1, {"soortGegeven": 2}]}]}):
        r = api.post(body)
        assert r.status_code == 400, json.dumps(body)
