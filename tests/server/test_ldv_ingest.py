"""`POST /v1/traces`: OTLP/HTTP protobuf and JSON from authenticated clients, checked per span,
stored append-only (the table's triggers refuse UPDATE and DELETE), on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import gzip
import json
import os

import pytest
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from tests.server.ldv_support import Ldv, ldv, ldv_server, regels_for  # noqa: F401 - fixtures
from tests.support.bsn import random_bsn
from tests.support.otlp import protobuf_body, request_of
from verwerkingen_otel.ldv import Logregel, to_otlp_json


def new_trace() -> str:
    return os.urandom(16).hex()


def response_of(raw: bytes) -> ExportTraceServiceResponse:
    return ExportTraceServiceResponse.FromString(raw)


def test_protobuf_records_are_stored_and_read_back_exactly(ldv: Ldv) -> None:
    trace = new_trace()
    regels = regels_for(random_bsn(), random_bsn(), trace=trace)
    response = ldv.send(regels)
    assert response.headers["content-type"] == "application/x-protobuf"
    assert not response_of(response.content).HasField("partial_success")
    assert ldv.found({"traceId": trace}) == sorted((r.to_json() for r in regels),
                                                   key=lambda r: (r["startTime"], r["spanId"]))


def test_json_records_are_stored_and_answered_in_json(ldv: Ldv) -> None:
    trace = new_trace()
    regels = regels_for(random_bsn(), trace=trace)
    response = ldv.otlp(to_otlp_json(regels), content_type="application/json")
    assert response.status_code == 200, response.text
    assert (response.headers["content-type"], response.json()) == ("application/json", {})
    assert ldv.found({"traceId": trace}) == [regels[0].to_json()]


def test_gzip_bodies_are_accepted(ldv: Ldv) -> None:
    trace = new_trace()
    regels = regels_for(random_bsn(), trace=trace)
    response = ldv.otlp(gzip.compress(protobuf_body(regels)), headers={"Content-Encoding": "gzip"})
    assert response.status_code == 200
    assert [r["spanId"] for r in ldv.found({"traceId": trace})] == [regels[0].span_id]


def test_refused_spans_are_a_partial_success_naming_rule_and_span_never_the_value(ldv: Ldv) -> None:
    trace, bsn = new_trace(), random_bsn()
    good = regels_for(random_bsn(), trace=trace)[0]
    plain = dataclasses.replace(good, span_id="1111111111111111",
                                attributes={**good.attributes, "dpl.core.data_subject_id": bsn})
    removed = dataclasses.replace(good, span_id="2222222222222222",
                                  attributes={**good.attributes, "dpl.core.user_id": "medewerker"})
    response = ldv.send([plain, good, removed])
    partial = response_of(response.content).partial_success
    assert partial.rejected_spans == 2
    assert partial.error_message == (
        "2 of 3 spans refused: span 0 (1111111111111111): dpl.core.data_subject_id is a plain BSN: it must be "
        "pseudonymised; span 2 (2222222222222222): dpl.core.user_id was removed from the standard and must "
        "not be written")
    assert bsn not in response.text
    assert [r["spanId"] for r in ldv.found({"traceId": trace})] == [good.span_id]
    assert bsn not in ldv.server.log_text()


def test_partial_success_in_json(ldv: Ldv) -> None:
    good = regels_for(random_bsn(), trace=new_trace())[0]
    bad = dataclasses.replace(good, name="", span_id="3333333333333333")
    response = ldv.otlp(to_otlp_json([good, bad]), content_type="application/json")
    assert response.json() == {"partialSuccess": {
        "rejectedSpans": "1", "errorMessage": "1 of 2 spans refused: span 1 (3333333333333333): name is required"}}


def test_a_retried_batch_is_stored_once_and_a_clash_is_refused(ldv: Ldv) -> None:
    trace = new_trace()
    regels = regels_for(random_bsn(), random_bsn(), trace=trace)
    ldv.send(regels)
    again = ldv.send(regels)
    assert not response_of(again.content).HasField("partial_success")
    assert len(ldv.found({"traceId": trace})) == 3
    other = dataclasses.replace(regels[1], name="Iets anders")
    partial = response_of(ldv.send([other]).content).partial_success
    assert (partial.rejected_spans, partial.error_message) == (
        1, f"1 of 1 spans refused: span 0 ({other.span_id}): trace_id and span_id are already used by another record")
    assert [r["name"] for r in ldv.found({"traceId": trace})] == ["Raadplegen persoon"] * 3


def test_a_time_beyond_a_signed_64_bit_column_is_refused_not_a_server_error(ldv: Ldv) -> None:
    good = regels_for(random_bsn(), trace=new_trace())[0]
    late = dataclasses.replace(good, end_time_ns=2**64 - 1)
    partial = response_of(ldv.send([late]).content).partial_success
    assert partial.error_message == (
        f"1 of 1 spans refused: span 0 ({late.span_id}): start_time and end_time must be before the year 2262")


def test_unstorable_characters_and_bad_status_are_refused(ldv: Ldv) -> None:
    good = regels_for(random_bsn(), trace=new_trace())[0]
    nul = dataclasses.replace(good, span_id="4444444444444444", attributes={**good.attributes, "x": "a\x00b"})
    body = request_of([nul, good], status_codes=[0, 7]).SerializeToString()
    partial = response_of(ldv.otlp(body).content).partial_success
    assert partial.rejected_spans == 2
    assert partial.error_message == (
        "2 of 2 spans refused: span 0 (4444444444444444): x holds characters that cannot be stored; "
        f"span 1 ({good.span_id}): status must be Unset, Ok or Error")


@pytest.mark.parametrize(("client", "status", "code"), [(None, 401, 16), ("read-normal", 403, 7), ("plain", 403, 7)])
def test_only_clients_with_create_normal_may_write(ldv: Ldv, client: str | None, status: int, code: int) -> None:
    trace = new_trace()
    response = ldv.otlp(protobuf_body(regels_for(random_bsn(), trace=trace)), client=client,
                        content_type="application/json")
    assert response.status_code == status
    assert response.json()["code"] == code
    assert ldv.found({"traceId": trace}) == []


def test_create_normal_suffices(ldv: Ldv) -> None:
    trace = new_trace()
    ldv.send(regels_for(random_bsn(), trace=trace), client="create-normal")
    assert len(ldv.found({"traceId": trace})) == 1


def test_errors_are_otlp_status_bodies(ldv: Ldv) -> None:
    bad_proto = ldv.otlp(b"\xff\xff\xff not protobuf")
    assert bad_proto.status_code == 400
    status = Status.FromString(bad_proto.content)  # googleapis' own google.rpc.Status decodes it
    assert (status.code, status.message) == (3, "the body is not a protobuf ExportTraceServiceRequest")
    bad_json = ldv.otlp(b"{not json", content_type="application/json")
    assert (bad_json.status_code, bad_json.json()) == (400, {"code": 3, "message": "the body is not JSON (UTF-8)"})
    wrong_type = ldv.otlp(b"x", content_type="text/plain")
    assert (wrong_type.status_code, wrong_type.json()["code"]) == (415, 3)
    wrong_encoding = ldv.otlp(b"x", headers={"Content-Encoding": "br"})
    assert wrong_encoding.status_code == 415
    bad_gzip = ldv.otlp(b"not gzip", headers={"Content-Encoding": "gzip"})
    assert bad_gzip.status_code == 400


def test_too_large_bodies_are_refused_before_reading_and_after_inflating(ldv: Ldv) -> None:
    assert ldv.otlp(b"\0" * (8 * 1024 * 1024 + 1)).status_code == 413
    bomb = gzip.compress(b"\0" * (8 * 1024 * 1024 + 1))
    assert ldv.otlp(bomb, headers={"Content-Encoding": "gzip"}).status_code == 413


def test_unknown_json_fields_are_ignored_and_bad_hex_ids_refuse_that_span(ldv: Ldv) -> None:
    trace = new_trace()
    regels = regels_for(random_bsn(), trace=trace)
    data = json.loads(to_otlp_json(regels))
    data["future"] = {"x": 1}
    span = dict(data["resourceSpans"][0]["scopeSpans"][0]["spans"][0])
    span["spanId"] = "zz"
    data["resourceSpans"][0]["scopeSpans"][0]["spans"].append(span)
    response = ldv.otlp(json.dumps(data).encode(), content_type="application/json")
    assert response.json()["partialSuccess"]["errorMessage"] == (
        "1 of 2 spans refused: span 1 (): span_id must be 8 bytes, not all zero")
    assert len(ldv.found({"traceId": trace})) == 1


def test_an_update_or_delete_of_the_table_fails(ldv_server: object) -> None:
    """The guard the fixture installed is real: the server never needs it, a test proves it bites."""
    from sqlalchemy import text

    from verwerkingen_otel.server.settings import database_url
    from verwerkingen_otel.server.storage import Storage

    storage = Storage(database_url(ldv_server.database))  # type: ignore[attr-defined]
    try:
        with pytest.raises(Exception, match="append-only log"):
            with storage.engine.begin() as conn:
                conn.execute(text("DELETE FROM vl_ldv_logregels"))
    finally:
        storage.dispose()


def test_a_logregel_is_what_the_lezen_api_shows(ldv: Ldv) -> None:
    r = Logregel(trace_id=new_trace(), span_id="5555555555555555", parent_span_id="6666666666666666",
                 name="Zonder persoon", start_time_ns=1_700_000_000_123_456_789, end_time_ns=1_700_000_001_000_000_000,
                 status="Error", attributes={"exception.type": "KeyError", "n": 3, "ok": True, "f": 1.5},
                 resource={"service.name": "x"})
    ldv.send([r])
    assert ldv.found({"traceId": r.trace_id}) == [{
        "traceId": r.trace_id, "spanId": "5555555555555555", "parentSpanId": "6666666666666666",
        "status": "Error", "name": "Zonder persoon", "startTime": 1_700_000_000_123, "endTime": 1_700_000_001_000,
        "attributes": {"exception.type": "KeyError", "n": 3, "ok": True, "f": 1.5},
        "resource": {"attributes": {"service.name": "x"}}}]


def test_a_database_outage_is_a_503_status_the_exporter_retries_then_recovery(
        postgres_admin_url: str, clients_file: object, tmp_path: object) -> None:
    import uuid

    import psycopg

    from tests.support.logserver import LogServer

    name = f"vt_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = postgres_admin_url.rsplit("/", 1)[0] + "/" + name
    try:
        with LogServer(url, clients_file, log_path=tmp_path / "s.log") as srv:  # type: ignore[operator]
            client = Ldv(srv)
            client.send(regels_for(random_bsn(), trace=new_trace()))
            with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            bsn = random_bsn()
            response = client.otlp(protobuf_body(regels_for(bsn, trace=new_trace())))
            assert (response.status_code, response.headers["Retry-After"]) == (503, "1")
            assert Status.FromString(response.content).code == 14  # UNAVAILABLE
            assert "database unavailable: " in srv.wait_for_log("database unavailable")
            assert bsn not in srv.log_text()
            with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            srv.restart()  # a restart recreates the tables
            trace = new_trace()
            client.send(regels_for(bsn, trace=trace))
            assert len(client.found({"traceId": trace})) == 1
            client.http.close()
    finally:
        with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_hostile_bodies_never_get_a_server_error(ldv: Ldv) -> None:
    """Random bytes as protobuf, random JSON as OTLP/JSON: a 200 (each span judged) or a 400."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
            st.sampled_from(["resourceSpans", "scopeSpans", "spans", "traceId", "spanId", "parentSpanId", "name",
                             "attributes", "key", "value", "stringValue", "status", "code", "startTimeUnixNano",
                             "resource", "links", "arrayValue", "values", "x"]), inner, max_size=5),
        max_leaves=30)

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.binary(max_size=300), json_values)
    def check(raw: bytes, data: object) -> None:
        assert ldv.otlp(raw).status_code in (200, 400)
        assert ldv.otlp(json.dumps(data).encode(), content_type="application/json").status_code in (200, 400)

    check()
    assert "Traceback" not in ldv.server.log_text()
