"""The repository is self-contained: nothing in it reaches outside its own root.

A user's fresh clone has nothing beside it, so code, tests and scripts must not name the shared folder beside the checkout
(or any sibling of the checkout) nor build a path above the repository root. Checked here by
reading every file under src/, tests/, scripts/, benchmarks/, examples/ and .ci/; the reads tests
really make at run time are watched by tests/support/outside.py (an audit hook, see conftest).
A fixed sleep in a test is checked here too: tests poll a condition with a deadline instead.
"""

from __future__ import annotations

import ast
import os
import re
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ["src", "tests", "scripts", "benchmarks", "examples", ".ci"]
TEXT_SUFFIXES = {"", ".py", ".sh", ".toml", ".md", ".txt", ".cfg", ".ini", ".yaml", ".yml", ".json", ".env"}
THIS = Path(__file__).resolve()
_SHARED = re.compile(r"\.\./+shared\b|\bshared/(?:spec|design|hooks)\b|/work/")
_SHARED_PARTS = re.compile(r"""["']shared["']\s*[)/,]""")


def scanned_files() -> list[Path]:
    files = []
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*")):
            if (path.is_file() and path.suffix in TEXT_SUFFIXES and "__pycache__" not in path.parts
                    and path.resolve() != THIS):
                files.append(path)
    return files


FILES = scanned_files()
PY_FILES = [p for p in FILES if p.suffix == ".py"]


def outside_references(text: str) -> list[str]:
    """The lines of `text` that name the shared folder beside the checkout (or this machine's /work)."""
    return [line.strip() for line in text.splitlines() if _SHARED.search(line) or _SHARED_PARTS.search(line)]


def paths_above_root(path: Path, source: str) -> list[str]:
    """`Path(__file__)…parents[n]` / `.parent` chains that climb above the repository root, and
    `.parent` taken of a name that already is the root (ROOT, REPO_ROOT, …)."""
    depth = len(path.relative_to(ROOT).parts) - 1  # parents[depth] of this file is the root
    found, inner_links = [], set()
    for node in ast.walk(ast.parse(source)):  # breadth first: a chain's outermost `.parent` comes first
        if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute)
                and node.value.attr == "parents" and _from_file(node.value.value)
                and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, int)
                and node.slice.value > depth):
            found.append(f"line {node.lineno}: parents[{node.slice.value}] (the root is parents[{depth}])")
        if isinstance(node, ast.Attribute) and node.attr == "parent" and id(node) not in inner_links:
            chain, inner = 0, node
            while isinstance(inner, ast.Attribute) and inner.attr == "parent":
                chain, inner = chain + 1, inner.value
                inner_links.add(id(inner))
            if _from_file(inner) and chain > depth + 1:
                found.append(f"line {node.lineno}: {chain} x .parent of __file__")
            if isinstance(inner, ast.Name) and inner.id.upper() in ("ROOT", "REPO_ROOT", "REPOSITORY"):
                found.append(f"line {node.lineno}: {inner.id}.parent")
    return found


def _from_file(node: ast.AST) -> bool:
    """True for an expression built from `__file__` (Path(__file__), Path(__file__).resolve(), …)."""
    return any(isinstance(n, ast.Name) and n.id == "__file__" for n in ast.walk(node))


def test_the_scan_sees_the_repository() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in FILES}
    assert {"src/verwerkingen_otel/__init__.py", "tests/support/openapi.py", "tests/test_docs.py",
            "scripts/test", ".ci/run"} <= names
    assert len(PY_FILES) > 100


@pytest.mark.parametrize("path", FILES, ids=[p.relative_to(ROOT).as_posix() for p in FILES])
def test_no_file_names_the_shared_folder(path: Path) -> None:
    assert outside_references(path.read_text(encoding="utf-8", errors="replace")) == []


ABOVE_ROOT_ALLOWED = {
    "tests/support/outside.py": ["ROOT.parent"],  # the folder it watches; it opens nothing there
}


def test_python_files_build_no_path_above_the_root() -> None:
    found = {p.relative_to(ROOT).as_posix(): paths_above_root(p, p.read_text(encoding="utf-8")) for p in PY_FILES}
    without_lines = {k: [re.sub(r"^line \d+: ", "", f) for f in v] for k, v in found.items() if v}
    assert without_lines == ABOVE_ROOT_ALLOWED


