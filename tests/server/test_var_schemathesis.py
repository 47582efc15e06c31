"""Schemathesis runs of the published VAR API 0.1.0 (var-api.yaml) against the real server.

Like the runs of the other two APIs (test_schemathesis.py): positive cases must give documented
statuses, content types and headers and bodies valid against the YAML; negative cases never a
server error. Generated ids are swapped (deterministically) for real ones 3 times in 4, so the
200 path is exercised, not only 404s.
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any, Iterator

import pytest
import schemathesis
from urllib.parse import quote

from hypothesis import given, settings
from hypothesis import strategies as st
from schemathesis import DataGenerationMethod

from tests.server.conftest import Api
from tests.server.test_schemathesis import HYPOTHESIS, NEGATIVE, POSITIVE, POSITIVE_CHECKS, _auth, schema_without_nulls
from tests.support.logserver import LogServer
from tests.support.openapi import SPEC_FILES
from tests.support.registers import ACTIVITEITEN, register_data, write_register

IDS = [a["id"] for a in ACTIVITEITEN]


@pytest.fixture(scope="module")
def server(database_url: str, clients_file: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LogServer]:
    path = write_register(tmp_path_factory.mktemp("register") / "register.json", register_data())
    log_path = tmp_path_factory.mktemp("serverlog") / "server.log"
    srv = LogServer(database_url, clients_file, log_path=log_path,
                    extra_args=["--page-size", "2", "--register", str(path)])
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def var_positive(server: LogServer) -> Any:
    return schemathesis.from_path(str(SPEC_FILES["var"]), base_url=server.api_url,
                                  data_generation_methods=[DataGenerationMethod.positive])


def use_known(case: Any) -> None:
    if case.path_parameters and "actieId" in case.path_parameters:
        h = zlib.crc32(repr(case.path_parameters["actieId"]).encode())
        if h % 4:
            case.path_parameters["actieId"] = IDS[h % len(IDS)]


vp = schemathesis.from_pytest_fixture("var_positive")


@settings(max_examples=POSITIVE, **HYPOTHESIS)
@vp.parametrize()
def test_var_positive(case: Any) -> None:
    use_known(case)
    case.call_and_validate(headers=_auth(), checks=POSITIVE_CHECKS + (schema_without_nulls("var"),))


# Negative data: the YAML gives schemathesis nothing to negate (the list has no parameters, and
# a negated path uuid is Unsatisfiable, as for the other two APIs), so hypothesis sends what the
# schema does not describe: any path id, any query parameters (ours and unknown ones), any
# If-None-Match. Never a server error; always a status the YAML (or docs/server.md) documents,
# checked with its body by the Api client's hook.
PARAM_NAMES = st.sampled_from(["page", "categorie", "naam", "peildatum", "verwerkingsactiviteitId", "x"])
VALUES = st.one_of(st.text(max_size=30), st.sampled_from(["1", "2", "0", "-1", "2024-02-30", "Burgerzaken"]))


@settings(max_examples=NEGATIVE * 3, **HYPOTHESIS)
@given(path_id=st.one_of(st.text(min_size=1, max_size=50), st.sampled_from(IDS)),
       params=st.lists(st.tuples(PARAM_NAMES, VALUES), max_size=4),
       etag=st.one_of(st.none(), st.text(max_size=40).filter(lambda t: t.isprintable() and t.isascii())))
def test_var_negative(api: Api, path_id: str, params: list[tuple[str, str]], etag: str | None) -> None:
    headers = {} if etag is None else {"If-None-Match": etag}
    quoted = quote(path_id, safe="")
    for path in (f"/verwerkingsactiviteiten/{quoted}", f"/verwerkingsactiviteit/{quoted}", "/verwerkingsactiviteiten"):
        r = api.get(path, params=params, headers=headers, client=None)  # the hook checks it against the YAML
        assert r.status_code in (200, 304, 400, 404), (path, r.status_code)


def test_the_spec_copy_is_the_published_one() -> None:
    """The package's copy of var-api.yaml is the VNG file, unchanged (ours add nothing to it)."""
    text = Path(SPEC_FILES["var"]).read_text(encoding="utf-8")
    assert "version: 0.1.0" in text and "/verwerkingsactiviteit/{actieId}:" in text
    assert "url: https://virtserver.swaggerhub.com/KorverInformatica/var-api/0.1.0" in text
