"""Real servers on loopback for the web tests (shared helpers in tests/support/servers.py)."""

from __future__ import annotations

from tests.support.servers import free_socket, uvicorn_server, werkzeug_server

__all__ = ["free_socket", "uvicorn_server", "werkzeug_server"]
