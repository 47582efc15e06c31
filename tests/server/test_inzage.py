"""Inzage API (NOTES §3): the citizen's view, its confidentiality rules, and logging every look."""

from __future__ import annotations

import uuid

import httpx

from tests.server.conftest import actie_body, person_params, random_bsn

WINDOW = {"beginDatum": "2024-01-01", "eindDatum": "2025-01-01"}
HIDDEN = ("systeem", "gebruiker", "gegevensbron")
INZAGE_ACTIVITEIT = "6c2b1f5e-4b3f-4d7e-9b1a-0e3a1c2d4f5a"


def inzage(api, bsn, client="all", headers=None, **params):
    return api.get("/verwerkte-objecten", params=person_params(bsn, **{**WINDOW, **params}),
                   client=client, headers=headers)


def test_required_params(api):
    r = api.get("/verwerkte-objecten", params={})
    assert r.status_code == 400
    assert {p["name"] for p in r.json()["invalidParams"]} == {
        "objecttype", "soortObjectId", "objectId", "beginDatum", "eindDatum"}
    r = api.get("/verwerkte-objecten", params=person_params(random_bsn(), beginDatum="2024-01-01"))
    assert [p["name"] for p in r.json()["invalidParams"]] == ["eindDatum"]


def test_only_the_asked_person_and_restricted_fields(api):
    bsn, other = random_bsn(), random_bsn()
    body = actie_body(bsn, gebruiker="medewerker-42")
    body["verwerkteObjecten"].append({"objecttype": "persoon", "soortObjectId": "BSN", "objectId": other})
    created = api.create(body)
    r = inzage(api, bsn)
    assert r.status_code == 200
    page = r.json()
    assert page["count"] == 1 and page["next"] is None and page["previous"] is None
    [item] = page["results"]
    mine = created["verwerkteObjecten"][0]
    assert {k: item[k] for k in mine} == mine
    actie = item["verwerkingsactie"]
    assert actie["actieId"] == created["actieId"]
    for key in HIDDEN:
        assert key not in actie
    assert [o["objectId"] for o in actie["verwerkteObjecten"]] == [bsn]
    assert actie["actieNaam"] == "Raadplegen persoon"
    detail = api.get(f"/verwerkte-objecten/{mine['verwerktObjectId']}")
    assert detail.status_code == 200 and detail.json() == item


def test_confidentiality_rules(api):
    bsn = random_bsn()
    normaal = api.create(actie_body(bsn, tijdstip="2024-02-01T10:00:00+01:00"))
    geheim = api.create(actie_body(bsn, vertrouwelijkheid="vertrouwelijk", tijdstip="2024-02-02T10:00:00+01:00"))
    opgeheven = api.create(actie_body(bsn, vertrouwelijkheid="vertrouwelijk", tijdstip="2024-02-03T10:00:00+01:00"))
    api.patch(opgeheven["verwerkingId"], {"vertrouwelijkheid": "normaal"})  # -> opgeheven
    ids = lambda r: [i["verwerkingsactie"]["actieId"] for i in r.json()["results"]]  # noqa: E731
    assert ids(inzage(api, bsn, client="read-normal")) == [normaal["actieId"]]
    seen = ids(inzage(api, bsn, client="read-conf"))
    assert seen[0] == normaal["actieId"] and len(seen) == 2
    assert api.current(seen[1])["vertrouwelijkheid"] == "opgeheven"
    assert geheim["actieId"] not in seen
    for who, obj, status in (("read-conf", geheim, 404), ("all", geheim, 404), ("read-normal", normaal, 200)):
        r = api.get(f"/verwerkte-objecten/{obj['verwerkteObjecten'][0]['verwerktObjectId']}", client=who)
        assert r.status_code == status, who
    oid = opgeheven["verwerkteObjecten"][0]["verwerktObjectId"]
    assert api.get(f"/verwerkte-objecten/{oid}", client="read-normal").status_code == 404
    assert api.get(f"/verwerkte-objecten/{oid}", client="read-conf").status_code == 200


