"""`POST /lezen/v1/processing-activities` (NOTES "Reading"): filters, order, the 1,000 cap, scopes,
the published schema (as fixed), and every read recorded as a logregel of the log's own."""

from __future__ import annotations

import dataclasses
import os

import pytest

from tests.server.ldv_support import (  # noqa: F401 - fixtures
    INZAGE_ACTIVITEIT, KEY, Ldv, ldv, ldv_server, regels_for,
)
from tests.support.bsn import random_bsn

SUBJECT = "dpl.core.data_subject_id"


def new_trace() -> str:
    return os.urandom(16).hex()


def test_one_person_is_found_by_pseudonym_in_start_time_then_span_id_order(ldv: Ldv) -> None:
    bsn = random_bsn()
    later = regels_for(bsn, trace=new_trace(), span="0000000000000002", start_ms=1_712_324_200_000)
    first = regels_for(bsn, random_bsn(), trace=new_trace(), span="0000000000000009", start_ms=1_712_324_100_000)
    tie = regels_for(bsn, trace=new_trace(), span="0000000000000001", start_ms=1_712_324_200_000)
    ldv.send(later + first + tie)
    found = ldv.found({SUBJECT: KEY.pseudonym("BSN", bsn), "dpl.core.data_subject_id_type": "BSN",
                       "endTime": 1_712_324_300_000})
    mine = [r for r in first if r.attributes.get(SUBJECT) == KEY.pseudonym("BSN", bsn)]
    assert found == [mine[0].to_json(), tie[0].to_json(), later[0].to_json()]


def test_time_filters_are_inclusive_milliseconds(ldv: Ldv) -> None:
    bsn = random_bsn()
    regels = [regels_for(bsn, trace=new_trace(), start_ms=ms)[0] for ms in (1_800_000_000_000, 1_800_000_001_000)]
    ldv.send(regels)  # each ends 5 ms after it starts
    pseudonym = KEY.pseudonym("BSN", bsn)

    def starts(body: dict[str, object]) -> list[int]:  # the reads themselves (recorded now) left out
        return [r["startTime"] for r in ldv.found(body) if r["name"] == "Raadplegen persoon"]

    assert starts({SUBJECT: pseudonym, "startTime": 1_800_000_001_000}) == [1_800_000_001_000]
    assert starts({SUBJECT: pseudonym, "startTime": 1_800_000_001_001}) == []
    assert starts({SUBJECT: pseudonym, "endTime": 1_800_000_000_005}) == [1_800_000_000_000]
    assert starts({SUBJECT: pseudonym, "endTime": 1_800_000_000_004}) == []
    assert starts({SUBJECT: pseudonym}) == [1_800_000_000_000, 1_800_000_001_000]


def test_by_activity_and_trace_id_also_in_uuid_form(ldv: Ldv) -> None:
    trace = new_trace()
    regels = regels_for(random_bsn(), trace=trace, verwerkingsactiviteitUrl="https://register.example/act/77")
    ldv.send(regels)
    assert ldv.found({"dpl.core.processing_activity_id": "https://register.example/act/77"}) == [regels[0].to_json()]
    dashed = f"{trace[:8]}-{trace[8:12]}-{trace[12:16]}-{trace[16:20]}-{trace[20:]}".upper()
    assert ldv.found({"traceId": dashed}) == [regels[0].to_json()]


def test_more_than_a_thousand_results_are_truncated(ldv: Ldv) -> None:
    trace = new_trace()
    base = regels_for(random_bsn(), trace=trace)[0]
    regels = [dataclasses.replace(base, span_id=f"{i + 1:016x}") for i in range(1001)]
    ldv.send(regels)
    response = ldv.lezen({"traceId": trace})
    body = response.json()
    assert (len(body["processingActivities"]), body["truncated"]) == (1000, True)
    assert body["processingActivities"][-1]["spanId"] == f"{1000:016x}"
    assert response.headers["api-version"] == "1.1.0"


