"""Annotation by activity: `activiteit="…"` resolved in the register (VERWERKINGEN_REGISTER), checked
at decoration or configure(), the register's defaults, and unknown activities at run time."""

from __future__ import annotations

import gc
import logging
from pathlib import Path
from typing import Any, Iterator

import pytest

import verwerkingen_otel as vo
from tests.support.logserver import LogServer
from tests.support.registers import ACTIVITEITEN, register_data, write_register
from tests.support.values import BSN_A
from verwerkingen_otel.capture import ConfigurationError, separate_annotations, current_pipeline
from verwerkingen_otel.testing import RecordedVerwerkingen

GESLACHTSNAAM, BIJSTAND, PARKEREN = (a["id"] for a in ACTIVITEITEN)



@pytest.fixture(autouse=True)
def own_annotations() -> Iterator[None]:
    """configure() checks every annotation alive in the process; these tests check their own only."""
    with separate_annotations():
        yield

@pytest.fixture(scope="module")
def register_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(write_register(tmp_path_factory.mktemp("register") / "register.toml", register_data()))


@pytest.fixture
def with_register(register_file: str, request: pytest.FixtureRequest) -> None:
    """Adds the register to the `verwerkingen` fixture's settings (its marker)."""
    request.node.add_marker(pytest.mark.verwerkingen(register=register_file))


def record(bsn: str = BSN_A, **kwargs: Any) -> vo.Actie:
    with vo.verwerkingsactie("Actie", **kwargs) as a:
        a.add_object(bsn)
    return a


def test_a_name_resolves_to_id_url_and_the_registers_defaults(with_register: None,
                                                              verwerkingen: RecordedVerwerkingen) -> None:
    @vo.verwerkingsactie("Beoordelen", activiteit="Beoordelen bijstandsaanvraag", objecten=[vo.persoon("bsn")])
    def beoordelen(bsn: str) -> None:
        pass

    beoordelen(BSN_A)
    body = verwerkingen.acties[0]
    assert body["verwerkingsactiviteitId"] == BIJSTAND
    assert body["verwerkingsactiviteitUrl"] == ACTIVITEITEN[1]["url"]
    assert (body["vertrouwelijkheid"], body["bewaartermijn"]) == ("vertrouwelijk", "P10Y")
    record(activiteit="Wijzigen van geslachtsnaam")  # no url in the register: none sent
    record(activiteit=GESLACHTSNAAM.upper())  # an id works too
    assert [(b["verwerkingsactiviteitId"], "verwerkingsactiviteitUrl" in b, b["bewaartermijn"])
            for b in verwerkingen.acties[1:]] == [(GESLACHTSNAAM, False, "P20Y")] * 2


@pytest.mark.verwerkingen(bewaartermijn="P99Y")
@pytest.mark.parametrize("argument, context, header, expected", [
    ("P1Y", "P2Y", "P3Y", "P1Y"),
    (None, "P2Y", "P3Y", "P2Y"),
    (None, None, "P3Y", "P3Y"),
    (None, None, None, "P20Y"),  # the register, above the setting (P99Y)
])
def test_bewaartermijn_argument_context_header_register_setting(
    with_register: None, verwerkingen: RecordedVerwerkingen, argument: str | None, context: str | None,
    header: str | None, expected: str,
) -> None:
    with vo.use_afnemer(vo.Afnemer(bewaartermijn=header)), vo.verwerking(bewaartermijn=context):
        record(activiteit="Wijzigen van geslachtsnaam", bewaartermijn=argument)
    assert verwerkingen.acties[0]["bewaartermijn"] == expected


@pytest.mark.verwerkingen(bewaartermijn="P99Y")
def test_without_a_register_default_the_setting_applies(with_register: None,
                                                        verwerkingen: RecordedVerwerkingen) -> None:
    record(activiteit="Verstrekken parkeervergunning")
    assert (verwerkingen.acties[0]["bewaartermijn"], verwerkingen.acties[0]["vertrouwelijkheid"]) == ("P99Y", "normaal")


def test_a_vertrouwelijk_register_default_is_never_lowered(with_register: None,
                                                           verwerkingen: RecordedVerwerkingen) -> None:
    record(activiteit="Beoordelen bijstandsaanvraag", vertrouwelijkheid="normaal")
    record(activiteit="Wijzigen van geslachtsnaam", vertrouwelijkheid="vertrouwelijk")
    assert [b["vertrouwelijkheid"] for b in verwerkingen.acties] == ["vertrouwelijk", "vertrouwelijk"]


def test_an_unknown_name_fails_at_decoration_naming_function_and_closest_names(
        with_register: None, verwerkingen: RecordedVerwerkingen) -> None:
    with pytest.raises(ConfigurationError) as info:
        @vo.verwerkingsactie("X", activiteit="wijzigen geslachtsnaam", objecten=[vo.persoon("bsn")])
        def wijzigen(bsn: str) -> None:
            pass
    assert str(info.value) == (
        f"activiteit: {__name__}.test_an_unknown_name_fails_at_decoration_naming_function_and_closest_names.<locals>"
        ".wijzigen: the register holds no verwerkingsactiviteit 'wijzigen geslachtsnaam'; closest names: "
        "'Wijzigen van geslachtsnaam'")
    with pytest.raises(ConfigurationError, match="verwerkingsactiviteit_id: .*: verwerkingsactiviteit_id "
                                                 "00000000-0000-4000-8000-000000000000 is not in the register"):
        @vo.verwerkingsactie("X", verwerkingsactiviteit_id="00000000-0000-4000-8000-000000000000")
        def onbekend() -> None:
            pass
    with pytest.raises(ConfigurationError, match="^activiteit: takes id and url from the register"):
        vo.verwerkingsactie("X", activiteit="Wijzigen van geslachtsnaam", verwerkingsactiviteit_id=GESLACHTSNAAM)


