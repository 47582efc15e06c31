"""Who may touch the outbox file, and whose lease a row carries.

The outbox holds BSNs until they are delivered. Its directory must not be writable by others
(whoever can write there can plant a `-wal` or `-shm` file, or swap the file); the file and
its `-wal`/`-shm` companions are the owner's only (0600), checked at start-up with a clear
error. A lease names a random instance besides the pid, and the pid namespace it lives in:
containers sharing a volume all run as pid 1, so a pid alone cannot tell "an earlier life of
this process" from "another container". Only leases from our own namespace are judged by
their pid; any other lease is left to run out.
"""

from __future__ import annotations

import hashlib
import os
import socket
import stat
import uuid

from ._outbox_schema import OutboxError, pid_alive

__all__ = ["check_directory", "lease_is_stale", "lease_owner", "secure_companions"]

_COMPANIONS = ("-wal", "-shm", "-journal")


def check_directory(path: str) -> None:
    """Refuse an outbox in a directory that others may write to (e.g. /tmp itself)."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        mode = os.stat(directory).st_mode
    except FileNotFoundError:
        return  # created 0700 by the outbox
    except OSError as exc:
        raise OutboxError(f"cannot check the outbox directory {directory!r}: {exc.strerror or exc}") from None
    if mode & stat.S_IWOTH:
        raise OutboxError(f"the outbox directory {directory!r} is writable by others (mode "
                          f"{stat.S_IMODE(mode):04o}); use a directory only the service's user can write")


def secure_companions(path: str) -> None:
    """The file's `-wal`/`-shm` companions, where they exist, are 0600 and no symlinks."""
    for suffix in _COMPANIONS:
        companion = path + suffix
        try:
            info = os.lstat(companion)
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(info.st_mode) or not stat.S_ISREG(info.st_mode):
            raise OutboxError(f"the outbox file {companion!r} is not a regular file (a symlink?)")
        if stat.S_IMODE(info.st_mode) & 0o077:
            try:
                fd = os.open(companion, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
                try:
                    os.fchmod(fd, 0o600)
                finally:
                    os.close(fd)
            except OSError as exc:
                raise OutboxError(f"the outbox file {companion!r} is readable by others and cannot be "
                                  f"made 0600: {exc.strerror or exc}") from None


def _namespace() -> str:
    """This host and pid namespace: the scope in which a pid names one process."""
    parts = [socket.gethostname()]
    for source in ("/proc/sys/kernel/random/boot_id",):
        try:
            with open(source, encoding="ascii") as f:
                parts.append(f.read().strip())
        except OSError:
            pass
    try:
        parts.append(str(os.stat("/proc/self/ns/pid").st_ino))
    except OSError:
        pass
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:12]


_NAMESPACE = _namespace()


def lease_owner(pid: int) -> str:
    """`namespace:pid:instance`, the instance random for each process (and each fork)."""
    return f"{_NAMESPACE}:{pid}:{uuid.uuid4().hex[:12]}"


def lease_is_stale(owner: str, own: str) -> bool:
    """A lease we may take back at start-up: of our namespace, by a pid that is gone or is ours
    (an earlier life of our pid). Others, and leases in an older format, run out by time."""
    if owner == own:
        return False
    parts = owner.split(":")
    if len(parts) != 3 or parts[0] != _NAMESPACE or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    return pid == os.getpid() or not pid_alive(pid)