def test_scopes_and_unknown(api):
    bsn = random_bsn()
    created = api.create(actie_body(bsn))
    for client in ("plain", "create-conf", "delete-conf"):
        assert inzage(api, bsn, client=client).status_code == 403
    assert inzage(api, bsn, client=None).status_code == 401
    assert api.get(f"/verwerkte-objecten/{uuid.uuid4()}").status_code == 404
    assert api.get("/verwerkte-objecten/xyz").status_code == 404
    api.delete(created["actieId"])
    assert api.get(f"/verwerkte-objecten/{created['verwerkteObjecten'][0]['verwerktObjectId']}").status_code == 404
    assert inzage(api, bsn).json()["count"] == 0


def test_window_and_activity_filter(api):
    bsn = random_bsn()
    other_activity = str(uuid.uuid4())
    a = api.create(actie_body(bsn, tijdstip="2024-03-10T00:15:00+01:00"))
    api.create(actie_body(bsn, tijdstip="2024-03-11T12:00:00+01:00", verwerkingsactiviteitId=other_activity))
    r = inzage(api, bsn, beginDatum="2024-03-10", eindDatum="2024-03-11")
    assert [i["verwerkingsactie"]["actieId"] for i in r.json()["results"]] == [a["actieId"]]
    r = inzage(api, bsn, verwerkingsactiviteitId=other_activity)
    assert r.json()["count"] == 1
    assert inzage(api, bsn, beginDatum="2024-03-12", eindDatum="2024-03-11").status_code == 400


def test_every_inzage_call_is_logged(api):
    bsn = random_bsn()
    api.create(actie_body(bsn, tijdstip="2024-03-10T10:00:00+01:00"))
    before = api.list(bsn).json()["count"]
    headers = {"OIN": "00000001821002193000", "VerwerkingsactiviteitId": "c5b9f4e7-8c79-41b9-91e2-6268419cb167",
               "VerwerkingsactiviteitUrl": "https://var.example.nl/api/v1/verwerkingsactiviteiten/1",
               "VerwerkingId": "4b698de3-ffba-45e7-8697-a283ec863db2", "Bewaartermijn": "7"}
    r = inzage(api, bsn, headers=headers)
    assert r.status_code == 200 and r.json()["count"] == 1  # the log entry is not part of its own response
    page = api.list(bsn, verwerkingsactiviteitId=INZAGE_ACTIVITEIT).json()
    assert api.list(bsn).json()["count"] == before + 1
    [logged] = page["results"]
    assert logged["vertrouwelijkheid"] == "normaal"
    assert logged["verwerkingsactiviteitId"] == INZAGE_ACTIVITEIT
    assert (logged["soortAfnemerId"], logged["afnemerId"]) == ("OIN", "00000001821002193000")
    assert logged["verwerkingsactiviteitIdAfnemer"] == "c5b9f4e7-8c79-41b9-91e2-6268419cb167"
    assert logged["verwerkingsactiviteitUrlAfnemer"] == "https://var.example.nl/api/v1/verwerkingsactiviteiten/1"
    assert logged["verwerkingIdAfnemer"] == "4b698de3-ffba-45e7-8697-a283ec863db2"
    assert logged["bewaartermijn"] == "P1Y"  # the server's, never the caller's (NOTES §3)
    assert [(o["objecttype"], o["soortObjectId"], o["objectId"]) for o in logged["verwerkteObjecten"]] == [
        ("persoon", "BSN", bsn)]
    # later reads show it like any other action (its tijdstip is now, so widen the window)
    later = inzage(api, bsn, eindDatum="2100-01-01").json()
    assert later["count"] == 2


def test_inzage_header_names_are_case_insensitive(api):
    bsn = random_bsn()
    api.create(actie_body(bsn))
    inzage(api, bsn, headers={"oin": "00000001821002193000", "VERWERKINGID": "4b698de3-ffba-45e7-8697-a283ec863db2"})
    [logged] = api.list(bsn, verwerkingsactiviteitId=INZAGE_ACTIVITEIT).json()["results"]
    assert logged["afnemerId"] == "00000001821002193000"
    assert logged["verwerkingIdAfnemer"] == "4b698de3-ffba-45e7-8697-a283ec863db2"


