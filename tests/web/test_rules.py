"""The route rules file: checked at start-up, matched per request, persons found per source."""

from __future__ import annotations

from pathlib import Path

import pytest

from verwerkingen_otel.web import RulesError, canonical_route, find_objects, load_rules, rules_from_env

ACT = "5f0bef4c-f66f-4311-84a5-19e8bf359eaf"

GOOD = f"""
[[rules]]
name = "persoon raadplegen"
method = "GET"
route = "/personen/<int:bsn>"
actie_naam = "Raadplegen persoon"
verwerkingsactiviteit_id = "{ACT}"
vertrouwelijkheid = "Vertrouwelijk"
bewaartermijn = "P10Y"

[[rules.objecten]]
from = "path"
name = "bsn"
soorten_gegevens = ["Naam", "Adres"]

[[rules]]
name = "zoeken"
method = "GET"
route = "/personen/zoeken"
actie_naam = "Zoeken persoon"
verwerkingsactiviteit_id = "{ACT}"

[[rules.objecten]]
from = "response"
pointer = "/resultaten/*/bsn"
betrokkenheid = "Getoond in zoekresultaat"
betrokkenheid_pointer = "/rol"

[[rules]]
method = "POST"
route = "/huwelijken"
actie_naam = "Registreren huwelijk"
verwerkingsactiviteit_id = "{ACT}"

[[rules.objecten]]
from = "body"
pointer = "/partners/*/bsn"
betrokkenheid = "Partner"

[[rules.objecten]]
from = "query"
name = "getuige"
betrokkenheid = "Getuige"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(text)
    return path


def test_load_and_match(tmp_path: Path) -> None:
    rules = load_rules(write(tmp_path, GOOD))
    assert len(rules) == 3
    match = rules.match("GET", "/personen/999993653")
    assert match is not None and match.rule.name == "persoon raadplegen"
    assert match.path_params == {"bsn": "999993653"}
    assert match.rule.actie == {
        "actie_naam": "Raadplegen persoon",
        "verwerkingsactiviteit_id": ACT,
        "vertrouwelijkheid": "vertrouwelijk",
        "bewaartermijn": "P10Y",
    }
    # the literal route wins over the parameterised one, as in Flask and Starlette
    assert rules.match("GET", "/personen/zoeken").rule.name == "zoeken"  # type: ignore[union-attr]
    assert rules.match("HEAD", "/personen/999993653").rule.name == "persoon raadplegen"  # type: ignore[union-attr]
    assert rules.match("POST", "/personen/999993653") is None
    assert rules.match("GET", "/personen/1/extra") is None
    assert rules.for_route("POST", "/huwelijken", {}).rule.name == "rules[2]"  # type: ignore[union-attr]
    assert rules.for_route("GET", "/personen/{bsn:int}", {"bsn": 999993653}).path_params == {"bsn": "999993653"}  # type: ignore[union-attr]
    assert rules.check_routes({"/personen/<int:bsn>", "/huwelijken"}) == ["zoeken"]


def test_canonical_route() -> None:
    assert canonical_route("/a/<int:x>/<y>/{z}/{p:path}") == "/a/{x}/{y}/{z}/{p}"


def test_find_objects_from_every_source(tmp_path: Path) -> None:
    rules = load_rules(write(tmp_path, GOOD))
    search = rules.match("GET", "/personen/zoeken")
    assert search is not None
    found = find_objects(
        search.rule,
        path_params={},
        query=None,
        request_json=None,
        response_json={"resultaten": [{"bsn": "999993653", "rol": "Kind"}, {"bsn": 999995017}, {"bsn": "123456789"},
                                      {"bsn": None}, {"naam": "x"}]},
    )
    label = "rule 'zoeken', objecten[0]"
    # an invalid value is found like any other (add_object turns it into the placeholder);
    # JSON null and a missing key are no person
    assert [(f.object_id, f.betrokkenheid, f.label) for f in found] == [
        ("999993653", "Kind", label),
        (999995017, "Getoond in zoekresultaat", label),
        ("123456789", "Getoond in zoekresultaat", label),
    ]
    post = rules.match("POST", "/huwelijken")
    assert post is not None
    found = find_objects(
        post.rule,
        path_params={},
        query={"getuige": ["999990019"]},
        request_json={"partners": [{"bsn": "999993653"}, {"bsn": "999995017"}]},
        response_json=None,
    )
    partner = {"objecttype": "persoon", "soort_object_id": "BSN", "betrokkenheid": "Partner", "soorten_gegevens": [],
               "label": "rule 'rules[2]', objecten[0]"}
    assert [f.as_kwargs() for f in found] == [
        {**partner, "object_id": "999993653"},
        {**partner, "object_id": "999995017"},
        {"objecttype": "persoon", "soort_object_id": "BSN", "object_id": "999990019", "betrokkenheid": "Getuige",
         "soorten_gegevens": [], "label": "rule 'rules[2]', objecten[1]"},
    ]


def test_absent_values_are_no_person(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    rules = load_rules(write(tmp_path, GOOD))
    post = rules.match("POST", "/huwelijken")
    assert post is not None
    found = find_objects(post.rule, path_params={}, query={}, request_json={"partners": []}, response_json=None)
    assert found == []
    assert "rule 'rules[2]', objecten[0]: no person found in the body" in caplog.text
    assert "rule 'rules[2]', objecten[1]: no person found in the query" in caplog.text


RULE_HEAD = f"""[[rules]]
name = "r"
method = "GET"
route = "/p/{{bsn}}"
actie_naam = "A"
verwerkingsactiviteit_id = "{ACT}"
"""
OBJ = """[[rules.objecten]]
from = "path"
name = "bsn"
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (RULE_HEAD + "colour = 1\n" + OBJ, "rule 'r': key 'colour': unknown key"),
        (RULE_HEAD.replace('method = "GET"', 'method = "FETCH"') + OBJ, "rule 'r': key 'method': is required, one of"),
        (RULE_HEAD.replace('route = "/p/{bsn}"', 'route = "p"') + OBJ, "rule 'r': key 'route': is required and must start with /"),
        (RULE_HEAD.replace(ACT, "nope"), "rule 'r': key 'verwerkingsactiviteit_id': must be a UUID"),
        (RULE_HEAD.replace('actie_naam = "A"\n', ""), "rule 'r': key 'actie_naam': is required"),
        (RULE_HEAD, "rule 'r': key 'objecten': is required"),
        (RULE_HEAD + OBJ.replace('name = "bsn"', 'name = "nummer"'), "rule 'r': key 'objecten[0].name': is not a parameter of the route"),
        (RULE_HEAD + OBJ.replace('"path"', '"cookie"'), "rule 'r': key 'objecten[0].from': is required, one of path, query, body, response"),
        (RULE_HEAD + '[[rules.objecten]]\nfrom = "body"\n', "rule 'r': key 'objecten[0].pointer': is required for from = 'body'"),
        (RULE_HEAD + '[[rules.objecten]]\nfrom = "body"\npointer = "bsn"\n', "rule 'r': key 'objecten[0].pointer': must be a JSON pointer"),
        (RULE_HEAD + OBJ + 'vertrouwelijkheid = "geheim"\n', "rule 'r': key 'objecten[0].vertrouwelijkheid': unknown key"),
        (RULE_HEAD + OBJ + RULE_HEAD.replace('name = "r"', 'name = "r2"') + OBJ, "rule 'r2': key 'route': GET /p/{bsn} is already mapped by rule 'r'"),
        ("[[regels]]\n", "unknown key 'regels'"),
        ("[[rules]\n", "not valid TOML"),
    ],
)
def test_mistakes_name_file_rule_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(RulesError) as info:
        load_rules(path)
    assert str(path) in str(info.value)
    assert message in str(info.value)


def test_env(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    assert rules_from_env({}) is None
    assert len(rules_from_env({"VERWERKINGEN_RULES": str(path)})) == 3  # type: ignore[arg-type]
    with pytest.raises(RulesError, match="^VERWERKINGEN_RULES: rules file .*missing.toml: not found$"):
        rules_from_env({"VERWERKINGEN_RULES": str(tmp_path / "missing.toml")})


def test_check_rules_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from verwerkingen_otel.cli import main

    good = write(tmp_path, GOOD)
    assert main(["check-rules", str(good)]) == 0
    out = capsys.readouterr().out
    assert f"{good}: 3 rule(s) OK" in out
    assert "  GET /personen/{bsn} -> 'Raadplegen persoon' (path bsn)" in out
    bad = tmp_path / "bad.toml"
    bad.write_text(RULE_HEAD)
    assert main(["check-rules", str(bad)]) == 1
    assert capsys.readouterr().err == f"error: rules file {bad}, rule 'r': key 'objecten': is required: at least one [[rules.objecten]] saying where persons come from\n"
