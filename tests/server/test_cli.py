"""`verwerkingen-otel serve`: fail-fast option errors, database URL forms, dev mode, --help."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import httpx
import pytest

from tests.server.conftest import actie_body
from tests.support.logserver import LogServer, mint_token, write_clients_file
from verwerkingen_otel.server.errors import ConfigError
from verwerkingen_otel.server.settings import database_url

SECRET = "a-secret-that-is-long-enough-0123456789abcdef"


def run_cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "verwerkingen_otel.cli", *args], capture_output=True,
                          text=True, timeout=timeout)


def test_help_lists_serve():
    r = run_cli("--help")
    assert r.returncode == 0 and "serve" in r.stdout
    r = run_cli("serve", "--help")
    assert r.returncode == 0 and "--database" in r.stdout and "--clients" in r.stdout
    assert run_cli().returncode == 2


@pytest.mark.parametrize("content, message", [
    (None, "--clients: file"),
    ("not toml [", "--clients: "),
    ("[clients.a]\nscopes = []\n", "--clients: client 'a' needs a non-empty string `secret`"),
    (f'[clients.a]\nsecret = "{SECRET}"\nscopes = ["read:everything"]\n', "--clients: client 'a': unknown scopes"),
    (f'[clients.a]\nsecret = "{SECRET}"\nscopes = "read:normal"\n', "--clients: client 'a': `scopes` must be a list"),
    (f'[clients.a]\nsecret = "{SECRET}"\nscopes = []\n[clients.kort]\nsecret = "0123456789abcdef0123456789abcde"\n',
     "--clients: client 'kort': `secret` must be at least 32 bytes (it has 31)"),
    ("", "--clients: "),
])
def test_bad_clients_file_fails_fast(tmp_path, content, message):
    path = tmp_path / "clients.toml"
    if content is not None:
        path.write_text(content)
    r = run_cli("serve", "--database", str(tmp_path / "x.db"), "--clients", str(path))
    assert r.returncode == 2
    assert message in r.stderr
    assert not (tmp_path / "x.db").exists()  # failed before touching the database


@pytest.mark.parametrize("url, message", [
    ("ftp://host/db", "--database: unsupported database URL scheme 'ftp'"),
    ("sqlite://", "--database: an in-memory SQLite database"),
    ("/no/such/dir/log.db", "--database: directory '/no/such/dir' does not exist"),
    ("postgresql://postgres@127.0.0.1:1/none", "--database: cannot open the database"),
])
def test_bad_database_fails_fast(tmp_path, url, message):
    clients = write_clients_file(tmp_path / "c.toml", {"a": (SECRET, ["read:normal"])})
    r = run_cli("serve", "--database", url, "--clients", str(clients), "--port", "1")
    assert r.returncode == 2
    assert message in r.stderr
    assert SECRET not in r.stderr


def test_bad_host_or_busy_port_fails_fast_naming_the_option(tmp_path):
    import socket

    clients = write_clients_file(tmp_path / "c.toml", {"a": (SECRET, ["read:normal"])})
    r = run_cli("serve", "--database", str(tmp_path / "x.db"), "--clients", str(clients),
                "--host", "no-such-host.invalid", "--port", "8000")
    assert (r.returncode, r.stderr.strip()) == (
        2, "verwerkingen-otel serve: --host: cannot resolve 'no-such-host.invalid' to an address to listen on")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = run_cli("serve", "--database", str(tmp_path / "x.db"), "--clients", str(clients), "--port", str(port))
    assert r.returncode == 2
    assert r.stderr.startswith(f"verwerkingen-otel serve: --port: cannot listen on 127.0.0.1:{port} (")


def test_missing_clients_without_dev_fails(tmp_path):
    r = run_cli("serve", "--database", str(tmp_path / "x.db"))
    assert r.returncode == 2 and "--clients" in r.stderr


def test_database_url_forms(tmp_path):
    assert database_url("postgresql://u@h:5/db") == "postgresql+psycopg://u@h:5/db"
    assert database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert database_url(f"sqlite:///{tmp_path}/a.db") == f"sqlite:///{tmp_path}/a.db"
    assert database_url(str(tmp_path / "b.db")) == f"sqlite:///{tmp_path}/b.db"
    assert database_url("log.db") == "sqlite:///log.db"
    with pytest.raises(ConfigError, match="--database"):
        database_url(str(tmp_path))  # a directory


def test_bare_path_database_and_restart(tmp_path):
    clients = write_clients_file(tmp_path / "c.toml", {"a": (SECRET, ["read:normal"])})
    with LogServer(str(tmp_path / "bare.db"), clients) as srv:
        headers = {"Authorization": "Bearer " + mint_token("a", SECRET)}
        r = httpx.post(f"{srv.api_url}/verwerkingsacties", json=actie_body(), headers=headers)
        assert r.status_code == 201
        srv.restart()
        got = httpx.get(r.headers["Location"], headers=headers)
        assert got.status_code == 200 and got.json() == r.json()
        assert (tmp_path / "bare.db-wal").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "bare.db").stat().st_mode & 0o777 == 0o600  # personal data: owner only


def test_dev_mode_prints_working_credentials(tmp_path):
    srv = LogServer(f"sqlite:///{tmp_path}/dev.db", dev=True, log_path=tmp_path / "dev.log")
    srv.start()
    try:
        deadline = time.monotonic() + 10
        while "Authorization: Bearer" not in srv.log_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        out = srv.log_text()
        client_id = re.search(r"VERWERKINGEN_CLIENT_ID=(\S+)", out).group(1)
        secret = re.search(r"VERWERKINGEN_SECRET=(\S+)", out).group(1)
        token = re.search(r"Authorization: Bearer (\S+)", out).group(1)
        assert f"VERWERKINGEN_API_URL={srv.api_url}" in out
        body = actie_body(vertrouwelijkheid="vertrouwelijk")
        for auth in (token, mint_token(client_id, secret)):
            r = httpx.post(f"{srv.api_url}/verwerkingsacties", json=body, headers={"Authorization": f"Bearer {auth}"})
            assert r.status_code == 201  # every scope, confidential included
        r = httpx.post(f"{srv.api_url}/verwerkingsacties", json=body,
                       headers={"Authorization": "Bearer " + mint_token(client_id, "guess")})
        assert r.status_code == 401
    finally:
        srv.stop()


@pytest.mark.parametrize(("host", "url"), [
    ("127.0.0.1", "http://127.0.0.1:8000/api/v1"), ("0.0.0.0", "http://127.0.0.1:8000/api/v1"),
    ("::", "http://[::1]:8000/api/v1"), ("::1", "http://[::1]:8000/api/v1"), ("localhost", "http://localhost:8000/api/v1"),
])
def test_dev_mode_prints_a_url_a_service_accepts(host, url):
    """`serve --dev --host 0.0.0.0` printed http://0.0.0.0:…, which a service refuses (http:// to a
    host that is not loopback) and is no address to connect to."""
    from verwerkingen_otel.capture import load_settings
    from verwerkingen_otel.server.run import dev_api_url

    assert dev_api_url(host, 8000) == url
    assert load_settings({"api_url": url, "client_id": "dev", "secret": "s"}, environ={}).api_url == url


def test_base_url_setting(tmp_path):
    clients = write_clients_file(tmp_path / "c.toml", {"a": (SECRET, [])})
    with LogServer(str(tmp_path / "b.db"), clients,
                   extra_args=["--base-url", "https://log.example.nl/api/v1/"]) as srv:
        r = httpx.post(f"{srv.api_url}/verwerkingsacties", json=actie_body(),
                       headers={"Authorization": "Bearer " + mint_token("a", SECRET)})
        assert r.headers["Location"] == f"https://log.example.nl/api/v1/verwerkingsacties/{r.json()['actieId']}"


def test_newer_schema_version_refuses_to_start(tmp_path):
    import sqlite3

    from verwerkingen_otel.server.storage import Storage
    url = f"sqlite:///{tmp_path}/new.db"
    Storage(url).create_schema()
    with sqlite3.connect(tmp_path / "new.db") as conn:
        assert conn.execute("SELECT versie FROM vl_schema_versie").fetchall() == [(2,)]
        conn.execute("INSERT INTO vl_schema_versie (versie) VALUES (99)")
    clients = write_clients_file(tmp_path / "c.toml", {"a": (SECRET, [])})
    r = run_cli("serve", "--database", url, "--clients", str(clients))
    assert r.returncode == 2
    assert "--database: database schema version 99 is newer than this server supports (2)" in r.stderr


def test_asgi_factory_for_other_servers(tmp_path):
    """`uvicorn --factory verwerkingen_otel.server.app:create_app` with settings from the environment."""
    from tests.support.logserver import free_port
    clients = write_clients_file(tmp_path / "c.toml", {"a": (SECRET, ["read:normal"])})
    port = free_port()
    env = {**os.environ, "VERWERKINGEN_SERVER_DATABASE": f"sqlite:///{tmp_path}/f.db",
           "VERWERKINGEN_SERVER_CLIENTS": str(clients), "VERWERKINGEN_SERVER_PAGE_SIZE": "7"}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "verwerkingen_otel.server.app:create_app",
                             "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                r = httpx.post(f"http://127.0.0.1:{port}/api/v1/verwerkingsacties", json=actie_body(),
                               headers={"Authorization": "Bearer " + mint_token("a", SECRET)})
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.05)
        assert r.status_code == 201 and r.headers["API-version"] == "0.9.0"
        assert (tmp_path / "f.db").exists()
    finally:
        proc.terminate()
        proc.wait(10)


def test_logserver_defaults_for_other_suites():
    """LogServer() with only a clients mapping: a temporary SQLite log that survives a SIGKILL."""
    with LogServer(clients={"app": (SECRET, ["read:normal"])}) as srv:
        headers = {"Authorization": "Bearer " + mint_token("app", SECRET)}
        created = httpx.post(f"{srv.api_url}/verwerkingsacties", json=actie_body(), headers=headers)
        assert created.status_code == 201
        port, pid = srv.port, srv.pid
        assert srv.kill() == -9 and not srv.running
        srv.start()
        assert srv.port == port and srv.pid != pid
        assert httpx.get(created.headers["Location"], headers=headers).json() == created.json()
