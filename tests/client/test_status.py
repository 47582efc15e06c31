"""The one mapping from HTTP status to failure kind, and the client's exceptions following it.

The client is driven against a real HTTP server on loopback that answers the status asked of
it, through both twins.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, Callable, Iterator

import pytest

from tests.client.conftest import Answering
from verwerkingen_otel.client import (
    ApiError,
    AsyncVerwerkingenlogClient,
    ConflictError,
    ForbiddenError,
    InvalidResponseError,
    NotFoundError,
    PayloadTooLargeError,
    RateLimitedError,
    RetryableError,
    ServerError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
    ValidatieFoutError,
    VerwerkingenlogClient,
    failure_kind,
)

KINDS = {
    0: "unexpected", 99: "unexpected",
    100: "unexpected", 101: "unexpected", 103: "unexpected", 199: "unexpected",
    200: "ok", 201: "ok", 202: "ok", 204: "ok", 299: "ok",
    300: "unexpected", 301: "unexpected", 302: "unexpected", 304: "unexpected", 307: "unexpected",
    308: "unexpected", 399: "unexpected",
    400: "permanent", 401: "auth", 402: "permanent", 403: "auth", 404: "permanent", 405: "permanent",
    406: "permanent", 407: "permanent", 408: "retry", 409: "permanent", 410: "permanent",
    411: "permanent", 412: "permanent", 413: "permanent", 414: "permanent", 415: "permanent",
    418: "permanent", 421: "permanent", 422: "permanent", 423: "permanent", 424: "permanent",
    425: "retry", 426: "permanent", 428: "permanent", 429: "retry", 430: "permanent",
    431: "permanent", 451: "permanent", 499: "permanent",
    500: "retry", 501: "retry", 502: "retry", 503: "retry", 504: "retry", 507: "retry", 599: "retry",
    600: "unexpected", 999: "unexpected",
}


@pytest.mark.parametrize("status", sorted(KINDS))
def test_failure_kind_of_each_status(status: int) -> None:
    assert failure_kind(status) == KINDS[status]


def test_failure_kind_counts_over_every_status_class() -> None:
    counts: dict[str, int] = {}
    for status in range(100, 600):
        kind = failure_kind(status)
        counts[kind] = counts.get(kind, 0) + 1
    # 2xx ok; 5xx + 408, 425, 429 retry; 401, 403 auth; the other 95 4xx permanent; 1xx + 3xx
    assert counts == {"ok": 100, "retry": 103, "auth": 2, "permanent": 95, "unexpected": 200}


def test_the_api_exporter_has_no_status_table_of_its_own() -> None:
    import inspect

    from verwerkingen_otel.delivery import ApiExporter

    source = inspect.getsource(ApiExporter.export)  # the method that reads the status
    assert "failure_kind(status)" in source
    assert not any(code in source for code in ("408", "425", "429", ">= 500", "< 500"))


@pytest.fixture(params=["sync", "async"])
def driver(request: pytest.FixtureRequest, answering: Answering) -> Iterator[Callable[[int], Any]]:
    """GET one action through the twin under test, from a server told to answer `status`."""
    loop = asyncio.new_event_loop()

    def get_with_answer(status: int) -> Any:
        options: dict[str, Any] = dict(token="t", timeout=5.0, headers={"X-Answer": str(status)})
        if request.param == "sync":
            with VerwerkingenlogClient(answering.api_url, **options) as client:
                return client.get(str(uuid.uuid4()))

        async def run() -> Any:
            async with AsyncVerwerkingenlogClient(answering.api_url, **options) as client:
                return await client.get(str(uuid.uuid4()))

        return loop.run_until_complete(run())

    yield get_with_answer
    loop.close()


ERRORS = [
    (400, ValidatieFoutError, "permanent"),
    (401, UnauthorizedError, "auth"),
    (403, ForbiddenError, "auth"),
    (404, NotFoundError, "permanent"),
    (408, RetryableError, "retry"),
    (409, ConflictError, "permanent"),
    (413, PayloadTooLargeError, "permanent"),
    (415, UnsupportedMediaTypeError, "permanent"),
    (418, ApiError, "permanent"),
    (422, ConflictError, "permanent"),
    (425, RetryableError, "retry"),
    (429, RateLimitedError, "retry"),
    (500, ServerError, "retry"),
    (503, ServerError, "retry"),
    (599, ServerError, "retry"),
]


@pytest.mark.parametrize(("status", "cls", "kind"), ERRORS)
def test_client_raises_by_the_mapping(driver: Callable[[int], Any], status: int, cls: type[ApiError], kind: str) -> None:
    with pytest.raises(ApiError) as info:
        driver(status)
    err = info.value
    assert type(err) is cls
    assert err.status == status and err.kind == kind == failure_kind(status)
    assert err.title == "Afgewezen" and err.detail == "bewaartermijn: invalid_duration"
    assert str(err) == f"{status} Afgewezen: bewaartermijn: invalid_duration"
    if kind == "retry":
        assert isinstance(err, RetryableError) and err.retry_after == 7.0
    else:
        assert not isinstance(err, RetryableError) and not hasattr(err, "retry_after")


@pytest.mark.parametrize("status", [301, 302, 307, 204, 202])
def test_unexpected_and_unasked_statuses_are_invalid_responses(driver: Callable[[int], Any], status: int) -> None:
    with pytest.raises(InvalidResponseError) as info:
        driver(status)
    assert str(info.value) == f"unexpected status {status}"
