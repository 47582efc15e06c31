"""Sessions, CSRF tokens and the login rate limit of the /inzage pages.

Sessions live in the server process (a random token in an HttpOnly, SameSite=Strict cookie,
Secure over https; only its SHA-256 is kept), end after an idle timeout and on logout. Every
form carries a CSRF token: before login the double-submit token of a pre-session cookie, after
login the session's own. Failed logins are limited per client address and per user name.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response

SESSION_COOKIE = "vo_inzage"
CSRF_COOKIE = "vo_inzage_csrf"
MAX_SESSIONS = 10_000


@dataclass
class Session:
    user: str
    roles: frozenset[str]
    csrf: str
    last_seen: float = field(default_factory=time.monotonic)


class Sessions:
    """Token → session, in memory; tokens are stored hashed."""

    def __init__(self, idle_seconds: float) -> None:
        self.idle_seconds = idle_seconds
        self._lock = threading.Lock()
        self._by_hash: dict[str, Session] = {}

    @staticmethod
    def _hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def create(self, user: str, roles: frozenset[str]) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._expire()
            if len(self._by_hash) >= MAX_SESSIONS:  # drop the longest idle one
                oldest = min(self._by_hash, key=lambda k: self._by_hash[k].last_seen)
                del self._by_hash[oldest]
            self._by_hash[self._hash(token)] = Session(user, roles, secrets.token_urlsafe(32))
        return token

    def get(self, request: Request) -> Session | None:
        """The request's live session (touching it), or None."""
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        key = self._hash(token)
        now = time.monotonic()
        with self._lock:
            session = self._by_hash.get(key)
            if session is None:
                return None
            if now - session.last_seen > self.idle_seconds:
                del self._by_hash[key]
                return None
            session.last_seen = now
            return session

    def end(self, request: Request) -> None:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            with self._lock:
                self._by_hash.pop(self._hash(token), None)

    def _expire(self) -> None:
        now = time.monotonic()
        for key in [k for k, s in self._by_hash.items() if now - s.last_seen > self.idle_seconds]:
            del self._by_hash[key]


def set_cookie(request: Request, response: Response, name: str, value: str) -> None:
    response.set_cookie(name, value, httponly=True, samesite="strict", secure=request.url.scheme == "https",
                        path="/inzage")


def clear_cookie(request: Request, response: Response, name: str) -> None:
    response.delete_cookie(name, path="/inzage", httponly=True, samesite="strict",
                           secure=request.url.scheme == "https")


def csrf_matches(expected: str | None, sent: object) -> bool:
    return bool(expected) and isinstance(sent, str) and hmac.compare_digest(expected.encode(), sent.encode())


class LoginLimiter:
    """At most `attempts` failed logins per `window` seconds per address and per user name."""

    def __init__(self, attempts: int = 5, window: float = 300.0) -> None:
        self.attempts = attempts
        self.window = window
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._failures.setdefault(key, deque())
        while q and now - q[0] > self.window:
            q.popleft()
        return q

    def blocked(self, address: str, user: str) -> bool:
        now = time.monotonic()
        with self._lock:
            return any(len(self._recent(k, now)) >= self.attempts for k in (f"a:{address}", f"u:{user}"))

    def failed(self, address: str, user: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._failures) > 100_000:
                self._failures.clear()
            for key in (f"a:{address}", f"u:{user}"):
                self._recent(key, now).append(now)

    def succeeded(self, user: str) -> None:
        with self._lock:
            self._failures.pop(f"u:{user}", None)


__all__ = ["CSRF_COOKIE", "LoginLimiter", "SESSION_COOKIE", "Session", "Sessions", "clear_cookie",
           "csrf_matches", "set_cookie"]
