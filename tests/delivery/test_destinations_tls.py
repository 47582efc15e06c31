"""TLS per destination: one log behind mutual TLS with its own CA and client certificate, one
plain log; each destination's files are its own, and a bad one fails configure() naming it."""

from __future__ import annotations

import shutil
import ssl
import uuid
from pathlib import Path
from typing import Iterator

import pytest

import verwerkingen_otel as vo
from tests.delivery.conftest import SECRET, actie_namen
from tests.delivery.faultproxy import FaultProxy
from tests.delivery.test_tls import pki  # noqa: F401 - the throwaway CA and certificates (a fixture)
from tests.support.logserver import LogServer

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


@pytest.fixture()
def own_pipeline(isolated_pipeline: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The root conftest's isolated pipeline, and the logs' secret where the file names it."""
    monkeypatch.setenv("LOG_SECRET", SECRET)


@pytest.fixture()
def mtls_front(logserver: LogServer, pki: Path) -> Iterator[FaultProxy]:  # noqa: F811
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki / "server.pem", pki / "server.key")
    context.load_verify_locations(pki / "ca.pem")
    context.verify_mode = ssl.CERT_REQUIRED
    front = FaultProxy(logserver.base_url, tls=context)
    try:
        yield front
    finally:
        front.close()


def test_each_destination_has_its_own_tls(own_pipeline: None, mtls_front: FaultProxy, logserver: LogServer,
                                          pki: Path, tmp_path: Path) -> None:  # noqa: F811
    activiteit = str(uuid.uuid4())
    path = tmp_path / "destinations.toml"
    path.write_text(f"""
[destinations.beveiligd]
api_url = "{mtls_front.api_url}"
client_id = "app"
secret_env = "LOG_SECRET"
ca_bundle = "{pki / 'ca.pem'}"
client_cert = "{pki / 'client.pem'}"
client_key = "{pki / 'client.key'}"
[destinations.gewoon]
api_url = "{logserver.api_url}"
client_id = "app"
secret_env = "LOG_SECRET"
[[routes]]
default = true
destinations = ["beveiligd", "gewoon"]
""")
    log = vo.configure(destinations=str(path), outbox=str(tmp_path / "outbox.db"))
    with vo.verwerkingsactie("Raadplegen persoon", verwerkingsactiviteit_id=activiteit) as actie:
        actie.add_object("999993653")
    assert log.force_flush(20.0) is True
    # both lanes delivered (nothing pending) to the same log, one through mutual TLS and one in plain
    # HTTP; with the same Idempotency-Key (the action's record id) the log keeps the action once
    assert log.delivery.pending() == 0
    assert [s.status for s in mtls_front.posts()] in ([201], [200])
    assert actie_namen(logserver.api_url, activiteit) == ["Raadplegen persoon"]


def test_a_bad_tls_file_names_the_destination_and_key(own_pipeline: None, pki: Path,
                                                      tmp_path: Path) -> None:  # noqa: F811
    (tmp_path / "not.pem").write_text("not a certificate")
    path = tmp_path / "destinations.toml"
    path.write_text(f'[destinations.beveiligd]\napi_url = "https://127.0.0.1:9/api/v1"\ntoken_env = "LOG_SECRET"\n'
                    f'ca_bundle = "{tmp_path / "not.pem"}"\n')
    with pytest.raises(vo.ConfigurationError) as info:
        vo.configure(destinations=str(path), outbox=str(tmp_path / "o.db"))
    assert str(info.value) == (f"destinations: {path}: [destinations.beveiligd] ca_bundle: cannot be loaded: "
                               "not a PEM file (or certificate and key)")
    path.write_text(f'[destinations.beveiligd]\napi_url = "https://127.0.0.1:9/api/v1"\ntoken_env = "LOG_SECRET"\n'
                    f'client_key = "{pki / "client.key"}"\n')
    with pytest.raises(vo.ConfigurationError) as info:
        vo.configure(destinations=str(path), outbox=str(tmp_path / "o.db"))
    assert str(info.value) == (f"destinations: {path}: [destinations.beveiligd] client_cert: is required when "
                               "client_key is set")
