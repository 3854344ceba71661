"""Secrets never reach output: every command runs against the secured lab with its passwords in
the environment or a config file (and once inside the Elasticsearch URL), in text and JSON log
formats; stdout, stderr, `--json` summaries, written files and the dead letters on Kafka are
searched for each password."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from logwarden import es_io
from logwarden.config import Config
from logwarden.runtime.lab import Lab
from tests.support.cli import env_for
from tests.support.paths import ROOT

pytestmark = pytest.mark.servers


def _run(cfg: Config, *args: str, env_extra: dict[str, str] | None = None,
         drop: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    env = env_for(cfg)
    env.update(env_extra or {})
    for var in drop:
        env.pop(var, None)
    return subprocess.run([sys.executable, "-m", "logwarden.cli", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def test_no_command_prints_a_secret(ns: Config, lab: Lab, shared_data: Path, tmp_path: Path) -> None:
    if not lab.secure:
        pytest.fail("the lab runs without security (a plaintext lab was found on its ports)", pytrace=False)
    secrets = ns.secrets()
    assert len(secrets) >= 2  # the Elasticsearch and the Kafka password
    sample = shared_data / "evtx" / "DeepBlueCLI" / "evtx" / "metasploit-psexec-native-target-security.evtx"
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_text('{"not json\n')  # becomes a dead letter
    report = tmp_path / "hunt.html"
    keys = tmp_path / "keys.json"
    runs: list[tuple[tuple[str, ...], subprocess.CompletedProcess[str]]] = []
    for log_format in ("text", "json"):
        common = ("--log-format", log_format, "--log-level", "debug" if log_format == "json" else "info")
        for args in (("setup",), ("setup", "--access", "print"),
                     ("ship", "evtx", str(sample), str(garbage), "--json", "--no-progress"),
                     ("parse", "--source", "windows", str(sample)),
                     ("index", "--once", "--json"), ("stream", "--once", "--json"),
                     ("detect", "--once", "--json"), ("hunt", str(sample), "--format", "html", "-o", str(report)),
                     ("dashboards", "query"), ("rules", "check"), ("lab", "status", "--json")):
            runs.append((args, _run(ns, *common, *args)))
    # the password in a config file (mode 600), and inside the Elasticsearch URL
    config_file = tmp_path / "logwarden.yml"
    config_file.write_text(f"es_user: {ns.es_user}\nes_password: {ns.es_password}\n")
    config_file.chmod(0o600)
    runs.append((("--config", "setup"), _run(ns, "--config", str(config_file), "setup", "--no-kafka",
                                                drop=("LOGWARDEN_ES_USER", "LOGWARDEN_ES_PASSWORD"))))
    in_url = ns.elasticsearch.replace("https://", f"https://{ns.es_user}:{ns.es_password}@")
    runs.append((("url", "setup"), _run(ns, "setup", "--no-kafka", env_extra={"LOGWARDEN_ES": in_url},
                                        drop=("LOGWARDEN_ES_USER", "LOGWARDEN_ES_PASSWORD"))))
    # refused: a wrong password is a secret too, and must not be echoed
    wrong = copy.copy(ns)
    wrong.es_password = "Wr0ng-pa55-in-output?"
    runs.append((("wrong", "setup"), _run(wrong, "setup", "--no-kafka")))
    secrets.append(wrong.es_password)
    runs.append((("apply",), _run(ns, "setup", "--access", "apply", "--no-kafka", "--keys-out", str(keys))))

    for ran, proc in runs:
        assert "Traceback" not in proc.stderr, (ran, proc.stderr[-2000:])
        for secret in secrets:
            assert secret not in proc.stdout and secret not in proc.stderr, (ran, "secret in output")
    assert runs[0][1].returncode == 0 and runs[-4][1].returncode == 0 and runs[-3][1].returncode == 0
    assert runs[-2][1].returncode == 3
    for path in [report, *ns.state_path.rglob("*")]:
        if path.is_file():
            text = path.read_text(errors="replace")
            assert not any(secret in text for secret in secrets), path

    es = es_io.client(ns)  # the dead letters as the indexer stored them (index ran after ship)
    es.indices.refresh(index=f"{ns.index_prefix}deadletter-*", allow_no_indices=True)
    hits = es.search(index=f"{ns.index_prefix}deadletter-*", size=100, allow_no_indices=True)["hits"]["hits"]
    assert hits, ("the garbage file should have left a dead letter", runs[2][1].stdout[-500:])
    letters = json.dumps([hit["_source"] for hit in hits])
    assert not any(secret in letters for secret in secrets)
    summary = json.loads(runs[2][1].stdout.strip().splitlines()[-1])
    assert summary  # the --json summary was searched above as stdout