@pytest.mark.parametrize(("body", "params"), [
    ({}, [("nonFieldErrors", "no_filter")]),
    ([], [("nonFieldErrors", "invalid")]),
    ({"traceId": None}, [("nonFieldErrors", "no_filter")]),
    ({"dpl.core.user_id": "x"}, [("dpl.core.user_id", "unknown_filter")]),
    ({"traceId": "abc"}, [("traceId", "invalid")]),
    ({"startTime": "1"}, [("startTime", "invalid")]),
    ({"endTime": True}, [("endTime", "invalid")]),
    ({"startTime": -1}, [("startTime", "invalid")]),
    ({"dpl.core.processing_activity_id": ""}, [("dpl.core.processing_activity_id", "invalid")]),
    ({SUBJECT: "999993653"}, [(SUBJECT, "plain_bsn")]),
    ({SUBJECT: "999993653", "dpl.core.data_subject_id_type": "bsn"}, [(SUBJECT, "plain_bsn")]),
])
def test_bad_filters_are_400_naming_the_key(ldv: Ldv, body: object, params: list[tuple[str, str]]) -> None:
    response = ldv.lezen(body)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["api-version"] == "1.1.0"
    assert [(p["name"], p["code"]) for p in response.json()["invalidParams"]] == params
    assert "999993653" not in response.text


def test_a_nine_digit_id_of_another_type_may_be_searched(ldv: Ldv) -> None:
    assert ldv.found({SUBJECT: "999993653", "dpl.core.data_subject_id_type": "personeelsnummer"}) == []


@pytest.mark.parametrize(("client", "status"), [(None, 401), ("create-normal", 403), ("plain", 403)])
def test_only_clients_with_a_read_scope_may_read(ldv: Ldv, client: str | None, status: int) -> None:
    response = ldv.lezen({"traceId": new_trace()}, client=client)
    assert response.status_code == status
    assert response.json()["status"] == status


@pytest.mark.parametrize("client", ["read-normal", "read-conf"])
def test_either_read_scope_suffices(ldv: Ldv, client: str) -> None:
    assert ldv.found({"traceId": new_trace()}, client=client) == []


def test_every_read_is_itself_recorded_continuing_the_callers_trace(ldv: Ldv) -> None:
    bsn = random_bsn()
    pseudonym = KEY.pseudonym("BSN", bsn)
    ldv.send(regels_for(bsn, trace=new_trace()))
    caller_trace, caller_span = new_trace(), "00f067aa0ba902b7"
    response = ldv.lezen({SUBJECT: pseudonym, "dpl.core.data_subject_id_type": "BSN"}, headers={
        "traceparent": f"00-{caller_trace}-{caller_span}-01", "OIN": "00000001234567890000"})
    assert response.status_code == 200
    (read,) = ldv.found({"traceId": caller_trace})
    assert read["parentSpanId"] == caller_span
    assert read["name"] == "Lezen logboek dataverwerkingen"
    assert read["status"] == "Unset"
    assert read["attributes"] == {
        "dpl.core.processing_activity_id": f"urn:uuid:{INZAGE_ACTIVITEIT}",
        SUBJECT: pseudonym, "dpl.core.data_subject_id_type": "BSN",
        "dpl.core.foreign_operation.processor": "urn:oin:00000001234567890000",
        "verwerkingen.handeling_naam": "Lezen", "verwerkingen.aantal_resultaten": 1,
    }
    assert read["resource"] == {"attributes": {"service.name": "verwerkingen-otel server"}}
    # the person's own history now holds the read too (the read of it is recorded in turn)
    assert [r["name"] for r in ldv.found({SUBJECT: pseudonym})] == [
        "Raadplegen persoon", "Lezen logboek dataverwerkingen"]


def test_a_read_without_a_valid_traceparent_starts_a_new_trace(ldv: Ldv) -> None:
    activity = f"urn:uuid:{INZAGE_ACTIVITEIT}"
    before = {r["traceId"] for r in ldv.found({"dpl.core.processing_activity_id": activity})}
    ldv.lezen({"traceId": new_trace()}, headers={"traceparent": "00-" + "0" * 32 + "-00f067aa0ba902b7-01"})
    after = ldv.found({"dpl.core.processing_activity_id": activity})
    new = [r for r in after if r["traceId"] not in before and "parentSpanId" not in r]
    assert len(new) >= 1
    assert all(SUBJECT not in r["attributes"] for r in new)


def test_the_fixed_openapi_is_served(ldv: Ldv) -> None:
    response = ldv.http.get("/lezen/v1/openapi.json")
    assert response.status_code == 200
    assert response.json()["components"]["schemas"]["TraceID"]["pattern"] == "^[0-9a-f]{32}$"
