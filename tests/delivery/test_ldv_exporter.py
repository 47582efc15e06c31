"""The ldv exporter: each action as LDV logregels over the official OTLP exporters, durably
through the outbox, against OTLP receivers that fail on demand (no collector is installable
here) and against our own log server's /v1/traces."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from pathlib import Path
from typing import Iterator

import grpc
import pytest

from tests.delivery.conftest import FAST, SECRET, make_actie
from tests.support.bsn import random_bsn
from tests.support.logserver import LogServer
from tests.support.otlp_receivers import OtlpGrpcReceiver, OtlpHttpReceiver
from verwerkingen_otel.delivery import OutboxDelivery, SpanInfo
from verwerkingen_otel.delivery.exporters import JwtAuth, LdvExporter, OtlpTransport
from verwerkingen_otel.ldv import LogregelMapping, PseudonymKey

KEY_BYTES = b"ldv-delivery-test-key-0123456789abcdef"
KEY = PseudonymKey.from_bytes(KEY_BYTES, "t1")
ACTIVITEIT = "5f0bef4c-f66f-4311-84a5-19e8bf359eaf"


def pseudonym(bsn: str) -> str:
    return hmac.new(KEY_BYTES, f"BSN:{bsn}".encode(), hashlib.sha256).hexdigest()


def exporter_to(endpoint: str, protocol: str = "http/protobuf", timeout: float = 2.0) -> LdvExporter:
    return LdvExporter(LogregelMapping(KEY, service_name="BRP"), OtlpTransport(protocol, endpoint=endpoint,
                                                                                timeout=timeout))


def outbox_to(exporter: LdvExporter, tmp_path: Path) -> OutboxDelivery:
    return OutboxDelivery([exporter], tmp_path / "outbox.db", policy=FAST, concurrency=2)


@pytest.fixture()
def http_rx() -> Iterator[OtlpHttpReceiver]:
    with OtlpHttpReceiver() as rx:
        yield rx


def span(n: int, error: str | None = None) -> SpanInfo:
    return SpanInfo(f"{n + 1:032x}", f"{n + 1:016x}", "00f067aa0ba902b7", 1_700_000_000_000_000_000 + n,
                    1_700_000_000_500_000_000 + n, error)


def test_each_action_arrives_as_its_logregels_with_the_actions_own_span(http_rx: OtlpHttpReceiver,
                                                                      tmp_path: Path) -> None:
    delivery = outbox_to(exporter_to(http_rx.endpoint), tmp_path)
    bsns = [random_bsn() for _ in range(3)]
    delivery.submit(make_actie(ACTIVITEIT, bsn=bsns[0], n=1), span(1))
    delivery.submit(make_actie(ACTIVITEIT, bsn=bsns[1], n=2), span(2, "app.Fout"))
    assert delivery.force_flush(10.0) is True
    assert delivery.outbox.status()["pending"] == 0
    got = {s.name: (resource, s) for resource, s in http_rx.spans()}
    resource, one = got["Raadplegen persoon 1"]
    assert (one.trace_id.hex(), one.span_id.hex(), one.parent_span_id.hex()) == (
        f"{2:032x}", f"{2:016x}", "00f067aa0ba902b7")
    assert (one.start_time_unix_nano, one.end_time_unix_nano) == (1_700_000_000_000_000_001,
                                                                  1_700_000_000_500_000_001)
    assert resource == {"service.name": "BRP"}
    attributes = {kv.key: kv.value.string_value for kv in one.attributes}
    assert attributes["dpl.core.data_subject_id"] == pseudonym(bsns[0])
    assert attributes["dpl.core.processing_activity_id"] == f"urn:uuid:{ACTIVITEIT}"
    _, two = got["Raadplegen persoon 2"]
    assert two.status.code == 2 and {kv.key: kv.value.string_value for kv in two.attributes}[
        "exception.type"] == "app.Fout"
    for raw in http_rx.raw:  # every byte that left: no plain BSN
        for bsn in bsns:
            assert bsn.encode() not in raw
    delivery.shutdown(2.0)


def test_down_then_up_nothing_is_lost_and_rows_stay_until_acknowledged(tmp_path: Path) -> None:
    rx = OtlpHttpReceiver()  # not started: the collector is down
    delivery = outbox_to(exporter_to(rx.endpoint, timeout=0.5), tmp_path)
    for n in range(5):
        delivery.submit(make_actie(ACTIVITEIT, n=n), span(n))
    assert delivery.force_flush(0.5) is False
    assert delivery.outbox.status()["pending"] == 5
    rx.start()
    try:
        assert delivery.force_flush(20.0) is True
        assert sorted(s.name for _, s in rx.spans()) == [f"Raadplegen persoon {n}" for n in range(5)]
        assert delivery.outbox.dead_letters() == []
    finally:
        delivery.shutdown(2.0)
        rx.stop()


def test_503_is_retried_until_acknowledged(http_rx: OtlpHttpReceiver, tmp_path: Path) -> None:
    http_rx.fail_next(8, 503)  # more than the official exporter's own retries within its timeout
    delivery = outbox_to(exporter_to(http_rx.endpoint, timeout=0.5), tmp_path)
    delivery.submit(make_actie(ACTIVITEIT, n=7), span(7))
    assert delivery.force_flush(30.0) is True
    assert [s.name for _, s in http_rx.spans()] == ["Raadplegen persoon 7"]
    assert http_rx.attempts == 9
    assert delivery.outbox.dead_letters() == []
    delivery.shutdown(2.0)


def test_a_permanent_400_dead_letters_that_record_while_the_others_flow(http_rx: OtlpHttpReceiver,
                                                                       tmp_path: Path) -> None:
    http_rx.refuse_named("Raadplegen persoon 0", 400)
    delivery = outbox_to(exporter_to(http_rx.endpoint), tmp_path)
    for n in range(4):
        delivery.submit(make_actie(ACTIVITEIT, n=n), span(n))
    assert delivery.force_flush(10.0) is True
    assert sorted(s.name for _, s in http_rx.spans()) == [f"Raadplegen persoon {n}" for n in (1, 2, 3)]
    (dead,) = delivery.outbox.dead_letters()
    assert (dead.exporter, dead.status, dead.problem["title"]) == ("ldv", 400, "OTLP HTTP 400")
    delivery.shutdown(2.0)


def test_401_is_retried_loudly_never_dead_lettered(http_rx: OtlpHttpReceiver, tmp_path: Path) -> None:
    http_rx.fail_next(2, 401)
    delivery = outbox_to(exporter_to(http_rx.endpoint), tmp_path)
    delivery.submit(make_actie(ACTIVITEIT, n=3), span(3))
    assert delivery.force_flush(20.0) is True
    assert [s.name for _, s in http_rx.spans()] == ["Raadplegen persoon 3"]
    assert delivery.outbox.dead_letters() == []
    delivery.shutdown(2.0)


@pytest.mark.timeout(120)
def test_grpc_delivers_retries_and_dead_letters_a_refusal_while_others_pass(tmp_path: Path) -> None:
    with OtlpGrpcReceiver() as rx:
        rx.fail_next(2, grpc.StatusCode.UNAVAILABLE)
        rx.refuse_named("Raadplegen persoon 0", grpc.StatusCode.INVALID_ARGUMENT)
        delivery = OutboxDelivery([exporter_to(rx.endpoint, "grpc", timeout=1.0)], tmp_path / "outbox.db",
                                  policy=FAST, concurrency=1)
        delivery.submit(make_actie(ACTIVITEIT, n=0), span(0))
        for n in range(1, 8):
            delivery.submit(make_actie(ACTIVITEIT, n=n), span(n))
        deadline = time.monotonic() + 90
        while delivery.outbox.status()["pending"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sorted(s.name for _, s in rx.spans()) == [f"Raadplegen persoon {n}" for n in range(1, 8)]
        (dead,) = delivery.outbox.dead_letters()
        assert dead.exporter == "ldv" and dead.attempts >= 4
        assert dead.problem["title"] == "refused by the collector (gRPC)"
        delivery.shutdown(2.0)


def test_into_our_own_log_by_jwt_and_read_back_by_pseudonym(tmp_path: Path, clients_file: Path) -> None:
    from tests.support.logserver import mint_token
    import httpx

    server = LogServer(f"sqlite:///{tmp_path}/log.db", clients_file, log_path=tmp_path / "server.log").start()
    try:
        transport = OtlpTransport("http/protobuf", endpoint=f"{server.base_url}/v1/traces", timeout=2.0,
                                  auth=JwtAuth("app", SECRET))
        exporter = LdvExporter(LogregelMapping(KEY, service_name="BRP"), transport)
        delivery = outbox_to(exporter, tmp_path)
        bsn = random_bsn()
        delivery.submit(make_actie(ACTIVITEIT, bsn=bsn, n=1), span(11))
        delivery.submit(make_actie(ACTIVITEIT, n=2, verwerkingsactiviteit_id=None), span(12))  # LDV needs one
        assert delivery.force_flush(10.0) is True
        found = httpx.post(f"{server.base_url}/lezen/v1/processing-activities",
                           json={"dpl.core.data_subject_id": pseudonym(bsn)},
                           headers={"Authorization": "Bearer " + mint_token("app", SECRET)}).json()
        (regel,) = found["processingActivities"]
        assert (regel["traceId"], regel["spanId"], regel["name"]) == (f"{12:032x}", f"{12:016x}",
                                                                      "Raadplegen persoon 1")
        (dead,) = delivery.outbox.dead_letters()
        assert dead.problem["rejectedSpans"] == 1
        assert "dpl.core.processing_activity_id is required when personal data is processed" in (
            dead.problem["errorMessage"])
        delivery.shutdown(2.0)
    finally:
        server.kill()
