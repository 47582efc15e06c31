"""Issue 11 item 7: VERWERKINGEN_PROPAGATE_TO restricts which hosts receive the six VNG headers;
unset, every outbound call inside an action carries them; traceparent always goes."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from verwerkingen_otel import httpx as our_httpx
from verwerkingen_otel.capture import persoon, verwerkingsactie

from .conftest import werkzeug_server

OIN = "00000001821002193000"
VNG = {"oin", "verwerkingsactiviteitid", "verwerkingid", "vertrouwelijkheid", "bewaartermijn"}


def echo_headers(environ: dict, start_response: Any) -> list[bytes]:
    headers = {k[5:].lower().replace("_", "-"): v for k, v in environ.items() if k.startswith("HTTP_")}
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(headers).encode()]


@verwerkingsactie(actie_naam="Opvragen", verwerkingsactiviteit_id="5f0bef4c-f66f-4311-84a5-19e8bf359eaf",
                  vertrouwelijkheid="vertrouwelijk", bewaartermijn="P5Y", objecten=[persoon("bsn")])
def opvragen(bsn: str, urls: list[str]) -> list[dict[str, str]]:
    with httpx.Client(timeout=5) as client:
        our_httpx.instrument_client(client)
        return [client.get(url).json() for url in urls]


@pytest.mark.verwerkingen(oin=OIN, propagate_to="127.0.0.1")
def test_only_the_named_hosts_get_the_six_headers(verwerkingen: Any) -> None:
    with werkzeug_server(echo_headers) as base:
        port = base.rsplit(":", 1)[1]
        named, other = opvragen("999993653", [f"http://127.0.0.1:{port}/", f"http://localhost:{port}/"])
    assert {"oin", "verwerkingsactiviteitid", "verwerkingid", "vertrouwelijkheid", "bewaartermijn"} <= set(named)
    assert named["oin"] == OIN and named["vertrouwelijkheid"] == "vertrouwelijk"
    assert set(other) & VNG == set()  # localhost is not named: none of the six
    assert "traceparent" in named and "traceparent" in other


@pytest.mark.verwerkingen(oin=OIN, propagate_to="*.example.nl, localhost")
def test_wildcards_match_names_under_a_domain(verwerkingen: Any) -> None:
    from verwerkingen_otel.capture import host_allowed

    patterns = ("*.example.nl", "localhost")
    assert host_allowed("brp.example.nl", patterns) and host_allowed("a.b.example.nl", patterns)
    assert not host_allowed("example.nl", patterns) and not host_allowed("evilexample.nl", patterns)
    with werkzeug_server(echo_headers) as base:
        port = base.rsplit(":", 1)[1]
        [seen] = opvragen("999993653", [f"http://localhost:{port}/"])
    assert seen["oin"] == OIN


@pytest.mark.verwerkingen(oin=OIN)
def test_unset_every_host_gets_them(verwerkingen: Any) -> None:
    with werkzeug_server(echo_headers) as base:
        port = base.rsplit(":", 1)[1]
        first, second = opvragen("999993653", [f"http://127.0.0.1:{port}/", f"http://localhost:{port}/"])
    assert first["oin"] == second["oin"] == OIN


def test_a_bad_pattern_names_the_setting(isolated_pipeline: None) -> None:
    import verwerkingen_otel as vo

    with pytest.raises(vo.ConfigurationError) as err:
        vo.configure(exporters="none", propagate_to="brp example.nl")
    assert err.value.setting == "propagate_to"
