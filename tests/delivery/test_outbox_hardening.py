"""Issue 11 item 7, the outbox: nobody else may write its directory, its -wal/-shm are 0600,
and a lease carries a random instance id and its pid namespace (containers sharing a volume all
run as pid 1, so a pid alone would let one container take another's rows)."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

import verwerkingen_otel as vo
from verwerkingen_otel.delivery import Outbox, OutboxError

SECRET = "outbox-hardening-secret-0123456789abcdef"


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_an_outbox_in_a_directory_others_may_write_is_refused(tmp_path: Path, isolated_pipeline: None) -> None:
    shared = tmp_path / "gedeeld"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(OutboxError) as err:
        Outbox(shared / "outbox.db")
    assert "is writable by others (mode 0777)" in str(err.value)
    with pytest.raises(vo.ConfigurationError) as cfg:
        vo.configure(api_url="http://127.0.0.1:9/api/v1", client_id="app", secret=SECRET,
                     outbox=str(shared / "outbox.db"))
    assert cfg.value.setting == "outbox" and "writable by others" in str(cfg.value)
    assert not (shared / "outbox.db").exists()  # refused before anything was written
    shared.chmod(0o750)
    Outbox(shared / "outbox.db").close()


def test_wal_and_shm_that_were_left_readable_are_made_0600(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    Outbox(path).close()
    other = sqlite3.connect(path, isolation_level=None)  # another process keeps them in place
    other.execute("PRAGMA journal_mode = WAL")
    other.execute("CREATE TABLE IF NOT EXISTS andere (a)")
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").chmod(0o644)  # e.g. a tool with another umask, or a restore
    try:
        outbox = Outbox(path)
        outbox.add(str(uuid.uuid4()), "{}", ["api"])
        for suffix in ("", "-wal", "-shm"):
            assert mode(Path(f"{path}{suffix}")) == 0o600, suffix
        outbox.close()
    finally:
        other.close()


def test_a_symlinked_wal_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    Outbox(path).close()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    Path(f"{path}-wal").symlink_to(tmp_path / "elders")
    with pytest.raises(OutboxError, match="is not a regular file"):
        Outbox(path)


def _lease(path: Path, owner: str) -> int:
    """Lease the one row to `owner` for a minute, as another process would; the row id."""
    with sqlite3.connect(path, isolation_level=None) as conn:
        conn.execute("UPDATE outbox SET lease_owner = ?, lease_until = ?", (owner, time.time() + 60))
        return conn.execute("SELECT id FROM outbox").fetchone()[0]


def _owner_of(path: Path) -> str | None:
    with sqlite3.connect(path, isolation_level=None) as conn:
        return conn.execute("SELECT lease_owner FROM outbox").fetchone()[0]


@pytest.mark.parametrize("owner", [
    f"{os.getpid()}:0123456789ab",           # the old pid:token format, same pid: another container?
    f"0000000000ff:{os.getpid()}:0123456789ab",  # another pid namespace with our pid (pid 1 twice)
    "0000000000ff:1:0123456789ab",
])
def test_a_lease_from_another_container_is_left_to_run_out(tmp_path: Path, owner: str) -> None:
    path = tmp_path / "outbox.db"
    first = Outbox(path)
    first.add(str(uuid.uuid4()), "{}", ["api"])
    first.close()
    _lease(path, owner)
    second = Outbox(path)
    assert second.release_stale_leases() == 0
    assert _owner_of(path) == owner
    assert second.claim("api", 10) == []  # nobody sends it twice
    second.close()


def test_a_lease_of_a_dead_process_in_our_namespace_is_taken_back(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    outbox = Outbox(path)
    outbox.add(str(uuid.uuid4()), "{}", ["api"])
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    namespace = outbox.owner.split(":")[0]
    assert len(outbox.owner.split(":")) == 3 and outbox.owner.split(":")[1] == str(os.getpid())
    _lease(path, f"{namespace}:{dead}:0123456789ab")
    assert outbox.release_stale_leases() == 1
    assert len(outbox.claim("api", 10)) == 1
    outbox.close()


def test_every_outbox_instance_has_its_own_random_id(tmp_path: Path) -> None:
    a, b = Outbox(tmp_path / "a.db"), Outbox(tmp_path / "b.db")
    assert a.owner != b.owner and a.owner.rsplit(":", 1)[0] == b.owner.rsplit(":", 1)[0]
    a.close()
    b.close()
