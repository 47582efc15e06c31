"""pytest plugin: the `verwerkingen` fixture (filled in by the capture core)."""

from __future__ import annotations
