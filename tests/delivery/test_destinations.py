"""The destinations file and routing: every mistake at configure() naming file, section and key;
first match wins, the tenant's destination, the default, fail-closed; each destination once."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

import verwerkingen_otel as vo
from verwerkingen_otel.capture import separate_annotations
from tests.support.actions import make_actie
from verwerkingen_otel.delivery import (
    DestinationsError,
    RecordingError,
    Router,
    load_destinations,
    use_tenant,
)

ACT_BIJSTAND = "11111111-1111-4111-8111-111111111111"
ACT_OTHER = "22222222-2222-4222-8222-222222222222"
SECRET_VALUE = "s3cr3t-value-never-in-messages-0123456789"

MEMORY_FILE = """
[destinations.centraal]
exporters = ["memory"]
[destinations.sociaal]
exporters = ["memory"]
[destinations.burgerzaken]
exporters = ["memory"]

[[routes]]
verwerkingsactiviteit_id = "%s"
destinations = ["sociaal", "centraal", "sociaal"]
[[routes]]
vertrouwelijkheid = "vertrouwelijk"
destinations = ["burgerzaken"]
[[routes]]
tenant = "utrecht"
vertrouwelijkheid = "normaal"
destinations = ["burgerzaken", "burgerzaken"]
[[routes]]
default = true
destinations = ["centraal"]
""" % ACT_BIJSTAND


@pytest.fixture(autouse=True)
def _clean(isolated_pipeline: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test configures its own pipeline (the root conftest's isolated one); the secret the
    files name is set."""
    monkeypatch.setenv("CENTRAAL_SECRET", SECRET_VALUE)


