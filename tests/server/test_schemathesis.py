"""Schemathesis runs of both published VNG OpenAPI files against the real server.

Positive cases: no server error, documented status codes, content types and headers, and every
body valid against the YAML (nulls removed: our documented deviation). Negative cases (data
that breaks the schema): never a server error, always a documented status. The server's
[R]-leniencies (any-case enums, ignored read-only fields) mean some schema-invalid requests
succeed; that is deliberate (docs/server.md), so `negative_data_rejection` is not run.
"""

from __future__ import annotations

import json
import time
import zlib

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import DataGenerationMethod
from schemathesis.checks import (
    content_type_conformance, not_a_server_error, response_headers_conformance, status_code_conformance,
)

from tests.server.conftest import actie_body, random_bsn, secret_of
from tests.support.logserver import mint_token
from tests.support.openapi import SPEC_FILES, load_spec, validate_schema

POSITIVE = 30
NEGATIVE = 20
HYPOTHESIS = dict(deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


# uvicorn (h11) itself answers a request that is not valid HTTP (e.g. control characters in the
# request target) with a plain-text 400 before the app sees it: documented in docs/server.md.
PROTOCOL_REJECTION = b"Invalid HTTP request received."


def unless_protocol_rejection(check):
    def wrapped(ctx, response, case):
        if response.status_code == 400 and response.content == PROTOCOL_REJECTION:
            return None
        return check(ctx, response, case)
    wrapped.__name__ = check.__name__
    return wrapped



def schema_without_nulls(spec_name: str):
    @unless_protocol_rejection
    def check(ctx, response, case) -> None:
        """Like response_schema_conformance, but ignoring null values (documented deviation)."""
        path, method = case.operation.path, case.method.lower()
        responses = load_spec(spec_name)["paths"][path][method]["responses"]
        spec = responses.get(str(response.status_code), {}).get("content")
        if not spec or not response.content:
            return
        validate_schema(spec_name, next(iter(spec.values()))["schema"], json.loads(response.content))
    check.__name__ = "response_schema_conformance_ignoring_nulls"
    return check


def _loader(spec_name: str, methods):
    @pytest.fixture
    def fixture(server):
        return schemathesis.from_path(str(SPEC_FILES[spec_name]), base_url=server.api_url,
                                      data_generation_methods=methods)
    return fixture


bewerking_positive = _loader("bewerking", [DataGenerationMethod.positive])
bewerking_negative = _loader("bewerking", [DataGenerationMethod.negative])
inzage_positive = _loader("inzage", [DataGenerationMethod.positive])
inzage_negative = _loader("inzage", [DataGenerationMethod.negative])

def call_negative(case, server, spec_name: str) -> None:
    """A request uvicorn refuses as invalid HTTP is answered and the connection closed at once;
    when the client is still sending, that can reach it as a reset instead of the 400. Such a
    reset counts as the protocol rejection only if the server logged one during this very call."""
    rejections = server.log_text().count("Invalid HTTP request received")
    try:
        case.call_and_validate(headers=_auth(), checks=NEGATIVE_CHECKS + (schema_without_nulls(spec_name),))
    except requests.exceptions.ConnectionError:
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            if server.log_text().count("Invalid HTTP request received") > rejections:
                return
            time.sleep(0.02)
        raise


POSITIVE_CHECKS = (not_a_server_error, status_code_conformance, content_type_conformance,
                   response_headers_conformance)
NEGATIVE_CHECKS = (not_a_server_error, status_code_conformance, unless_protocol_rejection(content_type_conformance))


def _auth() -> dict[str, str]:
    return {"Authorization": "Bearer " + mint_token("all", secret_of("all"))}


@pytest.fixture
def known(api):
    """Real actions, so generated cases also reach existing resources, not only 404s."""
    bsn = random_bsn()
    created = [api.create(actie_body(bsn, vertrouwelijkheid=v)) for v in ("normaal", "normaal", "vertrouwelijk")]
    return {
        "bsn": bsn,
        "actieId": [c["actieId"] for c in created],
        "verwerktObjectId": [c["verwerkteObjecten"][0]["verwerktObjectId"] for c in created],
        "verwerkingId": [c["verwerkingId"] for c in created],
    }


def use_known(case, known) -> None:
    """Deterministically (from the generated value) swap 3 in 4 generated ids for real ones."""
    def pick(name: str, value: object) -> object:
        h = zlib.crc32(repr(value).encode())
        return value if h % 4 == 0 else known[name][h % len(known[name])]
    for name in ("actieId", "verwerktObjectId"):
        if case.path_parameters and name in case.path_parameters:
            case.path_parameters[name] = pick(name, case.path_parameters[name])
    if case.query and "verwerkingId" in case.query:
        case.query["verwerkingId"] = pick("verwerkingId", case.query["verwerkingId"])
    if case.query and "objectId" in case.query and zlib.crc32(repr(case.query).encode()) % 2:
        case.query.update(objecttype="persoon", soortObjectId="BSN", objectId=known["bsn"])


bp = schemathesis.from_pytest_fixture("bewerking_positive")
# Negative data needs something schemathesis can negate: for the operations on a path uuid
# (GET/DELETE, and PUT whose allOf body it cannot negate) hypothesis reports Unsatisfiable, so the
# negative runs cover the collection operations; the positive runs cover every operation.
bn = schemathesis.from_pytest_fixture("bewerking_negative").exclude(path_regex=r"\{")
ip = schemathesis.from_pytest_fixture("inzage_positive")
in_ = schemathesis.from_pytest_fixture("inzage_negative").exclude(path_regex=r"\{")


@settings(max_examples=POSITIVE, **HYPOTHESIS)  # outside: lazy schemas read it there
@bp.parametrize()
def test_bewerking_positive(case, known):
    use_known(case, known)
    case.call_and_validate(headers=_auth(), checks=POSITIVE_CHECKS + (schema_without_nulls("bewerking"),))


@settings(max_examples=NEGATIVE, **HYPOTHESIS)  # outside: lazy schemas read it there
@bn.parametrize()
def test_bewerking_negative(case, server):
    call_negative(case, server, "bewerking")


@settings(max_examples=POSITIVE, **HYPOTHESIS)  # outside: lazy schemas read it there
@ip.parametrize()
def test_inzage_positive(case, known):
    use_known(case, known)
    case.call_and_validate(headers=_auth(), checks=POSITIVE_CHECKS + (schema_without_nulls("inzage"),))


@settings(max_examples=NEGATIVE, **HYPOTHESIS)  # outside: lazy schemas read it there
@in_.parametrize()
def test_inzage_negative(case, server):
    call_negative(case, server, "inzage")
