"""GET /verwerkingsacties and /verwerkingsacties/{actieId} (NOTES §2): filters, scopes, pages."""

from __future__ import annotations

import uuid

import pytest

from tests.server.conftest import actie_body, random_bsn

ACTIVITEIT = "5f0bef4c-f66f-4311-84a5-19e8bf359eaf"


def two_person_body(bsn: str, other: str, **kw):
    body = actie_body(bsn, **kw)
    body["verwerkteObjecten"].append({"objecttype": "persoon", "soortObjectId": "BSN", "objectId": other,
                                      "betrokkenheid": "Getoond in zoekresultaat"})
    return body


def test_required_person_params(api):
    r = api.get("/verwerkingsacties", params={})
    assert r.status_code == 400
    assert {p["name"] for p in r.json()["invalidParams"]} == {"objecttype", "soortObjectId", "objectId"}
    r = api.get("/verwerkingsacties", params={"objecttype": "auto", "soortObjectId": "BSN", "objectId": "1"})
    assert r.status_code == 400 and [p["name"] for p in r.json()["invalidParams"]] == ["objecttype"]


def test_only_the_matching_objects_are_returned(api):
    bsn, other = random_bsn(), random_bsn()
    created = api.create(two_person_body(bsn, other))
    r = api.list(bsn)
    assert r.status_code == 200
    page = r.json()
    assert page["count"] == 1 and page["next"] is None and page["previous"] is None
    [actie] = page["results"]
    assert actie["actieId"] == created["actieId"]
    assert [o["objectId"] for o in actie["verwerkteObjecten"]] == [bsn]
    assert [o["objectId"] for o in api.list(other).json()["results"][0]["verwerkteObjecten"]] == [other]
    assert api.list(random_bsn()).json() == {"count": 0, "next": None, "previous": None, "results": []}


def test_date_window_uses_the_actions_own_offset(api):
    bsn = random_bsn()
    # 2024-03-01 00:30 in +01:00 is 2024-02-29 23:30 UTC: its date is 2024-03-01
    early = api.create(actie_body(bsn, tijdstip="2024-03-01T00:30:00+01:00"))
    late = api.create(actie_body(bsn, tijdstip="2024-03-31T23:59:59-02:00"))  # 2024-04-01 UTC
    ids = lambda r: [a["actieId"] for a in r.json()["results"]]  # noqa: E731
    assert ids(api.list(bsn, beginDatum="2024-03-01")) == [early["actieId"], late["actieId"]]
    assert ids(api.list(bsn, beginDatum="2024-03-02")) == [late["actieId"]]
    assert ids(api.list(bsn, eindDatum="2024-03-31")) == [early["actieId"]]
    assert ids(api.list(bsn, eindDatum="2024-04-01")) == [early["actieId"], late["actieId"]]
    assert ids(api.list(bsn, beginDatum="2024-03-01", eindDatum="2024-03-01")) == []
    r = api.list(bsn, beginDatum="2024-03-02", eindDatum="2024-03-01")
    assert r.status_code == 400 and r.json()["invalidParams"][0]["name"] == "eindDatum"
    r = api.list(bsn, beginDatum="2024-02-30")
    assert r.status_code == 400 and r.json()["invalidParams"][0]["name"] == "beginDatum"


def test_verwerkingsactiviteit_filter(api):
    bsn = random_bsn()
    other = str(uuid.uuid4())
    a = api.create(actie_body(bsn))
    b = api.create(actie_body(bsn, verwerkingsactiviteitId=other))
    assert [x["actieId"] for x in api.list(bsn, verwerkingsactiviteitId=ACTIVITEIT).json()["results"]] == [a["actieId"]]
    assert [x["actieId"] for x in api.list(bsn, verwerkingsactiviteitId=other).json()["results"]] == [b["actieId"]]
    assert api.list(bsn, verwerkingsactiviteitId="nope").status_code == 400