def test_inzage_log_headers_invalid_dropped_confidential_honoured(api):
    bsn = random_bsn()
    oid = api.create(actie_body(bsn))["verwerkteObjecten"][0]["verwerktObjectId"]
    headers = {"OIN": "123", "VerwerkingId": "nope", "Bewaartermijn": "ever", "Vertrouwelijkheid": "Vertrouwelijk",
               "VerwerkingsactiviteitId": "x" * 50}
    assert api.get(f"/verwerkte-objecten/{oid}", headers=headers).status_code == 200
    [logged] = api.list(bsn, verwerkingsactiviteitId=INZAGE_ACTIVITEIT).json()["results"]
    assert logged["vertrouwelijkheid"] == "vertrouwelijk"
    assert logged["bewaartermijn"] == "P1Y"  # the server's setting, whatever the header says
    for key in ("afnemerId", "soortAfnemerId", "verwerkingIdAfnemer", "verwerkingsactiviteitIdAfnemer"):
        assert logged[key] is None, key
    log = api.server.wait_for_log("inbound header VerwerkingsactiviteitId dropped")
    for name in ("OIN", "VerwerkingId", "Bewaartermijn", "VerwerkingsactiviteitId"):
        assert f"inbound header {name} dropped" in log, name
    assert "x" * 50 not in log  # header values from outside are never logged


def test_inzage_headers_follow_the_inbound_rules_of_headers_py(api):
    """The server reads the six headers with headers.py's rules, like any inbound middleware:
    a header sent twice with different values is ambiguous and dropped."""
    bsn = random_bsn()
    api.create(actie_body(bsn))
    headers = [("VerwerkingId", "4b698de3-ffba-45e7-8697-a283ec863db2"),
               ("VerwerkingId", "c5b9f4e7-8c79-41b9-91e2-6268419cb167"),
               ("OIN", "00000001821002193000"), ("Bewaartermijn", "12")]
    sent = httpx.Headers([*api.auth("all").items(), *headers])
    r = api.http.get("/verwerkte-objecten", params=person_params(bsn, **WINDOW), headers=sent)
    assert r.status_code == 200
    [logged] = api.list(bsn, verwerkingsactiviteitId=INZAGE_ACTIVITEIT).json()["results"]
    assert logged["verwerkingIdAfnemer"] is None
    assert (logged["afnemerId"], logged["bewaartermijn"]) == ("00000001821002193000", "P1Y")
    assert "sent more than once with different values" in api.server.wait_for_log("sent more than once")


def test_opgeheven_header_logs_normaal_and_refused_calls_are_not_logged(api):
    bsn = random_bsn()
    api.create(actie_body(bsn))
    inzage(api, bsn, headers={"Vertrouwelijkheid": "opgeheven"})
    [logged] = api.list(bsn, verwerkingsactiviteitId=INZAGE_ACTIVITEIT).json()["results"]
    assert logged["vertrouwelijkheid"] == "normaal"
    assert inzage(api, bsn, client="plain").status_code == 403
    assert inzage(api, bsn, client=None).status_code == 401
    assert inzage(api, bsn, beginDatum="x").status_code == 400
    assert api.list(bsn, verwerkingsactiviteitId=INZAGE_ACTIVITEIT).json()["count"] == 1


def test_inzage_pagination(api):
    bsn = random_bsn()
    for day in range(1, 8):
        api.create(actie_body(bsn, tijdstip=f"2024-07-{day:02d}T09:00:00+02:00"))
    first = inzage(api, bsn).json()
    assert first["count"] == 7 and len(first["results"]) == 5 and "page=2" in first["next"]
    second = inzage(api, bsn, page=2).json()
    assert len(second["results"]) == 2 and second["next"] is None
    days = [i["verwerkingsactie"]["tijdstip"][:10] for i in first["results"] + second["results"]]
    assert days == [f"2024-07-{d:02d}" for d in range(1, 8)]
    assert inzage(api, bsn, page=3).status_code == 404
