"""The producing process dies (SIGKILL) mid-delivery, or forks: nothing lost, nothing twice."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from tests.delivery.conftest import FAST, SECRET, actie_namen, make_actie
from tests.delivery.faultproxy import FaultProxy
from tests.support.logserver import LogServer
from verwerkingen_otel.delivery import OutboxDelivery
from verwerkingen_otel.delivery import ApiExporter
from verwerkingen_otel.delivery import Outbox

ROOT = Path(__file__).resolve().parents[2]


def producer(outbox: Path, api_url: str, activiteit: str, n: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.delivery.producer", str(outbox), api_url, activiteit, str(n)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def test_sigkill_mid_delivery_then_restart_delivers_each_exactly_once(
        proxy: FaultProxy, logserver: LogServer, tmp_path: Path) -> None:
    activiteit, n = str(uuid.uuid4()), 60
    outbox = tmp_path / "outbox.db"
    proxy.delay = 0.15  # stored by the log, answered late: requests are in flight at the kill
    first = producer(outbox, proxy.api_url, activiteit, n)
    assert first.stdout is not None
    assert first.stdout.readline().strip() == "SUBMITTED"
    deadline = time.monotonic() + 20
    while len([p for p in proxy.posts() if p.status == 201]) < 8 and time.monotonic() < deadline:
        time.sleep(0.01)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    assert first.returncode == -signal.SIGKILL
    left = Outbox(outbox).pending()
    stored_before = len(actie_namen(logserver.api_url, activiteit))
    assert 0 < left < n  # killed mid-delivery
    assert stored_before > n - left  # some stored by the log whose 201 never reached the dead process
    proxy.delay = 0.0
    second = producer(outbox, proxy.api_url, activiteit, 0)
    out, _ = second.communicate(timeout=60)
    assert out.split() == ["SUBMITTED", "FLUSHED"], out
    namen = actie_namen(logserver.api_url, activiteit)
    assert sorted(namen) == sorted(f"Raadplegen persoon {i}" for i in range(n))  # each exactly once
    assert Outbox(outbox).pending() == 0


def _child_submits(outbox: str, api_url: str, activiteit: str, delivery: OutboxDelivery) -> None:
    delivery.submit(make_actie(activiteit, n=1000 + os.getpid() % 7))
    os._exit(0 if delivery.force_flush(15.0) else 3)


def test_forked_children_deliver_through_the_inherited_delivery(logserver: LogServer, tmp_path: Path) -> None:
    activiteit = str(uuid.uuid4())
    delivery = OutboxDelivery([ApiExporter(logserver.api_url, client_id="app", secret=SECRET)],
                              tmp_path / "outbox.db", policy=FAST)
    delivery.submit(make_actie(activiteit, n=1))  # the parent's worker and connection are live
    assert delivery.force_flush(10.0)
    ctx = multiprocessing.get_context("fork")
    children = [ctx.Process(target=_child_submits,
                            args=(str(tmp_path / "outbox.db"), logserver.api_url, activiteit, delivery))
                for _ in range(3)]
    for child in children:
        child.start()
    for child in children:
        child.join(30)
    assert [c.exitcode for c in children] == [0, 0, 0]
    delivery.submit(make_actie(activiteit, n=2))  # the parent still works after the forks
    assert delivery.force_flush(10.0)
    assert len(actie_namen(logserver.api_url, activiteit)) == 5
    delivery.shutdown(2.0)


def test_two_processes_share_one_outbox_and_each_action_arrives_once(
        proxy: FaultProxy, logserver: LogServer, tmp_path: Path) -> None:
    """Like two gunicorn workers: one outbox file, two deliveries; leases keep sends apart."""
    activiteit, outbox = str(uuid.uuid4()), tmp_path / "outbox.db"
    procs = [subprocess.Popen(
        [sys.executable, "-m", "tests.delivery.producer", str(outbox), proxy.api_url, activiteit, "40", str(start)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for start in (0, 40)]
    outs = [p.communicate(timeout=60)[0] for p in procs]
    assert all(out.split() == ["SUBMITTED", "FLUSHED"] for out in outs), outs
    keys = [p.idempotency_key for p in proxy.posts()]
    assert len(keys) == len(set(keys)) == 80  # no record was sent by both processes
    assert sorted(actie_namen(logserver.api_url, activiteit)) == sorted(
        f"Raadplegen persoon {i}" for i in range(80))


def test_gunicorn_preload_workers_share_the_outbox(logserver: LogServer, tmp_path: Path) -> None:
    """gunicorn --preload: configured in the master, forked into 2 workers; every action once."""
    import httpx

    from tests.support.logserver import free_port

    activiteit, port = str(uuid.uuid4()), free_port()
    env = {**os.environ, "TEST_ACTIVITEIT": activiteit, "VERWERKINGEN_API_URL": logserver.api_url,
           "VERWERKINGEN_CLIENT_ID": "app", "VERWERKINGEN_SECRET": SECRET,
           "VERWERKINGEN_OUTBOX": str(tmp_path / "outbox.db")}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--preload", "-w", "2", "-b", f"127.0.0.1:{port}",
         "tests.delivery.gunicorn_app:app"], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        pids: set[str] = set()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=2.0)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        with httpx.Client(timeout=5.0) as web:  # new connections: both workers get some
            for _ in range(30):
                response = web.get(f"http://127.0.0.1:{port}/", headers={"Connection": "close"})
                assert response.status_code == 200
                pids.add(response.text)
        deadline = time.monotonic() + 20
        while len(actie_namen(logserver.api_url, activiteit)) < 31 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        server.send_signal(signal.SIGTERM)
        out, _ = server.communicate(timeout=30)
    assert len(pids) == 2, out  # both forked workers recorded actions
    assert actie_namen(logserver.api_url, activiteit) == ["Raadplegen persoon"] * 31  # + the readiness probe
    assert Outbox(tmp_path / "outbox.db").pending() == 0


def test_sigkill_while_16_threads_are_mid_commit(logserver: LogServer, tmp_path: Path) -> None:
    """Group commit and a crash: every call that returned is delivered (once), no call that raised is."""
    import sqlite3

    activiteit, outbox = str(uuid.uuid4()), tmp_path / "outbox.db"
    Outbox(outbox).close()
    with sqlite3.connect(outbox) as conn:  # a real SQLite error for some rows, inside shared commits
        conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON outbox WHEN NEW.body LIKE '%\"actieNaam\":\"refuse-%'"
                     " BEGIN SELECT RAISE(ABORT, 'refused by the test'); END")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.delivery.producer_threads", str(outbox), logserver.api_url, activiteit, "16"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while sum(line.startswith("OK ") for line in lines) < 400 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        assert line, "".join(lines[-20:])
        lines.append(line)
    proc.send_signal(signal.SIGKILL)  # 16 threads recording: commits are under way
    rest, _ = proc.communicate(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    lines += rest.splitlines(keepends=True)
    complete = [line.split() for line in lines if line.endswith("\n") and len(line.split()) == 2]
    returned = {name for kind, name in complete if kind == "OK"}
    raised = {name for kind, name in complete if kind == "ERR"}
    assert len(returned) >= 400 and raised
    assert all(name.startswith("ok-") for name in returned)
    assert all(name.startswith("refuse-") for name in raised)  # only the refused rows failed, not their batches
    replay = producer(outbox, logserver.api_url, activiteit, 0)
    out, _ = replay.communicate(timeout=120)
    assert out.split() == ["SUBMITTED", "FLUSHED"], out
    namen = actie_namen(logserver.api_url, activiteit)
    assert len(namen) == len(set(namen))  # exactly once
    assert returned <= set(namen)  # every call that returned is delivered
    assert not raised & set(namen)  # no call that raised is
    assert not [n for n in namen if n.startswith("refuse-")]
