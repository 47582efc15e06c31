"""Reading the server's TOML files (clients, users): one set of start-up errors naming the option."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from .errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["read_toml"]


def read_toml(path: Path, option: str) -> dict[str, Any]:
    """The document at `path`; ConfigError naming `option` and the file when it cannot be had."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{option}: file {str(path)!r} does not exist") from None
    except OSError as e:
        raise ConfigError(f"{option}: cannot read {str(path)!r}: {e.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{option}: {str(path)!r} is not valid TOML: {e}") from None
