"""Settings, configure(), the delivery/exporter registries, flushing and shutting down."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from typing import Any

import pytest

import verwerkingen_otel as vo
from verwerkingen_otel import capture as pipeline
from verwerkingen_otel.capture import ConfigurationError, load_settings
from verwerkingen_otel.delivery import InMemoryExporter, Record, SyncDelivery, register_delivery, register_exporter

from tests.support.values import BSN_A


def record_one() -> None:
    with vo.verwerkingsactie(actie_naam="Een") as actie:
        actie.add_object(BSN_A)


# --- settings ----------------------------------------------------------------------------------


def test_defaults() -> None:
    s = load_settings({}, environ={})
    assert (s.delivery, s.exporters, s.strict, s.api_url, s.bewaartermijn, s.retry_after_max) == (
        "outbox",
        ("console",),
        False,
        None,
        None,
        60.0,
    )


def test_every_setting_from_the_environment() -> None:
    env = {
        "VERWERKINGEN_API_URL": "http://127.0.0.1:8000/api/v1/",
        "VERWERKINGEN_CLIENT_ID": "mijn-app",
        "VERWERKINGEN_SECRET": "geheim",
        "VERWERKINGEN_OUTBOX": "/tmp/outbox.db",
        "VERWERKINGEN_DELIVERY": "SYNC",
        "VERWERKINGEN_EXPORTERS": "api, console",
        "VERWERKINGEN_SYSTEEM": "Burgerzaken",
        "VERWERKINGEN_GEGEVENSBRON": "BRP",
        "VERWERKINGEN_UITVOERDER": "00000001111111111000",
        "VERWERKINGEN_OIN": "00000002222222222000",
        "VERWERKINGEN_RULES": "rules.toml",
        "VERWERKINGEN_STRICT": "yes",
        "VERWERKINGEN_BEWAARTERMIJN": "P10Y",
        "VERWERKINGEN_CONSOLE_FILE": "/tmp/acties.jsonl",
        "VERWERKINGEN_RETRY_AFTER_MAX": "30",
    }
    s = load_settings({}, environ=env)
    assert (s.api_url, s.client_id, s.secret, s.outbox, s.delivery, s.exporters) == (
        "http://127.0.0.1:8000/api/v1",
        "mijn-app",
        "geheim",
        "/tmp/outbox.db",
        "sync",
        ("api", "console"),
    )
    assert (s.systeem, s.gegevensbron, s.uitvoerder, s.oin, s.rules, s.strict, s.bewaartermijn) == (
        "Burgerzaken",
        "BRP",
        "00000001111111111000",
        "00000002222222222000",
        "rules.toml",
        True,
        "P10Y",
    )
    assert (s.console_file, s.retry_after_max) == ("/tmp/acties.jsonl", 30.0)
    assert s.source("api_url") == "VERWERKINGEN_API_URL"
    assert "geheim" not in repr(s)


def test_argument_beats_environment() -> None:
    s = load_settings({"systeem": "Argument", "strict": False}, environ={"VERWERKINGEN_SYSTEEM": "Env",
                                                                         "VERWERKINGEN_STRICT": "true"})
    assert (s.systeem, s.strict) == ("Argument", False)
    assert s.source("systeem") == "systeem"


def test_none_argument_leaves_the_environment_in_charge() -> None:
    assert load_settings({"systeem": None}, environ={"VERWERKINGEN_SYSTEEM": "Env"}).systeem == "Env"


def test_empty_environment_value_is_unset() -> None:
    assert load_settings({}, environ={"VERWERKINGEN_SYSTEEM": "", "VERWERKINGEN_OIN": " "}).systeem is None


def test_default_exporter_is_api_when_an_api_url_is_set() -> None:
    assert load_settings({"api_url": "https://log.example.nl/api/v1"}, environ={}).exporters == ("api",)


def test_exporters_none_means_no_exporter() -> None:
    assert load_settings({"exporters": "none"}, environ={}).exporters == ()
    assert load_settings({"exporters": ["console", "memory", "console"]}, environ={}).exporters == (
        "console",
        "memory",
    )


@pytest.mark.parametrize(
    ("overrides", "env", "setting", "reason"),
    [
        ({"api_url": "ftp://x"}, {}, "api_url", "must be an absolute http or https URL"),
        ({}, {"VERWERKINGEN_API_URL": "localhost:8000"}, "VERWERKINGEN_API_URL",
         "must be an absolute http or https URL"),
        ({}, {"VERWERKINGEN_STRICT": "misschien"}, "VERWERKINGEN_STRICT", "must be true or false"),
        ({"strict": "yes please"}, {}, "strict", "must be true or false"),
        ({}, {"VERWERKINGEN_UITVOERDER": "123"}, "VERWERKINGEN_UITVOERDER", "must be an OIN of exactly 20 digits"),
        ({"oin": 12}, {}, "oin", "must be a string"),
        ({}, {"VERWERKINGEN_BEWAARTERMIJN": "10"}, "VERWERKINGEN_BEWAARTERMIJN",
         "must be an ISO 8601 duration such as P10Y"),
        ({"systeem": "x" * 243}, {}, "systeem", "must be at most 242 characters"),
        ({}, {"VERWERKINGEN_EXPORTERS": "none,console"}, "VERWERKINGEN_EXPORTERS",
         "`none` cannot be combined with other exporters"),
        ({"exporters": ","}, {}, "exporters", "must name at least one exporter, or `none`"),
        ({"exporters": 3}, {}, "exporters", "must be a comma-separated list of names"),
        ({"delivery": "naar de maan"}, {}, "delivery", "must be a name such as outbox or sync"),
        ({}, {"VERWERKINGEN_RETRY_AFTER_MAX": "-1"}, "VERWERKINGEN_RETRY_AFTER_MAX",
         "must be a non-negative, finite number of seconds"),
        ({"retry_after_max": "soon"}, {}, "retry_after_max", "must be a number of seconds"),
        ({"client_id": "app"}, {}, "secret", "is required when client_id is set"),
        ({}, {"VERWERKINGEN_SECRET": "s"}, "VERWERKINGEN_CLIENT_ID", "is required when VERWERKINGEN_SECRET is set"),
        ({"token": "t", "client_id": "a", "secret": "s"}, {}, "token", "cannot be combined with client_id: use one or the other"),
        ({}, {"VERWERKINGEN_TOKEN": "t", "VERWERKINGEN_CLIENT_ID": "a"}, "VERWERKINGEN_TOKEN",  # not: add a secret
         "cannot be combined with VERWERKINGEN_CLIENT_ID: use one or the other"),
        ({"exporters": "api"}, {}, "api_url", "is required by the api exporter (exporters)"),
        ({}, {"VERWERKINGEN_EXPORTERS": "api"}, "VERWERKINGEN_API_URL",
         "is required by the api exporter (VERWERKINGEN_EXPORTERS)"),
        ({"systeem_naam": "x"}, {}, "systeem_naam", "unknown setting"),
    ],
)
def test_mistakes_name_the_setting_as_written(
    overrides: dict[str, Any], env: dict[str, str], setting: str, reason: str
) -> None:
    with pytest.raises(ConfigurationError) as info:
        load_settings(overrides, environ=env)
    assert (info.value.setting, info.value.reason) == (setting, reason)


def test_secret_values_never_appear_in_errors() -> None:
    with pytest.raises(ConfigurationError) as info:
        load_settings({}, environ={"VERWERKINGEN_API_URL": "geheim-wachtwoord"})
    assert "geheim" not in str(info.value)


def test_unknown_environment_variable_is_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    load_settings({}, environ={"VERWERKINGEN_API_ULR": "x", "VERWERKINGEN_TEST_POSTGRES_URL": "y",
                               "VERWERKINGEN_EXPORTER": "console", "VERWERKINGEN_KLEUR": "blauw"})
    assert caplog.messages == [  # a near miss names the setting it was probably meant to be
        "VERWERKINGEN_API_ULR is not a verwerkingen-otel setting and is ignored; did you mean VERWERKINGEN_API_URL?",
        "VERWERKINGEN_EXPORTER is not a verwerkingen-otel setting and is ignored; did you mean VERWERKINGEN_EXPORTERS?",
        "VERWERKINGEN_KLEUR is not a verwerkingen-otel setting and is ignored"]


# --- configure() -------------------------------------------------------------------------------


def test_configure_installs_a_pipeline_and_returns_its_handle() -> None:
    handle = vo.configure(delivery="sync", exporters=["memory"], systeem="S")
    assert pipeline.current_pipeline() is handle
    record_one()
    memory = handle.exporter("memory")
    assert isinstance(memory, InMemoryExporter)
    assert memory.bodies[0]["systeem"] == "S"
    assert handle.force_flush(0.5) is True and vo.force_flush(0.5) is True


def test_configure_from_environment_on_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERWERKINGEN_DELIVERY", "sync")
    monkeypatch.setenv("VERWERKINGEN_EXPORTERS", "memory")
    monkeypatch.setenv("VERWERKINGEN_SYSTEEM", "Uit de omgeving")
    assert pipeline.current_pipeline() is None
    record_one()
    current = pipeline.current_pipeline()
    assert current is not None
    assert current.exporter("memory").bodies[0]["systeem"] == "Uit de omgeving"  # type: ignore[union-attr]


def test_configure_again_flushes_and_shuts_down_the_previous(tmp_path: Any) -> None:
    first = vo.configure(delivery="sync", exporters=["console"], console_file=str(tmp_path / "a.jsonl"))
    record_one()
    second = vo.configure(delivery="sync", exporters=["memory"])
    assert first.is_shut_down and not second.is_shut_down
    assert first.exporters[0]._file is None  # type: ignore[attr-defined]
    record_one()
    assert len((tmp_path / "a.jsonl").read_text().splitlines()) == 1
    assert len(second.exporter("memory").records) == 1  # type: ignore[union-attr]


def test_a_failed_configure_leaves_the_previous_pipeline_in_place() -> None:
    good = vo.configure(delivery="sync", exporters=["memory"])
    with pytest.raises(ConfigurationError):
        vo.configure(delivery="sync", exporters=["memory"], api_url="nope")
    assert pipeline.current_pipeline() is good and not good.is_shut_down


def test_module_level_flush_and_shutdown_without_a_pipeline() -> None:
    assert vo.force_flush() is True
    assert vo.shutdown() is True


def test_shutdown_is_idempotent() -> None:
    handle = vo.configure(delivery="sync", exporters=["memory"])
    assert handle.shutdown(1.0) is True
    assert handle.shutdown(1.0) is True


# --- registries ------------------------------------------------------------------------------


def test_unknown_delivery_and_exporter_names() -> None:
    with pytest.raises(ConfigurationError) as info:
        vo.configure(delivery="postduif")
    assert info.value.setting == "delivery"
    assert info.value.reason.startswith("unknown value; expected one of ")
    assert "outbox" in info.value.reason and "sync" in info.value.reason
    with pytest.raises(ConfigurationError) as info:
        pipeline.build_pipeline(load_settings({}, environ={"VERWERKINGEN_EXPORTERS": "fax",
                                                          "VERWERKINGEN_DELIVERY": "sync"}))
    assert info.value.setting == "VERWERKINGEN_EXPORTERS"


def test_lazily_registered_code_that_is_not_there_yet() -> None:
    register_delivery("later", "verwerkingen_otel.komt_nog:delivery")
    register_exporter("ook-later", "verwerkingen_otel.capture:bestaat_niet")
    with pytest.raises(ConfigurationError) as info:
        vo.configure(delivery="later", exporters=["memory"])
    assert str(info.value) == "delivery: 'later' is not available yet in this version"
    with pytest.raises(ConfigurationError) as info:
        vo.configure(delivery="sync", exporters=["ook-later"])
    assert str(info.value) == "exporters: 'ook-later' is not available yet in this version"


def test_registered_delivery_and_exporter_are_used() -> None:
    made: dict[str, Any] = {}

    class Telling:
        name = "telling"

        def __init__(self) -> None:
            self.ids: list[str] = []

        def export(self, record: Record) -> None:
            self.ids.append(record.id)

        def shutdown(self) -> None:
            made["exporter_shut"] = True

    class Eigen(SyncDelivery):
        def force_flush(self, timeout: float = 5.0) -> bool:
            made["flush_timeout"] = timeout
            return True

    def delivery(settings: Any, exporters: Any) -> Eigen:
        made["exporters"] = exporters
        return Eigen(exporters)

    register_exporter("telling", lambda settings: Telling())
    register_delivery("eigen", delivery)
    handle = vo.configure(delivery="eigen", exporters="telling,memory")
    record_one()
    telling, memory = made["exporters"]
    assert len(telling.ids) == 1 and telling.ids[0] == memory.records[0].id  # one record, one id, every exporter
    assert vo.force_flush(2.5) is True and made["flush_timeout"] == 2.5
    handle.shutdown()
    assert made["exporter_shut"] is True


def test_shutdown_at_exit_runs_once_and_never_breaks_interpreter_exit() -> None:
    code = textwrap.dedent("""
        import verwerkingen_otel as vo
        from verwerkingen_otel.delivery import SyncDelivery, register_delivery

        class Kapot(SyncDelivery):
            calls = 0
            def shutdown(self, timeout=5.0):
                Kapot.calls += 1
                print("shutdown", Kapot.calls, flush=True)
                raise OSError("disk weg")

        register_delivery("kapot", lambda settings, exporters: Kapot(exporters))
        vo.configure(delivery="kapot", exporters=["memory"])
        vo.configure(delivery="kapot", exporters=["memory"])  # the first one is shut down here
        print("done", flush=True)
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith("VERWERKINGEN_")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["shutdown 1", "done", "shutdown 2"]  # at exit: once, for the current one
    assert "verwerkingen pipeline failed to shut down at exit" in done.stderr


def test_configure_installs_the_new_pipeline_even_if_the_old_one_fails_to_shut_down(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Kapot(SyncDelivery):
        def shutdown(self, timeout: float = 5.0) -> bool:
            raise OSError("disk weg")

    register_delivery("kapot", lambda settings, exporters: Kapot(exporters))
    vo.configure(delivery="kapot", exporters=["memory"])
    new = vo.configure(delivery="sync", exporters=["memory"])
    assert pipeline.current_pipeline() is new
    assert "the previous verwerkingen pipeline failed to shut down" in caplog.text
