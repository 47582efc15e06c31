"""The deliveries and the api exporter through `configure()`, and VerwerkingenlogExporter in a
plain OpenTelemetry pipeline — end to end, annotated call to the real log."""

from __future__ import annotations

import json
import logging
import os
import uuid
from pathlib import Path
from typing import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult

import verwerkingen_otel as vo
from tests.delivery.conftest import SECRET, actie_namen, make_actie
from tests.delivery.faultproxy import FaultProxy
from tests.support.logserver import LogServer
from verwerkingen_otel import capture as pipeline_module
from verwerkingen_otel.model import verwerkingsactie_attributes
from verwerkingen_otel.delivery import MemoryDelivery, OutboxDelivery
from verwerkingen_otel.capture import VerwerkingenlogExporter
from verwerkingen_otel.delivery import Outbox


@pytest.fixture(autouse=True)
def own_pipeline() -> Iterator[None]:
    """Each test configures its own pipeline; the one before it is put back afterwards."""
    previous = pipeline_module.install(None)
    try:
        yield
    finally:
        current = pipeline_module.install(previous)
        if current is not None:
            current.shutdown(1.0)


def annotated(activiteit: str):  # type: ignore[no-untyped-def]
    @vo.verwerkingsactie(actie_naam="Raadplegen persoon", verwerkingsactiviteit_id=activiteit,
                         objecten=[vo.persoon("bsn", soorten_gegevens=["Naam"])])
    def raadplegen(bsn: str) -> str:
        return "ok"

    return raadplegen


def test_default_outbox_delivery_reaches_the_log(logserver: LogServer, tmp_path: Path) -> None:
    activiteit = str(uuid.uuid4())
    log = vo.configure(api_url=logserver.api_url, client_id="app", secret=SECRET,
                       outbox=str(tmp_path / "outbox.db"))
    assert isinstance(log.delivery, OutboxDelivery)
    raadplegen = annotated(activiteit)
    for _ in range(5):
        assert raadplegen("999993653") == "ok"
    assert Outbox(tmp_path / "outbox.db").pending() + len(actie_namen(logserver.api_url, activiteit)) >= 5
    assert log.force_flush(10.0) is True
    assert actie_namen(logserver.api_url, activiteit) == ["Raadplegen persoon"] * 5


def test_outbox_is_written_before_the_call_returns(logserver: LogServer, tmp_path: Path) -> None:
    logserver.stop()  # nothing can be delivered: what we see is what the outbox holds
    activiteit = str(uuid.uuid4())
    vo.configure(api_url=logserver.api_url, client_id="app", secret=SECRET,
                 outbox=str(tmp_path / "outbox.db"))
    raadplegen = annotated(activiteit)
    outbox = Outbox(tmp_path / "outbox.db")
    for i in range(3):
        raadplegen("999993653")
        assert outbox.pending() == i + 1  # before the decorated call returned


