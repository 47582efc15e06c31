"""Capture tests: a clean VERWERKINGEN_* environment and no pipeline leaking between tests."""

from __future__ import annotations

import os
from typing import Iterator

import pytest

from verwerkingen_otel import pipeline

@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key in list(os.environ):
        if key.startswith("VERWERKINGEN_") and not key.startswith("VERWERKINGEN_TEST_"):
            monkeypatch.delenv(key)
    previous = pipeline.install(None)
    registries = dict(pipeline._EXPORTERS), dict(pipeline._DELIVERIES)
    try:
        yield
    finally:
        for registry, saved in zip((pipeline._EXPORTERS, pipeline._DELIVERIES), registries):
            registry.clear()
            registry.update(saved)
        left = pipeline.install(previous)
        if left is not None and left is not previous:
            left.shutdown()
