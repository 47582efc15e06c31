"""Helpers for the example tests: run an example as a real process, exactly as its README says."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import httpx
import pytest

from tests.support.logserver import LogServer, free_port, write_clients_file

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
BIN = Path(sys.executable).parent
SECRET = "examples-tests-secret-0123456789abcdef0123456789"
ALL_SCOPES = [f"{a}:{lvl}" for a in ("create", "read", "update", "delete") for lvl in ("normal", "confidential")]


def example_env(**extra: str) -> dict[str, str]:
    """The test's environment with the venv's scripts first on PATH and no VERWERKINGEN_* leaking in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VERWERKINGEN_") or k.startswith("VERWERKINGEN_TEST_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


class Service:
    """One example server process; `stop()` ends it with SIGTERM and returns (stdout, stderr)."""

    def __init__(self, command: Sequence[str] | str, env: Mapping[str, str], port: int, *,
                 ready_path: str = "/health", shell: bool = False) -> None:
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(command, cwd=ROOT, env=dict(env), shell=shell, text=True,
                                     executable="/bin/bash" if shell else None,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        self.output: tuple[str, str] | None = None
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(self.base + ready_path, timeout=1.0)
                return
            except httpx.TransportError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    out = self.stop()
                    raise AssertionError(f"example did not start (exit {self.proc.returncode}): {out}") from None
                time.sleep(0.1)

    def stop(self, timeout: float = 20.0) -> tuple[str, str]:
        if self.output is None:
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGTERM)  # the group: a shell and the server it runs
            try:
                self.output = self.proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the whole group: gunicorn's workers too
                self.output = self.proc.communicate()
        return self.output


@pytest.fixture
def service() -> Iterator[Any]:
    """`service(command, env, port)` starts an example; every one started is stopped afterwards."""
    started: list[Service] = []

    def start(command: Sequence[str] | str, env: Mapping[str, str], port: int, **kwargs: Any) -> Service:
        started.append(Service(command, env, port, **kwargs))
        return started[-1]

    yield start
    for s in started:
        s.stop()


def json_lines(text: str) -> list[dict[str, Any]]:
    """The console exporter's lines: one POST body per line."""
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.fixture
def logserver(tmp_path: Path) -> Iterator[LogServer]:
    """The real verwerkingenlog on loopback with one client that has every scope."""
    clients = write_clients_file(tmp_path / "clients.toml", {"app": (SECRET, ALL_SCOPES)})
    with LogServer(database=f"sqlite:///{tmp_path / 'log.db'}", clients_file=clients) as server:
        yield server


__all__ = ["ALL_SCOPES", "BIN", "EXAMPLES", "ROOT", "SECRET", "Service", "example_env", "free_port", "json_lines",
           "logged", "readme_command", "run_documented"]


def readme_command(example: str, *, replace: Mapping[str, str] = {}) -> str:
    """The first ```sh block of examples/<example>/README.md: the run command, as documented.

    `replace` swaps literal parts (the documented port for a free one) so tests can run in parallel.
    """
    text = (EXAMPLES / example / "README.md").read_text(encoding="utf-8")
    block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    for old, new in replace.items():
        assert old in block, f"{old!r} is not in the documented command of {example}"
        block = block.replace(old, new)
    return block.strip()


def logged(api_url: str, bsns: Sequence[str]) -> list[dict[str, Any]]:
    """Every action the log holds for these BSNs, once each, as POST bodies (oldest first).

    Read back through the log's own API: the standard lists by person (showing only that
    person's objects), so each action found is then fetched whole.
    """
    from verwerkingen_otel.client import VerwerkingenlogClient

    found: dict[str, Any] = {}
    with VerwerkingenlogClient(api_url, client_id="app", secret=SECRET) as client:
        ids = {a.actie_id for bsn in bsns for a in client.list(soort_object_id="BSN", object_id=bsn)}
        for actie_id in ids:
            found[actie_id] = client.get(actie_id)
    return [a.to_api() for a in sorted(found.values(), key=lambda a: a.tijdstip)]


def run_documented(command: str, env: Mapping[str, str], timeout: float = 90) -> subprocess.CompletedProcess[str]:
    """Run a documented shell command to its end in bash, from the repository root."""
    return subprocess.run(command, shell=True, executable="/bin/bash", cwd=ROOT, env=dict(env),
                          capture_output=True, text=True, timeout=timeout)
