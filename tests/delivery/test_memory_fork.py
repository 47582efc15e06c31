"""Issue 11 item 7: a fork while another thread holds the memory delivery's lock must not leave
the child's copy locked for ever (that thread does not exist in the child)."""

from __future__ import annotations

import os
import threading
import time

import pytest

from verwerkingen_otel.delivery import InMemoryExporter, MemoryDelivery


def child_exit_code(pid: int, timeout: float = 10.0) -> int | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    return None  # hung


@pytest.mark.parametrize("lock", ["queue", "dropped"])
def test_a_child_forked_while_a_lock_is_held_can_still_queue(lock: str) -> None:
    delivery = MemoryDelivery([InMemoryExporter()], max_queue=1)
    held, release = threading.Event(), threading.Event()
    target = delivery._memory._lock if lock == "queue" else delivery._dropped_lock

    def hold() -> None:
        with target:
            held.set()
            release.wait(10)

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    assert held.wait(5)
    pid = os.fork()
    if pid == 0:  # the child: both locks must be usable
        try:
            ok = delivery._memory.add("a", {}, ["memory"]) and not delivery._memory.add("b", {}, ["memory"])
            with delivery._dropped_lock:
                pass
            os._exit(0 if ok else 3)
        except BaseException:  # noqa: BLE001
            os._exit(4)
    release.set()
    thread.join(5)
    try:
        assert child_exit_code(pid) == 0
    finally:
        delivery.shutdown(2)
