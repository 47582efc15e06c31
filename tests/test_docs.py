"""The documentation cannot drift from the code: settings, env vars, the contract, the snippets.

Everything here reads files of this repository only (a fresh clone has nothing beside it). The
public contract (names, env vars, CLI, entry points) is copied below as CONTRACT_* and checked
three ways: the code implements each item under that exact name, docs/configuration.md (or the
doc that owns it) documents it, and the README shows the set-up, the log's command and the benchmarks.
"""

from __future__ import annotations

import os
import re
import textwrap
from pathlib import Path

import pytest

from verwerkingen_otel.capture import SETTINGS, Settings
from verwerkingen_otel.delivery import registered_names

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
CONFIGURATION = (DOCS / "configuration.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")

# --- the public contract, as the project agreed it (the design notes live outside the repository) ---
# Change an entry only together with every caller (the examples, the docs, users' code and env).
CONTRACT_SETTINGS = [  # (setting, env var): the contract's settings table
    ("api_url", "VERWERKINGEN_API_URL"), ("client_id", "VERWERKINGEN_CLIENT_ID"),
    ("secret", "VERWERKINGEN_SECRET"), ("token", "VERWERKINGEN_TOKEN"), ("outbox", "VERWERKINGEN_OUTBOX"),
    ("delivery", "VERWERKINGEN_DELIVERY"), ("exporters", "VERWERKINGEN_EXPORTERS"),
    ("systeem", "VERWERKINGEN_SYSTEEM"), ("gegevensbron", "VERWERKINGEN_GEGEVENSBRON"),
    ("uitvoerder", "VERWERKINGEN_UITVOERDER"), ("oin", "VERWERKINGEN_OIN"), ("rules", "VERWERKINGEN_RULES"),
    ("register", "VERWERKINGEN_REGISTER"), ("destinations", "VERWERKINGEN_DESTINATIONS"),
    ("tenants", "VERWERKINGEN_TENANTS"), ("ldv_key_file", "VERWERKINGEN_LDV_KEY_FILE"),
    ("ldv_key_id", "VERWERKINGEN_LDV_KEY_ID"),
]
CONTRACT_DELIVERIES = ["outbox", "sync", "memory"]
CONTRACT_EXPORTERS = ["api", "console"]  # and `none`, alone; `ldv` (it needs a key file) below
CONTRACT_API = ["configure", "force_flush", "shutdown", "verwerkingsactie", "verwerking", "current_actie", "persoon"]
CONTRACT_SERVE = ["--host", "--port", "--database", "--clients"]  # `verwerkingen-otel serve …`, base path /api/v1
CONTRACT_ENTRY_POINTS = {  # (group, name): (the class it loads, the doc that names the group)
    ("opentelemetry_instrumentor", "verwerkingen"): ("VerwerkingenInstrumentor", "web.md"),
    ("opentelemetry_propagator", "verwerkingen"): ("VerwerkingenPropagator", "web.md"),
    ("pytest11", "verwerkingen"): (None, "testing.md"),  # a module, not a class
}
def configuration_rows() -> dict[str, tuple[str, str]]:
    """{setting: (env var, values column)} of every row of the configuration reference."""
    rows = re.findall(r"^\| `([a-z_]+)` \| `(VERWERKINGEN_[A-Z_]+)` \| [^|]* \| ([^|]*) \|", CONFIGURATION, re.MULTILINE)
    return {name: (env, values) for name, env, values in rows}


def test_every_setting_and_env_var_is_in_the_configuration_reference() -> None:
    missing = [name for name, _, _ in SETTINGS if f"`{name}`" not in CONFIGURATION]
    missing += [env for _, env, _ in SETTINGS if f"`{env}`" not in CONFIGURATION]
    missing += [f.removeprefix("_") for f in Settings.__dataclass_fields__
                if f != "sources" and f"`{f}`" not in CONFIGURATION]
    assert missing == []


def test_every_documented_setting_exists() -> None:
    """The reference's setting rows name real settings only (no stale entries)."""
    rows = re.findall(r"^\| `([a-z_]+)` \| `(VERWERKINGEN_[A-Z_]+)` \|", CONFIGURATION, re.MULTILINE)
    assert len(rows) == len(SETTINGS)
    assert {(name, env) for name, env, _ in SETTINGS} == set(rows)