def test_a_name_held_twice_fails_listing_the_ids(tmp_path: Path) -> None:
    twin = dict(ACTIVITEITEN[0], id="0a000000-0000-4000-8000-000000000001")
    path = write_register(tmp_path / "r.json", register_data([*ACTIVITEITEN, twin]))
    vo.configure(delivery="memory", exporters="none", register=str(path))
    try:
        with pytest.raises(ConfigurationError) as info:
            @vo.verwerkingsactie("X", activiteit="Wijzigen van geslachtsnaam")
            def wijzigen() -> None:
                pass
        assert str(info.value).endswith("the register holds 2 verwerkingsactiviteiten named 'Wijzigen van "
                                        f"geslachtsnaam'; give one of their ids instead: "
                                        f"0a000000-0000-4000-8000-000000000001, {GESLACHTSNAAM}")
    finally:
        vo.shutdown()


def test_decorated_before_configure_is_checked_by_configure(register_file: str) -> None:
    assert current_pipeline() is None

    @vo.verwerkingsactie("X", activiteit="Beoordelen bijstandsaanvrag")
    def beoordelen() -> None:
        pass

    with pytest.raises(ConfigurationError) as info:
        vo.configure(delivery="memory", exporters="none", register=register_file)
    assert str(info.value).startswith("activiteit: ")
    assert ".beoordelen: the register holds no verwerkingsactiviteit 'Beoordelen bijstandsaanvrag'; closest " \
           "names: 'Beoordelen bijstandsaanvraag'" in str(info.value)
    assert current_pipeline() is None  # nothing installed
    with pytest.raises(ConfigurationError, match="needs a register of processing activities: set "
                                                 "VERWERKINGEN_REGISTER"):
        vo.configure(delivery="memory", exporters="none")
    del beoordelen
    gc.collect()
    vo.configure(delivery="memory", exporters="none", register=register_file)  # gone: no longer checked
    vo.shutdown()


def test_an_unknown_activity_at_run_time_is_recorded_as_annotated(register_file: str,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    pipeline = vo.configure(delivery="memory", exporters="memory", register=register_file)
    try:
        with caplog.at_level(logging.WARNING, logger="verwerkingen_otel.capture"):
            record(activiteit="Iets dat niet bestaat")  # a with-block: no decoration to refuse it
            record(verwerkingsactiviteit_id="00000000-0000-4000-8000-000000000000")
        pipeline.force_flush(5)
        bodies = pipeline.exporter("memory").bodies
        assert [b.get("verwerkingsactiviteitId") for b in bodies] == [None, "00000000-0000-4000-8000-000000000000"]
        assert pipeline.counters["unknown_activiteit"] == 2
        assert "verwerkingsactie 'Actie': the register does not hold the verwerkingsactiviteit 'Iets dat niet " \
               "bestaat'; recorded without verwerkingsactiviteitId" in caplog.text
        assert BSN_A not in caplog.text
    finally:
        vo.shutdown()


def test_a_bad_register_setting_fails_configure_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = register_data()
    data["verwerkingsactiviteiten"][0]["grondslag"] = "Geen"
    bad = write_register(tmp_path / "bad.yaml", data)
    with pytest.raises(ConfigurationError) as info:
        vo.configure(delivery="memory", exporters="none", register=str(bad))
    assert str(info.value).startswith(f"register: {bad}: 1 problem(s) in the register:\n  verwerkingsactiviteiten[0] "
                                      "'Wijzigen van geslachtsnaam': grondslag: must be one of the AVG grondslagen")
    monkeypatch.setenv("VERWERKINGEN_REGISTER", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigurationError) as info:
        vo.configure(delivery="memory", exporters="none")
    assert str(info.value) == f"VERWERKINGEN_REGISTER: {tmp_path}/missing.toml: file does not exist"


def test_a_var_api_register_is_cached_beside_the_outbox(tmp_path: Path, register_file: str,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    outbox = tmp_path / "outbox.db"
    server = LogServer(clients={"a": ("s" * 40, [])}, extra_args=["--register", register_file])
    with server:
        pipeline = vo.configure(outbox=str(outbox), exporters="memory", register=server.api_url)
        try:
            record(activiteit="Wijzigen van geslachtsnaam")
            pipeline.force_flush(5)
            body = pipeline.exporter("memory").bodies[0]
            assert body["verwerkingsactiviteitUrl"] == f"{server.api_url}/verwerkingsactiviteiten/{GESLACHTSNAAM}"
        finally:
            vo.shutdown()
    assert (tmp_path / "outbox.db.register.json").is_file()
    with caplog.at_level(logging.WARNING, logger="verwerkingen_otel.register"):
        pipeline = vo.configure(outbox=str(outbox), exporters="none", register=server.api_url)  # the log is down
    try:
        assert pipeline.register is not None and len(pipeline.register) == 3
        assert f"register {server.api_url} cannot be read (ConnectError); using the cached copy" in caplog.text
    finally:
        vo.shutdown()
    with pytest.raises(ConfigurationError, match="^register: register .* cannot be read \\(ConnectError\\) and "
                                                 "there is no cached copy at .*other.db.register.json$"):
        vo.configure(outbox=str(tmp_path / "other.db"), exporters="none", register=server.api_url)