def test_each_configured_exporter_gets_each_action_once(logserver: LogServer, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    activiteit = str(uuid.uuid4())
    log = vo.configure(api_url=logserver.api_url, client_id="app", secret=SECRET, exporters="api,console",
                       outbox=str(tmp_path / "outbox.db"))
    annotated(activiteit)("999993653")
    assert log.force_flush(10.0) is True
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert [body["verwerkingsactiviteitId"] for body in lines] == [activiteit]
    assert actie_namen(logserver.api_url, activiteit) == ["Raadplegen persoon"]


def test_memory_delivery_by_setting(logserver: LogServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    activiteit = str(uuid.uuid4())
    log = vo.configure(api_url=logserver.api_url, client_id="app", secret=SECRET, delivery="memory")
    assert isinstance(log.delivery, MemoryDelivery)
    assert any("delivery=memory" in r.getMessage() for r in caplog.records)
    annotated(activiteit)("999993653")
    assert log.force_flush(10.0) is True
    assert actie_namen(logserver.api_url, activiteit) == ["Raadplegen persoon"]


def test_sync_delivery_with_the_api_exporter_fails_the_call_when_the_log_is_down(logserver: LogServer) -> None:
    activiteit = str(uuid.uuid4())
    vo.configure(api_url=logserver.api_url, client_id="app", secret=SECRET, delivery="sync")
    raadplegen = annotated(activiteit)
    raadplegen("999993653")
    assert actie_namen(logserver.api_url, activiteit) == ["Raadplegen persoon"]  # already there
    logserver.stop()
    with pytest.raises(vo.RecordingError):
        raadplegen("999993653")


def test_unusable_outbox_fails_configure_naming_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(vo.ConfigurationError) as info:
        vo.configure(exporters="console", outbox=str(blocker / "outbox.db"))
    assert info.value.setting == "outbox"
    monkeypatch.setenv("VERWERKINGEN_OUTBOX", str(blocker / "outbox.db"))
    with pytest.raises(vo.ConfigurationError) as info2:
        vo.configure(exporters="console")
    assert info2.value.setting == "VERWERKINGEN_OUTBOX"


@pytest.mark.parametrize("value, synchronous", [(None, 2), ("power-loss", 2), ("process-crash", 1),
                                                ("PROCESS-CRASH", 1)])
def test_outbox_durability_sets_what_sqlite_syncs(tmp_path: Path, value: str | None, synchronous: int) -> None:
    log = vo.configure(exporters="console", outbox=str(tmp_path / "outbox.db"), outbox_durability=value)
    conn = log.delivery.outbox._connection()
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == synchronous  # 2 = FULL, 1 = NORMAL
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_bad_outbox_durability_fails_configure_naming_the_setting(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(vo.ConfigurationError) as info:
        vo.configure(exporters="console", outbox=str(tmp_path / "o.db"), outbox_durability="fsync")
    assert (info.value.setting, str(info.value)) == (
        "outbox_durability", "outbox_durability: must be power-loss or process-crash")
    monkeypatch.setenv("VERWERKINGEN_OUTBOX_DURABILITY", "crash")
    with pytest.raises(vo.ConfigurationError) as env:
        vo.configure(exporters="console", outbox=str(tmp_path / "o.db"))
    assert env.value.setting == "VERWERKINGEN_OUTBOX_DURABILITY"
    assert not (tmp_path / "o.db").exists()  # refused before anything was created


def test_full_outbox_fails_the_annotated_call(tmp_path: Path) -> None:
    log = vo.configure(exporters="console", outbox=str(tmp_path / "outbox.db"))
    log.shutdown(1.0)  # keep the console quiet: a fresh delivery we can fill up
    log = vo.configure(api_url="http://127.0.0.1:9/api/v1", token="t", outbox=str(tmp_path / "outbox.db"))
    conn = log.delivery.outbox._connection()
    conn.execute(f"PRAGMA max_page_count = {conn.execute('PRAGMA page_count').fetchone()[0]}")
    raadplegen = annotated(str(uuid.uuid4()))
    with pytest.raises(vo.RecordingError) as info:
        for _ in range(200):
            raadplegen("999993653")
    assert "999993653" not in str(info.value)


def test_configure_again_flushes_the_previous_delivery(logserver: LogServer, tmp_path: Path) -> None:
    activiteit = str(uuid.uuid4())
    first = vo.configure(api_url=logserver.api_url, client_id="app", secret=SECRET,
                         outbox=str(tmp_path / "outbox.db"))
    annotated(activiteit)("999993653")
    vo.configure(api_url=logserver.api_url, client_id="app", secret=SECRET,
                 outbox=str(tmp_path / "outbox2.db"))
    assert first.is_shut_down
    assert actie_namen(logserver.api_url, activiteit) == ["Raadplegen persoon"]


def test_tls_settings_are_checked_at_configure(tmp_path: Path) -> None:
    with pytest.raises(vo.ConfigurationError) as info:
        vo.configure(api_url="https://127.0.0.1:9/api/v1", token="t", ca_bundle=str(tmp_path / "none.pem"),
                     outbox=str(tmp_path / "o.db"))
    assert info.value.setting == "ca_bundle"
    with pytest.raises(vo.ConfigurationError) as info2:
        vo.configure(api_url="https://127.0.0.1:9/api/v1", token="t", client_key=str(tmp_path / "k.pem"),
                     outbox=str(tmp_path / "o.db"))
    assert info2.value.setting == "client_cert"


def test_verwerkingenlog_exporter_in_a_plain_otel_pipeline(logserver: LogServer, tmp_path: Path) -> None:
    activiteit = str(uuid.uuid4())
    exporter = VerwerkingenlogExporter(logserver.api_url, client_id="app", secret=SECRET,
                                       outbox=tmp_path / "outbox.db")
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("raadplegen", attributes=verwerkingsactie_attributes(
            make_actie(activiteit, n=3))):
        pass
    with tracer.start_as_current_span("not a verwerking"):
        pass
    assert exporter.force_flush(10_000) is True  # SimpleSpanProcessor's flush does not wait for it
    assert actie_namen(logserver.api_url, activiteit) == ["Raadplegen persoon 3"]
    provider.shutdown()


def test_verwerkingenlog_exporter_reads_the_environment(logserver: LogServer, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VERWERKINGEN_API_URL", raising=False)
    with pytest.raises(ValueError, match="api_url"):
        VerwerkingenlogExporter(outbox=tmp_path / "o.db")
    monkeypatch.setenv("VERWERKINGEN_API_URL", logserver.api_url)
    monkeypatch.setenv("VERWERKINGEN_CLIENT_ID", "app")
    monkeypatch.setenv("VERWERKINGEN_SECRET", SECRET)
    monkeypatch.setenv("VERWERKINGEN_OUTBOX", str(tmp_path / "env.db"))
    exporter = VerwerkingenlogExporter()
    assert os.path.exists(tmp_path / "env.db")
    exporter.shutdown()


def test_verwerkingenlog_exporter_reports_an_unreadable_verwerkingen_span(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A span with verwerkingen attributes that form no valid action fails the export, loudly."""
    from verwerkingen_otel.model import VERTROUWELIJKHEID

    delivery = MemoryDelivery([], max_queue=10)
    exporter = VerwerkingenlogExporter(delivery=delivery)
    provider = TracerProvider()
    tracer = provider.get_tracer("test")
    attributes = {**verwerkingsactie_attributes(make_actie(str(uuid.uuid4()))), VERTROUWELIJKHEID: "geheim"}
    span = tracer.start_span("raadplegen", attributes=attributes)
    span.end()
    caplog.set_level(logging.ERROR, logger="verwerkingen_otel.delivery")
    caplog.clear()  # the memory delivery's own start-up warning is not what this test is about
    assert exporter.export([span]) is SpanExportResult.FAILURE
    assert [r.getMessage() for r in caplog.records if r.name == "verwerkingen_otel.delivery"] == [
        "verwerkingen span 'raadplegen' not recorded: its attributes do not form a valid verwerkingsactie "
        "(InvalidValue)"]
    exporter.shutdown()
    provider.shutdown()


def test_verwerkingenlog_exporter_checks_settings_like_configure(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Malformed values fail at construction, named as the caller wrote them (argument or env)."""
    from verwerkingen_otel.capture import ConfigurationError

    for key in ("VERWERKINGEN_API_URL", "VERWERKINGEN_CLIENT_ID", "VERWERKINGEN_SECRET", "VERWERKINGEN_OUTBOX"):
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(ConfigurationError) as err:
        VerwerkingenlogExporter("not a url", outbox=tmp_path / "o.db")
    assert err.value.setting == "api_url"
    monkeypatch.setenv("VERWERKINGEN_API_URL", "ftp://log")
    with pytest.raises(ConfigurationError) as err:
        VerwerkingenlogExporter(outbox=tmp_path / "o.db")
    assert err.value.setting == "VERWERKINGEN_API_URL"
    monkeypatch.setenv("VERWERKINGEN_API_URL", "http://127.0.0.1:9/api/v1")
    with pytest.raises(ConfigurationError) as err:
        VerwerkingenlogExporter(client_id="app", outbox=tmp_path / "o.db")
    assert err.value.setting == "secret"
    with pytest.raises(ConfigurationError) as err:
        VerwerkingenlogExporter()
    assert err.value.setting == "outbox"
    assert not (tmp_path / "o.db").exists()


@pytest.mark.parametrize("delivery", ["sync", "outbox"])
def test_deliverys_own_calls_carry_no_verwerkingen_headers_with_httpx_instrumented(
        delivery: str, proxy: FaultProxy, logserver: LogServer, tmp_path: Path) -> None:
    """Our outbound instrumentation is on, and the POST happens inside an action: still untouched."""
    from verwerkingen_otel import httpx as vo_httpx

    activiteit = str(uuid.uuid4())
    log = vo.configure(api_url=proxy.api_url, client_id="app", secret=SECRET, delivery=delivery,
                       outbox=str(tmp_path / "outbox.db"), oin="00000001821002193000")
    was = vo_httpx.is_instrumented()
    vo_httpx.instrument()
    try:
        with vo.verwerking(verwerking_id=str(uuid.uuid4()), vertrouwelijkheid="vertrouwelijk"):
            annotated(activiteit)("999993653")
        assert log.force_flush(10.0) is True
    finally:
        if not was:
            vo_httpx.uninstrument()
    (post,) = proxy.posts()
    assert post.status == 201 and post.headers is not None
    assert not {"oin", "verwerkingid", "vertrouwelijkheid", "verwerkingsactiviteitid", "traceparent"} & set(post.headers)
