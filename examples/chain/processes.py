"""Run the demo's services as subprocesses, each in its own process group, and stop them all.

Each service gets its own session (`start_new_session`), so a Ctrl-C in the terminal reaches
only the demo, which then stops the services in its own order (consumer and provider first,
so their outboxes drain into the log, the log last). Stopping signals the whole group, so
nothing a service started outlives it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Mapping, Sequence

import httpx

__all__ = ["Service", "ServiceError", "free_port"]


class ServiceError(RuntimeError):
    """A service did not start, or did not stop cleanly."""


def free_port(host: str = "127.0.0.1") -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class Service:
    """One subprocess with its output in a log file; `ready_url` answers once it serves."""

    def __init__(self, name: str, command: Sequence[str], *, env: Mapping[str, str], log_file: Path,
                 ready_url: str, cwd: Path) -> None:
        self.name = name
        self.command = list(command)
        self.env = dict(env)
        self.log_file = log_file
        self.ready_url = ready_url
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log_file, "ab") as log:
            self.proc = subprocess.Popen(self.command, env=self.env, cwd=self.cwd, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Return once `ready_url` answers; ServiceError (with the service's output) otherwise."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServiceError(f"{self.name} exited with code {self.proc.returncode} while starting:\n"
                                   f"{self.log_tail()}")
            try:
                httpx.get(self.ready_url, timeout=1.0)
                return
            except httpx.TransportError:
                time.sleep(0.05)
        raise ServiceError(f"{self.name} did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM to the group, wait; SIGKILL what is left. Returns the exit code (None: never ran)."""
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            _signal_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(proc.pid, signal.SIGKILL)
                proc.wait()
        _signal_group(proc.pid, signal.SIGKILL)  # anything the service itself started
        return proc.returncode

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_file.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return "   (no output)"
        return "\n".join("   | " + line for line in text.splitlines()[-lines:]) or "   (no output)"


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass  # the group is gone already
