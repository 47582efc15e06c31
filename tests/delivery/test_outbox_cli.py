"""`verwerkingen-otel outbox …` on a real outbox file, run as the installed command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from tests.delivery.conftest import make_actie
from verwerkingen_otel.delivery import Outbox


def run(*args: str, stdin: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "verwerkingen_otel.cli", "outbox", *args],
                          input=stdin, capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


def outbox_with_dead_letters(path: Path) -> Outbox:
    outbox = Outbox(path)
    for i in range(3):
        outbox.add(str(uuid.uuid4()), json.dumps(make_actie(str(uuid.uuid4()), n=i).to_api()), ["api"])
    rows = outbox.claim("api", 2)
    problem = {"status": 400, "title": "Ongeldige invoer", "invalidParams": [
        {"name": "actieNaam", "code": "max_length", "reason": "must be at most 242 characters"}]}
    outbox.complete(dead=[(r.rowid, 400, json.dumps(problem)) for r in rows])
    return outbox


def test_status_counts_pending_and_dead_letters(tmp_path: Path) -> None:
    outbox_with_dead_letters(tmp_path / "o.db")
    result = run("status", "--json", "--outbox", str(tmp_path / "o.db"))
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert (status["pending"], status["dead_letters"]) == (1, 2)
    assert status["exporters"]["api"]["pending"] == 1
    text = run("status", env={"VERWERKINGEN_OUTBOX": str(tmp_path / "o.db")})
    assert "pending: 1   dead letters: 2" in text.stdout


def test_list_shows_reasons_not_bodies_unless_asked(tmp_path: Path) -> None:
    outbox_with_dead_letters(tmp_path / "o.db")
    result = run("deadletters", "list", "--outbox", str(tmp_path / "o.db"))
    assert result.returncode == 0
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2 and all("HTTP 400" in line and "actieNaam" in line for line in lines)
    assert "999993653" not in result.stdout
    shown = json.loads(run("deadletters", "list", "--json", "--show-body", "--outbox", str(tmp_path / "o.db")).stdout)
    assert [d["body"]["verwerkteObjecten"][0]["objectId"] for d in shown] == ["999993653"] * 2


def test_retry_moves_dead_letters_back(tmp_path: Path) -> None:
    outbox = outbox_with_dead_letters(tmp_path / "o.db")
    first = outbox.dead_letters()[0].rowid
    result = run("deadletters", "retry", str(first), "--outbox", str(tmp_path / "o.db"))
    assert result.returncode == 0 and result.stdout.startswith("1 dead letter(s) moved back")
    assert (outbox.pending(), len(outbox.dead_letters())) == (2, 1)
    assert run("deadletters", "retry", "--outbox", str(tmp_path / "o.db")).returncode != 0  # IDs or --all
    run("deadletters", "retry", "--all", "--outbox", str(tmp_path / "o.db"))
    assert (outbox.pending(), len(outbox.dead_letters())) == (3, 0)


def test_an_id_that_names_no_dead_letter_changes_nothing_and_says_so(tmp_path: Path) -> None:
    outbox = outbox_with_dead_letters(tmp_path / "o.db")
    first = outbox.dead_letters()[0].rowid
    for command in (["retry"], ["purge", "--yes"]):
        result = run("deadletters", *command, str(first), "97", "98", "--outbox", str(tmp_path / "o.db"))
        assert (result.returncode, result.stdout) == (1, "")
        assert result.stderr == ("verwerkingen-otel outbox: no dead letter with ID 97, 98 (`verwerkingen-otel "
                                 "outbox deadletters list` shows them); nothing changed\n")
        assert (outbox.pending(), len(outbox.dead_letters())) == (1, 2)


def test_purge_asks_for_confirmation(tmp_path: Path) -> None:
    outbox = outbox_with_dead_letters(tmp_path / "o.db")
    path = str(tmp_path / "o.db")
    refused = run("deadletters", "purge", "--all", "--outbox", path, stdin="no\n")
    assert refused.returncode == 1 and "Type 'yes'" in refused.stderr
    assert len(outbox.dead_letters()) == 2
    assert run("deadletters", "purge", "--all", "--outbox", path).returncode == 1  # EOF: refused
    confirmed = run("deadletters", "purge", "--all", "--outbox", path, stdin="yes\n")
    assert confirmed.returncode == 0 and "2 dead letter(s) purged" in confirmed.stdout
    assert outbox.dead_letters() == [] and outbox.pending() == 1


def test_purge_with_yes_and_missing_outbox(tmp_path: Path) -> None:
    outbox = outbox_with_dead_letters(tmp_path / "o.db")
    some = outbox.dead_letters()[0].rowid
    result = run("deadletters", "purge", str(some), "--yes", "--outbox", str(tmp_path / "o.db"))
    assert result.returncode == 0 and len(outbox.dead_letters()) == 1
    missing = run("status", "--outbox", str(tmp_path / "nope.db"))
    assert missing.returncode == 1 and "no outbox at" in missing.stderr
    assert not (tmp_path / "nope.db").exists()
    unset = run("status", env={"VERWERKINGEN_OUTBOX": ""})
    assert unset.returncode == 1 and "VERWERKINGEN_OUTBOX" in unset.stderr


def test_the_logs_texts_are_masked_unless_bodies_are_asked_for(tmp_path: Path) -> None:
    """Issue 11 item 7: another log may quote the record in its problem; the CLI masks digit runs
    like the exporter does (the stored problem JSON keeps everything)."""
    outbox = Outbox(tmp_path / "o.db")
    outbox.add(str(uuid.uuid4()), json.dumps(make_actie(str(uuid.uuid4())).to_api()), ["api"])
    [row] = outbox.claim("api", 1)
    problem = {"status": 400, "title": "Persoon 999993653 onbekend", "detail": "objectId 999993653 bestaat niet",
               "invalidParams": [{"name": "verwerkteObjecten.0.objectId", "code": "x", "reason": "999993653?"}]}
    outbox.complete(dead=[(row.rowid, 400, json.dumps(problem))])
    for args in (["deadletters", "list"], ["deadletters", "list", "--json"]):
        result = run(*args, "--outbox", str(tmp_path / "o.db"))
        assert result.returncode == 0 and "999993653" not in result.stdout, result.stdout
        assert "Persoon … onbekend" in result.stdout
    [shown] = json.loads(run("deadletters", "list", "--json", "--outbox", str(tmp_path / "o.db")).stdout)
    assert (shown["detail"], shown["invalidParams"][0]["reason"]) == ("objectId … bestaat niet", "…?")
