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


def es_namespace(lab, prefix: str, docs, day: str):  # type: ignore[no-untyped-def]
    """(config, client) for indices of our own (`logwarden-<prefix><random>-*`, the project's
    template) holding `docs` [(id, document)] in the windows index of `day` (YYYY.MM.DD);
    a context manager that deletes the indices and the template afterwards."""
    import contextlib
    import dataclasses
    import uuid

    from logwarden.es_io import client, templates
    from logwarden.shippers.base import dumps

    @contextlib.contextmanager
    def namespace():  # type: ignore[no-untyped-def]
        tag = f"{prefix}{uuid.uuid4().hex[:8]}"
        cfg = dataclasses.replace(lab.cfg, index_prefix=f"logwarden-{tag}-")
        es = client(cfg)
        es.indices.put_index_template(name=tag, index_patterns=[f"{cfg.index_prefix}*"], priority=500,
                                      template=templates()["logwarden"]["template"])
        try:
            body = b"".join(dumps({"create": {"_index": f"{cfg.index_prefix}windows-{day}", "_id": eid}}) + b"\n"
                            + dumps(doc) + b"\n" for eid, doc in docs)
            assert not es.bulk(body=body, refresh="wait_for")["errors"]
            yield cfg, es
        finally:
            names = list(es.indices.get(index=f"{cfg.index_prefix}*", allow_no_indices=True, ignore_unavailable=True))
            if names:
                es.indices.delete(index=",".join(names))
            es.indices.delete_index_template(name=tag)

    return namespace()
