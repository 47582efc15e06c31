"""The pytest plugin itself, run in a separate pytest process on generated test files."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from verwerkingen_otel.testing import RecordedVerwerkingen
import verwerkingen_otel as vo

from tests.support.values import BSN_A, BSN_B


def run_pytest(tmp_path: Path, source: str, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_generated.py").write_text(textwrap.dedent(source), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VERWERKINGEN_") and k != "PYTEST_ADDOPTS"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning",
         str(tmp_path), *args],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )


USING_THE_FIXTURE = '''
    import pytest
    import verwerkingen_otel as vo
    from verwerkingen_otel import capture as pipeline

    @pytest.fixture(scope="module", autouse=True)
    def outer():
        installed = vo.configure(delivery="sync", exporters=["memory"])
        yield installed
        assert pipeline.current_pipeline() is installed, "the fixture did not restore the pipeline"
        assert installed.exporter("memory").records == [], "an action leaked into the outer pipeline"

    @vo.verwerkingsactie(actie_naam="Raadplegen", objecten=[vo.persoon("bsn", betrokkenheid="Aanvrager")])
    def raadplegen(bsn):
        return bsn

    def test_records(verwerkingen):
        raadplegen("999993653")
        body = verwerkingen.assert_one(actie_naam="Raadplegen")
        assert body["verwerkteObjecten"][0]["objectId"] == "999993653"
        assert verwerkingen.for_bsn(999993653) == [body]

    def test_strict_by_default(verwerkingen):
        with pytest.raises(vo.ValidationError):
            raadplegen("123")

    @pytest.mark.verwerkingen(strict=False, systeem="Plugin")
    def test_marker_settings(verwerkingen):
        raadplegen("123")
        assert verwerkingen.acties[0]["systeem"] == "Plugin"

    def test_isolated_from_the_previous_test(verwerkingen):
        assert verwerkingen.acties == []

    class TestMarkers:
        pytestmark = pytest.mark.verwerkingen(systeem="Klasse", gegevensbron="BRP")

        @pytest.mark.verwerkingen(systeem="Test")
        def test_closest_marker_wins(self, verwerkingen):
            raadplegen("999993653")
            body = verwerkingen.acties[0]
            assert (body["systeem"], body["gegevensbron"]) == ("Test", "BRP")

    def test_assert_one_explains(verwerkingen):
        raadplegen("999993653")
        raadplegen("999993653")
        with pytest.raises(AssertionError) as info:
            verwerkingen.assert_one(actie_naam="Raadplegen")
        assert "found 2" in str(info.value) and "'Raadplegen' (1 objecten)" in str(info.value)
'''


def test_plugin_fixture_in_a_fresh_pytest_process(tmp_path: Path) -> None:
    done = run_pytest(tmp_path, USING_THE_FIXTURE)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "6 passed" in done.stdout


def test_plugin_configures_nothing_unless_the_fixture_is_used(tmp_path: Path) -> None:
    source = '''
        from verwerkingen_otel import capture as pipeline

        def test_nothing_configured():
            assert pipeline.current_pipeline() is None
    '''
    done = run_pytest(tmp_path, source)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_plugin_import_does_not_import_opentelemetry() -> None:
    code = "import sys, verwerkingen_otel.testing; print(sorted(m for m in sys.modules if m.startswith(('opentelemetry', 'verwerkingen_otel'))))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "['verwerkingen_otel', 'verwerkingen_otel._version', 'verwerkingen_otel.testing']", done.stderr


def test_a_failing_assertion_fails_the_test(tmp_path: Path) -> None:
    source = '''
        def test_expects_an_action(verwerkingen):
            verwerkingen.assert_one(actie_naam="Nooit")
    '''
    done = run_pytest(tmp_path, source)
    assert done.returncode == 1
    assert "expected exactly one verwerkingsactie matching {'actie_naam': 'Nooit'}, found 0" in done.stdout


# --- the helpers, used in-process -------------------------------------------------------------


def test_find_accepts_snake_and_camel_case_and_enums(verwerkingen: RecordedVerwerkingen) -> None:
    with vo.verwerkingsactie(actie_naam="A", vertrouwelijkheid="vertrouwelijk") as actie:
        actie.add_object(BSN_A)
    with vo.verwerkingsactie(actie_naam="B") as actie:
        actie.add_object(BSN_B)
    assert [b["actieNaam"] for b in verwerkingen.find(vertrouwelijkheid=vo.Vertrouwelijkheid.VERTROUWELIJK)] == ["A"]
    assert [b["actieNaam"] for b in verwerkingen.find(actieNaam="B")] == ["B"]
    assert [b["actieNaam"] for b in verwerkingen.for_bsn(BSN_B)] == ["B"]
    assert len(verwerkingen) == 2 and [b["actieNaam"] for b in verwerkingen] == ["A", "B"]
    verwerkingen.assert_none(actie_naam="C")
    with pytest.raises(AssertionError, match="expected no verwerkingsactie"):
        verwerkingen.assert_none(actie_naam="A")
    verwerkingen.clear()
    verwerkingen.assert_none()


def test_configure_inside_the_fixture_keeps_the_test_pipeline(verwerkingen: RecordedVerwerkingen) -> None:
    from verwerkingen_otel import capture as pipeline

    assert vo.configure(delivery="sync", exporters="console", systeem="App") is verwerkingen.pipeline
    assert pipeline.current_pipeline() is verwerkingen.pipeline
    with pytest.raises(vo.ConfigurationError, match="^api_url: "):
        vo.configure(api_url="not a url")  # still checked
    with vo.verwerkingsactie(actie_naam="Na configure") as actie:
        actie.add_object(BSN_A)
    verwerkingen.assert_one(actie_naam="Na configure")
