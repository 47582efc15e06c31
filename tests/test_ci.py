"""CI's scripts: exit statuses, and the oldest-OpenTelemetry pins against pyproject's lower bounds.

The control flow of .ci/run, scripts/test and scripts/test-oldest-otel is run for real, in a
copy of them whose venvs hold a stub python that exits with a chosen status, so no suite runs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.version import Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
OLDEST = ROOT / "scripts" / "test-oldest-otel"


def pins() -> dict[str, str]:
    return dict(re.findall(r"^\s+(opentelemetry-[a-z-]+)==(\S+)$", OLDEST.read_text(encoding="utf-8"), re.MULTILINE))


def lower_bounds() -> dict[str, str]:
    """{package: X} for every opentelemetry-* requirement `>=X` in pyproject.toml, extras included."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = [*project["dependencies"], *(r for extra in project["optional-dependencies"].values() for r in extra)]
    found = {}
    for requirement in requirements:
        match = re.match(r"^(opentelemetry-[a-z-]+)\s*>=\s*([^,;\s]+)", requirement)
        if match:
            found[match[1]] = match[2]
    return found


def test_the_oldest_run_pins_exactly_the_lower_bounds_we_claim() -> None:
    bounds, pinned = lower_bounds(), pins()
    assert {"opentelemetry-api", "opentelemetry-sdk", "opentelemetry-instrumentation"} <= set(bounds)
    # 1.25 and 1.25.0 are one version: compare them as versions
    assert {name: Version(pinned.get(name, "0")) for name in bounds} == {n: Version(v) for n, v in bounds.items()}
    # what the pinned contrib packages need at exactly their own release
    assert pinned["opentelemetry-semantic-conventions"] == pinned["opentelemetry-instrumentation"]
    assert pinned["opentelemetry-instrumentation-wsgi"] == pinned["opentelemetry-instrumentation-flask"]


def stub_python(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    path.chmod(0o755)


@pytest.fixture()
def checkout(tmp_path: Path) -> Path:
    """The CI scripts in a bare tree, with stub venvs that are up to date (no install runs)."""
    for name in [".ci/run", "scripts/test", "scripts/_venv.sh", "scripts/postgres.sh", "scripts/test-oldest-otel",
                 "pyproject.toml"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, tmp_path / name)
    # `python - PINS <<PY` is the version check: it passes; anything else is pytest: exits $STUB_RC
    body = 'if [ "$1" = "-" ]; then cat >/dev/null; exit 0; fi\necho "stub pytest: $*"\nexit "${STUB_RC:-0}"\n'
    stub_python(tmp_path / ".venv" / "bin" / "python", body)
    stub_python(tmp_path / ".venv-oldest" / "bin" / "python", body)
    for venv in (".venv", ".venv-oldest"):
        installed = tmp_path / venv / ".installed"
        installed.touch()
        os.utime(installed, (2**31, 2**31))  # newer than the copied files: no reinstall
    return tmp_path


def run(checkout: Path, script: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "VERWERKINGEN_TEST_POSTGRES_URL": "postgresql://unused", **env}
    return subprocess.run(["bash", str(checkout / script)], capture_output=True, text=True, env=environ, timeout=60)


@pytest.mark.parametrize("script", ["scripts/test", "scripts/test-oldest-otel"])
@pytest.mark.parametrize(("pytest_rc", "script_rc"), [(0, 0), (1, 1), (2, 2), (5, 1)])
def test_the_scripts_end_with_pytests_status_and_no_tests_fails(checkout: Path, script: str, pytest_rc: int,
                                                                script_rc: int) -> None:
    done = run(checkout, script, STUB_RC=str(pytest_rc))
    assert done.returncode == script_rc, done.stderr
    assert ("collected no tests: that is a failure" in done.stderr) == (pytest_rc == 5)


def test_the_oldest_run_runs_the_three_directories(checkout: Path) -> None:
    done = run(checkout, "scripts/test-oldest-otel")
    assert done.returncode == 0, done.stderr
    assert "stub pytest: -m pytest -p no:cacheprovider tests/capture tests/web tests/delivery" in done.stdout


@pytest.mark.parametrize(("main_rc", "oldest_rc", "ci_rc"), [(0, 0, 0), (0, 3, 3), (4, 0, 4), (4, 3, 4)])
def test_ci_runs_both_and_exits_with_the_first_failure(checkout: Path, main_rc: int, oldest_rc: int, ci_rc: int) -> None:
    """Both suites always run; CI's status is the main run's when it failed, else the oldest run's."""
    (checkout / "scripts" / "test").write_text(f'echo main ran; exit {main_rc}\n', encoding="utf-8")
    (checkout / "scripts" / "test-oldest-otel").write_text(f'echo oldest ran "$@"; exit {oldest_rc}\n',
                                                           encoding="utf-8")
    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        pytest.skip("PostgreSQL is not installed: .ci/run would install it")
    done = run(checkout, ".ci/run")
    assert done.returncode == ci_rc
    assert done.stdout.splitlines()[0] == "main ran" and "oldest ran -q" in done.stdout


def test_the_distribution_declares_the_instruments_extra() -> None:
    """opentelemetry-instrument before contrib 0.47 reads our `instruments` extra and, when it is
    missing, fails every instrumentation of the process (found by the oldest-OpenTelemetry run)."""
    from importlib.metadata import metadata

    assert "instruments" in (metadata("verwerkingen-otel").get_all("Provides-Extra") or [])
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["optional-dependencies"]["instruments"] == []  # each instrumented library is optional
