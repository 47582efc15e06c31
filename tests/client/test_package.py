"""The client package keeps httpx's shape (STYLE.md H1, H2) and every name it had as a module."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import verwerkingen_otel.client as client_package

PACKAGE_DIR = Path(client_package.__file__).parent

# every name importable from verwerkingen_otel.client before the split (client.py's __all__,
# plus the public helpers other modules and tests imported)
BEFORE_THE_SPLIT = {
    "ApiError", "AsyncVerwerkingenlogClient", "ConflictError", "ForbiddenError", "InvalidResponseError",
    "InzageObject", "NotFoundError", "Page", "PayloadTooLargeError", "RateLimitedError", "ServerError",
    "TransportError", "UNTRACED_EXTENSION", "UnauthorizedError", "UnsupportedMediaTypeError",
    "ValidatieFoutError", "VastgelegdeActie", "VerwerkingenlogClient", "VerwerkingenlogError",
    "jwt_hs256", "parse_retry_after", "untraced", "tls_context", "make_auth", "error_for",
    "list_params", "TOKEN_LIFETIME",
}


def _modules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules([str(PACKAGE_DIR)]))


def test_every_old_name_is_exported_with_the_short_module_path() -> None:
    assert BEFORE_THE_SPLIT | {"failure_kind", "FailureKind", "RetryableError",
                               "safe_problem_text"} == set(client_package.__all__)
    for name in client_package.__all__:
        value = getattr(client_package, name)
        if isinstance(value, type) or callable(value) and hasattr(value, "__code__"):
            assert value.__module__ == "verwerkingen_otel.client", name


def test_private_modules_each_have_one_job_an_all_and_at_most_400_lines() -> None:
    modules = _modules()
    assert modules == ["_auth", "_base", "_client", "_config", "_errors", "_log_privacy", "_models", "_operations",
                       "_status", "_untraced"]
    for name in modules:
        module = importlib.import_module(f"verwerkingen_otel.client.{name}")
        assert module.__doc__ and module.__doc__.strip(), name
        assert isinstance(module.__all__, list) and module.__all__, name
        for exported in module.__all__:
            assert hasattr(module, exported), f"{name}.{exported}"
        lines = (PACKAGE_DIR / f"{name}.py").read_text().count("\n")
        assert lines <= 400, f"{name}: {lines} lines"


def test_init_only_re_exports() -> None:
    tree = ast.parse((PACKAGE_DIR / "__init__.py").read_text())
    assert not [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))]
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module != "__future__":
            if node.level == 2 and node.module == "_exports":  # the shared publish() leaf
                continue
            assert node.level == 1 and node.module and node.module.startswith("_"), node.module


def test_error_classes_are_defined_only_in_errors_with_the_tree_in_its_docstring() -> None:
    defined: dict[str, list[str]] = {}
    for path in sorted(PACKAGE_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and node.name.endswith("Error"):
                defined.setdefault(path.stem, []).append(node.name)
    assert list(defined) == ["_errors"]
    doc = importlib.import_module("verwerkingen_otel.client._errors").__doc__ or ""
    for name in defined["_errors"]:
        assert re.search(rf"^ *[*+-] {name}\b", doc, re.MULTILINE), name


def test_the_twins_differ_only_in_async_and_await() -> None:
    source = (PACKAGE_DIR / "_client.py").read_text()
    sync = source[source.index("class VerwerkingenlogClient"):source.index("class AsyncVerwerkingenlogClient")]
    asyn = source[source.index("class AsyncVerwerkingenlogClient"):]

    def normalised(text: str) -> list[str]:
        text = text.replace("yield from page.results", "for item in page.results:\n yield item")
        for old, new in (("AsyncVerwerkingenlogClient", "VerwerkingenlogClient"), ("AsyncIterator", "Iterator"),
                         ("AsyncBaseTransport", "BaseTransport"), ("AsyncClient", "Client"),
                         ("aclose", "close"), ("__aenter__", "__enter__"), ("__aexit__", "__exit__"),
                         ("async ", ""), ("await ", "")):
            text = text.replace(old, new)
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return lines[2:]  # the class line and its docstring differ by design

    assert normalised(sync) == normalised(asyn)
