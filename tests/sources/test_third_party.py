"""A NEW source, "acme", installed as a third-party distribution (entry point `logwarden.sources`
on PYTHONPATH) and nothing else: `parse --source acme`, `parse --source auto`, `ship file
--source acme` (real Kafka, own namespace) and the help texts pick it up from its declaration.
A broken third-party source is a warning, never a broken CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from . import acme

DEAD = re.compile(r"^(.*):(\d+): dead letter: (.+)$")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return acme.write_distribution(tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="module")
def env(site: Path) -> dict[str, str]:
    return acme.env_with(site)


def test_help_lists_the_new_source(env: dict[str, str]) -> None:
    for command in (("parse", "--help"), ("ship", "file", "--help")):
        proc = acme.cli(*command, env=env)
        assert proc.returncode == 0, proc.stderr.decode()
        text = " ".join(proc.stdout.decode().split())  # argparse wraps the list
        assert "acme, cef," in text, text  # sorted among the built-in sources
        assert "winfirewall" in text and "auto" in text
    assert b"acme" not in acme.cli("parse", "--help", env=acme.env_with(Path("/nonexistent"))).stdout


def test_parse_source_acme(env: dict[str, str], tmp_path: Path) -> None:
    log = tmp_path / "acme.log"
    log.write_bytes(b"\n".join([acme.line(0), acme.line(1, "allow"), b"ACMEFW no fields", acme.line(2)]) + b"\n")
    proc = acme.cli("parse", "--source", "acme", str(log), env=env)
    assert proc.returncode == 1, proc.stderr.decode()  # one dead letter
    docs = [json.loads(ln) for ln in proc.stdout.splitlines()]
    assert [d["event"]["module"] for d in docs] == ["acme"] * 3
    assert [d["event"]["dataset"] for d in docs] == ["acme.log"] * 3  # <module>.log: no ecs_dataset declared
    assert [d["logwarden"]["family"] for d in docs] == ["firewall"] * 3
    assert [d["event"]["action"] for d in docs] == ["deny", "allow", "deny"]
    assert docs[0]["source"]["ip"] == "203.0.113.1" and docs[0]["destination"]["port"] == 3389
    assert docs[0]["observer"]["hostname"] == "acme-gw"  # the syslog header, done by textlog for it
    reported = [DEAD.match(ln) for ln in proc.stderr.decode().splitlines()]
    assert [(m.group(1), m.group(2)) for m in reported if m] == [(str(log), "3")]  # a line number


def test_parse_auto_picks_the_new_source(env: dict[str, str], tmp_path: Path) -> None:
    iptables = (b"<4>Apr 14 00:20:11 gw01 kernel: IPTABLES-DROP: IN=eth0 OUT= SRC=203.0.113.45 "
                b"DST=192.168.10.21 LEN=52 TTL=113 ID=1 PROTO=TCP SPT=51234 DPT=3389 SYN")
    lines = [acme.line(0), iptables, b"hello from a printer", acme.line(1)]
    proc = acme.cli("parse", "--source", "auto", "-", env=env, stdin=b"\n".join(lines) + b"\n")
    assert proc.returncode == 1, proc.stderr.decode()
    docs = [json.loads(ln) for ln in proc.stdout.splitlines()]
    assert [d["event"]["module"] for d in docs] == ["acme", "iptables", "acme"]
    assert proc.stderr.decode().splitlines() == ["-:3: dead letter: unrecognised format"]
    # without the distribution the same acme lines are not recognised
    bare = acme.cli("parse", "--source", "auto", "-", env=acme.env_with(Path("/nonexistent")),
                    stdin=acme.line(0) + b"\n")
    assert bare.returncode == 1 and bare.stdout == b""


def test_unknown_source_is_a_usage_error(env: dict[str, str], tmp_path: Path) -> None:
    proc = acme.cli("parse", "--source", "acme2", str(tmp_path / "x.log"), env=env)
    assert proc.returncode == 2
    assert proc.stderr.decode().startswith("logwarden parse: unknown source 'acme2'; known: acme, cef,")
    assert len(proc.stderr.splitlines()) == 1


def test_a_broken_third_party_source_is_a_warning(tmp_path: Path) -> None:
    env = acme.env_with(acme.write_distribution(tmp_path / "site", broken=True))
    proc = acme.cli("parse", "--help", env=env)
    assert proc.returncode == 0, proc.stderr.decode()
    assert "acme" in proc.stdout.decode() and "broken" not in proc.stdout.decode()
    warning = proc.stderr.decode()
    assert "source 'broken' (broken_logs:SOURCE) cannot be loaded, ignored" in warning
    assert "this source package is broken" in warning
    log = tmp_path / "a.log"
    log.write_bytes(acme.line(7) + b"\n")
    proc = acme.cli("parse", "--source", "acme", str(log), env=env)
    assert proc.returncode == 0 and json.loads(proc.stdout)["event"]["module"] == "acme"
    # the CLI's other commands never discover sources: no warning there
    proc = acme.cli("--help", env=env)
    assert proc.returncode == 0 and proc.stderr == b""


@pytest.mark.servers
def test_ship_file_source_acme_to_kafka(lab, site: Path, tmp_path: Path) -> None:
    from logwarden.kafka_io import drained, ensure_topics, make_consumer
    from tests.support.cli import env_for
    from tests.support.namespaces import cleanup, isolated

    cfg = isolated(lab.cfg, tmp_path)
    ensure_topics(cfg)
    try:
        n = 500
        log = tmp_path / "acme.log"
        log.write_bytes(b"\n".join([*(acme.line(i) for i in range(n)), b"ACMEFW broken"]) + b"\n")
        proc = acme.cli("ship", "file", str(log), "--source", "acme", "--json", "--state", str(tmp_path / "st.json"),
                        env=acme.env_with(site, env_for(cfg)))
        assert proc.returncode == 1, proc.stderr.decode()  # a dead letter: exit 1, the rest shipped
        assert json.loads(proc.stdout.splitlines()[-1]) == {"sent": n + 1, "parsed": n, "dead": 1}
        got: dict[str, list[dict]] = {"firewall": [], "deadletter": []}
        consumer = make_consumer(cfg, [cfg.topic("firewall"), cfg.topic("deadletter")], f"{cfg.topic_prefix}acme",
                                 auto_offset_reset="earliest")
        try:
            for _ in range(120):
                for records in consumer.poll(timeout_ms=500).values():
                    for rec in records:
                        got[rec.topic.removeprefix(cfg.topic_prefix)].append(json.loads(rec.value))
                if len(got["firewall"]) >= n and got["deadletter"] and drained(consumer):
                    break
        finally:
            consumer.close()
        assert len(got["firewall"]) == n
        assert {d["event"]["module"] for d in got["firewall"]} == {"acme"}
        assert len({d["event"]["id"] for d in got["firewall"]}) == n
        assert sorted(d["source"]["port"] for d in got["firewall"]) == [1024 + i for i in range(n)]
        assert [d["event"]["original"] for d in got["deadletter"]] == ["ACMEFW broken"]
    finally:
        cleanup(cfg)
