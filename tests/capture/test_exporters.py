"""The console exporter (JSON lines, exactly the POST body) and the in-memory exporter."""

from __future__ import annotations

import io
import json
import os
import stat
from pathlib import Path

import pytest

import verwerkingen_otel as vo
from verwerkingen_otel.delivery import Record, RetryableFailure
from verwerkingen_otel.delivery import ConsoleExporter, InMemoryExporter

from tests.support.values import ACTIVITEIT, BSN_A, BSN_B


def record_two() -> None:
    with vo.verwerkingsactie(actie_naam="Eerste", verwerkingsactiviteit_id=ACTIVITEIT) as actie:
        actie.add_object(BSN_A, betrokkenheid="Aanvrager", soorten_gegevens=["Naam"])
    with vo.verwerkingsactie(actie_naam="Tweede – ‘é’") as actie:
        actie.add_object(BSN_B)


def test_console_writes_one_post_body_per_line_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    handle = vo.configure(delivery="sync", exporters="console,memory", systeem="Demo")
    record_two()
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    bodies = handle.exporter("memory").bodies  # type: ignore[union-attr]
    assert [json.loads(line) for line in lines] == bodies
    assert lines[1].startswith('{"actieNaam":"Tweede – ‘é’",')  # compact, not ASCII-escaped
    first = json.loads(lines[0])
    assert set(first) == {"actieNaam", "verwerkingId", "verwerkingsactiviteitId", "vertrouwelijkheid", "systeem",
                          "tijdstip", "verwerkteObjecten"}
    assert not {"url", "actieId", "tijdstipRegistratie"} & set(first)
    assert None not in first.values()


def test_console_appends_to_a_file_readable_by_its_owner_only(tmp_path: Path) -> None:
    target = tmp_path / "acties.jsonl"
    target_env = str(target)
    os.environ["VERWERKINGEN_CONSOLE_FILE"] = target_env
    try:
        vo.configure(delivery="sync", exporters=["console"])
    finally:
        del os.environ["VERWERKINGEN_CONSOLE_FILE"]
    record_two()
    vo.configure(delivery="sync", exporters=["console"], console_file=target)
    record_two()
    vo.shutdown()
    lines = target.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["actieNaam"] for line in lines] == ["Eerste", "Tweede – ‘é’"] * 2
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_console_write_failure_is_retryable() -> None:
    stream = io.StringIO()
    stream.close()
    exporter = ConsoleExporter(stream=stream)
    with pytest.raises(RetryableFailure, match="console exporter could not write: ValueError"):
        exporter.export(Record(id="x", body={"objectId": BSN_A}))


def test_console_failure_fails_the_call(tmp_path: Path) -> None:
    handle = vo.configure(delivery="sync", exporters=["console"], console_file=tmp_path / "x.jsonl")
    handle.exporters[0]._file.close()  # type: ignore[attr-defined]
    with pytest.raises(vo.RecordingError, match="exporter 'console' could not record the action"):
        record_two()


def test_memory_exporter() -> None:
    memory = InMemoryExporter()
    memory.export(Record(id="1", body={"a": 1}))
    memory.export(Record(id="2", body={"a": 2}))
    assert [r.id for r in memory.records] == ["1", "2"]
    assert memory.bodies == [{"a": 1}, {"a": 2}]
    memory.clear()
    assert memory.records == []


def test_each_exporter_gets_each_action_once_with_the_same_record_id() -> None:
    class Ids:
        name = "ids"

        def __init__(self) -> None:
            self.records: list[Record] = []

        def export(self, record: Record) -> None:
            self.records.append(record)

        def shutdown(self) -> None:
            pass

    from verwerkingen_otel.delivery import register_exporter

    register_exporter("ids", lambda settings: Ids())
    handle = vo.configure(delivery="sync", exporters="ids,memory")
    record_two()
    ids, memory = handle.exporters
    assert [r.id for r in ids.records] == [r.id for r in memory.records]  # type: ignore[attr-defined]
    assert len({r.id for r in memory.records}) == 2  # type: ignore[attr-defined]
