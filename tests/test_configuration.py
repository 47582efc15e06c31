"""Configuration errors as docs/configuration.md promises them: the setting named as written."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import verwerkingen_otel as vo
from verwerkingen_otel.capture import load_settings


def test_unopenable_console_file_names_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing_dir = tmp_path / "nope" / "acties.jsonl"
    with pytest.raises(vo.ConfigurationError) as info:
        vo.configure(delivery="sync", exporters="console", console_file=str(missing_dir))
    assert (info.value.setting, str(info.value)) == (
        "console_file", "console_file: cannot be opened for appending (FileNotFoundError)")
    monkeypatch.setenv("VERWERKINGEN_CONSOLE_FILE", str(missing_dir))
    with pytest.raises(vo.ConfigurationError) as info2:
        vo.configure(delivery="sync", exporters="console")
    assert info2.value.setting == "VERWERKINGEN_CONSOLE_FILE"
    assert str(tmp_path) not in str(info2.value)


def test_unusable_outbox_message_names_the_setting_once(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(vo.ConfigurationError) as info:
        vo.configure(exporters="console", outbox=str(blocker / "outbox.db"))
    assert str(info.value).startswith("outbox: cannot create the outbox file ")


def test_log_server_variables_are_not_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="verwerkingen_otel.capture"):
        load_settings(environ={"VERWERKINGEN_SERVER_DATABASE": "sqlite:///x.db", "VERWERKINGEN_TEST_X": "1",
                               "VERWERKINGEN_SERVR_DATABASE": "typo"})
    assert [r.getMessage() for r in caplog.records] == [
        "VERWERKINGEN_SERVR_DATABASE is not a verwerkingen-otel setting and is ignored"]
