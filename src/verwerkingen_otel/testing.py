"""pytest plugin: the `verwerkingen` fixture, capturing every action a test records.

Registered through the `pytest11` entry point, so it is active wherever the package is
installed; importing it is cheap and configures nothing until a test asks for the fixture.
The fixture swaps in an in-memory, synchronous, strict pipeline for the duration of the test
and restores whatever pipeline was installed before; a `configure()` call by the code under
test is checked but leaves the test's pipeline in place. Settings can be adjusted per test with
`@pytest.mark.verwerkingen(systeem="...", strict=False, ...)` (any `configure()` argument).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator

import pytest

if TYPE_CHECKING:
    from .capture import Pipeline
    from .delivery import InMemoryExporter

__all__ = ["RecordedVerwerkingen", "verwerkingen"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "verwerkingen(**settings): configure() arguments for the `verwerkingen` fixture"
    )


def _api_key(name: str) -> str:
    from .model import API_KEYS

    return API_KEYS.get(name, name)


class RecordedVerwerkingen:
    """The actions recorded during one test, each exactly as its POST /verwerkingsacties body."""

    def __init__(self, pipeline: Pipeline, memory: InMemoryExporter) -> None:
        self.pipeline = pipeline
        self._memory = memory

    @property
    def acties(self) -> list[dict[str, Any]]:
        """Every recorded body, oldest first."""
        return self._memory.bodies

    def __len__(self) -> int:
        return len(self._memory.records)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.acties)

    def clear(self) -> None:
        self._memory.clear()

    def find(self, **criteria: Any) -> list[dict[str, Any]]:
        """Bodies whose fields equal every criterion; names snake_case (actie_naam) or camelCase."""
        wanted = {_api_key(k): _plain(v) for k, v in criteria.items()}
        return [b for b in self.acties if all(b.get(k) == v for k, v in wanted.items())]

    def for_bsn(self, bsn: str | int) -> list[dict[str, Any]]:
        """Bodies with an object of soortObjectId BSN and this objectId (an int is zero-padded)."""
        key = f"{bsn:09d}" if isinstance(bsn, int) else bsn
        return [
            b
            for b in self.acties
            if any(o.get("soortObjectId") == "BSN" and o.get("objectId") == key for o in b["verwerkteObjecten"])
        ]

    def assert_one(self, **criteria: Any) -> dict[str, Any]:
        """The one body matching `criteria`; fails showing what was recorded otherwise."""
        found = self.find(**criteria)
        if len(found) != 1:
            raise AssertionError(
                f"expected exactly one verwerkingsactie matching {criteria}, found {len(found)}; "
                f"recorded: {self._summary()}"
            )
        return found[0]

    def assert_none(self, **criteria: Any) -> None:
        """No body matches `criteria` (no criteria: nothing was recorded at all)."""
        found = self.find(**criteria)
        if found:
            raise AssertionError(
                f"expected no verwerkingsactie matching {criteria}, found {len(found)}; recorded: {self._summary()}"
            )

    def objecten(self, **criteria: Any) -> list[dict[str, Any]]:
        """All objects of the matching bodies, in order."""
        return [o for b in self.find(**criteria) for o in b["verwerkteObjecten"]]

    def _summary(self) -> list[str]:
        return [f"{b.get('actieNaam')!r} ({len(b['verwerkteObjecten'])} objecten)" for b in self.acties]


def _plain(value: Any) -> Any:
    from enum import Enum

    return value.value if isinstance(value, Enum) else value


@pytest.fixture
def verwerkingen(request: pytest.FixtureRequest) -> Iterator[RecordedVerwerkingen]:
    """An in-memory, strict pipeline for this test; yields the recorded actions."""
    from .capture import build_pipeline, install, load_settings
    from .delivery import InMemoryExporter

    overrides: dict[str, Any] = {"delivery": "sync", "exporters": ["memory"], "strict": True}
    for marker in reversed(list(request.node.iter_markers("verwerkingen"))):
        overrides.update(marker.kwargs)
    pipeline = build_pipeline(load_settings(overrides))
    memory = pipeline.exporter("memory")
    assert isinstance(memory, InMemoryExporter), "the verwerkingen fixture needs the memory exporter"
    previous = install(pipeline, pin=True)
    try:
        yield RecordedVerwerkingen(pipeline, memory)
    finally:
        install(previous)
        pipeline.shutdown()
