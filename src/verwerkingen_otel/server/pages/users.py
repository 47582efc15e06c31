"""Users of the /inzage pages: a TOML file of argon2 password hashes and roles.

    [users.anna]
    password = "$argon2id$v=19$m=65536,t=3,p=4$..."
    roles = ["inzage", "inzage-vertrouwelijk"]

`verwerkingen-otel users add NAME --users FILE` prompts for the password and writes the hash;
plain passwords are never stored. The file is re-read when it changes, so a user added while the
server runs can log in without a restart.
"""

from __future__ import annotations

import argparse
import getpass
import os
import re
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ..errors import ConfigError
from ..toml_files import read_toml


ROLES = ("inzage", "inzage-vertrouwelijk")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD = 12
_hasher = PasswordHasher()
# Verified against when the user is unknown, so the answer takes as long as for a known user.
_DUMMY_HASH = _hasher.hash("a password nobody has; only here to spend the same time")


@dataclass(frozen=True)
class User:
    name: str
    password_hash: str
    roles: frozenset[str]

    def __repr__(self) -> str:
        return f"User({self.name!r}, roles={sorted(self.roles)})"

    @property
    def vertrouwelijk(self) -> bool:
        return "inzage-vertrouwelijk" in self.roles


def load_users(path: Path, *, option: str = "--users") -> dict[str, User]:
    """Read and check the users file; errors name `option` and the user, never a hash."""
    data = read_toml(path, option)
    table = data.get("users", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{option}: `users` must be a table of [users.<name>]")
    users = {}
    for name, entry in table.items():
        where = f"{option}: user {name!r}"
        if not _NAME.match(name):
            raise ConfigError(f"{where}: a name is 1-64 letters, digits, . _ @ -")
        if not isinstance(entry, dict) or set(entry) - {"password", "roles"}:
            raise ConfigError(f"{where} must be a table with only `password` and `roles`")
        password = entry.get("password")
        if not isinstance(password, str) or not password.startswith("$argon2"):
            raise ConfigError(f"{where}: `password` must be an argon2 hash (use `verwerkingen-otel users add`)")
        roles = entry.get("roles", [])
        if not isinstance(roles, list) or not roles or any(r not in ROLES for r in roles):
            raise ConfigError(f"{where}: `roles` must be a non-empty list of {', '.join(ROLES)}")
        users[name] = User(name, password, frozenset(roles))
    return users


class UserFile:
    """The users file, re-read when its modification time changes."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._users: dict[str, User] = {}
        self.users()  # fail at start-up on a bad file

    def users(self) -> dict[str, User]:
        with self._lock:
            try:
                st = self.path.stat()
            except OSError as e:
                raise ConfigError(f"--users: cannot read {str(self.path)!r}: {e.strerror}") from None
            stamp = (st.st_mtime_ns, st.st_size)
            if stamp != self._stamp:
                self._users = load_users(self.path)
                self._stamp = stamp
            return self._users

    def verify(self, name: str, password: str) -> User | None:
        """The user when name and password match; always spends one argon2 verification."""
        try:
            user = self.users().get(name)
        except (ConfigError, OSError):
            user = None
        try:
            _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        return user


def add_user(path: Path, name: str, password: str, roles: list[str]) -> None:
    """Add or replace one user, keeping the others; the file is written atomically, mode 0600."""
    if not _NAME.match(name):
        raise ConfigError("NAME: a name is 1-64 letters, digits, . _ @ -")
    if len(password) < MIN_PASSWORD:
        raise ConfigError(f"password: at least {MIN_PASSWORD} characters")
    users = load_users(path) if path.exists() else {}
    users[name] = User(name, _hasher.hash(password), frozenset(roles))
    lines = ["# Users of the /inzage pages (verwerkingen-otel users add NAME --users FILE)", ""]
    for user in users.values():
        lines += [f'[users."{user.name}"]', f'password = "{user.password_hash}"',
                  "roles = [" + ", ".join(f'"{r}"' for r in sorted(user.roles)) + "]", ""]
    fd, tmp = tempfile.mkstemp(prefix=".users-", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def add_command(args: argparse.Namespace) -> int:
    """`verwerkingen-otel users add` (parser in server/register_cli.py)."""
    roles = sorted(set(args.roles or ["inzage"]) | {"inzage"})
    try:
        if args.password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass(f"Wachtwoord voor {args.name}: ")
            if getpass.getpass("Nogmaals: ") != password:
                print("verwerkingen-otel users add: the passwords differ", file=sys.stderr)
                return 2
        add_user(Path(args.users), args.name, password, roles)
    except ConfigError as e:
        print(f"verwerkingen-otel users add: {e}", file=sys.stderr)
        return 2
    except EOFError:  # the prompt met the end of piped input
        print("\nverwerkingen-otel users add: no password typed (input ended); a script gives it with "
              "--password-stdin", file=sys.stderr)
        return 2
    print(f"user {args.name} ({', '.join(roles)}) written to {args.users}")
    return 0


__all__ = ["ROLES", "User", "UserFile", "add_command", "add_user", "load_users"]
