"""Rules naming their activity by `activiteit`: checked in the register when the rules are loaded."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Iterator

import pytest

import verwerkingen_otel as vo
from tests.support.registers import ACTIVITEITEN, register_data, write_register
from verwerkingen_otel.capture import ConfigurationError, separate_annotations
from verwerkingen_otel.web import RulesError, load_path

pytestmark = pytest.mark.usefixtures("isolated_pipeline")

RULE = '''
[[rules]]
name = "{name}"
method = "GET"
route = "/personen/{{bsn}}"
actie_naam = "Raadplegen persoon"
{extra}
[[rules.objecten]]
from = "path"
name = "bsn"
'''


def rules_file(tmp_path: Path, extra: str, name: str = "persoon") -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(RULE.format(name=name, extra=extra), encoding="utf-8")
    return path



@pytest.fixture(autouse=True)
def own_annotations() -> Iterator[None]:
    """configure() checks every annotation alive in the process; these tests check their own only."""
    with separate_annotations():
        yield

@pytest.fixture
def register_file(tmp_path: Path) -> str:
    return str(write_register(tmp_path / "register.toml", register_data()))


def test_a_rule_may_name_its_activity(tmp_path: Path, register_file: str) -> None:
    vo.configure(delivery="memory", exporters="none", register=register_file)
    try:
        rules = load_path(rules_file(tmp_path, 'activiteit = "Wijzigen van geslachtsnaam"'))
        assert rules is not None and rules.rules[0].actie["activiteit"] == "Wijzigen van geslachtsnaam"
    finally:
        vo.shutdown()


def test_an_unknown_activity_in_a_rule_fails_naming_the_rule(tmp_path: Path, register_file: str) -> None:
    path = rules_file(tmp_path, 'activiteit = "Wijzigen geslachtsnaam"', name="naam wijzigen")
    vo.configure(delivery="memory", exporters="none", register=register_file)
    try:
        with pytest.raises(ConfigurationError) as info:
            load_path(path)
        assert str(info.value) == (f"activiteit: rules file {path}, rule 'naam wijzigen': the register holds no "
                                   "verwerkingsactiviteit 'Wijzigen geslachtsnaam'; closest names: "
                                   "'Wijzigen van geslachtsnaam'")
    finally:
        vo.shutdown()


def test_rules_loaded_before_configure_are_checked_by_it(tmp_path: Path, register_file: str) -> None:
    rules = load_path(rules_file(tmp_path, f'verwerkingsactiviteit_id = "{"0" * 8}-0000-4000-8000-{"0" * 12}"'))
    with pytest.raises(ConfigurationError, match="^verwerkingsactiviteit_id: rules file .*, rule 'persoon': "
                                                 "verwerkingsactiviteit_id 00000000-.* is not in the register$"):
        vo.configure(delivery="memory", exporters="none", register=register_file)
    del rules
    gc.collect()
    vo.configure(delivery="memory", exporters="none", register=register_file)
    vo.shutdown()


@pytest.mark.parametrize("extra, message", [
    (f'activiteit = "Wijzigen van geslachtsnaam"\nverwerkingsactiviteit_id = "{ACTIVITEITEN[0]["id"]}"',
     "key 'activiteit': takes id and url from the register"),
    ("", "key 'verwerkingsactiviteit_id': is required (or `activiteit`: a naam or id in the register)"),
    ('activiteit = ""', "key 'activiteit': must be a string"),
])
def test_rule_keys_are_checked(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(RulesError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_path(rules_file(tmp_path, extra))