def write(tmp_path: Path, text: str, name: str = "destinations.toml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def configure_error(**settings: object) -> str:
    with pytest.raises(vo.ConfigurationError) as info:
        vo.configure(delivery="sync", **settings)
    message = str(info.value)
    assert SECRET_VALUE not in message
    return message


@pytest.mark.parametrize("body, where, reason", [
    ('[destinations.centraal]\napi_url = "http://127.0.0.1:9/api/v1"\nclient_id = "a"\nsecret = "x"\n',
     "[destinations.centraal] secret", "secrets are never written in the file; use secret_env or secret_file"),
    ('[destinations.centraal]\napi_url = "http://127.0.0.1:9/api/v1"\ntoken = "x"\n',
     "[destinations.centraal] token", "use token_env or token_file"),
    ('[destinations.centraal]\napi_url = "http://127.0.0.1:9/api/v1"\nclient_id = "a"\nsecret_env = "NOPE_UNSET"\n',
     "[destinations.centraal] secret_env", "environment variable NOPE_UNSET is not set or empty"),
    ('[destinations.centraal]\napi_url = "http://127.0.0.1:9/api/v1"\nclient_id = "a"\nsecret_file = "/nonexistent/s"\n',
     "[destinations.centraal] secret_file", "cannot read the file (FileNotFoundError)"),
    ('[destinations.centraal]\napi_url = "http://127.0.0.1:9/api/v1"\nclient_id = "a"\n',
     "[destinations.centraal] secret_env", "client_id needs secret_env or secret_file"),
    ('[destinations.centraal]\napi_url = "ftp://x"\n', "[destinations.centraal] api_url",
     "must be an absolute http or https URL"),
    ('[destinations.centraal]\nclient_id = "a"\nsecret_env = "CENTRAAL_SECRET"\n',
     "[destinations.centraal] api_url", "is required"),
    ('[destinations.centraal]\napi_url = "http://127.0.0.1:9/api/v1"\nverify = false\n',
     "[destinations.centraal] verify", "unknown key"),
    ('[destinations.centraal]\napi_url = "http://127.0.0.1:9/api/v1"\nca_bundle = "/nonexistent.pem"\n',
     "[destinations.centraal] ca_bundle", "is not a readable file"),
    ('[destinations.centraal]\napi_url = "http://127.0.0.1:9/api/v1"\ntimeout = -1\n',
     "[destinations.centraal] timeout", "must be a positive number of seconds"),
    ('[destinations.centraal]\napi_url = "http://127.0.0.1:9/api/v1"\nretry_after_max = 0\n',
     "[destinations.centraal] retry_after_max", "must be a positive number of seconds"),
    ('[destinations.centraal]\napi_url = "http://127.0.0.1:9/api/v1"\nretry_after_max = "60"\n',
     "[destinations.centraal] retry_after_max", "must be a positive number of seconds"),
    ('[destinations.centraal]\napi_url = "http://127.0.0.1:9/api/v1"\nconcurrency = 0\n',
     "[destinations.centraal] concurrency", "must be a whole number from 1 to 256"),
    ('[destinations.centraal]\napi_url = "http://127.0.0.1:9/api/v1"\nconcurrency = 1.5\n',
     "[destinations.centraal] concurrency", "must be a whole number from 1 to 256"),
    ('[destinations.centraal]\napi_url = "http://127.0.0.1:9/api/v1"\nconcurrency = true\n',
     "[destinations.centraal] concurrency", "must be a whole number from 1 to 256"),
    ('[destinations.centraal]\nexporters = ["ldv2"]\n', "[destinations.centraal] exporters", "unknown exporter 'ldv2'"),
    ('[destinations.centraal]\nexporters = ["memory"]\n[[routes]]\ndefault = true\ndestinations = ["elders"]\n',
     "routes[1] destinations", "names 'elders', which is not a [destinations.*] of this file"),
    ('[destinations.centraal]\nexporters = ["memory"]\n[[routes]]\ndefault = true\ndestinations = ["centraal"]\n'
     '[[routes]]\ndefault = true\ndestinations = ["centraal"]\n',
     "routes[2] default", "a second default route (routes[1] is one already)"),
    ('[destinations.centraal]\nexporters = ["memory"]\n[[routes]]\ndefault = true\ntenant = "a"\n'
     'destinations = ["centraal"]\n', "routes[1] tenant", "a default route matches every action"),
    ('[destinations.centraal]\nexporters = ["memory"]\n[[routes]]\ndestinations = ["centraal"]\n',
     "routes[1]", "must match on one of activiteit, verwerkingsactiviteit_id, vertrouwelijkheid, tenant"),
    ('[destinations.centraal]\nexporters = ["memory"]\n[[routes]]\nvertrouwelijkheid = "geheim"\n'
     'destinations = ["centraal"]\n', "routes[1] vertrouwelijkheid", ""),
    ('[destinations.centraal]\nexporters = ["memory"]\n[[routes]]\nactiviteit = "Beoordelen bijstandsaanvraag"\n'
     'destinations = ["centraal"]\n', "routes[1] activiteit", "needs the register of processing activities"),
    ('[routes]\n', "destinations", "the file names no destination"),
    ('[destinations.c]\nexporters = ["memory"]\n[logs.d]\n', "logs",
     "unknown section; expected [destinations.*] and [[routes]]"),
    ('[destinations."c/d"]\nexporters = ["memory"]\n', "[destinations.c/d]",
     "a destination's name is letters, digits, `_`, `-` or `.` (at most 64)"),
    ('[destinations.centraal\n', "", "is not valid TOML"),
])
def test_every_mistake_names_the_setting_file_section_and_key(tmp_path: Path, body: str, where: str,
                                                              reason: str) -> None:
    path = write(tmp_path, body)
    message = configure_error(destinations=path)
    assert message.startswith(f"destinations: {path}: {where}"), message
    assert reason in message


def test_the_environment_variable_is_named_when_it_came_from_there(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[destinations.c]\napi_url = "http://127.0.0.1:9/api/v1"\ntoken = "x"\n')
    monkeypatch.setenv("VERWERKINGEN_DESTINATIONS", path)
    assert configure_error().startswith(f"VERWERKINGEN_DESTINATIONS: {path}: [destinations.c] token:")


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.toml")
    assert configure_error(destinations=missing) == f"destinations: {missing}: no such file (from destinations)"


def test_the_single_log_settings_cannot_be_mixed_with_a_destinations_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[destinations.c]\nexporters = ["memory"]\n')
    assert configure_error(destinations=path, api_url="http://127.0.0.1:9/api/v1").startswith(
        "api_url: cannot be combined with destinations")
    assert configure_error(destinations=path, exporters="api").startswith(
        "exporters: `api` is given per destination in destinations")


def test_secrets_come_from_env_or_file_and_stay_out_of_the_repr(tmp_path: Path) -> None:
    secret_file = tmp_path / "sociaal"
    secret_file.write_text(SECRET_VALUE + "-file\n")
    path = write(tmp_path, f"""
[destinations.centraal]
api_url = "https://log.gemeente.example/api/v1"
client_id = "zaaksysteem"
secret_env = "CENTRAAL_SECRET"
[destinations.sociaal]
api_url = "https://log-sd.gemeente.example/api/v1/"
client_id = "zaaksysteem"
secret_file = "{secret_file}"
timeout = 2.5
""")
    file = load_destinations(path)
    assert file.destinations["centraal"].secret == SECRET_VALUE
    assert file.destinations["sociaal"].secret == SECRET_VALUE + "-file"
    assert file.destinations["sociaal"].api_url == "https://log-sd.gemeente.example/api/v1"
    assert file.destinations["sociaal"].timeout == 2.5
    assert file.destinations["sociaal"].lanes == ("api:sociaal",)
    assert SECRET_VALUE not in repr(file)
    pipeline = vo.configure(destinations=path, delivery="sync")
    assert [e.name for e in pipeline.exporters] == ["api:centraal", "api:sociaal"]


def _record(naam: str, activiteit: str, vertrouwelijkheid: str = "normaal") -> None:
    @vo.verwerkingsactie(naam, verwerkingsactiviteit_id=activiteit, vertrouwelijkheid=vertrouwelijkheid,
                         objecten=[vo.persoon("bsn")])
    def handler(bsn: str) -> None:
        pass

    handler("999993653")


def _names(pipeline: vo.Pipeline) -> dict[str, list[str]]:
    return {dest: [b["actieNaam"] for b in pipeline.exporter(f"memory:{dest}").bodies]
            for dest in ("centraal", "sociaal", "burgerzaken")}


@pytest.mark.parametrize("delivery", ["sync", "memory", "outbox"])
def test_first_match_wins_each_destination_once_default_last(tmp_path: Path, delivery: str) -> None:
    path = write(tmp_path, MEMORY_FILE)
    pipeline = vo.configure(destinations=path, delivery=delivery, outbox=str(tmp_path / "outbox.db"))
    _record("bijstand", ACT_BIJSTAND, "vertrouwelijk")  # routes[1] before routes[2]
    _record("geheim", ACT_OTHER, "vertrouwelijk")       # routes[2]
    _record("gewoon", ACT_OTHER)                        # default
    with use_tenant("utrecht"):
        _record("utrecht", ACT_OTHER)                   # routes[3]: tenant and vertrouwelijkheid
        _record("utrecht-geheim", ACT_OTHER, "vertrouwelijk")  # routes[2] comes first
    assert pipeline.force_flush(10)
    assert _names(pipeline) == {
        "centraal": ["bijstand", "gewoon"],
        "sociaal": ["bijstand"],
        "burgerzaken": ["geheim", "utrecht", "utrecht-geheim"],
    }


def test_no_route_fails_closed_naming_the_action_and_the_routes(tmp_path: Path) -> None:
    path = write(tmp_path, MEMORY_FILE.split("[[routes]]\ndefault")[0])
    pipeline = vo.configure(destinations=path, delivery="outbox", outbox=str(tmp_path / "outbox.db"))
    with pytest.raises(RecordingError) as info:
        _record("Raadplegen persoon", ACT_OTHER)
    assert str(info.value) == (
        f"no destination for the verwerkingsactie 'Raadplegen persoon' (verwerkingsactiviteitId {ACT_OTHER}, "
        f"vertrouwelijkheid normaal, tenant none): none of routes[1] (verwerkingsactiviteit_id='{ACT_BIJSTAND}'); "
        f"routes[2] (vertrouwelijkheid='vertrouwelijk'); routes[3] (vertrouwelijkheid='normaal', "
        f"tenant='utrecht') in {path} matched, and there is no default route; the action was not recorded")
    assert "999993653" not in str(info.value)
    assert pipeline.counters["recording_failures"] == 1
    assert pipeline.delivery.pending() == 0


def test_activiteit_routes_use_the_registers_lookup(tmp_path: Path) -> None:
    register = {"Beoordelen bijstandsaanvraag": ACT_BIJSTAND}  # a small in-test register
    path = write(tmp_path, """
[destinations.centraal]
exporters = ["memory"]
[destinations.sociaal]
exporters = ["memory"]
[destinations.burgerzaken]
exporters = ["memory"]
[[routes]]
activiteit = "Beoordelen bijstandsaanvraag"
destinations = ["sociaal", "centraal"]
[[routes]]
default = true
destinations = ["centraal"]
""")
    router = Router(load_destinations(path), activiteit_ids=register.get)
    assert router.destinations(make_actie(ACT_BIJSTAND)) == ("sociaal", "centraal")
    assert router.destinations(make_actie(ACT_OTHER)) == ("centraal",)
    unknown = write(tmp_path, '[destinations.c]\nexporters = ["memory"]\n[[routes]]\nactiviteit = "Onbekend"\n'
                    'destinations = ["c"]\n', "unknown.toml")
    with pytest.raises(DestinationsError) as info:
        Router(load_destinations(unknown), activiteit_ids=register.get)
    assert str(info.value) == f"{unknown}: routes[1] activiteit: names no activity of the register"
    # one name, several ids (each tenant's register its own): a route matches each of them
    both = Router(load_destinations(path), activiteit_ids=lambda naam: {ACT_BIJSTAND, ACT_OTHER})
    assert both.destinations(make_actie(ACT_OTHER)) == ("sociaal", "centraal")


def test_activiteit_routes_resolve_through_the_configured_register_file(tmp_path: Path) -> None:
    """VERWERKINGEN_REGISTER's register is the lookup: a route names the activity by its naam."""
    register_file = tmp_path / "register.toml"
    register_file.write_text(f"""
[[verwerkingsactiviteiten]]
id = "{ACT_BIJSTAND}"
naam = "Beoordelen bijstandsaanvraag"
doel = "Beoordelen of iemand recht heeft op bijstand"
grondslag = "Wettelijke verplichting"
verantwoordelijkeOrganisatie = "00000001821002193000"
[[verwerkingsactiviteiten]]
id = "{ACT_OTHER}"
naam = "Raadplegen persoon"
doel = "Een persoon opzoeken"
grondslag = "Wettelijke verplichting"
verantwoordelijkeOrganisatie = "00000001821002193000"
""")
    path = write(tmp_path, """
[destinations.centraal]
exporters = ["memory"]
[destinations.sociaal]
exporters = ["memory"]
[destinations.burgerzaken]
exporters = ["memory"]
[[routes]]
activiteit = "Beoordelen bijstandsaanvraag"
destinations = ["sociaal"]
[[routes]]
default = true
destinations = ["centraal"]
""")
    with separate_annotations():  # the other test modules' annotations name activities this register lacks
        pipeline = vo.configure(destinations=path, delivery="sync", register=str(register_file))
        _record("bijstand", ACT_BIJSTAND)
        _record("anders", ACT_OTHER)
    assert _names(pipeline) == {"centraal": ["anders"], "sociaal": ["bijstand"], "burgerzaken": []}


def test_other_exporters_get_every_action_beside_the_routed_ones(tmp_path: Path) -> None:
    path = write(tmp_path, MEMORY_FILE)
    pipeline = vo.configure(destinations=path, delivery="sync", exporters="memory")
    _record("gewoon", ACT_OTHER)
    _record("geheim", ACT_OTHER, "vertrouwelijk")
    assert [b["actieNaam"] for b in pipeline.exporter("memory").bodies] == ["gewoon", "geheim"]
    assert _names(pipeline)["centraal"] == ["gewoon"]


def test_outbox_status_shows_each_destination(tmp_path: Path) -> None:
    path = write(tmp_path, """
[destinations.centraal]
api_url = "http://127.0.0.1:9/api/v1"
token_env = "CENTRAAL_SECRET"
[destinations.sociaal]
api_url = "http://127.0.0.1:9/api/v1"
token_env = "CENTRAAL_SECRET"
[[routes]]
vertrouwelijkheid = "vertrouwelijk"
destinations = ["sociaal", "centraal"]
[[routes]]
default = true
destinations = ["centraal"]
""")
    outbox = str(tmp_path / "outbox.db")
    pipeline = vo.configure(destinations=path, outbox=outbox, retry_after_max=60)
    _record("a", ACT_OTHER)
    _record("b", ACT_OTHER, "vertrouwelijk")
    _record("c", ACT_OTHER)
    pipeline.shutdown(0.2)  # port 9 refuses: everything stays waiting
    run = subprocess.run([sys.executable, "-m", "verwerkingen_otel.cli", "outbox", "status", "--json",
                          "--outbox", outbox], capture_output=True, text=True, check=True)
    status = json.loads(run.stdout)
    assert status["destinations"] == {
        "centraal": {"lanes": ["api:centraal"], "pending": 3, "dead_letters": 0},
        "sociaal": {"lanes": ["api:sociaal"], "pending": 1, "dead_letters": 0},
    }
    text = subprocess.run([sys.executable, "-m", "verwerkingen_otel.cli", "outbox", "status",
                           "--outbox", outbox], capture_output=True, text=True, check=True).stdout
    assert "  destination centraal: 3 waiting, 0 dead letter(s)" in text
    assert "  destination sociaal: 1 waiting, 0 dead letter(s)" in text


def test_unique_action_ids_are_not_shared_between_lanes(tmp_path: Path) -> None:
    """One action in two destinations is one record id (its Idempotency-Key) in each lane."""
    path = write(tmp_path, MEMORY_FILE)
    pipeline = vo.configure(destinations=path, delivery="outbox", outbox=str(tmp_path / "o.db"))
    _record("bijstand", ACT_BIJSTAND)
    assert pipeline.force_flush(10)
    ids = {dest: [r.id for r in pipeline.exporter(f"memory:{dest}").records] for dest in ("centraal", "sociaal")}
    assert len(ids["centraal"]) == 1 and ids["centraal"] == ids["sociaal"]
    uuid.UUID(ids["centraal"][0])


@pytest.mark.parametrize("body, where, reason", [
    ('[tenants.utrecht]\noin = "00000001002220647000"\ndestination = "elders"\n',
     "[tenants.utrecht] destination", "names 'elders', which is not a destination of the destinations file"),
    ('[tenants.utrecht]\nhosts = ["u.example"]\n', "[tenants.utrecht] oin", "is required"),
    ('[tenants.utrecht]\noin = "123"\n', "[tenants.utrecht] oin", "must be an OIN of exactly 20 digits"),
    ('[tenants.utrecht]\noin = "00000001002220647000"\nsecret = "x"\n', "[tenants.utrecht] secret", "unknown key"),
    ('[tenants.a]\noin = "00000001002220647000"\nhosts = ["x.example"]\n'
     '[tenants.b]\noin = "00000001002220647001"\nhosts = ["X.example"]\n',
     "[tenants.b] hosts", "'x.example' is a host of tenant 'a' already"),
    ('[resolver]\ndefault = "zeist"\n[tenants.a]\noin = "00000001002220647000"\n',
     "[resolver] default", "names no tenant of this file"),
    ('[resolver]\nheader = "X Gemeente"\n[tenants.a]\noin = "00000001002220647000"\n',
     "[resolver] header", "must be an HTTP header name"),
    ('[tenants.a]\noin = "00000001002220647000"\nbewaartermijn = "10"\n', "[tenants.a] bewaartermijn", "ISO 8601"),
    ('[gemeenten.a]\noin = "00000001002220647000"\n', "gemeenten",
     "unknown section; expected [resolver] and [tenants.*]"),
    ('[resolver]\nheader = "X-Gemeente"\n', "tenants", "the file names no tenant ([tenants.<name>])"),
    ('[tenants."a b"]\noin = "00000001002220647000"\n', '[tenants.a b]',
     "a tenant's name is letters, digits, `_`, `-` or `.` (at most 64)"),
])
def test_every_tenants_file_mistake_names_file_tenant_and_key(tmp_path: Path, body: str, where: str,
                                                              reason: str) -> None:
    dests = write(tmp_path, MEMORY_FILE)
    tenants = write(tmp_path, body, "tenants.toml")
    message = configure_error(destinations=dests, tenants=tenants)
    assert message.startswith(f"tenants: {tenants}: {where}: "), message
    assert reason in message


def test_a_route_naming_an_unknown_tenant_is_refused(tmp_path: Path) -> None:
    dests = write(tmp_path, MEMORY_FILE)
    tenants = write(tmp_path, '[tenants.amersfoort]\noin = "00000001002220647000"\n', "tenants.toml")
    assert configure_error(destinations=dests, tenants=tenants) == (
        f"destinations: {dests}: routes[3] tenant: names no tenant of the tenants file (VERWERKINGEN_TENANTS)")


def test_a_tenant_destination_without_destinations_file_is_refused(tmp_path: Path) -> None:
    tenants = write(tmp_path, '[tenants.a]\noin = "00000001002220647000"\ndestination = "a"\n', "tenants.toml")
    assert configure_error(tenants=tenants, exporters="memory") == (
        f"tenants: {tenants}: [tenants.a] destination: needs a destinations file (VERWERKINGEN_DESTINATIONS)")


def test_the_tenant_function_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERWERKINGEN_TENANT", "os.path:basename")
    pipeline = vo.configure(delivery="sync", exporters="memory")
    assert pipeline.settings.tenant is __import__("os").path.basename
    monkeypatch.setenv("VERWERKINGEN_TENANT", "no_such_module_xyz:f")
    assert configure_error(exporters="memory") == (
        "VERWERKINGEN_TENANT: names a module that cannot be imported")
    monkeypatch.setenv("VERWERKINGEN_TENANT", "basename")
    assert configure_error(exporters="memory") == (
        'VERWERKINGEN_TENANT: must be a function, or "module:function" naming one')
