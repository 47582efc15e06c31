"""Every test leaves global OpenTelemetry state as it found it (see tests/support/otel_globals.py)."""

from __future__ import annotations

from typing import Iterator

import pytest

from tests.support.otel_globals import snapshot


@pytest.fixture(autouse=True)
def no_leaked_otel_globals() -> Iterator[None]:
    before = snapshot()
    yield
    leaks = before.leaks(snapshot())
    if leaks:
        before.restore()
        # restored first, so the leak fails this test only and never the ones after it
        pytest.fail("this test leaked global OpenTelemetry state: " + ", ".join(leaks), pytrace=False)