def test_the_checks_catch_what_they_are_for(tmp_path: Path) -> None:
    """Each check on a known bad line, so a check that can never fail is noticed."""
    shared = "sha" + "red"  # spelled apart, so this file does not name the folder itself
    assert outside_references(f'SPEC = ROOT / ".." / "{shared}" / "spec"') != []
    assert outside_references(f'open("../{shared}/design/ARCHITECTURE.md")') != []
    assert outside_references(f"cat ../{shared}/spec/vng/NOTES.md") != []
    assert outside_references("X = Path('/work/shared/spec')") != []
    assert outside_references('ROOT = Path(__file__).resolve().parents[1]  # shared helpers') == []
    bad = ROOT / "tests" / "support" / "example.py"  # depth 2: the root is parents[2]
    assert paths_above_root(bad, "ROOT = Path(__file__).resolve().parents[3]\n") != []
    assert paths_above_root(bad, "ROOT = Path(__file__).resolve().parents[2]\n") == []
    assert paths_above_root(bad, "ROOT = Path(__file__).parent.parent.parent.parent\n") != []
    assert paths_above_root(bad, "ROOT = Path(__file__).parent.parent.parent\n") == []
    assert paths_above_root(bad, "SPEC = ROOT.parent / 'x'\n") != []


# --- no fixed sleeps: a sleep in a test is a poll interval inside a loop, or says why it is there ---

def fixed_sleeps(source: str) -> list[int]:
    """Line numbers of `time.sleep(...)` / `asyncio.sleep(...)` calls that are not inside a `while`
    loop (a poll) and carry no `deliberate` comment on their line (a sleep that is what is tested)."""
    lines = source.splitlines()
    found = []

    def visit(node: ast.AST, in_while: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if (isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute) and child.func.attr == "sleep"
                    and isinstance(child.func.value, ast.Name) and child.func.value.id in ("time", "asyncio")
                    and not in_while and "deliberate" not in lines[child.lineno - 1]):
                found.append(child.lineno)
            visit(child, in_while or isinstance(child, ast.While))

    visit(ast.parse(source), False)
    return found


TEST_PY = [p for p in PY_FILES if p.relative_to(ROOT).parts[0] == "tests"]


def test_tests_have_no_fixed_sleeps() -> None:
    found = {p.relative_to(ROOT).as_posix(): fixed_sleeps(p.read_text(encoding="utf-8")) for p in TEST_PY}
    assert {k: v for k, v in found.items() if v} == {}


def test_the_sleep_check_catches_a_fixed_sleep() -> None:
    assert fixed_sleeps("import time\ntime.sleep(1.5)\n") == [2]
    assert fixed_sleeps("async def f():\n    await asyncio.sleep(0.1)\n") == [2]
    assert fixed_sleeps("for i in range(3):\n    time.sleep(0.1)\n") == [2]
    assert fixed_sleeps("while not done():\n    time.sleep(0.02)\n") == []
    assert fixed_sleeps("time.sleep(0.004)  # deliberate: paces the producer\n") == []


# --- the run-time watch (tests/support/outside.py, installed by the root conftest) ---------------

def test_what_counts_as_beside_the_checkout() -> None:
    from tests.support.outside import beside

    where = {"root": "/work/repo/", "parent": "/work/", "temp": "/tmp/"}
    assert beside("/work/shared/spec/vng/bewerking-api.yaml", **where)
    assert beside("/work/repository-next-door/x.py", **where)  # a sibling whose name starts like ours
    assert not beside("/work/repo/tests/x.py", **where)
    assert not beside("/work/repo", **where)
    assert not beside("/usr/lib/python3/x.py", **where)
    in_tmp = {"root": "/tmp/fresh-clone/", "parent": "/tmp/", "temp": "/tmp/"}  # a checkout inside tmp
    assert not beside("/tmp/pytest-of-root/pytest-1/test0/outbox.db", **in_tmp)


CHECKOUT_IN_TMP = str(ROOT).startswith(os.path.realpath(tempfile.gettempdir()) + os.sep)


@pytest.mark.skipif(CHECKOUT_IN_TMP, reason="checkout inside the temporary directory: its siblings are not watched")
def test_a_read_beside_the_repository_is_noticed(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support import outside

    outside.take()
    sibling = ROOT.parent / "shared-does-not-exist-9f1c" / "ARCHITECTURE.md"
    with pytest.raises(FileNotFoundError):  # the audit event comes before the attempt: nothing is created
        open(sibling, encoding="utf-8")
    monkeypatch.chdir(ROOT / "tests")
    with pytest.raises(FileNotFoundError):
        open("../../" + "sha" + "red-does-not-exist-9f1c/spec.yaml", "rb")
    (ROOT / "tests" / "support" / "wait.py").read_bytes()  # inside: not noted
    assert outside.take() == [str(sibling), str(ROOT.parent / "shared-does-not-exist-9f1c" / "spec.yaml")]
    assert outside.take() == []
