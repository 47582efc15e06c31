"""`verwerkingen-otel register coverage`: an app's routes, what each records, and what nothing records."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.registers import ACTIVITEITEN, register_data, write_register

GESLACHTSNAAM, BIJSTAND, PARKEREN = (a["id"] for a in ACTIVITEITEN)

FLASK_APP = '''
from flask import Flask
import verwerkingen_otel as vo

app = Flask("dienst")

@app.get("/personen/<bsn>")
@vo.verwerkingsactie("Raadplegen", activiteit="Wijzigen van geslachtsnaam", objecten=[vo.persoon("bsn")])
def raadplegen(bsn):
    return {}

@app.post("/aanvragen/<int:nummer>")
@vo.verwerkingsactie("Beoordelen", activiteit="Beoordelen bijstandsaanvrag", objecten=[vo.persoon("nummer")])
def beoordelen(nummer):
    return {}

@app.get("/parkeren/<bsn>")
def parkeren(bsn):  # captured by the rules file
    return {}

@app.get("/health")
def health():
    return {}
'''

FASTAPI_APP = '''
from fastapi import FastAPI
from starlette.routing import Mount
import verwerkingen_otel as vo

app = FastAPI()
sub = FastAPI()
app.mount("/intern", sub)

@app.get("/personen/{bsn}")
@vo.verwerkingsactie("Raadplegen", verwerkingsactiviteit_id="''' + PARKEREN + '''", objecten=[vo.persoon("bsn")])
async def raadplegen(bsn: str):
    return {}

@sub.get("/aanvragen/{bsn}")
@vo.verwerkingsactie("Beoordelen", activiteit="Beoordelen bijstandsaanvraag", objecten=[vo.persoon("bsn")])
async def beoordelen(bsn: str):
    return {}
'''

RULES = '''
[[rules]]
name = "parkeren"
method = "GET"
route = "/parkeren/{bsn}"
actie_naam = "Verstrekken vergunning"
activiteit = "Verstrekken parkeervergunning"
[[rules.objecten]]
from = "path"
name = "bsn"
'''


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("VERWERKINGEN_")}
    return subprocess.run([sys.executable, "-m", "verwerkingen_otel.cli", "register", "coverage", *args],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)


def lines(r: subprocess.CompletedProcess[str]) -> list[str]:
    return [" ".join(line.split()) for line in r.stdout.splitlines()]


@pytest.fixture
def register_file(tmp_path: Path) -> str:
    return str(write_register(tmp_path / "register.json", register_data()))


def test_flask_routes_with_decorators_and_rules(tmp_path: Path, register_file: str) -> None:
    (tmp_path / "flaskdienst.py").write_text(FLASK_APP)
    (tmp_path / "rules.toml").write_text(RULES)
    r = run(tmp_path, "--app", "flaskdienst:app", "--rules", "rules.toml", "--register", register_file)
    assert r.returncode == 0, r.stderr
    assert lines(r) == [
        "routes of flaskdienst:app (4):",
        f"GET /personen/{{bsn}} decorator: 'Wijzigen van geslachtsnaam' ({GESLACHTSNAAM})",
        "POST /aanvragen/{nummer} decorator: 'Beoordelen bijstandsaanvrag' — NOT IN THE REGISTER",
        f"GET /parkeren/{{bsn}} rule: 'Verstrekken parkeervergunning' ({PARKEREN})",
        "GET /health — no verwerkingsactie recorded",
        "activities of the register that no route records (1 of 3):",
        f"'Beoordelen bijstandsaanvraag' ({BIJSTAND})",
    ]


def test_fastapi_routes_in_mounts_and_by_id(tmp_path: Path, register_file: str) -> None:
    (tmp_path / "fastdienst.py").write_text(FASTAPI_APP)
    r = run(tmp_path, "--app", "fastdienst:app", "--register", register_file)
    assert r.returncode == 0, r.stderr
    found = lines(r)
    assert f"GET /personen/{{bsn}} decorator: 'Verstrekken parkeervergunning' ({PARKEREN})" in found
    assert f"GET /intern/aanvragen/{{bsn}} decorator: 'Beoordelen bijstandsaanvraag' ({BIJSTAND})" in found
    assert "GET /docs — no verwerkingsactie recorded" in found  # FastAPI's own routes are listed too
    assert found[found.index("activities of the register that no route records (1 of 3):") + 1:] == [
        f"'Wijzigen van geslachtsnaam' ({GESLACHTSNAAM})"]


def test_a_decorator_above_its_route_is_named(tmp_path: Path, register_file: str) -> None:
    (tmp_path / "omgekeerd.py").write_text('''
from flask import Flask
import verwerkingen_otel as vo

app = Flask("dienst")

@vo.verwerkingsactie("Raadplegen", activiteit="Wijzigen van geslachtsnaam", objecten=[vo.persoon("bsn")])
@app.get("/personen/<bsn>")
def raadplegen(bsn):
    return {}
''')
    r = run(tmp_path, "--app", "omgekeerd:app", "--register", register_file)
    assert r.returncode == 0, r.stderr
    assert lines(r)[:2] == ["routes of omgekeerd:app (1):", "GET /personen/{bsn} — no verwerkingsactie recorded: "
                            "@verwerkingsactie sits above the route decorator"]
    assert "activities of the register that no route records (3 of 3):" in lines(r)


def test_mistakes_are_named(tmp_path: Path, register_file: str) -> None:
    r = run(tmp_path, "--app", "nergens:app", "--register", register_file)
    assert (r.returncode, r.stderr.strip()) == (2, "verwerkingen-otel register coverage: ModuleNotFoundError: "
                                                   "No module named 'nergens'")
    r = run(tmp_path, "--app", "zonderdubbelepunt")
    assert (r.returncode, r.stderr.strip()) == (2, "verwerkingen-otel register coverage: --register: give a "
                                                   "register (or set VERWERKINGEN_REGISTER)")
    r = run(tmp_path, "--app", "zonderdubbelepunt", "--register", register_file)
    assert r.stderr.strip() == ("verwerkingen-otel register coverage: ValueError: --app: give module:attribute, "
                                "e.g. myservice.main:app")
