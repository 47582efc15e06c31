# Sourced by scripts/demo and scripts/test: makes .venv with every extra, once per change of pyproject.toml.
py=${PYTHON:-python3}
if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
  echo "verwerkingen-otel needs Python 3.10 or newer ($py is older); set PYTHON=..." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ] || [ pyproject.toml -nt .venv/.installed ]; then
  echo "setting up .venv (first run only) ..." >&2
  "$py" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip >&2
  .venv/bin/python -m pip install -q -e '.[dev]' >&2
  touch .venv/.installed
fi
