"""Shared helpers for the detection tests (imported as `helpers` via conftest's sys.path)."""

from __future__ import annotations

from typing import Any

KEEP_CASE = {"@timestamp", "event.id"}


def mixed_case(doc: Any, path: str = "") -> Any:
    """The same document with every string's case swapped (Sigma matching must not care)."""
    if isinstance(doc, dict):
        return {k: mixed_case(v, f"{path}{k}" if not path else f"{path}.{k}") for k, v in doc.items()}
    if isinstance(doc, list):
        return [mixed_case(v, path) for v in doc]
    if isinstance(doc, str) and path not in KEEP_CASE:
        return doc.swapcase()
    return doc


def _root_conftest():  # type: ignore[no-untyped-def]
    """tests/conftest.py under its own name (this folder's conftest shadows `conftest`)."""
    import importlib.util
    import sys
    from pathlib import Path

    name = "logwarden_tests_root_conftest"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parents[1] / "conftest.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def need_shared(sub: str = ""):  # type: ignore[no-untyped-def]
    return _root_conftest().need_shared(sub)
