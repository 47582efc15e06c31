"""The public contract of ARCHITECTURE.md, checked from the outside.

Only the public API (`import verwerkingen_otel as vo`, the entry points, the CLI) and the real
log server (tests/support/logserver.py) are used here: no private module is imported. Each test
names the contract bullet it checks.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import time
import uuid
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

import verwerkingen_otel as vo
from tests.delivery.faultproxy import FaultProxy
from tests.support.logserver import LogServer, auth_headers, mint_token

SECRET = "contract-secret-of-at-least-32-bytes!"
ACTIVITEIT = "5f0bef4c-f66f-4311-84a5-19e8bf359eaf"
BSN = "999993653"
ZAAK = "0f9c3f6e-3b0a-4a4e-9d55-2f6f7d0c8a11"
READ_ONLY = {"actieId", "url", "tijdstipRegistratie"}


pytestmark = pytest.mark.usefixtures("isolated_pipeline")  # tests/conftest.py


@pytest.fixture(scope="module")
def server() -> Iterator[LogServer]:
    with LogServer(clients={"app": (SECRET, ["create:confidential", "read:confidential"])}) as s:
        yield s


def stored(server: LogServer, bsn: str, activiteit: str) -> list[dict[str, Any]]:
    """The current actions on the log for `bsn` in one activity (each test uses a fresh one)."""
    r = httpx.get(f"{server.api_url}/verwerkingsacties", headers=auth_headers("app", SECRET),
                  params={"objecttype": "persoon", "soortObjectId": "BSN", "objectId": bsn,
                          "verwerkingsactiviteitId": activiteit})
    assert r.status_code == 200, r.text
    return r.json()["results"]


def raadplegen(activiteit: str = ACTIVITEIT, **kwargs: Any) -> Any:
    @vo.verwerkingsactie(actie_naam="Raadplegen persoon", verwerkingsactiviteit_id=activiteit,
                         objecten=[vo.persoon("bsn", soorten_gegevens=["Naam"])], **kwargs)
    def handler(bsn: str | int) -> str:
        return "ok"

    return handler


def memory() -> Any:
    """A synchronous in-memory pipeline; its exporter holds every POST body."""
    return vo.configure(delivery="sync", exporters=["memory"]).exporter("memory")


# --- names, entry points, CLI ----------------------------------------------------------------


def test_public_names() -> None:
    for name in ("configure", "verwerkingsactie", "verwerking", "persoon", "current_actie",
                 "force_flush", "shutdown", "RecordingError", "ConfigurationError"):
        assert name in vo.__all__, name
        assert getattr(vo, name) is not None


def test_entry_points() -> None:
    from opentelemetry.instrumentation.instrumentor import BaseInstrumentor
    from opentelemetry.propagators.textmap import TextMapPropagator

    [instrumentor] = entry_points(group="opentelemetry_instrumentor", name="verwerkingen")
    assert issubclass(instrumentor.load(), BaseInstrumentor)
    [propagator] = entry_points(group="opentelemetry_propagator", name="verwerkingen")
    prop = propagator.load()()
    assert isinstance(prop, TextMapPropagator)
    assert {"OIN", "VerwerkingsactiviteitId", "VerwerkingsactiviteitUrl", "VerwerkingId",
            "Vertrouwelijkheid", "Bewaartermijn"} <= set(prop.fields)
    [plugin] = entry_points(group="pytest11", name="verwerkingen")
    assert plugin.value == "verwerkingen_otel.testing"


def test_cli_serve_options() -> None:
    out = subprocess.run([sys.executable, "-m", "verwerkingen_otel.cli", "serve", "--help"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    for option in ("--host", "--port", "--database URL", "--clients FILE"):
        assert option in out.stdout, option


def test_token_format_hs256_client_id_iat(server: LogServer) -> None:
    """A JWT (HS256, the client's secret) with just `client_id` and `iat` is accepted; others are not."""
    body = {"actieNaam": "x", "vertrouwelijkheid": "normaal", "tijdstip": "2024-05-01T10:00:00+02:00",
            "verwerkteObjecten": [{"objecttype": "persoon", "soortObjectId": "BSN", "objectId": BSN}]}
    url = f"{server.api_url}/verwerkingsacties"
    good = mint_token("app", SECRET)
    assert httpx.post(url, json=body, headers={"Authorization": f"Bearer {good}"}).status_code == 201
    wrong = mint_token("app", SECRET + "x")
    assert httpx.post(url, json=body, headers={"Authorization": f"Bearer {wrong}"}).status_code == 401


# --- environment variables -------------------------------------------------------------------


def test_every_env_var_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: Any) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text("")
    env = {
        "VERWERKINGEN_API_URL": "http://127.0.0.1:9/api/v1/",
        "VERWERKINGEN_CLIENT_ID": "app", "VERWERKINGEN_SECRET": SECRET,
        "VERWERKINGEN_OUTBOX": str(tmp_path / "outbox.db"),
        "VERWERKINGEN_DELIVERY": "sync", "VERWERKINGEN_EXPORTERS": "console",
        "VERWERKINGEN_SYSTEEM": "Burgerzaken", "VERWERKINGEN_GEGEVENSBRON": "BRP",
        "VERWERKINGEN_UITVOERDER": "00000001821002193000", "VERWERKINGEN_OIN": "00000001821002193001",
        "VERWERKINGEN_RULES": str(rules),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = vo.configure().settings
    assert (settings.api_url, settings.client_id, settings.secret) == ("http://127.0.0.1:9/api/v1", "app", SECRET)
    assert (settings.outbox, settings.delivery, settings.exporters) == (str(tmp_path / "outbox.db"), "sync",
                                                                        ("console",))
    assert (settings.oin, settings.rules) == ("00000001821002193001", str(rules))
    raadplegen()(BSN)
    [line] = capsys.readouterr().out.splitlines()
    body = json.loads(line)
    assert (body["systeem"], body["gegevensbron"], body["uitvoerder"]) == (
        "Burgerzaken", "BRP", "00000001821002193000")
    monkeypatch.delenv("VERWERKINGEN_CLIENT_ID")
    monkeypatch.delenv("VERWERKINGEN_SECRET")
    monkeypatch.setenv("VERWERKINGEN_TOKEN", "a.b.c")
    assert vo.configure().settings.token == "a.b.c"


BAD_ENV = {
    "VERWERKINGEN_API_URL": "not a url",
    "VERWERKINGEN_DELIVERY": "carrier-pigeon",
    "VERWERKINGEN_EXPORTERS": "api,none",
    "VERWERKINGEN_UITVOERDER": "123",
    "VERWERKINGEN_OIN": "abc",
    "VERWERKINGEN_SYSTEEM": "x" * 300,
    "VERWERKINGEN_GEGEVENSBRON": "x" * 300,
}


@pytest.mark.parametrize("key", sorted(BAD_ENV))
def test_a_bad_env_var_is_named_exactly(key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Errors: a configuration error names the setting exactly as the caller wrote it."""
    monkeypatch.setenv(key, BAD_ENV[key])
    with pytest.raises(vo.ConfigurationError) as err:
        vo.configure()
    assert err.value.setting == key
    assert str(err.value).startswith(f"{key}: ")
    assert BAD_ENV[key] not in str(err.value)
    # the same mistake as an argument is named as the argument
    name = key.removeprefix("VERWERKINGEN_").lower()
    monkeypatch.delenv(key)
    with pytest.raises(vo.ConfigurationError) as err:
        vo.configure(**{name: BAD_ENV[key]})
    assert err.value.setting == name


def test_credentials_in_pairs_named_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERWERKINGEN_CLIENT_ID", "app")
    with pytest.raises(vo.ConfigurationError) as err:
        vo.configure(api_url="http://127.0.0.1:9/api/v1")
    assert err.value.setting == "VERWERKINGEN_SECRET"
    with pytest.raises(vo.ConfigurationError) as err:
        vo.configure(api_url="http://127.0.0.1:9/api/v1", client_id="app", secret=SECRET, token="a.b.c")
    assert err.value.setting == "token"
    monkeypatch.delenv("VERWERKINGEN_CLIENT_ID")
    with pytest.raises(vo.ConfigurationError) as err:
        vo.configure(exporters=["api"])
    assert err.value.setting == "api_url"


def test_annotation_errors_name_the_argument() -> None:
    for name, value in (("verwerking_id", "not-a-uuid"), ("verwerkingsactiviteit_id", "x"),
                        ("vertrouwelijkheid", "geheim"), ("bewaartermijn", "10"),
                        ("vertrouwelijkheid", "opgeheven")):
        with pytest.raises(vo.ConfigurationError) as err:
            vo.verwerkingsactie(actie_naam="x", **{name: value})
        assert err.value.setting == name
    with pytest.raises(vo.ConfigurationError) as err:
        vo.verwerking(verwerking_id="nope")
    assert err.value.setting == "verwerking_id"


# --- unset vs default ------------------------------------------------------------------------


@pytest.mark.parametrize(("argument", "context", "header", "expected"), [
    (None, None, None, "normaal"),
    ("normaal", None, None, "normaal"),
    ("normaal", "vertrouwelijk", None, "vertrouwelijk"),
    (None, None, "vertrouwelijk", "vertrouwelijk"),
    ("vertrouwelijk", "normaal", "normaal", "vertrouwelijk"),
    (None, None, "opgeheven", "normaal"),
    ("normaal", "normaal", "opgeheven", "normaal"),
])
def test_vertrouwelijkheid_is_the_most_confidential_source(argument: str | None, context: str | None,
                                                            header: str | None, expected: str) -> None:
    sink = memory()
    handler = raadplegen(vertrouwelijkheid=argument)
    with vo.use_afnemer(vo.Afnemer(vertrouwelijkheid=None if header is None else vo.Vertrouwelijkheid(header))):
        if context is None:
            handler(BSN)
        else:
            with vo.verwerking(verwerking_id=ZAAK, vertrouwelijkheid=context):
                handler(BSN)
    [body] = sink.bodies
    assert body["vertrouwelijkheid"] == expected


@pytest.mark.parametrize(("argument", "context", "header", "setting", "expected"), [
    (None, None, None, None, None),
    (None, None, None, "P5Y", "P5Y"),
    (None, None, "P3Y", "P5Y", "P3Y"),
    (None, "P2Y", "P3Y", "P5Y", "P2Y"),
    ("P1Y", "P2Y", "P3Y", "P5Y", "P1Y"),
    ("P1Y", None, None, "P5Y", "P1Y"),
])
def test_bewaartermijn_is_the_first_that_is_set(argument: str | None, context: str | None, header: str | None,
                                                setting: str | None, expected: str | None) -> None:
    sink = vo.configure(delivery="sync", exporters=["memory"], bewaartermijn=setting).exporter("memory")
    handler = raadplegen(bewaartermijn=argument)
    with vo.use_afnemer(vo.Afnemer(bewaartermijn=header)):
        if context is None:
            handler(BSN)
        else:
            with vo.verwerking(verwerking_id=ZAAK, bewaartermijn=context):
                handler(BSN)
    [body] = sink.bodies
    assert body.get("bewaartermijn") == expected
    assert "bewaartermijn" in body or expected is None  # unset: left out, not null


# --- persons -------------------------------------------------------------------------------


def test_persoon_takes_str_or_int_and_zero_pads() -> None:
    sink = memory()
    handler = raadplegen()
    handler("012345672")
    handler(12345672)
    handler(999993653)
    assert [b["verwerkteObjecten"][0]["objectId"] for b in sink.bodies] == ["012345672", "012345672", "999993653"]


def test_no_objects_is_not_recorded() -> None:
    sink = memory()

    @vo.verwerkingsactie(actie_naam="Zoeken", verwerkingsactiviteit_id=ACTIVITEIT)
    def zoeken() -> list[str]:
        return []

    assert zoeken() == []
    with vo.verwerkingsactie(actie_naam="Niets"):
        pass
    assert sink.bodies == []
    with vo.verwerkingsactie(actie_naam="Iets") as actie:
        actie.add_object(objecttype="persoon", soort_object_id="BSN", object_id=BSN)
    assert [b["actieNaam"] for b in sink.bodies] == ["Iets"]


# --- time ----------------------------------------------------------------------------------

_TIJDSTIP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)$")


def test_tijdstip_has_an_offset_microseconds_and_strictly_increases() -> None:
    from datetime import datetime

    sink = memory()
    handler = raadplegen()
    for _ in range(300):
        handler(BSN)
    stamps = [b["tijdstip"] for b in sink.bodies]
    assert all(_TIJDSTIP.match(s) for s in stamps), stamps[:3]
    instants = [datetime.fromisoformat(s.replace("Z", "+00:00")) for s in stamps]
    assert all(a < b for a, b in zip(instants, instants[1:]))


# --- console exporter ------------------------------------------------------------------------


def test_console_is_exactly_the_post_body_one_per_line(capfd: Any) -> None:
    pipeline = vo.configure(delivery="sync", exporters=["console", "memory"], systeem="Burgerzaken")
    raadplegen()(BSN)
    with vo.verwerkingsactie(actie_naam="Getuige toevoegen") as actie:
        actie.add_object(objecttype="persoon", soort_object_id="BSN", object_id="999995017",
                         betrokkenheid="Getuige", soorten_gegevens=["Naam", "Adres"])
    out, err = capfd.readouterr()
    lines = out.splitlines()
    assert [json.loads(line) for line in lines] == pipeline.exporter("memory").bodies
    assert len(lines) == 2 and err == ""
    for line in lines:
        body = json.loads(line)
        assert not READ_ONLY & set(body)
        assert None not in body.values()
        assert all(re.match(r"^[a-z][A-Za-z]*$", k) for k in body), body.keys()
    second = json.loads(lines[1])
    assert second["verwerkteObjecten"] == [{
        "objecttype": "persoon", "soortObjectId": "BSN", "objectId": "999995017", "betrokkenheid": "Getuige",
        "verwerkteSoortenGegevens": [{"soortGegeven": "Naam"}, {"soortGegeven": "Adres"}]}]


def test_console_body_is_accepted_by_the_log(server: LogServer, capsys: Any) -> None:
    activiteit = str(uuid.uuid4())
    vo.configure(delivery="sync", exporters=["console"])
    raadplegen(activiteit)(BSN)
    [line] = capsys.readouterr().out.splitlines()
    r = httpx.post(f"{server.api_url}/verwerkingsacties", content=line,
                   headers={**auth_headers("app", SECRET), "Content-Type": "application/json"})
    assert r.status_code == 201, r.text


# --- delivery: flushing, timeouts, exporters, configure again ------------------------------


def api(server_url: str, outbox: Path, **kw: Any) -> Any:
    return vo.configure(api_url=server_url, client_id="app", secret=SECRET, outbox=str(outbox), **kw)


def test_timeouts_are_seconds(tmp_path: Path) -> None:
    from tests.support.logserver import free_port

    api(f"http://127.0.0.1:{free_port()}/api/v1", tmp_path / "outbox.db")
    raadplegen()(BSN)
    started = time.monotonic()
    assert vo.force_flush(timeout=0.5) is False
    assert 0.4 <= time.monotonic() - started < 3.0
    started = time.monotonic()
    assert vo.shutdown(timeout=0.5) is False
    assert time.monotonic() - started < 3.0


def test_each_exporter_gets_each_action_once(server: LogServer, tmp_path: Path, capfd: Any) -> None:
    activiteit = str(uuid.uuid4())
    pipeline = api(server.api_url, tmp_path / "outbox.db", exporters=["api", "console"])
    handler = raadplegen(activiteit)
    for _ in range(5):
        handler(BSN)
    assert pipeline.force_flush(10.0) is True
    assert len(stored(server, BSN, activiteit)) == 5
    assert len([line for line in capfd.readouterr().out.splitlines() if activiteit in line]) == 5


_PRODUCER = textwrap.dedent("""
    import sys, verwerkingen_otel as vo
    vo.configure(api_url=sys.argv[1], client_id="app", secret=sys.argv[2], outbox=sys.argv[3])
    @vo.verwerkingsactie(actie_naam="Raadplegen persoon", verwerkingsactiviteit_id=sys.argv[4],
                         objecten=[vo.persoon("bsn")])
    def handler(bsn):
        return bsn
    for _ in range(3):
        handler("999993653")
    print(vo.force_flush(0.2), flush=True)
""")


def test_force_flush_includes_records_replayed_from_an_earlier_process(server: LogServer, tmp_path: Path) -> None:
    """A process records while the log is unreachable and exits (its worker never keeps it
    alive); the next process on the same outbox delivers those records within force_flush."""
    from tests.support.logserver import free_port

    activiteit = str(uuid.uuid4())
    outbox = tmp_path / "outbox.db"
    dead = f"http://127.0.0.1:{free_port()}/api/v1"
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-c", _PRODUCER, dead, SECRET, str(outbox), activiteit],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
    assert time.monotonic() - started < 20  # exit waits at most the atexit shutdown, never forever
    assert stored(server, BSN, activiteit) == []
    pipeline = api(server.api_url, outbox)
    assert pipeline.force_flush(15.0) is True
    assert len(stored(server, BSN, activiteit)) == 3


def test_configure_again_flushes_and_shuts_down_the_previous(server: LogServer, tmp_path: Path) -> None:
    activiteit = str(uuid.uuid4())
    first = api(server.api_url, tmp_path / "outbox.db")
    handler = raadplegen(activiteit)
    for _ in range(4):
        handler(BSN)
    second = vo.configure(delivery="sync", exporters=["memory"])
    assert len(stored(server, BSN, activiteit)) == 4  # flushed by configure(), before it returned
    assert first.is_shut_down is True
    handler(BSN)  # now goes to the new pipeline only
    assert len(second.exporter("memory").bodies) == 1
    assert len(stored(server, BSN, activiteit)) == 4


def test_instrument_uses_the_current_pipeline_or_configures_one(monkeypatch: pytest.MonkeyPatch) -> None:
    from verwerkingen_otel.capture import current_pipeline

    [ep] = entry_points(group="opentelemetry_instrumentor", name="verwerkingen")
    instrumentor = ep.load()()
    assert current_pipeline() is None
    monkeypatch.setenv("VERWERKINGEN_DELIVERY", "sync")
    monkeypatch.setenv("VERWERKINGEN_EXPORTERS", "memory")
    instrumentor.instrument()
    try:
        configured = current_pipeline()
        assert configured is not None and configured.settings.exporters == ("memory",)
    finally:
        instrumentor.uninstrument()
    mine = vo.configure(delivery="sync", exporters=["console"])
    instrumentor.instrument()
    try:
        assert current_pipeline() is mine
    finally:
        instrumentor.uninstrument()


# --- failures of the log ---------------------------------------------------------------------


@pytest.fixture()
def proxy(server: LogServer) -> Iterator[FaultProxy]:
    p = FaultProxy(server.base_url)
    yield p
    p.close()


def test_retry_after_is_honoured_and_the_key_is_the_same_on_every_try(proxy: FaultProxy, server: LogServer,
                                                                       tmp_path: Path) -> None:
    activiteit = str(uuid.uuid4())
    assert vo.configure(delivery="sync", exporters=["memory"]).settings.retry_after_max == 60.0
    proxy.fail_next(1, 429, retry_after="1")
    proxy.fail_next(1, 503)
    api(proxy.api_url, tmp_path / "outbox.db")
    raadplegen(activiteit)(BSN)
    assert vo.force_flush(15.0) is True
    posts = proxy.posts()
    assert [p.status for p in posts] == [429, 503, 201]
    assert posts[1].at - posts[0].at >= 0.9  # waited as long as Retry-After said
    keys = {p.idempotency_key for p in posts}
    assert len(keys) == 1 and uuid.UUID(keys.pop()).version == 4
    assert len(stored(server, BSN, activiteit)) == 1


def test_retry_after_is_capped(proxy: FaultProxy, server: LogServer, tmp_path: Path) -> None:
    activiteit = str(uuid.uuid4())
    proxy.fail_next(1, 503, retry_after="3600")
    api(proxy.api_url, tmp_path / "outbox.db", retry_after_max=0.5)
    raadplegen(activiteit)(BSN)
    assert vo.force_flush(10.0) is True
    assert [p.status for p in proxy.posts()] == [503, 201]


def _outbox_status(outbox: Path) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", "verwerkingen_otel.cli", "outbox", "status", "--json",
                          "--outbox", str(outbox)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_401_is_retried_never_dead_lettered_and_other_4xx_dead_letters(proxy: FaultProxy, server: LogServer,
                                                                      tmp_path: Path) -> None:
    activiteit = str(uuid.uuid4())
    outbox = tmp_path / "outbox.db"
    proxy.fail_next(2, 401)
    api(proxy.api_url, outbox)
    raadplegen(activiteit)(BSN)
    assert vo.force_flush(15.0) is True
    assert [p.status for p in proxy.posts()] == [401, 401, 201]
    assert len(stored(server, BSN, activiteit)) == 1
    proxy.fail_next(1, 422)
    raadplegen(activiteit)(BSN)
    assert vo.force_flush(10.0) is True  # dead-lettered is settled: nothing pending
    assert vo.shutdown(5.0) is True
    assert len(stored(server, BSN, activiteit)) == 1
    assert _outbox_status(outbox)["dead_letters"] == 1


# --- the rules setting reaches every way of capturing ----------------------------------------

_RULES = f"""
[[rules]]
name = "raadplegen"
method = "GET"
route = "/personen/<bsn>"
actie_naam = "Raadplegen via regel"
verwerkingsactiviteit_id = "{ACTIVITEIT}"
[[rules.objecten]]
from = "path"
name = "bsn"
"""


@pytest.mark.parametrize("how", ["argument", "env"])
def test_rules_setting_is_used_by_the_flask_extension(how: str, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """`configure(rules=...)` and VERWERKINGEN_RULES alike: a setting, whatever captures."""
    import flask

    from verwerkingen_otel.flask import Verwerkingen

    path = tmp_path / "rules.toml"
    path.write_text(_RULES)
    if how == "env":
        monkeypatch.setenv("VERWERKINGEN_RULES", str(path))
        pipeline = vo.configure(delivery="sync", exporters=["memory"])
    else:
        pipeline = vo.configure(delivery="sync", exporters=["memory"], rules=str(path))
    app = flask.Flask("rules")
    Verwerkingen(app)
    app.add_url_rule("/personen/<bsn>", "persoon", lambda bsn: "ok")
    assert app.test_client().get(f"/personen/{BSN}").status_code == 200
    [body] = pipeline.exporter("memory").bodies
    assert (body["actieNaam"], body["verwerkteObjecten"][0]["objectId"]) == ("Raadplegen via regel", BSN)


def test_a_missing_rules_file_is_named_as_the_setting(tmp_path: Path) -> None:
    import flask

    from verwerkingen_otel.flask import Verwerkingen

    vo.configure(delivery="sync", exporters=["memory"], rules=str(tmp_path / "missing.toml"))
    with pytest.raises(ValueError) as err:
        Verwerkingen(flask.Flask("rules"))
    assert str(err.value) == f"rules: rules file {tmp_path / 'missing.toml'}: not found"
