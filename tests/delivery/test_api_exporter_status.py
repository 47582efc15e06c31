"""The `api` exporter sorts the log's answers by the client's one status mapping
(`verwerkingen_otel.client.failure_kind`): 408 and 425 are retried like 429 and 5xx, and a
retried record arrives once, under its own Idempotency-Key."""

from __future__ import annotations

import logging
import uuid

import pytest

from tests.delivery.conftest import SECRET, actie_namen, make_actie
from tests.delivery.faultproxy import FaultProxy
from tests.support.logserver import LogServer
from verwerkingen_otel.delivery import ApiExporter, AuthFailure, PermanentFailure, Record, RetryableFailure


@pytest.mark.parametrize(("status", "failure"), [
    (408, RetryableFailure), (425, RetryableFailure), (403, AuthFailure), (418, PermanentFailure),
    (302, RetryableFailure),
])  # 429, 5xx, 400 and 403 also end to end through the outbox in test_faults.py
def test_each_status_is_sorted_by_the_client_mapping(status: int, failure: type[Exception], proxy: FaultProxy,
                                                     logserver: LogServer) -> None:
    activiteit = str(uuid.uuid4())
    exporter = ApiExporter(proxy.api_url, client_id="app", secret=SECRET, timeout=5.0)
    try:
        record = Record.of(make_actie(activiteit))
        proxy.fail_next(1, status, retry_after="4")
        with pytest.raises(failure) as info:
            exporter.export(record)
        assert type(info.value) is failure
        if failure is RetryableFailure and status >= 400:
            assert info.value.retry_after == 4.0  # type: ignore[attr-defined]
        exporter.export(record)  # the same record again: now it gets through
        exporter.export(record)  # and a repeat is answered by the idempotency key, not stored twice
    finally:
        exporter.shutdown()
    assert actie_namen(logserver.api_url, activiteit) == ["Raadplegen persoon 0"]


def test_a_wrong_base_url_is_named_in_the_refusal(logserver: LogServer) -> None:
    """The typical first mistake: the log's address without /api/v1. The 404 it gives is a dead
    letter like any 4xx (retry it once the URL is fixed), and its reason says what to check."""
    exporter = ApiExporter(logserver.base_url, client_id="app", secret=SECRET, timeout=5.0)
    try:
        with pytest.raises(PermanentFailure) as info:
            exporter.export(Record.of(make_actie(str(uuid.uuid4()))))
    finally:
        exporter.shutdown()
    assert str(info.value).startswith("HTTP 404 ")
    assert str(info.value).endswith(
        f": no verwerkingenlog at {logserver.base_url}/verwerkingsacties; check the log's base URL "
        "(VERWERKINGEN_API_URL, or api_url of the destination), usually ending in /api/v1")


def test_an_exporter_without_credentials_warns_when_it_is_made(caplog: pytest.LogCaptureFixture) -> None:
    """VERWERKINGEN_API_URL without a client id and secret or a token: said at configure(), not
    only by the 401s that follow."""
    caplog.set_level(logging.WARNING, logger="verwerkingen_otel.delivery")
    ApiExporter("http://127.0.0.1:1/api/v1", client_id="app", secret=SECRET).shutdown()
    ApiExporter("http://127.0.0.1:1/api/v1", token="a-ready-token").shutdown()
    assert caplog.messages == []
    ApiExporter("http://127.0.0.1:1/api/v1").shutdown()
    assert caplog.messages == [
        "exporter 'api' sends no credentials to http://127.0.0.1:1/api/v1: a log that requires a token answers 401 "
        "and every action waits in the outbox; set VERWERKINGEN_CLIENT_ID and VERWERKINGEN_SECRET, or "
        "VERWERKINGEN_TOKEN (a destination: client_id with secret_env or secret_file, or token_env or token_file)"]