def test_vertrouwelijkheid_in_three_spellings(api):
    bsn = random_bsn()
    normaal = api.create(actie_body(bsn, tijdstip="2024-01-01T10:00:00+01:00"))["actieId"]
    geheim = api.create(actie_body(bsn, vertrouwelijkheid="vertrouwelijk", tijdstip="2024-01-02T10:00:00+01:00"))["actieId"]

    def ids(**params):
        r = api.get("/verwerkingsacties", params=[("objecttype", "persoon"), ("soortObjectId", "BSN"),
                                                  ("objectId", bsn), *params.pop("items", [])])
        assert r.status_code == 200, r.text
        return [a["actieId"] for a in r.json()["results"]]

    assert ids() == [normaal, geheim]
    assert ids(items=[("vertrouwelijkheid", "normaal")]) == [normaal]
    assert ids(items=[("vertrouwelijkheid", "vertrouwelijk")]) == [geheim]
    assert ids(items=[("vertrouwelijkheid", "normaal"), ("vertrouwelijkheid", "vertrouwelijk")]) == [normaal, geheim]
    assert ids(items=[("vertrouwelijkheid", "normaal,vertrouwelijk")]) == [normaal, geheim]
    assert ids(items=[("vertrouwelijkheid__in", "vertrouwelijk,normaal")]) == [normaal, geheim]
    assert ids(items=[("vertrouwelijkheid__in", "opgeheven")]) == []
    assert api.list(bsn, vertrouwelijkheid="geheim").status_code == 400


def test_read_scopes_on_the_list(api):
    bsn = random_bsn()
    api.create(actie_body(bsn))
    api.create(actie_body(bsn, vertrouwelijkheid="vertrouwelijk"))
    assert api.list(bsn, client="read-normal").status_code == 403  # must ask vertrouwelijkheid=normaal
    assert api.list(bsn, client="read-normal", vertrouwelijkheid="vertrouwelijk").status_code == 403
    assert api.list(bsn, client="read-normal", vertrouwelijkheid="normaal,opgeheven").status_code == 403
    r = api.list(bsn, client="read-normal", vertrouwelijkheid="normaal")
    assert r.status_code == 200 and r.json()["count"] == 1
    assert api.list(bsn, client="read-conf").json()["count"] == 2
    for client in ("plain", "create-conf", "delete-conf"):
        r = api.list(bsn, client=client, vertrouwelijkheid="normaal")
        assert r.status_code == 403, client
    # validation comes before the scope check
    assert api.list("", client="plain").status_code == 400


def test_pagination(api):
    bsn = random_bsn()
    created = [api.create(actie_body(bsn, tijdstip=f"2024-05-{day:02d}T12:00:00+02:00"))["actieId"]
               for day in (9, 3, 7, 1, 5, 2, 8, 4, 6, 10, 11, 12)]
    order = [c for _, c in sorted(zip((9, 3, 7, 1, 5, 2, 8, 4, 6, 10, 11, 12), created))]
    first = api.list(bsn).json()  # the module's server runs with --page-size 5
    assert first["count"] == 12 and first["previous"] is None
    assert [a["actieId"] for a in first["results"]] == order[:5]
    assert first["next"].startswith(api.server.api_url + "/verwerkingsacties?") and "page=2" in first["next"]
    second = api.http.get(first["next"], headers=api.auth()).json()
    assert [a["actieId"] for a in second["results"]] == order[5:10]
    assert "page=1" in second["previous"] and f"objectId={bsn}" in second["previous"]
    third = api.http.get(second["next"], headers=api.auth()).json()
    assert [a["actieId"] for a in third["results"]] == order[10:] and third["next"] is None
    assert api.list(bsn, page=4).status_code == 404
    for bad in ("0", "-1", "x", "1.5", "", "99999999999999999999"):
        r = api.list(bsn, page=bad)
        assert r.status_code == 400 and r.json()["invalidParams"][0]["name"] == "page", bad
    assert api.list(random_bsn(), page=1).json()["count"] == 0


