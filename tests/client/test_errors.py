"""The error border: httpx's errors leave the client as ours, chained, named by type only.

Real failures: a port nothing listens on, a server that never answers, a body that claims gzip
and is not. A BSN in the query string must not reach the message.
"""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

from tests.client.conftest import Answering
from verwerkingen_otel.client import (
    AsyncVerwerkingenlogClient,
    InvalidResponseError,
    TransportError,
    VerwerkingenlogClient,
    VerwerkingenlogError,
)
from verwerkingen_otel.client._errors import translate_httpx_errors

BSN = "999993653"


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_connect_error_becomes_transport_error_with_only_the_type_name() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/api/v1"
    with VerwerkingenlogClient(url, token="t", timeout=5.0) as client:
        with pytest.raises(TransportError) as info:
            client.list_page(soort_object_id="BSN", object_id=BSN)
    err = info.value
    assert str(err) == "ConnectError" and err.args == ("ConnectError",)
    assert type(err.__cause__) is httpx.ConnectError
    assert BSN not in str(err) and BSN not in repr(err)
    assert isinstance(err, VerwerkingenlogError)


def test_async_twin_has_the_same_border() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/api/v1"

    async def run() -> None:
        async with AsyncVerwerkingenlogClient(url, token="t", timeout=5.0) as client:
            await client.list_page(soort_object_id="BSN", object_id=BSN)

    with pytest.raises(TransportError) as info:
        asyncio.run(run())
    assert str(info.value) == "ConnectError"
    assert type(info.value.__cause__) is httpx.ConnectError


def test_no_answer_in_time_is_a_transport_error(answering: Answering) -> None:
    with VerwerkingenlogClient(answering.api_url, token="t", timeout=0.3,
                               headers={"X-Answer": "hang"}) as client:
        with pytest.raises(TransportError) as info:
            client.get("x")
    assert str(info.value) == "ReadTimeout"
    assert type(info.value.__cause__) is httpx.ReadTimeout


def test_undecodable_body_is_an_invalid_response(answering: Answering) -> None:
    with VerwerkingenlogClient(answering.api_url, token="t", headers={"X-Answer": "gzip-garbage"}) as client:
        with pytest.raises(InvalidResponseError) as info:
            client.get("x")
    assert str(info.value) == "DecodingError"
    assert type(info.value.__cause__) is httpx.DecodingError


def test_send_raw_goes_through_the_border_too() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/api/v1"
    with VerwerkingenlogClient(url, token="t", timeout=5.0) as client:
        with pytest.raises(TransportError) as info:
            client.send_raw(client.create_request(b"{}", "key"))
    assert str(info.value) == "ConnectError"


@pytest.mark.parametrize(("raised", "expected"), [
    (httpx.ConnectError, TransportError),
    (httpx.ReadTimeout, TransportError),
    (httpx.RemoteProtocolError, TransportError),
    (httpx.DecodingError, InvalidResponseError),
    (httpx.TooManyRedirects, TransportError),
])
def test_the_most_specific_class_wins_and_the_text_is_dropped(raised: type[Exception],
                                                              expected: type[Exception]) -> None:
    with pytest.raises(VerwerkingenlogError) as info:
        with translate_httpx_errors():
            raise raised(f"GET http://log/api/v1/verwerkingsacties?objectId={BSN}")
    assert type(info.value) is expected
    assert str(info.value) == raised.__name__
    assert info.value.__cause__ is not None and type(info.value.__cause__) is raised


def test_other_errors_pass_the_border_unchanged() -> None:
    with pytest.raises(KeyError):
        with translate_httpx_errors():
            raise KeyError("not ours to translate")