def test_every_env_var_the_code_reads_is_documented() -> None:
    """Every VERWERKINGEN_* / OTEL_PYTHON_VERWERKINGEN_* literal in src/ is in the reference."""
    names: set[str] = set()
    for path in (ROOT / "src").rglob("*.py"):
        names |= set(re.findall(r"\b((?:OTEL_PYTHON_)?VERWERKINGEN_[A-Z][A-Z_]*[A-Z])\b", path.read_text()))
    assert names, "the scan found nothing: the pattern is wrong"
    assert sorted(n for n in names if f"`{n}`" not in CONFIGURATION) == []


def test_defaults_in_the_reference_are_the_code_defaults() -> None:
    rows = {m[0]: m[2] for m in re.findall(r"^\| `([a-z_]+)` \| `(VERWERKINGEN_[A-Z_]+)` \| ([^|]*) \|",
                                             CONFIGURATION, re.MULTILINE)}
    for name, _, default in SETTINGS:
        if default is None or isinstance(default, bool):
            continue
        shown = f"{default:g}" if isinstance(default, float) else str(default)
        assert f"`{shown}`" in rows[name], name
    assert "`false`" in rows["strict"]
    from verwerkingen_otel.delivery import DEFAULT_OUTBOX

    assert f"`{DEFAULT_OUTBOX}`" in rows["outbox"]


def test_every_contract_setting_is_implemented_with_that_name() -> None:
    by_env = {env: name for name, env, _ in SETTINGS}
    assert [(name, env) for name, env in CONTRACT_SETTINGS if by_env.get(env) != name] == []
    assert len(CONTRACT_SETTINGS) == 17


def test_every_contract_setting_has_its_row_in_the_configuration_reference() -> None:
    rows = configuration_rows()
    assert [(name, env) for name, env in CONTRACT_SETTINGS if rows.get(name, ("",))[0] != env] == []


def test_the_contract_values_are_accepted_and_documented() -> None:
    from verwerkingen_otel.capture import load_settings

    _EXPORTERS, _DELIVERIES = registered_names()

    rows = configuration_rows()
    assert set(CONTRACT_DELIVERIES) <= set(_DELIVERIES)
    assert set(CONTRACT_EXPORTERS) <= set(_EXPORTERS)
    assert [v for v in CONTRACT_DELIVERIES if f"`{v}`" not in rows["delivery"][1]] == []
    assert [v for v in [*CONTRACT_EXPORTERS, "none"] if f"`{v}`" not in rows["exporters"][1]] == []
    for value in CONTRACT_DELIVERIES:
        assert load_settings({"delivery": value}, environ={}).delivery == value
    both = load_settings({"exporters": ",".join(CONTRACT_EXPORTERS), "api_url": "http://127.0.0.1:1/api/v1"}, environ={})
    assert both.exporters == tuple(CONTRACT_EXPORTERS)
    assert load_settings({"exporters": "none"}, environ={}).exporters == ()
    assert "`ldv`" in rows["exporters"][1] and "ldv" in _EXPORTERS


def test_the_contract_ldv_exporter_is_accepted(tmp_path: Path) -> None:
    from verwerkingen_otel.capture import load_settings

    key = tmp_path / "ldv.key"
    key.write_bytes(b"k" * 32)
    settings = load_settings({"exporters": "api,ldv", "api_url": "http://127.0.0.1:1/api/v1"},
                             environ={"VERWERKINGEN_LDV_KEY_FILE": str(key)})
    assert settings.exporters == ("api", "ldv")


def test_the_contract_api_exists_and_the_docs_use_it() -> None:
    import verwerkingen_otel as vo

    assert [n for n in CONTRACT_API if n not in vo.__all__ or not callable(getattr(vo, n))] == []
    docs = "".join(p.read_text(encoding="utf-8") for p in DOCS.glob("*.md"))
    assert [n for n in CONTRACT_API if f"vo.{n}(" not in docs] == []


