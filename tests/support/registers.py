"""Register files for tests: a valid register (`ACTIVITEITEN`), written as TOML, YAML or JSON."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml

ACTIVITEITEN: list[dict[str, Any]] = [
    {
        "id": "5f0bef4c-f66f-4311-84a5-19e8bf359eaf", "naam": "Wijzigen van geslachtsnaam",
        "doel": "Verwerken van een verzoek tot geslachtsnaamwijziging", "grondslag": "Wettelijke verplichting",
        "toelichtingGrondslag": "BW Art. 1:20 lid 2", "verantwoordelijkeOrganisatie": "00000001821002193000",
        "categorie": "Burgerzaken", "bewaartermijn": "20 jaar", "bewaartermijnDuur": "P20Y",
        "verwerktePersoonsgegevens": [{"rolBetrokkene": "Aanvrager", "naam": "Naam"}],
        "afnemendeCategorieOntvangers": ["Ministerie van Justitie en Veiligheid"],
    },
    {
        "id": "7a3f1c52-3b0e-4d5c-8f6a-2b9e4c1d7e02", "naam": "Beoordelen bijstandsaanvraag",
        "doel": "Vaststellen of de aanvrager recht heeft op bijstand", "grondslag": "Publieke taak",
        "verantwoordelijkeOrganisatie": "00000001821002193000", "categorie": "Sociaal domein",
        "vertrouwelijkheid": "vertrouwelijk", "bewaartermijnDuur": "P10Y",
        "url": "https://var.gemeente.example/api/v1/verwerkingsactiviteiten/7a3f1c52-3b0e-4d5c-8f6a-2b9e4c1d7e02",
    },
    {
        "id": "c83b2d4e-119b-4214-9567-8095e1d30eff", "naam": "Verstrekken parkeervergunning",
        "doel": "Beslissen op een aanvraag voor een parkeervergunning", "grondslag": "Publieke taak",
        "verantwoordelijkeOrganisatie": "00000001821002193000", "categorie": "Parkeren",
    },
]


def register_data(activiteiten: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"verwerkingsactiviteiten": copy.deepcopy(ACTIVITEITEN if activiteiten is None else activiteiten)}


def toml_value(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


def write_register(path: Path, data: dict[str, Any]) -> Path:
    """Write `data` in the format the suffix names (.toml, .yaml, .json)."""
    if path.suffix == ".json":
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    elif path.suffix in (".yaml", ".yml"):
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    else:
        lines = []
        for item in data["verwerkingsactiviteiten"]:
            lines.append("[[verwerkingsactiviteiten]]")
            lines += [f"{k} = {toml_value(v)}" for k, v in item.items()]
            lines.append("")
        path.write_text("\n".join(lines), encoding="utf-8")
    return path
