"""Where a register comes from: a file (TOML, YAML, JSON) or a VAR API, behind one seam.

`open_source("register.toml")` or `open_source("https://var.example/api/v1", cache=path)`
returns a source whose `load()` gives a `Register`. A VAR API is read page by page and kept in
an on-disk cache, so a service still starts when the register is down (with a warning) and fails
with a clear error only when neither the API nor a cached copy is there.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from ._errors import InvalidRegister, Problem, RegisterError, RegisterUnavailable
from ._register import TOP_KEY, Register, parse_register

if sys.version_info >= (3, 11):  # pragma: no cover - depends on interpreter
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

log = logging.getLogger("verwerkingen_otel.register")
MAX_PAGES = 10_000


class RegisterSource(ABC):
    """The seam: anything that can produce the current register."""

    description: str

    @abstractmethod
    def load(self) -> Register:
        """The register as it is now; RegisterError (naming the source) when it cannot be had."""


class FileSource(RegisterSource):
    """A register file; the format follows the extension (.toml, .yaml/.yml, .json)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.description = str(path)

    def load(self) -> Register:
        return parse_register(read_register_data(self.path), self.description)


def read_register_data(path: Path) -> Any:
    """The parsed file; RegisterError naming the file for a missing file or a syntax error."""
    name = str(path)
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".json", ".yaml", ".yml"):
        raise RegisterError(f"{name}: a register file ends in .toml, .yaml, .yml or .json")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RegisterError(f"{name}: file does not exist") from None
    except (OSError, UnicodeDecodeError) as e:
        raise RegisterError(f"{name}: cannot read the file ({type(e).__name__})") from None
    try:
        if suffix == ".toml":
            return tomllib.loads(text)
        if suffix == ".json":
            return json.loads(text)
    except (tomllib.TOMLDecodeError, ValueError) as e:
        raise RegisterError(f"{name}: not valid {suffix[1:].upper()}: {e}") from None
    try:
        import yaml
    except ImportError:  # pragma: no cover - depends on installed extras
        raise RegisterError(f"{name}: reading YAML needs PyYAML (pip install pyyaml)") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise RegisterError(f"{name}: not valid YAML: {str(e).splitlines()[0]}") from None


class VarApiSource(RegisterSource):
    """A VAR API 0.1.0 (`GET {base}/verwerkingsactiviteiten`, paginated) with an on-disk cache.

    Activities get `url` = `{base}/verwerkingsactiviteiten/{id}` (NOTES §8) unless they carry one.
    """

    def __init__(self, base_url: str, cache: str | os.PathLike[str] | None = None, *,
                 timeout: float = 10.0, transport: Any = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.cache = None if cache is None else Path(cache)
        self.timeout = timeout
        self.transport = transport
        self.description = self.base_url

    def load(self) -> Register:
        try:
            register = self._fetch()
        except RegisterError as e:
            return self._from_cache(f"{type(e).__name__}: {str(e).splitlines()[0]}")
        except Exception as e:  # noqa: BLE001 - httpx and socket errors: the register is down
            return self._from_cache(type(e).__name__)
        if self.cache is not None:
            self._write_cache(register)
        return register

    def _fetch(self) -> Register:
        import httpx

        items: list[Any] = []
        url: str | None = f"{self.base_url}/verwerkingsactiviteiten"
        seen: set[str] = set()
        with httpx.Client(timeout=self.timeout, transport=self.transport, follow_redirects=False) as client:
            while url and len(seen) < MAX_PAGES:
                if url in seen:
                    raise RegisterError(f"{self.description}: pagination loops back to a page already read")
                seen.add(url)
                response = client.get(url, headers={"Accept": "application/json"})
                if response.status_code != 200:
                    raise RegisterError(f"{self.description}: answered {response.status_code}")
                try:
                    page = response.json()
                except ValueError:
                    raise RegisterError(f"{self.description}: answered with something that is not JSON") from None
                if not isinstance(page, dict) or not isinstance(page.get("results"), list):
                    raise RegisterError(f"{self.description}: the answer has no `results` list")
                items.extend(page["results"])
                nxt = page.get("next")
                url = nxt if isinstance(nxt, str) and nxt else None
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("id"), str) and "url" not in item:
                item["url"] = f"{self.base_url}/verwerkingsactiviteiten/{item['id']}"
        return parse_register({TOP_KEY: items}, self.description, allow_extra=True)

    def _from_cache(self, reason: str) -> Register:
        if self.cache is None or not self.cache.exists():
            raise RegisterUnavailable(
                f"register {self.description} cannot be read ({reason}) and there is no cached copy"
                + ("" if self.cache is None else f" at {self.cache}"))
        try:
            data = json.loads(self.cache.read_text(encoding="utf-8"))
            register = parse_register(data, f"{self.cache} (cached copy of {self.description})")
        except (OSError, ValueError) as e:
            if isinstance(e, InvalidRegister):
                raise
            raise RegisterUnavailable(f"register {self.description} cannot be read ({reason}) and its cached "
                                      f"copy at {self.cache} is unreadable ({type(e).__name__})") from None
        log.warning("register %s cannot be read (%s); using the cached copy %s", self.description, reason,
                    self.cache)
        return register

    def _write_cache(self, register: Register) -> None:
        """Atomically replace the cache; a failure to write only warns (the register was read)."""
        assert self.cache is not None
        data = {TOP_KEY: [a.to_dict() for a in register]}
        try:
            self.cache.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".register-", dir=self.cache.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, ensure_ascii=False, indent=1)
            os.replace(tmp, self.cache)
        except OSError as e:
            log.warning("register cache %s cannot be written (%s)", self.cache, e.strerror or type(e).__name__)


def is_url(spec: str) -> bool:
    return spec.startswith(("http://", "https://"))


def open_source(spec: str, *, cache: str | os.PathLike[str] | None = None, timeout: float = 10.0) -> RegisterSource:
    """A VarApiSource for an http(s) base URL, else a FileSource."""
    if is_url(spec):
        return VarApiSource(spec, cache, timeout=timeout)
    return FileSource(spec)


def load_register(spec: str, *, cache: str | os.PathLike[str] | None = None) -> Register:
    """Shortcut: `open_source(spec, cache=cache).load()`."""
    return open_source(spec, cache=cache).load()


def problems_of(error: RegisterError) -> list[Problem]:
    """Every problem an error carries (one line for errors that are not about fields)."""
    if isinstance(error, InvalidRegister):
        return error.problems
    return [Problem("register", "-", "unreadable", str(error))]


__all__ = [
    "FileSource", "RegisterSource", "VarApiSource", "is_url", "load_register", "open_source",
    "problems_of", "read_register_data",
]
