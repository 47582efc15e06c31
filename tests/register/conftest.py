"""A valid register file per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.registers import register_data, write_register


@pytest.fixture
def register_file(tmp_path: Path) -> Path:
    return write_register(tmp_path / "register.toml", register_data())