def test_the_contract_serve_command_exists_and_is_documented(capsys: pytest.CaptureFixture[str]) -> None:
    from verwerkingen_otel.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--help"])
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    assert [o for o in CONTRACT_SERVE if o not in help_text] == []
    server_doc = (DOCS / "server.md").read_text(encoding="utf-8")
    shown = {o for line in server_doc.splitlines() if line.startswith("verwerkingen-otel serve ")
             for o in CONTRACT_SERVE if f"{o} " in line}
    assert shown == set(CONTRACT_SERVE)
    assert "/api/v1" in server_doc and "`verwerkingen-otel serve`" in README


def test_the_contract_entry_points_are_installed_and_documented() -> None:
    from importlib.metadata import entry_points

    for (group, name), (cls, doc) in CONTRACT_ENTRY_POINTS.items():
        [point] = [p for p in entry_points(group=group) if p.name == name and p.value.startswith("verwerkingen_otel")]
        loaded = point.load()
        assert cls is None or loaded.__name__ == cls, (group, name)
        assert f"`{group}`" in (DOCS / doc).read_text(encoding="utf-8"), (group, doc)


def test_the_readme_keeps_two_setup_commands_the_contract_and_the_benchmark_table() -> None:
    setup = README.split("\n## Set-up\n", 1)[1].split("\n## ", 1)[0]
    assert re.findall(r"^    (\S.*)$", setup, re.MULTILINE) == ["./scripts/demo", "./scripts/test"]
    assert "VERWERKINGEN_API_URL=" in README and "](docs/configuration.md)" in README
    table = README.split("\n## Benchmarks\n", 1)[1].split("\n## ", 1)[0]
    scripts = sorted(p.name for p in (ROOT / "benchmarks").glob("*.py") if not p.name.startswith("_"))
    assert len(scripts) >= 6
    assert [s for s in scripts if f"| `{s}" not in table] == []


# --- the Python blocks of the docs run, against the real API ---------------------------------

RUNNABLE = ["quickstart-developer.md", "quickstart-ops.md", "quickstart-no-code.md", "attributes.md", "testing.md"]
FENCE = re.compile(r"(?:<!-- (?P<marker>[^>]*) -->\n)?```(?P<lang>[a-z]*)\n(?P<code>.*?)```", re.DOTALL)


def python_blocks(doc: str) -> tuple[str, dict[str, str]]:
    """(the script: every python block in order, {file name: code} for blocks marked `<!-- file: x -->`).

    `<!-- no-run -->` before a python block leaves it out.
    """
    script, files = [], {}
    for match in FENCE.finditer((DOCS / doc).read_text(encoding="utf-8")):
        marker = (match["marker"] or "").strip()
        if marker == "no-run":
            continue
        if marker.startswith("file:"):
            files[marker.removeprefix("file:").strip()] = match["code"]
        elif match["lang"] == "python":
            script.append(match["code"])
    return "\n".join(script), files


def clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VERWERKINGEN_", "OTEL_"))}
    env["PYTHONPATH"] = str(tmp_path)
    return env


