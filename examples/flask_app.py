"""Moved to examples/flask/app.py; this name stays only for `examples/run_demo.py`.

(`examples/flask/` has no `__init__.py`, so with `examples/` on sys.path it never shadows the
real `flask` package; the app module is loaded here by its path.)
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_PATH = Path(__file__).resolve().parent / "flask" / "app.py"
_spec = importlib.util.spec_from_file_location("examples_flask_app", _PATH)
assert _spec is not None and _spec.loader is not None
_module = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("examples_flask_app", _module)
_spec.loader.exec_module(_module)

create_app = _module.create_app
app = _module.app
PERSONEN = _module.PERSONEN
