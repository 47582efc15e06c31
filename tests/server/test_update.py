"""PUT, PATCH and DELETE (NOTES §2): versions, scope rules, once-confidential, append-only."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import text

from tests.server.conftest import actie_body, full_put_body, random_bsn


def test_put_writes_a_new_version(api, storage):
    created = api.create(actie_body())
    before = storage.count_versions()
    r = api.put(created["actieId"], full_put_body(created, actieNaam="Wijzigen adres", bewaartermijn="P20Y"))
    assert r.status_code == 200
    new = r.json()
    assert new["actieId"] != created["actieId"]
    assert new["tijdstipRegistratie"] > created["tijdstipRegistratie"]
    assert new["actieNaam"] == "Wijzigen adres" and new["bewaartermijn"] == "P20Y"
    assert new["url"] == f"{api.server.api_url}/verwerkingsacties/{new['actieId']}"
    assert new["verwerkteObjecten"][0]["verwerktObjectId"] == created["verwerkteObjecten"][0]["verwerktObjectId"]
    assert storage.count_versions() == before + 1
    # the old id resolves to the current version, for GET, PUT and DELETE alike
    assert api.current(created["actieId"]) == new
    newer = api.put(created["actieId"], full_put_body(new, actieNaam="Derde")).json()
    assert api.current(new["actieId"])["actieId"] == newer["actieId"]
    assert api.delete(created["actieId"]).status_code == 204
    assert api.get(f"/verwerkingsacties/{newer['actieId']}").status_code == 404


def test_put_requires_every_writable_key(api):
    created = api.create(actie_body())
    body = full_put_body(created)
    del body["gebruiker"], body["handelingNaam"]
    r = api.put(created["actieId"], body)
    assert r.status_code == 400
    assert {p["name"]: p["code"] for p in r.json()["invalidParams"]} == {"gebruiker": "required",
                                                                         "handelingNaam": "required"}
    nulls = full_put_body(created, actieNaam=None)  # null allowed: unsets the field
    assert api.put(created["actieId"], nulls).json()["actieNaam"] is None


def test_put_unknown_or_deleted_is_404(api):
    created = api.create(actie_body())
    body = full_put_body(created)
    assert api.put(str(uuid.uuid4()), body).status_code == 404
    assert api.put("nope", body).status_code == 404
    api.delete(created["actieId"])
    assert api.put(created["actieId"], body).status_code == 404


def test_put_object_matching(api):
    a, b = random_bsn(), random_bsn()
    body = actie_body(a)
    body["verwerkteObjecten"].append({"objecttype": "persoon", "soortObjectId": "BSN", "objectId": b})
    created = api.create(body)
    id_a, id_b = (o["verwerktObjectId"] for o in created["verwerkteObjecten"])
    put = full_put_body(created)
    objs = put["verwerkteObjecten"]
    del objs[0]["verwerktObjectId"]  # matched by (objecttype, soortObjectId, objectId)
    new_person = random_bsn()
    put["verwerkteObjecten"] = [objs[1], objs[0], {"objecttype": "persoon", "soortObjectId": "BSN",
                                                   "objectId": new_person}]
    got = api.put(created["actieId"], put).json()
    ids = [o["verwerktObjectId"] for o in got["verwerkteObjecten"]]
    assert ids[:2] == [id_b, id_a]
    assert ids[2] not in (id_a, id_b)
    # a verwerktObjectId the action does not have is not trusted: the object gets a fresh id
    put2 = full_put_body(got)
    foreign = str(uuid.uuid4())
    put2["verwerkteObjecten"] = [{"objecttype": "persoon", "soortObjectId": "BSN", "objectId": random_bsn(),
                                  "verwerktObjectId": foreign}]
    got2 = api.put(created["actieId"], put2).json()
    assert got2["verwerkteObjecten"][0]["verwerktObjectId"] not in (foreign, id_a, id_b)


def test_put_scopes(api):
    normaal = api.create(actie_body())
    geheim = api.create(actie_body(vertrouwelijkheid="vertrouwelijk"))
    for client in ("plain", "read-conf", "delete-conf", "create-conf"):
        assert api.put(normaal["actieId"], full_put_body(normaal), client=client).status_code == 403, client
    # update:normal: current must be normaal and stay normaal
    assert api.put(geheim["actieId"], full_put_body(geheim), client="update-normal").status_code == 403
    assert api.put(normaal["actieId"], full_put_body(normaal, vertrouwelijkheid="vertrouwelijk"),
                   client="update-normal").status_code == 403
    ok = api.put(normaal["actieId"], full_put_body(normaal, actieNaam="x"), client="update-normal")
    assert ok.status_code == 200 and ok.json()["vertrouwelijkheid"] == "normaal"
    # update:confidential: may set normaal/vertrouwelijk, never opgeheven on a not-opgeheven action
    r = api.put(normaal["actieId"], full_put_body(ok.json(), vertrouwelijkheid="opgeheven"), client="update-conf")
    assert r.status_code == 403
    r = api.put(normaal["actieId"], full_put_body(ok.json(), vertrouwelijkheid="vertrouwelijk"), client="update-conf")
    assert r.status_code == 200 and r.json()["vertrouwelijkheid"] == "vertrouwelijk"
    # 404 only after the scope check that does not need the action
    assert api.put(str(uuid.uuid4()), full_put_body(normaal), client="plain").status_code == 403
    assert api.put(str(uuid.uuid4()), full_put_body(normaal), client="update-normal").status_code == 404


def test_once_confidential_never_plain_normal(api):
    created = api.create(actie_body(vertrouwelijkheid="vertrouwelijk"))
    r = api.put(created["actieId"], full_put_body(created, vertrouwelijkheid="normaal"), client="update-conf")
    assert r.status_code == 200 and r.json()["vertrouwelijkheid"] == "opgeheven"
    # setting opgeheven on an action already opgeheven is allowed; normaal stays opgeheven
    again = api.put(created["actieId"], full_put_body(r.json(), vertrouwelijkheid="opgeheven"), client="update-conf")
    assert again.status_code == 200 and again.json()["vertrouwelijkheid"] == "opgeheven"
    third = api.put(created["actieId"], full_put_body(again.json(), vertrouwelijkheid="normaal"), client="update-conf")
    assert third.json()["vertrouwelijkheid"] == "opgeheven"


def test_patch_all_actions_of_a_verwerking(api):
    verwerking = str(uuid.uuid4())
    bsn = random_bsn()
    a = api.create(actie_body(bsn, verwerkingId=verwerking))
    b = api.create(actie_body(bsn, verwerkingId=verwerking, bewaartermijn="P1Y"))
    other = api.create(actie_body(bsn))
    r = api.patch(verwerking, {"bewaartermijn": "P5Y"}, client="update-normal")
    assert r.status_code == 204 and r.content == b""
    for old in (a, b):
        cur = api.current(old["actieId"])
        assert cur["bewaartermijn"] == "P5Y" and cur["actieId"] != old["actieId"]
        assert cur["verwerkteObjecten"][0]["verwerktObjectId"] == old["verwerkteObjecten"][0]["verwerktObjectId"]
        assert cur["tijdstip"] == old["tijdstip"] and cur["actieNaam"] == old["actieNaam"]
    assert api.current(other["actieId"]) == other


def test_patch_validation(api):
    verwerking = str(uuid.uuid4())
    api.create(actie_body(verwerkingId=verwerking))
    for body in ({}, [], {"actieNaam": "x"}, {"bewaartermijn": "10"}, {"vertrouwelijkheid": "geheim"},
                 {"bewaartermijn": "P1Y", "extra": 1}):
        r = api.patch(verwerking, body)
        assert r.status_code == 400, body
    r = api.request("PATCH", "/verwerkingsacties", json={"bewaartermijn": "P1Y"})
    assert r.status_code == 400 and r.json()["invalidParams"][0]["name"] == "verwerkingId"
    assert api.patch("nope", {"bewaartermijn": "P1Y"}).status_code == 400
    r = api.patch(str(uuid.uuid4()), {"bewaartermijn": "P1Y"})  # no actions: 400
    assert r.status_code == 400 and r.json()["invalidParams"][0]["code"] == "not_found"


def test_patch_scopes_all_or_nothing(api):
    verwerking = str(uuid.uuid4())
    a = api.create(actie_body(verwerkingId=verwerking))
    b = api.create(actie_body(verwerkingId=verwerking, vertrouwelijkheid="vertrouwelijk"))
    assert api.patch(verwerking, {"bewaartermijn": "P2Y"}, client="plain").status_code == 403
    # update:normal: every target must be normaal -> nothing changes at all
    assert api.patch(verwerking, {"bewaartermijn": "P2Y"}, client="update-normal").status_code == 403
    assert api.current(a["actieId"]) == a
    assert api.patch(verwerking, {"vertrouwelijkheid": "opgeheven"}, client="update-conf").status_code == 204
    assert api.current(a["actieId"])["vertrouwelijkheid"] == "opgeheven"
    assert api.current(b["actieId"])["vertrouwelijkheid"] == "opgeheven"


def test_patch_update_normal_may_only_change_bewaartermijn(api):
    verwerking = str(uuid.uuid4())
    a = api.create(actie_body(verwerkingId=verwerking))
    assert api.patch(verwerking, {"vertrouwelijkheid": "vertrouwelijk"}, client="update-normal").status_code == 403
    assert api.current(a["actieId"]) == a
    r = api.patch(verwerking, {"vertrouwelijkheid": "vertrouwelijk", "bewaartermijn": "P3Y"}, client="update-conf")
    assert r.status_code == 204
    cur = api.current(a["actieId"])
    assert (cur["vertrouwelijkheid"], cur["bewaartermijn"]) == ("vertrouwelijk", "P3Y")
    # once confidential: PATCH to normaal stores opgeheven
    assert api.patch(verwerking, {"vertrouwelijkheid": "normaal"}, client="update-conf").status_code == 204
    assert api.current(a["actieId"])["vertrouwelijkheid"] == "opgeheven"


def test_patch_skips_deleted_actions(api):
    verwerking = str(uuid.uuid4())
    a = api.create(actie_body(verwerkingId=verwerking))
    api.delete(a["actieId"])
    assert api.patch(verwerking, {"bewaartermijn": "P1Y"}).status_code == 400


def test_delete(api, storage):
    bsn = random_bsn()
    created = api.create(actie_body(bsn))
    before = storage.count_versions()
    assert api.delete(created["actieId"], client="delete-normal").status_code == 204
    assert storage.count_versions() == before + 1  # a version marked deleted, nothing removed
    assert api.get(f"/verwerkingsacties/{created['actieId']}").status_code == 404
    assert api.list(bsn).json()["count"] == 0
    assert api.delete(created["actieId"]).status_code == 404  # already deleted
    assert api.delete(str(uuid.uuid4())).status_code == 404
    assert api.delete("not-a-uuid").status_code == 404


def test_delete_scopes(api):
    normaal = api.create(actie_body())
    geheim = api.create(actie_body(vertrouwelijkheid="vertrouwelijk"))
    for client in ("plain", "read-conf", "update-conf"):
        assert api.delete(normaal["actieId"], client=client).status_code == 403
    assert api.delete(geheim["actieId"], client="delete-normal").status_code == 403
    assert api.current(geheim["actieId"]) == geheim
    assert api.delete(geheim["actieId"], client="delete-conf").status_code == 204
    assert api.delete(normaal["actieId"], client="delete-conf").status_code == 204


def test_the_append_only_guard_is_real(storage):
    """The fixtures' triggers refuse UPDATE/DELETE: so every passing test above never did one."""
    with pytest.raises(Exception, match="append-only"):
        with storage.engine.begin() as conn:
            conn.execute(text("UPDATE vl_actie_versies SET client_id = 'x'"))
    with pytest.raises(Exception, match="append-only"):
        with storage.engine.begin() as conn:
            conn.execute(text("DELETE FROM vl_verwerkte_objecten"))


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_check_order_on_put_and_patch(api, method):
    created = api.create(actie_body())
    path = f"/verwerkingsacties/{created['actieId']}" if method == "PUT" else "/verwerkingsacties"
    params = {} if method == "PUT" else {"verwerkingId": created["verwerkingId"]}
    big = b"x" * (1024 * 1024 + 1)

    def send(content, content_type="application/json", client="all"):
        return api.request(method, path, params=params, content=content, client=client,
                           headers={"Content-Type": content_type}).status_code

    assert send(big, "text/plain", client=None) == 401
    assert send(big, "text/plain") == 413
    assert send(b"{", "text/plain") == 415
    assert send(b"{") == 400
    assert send(b"{}", client="plain") == 400  # validation before scope
    valid = full_put_body(created) if method == "PUT" else {"bewaartermijn": "P1Y"}
    assert send(json.dumps(valid).encode(), client="plain") == 403
    assert api.current(created["actieId"]) == created
