"""`pip install verwerkingen-otel` without extras: the core works, and a feature that needs an
extra says which one (`pip install 'verwerkingen-otel[server]'`) instead of a traceback.

Each case runs in a fresh interpreter in which the extras' libraries cannot be imported: a
finder first on `sys.meta_path` answers for them exactly as an absent package does
(ModuleNotFoundError naming the module). The same was checked by hand in a real venv made with
`pip install .` and no extras.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# every library an extra brings (pyproject.toml); the core is opentelemetry api/sdk, wrapt, httpx
EXTRAS_LIBRARIES = ["flask", "fastapi", "starlette", "uvicorn", "sqlalchemy", "jwt", "jinja2", "argon2",
                    "multipart", "python_multipart", "yaml", "prometheus_client", "psycopg", "google.protobuf",
                    "opentelemetry.proto", "opentelemetry.instrumentation", "opentelemetry.exporter", "grpc"]

BLOCK = textwrap.dedent(f"""
    import sys

    BLOCKED = {EXTRAS_LIBRARIES!r}

    class NotInstalled:
        @staticmethod
        def find_spec(name, path=None, target=None):
            if any(name == b or name.startswith(b + ".") for b in BLOCKED):
                raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
            return None

    sys.meta_path.insert(0, NotInstalled)
""")


def run_without_extras(code: str, cwd: Path, blocked: list[str] = EXTRAS_LIBRARIES) -> subprocess.CompletedProcess[str]:
    env_code = BLOCK.replace(repr(EXTRAS_LIBRARIES), repr(blocked)) + textwrap.dedent(code)
    return subprocess.run([sys.executable, "-c", env_code], cwd=cwd, capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(cwd),
                               **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"}})


def cli(*args: str) -> str:
    return f"import sys\nfrom verwerkingen_otel.cli import main\nsys.exit(main({list(args)!r}))\n"


def test_the_blocker_blocks(tmp_path: Path) -> None:
    done = run_without_extras("import sqlalchemy", tmp_path)
    assert done.returncode == 1
    assert "ModuleNotFoundError: No module named 'sqlalchemy'" in done.stderr


def test_the_decorator_and_the_console_exporter_work_without_extras(tmp_path: Path) -> None:
    done = run_without_extras("""
        import verwerkingen_otel as vo

        vo.configure(delivery="sync", exporters="console", systeem="Burgerzaken")

        @vo.verwerkingsactie(actie_naam="Raadplegen persoon",
                             verwerkingsactiviteit_id="5f0bef4c-f66f-4311-84a5-19e8bf359eaf",
                             objecten=[vo.persoon("bsn")])
        def raadplegen(bsn):
            return bsn

        raadplegen("999993653")
    """, tmp_path)
    assert done.returncode == 0, done.stderr
    assert '"actieNaam":"Raadplegen persoon"' in done.stdout
    assert '"objectId":"999993653"' in done.stdout


def test_the_cli_help_works_without_extras_and_speaks_to_users(tmp_path: Path) -> None:
    done = run_without_extras(cli("--help"), tmp_path)
    assert done.returncode == 0, done.stderr
    assert "add_<name>_parser" not in done.stdout  # the module's docstring is for contributors
    assert "verwerkingen-otel COMMAND --help" in " ".join(done.stdout.split())
    for command in ["serve", "outbox", "register", "purge", "generate", "ldv", "inzage", "check-rules", "users"]:
        assert re.search(rf"^    {command}\b", done.stdout, re.MULTILINE), command


@pytest.mark.parametrize(("args", "extra"), [
    (["serve", "--dev"], "server"),
    (["purge", "--database", "log.db", "--dry-run"], "server"),
    (["generate", "--database", "log.db", "--actions", "10"], "server"),
    (["users", "add", "privacy", "--users", "users.toml"], "server"),
])
def test_a_command_that_needs_an_extra_names_it(args: list[str], extra: str, tmp_path: Path) -> None:
    done = run_without_extras(cli(*args), tmp_path)
    assert done.returncode == 2, done.stderr
    assert f"verwerkingen-otel {args[0]} needs the {extra} extra: pip install 'verwerkingen-otel[{extra}]'" \
        in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "log.db").exists()


def test_commands_of_the_core_work_without_extras(tmp_path: Path) -> None:
    (tmp_path / "ldv.key").write_bytes(b"k" * 32)
    done = run_without_extras(cli("ldv", "pseudonym", "--key-file", "ldv.key", "--bsn", "999993653"), tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.strip()) == 64
    done = run_without_extras(cli("outbox", "status", "--outbox", "outbox.db"), tmp_path)
    assert (done.returncode, done.stderr) == (1, "verwerkingen-otel outbox: no outbox at 'outbox.db' "
                                                 "(--outbox / VERWERKINGEN_OUTBOX)\n")


@pytest.mark.parametrize(("statement", "message"), [
    ("from verwerkingen_otel.flask import Verwerkingen",
     "verwerkingen_otel.flask needs Flask: pip install 'verwerkingen-otel[flask]'"),
    ("from verwerkingen_otel.fastapi import instrument_app",
     "verwerkingen_otel.fastapi needs FastAPI or Starlette: pip install 'verwerkingen-otel[fastapi]'"),
    ("from verwerkingen_otel.web import VerwerkingenInstrumentor",
     "VerwerkingenInstrumentor needs opentelemetry-instrumentation: pip install 'verwerkingen-otel[instrument]'"),
])
def test_a_framework_face_without_its_extra_names_the_extra(statement: str, message: str, tmp_path: Path) -> None:
    done = run_without_extras(statement, tmp_path)
    assert done.returncode == 1
    assert f"ModuleNotFoundError: {message}" in done.stderr


@pytest.mark.parametrize("command", [["serve", "--clients", "clients.toml"], ["purge"], ["generate", "--actions", "5"]])
def test_postgresql_without_the_postgres_extra_names_it(command: list[str], tmp_path: Path) -> None:
    """The server extra is there, psycopg is not: `--database postgresql://…` says which extra."""
    (tmp_path / "clients.toml").write_text('[clients.a]\nsecret = "at-least-32-random-bytes-please-0123456789"\n'
                                           'scopes = ["create:normal"]\n')
    done = run_without_extras(cli(*command, "--database", "postgresql://log@127.0.0.1:9/verwerkingen"), tmp_path,
                              blocked=["psycopg"])
    assert done.returncode == 2, done.stderr
    assert done.stderr.endswith(f"verwerkingen-otel {command[0]}: --database: PostgreSQL needs the postgres extra "
                                "(psycopg 3): pip install 'verwerkingen-otel[postgres]'\n"), done.stderr


@pytest.mark.parametrize(("words", "listed"), [
    (["outbox"], "    deadletters"), (["register"], "    coverage"), (["users", "add"], "--password-stdin"),
])
def test_a_command_given_without_what_it_needs_shows_its_help(words: list[str], listed: str, tmp_path: Path) -> None:
    done = run_without_extras(cli(*words), tmp_path, blocked=[])
    assert done.returncode == 2
    assert "error: the following arguments are required" in done.stderr
    assert f"usage: verwerkingen-otel {' '.join(words)} [-h]" in done.stdout and listed in done.stdout


def test_a_word_that_is_no_command_is_said_once(tmp_path: Path) -> None:
    done = run_without_extras(cli("outbox", "nonsense"), tmp_path, blocked=[])
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("invalid choice: 'nonsense'") == 1