@pytest.mark.parametrize("doc", RUNNABLE)
def test_the_python_blocks_of_the_doc_run(doc: str, tmp_path: Path) -> None:
    import subprocess
    import sys

    script, files = python_blocks(doc)
    assert script.strip() or files, f"{doc} has no runnable python block"
    for name, code in files.items():
        (tmp_path / name).write_text(code, encoding="utf-8")
    (tmp_path / "_doc_script.py").write_text(script, encoding="utf-8")
    done = subprocess.run([sys.executable, "_doc_script.py"], cwd=tmp_path, env=clean_env(tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for expected in EXPECTED_OUTPUT.get(doc, []):
        assert expected in done.stdout, (expected, done.stdout)
    tests = [name for name in files if name.startswith("test_")]
    if tests:
        run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests], cwd=tmp_path,
                             env=clean_env(tmp_path), capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stdout + run.stderr
        assert f"{EXPECTED_TESTS[doc]} passed" in run.stdout, run.stdout


EXPECTED_OUTPUT = {
    "quickstart-developer.md": [
        '"actieNaam":"Raadplegen persoon"',
        '"objectId":"999995017","betrokkenheid":"Getoond in zoekresultaat"',
        '"actieNaam":"Controleren getuigen"',
        '"afnemerId":"00000001234567890000"',
        '"gebruiker":"medewerker-42"',
    ],
}
EXPECTED_OUTPUT["quickstart-no-code.md"] = ["[('Raadplegen persoon', ['999993653']), ('Zoeken persoon', ['999995017', '999990019']), ('Raadplegen persoon', ['ingehouden'])]"]
EXPECTED_OUTPUT["quickstart-ops.md"] = [
    "VERWERKINGEN_UITVOERDER: must be an OIN of exactly 20 digits",
    "['verwerkingen.delivery.delivered', 'verwerkingen.delivery.latency', 'verwerkingen.outbox.depth']"]
EXPECTED_TESTS = {"quickstart-developer.md": 2, "testing.md": 4}


# --- every `verwerkingen-otel …` command line in the docs names real subcommands and options ----

def documented_commands() -> list[tuple[str, str]]:
    found = []
    for path in [*DOCS.glob("*.md"), ROOT / "README.md", *(ROOT / "examples").glob("*/README.md")]:
        for block in re.findall(r"```[a-z]*\n(.*?)```", path.read_text(encoding="utf-8"), re.DOTALL):
            for line in block.replace("\\\n", " ").splitlines():
                line = line.split("  #", 1)[0].strip()
                if line.startswith("verwerkingen-otel ") and not line.split()[1].endswith(":"):  # not output
                    found.append((path.relative_to(ROOT).as_posix(), line))
    return found


COMMANDS = documented_commands()


def test_the_docs_show_commands() -> None:
    assert len(COMMANDS) >= 15


@pytest.mark.parametrize(("where", "line"), COMMANDS, ids=[f"{w}:{l[18:50]}" for w, l in COMMANDS])
def test_documented_command_exists(where: str, line: str, capsys: pytest.CaptureFixture[str]) -> None:
    from verwerkingen_otel.cli import main

    words = line.split()[1:]
    path = []
    for word in words:
        if not re.fullmatch(r"[a-z][a-z-]*", word):
            break
        path.append(word)
    with pytest.raises(SystemExit) as exit_info:
        main([*path, "--help"])
    assert exit_info.value.code == 0, f"{where}: {line}"
    help_text = capsys.readouterr().out
    for option in (re.match(r"--[a-z-]+", w)[0] for w in words if w.startswith("--")):
        assert option in help_text, f"{where}: {option} is not an option of `verwerkingen-otel {' '.join(path)}`"


def test_every_attribute_and_api_field_is_in_the_attribute_convention() -> None:
    from verwerkingen_otel import model as attributes
    from verwerkingen_otel.model import API_KEYS

    text = (DOCS / "attributes.md").read_text(encoding="utf-8")
    names = [v for k, v in vars(attributes).items() if k.isupper() and isinstance(v, str) and k != "PREFIX"]
    assert len(names) == 21  # 19 API fields, error.type, http.route
    assert [n for n in names if f"| `{n}` |" not in text] == []
    assert [k for k in API_KEYS.values() if f"| `{k}` |" not in text and f"`{k}`" not in text] == []
    rows = dict(re.findall(r"^\| `(verwerkingen\.[a-z_]+)` \| `([A-Za-z]+)` \|", text, re.MULTILINE))
    assert rows == {attributes.PREFIX + field: api for field, api in API_KEYS.items()}


def test_the_index_maps_every_doc_and_every_example() -> None:
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    docs = sorted(p.name for p in DOCS.glob("*.md") if p.name != "index.md")
    assert [d for d in docs if f"]({d})" not in index] == []
    examples = sorted(p.name for p in (ROOT / "examples").iterdir() if (p / "README.md").is_file())
    assert len(examples) >= 7
    assert [e for e in examples if f"](../examples/{e}/)" not in index] == []


def test_the_readme_lists_every_doc() -> None:
    """The root README's Documentation section names every file in docs/ (a new doc must be added)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Documentation\n", 1)[1].split("\n## ", 1)[0]
    docs = sorted(p.name for p in DOCS.glob("*.md"))
    assert len(docs) >= 14
    assert [d for d in docs if f"](docs/{d})" not in section] == []


def test_every_example_has_a_readme() -> None:
    """Each examples/<dir>/ with code says what it is and how to run it (the link checks above read it)."""
    dirs = sorted(p.name for p in (ROOT / "examples").iterdir() if p.is_dir() and any(p.glob("*.py")))
    assert "chain" in dirs
    assert [d for d in dirs if not (ROOT / "examples" / d / "README.md").is_file()] == []


def test_relative_links_in_the_docs_resolve() -> None:
    broken = []
    for path in [*DOCS.glob("*.md"), ROOT / "README.md", *(ROOT / "examples").glob("*/README.md")]:
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", path.read_text(encoding="utf-8")):
            if "://" not in target and not (path.parent / target).exists():
                broken.append(f"{path.relative_to(ROOT)} -> {target}")
    assert broken == []


# --- every python sample in every doc parses and names the real API ----------------------------

def all_python_samples() -> list[tuple[str, str]]:
    samples = []
    for path in sorted([*DOCS.glob("*.md"), ROOT / "README.md", *(ROOT / "examples").glob("*/README.md")]):
        if path.is_file():
            for match in FENCE.finditer(path.read_text(encoding="utf-8")):
                if match["lang"] == "python":
                    samples.append((path.relative_to(ROOT).as_posix(), match["code"]))
    return samples


SAMPLES = all_python_samples()


@pytest.mark.parametrize(("where", "code"), SAMPLES, ids=[f"{w}#{i}" for i, (w, _) in enumerate(SAMPLES)])
def test_python_sample_uses_real_names(where: str, code: str) -> None:
    import ast
    import importlib

    import verwerkingen_otel as vo

    tree = ast.parse(textwrap.dedent(code))  # a sample that is not Python is a broken sample
    aliases = {"vo": vo}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("verwerkingen_otel"):
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name) or importlib.util.find_spec(f"{node.module}.{alias.name}"), (
                    f"{where}: from {node.module} import {alias.name}")
                value = getattr(module, alias.name, None)
                if value is not None and isinstance(value, type(vo)):
                    aliases[alias.asname or alias.name] = value
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("verwerkingen_otel"):
                    importlib.import_module(alias.name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            module = aliases[node.value.id]
            assert hasattr(module, node.attr), f"{where}: {node.value.id}.{node.attr} does not exist"


def test_every_env_var_the_docs_name_exists() -> None:
    """No stale or misspelt variable in the docs, the example READMEs or the .env example."""
    pattern = re.compile(r"\b((?:OTEL_PYTHON_)?VERWERKINGEN_[A-Z][A-Z_]*[A-Z])\b")
    in_code: set[str] = {env for _, env, _ in SETTINGS}  # built from the setting names, not literals
    for path in [*(ROOT / "src").rglob("*.py"), *(ROOT / "scripts").glob("*"), *(ROOT / "tests").rglob("*.py")]:
        if path.is_file():
            in_code |= set(pattern.findall(path.read_text(encoding="utf-8", errors="replace")))
    documented = [*DOCS.glob("*.md"), *(ROOT / "examples").rglob("README.md"), *(ROOT / "examples").rglob("*.env")]
    unknown = sorted({f"{p.relative_to(ROOT)}: {name}" for p in documented
                      for name in pattern.findall(p.read_text(encoding="utf-8")) if name not in in_code})
    assert unknown == []


USAGE_SYNTAX = re.compile(r"[\[\](|]")  # `outbox status [--json]`: a usage line, not a command to run


@pytest.mark.parametrize(("where", "line"), COMMANDS, ids=[f"{w}:{l[18:50]}" for w, l in COMMANDS])
def test_documented_command_parses(where: str, line: str) -> None:
    """The whole line parses as the CLI reads it: subcommand, positionals, each option's value."""
    from verwerkingen_otel.cli import build_parser

    words = line.split()[1:]
    if USAGE_SYNTAX.search(line) or any(w.endswith(":") for w in words):
        pytest.skip("usage syntax or output, not a command")
    try:
        args = build_parser().parse_args(words)
    except SystemExit as exc:
        raise AssertionError(f"{where}: `{line}` does not parse (exit {exc.code})") from None
    assert getattr(args, "func", None) is not None, f"{where}: `{line}` names no command"
