"""JSON encoded once: an already-encoded body is sent as it is, with `content=`.

The outbox keeps the exact bytes it will POST; the client must not parse and re-encode them.
Checked at a real server on loopback that keeps every byte it receives.
"""

from __future__ import annotations

import json
import uuid

import pytest

from tests.client.conftest import SECRET, Answering, make_actie
from tests.support.logserver import LogServer
from verwerkingen_otel.client import AsyncVerwerkingenlogClient, VastgelegdeActie, VerwerkingenlogClient

# deliberately not how json.dumps would write it: spacing, key order and an escaped "é"
ENCODED = (b'{ "verwerkteObjecten" : [ {"objecttype":"persoon","soortObjectId":"BSN",'
           b'"objectId":"999993653","betrokkenheid":"Getuige"} ],'
           b'"vertrouwelijkheid":"normaal",  "tijdstip":"2024-04-05T14:35:42+00:00",'
           b'"actieNaam":"Raadplegen caf\\u00e9"}')


def _last(answering: Answering) -> dict[str, object]:
    return answering.seen[-1]


def test_create_request_sends_encoded_bytes_exactly(answering: Answering) -> None:
    key = str(uuid.uuid4())
    with VerwerkingenlogClient(answering.api_url, token="t") as client:
        request = client.create_request(ENCODED, key)
        response = client.send_raw(request)
    assert response.status_code == 201
    seen = _last(answering)
    assert seen["method"] == "POST" and seen["path"] == "/api/v1/verwerkingsacties"
    assert seen["body"] == ENCODED
    headers = seen["headers"]
    assert isinstance(headers, dict)
    assert headers["content-type"] == "application/json"
    assert headers["idempotency-key"] == key
    assert headers["authorization"] == "Bearer t"


@pytest.mark.parametrize("twin", ["sync", "async"])
async def test_create_with_bytes_sends_them_exactly_and_reads_the_answer(answering: Answering, twin: str) -> None:
    if twin == "sync":
        with VerwerkingenlogClient(answering.api_url, token="t") as client:
            stored = client.create(ENCODED, idempotency_key="k-1")
    else:
        async with AsyncVerwerkingenlogClient(answering.api_url, token="t") as aclient:
            stored = await aclient.create(ENCODED, idempotency_key="k-1")
    assert _last(answering)["body"] == ENCODED
    assert isinstance(stored, VastgelegdeActie) and stored.actie_naam == "Raadplegen café"


def test_dict_and_actie_bodies_are_encoded_once_as_compact_utf8_json(answering: Answering) -> None:
    actie = make_actie(str(uuid.uuid4()), actie_naam="Raadplegen café")
    with VerwerkingenlogClient(answering.api_url, token="t", headers={"X-Trace-Me": "no"}) as client:
        client.create(actie.to_api())
        from_dict = _last(answering)
        client.create(actie)
        from_actie = _last(answering)
    expected = json.dumps(actie.to_api(), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    assert from_dict["body"] == from_actie["body"] == expected
    for seen in (from_dict, from_actie):
        headers = seen["headers"]
        assert isinstance(headers, dict)
        assert headers["content-type"] == "application/json"
        assert headers["x-trace-me"] == "no"  # the client's own headers go on every request
        assert "idempotency-key" not in headers


def test_encoded_body_is_recorded_by_the_real_log(shared_server: LogServer) -> None:
    actie = make_actie(str(uuid.uuid4()))
    encoded = json.dumps(actie.to_api(), indent=2).encode()
    with VerwerkingenlogClient(shared_server.api_url, client_id="app", secret=SECRET) as client:
        stored = client.create(encoded, idempotency_key=str(uuid.uuid4()))
        assert client.get(stored.actie_id).to_api() == actie.to_api()


def test_nan_is_refused_before_anything_is_sent(answering: Answering) -> None:
    before = len(answering.seen)
    with VerwerkingenlogClient(answering.api_url, token="t") as client:
        with pytest.raises(ValueError):
            client.create({"bewaartermijn": float("nan")})
    assert len(answering.seen) == before
