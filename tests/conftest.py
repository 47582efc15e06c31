"""Every test leaves global OpenTelemetry state as it found it (tests/support/otel_globals.py) and
opens nothing beside the repository (tests/support/outside.py)."""

from __future__ import annotations

import os
from typing import Iterator

import pytest

from tests.support import outside
from tests.support.otel_globals import snapshot

outside.install()  # notes files opened beside the repository (tests/support/outside.py)


@pytest.fixture(autouse=True)
def no_leaked_otel_globals() -> Iterator[None]:
    before = snapshot()
    yield
    leaks = before.leaks(snapshot())
    if leaks:
        before.restore()
        # restored first, so the leak fails this test only and never the ones after it
        pytest.fail("this test leaked global OpenTelemetry state: " + ", ".join(leaks), pytrace=False)


@pytest.fixture(autouse=True)
def no_reads_outside_the_repository() -> Iterator[None]:
    """A fresh clone has nothing beside it: a test that opens a file beside the checkout fails."""
    outside.take()
    yield
    opened = outside.take()
    if opened:
        pytest.fail("this test opened files outside the repository: " + ", ".join(opened), pytrace=False)


@pytest.fixture()
def isolated_pipeline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No VERWERKINGEN_* from outside and no pipeline installed; whatever the test configures is
    shut down and the pipeline before it put back."""
    import verwerkingen_otel as vo
    from verwerkingen_otel.capture import install

    for key in list(os.environ):
        if key.startswith("VERWERKINGEN_") and not key.startswith("VERWERKINGEN_TEST_"):
            monkeypatch.delenv(key)
    previous = install(None)
    yield
    vo.shutdown(2.0)
    install(previous)


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    """The throwaway PostgreSQL that scripts/test starts; its absence fails under CI."""
    url = os.environ.get("VERWERKINGEN_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("CI is set but VERWERKINGEN_TEST_POSTGRES_URL is not: PostgreSQL tests cannot run")
        pytest.skip("VERWERKINGEN_TEST_POSTGRES_URL not set (run scripts/test)")
    return url
