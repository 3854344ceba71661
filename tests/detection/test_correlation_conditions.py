"""Correlations with `lt` / `lte` / `eq` / `neq` (decided when their fixed window is over) in
every engine: hunt (`run_batch`), stream (`Detector.process`), es (`EsDetector` on the lab's
Elasticsearch), plus `rules check` and the hunt CLI. These conditions used to crash all four.

Windows are aligned on the epoch (T0 is a multiple of the one-minute timespan): failures from
three addresses inside [T0, T0 + 60 s), then one failure at T0 + 200 s from a fourth address
moves the clock past the window's end, which decides it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from logwarden.cli import main
from logwarden.detection.check import check
from logwarden.detection.compiler import DEFAULT_RULES, load_ruleset
from logwarden.detection.engine import Detector, run_batch
from tests.support.namespaces import es_namespace

BASE_RULE = DEFAULT_RULES / "windows" / "win_security_failed_logon.yml"
CORR_ID = "0d5a7f9e-6a54-4f53-9d0c-8a0a36a3c1b2"
T0 = datetime(2026, 3, 2, 10, 0, 0, tzinfo=UTC)
PER_ADDRESS = {"198.51.100.1": 1, "198.51.100.2": 2, "198.51.100.3": 4}  # failures inside the window
CLOSER = "198.51.100.9"  # one failure after the window's end


def corr_yaml(op: str, count: int) -> str:
    return f"""title: Few Failures From One Address
