"""Group commit on a real outbox file: concurrent callers share one transaction, each returns only
after its own rows are durable, and a failure fails exactly the callers it concerns."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from tests.support.wait import wait_until
from verwerkingen_otel.delivery import Outbox, OutboxError


def held_then_released(outbox: Outbox, callers: list[str], padding: int = 0) -> dict[str, BaseException | None]:
    """Hold the outbox's write lock (as the worker's turn does) while `callers` threads record;
    release it once all but the leader queue behind it. Returns each caller's outcome."""
    outcomes: dict[str, BaseException | None] = {}

    def record(name: str) -> None:
        try:
            outbox.add(name, '{"actieNaam": "%s"}' % (name + " " * padding), ["api", "console"])
            outcomes[name] = None
        except OutboxError as exc:
            outcomes[name] = exc

    threads = [threading.Thread(target=record, args=(name,)) for name in callers]
    with outbox._lock:
        for thread in threads:
            thread.start()
        # the leader waits for the lock; everyone else waits for the leader
        wait_until(lambda: len(outbox._group._queue) == len(callers), what="every caller queued")
        assert outcomes == {}  # nobody returned before its commit
    for thread in threads:
        thread.join(10)
    return outcomes


def stored(path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(path) as conn:
        return sorted(conn.execute("SELECT record_id, exporter FROM outbox").fetchall())


def test_concurrent_callers_share_one_commit_and_each_row_is_there(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.db")
    names = [f"r{i:02}" for i in range(16)]
    outcomes = held_then_released(outbox, names)
    assert outcomes == {name: None for name in names}
    assert (outbox._group.batches, outbox._group.grouped) == (1, 16)  # one transaction, one fsync
    assert stored(tmp_path / "outbox.db") == sorted((n, e) for n in names for e in ("api", "console"))
    outbox.close()


def test_a_row_sqlite_refuses_fails_only_its_own_caller(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.db")
    outbox._connection().execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON outbox WHEN NEW.record_id = 'bad' AND NEW.exporter = 'console'"
        " BEGIN SELECT RAISE(ABORT, 'refused by the test'); END")
    outcomes = held_then_released(outbox, ["a", "bad", "c", "d"])
    assert [name for name, error in outcomes.items() if error is not None] == ["bad"]
    assert "refused by the test" in str(outcomes["bad"]) and str(tmp_path) in str(outcomes["bad"])
    # all-or-nothing per caller: bad's first row (api) was rolled back with its second
    assert stored(tmp_path / "outbox.db") == sorted((n, e) for n in "acd" for e in ("api", "console"))
    assert outbox._group.batches == 1
    outbox.close()


def test_a_commit_that_fails_fails_every_caller_in_it(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.db")
    conn = outbox._connection()
    conn.execute(f"PRAGMA max_page_count = {conn.execute('PRAGMA page_count').fetchone()[0]}")  # full
    outcomes = held_then_released(outbox, [f"big{i}" for i in range(8)], padding=20_000)
    assert len(outcomes) == 8 and all(isinstance(e, OutboxError) for e in outcomes.values())
    assert all("full" in str(e) for e in outcomes.values())
    assert len({id(e) for e in outcomes.values()}) == 8  # each caller its own exception
    assert stored(tmp_path / "outbox.db") == []
    outbox.close()


def test_a_lone_caller_commits_at_once(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.db")
    for i in range(3):
        outbox.add(f"solo{i}", "{}", ["api"])
    assert (outbox._group.batches, outbox._group.grouped) == (3, 3)
    assert [r[0] for r in stored(tmp_path / "outbox.db")] == ["solo0", "solo1", "solo2"]
    outbox.close()


def test_a_forked_child_starts_with_an_empty_group(tmp_path: Path) -> None:
    import os

    outbox = Outbox(tmp_path / "outbox.db")
    outbox.add("parent", "{}", ["api"])
    pid = os.fork()
    if pid == 0:  # the child records through its own connection and group
        try:
            outbox.add("child", "{}", ["api"])
            os._exit(0 if outbox._group.batches == 1 else 2)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert [r[0] for r in stored(tmp_path / "outbox.db")] == ["child", "parent"]
    outbox.close()


@pytest.mark.parametrize("durability, synchronous", [("power-loss", 2), ("process-crash", 1)])
def test_durability_names_what_sqlite_syncs(tmp_path: Path, durability: str, synchronous: int) -> None:
    outbox = Outbox(tmp_path / "outbox.db", durability=durability)
    assert outbox._connection().execute("PRAGMA synchronous").fetchone()[0] == synchronous
    outbox.close()
    with pytest.raises(ValueError, match="power-loss, process-crash"):
        Outbox(tmp_path / "other.db", durability="fsync")
