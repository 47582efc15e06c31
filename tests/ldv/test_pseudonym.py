"""The key, the pseudonym, the processor map and `verwerkingen-otel ldv pseudonym`."""

from __future__ import annotations

import hashlib
import hmac
import io
import os
from pathlib import Path

import pytest

from verwerkingen_otel.cli import main
from verwerkingen_otel.ldv import (
    LdvError, ProcessorMapError, PseudonymKey, PseudonymKeyError, load_key, load_processor_map,
)

SECRET = b"0123456789abcdef0123456789abcdef"  # exactly 32 bytes


@pytest.fixture()
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "ldv.key"
    path.write_bytes(SECRET)
    return path


def test_the_pseudonym_is_hmac_sha256_of_type_and_id_in_lowercase_hex(key_file: Path) -> None:
    key = load_key(key_file)
    expected = hmac.new(SECRET, b"BSN:999993653", hashlib.sha256).hexdigest()
    assert key.pseudonym("BSN", "999993653") == expected == key.pseudonym("bsn", "999993653")
    assert key.pseudonym("A-nummer", "999993653") == hmac.new(SECRET, b"A-nummer:999993653",
                                                             hashlib.sha256).hexdigest()
    assert key.key_id == hashlib.sha256(SECRET).hexdigest()[:8]
    assert load_key(key_file, "2026-01").key_id == "2026-01"
    assert "0123456789" not in repr(key)


def test_the_file_is_used_byte_for_byte(tmp_path: Path) -> None:
    (tmp_path / "nl.key").write_bytes(SECRET + b"\n")
    assert load_key(tmp_path / "nl.key").pseudonym("BSN", "1") != load_key_bytes(SECRET).pseudonym("BSN", "1")


def load_key_bytes(secret: bytes) -> PseudonymKey:
    return PseudonymKey.from_bytes(secret)


@pytest.mark.parametrize(("content", "message"), [
    (b"x" * 31, "VERWERKINGEN_LDV_KEY_FILE: the key in '{path}' must be at least 32 bytes"),
    (None, "VERWERKINGEN_LDV_KEY_FILE: file '{path}' does not exist"),
])
def test_a_bad_key_file_is_refused_naming_the_setting(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "ldv.key"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(PseudonymKeyError) as info:
        load_key(path, option="VERWERKINGEN_LDV_KEY_FILE")
    assert str(info.value) == message.format(path=path)
    assert isinstance(info.value, LdvError)


def test_a_directory_and_a_bad_key_id_are_refused(tmp_path: Path, key_file: Path) -> None:
    with pytest.raises(PseudonymKeyError, match="is a directory"):
        load_key(tmp_path)
    with pytest.raises(PseudonymKeyError) as info:
        load_key(key_file, "met spatie", id_option="VERWERKINGEN_LDV_KEY_ID")
    assert str(info.value) == "VERWERKINGEN_LDV_KEY_ID: the key id must be 1-64 characters of A-Z a-z 0-9 . _ : -"


def test_the_processor_map(tmp_path: Path) -> None:
    path = tmp_path / "processors.toml"
    path.write_text('[processors]\n"00000001234567890000" = "https://zaken.example/app"\n')
    assert load_processor_map(path) == {"00000001234567890000": "https://zaken.example/app"}
    path.write_text('[processors]\n"123" = "https://zaken.example/app"\n')
    with pytest.raises(ProcessorMapError, match="^VERWERKINGEN_LDV_PROCESSORS: a key of \\[processors\\] is not an OIN"):
        load_processor_map(path, option="VERWERKINGEN_LDV_PROCESSORS")
    path.write_text('[processors]\n"00000001234567890000" = "geen url"\n')
    with pytest.raises(ProcessorMapError, match="must be an absolute URL$"):
        load_processor_map(path)
    path.write_text('[andere]\n')
    with pytest.raises(ProcessorMapError, match="has no \\[processors\\] table$"):
        load_processor_map(path)


def test_the_cli_prints_one_pseudonym_per_bsn(key_file: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    key = load_key(key_file)
    assert main(["ldv", "pseudonym", "--key-file", str(key_file), "--bsn", "999993653", "--bsn", "999995017"]) == 0
    assert capsys.readouterr().out == f"{key.pseudonym('BSN', '999993653')}\n{key.pseudonym('BSN', '999995017')}\n"
    monkeypatch.setattr("sys.stdin", io.StringIO("999990019\n\n999993653\n"))
    assert main(["ldv", "pseudonym", "--key-file", str(key_file), "--bsn", "-"]) == 0
    assert capsys.readouterr().out == f"{key.pseudonym('BSN', '999990019')}\n{key.pseudonym('BSN', '999993653')}\n"


def test_the_cli_refuses_a_bad_bsn_without_repeating_it(key_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ldv", "pseudonym", "--key-file", str(key_file), "--bsn", "999993653", "--bsn", "999993654"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "verwerkingen-otel ldv pseudonym: --bsn (number 2): must pass the BSN 11-test\n"


def test_the_cli_refuses_a_short_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    short = tmp_path / "short.key"
    short.write_bytes(os.urandom(16))
    assert main(["ldv", "pseudonym", "--key-file", str(short), "--bsn", "999993653"]) == 2
    assert capsys.readouterr().err == (
        f"verwerkingen-otel ldv pseudonym: --key-file: the key in '{short}' must be at least 32 bytes\n")
