"""docker-compose.yml through compose-go, the loader `docker compose` itself uses (no Docker engine).

`tests/compose/validator/` is a tiny Go program around compose-go/v2 (version pinned in its go.mod,
checksums in go.sum). It is built once from the Go module proxy and cached under
~/.cache/logwarden/compose-validate/<hash of its sources>/ (LOGWARDEN_CACHE moves it), so a
changed go.mod or main.go builds again and an unchanged one never does.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.paths import IN_CI, ROOT

VALIDATOR = Path(__file__).parent / "validator"
COMPOSE_FILE = ROOT / "docker-compose.yml"
BUILD_TIMEOUT = 600  # a cold module cache downloads compose-go and its dependencies first

# every secret the file requires (`${VAR:?...}`): the tests set them to known dummy values
SECRETS = {
    "ELASTIC_PASSWORD": "compose-test-elastic",
    "KIBANA_PASSWORD": "compose-test-kibana",
    "ES_INDEXER_PASSWORD": "compose-test-es-indexer",
    "ES_DETECTOR_PASSWORD": "compose-test-es-detector",
    "ES_DASHBOARDS_PASSWORD": "compose-test-es-dashboards",
    "KAFKA_ADMIN_PASSWORD": "compose-test-kafka-admin",
    "KAFKA_SHIPPER_PASSWORD": "compose-test-kafka-shipper",
    "KAFKA_INDEXER_PASSWORD": "compose-test-kafka-indexer",
    "KAFKA_STREAM_PASSWORD": "compose-test-kafka-stream",
    "KIBANA_ENCRYPTION_KEY": "k" * 32,
    "KIBANA_SECURITY_KEY": "s" * 32,
    "KIBANA_REPORTING_KEY": "r" * 32,
}


def _cache_root() -> Path:
    base = os.environ.get("LOGWARDEN_CACHE") or str(Path.home() / ".cache" / "logwarden")
    return Path(base) / "compose-validate"


def validator() -> Path:
    """The built validator (built now if the cache has none for these sources).

    Fails the test when Go is missing under CI=true; elsewhere skips with the reason."""
    sources = sorted(p for p in VALIDATOR.iterdir() if p.suffix in (".go", ".mod", ".sum"))
    digest = hashlib.sha256(b"".join(p.name.encode() + p.read_bytes() for p in sources)).hexdigest()[:16]
    binary = _cache_root() / digest / "compose-validate"
    if binary.exists():
        return binary
    go = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None)
    if go is None:
        if IN_CI:
            pytest.fail("the Go toolchain is needed to build tests/compose/validator (compose-go)")
        pytest.skip("no Go toolchain: docker-compose.yml not checked with compose-go")
    binary.parent.mkdir(parents=True, exist_ok=True)
    partial = binary.with_name(f"compose-validate.{os.getpid()}.tmp")
    proc = subprocess.run([go, "build", "-mod=readonly", "-trimpath", "-o", str(partial), "."], cwd=VALIDATOR,
                          capture_output=True, text=True, timeout=BUILD_TIMEOUT,
                          env={**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-buildvcs=false"})
    assert proc.returncode == 0, f"building the compose validator failed:\n{proc.stderr[-3000:]}"
    partial.replace(binary)  # atomic: a parallel run sees the whole binary or none
    return binary


def load(path: Path = COMPOSE_FILE, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the loader on `path` with only `env` (plus PATH/HOME) as the environment."""
    base = {k: os.environ[k] for k in ("PATH", "HOME") if k in os.environ}
    return subprocess.run([str(validator()), str(path)], capture_output=True, text=True, timeout=120,
                          env={**base, **(SECRETS if env is None else env)}, cwd=path.parent)


def project(path: Path = COMPOSE_FILE) -> dict[str, Any]:
    """The project as compose-go resolved it (anchors merged, variables interpolated, paths absolute)."""
    proc = load(path)
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result
