"""Delivered bodies (with BSNs) must not linger in the outbox file's free pages.

Some SQLite builds (Debian's) turn secure_delete on by default, others (python.org's, most
from-source builds) leave it off; the tests start every connection with it off, as the latter
do, so only the outbox's own PRAGMA can make them pass.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest

from verwerkingen_otel.delivery import Outbox

BSN = "999993653"  # an official test BSN
BODY = json.dumps({"verwerkteObjecten": [{"soortObjectId": "BSN", "objectId": BSN}], "pad": "x" * 500})


@pytest.fixture
def secure_delete_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    connect = sqlite3.connect

    def connect_like_a_build_without_secure_delete(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = connect(*args, **kwargs)
        conn.execute("PRAGMA secure_delete = OFF")
        return conn

    monkeypatch.setattr(sqlite3, "connect", connect_like_a_build_without_secure_delete)


def test_without_secure_delete_a_deleted_body_stays_in_the_file(secure_delete_off_by_default: None, tmp_path: Path) -> None:
    """The control: what the outbox test below would find without the outbox's PRAGMA."""
    path = tmp_path / "plain.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE t (body TEXT)")
    conn.executemany("INSERT INTO t VALUES (?)", [(BODY,)] * 40)
    conn.execute("DELETE FROM t")
    conn.close()
    assert BSN.encode() in path.read_bytes()


def test_delivered_bodies_are_overwritten_in_the_file(secure_delete_off_by_default: None, tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    outbox = Outbox(path)
    for _ in range(40):
        outbox.add(str(uuid.uuid4()), BODY, ["api"])
    rows = outbox.claim("api", 100)
    assert len(rows) == 40
    outbox.complete(delivered=[r.rowid for r in rows])
    assert outbox.pending() == 0
    outbox.checkpoint()
    assert outbox._connection().execute("PRAGMA secure_delete").fetchone() == (1,)
    assert outbox._checkpointer is not None
    assert outbox._checkpointer.execute("PRAGMA secure_delete").fetchone() == (1,)
    outbox.close()  # the last connection checkpoints the WAL into the file and removes it
    assert not (tmp_path / "outbox.db-wal").exists()
    assert path.stat().st_size > 40 * 500  # the pages are still there, only their contents gone
    assert BSN.encode() not in path.read_bytes()
