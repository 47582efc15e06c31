"""`register check`, `register load`, `users add`, and the serve options --register, --strict-activiteiten, --users."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.logserver import write_clients_file
from tests.support.registers import register_data, write_register
from verwerkingen_otel.server.pages.users import UserFile, load_users

SECRET = "a-secret-that-is-long-enough-0123456789abcdef"


def run_cli(*args: str, stdin: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "verwerkingen_otel.cli", *args], capture_output=True, text=True,
                          input=stdin, timeout=timeout)


def test_check_a_good_file(tmp_path: Path) -> None:
    path = write_register(tmp_path / "r.yaml", register_data())
    r = run_cli("register", "check", str(path))
    assert (r.returncode, r.stdout) == (0, f"{path}: 3 verwerkingsactiviteiten, no problems\n")


def test_check_prints_every_problem_with_activity_and_field(tmp_path: Path) -> None:
    data = register_data()
    data["verwerkingsactiviteiten"][0]["grondslag"] = "Belang"
    data["verwerkingsactiviteiten"][2]["naam"] = "x" * 243
    path = write_register(tmp_path / "r.toml", data)
    r = run_cli("register", "check", str(path))
    assert r.returncode == 1
    assert r.stdout.splitlines() == [
        f"{path}: verwerkingsactiviteiten[0] 'Wijzigen van geslachtsnaam': grondslag: must be one of the AVG "
        "grondslagen: Gerechtvaardigd belang, Publieke taak, Toestemming betrokkene, Uitvoering overeenkomst, "
        "Wettelijke verplichting",
        f"{path}: verwerkingsactiviteiten[2]: naam: must be at most 242 characters",
    ]
    assert r.stderr == "2 problem(s); the register cannot be loaded\n"
    missing = run_cli("register", "check", str(tmp_path / "nope.json"))
    assert (missing.returncode, missing.stdout) == (1, f"{tmp_path}/nope.json: file does not exist\n")


def test_load_refuses_a_broken_file_and_keeps_the_database(tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    good = write_register(tmp_path / "r.json", register_data())
    assert run_cli("register", "load", str(good), "--database", str(db)).returncode == 0
    data = register_data()
    data["verwerkingsactiviteiten"][1]["verantwoordelijkeOrganisatie"] = "123"
    bad = write_register(tmp_path / "bad.json", data)
    r = run_cli("register", "load", str(bad), "--database", str(db))
    assert r.returncode == 1
    assert "verwerkingsactiviteiten[1] 'Beoordelen bijstandsaanvraag': verantwoordelijkeOrganisatie: must be an OIN" in r.stderr
    assert "not loaded; the database keeps its previous version" in r.stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM vl_register_versies").fetchone() == (3,)
    r = run_cli("register", "load", str(good), "--database", "ftp://x/y")
    assert (r.returncode, r.stderr.strip()) == (2, "verwerkingen-otel register load: --database: unsupported "
                                                   "database URL scheme 'ftp' (use postgresql://... or sqlite:///path "
                                                   "or a file path)")


def test_serve_refuses_a_broken_register_naming_the_option(tmp_path: Path) -> None:
    clients = write_clients_file(tmp_path / "c.toml", {"a": (SECRET, ["read:normal"])})
    data = register_data()
    data["verwerkingsactiviteiten"][0]["id"] = "geen-uuid"
    bad = write_register(tmp_path / "bad.toml", data)
    r = run_cli("serve", "--database", str(tmp_path / "x.db"), "--clients", str(clients), "--register", str(bad))
    assert r.returncode == 2
    assert f"verwerkingen-otel serve: --register: {bad} cannot be loaded:\n" in r.stderr
    assert "  verwerkingsactiviteiten[0] 'Wijzigen van geslachtsnaam': id: must be a UUID" in r.stderr
    assert not (tmp_path / "x.db").exists()
    r = run_cli("serve", "--database", str(tmp_path / "x.db"), "--clients", str(clients), "--register",
                str(tmp_path / "none.toml"))
    assert (r.returncode, r.stderr) == (2, f"verwerkingen-otel serve: --register: {tmp_path}/none.toml: "
                                           "file does not exist\n")  # not "register: -: …"
    r = run_cli("serve", "--database", str(tmp_path / "x.db"), "--clients", str(clients), "--strict-activiteiten")
    assert (r.returncode, r.stderr.strip()) == (2, "verwerkingen-otel serve: --strict-activiteiten needs --register FILE")
    r = run_cli("serve", "--database", str(tmp_path / "x.db"), "--clients", str(clients), "--users",
                str(tmp_path / "none.toml"))
    assert r.returncode == 2 and f"--users: cannot read '{tmp_path}/none.toml'" in r.stderr


def test_users_add_writes_an_argon2_hash_only(tmp_path: Path) -> None:
    users = tmp_path / "users.toml"
    r = run_cli("users", "add", "anna", "--users", str(users), "--password-stdin", stdin="correct horse battery\n")
    assert (r.returncode, r.stdout) == (0, f"user anna (inzage) written to {users}\n")
    r = run_cli("users", "add", "bert", "--users", str(users), "--role", "inzage-vertrouwelijk", "--password-stdin",
                stdin="nog een lang wachtwoord\n")
    assert r.stdout == f"user bert (inzage, inzage-vertrouwelijk) written to {users}\n"
    text = users.read_text()
    assert "correct horse" not in text and text.count("$argon2id$") == 2
    assert stat.S_IMODE(users.stat().st_mode) == 0o600
    loaded = load_users(users)
    assert {n: sorted(u.roles) for n, u in loaded.items()} == {"anna": ["inzage"],
                                                               "bert": ["inzage", "inzage-vertrouwelijk"]}
    file = UserFile(users)
    assert file.verify("anna", "correct horse battery").name == "anna"
    assert file.verify("anna", "wrong password!!") is None and file.verify("nobody", "x") is None
    short = run_cli("users", "add", "carl", "--users", str(users), "--password-stdin", stdin="kort\n")
    assert (short.returncode, short.stderr.strip()) == (2, "verwerkingen-otel users add: password: at least 12 characters")


def test_users_add_without_a_terminal_points_at_password_stdin(tmp_path: Path) -> None:
    """A script that pipes the password without --password-stdin: no EOFError traceback."""
    users = tmp_path / "users.toml"
    r = run_cli("users", "add", "anna", "--users", str(users), stdin="correct horse battery\n")
    assert r.returncode == 2
    assert r.stderr.splitlines()[-1] == ("verwerkingen-otel users add: no password typed (input ended); "
                                         "a script gives it with --password-stdin")
    assert "Traceback" not in r.stderr and not users.exists()


@pytest.mark.parametrize("content, message", [
    ('[users.anna]\npassword = "plain"\nroles = ["inzage"]\n', "user 'anna': `password` must be an argon2 hash"),
    ('[users.anna]\npassword = "$argon2id$x"\nroles = ["admin"]\n', "user 'anna': `roles` must be a non-empty list"),
    ('[users."a b"]\npassword = "$argon2id$x"\nroles = ["inzage"]\n', "user 'a b': a name is 1-64 letters"),
])
def test_bad_users_files_name_the_user(tmp_path: Path, content: str, message: str) -> None:
    from verwerkingen_otel.server.errors import ConfigError

    path = tmp_path / "users.toml"
    path.write_text(content)
    with pytest.raises(ConfigError, match="--users: " + message.replace("(", r"\(")):
        load_users(path)
