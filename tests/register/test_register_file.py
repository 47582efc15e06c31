"""Register files: the three formats, every field rule of the VAR schema, lookup and suggestions."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from tests.support.registers import ACTIVITEITEN, register_data, write_register
from verwerkingen_otel.register import (
    GRONDSLAGEN, AmbiguousActiviteit, FileSource, InvalidRegister, Problem, RegisterError, UnknownActiviteit,
    load_register, parse_register,
)


@pytest.mark.parametrize("suffix", [".toml", ".yaml", ".yml", ".json"])
def test_every_format_gives_the_same_register(tmp_path: Path, suffix: str) -> None:
    register = load_register(str(write_register(tmp_path / f"r{suffix}", register_data())))
    assert [a.naam for a in register] == [a["naam"] for a in ACTIVITEITEN]
    a = register.lookup("Wijzigen van geslachtsnaam")
    assert a.id == "5f0bef4c-f66f-4311-84a5-19e8bf359eaf"
    assert a.bewaartermijn_duur == "P20Y" and a.vertrouwelijkheid is None
    assert a.verwerkte_persoonsgegevens[0].rol_betrokkene == "Aanvrager"
    assert a.to_dict() == ACTIVITEITEN[0]
    b = register.lookup("7a3f1c52-3b0e-4d5c-8f6a-2b9e4c1d7e02")
    assert (b.vertrouwelijkheid, b.url) == ("vertrouwelijk", ACTIVITEITEN[1]["url"])


def test_the_api_form_holds_only_var_fields() -> None:
    register = parse_register(register_data(), "r")
    api = register.lookup("Beoordelen bijstandsaanvraag").to_api()
    assert api == {k: v for k, v in ACTIVITEITEN[1].items() if k not in ("url", "vertrouwelijkheid", "bewaartermijnDuur")}


def test_the_example_register_is_valid() -> None:
    root = Path(__file__).resolve().parents[2]
    register = load_register(str(root / "examples" / "register" / "register.toml"))
    assert len(register) == 3 and register.categorieen() == ["Burgerzaken", "Sociaal domein"]


def _problems(change: dict[str, Any], index: int = 0, drop: tuple[str, ...] = ()) -> list[Problem]:
    data = register_data()
    item = data["verwerkingsactiviteiten"][index]
    item.update(change)
    for key in drop:
        del item[key]
    with pytest.raises(InvalidRegister) as info:
        parse_register(data, "r.toml")
    return info.value.problems


WIE = "verwerkingsactiviteiten[0] 'Wijzigen van geslachtsnaam'"


@pytest.mark.parametrize("change, field, code", [
    ({"id": "not-a-uuid"}, "id", "invalid_uuid"),
    ({"id": 42}, "id", "invalid"),
    ({"verantwoordelijkeOrganisatie": "1821002193000"}, "verantwoordelijkeOrganisatie", "invalid_oin"),
    ({"verantwoordelijkeOrganisatie": "0000000182100219300a"}, "verantwoordelijkeOrganisatie", "invalid_oin"),
    ({"grondslag": "Algemeen belang"}, "grondslag", "choice"),
    ({"grondslag": "wettelijke verplichting"}, "grondslag", "choice"),
    ({"doel": "x" * 2043}, "doel", "max_length"),
    ({"doel": "   "}, "doel", "blank"),
    ({"toelichtingGrondslag": "x" * 2043}, "toelichtingGrondslag", "max_length"),
    ({"bewaartermijn": "x" * 2043}, "bewaartermijn", "max_length"),
    ({"herkomst": "x" * 2043}, "herkomst", "max_length"),
    ({"gebaseerdOp": "geen uri"}, "gebaseerdOp", "invalid_uri"),
    ({"gebaseerdOp": "https://x.example/" + "a" * 2030}, "gebaseerdOp", "max_length"),
    ({"afnemendeCategorieOntvangers": ["x" * 243]}, "afnemendeCategorieOntvangers.0", "max_length"),
    ({"afnemendeInternationaleDerden": "UWV"}, "afnemendeInternationaleDerden", "invalid"),
    ({"verwerktePersoonsgegevens": [{"naam": "x" * 243}]}, "verwerktePersoonsgegevens.0.naam", "max_length"),
    ({"verwerktePersoonsgegevens": [{"soort": "Naam"}]}, "verwerktePersoonsgegevens.0.soort", "unknown_field"),
    ({"vertrouwelijkheid": "opgeheven"}, "vertrouwelijkheid", "choice"),
    ({"bewaartermijnDuur": "20 jaar"}, "bewaartermijnDuur", "invalid_duration"),
    ({"url": "/relatief"}, "url", "invalid_uri"),
    ({"doel": "a\x00b"}, "doel", "invalid_characters"),
    ({"onbekend": "x"}, "onbekend", "unknown_field"),
])
def test_each_field_rule_names_activity_and_field(change: dict[str, Any], field: str, code: str) -> None:
    assert [(p.activiteit, p.field, p.code) for p in _problems(change)] == [(WIE, field, code)]


def test_the_five_grondslagen_are_accepted() -> None:
    assert len(GRONDSLAGEN) == 5
    for grondslag in GRONDSLAGEN:
        data = register_data()
        data["verwerkingsactiviteiten"][0]["grondslag"] = grondslag
        assert parse_register(data, "r").lookup("Wijzigen van geslachtsnaam").grondslag == grondslag


def test_the_longest_allowed_values_are_accepted() -> None:
    data = register_data()
    data["verwerkingsactiviteiten"][0].update(naam="n" * 242, doel="d" * 2042, herkomst="h" * 2042)
    assert parse_register(data, "r").lookup("n" * 242).doel == "d" * 2042


@pytest.mark.parametrize("field", ["id", "naam", "doel", "grondslag", "verantwoordelijkeOrganisatie"])
def test_required_fields(field: str) -> None:
    problems = _problems({}, drop=(field,))
    who = "verwerkingsactiviteiten[0]" if field == "naam" else WIE
    assert [(p.activiteit, p.field, p.code) for p in problems] == [(who, field, "required")]


def test_all_problems_are_reported_at_once_and_say_where() -> None:
    data = register_data()
    data["verwerkingsactiviteiten"][0]["grondslag"] = "Onbekend"
    data["verwerkingsactiviteiten"][2]["verantwoordelijkeOrganisatie"] = "123"
    data["verwerkingsactiviteiten"][2]["id"] = data["verwerkingsactiviteiten"][0]["id"]
    with pytest.raises(InvalidRegister) as info:
        parse_register(data, "r.toml")
    assert [str(p) for p in info.value.problems] == [
        f"{WIE}: grondslag: must be one of the AVG grondslagen: " + ", ".join(GRONDSLAGEN),
        "verwerkingsactiviteiten[2] 'Verstrekken parkeervergunning': verantwoordelijkeOrganisatie: "
        "must be an OIN of exactly 20 digits",
    ]
    data["verwerkingsactiviteiten"][0]["grondslag"] = "Publieke taak"
    data["verwerkingsactiviteiten"][2]["verantwoordelijkeOrganisatie"] = "00000001821002193000"
    with pytest.raises(InvalidRegister) as info:
        parse_register(data, "r.toml")
    assert [str(p) for p in info.value.problems] == [
        "verwerkingsactiviteiten[2] 'Verstrekken parkeervergunning': id: is also the id of verwerkingsactiviteiten[0]"]
    assert str(info.value).startswith("r.toml: 1 problem(s) in the register:\n  verwerkingsactiviteiten[2]")


@pytest.mark.parametrize("data, field", [
    ([], "-"),
    ({"verwerkingsactiviteiten": {"id": "x"}}, "verwerkingsactiviteiten"),
    ({}, "verwerkingsactiviteiten"),
])
def test_a_file_of_the_wrong_shape(data: Any, field: str) -> None:
    with pytest.raises(InvalidRegister) as info:
        parse_register(data, "r.json")
    assert [p.field for p in info.value.problems] == [field]


def test_unreadable_files_name_the_file(tmp_path: Path) -> None:
    cases = {
        "missing.toml": (None, "missing.toml: file does not exist"),
        "r.txt": ("x", "r.txt: a register file ends in .toml, .yaml, .yml or .json"),
        "bad.toml": ("[[verwerkingsactiviteiten]\n", "bad.toml: not valid TOML"),
        "bad.json": ("{", "bad.json: not valid JSON"),
        "bad.yaml": ("a: [", "bad.yaml: not valid YAML"),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / name
        if content is not None:
            path.write_text(content)
        with pytest.raises(RegisterError) as info:
            FileSource(path).load()
        assert str(info.value).startswith(f"{tmp_path}/{message}"), name


def test_lookup_by_id_is_case_insensitive_and_by_name_exact() -> None:
    register = parse_register(register_data(), "r")
    assert register.lookup("5F0BEF4C-F66F-4311-84A5-19E8BF359EAF").naam == "Wijzigen van geslachtsnaam"
    assert "5f0bef4c-f66f-4311-84a5-19e8bf359eaf" in register and "x" not in register


def test_unknown_names_suggest_the_closest() -> None:
    register = parse_register(register_data(), "r")
    with pytest.raises(UnknownActiviteit) as info:
        register.lookup("wijzigen geslachtsnaam")
    assert info.value.suggestions == ["Wijzigen van geslachtsnaam"]
    assert str(info.value) == ("the register holds no verwerkingsactiviteit named or with id 'wijzigen geslachtsnaam'; "
                               "closest names: 'Wijzigen van geslachtsnaam'")
    with pytest.raises(UnknownActiviteit) as info:
        register.lookup("Iets heel anders")
    assert info.value.suggestions == []
    with pytest.raises(UnknownActiviteit):
        register.lookup("00000000-0000-4000-8000-000000000000")


def test_a_name_held_twice_lists_the_ids() -> None:
    items = copy.deepcopy(ACTIVITEITEN)
    twin = dict(items[0], id="0a000000-0000-4000-8000-000000000001", verantwoordelijkeOrganisatie="00000001002220647000")
    register = parse_register({"verwerkingsactiviteiten": [*items, twin]}, "r")
    with pytest.raises(AmbiguousActiviteit) as info:
        register.lookup("Wijzigen van geslachtsnaam")
    assert info.value.ids == ["0a000000-0000-4000-8000-000000000001", "5f0bef4c-f66f-4311-84a5-19e8bf359eaf"]
    assert "give one of their ids instead: 0a000000-0000-4000-8000-000000000001, 5f0bef4c-" in str(info.value)
    assert register.lookup("0a000000-0000-4000-8000-000000000001").verantwoordelijke_organisatie == "00000001002220647000"