id: {CORR_ID}
name: lw_test_few_failures
status: experimental
description: test
references: [https://example.org]
author: test
date: 2026-12-04
tags: [attack.credential-access]
falsepositives: [none]
level: low
correlation:
  type: event_count
  rules: [lw_win_failed_logon]
  group-by: [IpAddress]
  timespan: 1m
  condition:
    {op}: {count}
"""


def rules_dir(tmp_path: Path, op: str, count: int) -> Path:
    folder = tmp_path / f"rules-{op}-{count}"
    folder.mkdir()
    (folder / "base.yml").write_text(BASE_RULE.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "corr.yml").write_text(corr_yaml(op, count), encoding="utf-8")
    return folder


def failure(eid: str, ts: datetime, address: str) -> tuple[str, dict[str, Any]]:
    return eid, {
        "@timestamp": ts.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "winlog": {"channel": "Security", "event_id": "4625", "computer_name": "TAX-PROD",
                   "event_data": {"TargetUserName": "Administrator", "LogonType": "3", "IpAddress": address}},
        "event": {"code": "4625", "id": eid},
        "source": {"ip": address},
        "host": {"name": "TAX-PROD"},
    }


def events(with_closer: bool = True) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for a, (address, n) in enumerate(PER_ADDRESS.items()):
        for i in range(n):
            out.append(failure(f"cond-{a}-{i}", T0 + timedelta(seconds=5 + 10 * i + a), address))
    if with_closer:
        out.append(failure("cond-closer", T0 + timedelta(seconds=200), CLOSER))
    out.sort(key=lambda e: (e[1]["@timestamp"], e[0]))
    return out


def fired_addresses(alerts: list[dict[str, Any]]) -> dict[str, int]:
    return {a["sigma"]["group"]["source.ip"]: a["sigma"]["count"] for a in alerts if a["rule"]["id"] == CORR_ID}


EXPECTED = {  # (op, count) -> addresses whose one-minute window ended with that many failures
    ("lt", 3): {"198.51.100.1": 1, "198.51.100.2": 2},
    ("lte", 2): {"198.51.100.1": 1, "198.51.100.2": 2},
    ("eq", 2): {"198.51.100.2": 2},
    ("neq", 2): {"198.51.100.1": 1, "198.51.100.3": 4},
    ("gte", 4): {"198.51.100.3": 4},
}


@pytest.mark.parametrize(("op", "count"), list(EXPECTED))
def test_hunt_and_stream_judge_the_ended_window(tmp_path: Path, op: str, count: int) -> None:
    ruleset = load_ruleset([rules_dir(tmp_path, op, count)], use_cache=False)
    assert not ruleset.errors and len(ruleset.correlations) == 1
    assert fired_addresses(run_batch(Detector(ruleset), events())) == EXPECTED[(op, count)]
    streamed = Detector(ruleset)
    alerts = [a for eid, doc in events() for a in streamed.process(doc, eid)]
    assert fired_addresses(alerts) == EXPECTED[(op, count)]


def test_open_window_is_not_decided(tmp_path: Path) -> None:
    """Without a later event the window may still receive failures: "fewer than 3" is unknown."""
    detector = Detector(load_ruleset([rules_dir(tmp_path, "lt", 3)], use_cache=False))
    assert fired_addresses(run_batch(detector, events(with_closer=False))) == {}
    assert detector.correlations.open_windows() == 3
    # the runner that knows time went on decides them
    fired = detector.correlations.advance((T0 + timedelta(minutes=1)).timestamp())
    assert sorted(f.group["source.ip"] for f in fired) == ["198.51.100.1", "198.51.100.2"]
    assert detector.correlations.open_windows() == 0


def test_lt_alert_names_the_window_events(tmp_path: Path) -> None:
    detector = Detector(load_ruleset([rules_dir(tmp_path, "lt", 3)], use_cache=False))
    alerts = [a for a in run_batch(detector, events()) if a["rule"]["id"] == CORR_ID]
    two = next(a for a in alerts if a["sigma"]["group"]["source.ip"] == "198.51.100.2")
    assert two["sigma"]["events"] == ["cond-1-0", "cond-1-1"]
    assert two["@timestamp"] == "2026-03-02T10:00:16.000Z"  # the window's last event


def test_rules_check_and_hunt_cli_accept_lt(tmp_path: Path, capsys) -> None:
    folder = rules_dir(tmp_path, "lt", 3)
    _, findings = check([folder], strict_metadata=False)
    assert findings == []
    src = tmp_path / "events.jsonl"
    src.write_text("".join(json.dumps(doc) + "\n" for _, doc in events()), encoding="utf-8")
    out = tmp_path / "alerts.jsonl"
    assert main(["hunt", str(src), "--rules", str(folder), "--format", "jsonl", "-o", str(out)]) == 0
    alerts = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert fired_addresses(alerts) == EXPECTED[("lt", 3)]


@pytest.mark.servers
def test_es_engine_agrees_on_lt(lab, tmp_path: Path) -> None:
    from logwarden.detection.es import EsDetector

    with es_namespace(lab.cfg, "lwcond", events(), "2026.03.02") as (cfg, es):
        ruleset = load_ruleset([rules_dir(tmp_path, "lt", 3)], use_cache=False)
        es_alerts = EsDetector(cfg, es, Detector(ruleset)).run_once(None, None)
        hunt_alerts = run_batch(Detector(ruleset), events())
    assert fired_addresses(es_alerts) == EXPECTED[("lt", 3)]
    assert sorted(a["event"]["id"] for a in es_alerts) == sorted(a["event"]["id"] for a in hunt_alerts)


def test_group_by_alias_maps_to_each_rules_field(tmp_path: Path) -> None:
    folder = tmp_path / "aliases"
    folder.mkdir()
    for name in ("win_security_failed_logon.yml", "win_security_successful_network_logon.yml"):
        (folder / name).write_text((DEFAULT_RULES / "windows" / name).read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "corr.yml").write_text(f"""title: Failure Then Success From One Address
id: {CORR_ID}
status: experimental
level: low
correlation:
  type: temporal
  rules: [lw_win_failed_logon, lw_win_successful_logon]
  group-by: [attacker]
  aliases:
    attacker:
      lw_win_failed_logon: IpAddress
      lw_win_successful_logon: IpAddress
  timespan: 10m
""", encoding="utf-8")
    ruleset = load_ruleset([folder], use_cache=False)
    assert not ruleset.errors
    (corr,) = ruleset.correlations
    assert list(corr.group_by.values()) == [["source.ip"], ["source.ip"]]
