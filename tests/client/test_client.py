"""VerwerkingenlogClient and its async twin, every operation, against the real log server.

Each test runs twice: through the blocking client and through the asyncio client, driven by
one adapter, so both twins are held to the same behaviour.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from typing import Any, Iterator

import httpx
import jwt
import pytest

from tests.client.conftest import SECRET, WEAK_SECRET, make_actie, random_bsn
from tests.support.logserver import LogServer, mint_token
from verwerkingen_otel.client import (
    UNTRACED_EXTENSION,
    ApiError,
    AsyncVerwerkingenlogClient,
    ConflictError,
    ForbiddenError,
    InzageObject,
    NotFoundError,
    TransportError,
    UnauthorizedError,
    ValidatieFoutError,
    VastgelegdeActie,
    VerwerkingenlogClient,
    jwt_hs256,
    parse_retry_after,
)
from verwerkingen_otel.client._auth import _BearerAuth
from verwerkingen_otel.model import Vertrouwelijkheid


class AsyncDriver:
    """Calls the async client as if it were blocking, one event loop for its lifetime."""

    def __init__(self, client: AsyncVerwerkingenlogClient) -> None:
        self.client = client
        self.loop = asyncio.new_event_loop()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)
            if hasattr(result, "__aiter__"):
                async def collect() -> list[Any]:
                    return [item async for item in result]
                return iter(self.loop.run_until_complete(collect()))
            return self.loop.run_until_complete(result)

        return call

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()


@pytest.fixture(params=["sync", "async"])
def make_client(request: pytest.FixtureRequest, shared_server: LogServer) -> Iterator[Any]:
    made: list[Any] = []

    def make(client_id: str = "app", secret: str = SECRET, **kwargs: Any) -> Any:
        if request.param == "sync":
            client: Any = VerwerkingenlogClient(shared_server.api_url, client_id=client_id,
                                                secret=secret, **kwargs)
        else:
            client = AsyncDriver(AsyncVerwerkingenlogClient(shared_server.api_url, client_id=client_id,
                                                            secret=secret, **kwargs))
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def test_create_returns_the_stored_action_with_log_set_fields(make_client: Any, shared_server: LogServer) -> None:
    client = make_client()
    bsn = random_bsn()
    actie = make_actie(str(uuid.uuid4()), bsn=bsn, n=7)
    stored = client.create(actie)
    assert isinstance(stored, VastgelegdeActie)
    assert uuid.UUID(stored.actie_id).version == 4
    assert stored.url == f"{shared_server.api_url}/verwerkingsacties/{stored.actie_id}"
    assert stored.tijdstip_registratie is not None and stored.tijdstip_registratie.tzinfo is not None
    assert stored.actie_naam == "Raadplegen persoon 7"
    assert stored.tijdstip == actie.tijdstip
    assert stored.vertrouwelijkheid is Vertrouwelijkheid.NORMAAL
    assert stored.verwerkte_objecten[0].object_id == bsn
    oid = stored.verwerkte_objecten[0].verwerkt_object_id
    assert oid and stored.object_urls == (f"{shared_server.api_url}/verwerkte-objecten/{oid}",)
    assert stored.to_api() == actie.to_api()


def test_create_with_idempotency_key_returns_the_original(make_client: Any) -> None:
    client = make_client()
    actie = make_actie(str(uuid.uuid4()), bsn=random_bsn())
    key = str(uuid.uuid4())
    first = client.create(actie, idempotency_key=key)
    again = client.create(actie, idempotency_key=key)
    assert again.actie_id == first.actie_id
    with pytest.raises(ConflictError) as info:
        client.create(actie.with_values(actie_naam="Anders"), idempotency_key=key)
    assert info.value.status == 422


def test_get_replace_delete(make_client: Any) -> None:
    client = make_client()
    stored = client.create(make_actie(str(uuid.uuid4()), bsn=random_bsn()))
    got = client.get(stored.actie_id)
    assert got == stored
    replaced = client.replace(stored.actie_id, stored.with_values(actie_naam="Gewijzigd"))
    assert replaced.actie_id != stored.actie_id
    assert replaced.actie_naam == "Gewijzigd"
    assert replaced.verwerkte_objecten[0].verwerkt_object_id == stored.verwerkte_objecten[0].verwerkt_object_id
    assert client.get(stored.actie_id).actie_id == replaced.actie_id  # older id → current version
    other_bsn = random_bsn()
    moved = replaced.verwerkte_objecten[0].__class__(
        "persoon", "BSN", other_bsn, "Getuige", verwerkt_object_id=replaced.verwerkte_objecten[0].verwerkt_object_id)
    again = client.replace(replaced.actie_id, replaced.with_values(verwerkte_objecten=(moved,)))
    assert again.verwerkte_objecten[0].object_id == other_bsn  # matched by the verwerktObjectId sent
    assert again.verwerkte_objecten[0].verwerkt_object_id == replaced.verwerkte_objecten[0].verwerkt_object_id
    replaced = again
    assert client.delete(replaced.actie_id) is None
    with pytest.raises(NotFoundError) as info:
        client.get(replaced.actie_id)
    assert info.value.status == 404
    with pytest.raises(NotFoundError):
        client.delete(replaced.actie_id)


def test_list_iterates_every_page_with_filters(make_client: Any) -> None:
    client = make_client()
    bsn, activiteit = random_bsn(), str(uuid.uuid4())
    created = [client.create(make_actie(activiteit, bsn=bsn, n=i)).actie_id for i in range(7)]
    client.create(make_actie(activiteit, bsn=bsn, n=99, vertrouwelijkheid="vertrouwelijk"))
    client.create(make_actie(str(uuid.uuid4()), bsn=bsn, n=100))  # another activity
    found = list(client.list(soort_object_id="BSN", object_id=bsn, verwerkingsactiviteit_id=activiteit,
                             vertrouwelijkheid="normaal"))
    assert [a.actie_id for a in found] == created  # ordered by tijdstip; 3 pages of 3
    page = client.list_page(soort_object_id="BSN", object_id=bsn, verwerkingsactiviteit_id=activiteit)
    assert page.count == 8 and len(page.results) == 3 and page.next and page.previous is None
    both = list(client.list(soort_object_id="BSN", object_id=bsn, vertrouwelijkheid=["normaal", "vertrouwelijk"],
                            begin_datum=dt.date(2024, 4, 5), eind_datum=dt.date(2024, 4, 6)))
    assert len(both) == 9
    assert list(client.list(soort_object_id="BSN", object_id=bsn, begin_datum="2024-04-06")) == []


def test_patch_by_verwerking_id(make_client: Any) -> None:
    client = make_client()
    stored = client.create(make_actie(str(uuid.uuid4()), bsn=random_bsn(), vertrouwelijkheid="vertrouwelijk"))
    assert client.patch(stored.verwerking_id, bewaartermijn="P20Y", vertrouwelijkheid="normaal") is None
    now = client.get(stored.actie_id)
    assert now.bewaartermijn == "P20Y"
    assert now.vertrouwelijkheid is Vertrouwelijkheid.OPGEHEVEN  # once confidential, never normal
    with pytest.raises(ValueError):
        client.patch(stored.verwerking_id)
    with pytest.raises(ValidatieFoutError) as info:
        client.patch(str(uuid.uuid4()), bewaartermijn="P1Y")  # no actions in that verwerking
    assert info.value.status == 400


def test_inzage_list_and_get(make_client: Any) -> None:
    client = make_client()
    bsn, other = random_bsn(), random_bsn()
    actie = make_actie(str(uuid.uuid4()), bsn=bsn, systeem="FooBarApp")
    actie = actie.with_values(verwerkte_objecten=actie.verwerkte_objecten + (
        actie.verwerkte_objecten[0].__class__("persoon", "BSN", other, "Getuige"),))
    stored = client.create(actie)
    client.create(make_actie(str(uuid.uuid4()), bsn=bsn, vertrouwelijkheid="vertrouwelijk"))
    for i in range(3):
        client.create(make_actie(str(uuid.uuid4()), bsn=bsn, n=i + 1))
    results = list(client.inzage_list(soort_object_id="BSN", object_id=bsn,
                                      begin_datum="2024-04-05", eind_datum="2024-04-06"))
    assert len(results) == 4  # the confidential one is never shown; 2 pages of 3
    first = next(r for r in results if r.verwerkingsactie.actie_id == stored.actie_id)
    assert isinstance(first, InzageObject)
    assert first.object.object_id == bsn
    assert first.verwerkingsactie.systeem is None  # Inzage leaves systeem out
    assert [o.object_id for o in first.verwerkingsactie.verwerkte_objecten] in ([], [bsn])
    got = client.inzage_get(first.verwerkt_object_id)
    assert got.verwerkt_object_id == first.verwerkt_object_id and got.url == first.url
    with pytest.raises(NotFoundError):
        client.inzage_get(str(uuid.uuid4()))
    with pytest.raises(ValidatieFoutError) as info:
        client.inzage_page(soort_object_id="BSN", object_id=bsn)  # dates are required
    assert {p.name for p in info.value.invalid_params} == {"beginDatum", "eindDatum"}


def test_validation_error_carries_invalid_params_without_values(make_client: Any) -> None:
    client = make_client()
    body = make_actie(str(uuid.uuid4())).to_api()
    body["verwerkteObjecten"][0]["objectId"] = "123456789"  # fails the 11-test
    body["bewaartermijn"] = "10"
    with pytest.raises(ValidatieFoutError) as info:
        client.create(body)
    err = info.value
    assert err.status == 400
    assert {(p.name, p.code) for p in err.invalid_params} == {
        ("verwerkteObjecten.0.objectId", "invalid_bsn"), ("bewaartermijn", "invalid_duration")}
    assert "123456789" not in str(err)


def test_forbidden_and_unauthorized(make_client: Any) -> None:
    weak = make_client("weak", WEAK_SECRET)
    with pytest.raises(ForbiddenError) as info:
        weak.create(make_actie(str(uuid.uuid4()), vertrouwelijkheid="vertrouwelijk"))
    assert info.value.status == 403
    wrong = make_client("app", "not-the-secret-0123456789abcdef0123456789")
    with pytest.raises(UnauthorizedError) as info2:
        wrong.create(make_actie(str(uuid.uuid4())))
    assert info2.value.status == 401 and isinstance(info2.value, ApiError)


def test_ready_token(shared_server: LogServer) -> None:
    token = mint_token("app", SECRET)
    with VerwerkingenlogClient(shared_server.api_url, token=token) as client:
        assert client.create(make_actie(str(uuid.uuid4()))).actie_id


def test_transport_error_when_nothing_listens() -> None:
    with VerwerkingenlogClient("http://127.0.0.1:9/api/v1", token="x", timeout=2.0) as client:
        with pytest.raises(TransportError):
            client.get(str(uuid.uuid4()))


def test_jwt_claims_and_renewal_before_expiry(monkeypatch: pytest.MonkeyPatch) -> None:
    auth = _BearerAuth(client_id="app", secret=SECRET, token=None, lifetime=300)
    first = auth.token()
    claims = jwt.decode(first, SECRET, algorithms=["HS256"])
    assert claims["client_id"] == "app" and claims["exp"] - claims["iat"] == 300
    assert auth.token() == first  # reused while fresh
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 250)  # less than a fifth left
    renewed = auth.token()
    assert renewed != first
    assert jwt.decode(renewed, SECRET, algorithms=["HS256"], options={"verify_exp": False, "verify_iat": False})["iat"] > claims["iat"]
    key = "k" * 32
    assert jwt_hs256({"a": 1}, key) == jwt.encode({"a": 1}, key, algorithm="HS256")


def test_half_credentials_fail_naming_the_setting() -> None:
    with pytest.raises(ValueError, match="secret"):
        VerwerkingenlogClient("http://127.0.0.1:1/api/v1", client_id="app")
    with pytest.raises(ValueError, match="client_id"):
        VerwerkingenlogClient("http://127.0.0.1:1/api/v1", secret="s")
    with pytest.raises(ValueError, match="^base_url must be an absolute URL"):  # the parameter's own name
        VerwerkingenlogClient("127.0.0.1:1/api/v1", token="t")
    with pytest.raises(ValueError, match="^base_url must be an absolute URL"):
        AsyncVerwerkingenlogClient(base_url="", token="t")


def test_requests_are_marked_untraced_and_suppress_instrumentation(shared_server: LogServer) -> None:
    from opentelemetry import context as otel_context

    seen: list[tuple[bool, bool]] = []

    class Spy(httpx.HTTPTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            seen.append((request.extensions.get(UNTRACED_EXTENSION) is True,
                         bool(otel_context.get_value(otel_context._SUPPRESS_INSTRUMENTATION_KEY))))
            return super().handle_request(request)

    with VerwerkingenlogClient(shared_server.api_url, client_id="app", secret=SECRET, transport=Spy()) as client:
        client.create(make_actie(str(uuid.uuid4())))
    assert seen == [(True, True)]
    assert not otel_context.get_value(otel_context._SUPPRESS_INSTRUMENTATION_KEY)


def test_parse_retry_after() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
