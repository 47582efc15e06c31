"""TLS to the log: our CA bundle and client certificate (mutual TLS), through a TLS front."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import uuid
from pathlib import Path
from typing import Iterator

import pytest

import verwerkingen_otel as vo
from tests.delivery.conftest import SECRET, actie_namen, make_actie
from tests.delivery.faultproxy import FaultProxy
from tests.support.logserver import LogServer
from verwerkingen_otel import capture as pipeline_module
from verwerkingen_otel.client import TransportError, VerwerkingenlogClient

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway CA, a server certificate for 127.0.0.1 and a client certificate."""
    d = tmp_path_factory.mktemp("pki")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
            "-days", "1", "-subj", "/CN=verwerkingen test CA", cwd=d)
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    for name, ext in (("server", ["-extfile", "san.ext"]), ("client", [])):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", f"/CN={name}", cwd=d)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", f"{name}.pem", "-days", "1", *ext, cwd=d)
    return d


@pytest.fixture()
def tls_front(logserver: LogServer, pki: Path) -> Iterator[FaultProxy]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki / "server.pem", pki / "server.key")
    context.load_verify_locations(pki / "ca.pem")
    context.verify_mode = ssl.CERT_REQUIRED  # mutual TLS: the client must show a certificate
    front = FaultProxy(logserver.base_url, tls=context)
    try:
        yield front
    finally:
        front.close()


def test_ca_bundle_and_client_certificate(tls_front: FaultProxy, logserver: LogServer, pki: Path) -> None:
    activiteit = str(uuid.uuid4())
    with VerwerkingenlogClient(tls_front.api_url, client_id="app", secret=SECRET, verify=str(pki / "ca.pem"),
                               cert=(str(pki / "client.pem"), str(pki / "client.key"))) as client:
        assert client.create(make_actie(activiteit)).actie_id
    assert actie_namen(logserver.api_url, activiteit) == ["Raadplegen persoon 0"]


def test_unknown_ca_or_missing_client_certificate_fail(tls_front: FaultProxy, pki: Path) -> None:
    with VerwerkingenlogClient(tls_front.api_url, token="t", timeout=5.0) as client:  # system CAs
        with pytest.raises(TransportError):
            client.create(make_actie(str(uuid.uuid4())))
    with VerwerkingenlogClient(tls_front.api_url, token="t", verify=str(pki / "ca.pem"), timeout=5.0) as client:
        with pytest.raises(TransportError):  # no client certificate
            client.create(make_actie(str(uuid.uuid4())))
    assert tls_front.posts() == []


def test_tls_settings_through_configure(tls_front: FaultProxy, logserver: LogServer, pki: Path,
                                        tmp_path: Path) -> None:
    activiteit = str(uuid.uuid4())
    previous = pipeline_module.install(None)
    try:
        log = vo.configure(api_url=tls_front.api_url, client_id="app", secret=SECRET,
                           outbox=str(tmp_path / "outbox.db"), ca_bundle=str(pki / "ca.pem"),
                           client_cert=str(pki / "client.pem"), client_key=str(pki / "client.key"))

        @vo.verwerkingsactie(actie_naam="Raadplegen persoon", verwerkingsactiviteit_id=activiteit,
                             objecten=[vo.persoon("bsn")])
        def raadplegen(bsn: str) -> None:
            pass

        raadplegen("999993653")
        assert log.force_flush(10.0) is True
        assert actie_namen(logserver.api_url, activiteit) == ["Raadplegen persoon"]
    finally:
        current = pipeline_module.install(previous)
        if current is not None:
            current.shutdown(1.0)


def test_unloadable_tls_files_fail_configure_naming_the_setting(pki: Path, tmp_path: Path) -> None:
    previous = pipeline_module.install(None)
    try:
        (tmp_path / "not.pem").write_text("not a certificate")
        with pytest.raises(vo.ConfigurationError) as info:
            vo.configure(api_url="https://127.0.0.1:9/api/v1", token="t", outbox=str(tmp_path / "o.db"),
                         ca_bundle=str(tmp_path / "not.pem"))
        assert info.value.setting == "ca_bundle"
        with pytest.raises(vo.ConfigurationError) as info2:
            vo.configure(api_url="https://127.0.0.1:9/api/v1", token="t", outbox=str(tmp_path / "o.db"),
                         client_cert=str(pki / "client.pem"), client_key=str(pki / "server.key"))
        assert info2.value.setting == "client_cert"  # a key that does not belong to the certificate
    finally:
        pipeline_module.install(previous)
