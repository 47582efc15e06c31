"""Capture tests: a clean VERWERKINGEN_* environment and no pipeline leaking between tests."""

from __future__ import annotations

import os
from typing import Iterator

import pytest

from verwerkingen_otel import capture as pipeline
from verwerkingen_otel import delivery

@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key in list(os.environ):
        if key.startswith("VERWERKINGEN_") and not key.startswith("VERWERKINGEN_TEST_"):
            monkeypatch.delenv(key)
    previous = pipeline.install(None)
    exporters, deliveries = delivery.registered_names()
    try:
        yield
    finally:
        now_exporters, now_deliveries = delivery.registered_names()
        for name in now_exporters - exporters:
            delivery.unregister_exporter(name)
        for name in now_deliveries - deliveries:
            delivery.unregister_delivery(name)
        left = pipeline.install(previous)
        if left is not None and left is not previous:
            left.shutdown()