def test_same_instant_ordered_by_actie_id(api):
    bsn = random_bsn()
    ids = [api.create(actie_body(bsn, tijdstip=t))["actieId"]
           for t in ("2024-06-01T12:00:00+02:00", "2024-06-01T10:00:00Z", "2024-06-01T11:00:00+01:00")]
    assert [a["actieId"] for a in api.list(bsn).json()["results"]] == sorted(ids)


def test_get_one(api):
    created = api.create(actie_body())
    assert api.current(created["actieId"]) == created
    assert api.get(f"/verwerkingsacties/{created['actieId'].upper()}").json() == created
    assert api.get(f"/verwerkingsacties/{uuid.uuid4()}").status_code == 404
    assert api.get("/verwerkingsacties/not-a-uuid").status_code == 404
    assert api.get(f"/verwerkingsacties/{created['actieId']}", client="read-normal").status_code == 200
    assert api.get(f"/verwerkingsacties/{created['actieId']}", client="create-conf").status_code == 403


def test_get_one_confidential_needs_read_confidential(api):
    created = api.create(actie_body(vertrouwelijkheid="vertrouwelijk"))
    path = f"/verwerkingsacties/{created['actieId']}"
    assert api.get(path, client="read-normal").status_code == 403
    assert api.get(path, client="read-conf").json() == created


@pytest.mark.parametrize("client", [None])
def test_unauthenticated_reads(api, client):
    assert api.get("/verwerkingsacties", client=client).status_code == 401
    assert api.get(f"/verwerkingsacties/{uuid.uuid4()}", client=client).status_code == 401


def test_filters_and_paging_match_a_reference_model(api):
    """Random instants in random offsets, random windows: the server agrees with plain Python."""
    import random
    from datetime import date, datetime, timedelta, timezone
    rng = random.Random(20241128)
    bsn = random_bsn()
    other = str(uuid.uuid4())
    acties = []
    for i in range(24):
        offset = timezone(timedelta(minutes=rng.choice([-720, -300, 0, 60, 120, 330, 840])))
        base = datetime(2024, 3, 30, 12, tzinfo=timezone.utc) + timedelta(minutes=rng.randrange(-3000, 3000))
        if i % 6 == 0 and acties:  # the same instant as an earlier action, in another offset
            base = datetime.fromisoformat(acties[-1]["tijdstip"])
        moment = base.astimezone(offset)
        level = rng.choice(["normaal", "normaal", "vertrouwelijk"])
        activity = other if i % 4 == 0 else ACTIVITEIT
        created = api.create(actie_body(bsn, tijdstip=moment.isoformat(), vertrouwelijkheid=level,
                                        verwerkingsactiviteitId=activity))
        acties.append(created)

    def expected(begin, end, activity=None, levels=None):
        hits = [a for a in acties
                if (begin is None or datetime.fromisoformat(a["tijdstip"]).date() >= begin)
                and (end is None or datetime.fromisoformat(a["tijdstip"]).date() < end)
                and (activity is None or a["verwerkingsactiviteitId"] == activity)
                and (levels is None or a["vertrouwelijkheid"] in levels)]
        hits.sort(key=lambda a: (datetime.fromisoformat(a["tijdstip"]), a["actieId"]))
        return [a["actieId"] for a in hits]

    def served(**params):
        ids, page = [], 1
        while True:
            r = api.list(bsn, page=page, **{k: v for k, v in params.items() if v is not None})
            assert r.status_code == 200, r.text
            body = r.json()
            ids += [a["actieId"] for a in body["results"]]
            if body["next"] is None:
                assert body["count"] == len(ids)
                return ids
            page += 1

    days = [date(2024, 3, 27) + timedelta(days=d) for d in range(7)]
    for _ in range(12):
        begin, end = sorted(rng.sample(days, 2))
        activity = rng.choice([None, other])
        levels = rng.choice([None, ["normaal"], ["vertrouwelijk"]])
        assert served(beginDatum=begin.isoformat(), eindDatum=end.isoformat(), verwerkingsactiviteitId=activity,
                      vertrouwelijkheid=",".join(levels) if levels else None) == expected(begin, end, activity, levels)
    assert served() == expected(None, None)
