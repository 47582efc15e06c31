"""examples/rules_*: their README command is exactly what tests/web/test_instrumentor.py runs.

The run itself (a real process under `opentelemetry-instrument`, the exact actions) is that
test's job; this one keeps the documentation from drifting away from it.
"""

from __future__ import annotations

import inspect
import shlex
import sys

import pytest

from tests.web import test_instrumentor as web

from .conftest import ROOT, readme_command

PORTS = {"flask": "5000", "fastapi": "8000"}


def documented(kind: str) -> tuple[dict[str, str], list[str]]:
    words = shlex.split(readme_command(f"rules_{kind}").replace("\\\n", " "))
    env = {}
    while "=" in words[0] and not words[0].startswith("-"):
        key, value = words.pop(0).split("=", 1)
        env[key] = value
    return env, words


@pytest.mark.parametrize("kind", ["flask", "fastapi"])
def test_rules_readme_command_is_the_tested_one(kind: str) -> None:
    env, argv = documented(kind)
    port = int(PORTS[kind])
    tested = ["opentelemetry-instrument", *web.EXAMPLES[kind](port)]
    tested = ["python" if w == sys.executable else w.replace(str(ROOT) + "/", "") for w in tested]
    if kind == "flask":  # the Flask app takes its port from PORT
        assert env.pop("PORT") == PORTS[kind]
    assert argv == tested
    assert env == {"VERWERKINGEN_RULES": f"examples/rules_{kind}/rules.toml", "VERWERKINGEN_DELIVERY": "sync",
                   "VERWERKINGEN_EXPORTERS": "console", "OTEL_TRACES_EXPORTER": "none",
                   "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none"}
    # ... and those are the settings the tested run uses
    proc_env = {k: v for k, v in env.items() if k != "VERWERKINGEN_RULES"}
    source = inspect.getsource(web.run_example)
    for key, value in proc_env.items():
        assert f'{key}="{value}"' in source
