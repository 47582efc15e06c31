"""httpx logs every request's URL at INFO ("HTTP Request: GET …"). The standard's list and
Inzage queries carry the person in the URL (`objectId=<BSN>`), so an application that logs at
INFO would write BSNs into its ordinary log through our client. The client masks them."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tests.support.logserver import LogServer
from verwerkingen_otel.client import AsyncVerwerkingenlogClient, VerwerkingenlogClient

from .conftest import SECRET, make_actie, random_bsn


def test_no_bsn_in_httpx_log_lines_of_list_and_inzage_queries(shared_server: LogServer,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    bsn = random_bsn()
    with VerwerkingenlogClient(shared_server.api_url, client_id="app", secret=SECRET) as client:
        for _ in range(4):  # two pages of 3: the `next` link is requested and logged too
            client.create(make_actie("5f0bef4c-f66f-4311-84a5-19e8bf359eaf", bsn=bsn, n=_))
        with caplog.at_level(logging.INFO):
            assert len(list(client.list(soort_object_id="BSN", object_id=bsn))) == 4
            list(client.inzage_list(soort_object_id="BSN", object_id=bsn, begin_datum="2000-01-01",
                                    eind_datum="2100-01-01"))

        async def inzage() -> int:
            async with AsyncVerwerkingenlogClient(shared_server.api_url, client_id="app", secret=SECRET) as aclient:
                return len([a async for a in aclient.list(soort_object_id="BSN", object_id=bsn)])

        with caplog.at_level(logging.INFO):
            assert asyncio.run(inzage()) == 6  # and the log's own record of each Inzage page asked
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("httpx")]
    # two pages (of 3) each: the list, the Inzage, the async list
    assert len([line for line in lines if "objectId=***" in line]) == 6
    assert not any(bsn in line for line in lines)


def test_the_filter_masks_only_object_ids() -> None:
    import httpx

    from verwerkingen_otel.client._log_privacy import PersonQueryFilter

    record = logging.LogRecord("httpx", logging.INFO, __file__, 1, 'HTTP Request: %s %s "%s %d %s"',
                               ("GET", httpx.URL("http://log/api/v1/verwerkingsacties?objecttype=persoon&objectId=999993653"
                                                 "&page=2"), "HTTP/1.1", 200, "OK"), None)
    other = logging.LogRecord("httpx", logging.INFO, __file__, 1, 'HTTP Request: %s %s "%s %d %s"',
                              ("POST", httpx.URL("http://log/api/v1/verwerkingsacties"), "HTTP/1.1", 201, "Created"), None)
    assert PersonQueryFilter().filter(record) and PersonQueryFilter().filter(other)
    assert record.getMessage() == ('HTTP Request: GET http://log/api/v1/verwerkingsacties?objecttype=persoon&objectId=***'
                                   '&page=2 "HTTP/1.1 200 OK"')
    assert other.getMessage() == 'HTTP Request: POST http://log/api/v1/verwerkingsacties "HTTP/1.1 201 Created"'
