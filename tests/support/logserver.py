"""Run the REAL verwerkingenlog server as a subprocess, for black-box, delivery and fault tests.

API::

    from tests.support.logserver import LogServer, mint_token, write_clients_file, free_port

    clients = write_clients_file(tmp_path / "clients.toml",
                                 {"app": ("a-secret-of-32-bytes-or-more....", ["create:normal"])})
    with LogServer(database=f"sqlite:///{tmp_path}/log.db", clients_file=clients) as server:
        server.api_url        # "http://127.0.0.1:<port>/api/v1"
        token = mint_token("app", "a-secret-of-32-bytes-or-more....")
        ...
        server.stop()         # SIGTERM, waits for a clean exit; returns the exit code
        server.start()        # again: same port, same database
        server.kill()         # SIGKILL: a crash, no clean shutdown
        server.restart()      # stop (if running) + start
        server.log_text()     # everything the server wrote to stdout/stderr so far
        server.wait_for_log("text", timeout=5)  # the output once it contains "text" (or timeout)

`LogServer(database=None, clients_file=None, *, clients=None, host="127.0.0.1", port=None,
dev=False, extra_args=(), env=None, log_path=None, start_timeout=30.0)`: `port=None` picks a
free loopback port once (kept across restarts); `database` is any URL `serve --database`
accepts, None for a fresh temporary SQLite file (kept across restarts); `clients`
({id: (secret, scopes)}) writes a temporary clients file instead of passing `clients_file`.
`start()` returns once the server answers HTTP (any response) and raises RuntimeError with
the server's output if it exits or does not answer in time. `pid`, `running`, `port`,
`base_url` are attributes. Use as a context manager, or call `stop()` yourself.

`mint_token(client_id, secret, *, scopes=None, exp=None, iat=True, algorithm="HS256",
claims=None)` makes a real JWT (NOTES §5); `scopes` (list) becomes the `scope` claim,
`exp` is seconds from now (negative: already expired). `auth_headers(...)` wraps it
in an Authorization header dict. `write_clients_file(path, {id: (secret, scopes)})` writes
the clients TOML of ARCHITECTURE.md.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import httpx
import jwt

__all__ = ["LogServer", "auth_headers", "free_port", "mint_token", "write_clients_file"]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago on `host`."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def mint_token(
    client_id: str, secret: str, *, scopes: Sequence[str] | None = None, exp: float | None = None,
    iat: bool = True, algorithm: str = "HS256", claims: Mapping[str, Any] | None = None,
) -> str:
    """A real HS256 JWT with `client_id` (and `iat`, optional `scope` and `exp`)."""
    now = int(time.time())
    payload: dict[str, Any] = {"client_id": client_id}
    if iat:
        payload["iat"] = now
    if scopes is not None:
        payload["scope"] = " ".join(scopes)
    if exp is not None:
        payload["exp"] = int(now + exp)
    payload.update(claims or {})
    return jwt.encode(payload, secret, algorithm=algorithm)


def auth_headers(client_id: str, secret: str, **kwargs: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(client_id, secret, **kwargs)}"}


def write_clients_file(path: Path | str, clients: Mapping[str, tuple[str, Iterable[str]]]) -> Path:
    """Write `[clients.<id>] secret = …, scopes = […]` for each client."""
    lines = []
    for client_id, (secret, scopes) in clients.items():
        lines.append(f'[clients."{client_id}"]')
        lines.append(f'secret = "{secret}"')
        lines.append("scopes = [" + ", ".join(f'"{s}"' for s in scopes) + "]")
        lines.append("")
    p = Path(path)
    p.write_text("\n".join(lines), encoding="utf-8")
    return p


class LogServer:
    """One `verwerkingen-otel serve` subprocess on loopback; see the module docstring."""

    def __init__(
        self, database: str | None = None, clients_file: Path | str | None = None, *,
        clients: Mapping[str, tuple[str, Iterable[str]]] | None = None, host: str = "127.0.0.1",
        port: int | None = None, dev: bool = False, extra_args: Sequence[str] = (),
        env: Mapping[str, str] | None = None, log_path: Path | str | None = None,
        start_timeout: float = 30.0,
    ) -> None:
        import tempfile
        if database is None or clients is not None:
            self._tmpdir = Path(tempfile.mkdtemp(prefix="logserver-"))
        if database is None:
            database = f"sqlite:///{self._tmpdir / 'verwerkingenlog.db'}"
        if clients is not None:
            clients_file = write_clients_file(self._tmpdir / "clients.toml", clients)
        self.database = database
        self.clients_file = None if clients_file is None else str(clients_file)
        self.host = host
        self.port = port or free_port(host)
        self.dev = dev
        self.extra_args = list(extra_args)
        self.env = dict(env or {})
        self.start_timeout = start_timeout
        if log_path is None:
            fd, name = tempfile.mkstemp(prefix="logserver-", suffix=".log")
            os.close(fd)
            log_path = name
        self.log_path = Path(log_path)
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/v1"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "verwerkingen_otel.cli", "serve", "--host", self.host,
               "--port", str(self.port), "--database", self.database]
        if self.clients_file:
            cmd += ["--clients", self.clients_file]
        if self.dev:
            cmd.append("--dev")
        return cmd + self.extra_args

    def start(self, timeout: float | None = None) -> LogServer:
        if self.running:
            raise RuntimeError("server already running")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        log = open(self.log_path, "ab")
        try:
            self._proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, env=env)
        finally:
            log.close()
        self._wait_ready(self.start_timeout if timeout is None else timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"server exited with {self._proc.returncode if self._proc else '?'}:\n"
                                   f"{self.log_text()}")
            try:
                httpx.get(f"{self.api_url}/verwerkingsacties", timeout=1.0)
                return
            except httpx.TransportError:
                time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"server did not answer within {timeout}s:\n{self.log_text()}")

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM and wait for exit (SIGKILL after `timeout`); returns the exit code."""
        if self._proc is None:
            return None
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        return self._proc.returncode

    def kill(self) -> int | None:
        """SIGKILL: the server dies without any shutdown."""
        if self._proc is None:
            return None
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        return self._proc.returncode

    def restart(self, timeout: float | None = None) -> LogServer:
        self.stop()
        return self.start(timeout)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def wait_for_log(self, text: str, timeout: float = 5.0) -> str:
        """Wait until `text` appears in the server's output (lines are written after responses)."""
        deadline = time.monotonic() + timeout
        while True:
            log = self.log_text()
            if text in log or time.monotonic() > deadline:
                return log
            time.sleep(0.02)

    def __enter__(self) -> LogServer:
        return self.start() if not self.running else self

    def __exit__(self, *exc: object) -> None:
        self.stop()
